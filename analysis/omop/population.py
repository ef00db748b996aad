"""OHDSI's ``createStudyPopulation`` (``R/StudyPopulation.R``, SelfControlledCaseSeries 6.0.0).

From an :class:`~analysis.omop.sccs_data.SccsData` and one outcome id, apply in OHDSI's order:
first outcome only; the naive period (observation starts ``naive_period`` days after the
observation period start); the age limits (``min_age`` moves the start to the day the age in days
reaches ``min_age * 365.25``; ``max_age`` ends observation on day ``round((max_age + 1) * 365.25)
- 1`` of age and marks that end non-informative); the gender concept ids; and
``restrict_time_to_era_id`` (observation clipped to the dates between the first and last
observation of that era in the database). After every rule, outcomes outside a case's observed
days are dropped and a row is added to the attrition table: ``outcome_subjects`` (distinct
persons), ``outcome_events``, ``outcome_observation_periods`` and ``observed_days`` (sum of
``end_day - start_day + 1``) over outcomes that fall within their case's observed days. Finally
cases keep only those with an outcome within their observed days.

The reference to an exposure in ``restrict_time_to_era_id`` (``"exposureId"``) is resolved per
exposures-outcome set by the caller (:mod:`analysis.omop.run`): OHDSI 6.1.4's fix of 6.0.0, which
restricted every set to the first set's exposure.

Where OHDSI adds no attrition row because no outcome is left (a grouped summary of nothing), a row
of zeros is written, so the table has one row per rule.

Examples
--------
>>> import pandas as pd
>>> from analysis.omop.spec import CreateStudyPopulationArgs
>>> cases = pd.DataFrame({"observation_period_id": ["1"], "case_id": [1], "person_id": ["7"],
...     "observation_period_start_date": pd.to_datetime(["2000-01-01"]), "start_day": [0],
...     "end_day": [999], "age_at_obs_start": [10_000], "noninformative_end_censor": [0],
...     "gender_concept_id": [8507]})
>>> eras = pd.DataFrame({"era_type": ["hoi", "hoi"], "case_id": [1, 1], "era_id": [3, 3],
...     "era_value": [1.0, 1.0], "era_start_day": [100, 500], "era_end_day": [100, 500]})
>>> pop = create_study_population(cases, eras, pd.DataFrame(), 3,
...                               CreateStudyPopulationArgs(naive_period=180))
>>> pop.attrition[["description", "outcome_events", "observed_days"]].values.tolist()
[['Requiring 180 days naive period', 1, 820]]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.omop.errors import OmopError
from analysis.omop.spec import CreateStudyPopulationArgs

__all__ = ["ATTRITION_COLUMNS", "StudyPopulation", "count_outcomes", "create_study_population"]

#: Columns of an attrition row (OHDSI's, snake_case; ``outcomeObsPeriods`` under its export name).
ATTRITION_COLUMNS = ["outcome_id", "description", "outcome_subjects", "outcome_events",
                     "outcome_observation_periods", "observed_days"]
_CASE_COLUMNS = ["observation_period_id", "case_id", "person_id", "observation_period_start_date",
                 "age_at_obs_start", "start_day", "end_day", "noninformative_end_censor"]


@dataclass(frozen=True)
class StudyPopulation:
    """The study population of one outcome: OHDSI's ``list(outcomes, cases, metaData)``.

    Attributes
    ----------
    cases : DataFrame
        ``observation_period_id, case_id, person_id, observation_period_start_date,
        age_at_obs_start, start_day, end_day, noninformative_end_censor``.
    outcomes : DataFrame
        ``case_id, outcome_day``.
    attrition : DataFrame
        :data:`ATTRITION_COLUMNS`, the extraction's rows first.
    outcome_id : int
    prevalence : dict
        ``outcome_proportion``, ``first_outcome_only`` (definitely or probably), for the
        rare-outcome diagnostic.
    restricted_time_to_era : dict or None
        ``era_id, era_name, min_observed_date, max_observed_date`` when time was restricted.
    """

    cases: pd.DataFrame
    outcomes: pd.DataFrame
    attrition: pd.DataFrame
    outcome_id: int
    prevalence: dict[str, Any] = field(default_factory=dict)
    restricted_time_to_era: dict[str, Any] | None = None


def count_outcomes(outcomes: pd.DataFrame, cases: pd.DataFrame, outcome_id: int,
                   description: str) -> dict[str, Any]:
    """OHDSI's ``countOutcomes``: one attrition row over outcomes within observed days.

    Examples
    --------
    >>> cases = pd.DataFrame({"case_id": [1, 2], "person_id": ["a", "a"], "start_day": [0, 0],
    ...                       "end_day": [9, 4]})
    >>> out = pd.DataFrame({"case_id": [1, 1, 2], "era_start_day": [3, 20, 4]})
    >>> r = count_outcomes(out, cases, 3, "x")
    >>> [r[k] for k in ATTRITION_COLUMNS[2:]]
    [1, 2, 2, 15]
    """
    j = outcomes[["case_id", "era_start_day"]].merge(
        cases[["case_id", "person_id", "start_day", "end_day"]], on="case_id")
    j = j[(j["era_start_day"] >= j["start_day"]) & (j["era_start_day"] <= j["end_day"])]
    return {"outcome_id": outcome_id, "description": description,
            "outcome_subjects": int(j["person_id"].nunique()), "outcome_events": len(j),
            "outcome_observation_periods": int(j["case_id"].nunique()),
            "observed_days": int((j["end_day"] - j["start_day"] + 1).sum())}


def _within(outcomes: pd.DataFrame, cases: pd.DataFrame, upper: bool = True) -> pd.DataFrame:
    """Outcomes on or after their case's start day (and on or before its end day)."""
    j = outcomes.merge(cases[["case_id", "start_day", "end_day"]], on="case_id")
    keep = j["era_start_day"] >= j["start_day"]
    if upper:
        keep &= j["era_start_day"] <= j["end_day"]
    return j.loc[keep, outcomes.columns].reset_index(drop=True)


def _clip_age(cases: pd.DataFrame, args: CreateStudyPopulationArgs) -> tuple[pd.DataFrame, str]:
    labels = []
    c = cases.copy()
    if args.min_age is not None and len(c):
        lo = args.min_age * 365.25
        start_age = np.maximum(c["age_at_obs_start"] + c["start_day"], lo)
        c = c[start_age < c["age_at_obs_start"] + c["end_day"]].copy()
        c["start_day"] = start_age[c.index] - c["age_at_obs_start"]
        labels.append(f"age >= {args.min_age:g}")
    if args.max_age is not None and len(c):
        hi = round((args.max_age + 1) * 365.25) - 1
        end_age = c["age_at_obs_start"] + c["end_day"]
        c["noninformative_end_censor"] = np.where(end_age > hi, 1, c["noninformative_end_censor"])
        c["end_day"] = np.minimum(end_age, hi) - c["age_at_obs_start"]
        c = c[c["start_day"] < c["end_day"]].copy()
        labels.append(f"age <= {args.max_age:g}")
    return c, "Restrict to " + " & ".join(labels)


def _restrict_time(cases: pd.DataFrame, era_ref: pd.DataFrame, era_id: int
                   ) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    ref = era_ref[era_ref["era_id"] == era_id]
    if ref.empty:
        return cases, None
    lo = pd.Timestamp(ref["min_observed_date"].iloc[0])
    hi = pd.Timestamp(ref["max_observed_date"].iloc[0])
    base = pd.to_datetime(cases["observation_period_start_date"])
    start = (base + pd.to_timedelta(cases["start_day"], unit="D")).clip(lower=lo)
    end = (base + pd.to_timedelta(cases["end_day"], unit="D")).clip(upper=hi)
    c = cases.assign(start_day=(start - base).dt.days, end_day=(end - base).dt.days)
    c = c[start < end]
    info = {"era_id": int(era_id), "era_name": str(ref["era_name"].iloc[0]),
            "min_observed_date": lo.date(), "max_observed_date": hi.date()}
    return c, info


def create_study_population(
    cases: pd.DataFrame,
    eras: pd.DataFrame,
    era_ref: pd.DataFrame,
    outcome_id: int,
    args: CreateStudyPopulationArgs,
    *,
    base_attrition: pd.DataFrame | None = None,
    prevalences: pd.DataFrame | None = None,
    restrict_era_id: int | None = None,
) -> StudyPopulation:
    """Apply OHDSI's study-population rules for one outcome (see the module docstring).

    Parameters
    ----------
    cases, eras, era_ref :
        The :class:`~analysis.omop.sccs_data.SccsData` tables (OHDSI 6.0.0's case columns:
        ``start_day``, ``end_day``, ``observation_period_start_date``, ``gender_concept_id``, ...).
    outcome_id :
        The outcome (era id of the ``"hoi"`` eras).
    args :
        The study-population settings.
    base_attrition, prevalences :
        The extraction's attrition rows and prevalence table (``SccsData.metadata``).
    restrict_era_id :
        ``args.restrict_time_to_era_id`` resolved to an era id for this exposures-outcome set.

    Returns
    -------
    StudyPopulation
    """
    missing = [c for c in _CASE_COLUMNS if c not in cases.columns]
    if missing:
        raise OmopError(f"SccsData.cases: missing column {missing[0]!r}")
    c = cases.copy()
    o = eras.loc[(eras["era_type"] == "hoi") & (eras["era_id"] == outcome_id),
                 ["case_id", "era_id", "era_start_day"]].reset_index(drop=True)
    rows: list[dict[str, Any]] = []
    info = None
    if args.first_outcome_only:
        o = o.sort_values(["case_id", "era_start_day"], kind="stable").drop_duplicates("case_id")
        rows.append(count_outcomes(o, c, outcome_id, "First outcome only"))
    if args.naive_period != 0:
        c = c.assign(start_day=np.maximum(c["start_day"], args.naive_period))
        c = c[c["start_day"] < c["end_day"]]
        o = _within(o, c, upper=False)
        c = c[c["case_id"].isin(o["case_id"])]
        rows.append(count_outcomes(o, c, outcome_id,
                                   f"Requiring {args.naive_period} days naive period"))
    if args.min_age is not None or args.max_age is not None:
        c, label = _clip_age(c, args)
        o = _within(o, c)
        rows.append(count_outcomes(o, c, outcome_id, label))
    if args.gender_concept_ids is not None:
        c = c[c["gender_concept_id"].isin(args.gender_concept_ids)]
        o = o[o["case_id"].isin(c["case_id"])]
        ids = ", ".join(str(g) for g in args.gender_concept_ids)
        rows.append(count_outcomes(o, c, outcome_id, f"Restricting gender to concept(s) {ids}"))
    if restrict_era_id is not None:
        c, info = _restrict_time(c, era_ref, restrict_era_id)
        if info is not None:
            o = _within(o, c)
            rows.append(count_outcomes(o, c, outcome_id, "Restricting to time when "
                                       f"{info['era_name']} was observed"))
    within = _within(o, c)
    c = c[c["case_id"].isin(within["case_id"])]
    attrition = _attrition(base_attrition, outcome_id, rows)
    return StudyPopulation(
        cases=c[_CASE_COLUMNS].sort_values("case_id").reset_index(drop=True),
        outcomes=o.rename(columns={"era_start_day": "outcome_day"})[["case_id", "outcome_day"]]
        .sort_values(["case_id", "outcome_day"], kind="stable").reset_index(drop=True),
        attrition=attrition, outcome_id=int(outcome_id),
        prevalence=_prevalence(prevalences, outcome_id, args.first_outcome_only),
        restricted_time_to_era=info)


def _attrition(base: pd.DataFrame | None, outcome_id: int, rows: list[dict[str, Any]]
               ) -> pd.DataFrame:
    parts = []
    if base is not None and len(base):
        b = base.rename(columns={"outcome_obs_periods": "outcome_observation_periods"})
        parts.append(b.loc[b["outcome_id"] == outcome_id, ATTRITION_COLUMNS])
    parts.append(pd.DataFrame(rows, columns=ATTRITION_COLUMNS))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ATTRITION_COLUMNS)


def _prevalence(prevalences: pd.DataFrame | None, outcome_id: int, first_only: bool
                ) -> dict[str, Any]:
    if prevalences is None or not len(prevalences):
        return {"outcome_proportion": None, "first_outcome_only": first_only}
    p = prevalences[prevalences["outcome_id"] == outcome_id]
    if p.empty:
        return {"outcome_proportion": None, "first_outcome_only": first_only}
    probably = bool(p["probably_first_outcome_only"].iloc[0]) if (
        "probably_first_outcome_only" in p.columns) else False
    return {"outcome_proportion": float(p["outcome_proportion"].iloc[0]),
            "first_outcome_only": bool(first_only or probably)}
