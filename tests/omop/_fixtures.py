"""A small hand-made SccsData (OHDSI 6.0.0 columns) whose expected numbers are worked out by hand
in the tests from OHDSI's documented rules, not from the code under test."""

from __future__ import annotations

import pandas as pd

from analysis.omop.sccs_data import SccsData


def cases(rows: list[tuple]) -> pd.DataFrame:
    """rows: (case_id, person_id, start_day, end_day, age_at_obs_start, gender, obs_start)."""
    df = pd.DataFrame(rows, columns=["case_id", "person_id", "start_day", "end_day",
                                     "age_at_obs_start", "gender_concept_id",
                                     "observation_period_start_date"])
    df["observation_period_start_date"] = pd.to_datetime(df["observation_period_start_date"])
    df["observation_period_id"] = df["case_id"] + 100
    df["noninformative_end_censor"] = 0
    return df


def eras(rows: list[tuple]) -> pd.DataFrame:
    """rows: (era_type, case_id, era_id, start, end)."""
    df = pd.DataFrame(rows, columns=["era_type", "case_id", "era_id", "era_start_day",
                                     "era_end_day"])
    df["era_value"] = 1.0
    return df


def era_ref(rows: list[tuple]) -> pd.DataFrame:
    """rows: (era_type, era_id, era_name, min date, max date)."""
    df = pd.DataFrame(rows, columns=["era_type", "era_id", "era_name", "min_observed_date",
                                     "max_observed_date"])
    for c in ("min_observed_date", "max_observed_date"):
        df[c] = pd.to_datetime(df[c])
    return df


def sccs_data(c: pd.DataFrame, e: pd.DataFrame, r: pd.DataFrame,
              prevalence: float = 0.01) -> SccsData:
    """An SccsData of these tables with one 'All outcome occurrences' row per outcome."""
    outcome_ids = sorted(set(e.loc[e["era_type"] == "hoi", "era_id"]))
    attrition = pd.DataFrame([{"outcome_id": o, "outcome_subjects": 99, "outcome_events": 99,
                               "outcome_obs_periods": 99, "observed_days": 9999,
                               "description": "All outcome occurrences"} for o in outcome_ids])
    prev = pd.DataFrame({"outcome_id": outcome_ids, "outcome_proportion": prevalence,
                         "outcome_rate": 0.001, "probably_first_outcome_only": False})
    meta = {"attrition": attrition, "prevalences": prev, "exposure_ids": [], "outcome_ids":
            outcome_ids, "study_periods": None, "nesting_cohort_id": None,
            "database_end_date": pd.Timestamp("2030-01-01")}
    return SccsData(cases=c, eras=e, era_ref=r, metadata=meta)
