"""Age, season and calendar-time covariates of an SCCS analysis (OHDSI's ``addAgeSettings``,
``addSeasonalitySettings``, ``addCalendarTimeSettings`` and ``SccsConverter::addMonthEras``).

:func:`setup` chooses the knots and design matrices from the study population
(:mod:`analysis.omop.splines` for the bases); :func:`month_windows` cuts each case's observed days
at every first of a calendar month and gives each month its row of each design matrix, as
covariate windows with values; :func:`month_log_rr` is the model's log relative rate of each
calendar month from the season and calendar-time coefficients, for the adjusted time-stability
diagnostic.

When there are more cases than ``min_cases_for_time_covariates``, OHDSI keeps cases without any
era covariate only for a random sample of that many cases (R's ``set.seed(0); sample``); here the
sample is numpy's ``default_rng(0)``: a different random subset from R's, of the same size.

Examples
--------
>>> import pandas as pd
>>> from analysis.omop.spec import SplineSettings
>>> cases = pd.DataFrame({"case_id": [1], "observation_period_start_date":
...     pd.to_datetime(["2020-01-20"]), "age_at_obs_start": [1000], "start_day": [0],
...     "end_day": [40]})
>>> eff = setup(cases, pd.DataFrame({"case_id": [1], "outcome_day": [5]}), None,
...             SplineSettings(5), None)
>>> w = month_windows(cases, eff)
>>> sorted(set(zip(w["start"], w["end"])))   # Jan 20-31, Feb 1-29
[(0, 11), (12, 40)]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.omop.spec import SplineSettings
from analysis.omop.splines import (
    bs,
    calendar_knots,
    cyclic_design,
    month_of,
    multi_segment_design,
    observed_per_month,
)
from analysis.sccs import SCCSWarning

__all__ = ["TimeEffects", "month_log_rr", "month_matrix", "month_windows", "setup"]

AGE_ID, SEASON_ID, CALENDAR_ID = 100, 200, 300


@dataclass
class TimeEffects:
    """Knots, design matrices and covariate ids of the time covariates of one analysis."""

    age_knots: np.ndarray | None = None
    age_design: np.ndarray | None = None
    season_knots: np.ndarray | None = None
    season_design: np.ndarray | None = None
    calendar_knots: list[list[int]] | None = None
    calendar_design: np.ndarray | None = None
    ci: dict[int, bool] = field(default_factory=dict)

    def ref_rows(self) -> list[dict[str, Any]]:
        """OHDSI's covariateRef rows of the spline components."""
        rows = []
        for base, name, design in ((AGE_ID, "Age", self.age_design),
                                   (SEASON_ID, "Seasonality", self.season_design),
                                   (CALENDAR_ID, "Calendar time", self.calendar_design)):
            if design is not None:
                rows += [{"covariate_id": base + j, "covariate_name":
                          f"{name} spline component {j + 1}", "covariate_analysis_id": None,
                          "original_era_id": 0, "is_control_interval": False,
                          "pre_exposure": False} for j in range(design.shape[1])]
        return rows

    @property
    def any(self) -> bool:
        """Whether any time covariate is in the model."""
        return any(d is not None for d in (self.age_design, self.season_design,
                                           self.calendar_design))


def _dates(cases: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    base = pd.to_datetime(cases["observation_period_start_date"])
    return (base + pd.to_timedelta(cases["start_day"], unit="D"),
            base + pd.to_timedelta(cases["end_day"], unit="D"))


def setup(cases: pd.DataFrame, outcomes: pd.DataFrame, age: SplineSettings | None,
          season: SplineSettings | None, calendar: SplineSettings | None,
          study_periods: list[tuple[int, int]] | None = None) -> TimeEffects:
    """Knots and design matrices from the study population (OHDSI's rules; see module)."""
    eff = TimeEffects()
    n_out = len(outcomes)
    if age is not None:
        if isinstance(age.knots, int):
            ages = outcomes.merge(cases[["case_id", "age_at_obs_start"]], on="case_id")
            a = (ages["outcome_day"] + ages["age_at_obs_start"]).to_numpy(dtype=float)
            knots = np.unique(np.quantile(a, np.linspace(0.01, 0.99, age.knots))) if len(a) \
                else np.array([])
        else:
            knots = np.asarray(age.knots, dtype=float)
        if len(knots) > n_out or len(knots) < 3:
            why = ("There are more age knots than cases" if len(knots) > n_out else
                   "Fewer than 3 distinct age knots")
            warnings.warn(f"{why}. Removing age from model", SCCSWarning, stacklevel=2)
        else:
            eff.age_knots = knots
            eff.age_design = bs(np.arange(knots[0], knots[-1] + 1e-9), knots[[0, -1]], 2,
                                knots[1:-1])
            eff.ci.update({AGE_ID + j: age.compute_confidence_intervals
                           for j in range(eff.age_design.shape[1])})
    if season is not None:
        knots = (0.5 + np.linspace(0, 12, season.knots) if isinstance(season.knots, int)
                 else np.asarray(season.knots, dtype=float))
        eff.season_knots = knots
        eff.season_design = cyclic_design(np.arange(1, 13), knots)
        eff.ci.update({SEASON_ID + j: season.compute_confidence_intervals
                       for j in range(eff.season_design.shape[1])})
    if calendar is not None:
        k = calendar.knots
        if (isinstance(k, int) and k > n_out) or (not isinstance(k, int) and len(k) > n_out):
            warnings.warn("There are more calendar time knots than cases. Removing calendar "
                          "time from model", SCCSWarning, stacklevel=2)
        else:
            if isinstance(k, int):
                start, end = _dates(cases)
                per_segment = calendar_knots(observed_per_month(start, end), k, study_periods)
            else:
                per_segment = [sorted(int(m) for m in month_of(pd.to_datetime(list(k))))]
            eff.calendar_knots = per_segment
            first, last = per_segment[0][0], per_segment[-1][-1]
            eff.calendar_design = multi_segment_design(np.arange(first, last + 1), per_segment)
            eff.ci.update({CALENDAR_ID + j: calendar.compute_confidence_intervals
                           for j in range(eff.calendar_design.shape[1])})
    return eff


def _month_eras(cases: pd.DataFrame) -> pd.DataFrame:
    """One row per case and calendar month observed: ``case_id, month, start, end``."""
    start, end = _dates(cases)
    sm, em = month_of(start), month_of(end)
    n = em - sm + 1
    idx = np.repeat(np.arange(len(cases)), n)
    month = np.repeat(sm, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    base = pd.to_datetime(cases["observation_period_start_date"]).to_numpy()[idx]
    first = (month // 12 - 1970).astype("datetime64[Y]") + (month % 12).astype("timedelta64[M]")
    first_day = ((first.astype("datetime64[D]") - base.astype("datetime64[D]"))
                 .astype(np.int64))
    nxt = (month + 1) // 12 - 1970
    nxt_first = nxt.astype("datetime64[Y]") + ((month + 1) % 12).astype("timedelta64[M]")
    next_day = (nxt_first.astype("datetime64[D]") - base.astype("datetime64[D]")).astype(np.int64)
    s = np.maximum(cases["start_day"].to_numpy()[idx], first_day)
    e = np.minimum(cases["end_day"].to_numpy()[idx], next_day - 1)
    return pd.DataFrame({"case_id": cases["case_id"].to_numpy()[idx], "month": month,
                         "start": s, "end": e, "age": cases["age_at_obs_start"].to_numpy()[idx]
                         + s})


def month_matrix(cases: pd.DataFrame, eff: TimeEffects, age_offset: float | None = None
                 ) -> tuple[pd.DataFrame, list[int], np.ndarray]:
    """Each case's calendar months (``case_id, start, end``), the spline covariate ids, and
    the value of every spline component in each month (months x ids): the wide form of
    :func:`month_windows`, one row per month instead of one per month and component."""
    m = _month_eras(cases)
    ids: list[int] = []
    blocks = []
    if eff.age_design is not None:
        off = int(eff.age_knots[0]) if age_offset is None else int(age_offset)
        row = np.clip(m["age"].to_numpy().astype(np.int64) - off, 0, len(eff.age_design) - 1)
        blocks.append((AGE_ID, eff.age_design[row]))
    if eff.season_design is not None:
        blocks.append((SEASON_ID, eff.season_design[m["month"].to_numpy() % 12]))
    if eff.calendar_design is not None:
        off = eff.calendar_knots[0][0]
        row = np.clip(m["month"].to_numpy() - off, 0, len(eff.calendar_design) - 1)
        blocks.append((CALENDAR_ID, eff.calendar_design[row]))
    for base, values in blocks:
        ids += [base + j for j in range(values.shape[1])]
    values = np.hstack([v for _, v in blocks]) if blocks else np.zeros((len(m), 0))
    return m[["case_id", "start", "end"]].reset_index(drop=True), ids, values


def month_windows(cases: pd.DataFrame, eff: TimeEffects, age_offset: float | None = None
                  ) -> pd.DataFrame:
    """Windows ``case_id, cov_id, start, end, value`` of every spline component per month."""
    m, ids, values = month_matrix(cases, eff, age_offset)
    if not ids:
        return pd.DataFrame(columns=["case_id", "cov_id", "start", "end", "value"])
    k = len(ids)
    return pd.DataFrame({"case_id": np.tile(m["case_id"].to_numpy(), k),
                         "cov_id": np.repeat(ids, len(m)),
                         "start": np.tile(m["start"].to_numpy(), k),
                         "end": np.tile(m["end"].to_numpy(), k),
                         "value": values.T.ravel()})


def month_log_rr(eff: TimeEffects, log_rr: pd.Series, months: np.ndarray) -> np.ndarray:
    """Season + calendar-time log relative rate of each month (OHDSI's ``monthAdjustments``);
    a coefficient without an estimate counts 0."""
    out = np.zeros(len(months))
    if eff.calendar_design is not None:
        d = multi_segment_design(months, eff.calendar_knots)
        b = np.array([log_rr.get(CALENDAR_ID + j, 0.0) for j in range(d.shape[1])])
        out += d @ np.nan_to_num(b)
    if eff.season_design is not None:
        b = np.array([log_rr.get(SEASON_ID + j, 0.0) for j in range(eff.season_design.shape[1])])
        out += (eff.season_design @ np.nan_to_num(b))[months % 12]
    return out
