"""The same extraction on Spark (local mode, one shared session) equals DuckDB's, exactly.

Spark runs the SQL that DuckDB runs, transpiled by sqlglot; a difference in dialect semantics
(date arithmetic, integer casts, ordering, the seeded sample) would show here. Few tests: Spark
start-up and each query are slow on a 2-core machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _helpers_omop import ALL_STEPS, EUNOMIA_SETS, assert_same_data

from analysis.omop.cdm import open_cdm
from analysis.omop.cohorts import EUNOMIA_COHORTS
from analysis.omop.engine import to_spark
from analysis.omop.extract import extract_sccs_data

#: Every step at once: cohort definitions (descendants, first exposure), study period, sampling
#: (seeded), small-count deletion.
SETTINGS = {**EUNOMIA_SETS, **ALL_STEPS, "cohort_definitions": EUNOMIA_COHORTS}


def test_spark_equals_duckdb(spark, eunomia_db: Path, eunomia_parquet: Path) -> None:
    duck = extract_sccs_data(eunomia_db, **SETTINGS)
    with open_cdm(eunomia_parquet, engine="spark", spark=spark) as cdm:
        sparked = extract_sccs_data(cdm, **SETTINGS)
    assert sparked.metadata["engine"] == "spark" and duck.metadata["engine"] == "duckdb"
    assert sparked.metadata["sampled_cases"] and sparked.n_cases > 0
    assert_same_data(duck, sparked)


def test_spark_equals_duckdb_with_nesting_and_cdm_tables(
    spark, eunomia_db: Path, eunomia_parquet: Path
) -> None:
    settings = dict(
        exposure_ids=[1118084, 1124300],
        outcome_ids=[192671],
        exposure_table="drug_era",
        outcome_table="condition_occurrence",
        nesting_cohort_id=4,
        cohort_definitions=EUNOMIA_COHORTS,
    )
    duck = extract_sccs_data(eunomia_parquet, **settings)
    sparked = extract_sccs_data(eunomia_parquet, engine="spark", spark=spark, **settings)
    assert duck.n_cases > 0
    assert_same_data(duck, sparked)


@pytest.mark.parametrize(
    ("duckdb_sql", "spark_sql"),
    [
        ("SELECT DATE_DIFF('day', a, b) AS d FROM t", "SELECT DATEDIFF(DAY, a, b) AS d FROM t"),
        ('SELECT "PERSON_ID" AS person_id FROM t', "SELECT `PERSON_ID` AS person_id FROM t"),
    ],
)
def test_transpilation(duckdb_sql: str, spark_sql: str) -> None:
    assert to_spark(duckdb_sql) == spark_sql
