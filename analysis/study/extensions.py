"""The study's inputs for the SCCS extensions: sensitivity analyses the paper could not run.

The generic library (:mod:`analysis.sccs`) has the method's extensions; this module only turns a
cohort into their inputs, with the study's definitions (:mod:`analysis.study.definitions`), so
that the chapter "beyond the paper" calls one function per analysis and no chapter cell reshapes
data:

* :func:`observation_table` -- the observation periods as ``id, start, end`` day numbers, with
  the censoring indicator of the event-dependent observation model (``censored``);
* :func:`first_only` / :func:`fit_first_infections` -- an outcome restricted to each patient's
  first such infection, and its standard SCCS, optionally with time-on-daratumumab groups
  (:func:`dara_time_groups`);
* :func:`ivig_doses` / :func:`ivig_courses` / :func:`fit_eventdep_exposure_study` -- IVIG as
  the exposure of the Farrington-Whitaker-Hocine (2009) estimator: each dose with its 30-day
  window, or each *course* (doses whose 30-day on-IVIG windows touch or overlap);
* :func:`fit_eventdep_observation_study` -- Farrington et al. (2011) with observation cut short
  by death or loss to follow-up (``censor="death"``), or also by stopping daratumumab within
  30 days after an infection (``censor="death_or_stop"``), on the time since the first
  daratumumab dose;
* :func:`smooth_fits` -- the primary model with a calendar-time B-spline and with a cyclic season
  spline in place of the October-March step;
* :func:`fit_semiparametric_time` -- time since the first daratumumab dose left free
  (Farrington & Whitaker 2006, the study's time axis replacing age);
* :func:`power_design` -- the case-level design numbers of Musonda et al. (2006) from a cohort;
* :func:`diagnostics_table` -- every diagnostic of :func:`analysis.sccs.diagnostics.run_all`
  for the primary model.

Examples
--------
>>> from analysis.study import load_cohort
>>> from analysis.study.extensions import fit_eventdep_exposure_study
>>> fit = fit_eventdep_exposure_study(load_cohort("data/synthetic"))  # doctest: +SKIP
>>> fit.summary.loc["on_ivig1", ["irr", "ci_low", "ci_high"]]  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.sccs import SCCS
from analysis.sccs import diagnostics as D
from analysis.sccs.eventdep_exposure import EventDepExposureResult, fit_eventdep_exposure
from analysis.sccs.eventdep_observation import (
    EventDepObservationResult,
    fit_eventdep_observation,
)
from analysis.sccs.intervals import AgeGroups, Exposure, Season
from analysis.sccs.semiparametric import SemiparametricResult, fit_semiparametric
from analysis.study.data import CohortLike, study_data
from analysis.study.definitions import (
    FALL_WINTER_MONTHS,
    OBS_END_TAIL,
    ON_IVIG_DAYS,
    Outcome,
    StudyError,
    check_outcome,
    outcome_mask,
    to_day,
)
from analysis.study.models import study_intervals

__all__ = [
    "CENSOR_RULES", "DARA_TIME_CUTS", "EXPOSURE_UNITS", "PowerDesign", "SmoothFits",
    "dara_time_groups", "diagnostics_table", "first_only", "fit_eventdep_exposure_study",
    "fit_eventdep_observation_study", "fit_first_infections", "fit_semiparametric_time",
    "ivig_courses", "ivig_doses", "observation_table", "power_design", "smooth_fits",
]

#: What counts as observation "cut short" in :func:`observation_table` (``censored``).
CENSOR_RULES: tuple[str, ...] = ("death", "death_or_stop")


# --- observation and outcomes ------------------------------------------------------------------
def _stopped_after_infection(cohort: CohortLike, group: str) -> pd.Series:
    """Per patient: the last daratumumab dose fell 0 .. ON_IVIG_DAYS - 1 days after an infection
    (any infection in observation)."""
    data = study_data(cohort)
    inf = data.infections
    inf = inf[inf["group"].to_numpy() == group]
    p = data.cohort.patients
    last = pd.Series(to_day(p["dara_last"]), index=p["patient_id"].astype(str).to_numpy())
    gap = last.reindex(inf["patient_id"].astype(str).to_numpy()).to_numpy() - inf["day"].to_numpy()
    hit = (gap >= 0) & (gap < ON_IVIG_DAYS)
    return pd.Series(True, index=pd.unique(inf["patient_id"].astype(str).to_numpy()[hit]))


def observation_table(cohort: CohortLike, group: str = "ivig",
                      censor: str = "death") -> pd.DataFrame:
    """Observation periods as ``id, start, end, censored`` (int day numbers, inclusive).

    ``censored`` is 1 when observation was cut short: with ``censor="death"`` when it ended
    before ``dara_last + 30`` (death, or loss to follow-up at the last contact); with
    ``censor="death_or_stop"`` also when the last daratumumab dose fell within
    :data:`~analysis.study.definitions.ON_IVIG_DAYS` days after an infection (treatment stopped
    after an infection).

    Examples
    --------
    >>> observation_table(cohort)  # doctest: +SKIP
    """
    if censor not in CENSOR_RULES:
        raise StudyError(f"censor must be one of {', '.join(CENSOR_RULES)}, got {censor!r}")
    obs = study_data(cohort).observation
    obs = obs[obs["group"].to_numpy() == group]
    cut = obs["end_reason"].to_numpy() != OBS_END_TAIL
    if censor == "death_or_stop":
        cut = cut | obs["patient_id"].isin(_stopped_after_infection(cohort, group).index).to_numpy()
    return pd.DataFrame({"id": obs["patient_id"].to_numpy(), "start": obs["start_day"].to_numpy(),
                         "end": obs["end_day"].to_numpy(), "censored": cut.astype(np.int64)})


def first_only(outcome: Outcome = "all") -> Callable[[pd.DataFrame], np.ndarray]:
    """The outcome restricted to each patient's first such infection (a custom outcome).

    Among the infections that count for ``outcome``, only the earliest of each patient counts
    (one of several on the same day). Pass it as ``outcome`` to
    :func:`~analysis.study.models.study_intervals`.

    Examples
    --------
    >>> iv = study_intervals(cohort, first_only("grade3"), cases_only=True)  # doctest: +SKIP
    """
    check_outcome(outcome)

    def first(infections: pd.DataFrame) -> np.ndarray:
        hit = outcome_mask(infections, outcome)
        day = (infections["day"].to_numpy() if "day" in infections
               else to_day(infections["date"]))
        order = np.lexsort((np.arange(len(infections)), day))
        pid = infections["patient_id"].astype(str).to_numpy()[order]
        keep = np.zeros(len(infections), dtype=bool)
        sel = order[hit[order]]
        _, pos = np.unique(pid[hit[order]], return_index=True)
        keep[sel[pos]] = True
        return keep

    first.__name__ = f"first_{outcome}" if isinstance(outcome, str) else "first"
    return first


def _events(cohort: CohortLike, outcome: Outcome, group: str = "ivig") -> pd.DataFrame:
    return study_data(cohort).events(outcome, group).copy()


#: Cut points (days since the first daratumumab dose, day 0) of the time-on-treatment groups:
#: the first 3 months, months 3-6, 6-12 and after the first year (conventional, not tuned).
DARA_TIME_CUTS: tuple[int, ...] = (91, 181, 366)


def dara_time_groups(cohort: CohortLike, cuts: tuple[int, ...] = DARA_TIME_CUTS,
                     name: str = "dara_time") -> AgeGroups:
    """Time since the first daratumumab dose in groups, as an interval-builder covariate.

    Level 1 is days ``0 .. cuts[0] - 1`` (the reference), level ``g`` days
    ``cuts[g - 2] .. cuts[g - 1] - 1``, the last level from ``cuts[-1]`` on.
    """
    obs = observation_table(cohort)
    return AgeGroups(cuts=tuple(int(c) for c in cuts),
                     origin=pd.DataFrame({"id": obs["id"], "day": obs["start"]}), name=name)


def _level_dummies(iv: pd.DataFrame, name: str) -> list[str]:
    """0/1 columns ``<name><level>`` for every level of ``name`` but the lowest (in place)."""
    cols = []
    for lev in sorted(pd.unique(iv[name]))[1:]:
        iv[f"{name}{int(lev)}"] = (iv[name].to_numpy() == lev).astype(np.int64)
        cols.append(f"{name}{int(lev)}")
    return cols


def fit_first_infections(cohort: CohortLike, outcome: Outcome = "all", *,
                         time_groups: bool = False) -> Any:
    """Standard SCCS on each patient's first ``outcome`` infection (:func:`first_only`).

    With ``time_groups`` the model adds the time-on-daratumumab groups of
    :func:`dara_time_groups` (terms ``dara_time2`` ...), as the 2009 estimator can.
    """
    covariates = [dara_time_groups(cohort)] if time_groups else []
    iv = study_intervals(cohort, first_only(outcome), covariates=covariates, cases_only=True)
    if iv.empty:
        raise StudyError("no cases: no IVIG-group patient has an infection of this outcome")
    terms = ["on_ivig", *(_level_dummies(iv, "dara_time") if time_groups else [])]
    return SCCS().fit(iv, terms)


# --- event-dependent exposure (Farrington, Whitaker & Hocine 2009) -----------------------------
def ivig_doses(doses: pd.DataFrame) -> pd.DataFrame:
    """IVIG doses ``id, day`` numbered per patient in day order: ``id, day, dose``.

    Several doses on one day are one dose (they open the same window).

    Examples
    --------
    >>> ivig_doses(pd.DataFrame({"id": ["a", "a", "b"], "day": [9, 3, 5]})).to_dict("list")
    {'id': ['a', 'a', 'b'], 'day': [3, 9, 5], 'dose': [1, 2, 1]}
    """
    d = doses[["id", "day"]].dropna().astype({"day": np.int64}).drop_duplicates()
    d = d.sort_values(["id", "day"], kind="stable").reset_index(drop=True)
    d["dose"] = d.groupby("id", sort=False).cumcount() + 1
    return d


def ivig_courses(doses: pd.DataFrame) -> pd.DataFrame:
    """IVIG courses from doses ``id, day``: ``id, day, dose, end``.

    A course is a run of doses each given at most :data:`ON_IVIG_DAYS` days after the previous
    one, so that their 30-day on-IVIG windows touch or overlap; it starts on its first dose
    (``day``), is numbered per patient (``dose`` = 1, 2, ...) and its risk period ends
    ``ON_IVIG_DAYS - 1`` days after its last dose (``end``). The union of the courses' risk
    periods is exactly the on-IVIG time of the primary model.

    Examples
    --------
    >>> d = pd.DataFrame({"id": ["a"] * 4, "day": [0, 28, 56, 200]})
    >>> ivig_courses(d).to_dict("list")
    {'id': ['a', 'a'], 'day': [0, 200], 'dose': [1, 2], 'end': [85, 229]}
    """
    d = ivig_doses(doses)
    ids = d["id"].to_numpy()
    day = d["day"].to_numpy()
    if d.empty:
        return pd.DataFrame({"id": [], "day": [], "dose": [], "end": []})
    new = np.r_[True, (ids[1:] != ids[:-1]) | (np.diff(day) > ON_IVIG_DAYS)]
    starts = np.flatnonzero(new)
    last = np.maximum.reduceat(day, starts)
    out = pd.DataFrame({"id": ids[starts], "day": day[starts], "end": last + ON_IVIG_DAYS - 1})
    out["dose"] = out.groupby("id", sort=False).cumcount() + 1
    return out[["id", "day", "dose", "end"]]


#: Exposure units of :func:`fit_eventdep_exposure_study`.
EXPOSURE_UNITS: tuple[str, ...] = ("dose", "course")


def fit_eventdep_exposure_study(cohort: CohortLike, outcome: Outcome = "all",
                                unit: str = "dose", *, time_groups: bool = False
                                ) -> EventDepExposureResult:
    """The Farrington-Whitaker-Hocine (2009) estimator with IVIG as the exposure.

    First ``outcome`` infections of the IVIG group. ``unit="dose"``: every IVIG dose is an
    exposure with its own 30-day risk period (days 0-29; a later dose cuts the earlier window,
    as in the primary model), fixed on the day of the dose as the method assumes.
    ``unit="course"``: every course (:func:`ivig_courses`) is one exposure whose risk period
    runs to 29 days after its last dose, so its length can depend on doses given after the
    event. One parameter for all doses or courses (``on_ivig1``; R's ``sameexpopar = TRUE``);
    doses or courses starting after the first event are ignored, as the method requires.
    ``time_groups`` adds the time-on-daratumumab groups of :func:`dara_time_groups`
    (terms ``dara_time2`` ...).
    """
    if unit not in EXPOSURE_UNITS:
        raise StudyError(f"unit must be one of {', '.join(EXPOSURE_UNITS)}, got {unit!r}")
    data = study_data(cohort)
    obs = observation_table(data)[["id", "start", "end"]]
    events = _events(data, first_only(outcome))
    if events.empty:
        raise StudyError("no cases: no IVIG-group patient has an infection of this outcome")
    covariates = [dara_time_groups(data)] if time_groups else []
    if unit == "dose":
        return fit_eventdep_exposure(obs, events, ivig_doses(data.ivig_days),
                                     windows=((0, ON_IVIG_DAYS - 1),), covariates=covariates,
                                     name="on_ivig")
    return fit_eventdep_exposure(obs, events, ivig_courses(data.ivig_days),
                                 windows=((0, None),), covariates=covariates, name="on_ivig")


# --- event-dependent observation (Farrington et al. 2011) --------------------------------------
def fit_eventdep_observation_study(cohort: CohortLike, outcome: Outcome = "all",
                                   censor: str = "death") -> EventDepObservationResult:
    """Farrington et al. (2011) for first ``outcome`` infections, on-IVIG as the exposure.

    Time runs from the first daratumumab dose (day 1) to the end of observation; ``censored``
    follows :func:`observation_table` (``censor``). The four censoring models are fitted and the
    one with the lowest AIC weights the intervals (result ``.modelfit``, ``.chosen``).
    """
    data = study_data(cohort)
    obs = observation_table(data, censor=censor)
    shift = obs["start"].to_numpy() - 1
    origin = pd.Series(shift, index=obs["id"].to_numpy())
    obs = obs.assign(start=1, end=obs["end"].to_numpy() - shift)
    events = _events(data, first_only(outcome))
    events["day"] = events["day"].to_numpy() - origin.reindex(events["id"]).to_numpy()
    doses = data.ivig_days.copy()
    known = doses["id"].isin(origin.index).to_numpy()
    doses = doses[known]
    doses["day"] = doses["day"].to_numpy() - origin.reindex(doses["id"]).to_numpy()
    exposure = Exposure("on_ivig", doses, windows=((0, ON_IVIG_DAYS - 1),))
    cases = obs[obs["id"].isin(events["id"])]
    return fit_eventdep_observation(cases, events, [exposure])


# --- smooth and semiparametric time ------------------------------------------------------------
@dataclass
class SmoothFits:
    """The smooth-time models of :func:`smooth_fits`: ``fits`` by name (``calendar``,
    ``season_spline``, ``season_step``, ``both``), the interval table and the spline terms."""

    fits: dict[str, Any]
    intervals: pd.DataFrame
    terms: dict[str, Any]


def smooth_fits(cohort: CohortLike, outcome: Outcome = "all", *, season_df: int = 4,
                calendar_knots: int = 3) -> SmoothFits:
    """The primary model with smooth time effects (OHDSI's splines).

    * ``calendar``: on-IVIG + a cubic B-spline of calendar month (``calendar_knots`` interior
      knots, equally spaced over the study's months);
    * ``season_spline``: on-IVIG + a centred cyclic cubic spline of the month of the year
      (``season_df`` terms), in place of the paper's October-March step;
    * ``season_step``: on-IVIG + the step (the paper's season-adjusted model, same intervals);
    * ``both``: on-IVIG + the calendar and the season splines.
    """
    from analysis.sccs.smooth import calendar_time, fit_smooth, season

    obs = observation_table(cohort)
    spline = season(df=season_df)
    cal = calendar_time(int(obs["start"].min()), int(obs["end"].max()), knots=calendar_knots)
    months = Season(starts=tuple((m, 1) for m in range(1, 13)), name="month")
    iv = study_intervals(cohort, outcome, covariates=[months, spline.covariate, cal.covariate],
                         cases_only=True)
    iv["fall_winter"] = iv["month"].isin(FALL_WINTER_MONTHS).astype(np.int64)
    fits = {
        "calendar": fit_smooth(iv, ["on_ivig"], [cal]),
        "season_spline": fit_smooth(iv, ["on_ivig"], [spline]),
        "season_step": SCCS().fit(iv, ["on_ivig", "fall_winter"]),
        "both": fit_smooth(iv, ["on_ivig"], [spline, cal]),
    }
    return SmoothFits(fits, iv, {"season": spline, "calendar": cal})


def fit_semiparametric_time(cohort: CohortLike, outcome: Outcome = "all"
                            ) -> SemiparametricResult:
    """Semiparametric SCCS with time since the first daratumumab dose left free.

    As R's ``semisccs`` with age replaced by days since ``dara_start`` (day 0): one free step at
    every distinct event time; term ``on_ivig``; steps named ``t<days>``.
    """
    data = study_data(cohort)
    iv = study_intervals(data, outcome, cases_only=True)
    if iv.empty:
        raise StudyError("no cases: no IVIG-group patient has an infection of this outcome")
    obs = observation_table(data)
    origin = pd.DataFrame({"id": obs["id"], "day": obs["start"]})
    return fit_semiparametric(iv, _events(data, outcome), ["on_ivig"], age_origin=origin,
                              age_prefix="t")


# --- power -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PowerDesign:
    """A cohort's SCCS design in Musonda et al.'s (2006) terms: ``n_cases``, ``n_events``,
    mean observed and exposed days per case, and the exposed share of the cases' time."""

    n_cases: int
    n_events: int
    observed_days: float
    exposed_days: float

    @property
    def exposed_share(self) -> float:
        """Share of the cases' observed time on IVIG."""
        return self.exposed_days / self.observed_days

    def sample_size_args(self) -> dict[str, Any]:
        """Arguments of :func:`analysis.sccs.power.sample_size` for one typical case: risk
        period = mean exposed days, observation days 1 .. mean observed days, all exposed."""
        return {"risk_days": self.exposed_days, "start": 1,
                "end": round(self.observed_days), "p_exposed": 1.0}


def power_design(cohort: CohortLike, outcome: Outcome = "all") -> PowerDesign:
    """The cases' design numbers for the sample size and the MDRR (primary model's data)."""
    iv = study_intervals(cohort, outcome, cases_only=True)
    if iv.empty:
        raise StudyError("no cases: no IVIG-group patient has an infection of this outcome")
    n = int(iv["id"].nunique())
    days = iv["days"].to_numpy(float)
    exposed = float((days * (iv["on_ivig"].to_numpy() > 0)).sum())
    return PowerDesign(n, int(iv["events"].sum()), float(days.sum()) / n, exposed / n)


# --- diagnostics -------------------------------------------------------------------------------
def diagnostics_table(cohort: CohortLike, outcome: Outcome = "all",
                      pre_window: int = 30) -> pd.DataFrame:
    """Every diagnostic of :func:`analysis.sccs.diagnostics.run_all` for the primary model.

    Pre-exposure gain from the ``pre_window``-day model, the end-of-observation probe (OHDSI's
    window over the last days of observation), time stability per calendar month adjusted for
    the fall/winter step, the rare-outcome rule with the IVIG group as the population (all
    infections counted), and the MDRR. Returns ``run_all``'s table.
    """
    from analysis.sccs.smooth import calendar_time

    obs = observation_table(cohort)
    probe = D.end_of_observation_window(obs, days=D.OHDSI.end_probe_days)
    cal = calendar_time(int(obs["start"].min()), int(obs["end"].max()), knots=0)
    months = Season(starts=tuple((m, 1) for m in range(1, 13)), name="month")
    iv = study_intervals(cohort, outcome, covariates=[probe, months, cal.covariate],
                         cases_only=True)
    if iv.empty:
        raise StudyError("no cases: no IVIG-group patient has an infection of this outcome")
    iv["fall_winter"] = iv["month"].isin(FALL_WINTER_MONTHS).astype(np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_end = SCCS().fit(iv, ["on_ivig", "end_probe"])
        fit_season = SCCS().fit(iv, ["on_ivig", "fall_winter"])
        pre = study_intervals(cohort, outcome, pre_window=pre_window, cases_only=True)
        fit_pre = SCCS().fit(pre, ["on_ivig", "pre_ivig"])
    log_rate = iv["fall_winter"].to_numpy() * float(fit_season.params["fall_winter"])
    return D.run_all(iv, "on_ivig", pre=(fit_pre, "pre_ivig"), end=(fit_end, "end_probe"),
                     period="calendar", log_rate=log_rate, n_population=len(obs),
                     first_outcome_only=False)
