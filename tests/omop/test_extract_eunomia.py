"""extract_sccs_data on Eunomia GiBleed against direct SQL counts written here.

The reference SQL is deliberately plain (joins, GREATEST/LEAST, COUNT DISTINCT), written from
OHDSI's documented rules (``getDbSccsData``) and Eunomia's ``CreateCohortTable.sql``, and run on a
read-only attachment of the same file: it shares no code with ``analysis.omop``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from _helpers_omop import EUNOMIA_SETS

from analysis.omop.cdm import open_cdm
from analysis.omop.cohorts import EUNOMIA_COHORTS, cohort_relation
from analysis.omop.extract import extract_sccs_data

#: Eunomia's createCohorts (OHDSI/Eunomia inst/sql/CreateCohortTable.sql), in DuckDB SQL.
EUNOMIA_COHORT_SQL = """
CREATE TABLE cohort AS
SELECT 1 AS cohort_definition_id, person_id AS subject_id,
       drug_era_start_date AS cohort_start_date, drug_era_end_date AS cohort_end_date
FROM e.drug_era WHERE drug_concept_id = 1118084
UNION ALL
SELECT 2, person_id, drug_era_start_date, drug_era_end_date
FROM e.drug_era WHERE drug_concept_id = 1124300
UNION ALL
SELECT 3, person_id, condition_start_date,
       COALESCE(condition_end_date, condition_start_date + INTERVAL 1 DAY)::DATE
FROM e.condition_occurrence
WHERE condition_concept_id IN (
    SELECT descendant_concept_id FROM e.concept_ancestor WHERE ancestor_concept_id = 192671)
UNION ALL
SELECT 4, de.person_id, MIN(drug_exposure_start_date), MIN(drug_exposure_end_date)
FROM e.drug_exposure de
JOIN e.concept_ancestor ON drug_concept_id = descendant_concept_id
WHERE ancestor_concept_id IN (1118084, 1124300)
GROUP BY de.person_id
"""


@pytest.fixture(scope="module")
def ref(eunomia_db: Path):
    """A plain DuckDB connection: Eunomia attached read-only as ``e``, Eunomia's cohorts."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{eunomia_db}' AS e (READ_ONLY)")
    con.execute(EUNOMIA_COHORT_SQL)
    yield con
    con.close()


def q(con, sql: str) -> pd.DataFrame:
    """Result of a reference query, column names lower-case (Eunomia's are upper-case)."""
    return con.execute(sql).df().rename(columns=str.lower)


def extract(eunomia_db: Path, **settings):
    base = {**EUNOMIA_SETS, "cohort_definitions": EUNOMIA_COHORTS}
    return extract_sccs_data(eunomia_db, **{**base, **settings})


@pytest.fixture(scope="module")
def full(eunomia_db: Path):
    """No study period, no nesting, no sampling, no small-count deletion."""
    return extract(eunomia_db)


def test_cohorts_are_eunomias(eunomia_db: Path, ref) -> None:
    with open_cdm(eunomia_db) as cdm:
        got = cdm.fetch(f"SELECT * FROM {cohort_relation(cdm, EUNOMIA_COHORTS)}")
    want = q(ref, "SELECT * FROM cohort")
    keys = list(want.columns)
    got = got.sort_values(keys).reset_index(drop=True)
    want = want.sort_values(keys).reset_index(drop=True)
    assert got["cohort_definition_id"].value_counts().sort_index().tolist() == (
        want["cohort_definition_id"].value_counts().sort_index().tolist()
    )
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


CASE_PERIODS = """
SELECT DISTINCT op.observation_period_id, op.person_id, op.observation_period_start_date AS s,
       op.observation_period_end_date AS t
FROM e.observation_period op JOIN cohort c
  ON c.subject_id = op.person_id AND c.cohort_definition_id IN (3, 4)
 AND c.cohort_start_date BETWEEN op.observation_period_start_date AND op.observation_period_end_date
"""


def test_cases_are_the_observation_periods_with_an_outcome(full, ref) -> None:
    want = q(ref, CASE_PERIODS + " ORDER BY observation_period_id")
    assert full.n_cases == len(want) > 0
    assert full.cases["observation_period_id"].tolist() == want["observation_period_id"].tolist()
    assert full.cases["person_id"].tolist() == want["person_id"].tolist()
    assert full.cases["case_id"].tolist() == list(range(1, len(want) + 1))
    assert (full.cases["start_day"] == 0).all()
    days = (want["t"] - want["s"]).dt.days
    assert full.cases["end_day"].tolist() == days.tolist()


def test_end_of_database_flag(full, ref) -> None:
    last = q(ref, "SELECT MAX(observation_period_end_date) AS d FROM e.observation_period")["d"][0]
    want = q(ref, f"SELECT COUNT(*) AS n FROM ({CASE_PERIODS}) p WHERE t = DATE '{last:%Y-%m-%d}'")
    assert full.cases["noninformative_end_censor"].sum() == want["n"][0] > 0
    assert full.metadata["database_end_date"] == pd.Timestamp(last)


def test_age_and_gender_at_observation_start(full, ref) -> None:
    person = q(ref, "SELECT * FROM e.person").set_index("person_id")
    cases = full.cases.join(person, on="person_id", rsuffix="_person")
    births = [
        dt.date(int(y), int(1 if pd.isna(m) else m), int(1 if pd.isna(d) else d))
        for y, m, d in zip(
            cases["year_of_birth"], cases["month_of_birth"], cases["day_of_birth"], strict=True
        )
    ]
    ages = [
        max((start.date() - born).days, 0)
        for start, born in zip(cases["observation_period_start_date"], births, strict=True)
    ]
    assert cases["age_at_obs_start"].tolist() == ages
    assert cases["gender_concept_id"].tolist() == cases["gender_concept_id_person"].tolist()


def test_eras_are_every_overlapping_record(full, ref) -> None:
    want = q(
        ref,
        f"""
        SELECT DISTINCT p.observation_period_id, 'rx' AS era_type, c.cohort_definition_id AS era_id,
               DATE_DIFF('day', p.s, c.cohort_start_date) AS era_start_day,
               DATE_DIFF('day', p.s, c.cohort_end_date) AS era_end_day
        FROM ({CASE_PERIODS}) p JOIN cohort c ON c.subject_id = p.person_id
         AND c.cohort_definition_id IN (1, 2) AND c.cohort_start_date <= p.t
         AND c.cohort_end_date >= p.s
        UNION ALL
        SELECT DISTINCT p.observation_period_id, 'hoi', c.cohort_definition_id,
               DATE_DIFF('day', p.s, c.cohort_start_date),
               DATE_DIFF('day', p.s, c.cohort_start_date)
        FROM ({CASE_PERIODS}) p JOIN cohort c ON c.subject_id = p.person_id
         AND c.cohort_definition_id IN (3, 4) AND c.cohort_start_date BETWEEN p.s AND p.t
        """,
    )
    got = full.eras.merge(full.cases[["case_id", "observation_period_id"]], on="case_id")
    columns = list(want.columns)
    got = got[columns].sort_values(columns).reset_index(drop=True)
    want = want.sort_values(columns).reset_index(drop=True)
    assert len(got) > 0 and set(got["era_type"]) == {"rx", "hoi"}
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert (full.eras["era_value"] == 1.0).all()


def test_era_ref_names_and_observed_dates(full, ref) -> None:
    want = q(
        ref,
        """SELECT cohort_definition_id AS era_id, MIN(cohort_start_date) AS lo,
                  MAX(cohort_end_date) AS hi FROM cohort GROUP BY 1 ORDER BY 1""",
    ).set_index("era_id")
    era_ref = full.era_ref.set_index("era_id")
    assert era_ref.loc[1, "era_name"] == "Exposure cohort 1"
    assert era_ref.loc[3, "era_name"] == "Outcome cohort 3"
    for era_id in (1, 2, 3, 4):
        assert era_ref.loc[era_id, "min_observed_date"] == pd.Timestamp(want.loc[era_id, "lo"])
        assert era_ref.loc[era_id, "max_observed_date"] == pd.Timestamp(want.loc[era_id, "hi"])


ATTRITION = """
SELECT c.cohort_definition_id AS outcome_id,
       COUNT(DISTINCT c.subject_id) AS outcome_subjects,
       COUNT(*) AS outcome_events,
       COUNT(DISTINCT op.observation_period_id) AS outcome_obs_periods,
       SUM(DATE_DIFF('day', GREATEST(op.observation_period_start_date, DATE '{lo}'),
                            LEAST(op.observation_period_end_date, DATE '{hi}')) + 1)
         AS observed_days
FROM cohort c JOIN e.observation_period op ON c.subject_id = op.person_id
 AND c.cohort_start_date BETWEEN GREATEST(op.observation_period_start_date, DATE '{lo}')
                             AND LEAST(op.observation_period_end_date, DATE '{hi}')
WHERE c.cohort_definition_id IN (3, 4)
GROUP BY 1 ORDER BY 1
"""


def test_attrition_and_prevalence(eunomia_db: Path, ref) -> None:
    data = extract(eunomia_db, study_start_dates=["20000101"], study_end_dates=["20500101"])
    attrition = data.metadata["attrition"]
    columns = ["outcome_id", "outcome_subjects", "outcome_events", "outcome_obs_periods"]
    columns += ["observed_days"]
    for description, lo, hi in [
        ("All outcome occurrences", "1800-01-01", "9999-12-31"),
        ("Outcomes in study period(s)", "2000-01-01", "2050-01-01"),
    ]:
        got = attrition.loc[attrition["description"] == description, columns]
        want = q(ref, ATTRITION.format(lo=lo, hi=hi))
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False
        )
    base = q(
        ref,
        """SELECT COUNT(*) AS n, SUM(DATE_DIFF('day',
             GREATEST(observation_period_start_date, DATE '2000-01-01'),
             LEAST(observation_period_end_date, DATE '2050-01-01')) + 1) AS days
           FROM e.observation_period WHERE observation_period_end_date >= DATE '2000-01-01'""",
    ).iloc[0]
    study = attrition[attrition["description"] == "Outcomes in study period(s)"]
    prevalence = data.metadata["prevalences"].set_index("outcome_id")
    for outcome_id, row in study.set_index("outcome_id").iterrows():
        assert prevalence.loc[outcome_id, "outcome_proportion"] == pytest.approx(
            row["outcome_subjects"] / base["n"], rel=1e-12
        )
        assert prevalence.loc[outcome_id, "outcome_rate"] == pytest.approx(
            row["outcome_events"] / base["days"], rel=1e-12
        )


def test_study_period_cuts_the_cases(eunomia_db: Path, ref) -> None:
    data = extract(eunomia_db, study_start_dates=["20000101"], study_end_dates=["20101231"])
    want = q(
        ref,
        f"""SELECT observation_period_id,
              DATE_DIFF('day', s, GREATEST(s, DATE '2000-01-01')) AS start_day,
              DATE_DIFF('day', s, LEAST(t, DATE '2010-12-31')) AS end_day,
              (t > DATE '2010-12-31')::INT AS cut
            FROM ({CASE_PERIODS}) p
            WHERE t >= DATE '2000-01-01' AND s <= DATE '2010-12-31'
            ORDER BY observation_period_id""",
    )
    got = data.cases[["observation_period_id", "start_day", "end_day"]]
    pd.testing.assert_frame_equal(got, want.drop(columns="cut"), check_dtype=False)
    assert (data.cases["noninformative_end_censor"][want["cut"] == 1] == 1).all()


def test_nesting_cohort_cuts_the_cases(eunomia_db: Path, ref) -> None:
    data = extract(eunomia_db, exposure_ids=[1], outcome_ids=[3], nesting_cohort_id=4)
    want = q(
        ref,
        """WITH p AS (
             SELECT DISTINCT op.observation_period_id, op.person_id,
                    op.observation_period_start_date AS s, op.observation_period_end_date AS t
             FROM e.observation_period op JOIN cohort c
               ON c.subject_id = op.person_id AND c.cohort_definition_id = 3
              AND c.cohort_start_date BETWEEN op.observation_period_start_date
                                          AND op.observation_period_end_date)
           SELECT observation_period_id,
                  DATE_DIFF('day', s, GREATEST(s, n.cohort_start_date)) AS start_day,
                  DATE_DIFF('day', s, LEAST(t, n.cohort_end_date)) AS end_day
           FROM p JOIN cohort n ON n.subject_id = p.person_id AND n.cohort_definition_id = 4
            AND n.cohort_start_date <= t AND n.cohort_end_date >= s
           ORDER BY 1, 2, 3""",
    )
    assert len(want) > 0
    got = data.cases[["observation_period_id", "start_day", "end_day"]]
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert data.metadata["attrition"]["description"].tolist()[-1] == "Outcomes in nesting cohort"


def test_small_count_deletion(full, eunomia_db: Path) -> None:
    counts = full.eras.groupby("era_id").size()
    threshold = int(counts.loc[2]) + 1  # drops exposure 2 and every id as rare
    data = extract(eunomia_db, delete_covariates_small_count=threshold)
    assert set(data.eras["era_id"]) == set(counts[counts >= threshold].index)
    kept = full.eras[full.eras["era_id"].isin(counts[counts >= threshold].index)]
    pd.testing.assert_frame_equal(data.eras, kept.reset_index(drop=True))
    assert 2 in set(data.era_ref["era_id"])  # as OHDSI: era_ref is built before the deletion


def _outcome_cases(data, outcome_id: int) -> set[int]:
    hoi = data.eras[(data.eras["era_type"] == "hoi") & (data.eras["era_id"] == outcome_id)]
    return set(hoi["case_id"])


def test_sampling_is_seeded_and_bounded(full, eunomia_db: Path) -> None:
    first = extract(eunomia_db, max_cases_per_outcome=100, seed=1)
    again = extract(eunomia_db, max_cases_per_outcome=100, seed=1)
    other = extract(eunomia_db, max_cases_per_outcome=100, seed=2)
    pd.testing.assert_frame_equal(first.cases, again.cases)
    picked = set(first.cases["observation_period_id"])
    assert picked != set(other.cases["observation_period_id"])
    assert picked <= set(full.cases["observation_period_id"])
    assert 100 <= len(picked) <= 200
    sample = first.metadata["attrition"].query("description == 'Random sample'")
    assert sample["outcome_obs_periods"].min() >= 100
    assert first.metadata["sampled_cases"] and not full.metadata["sampled_cases"]
    # each outcome keeps at least its 100 drawn cases among those that had it
    for outcome_id in (3, 4):
        assert len(_outcome_cases(first, outcome_id)) >= 100


def test_cdm_era_tables_as_sources(eunomia_db: Path, ref) -> None:
    """OHDSI's second Eunomia test: exposure drug_era 1118084, outcome condition_era 192671."""
    data = extract_sccs_data(
        eunomia_db,
        exposure_ids=[1118084],
        outcome_ids=[192671],
        exposure_table="drug_era",
        outcome_table="condition_era",
    )
    want = q(
        ref,
        """SELECT COUNT(DISTINCT op.observation_period_id) AS n FROM e.observation_period op
           JOIN e.condition_era ce ON ce.person_id = op.person_id
            AND ce.condition_concept_id = 192671
            AND ce.condition_era_start_date BETWEEN op.observation_period_start_date
                                               AND op.observation_period_end_date""",
    )
    assert data.n_cases == want["n"][0] > 0
    names = dict(zip(data.era_ref["era_id"], data.era_ref["era_name"], strict=True))
    concept = q(ref, "SELECT * FROM e.concept").set_index("concept_id")["concept_name"]
    assert names[1118084] == concept[1118084] and names[192671] == concept[192671]
