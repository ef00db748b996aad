"""The study's own definitions, in one place: constants, outcomes and day-counting rules.

Lancman et al. (Haematologica 2026) compare infection rates of myeloma patients on daratumumab
during the 30 days after each IVIG dose ("on IVIG") with the rest of their observed time
("observation"), within patients, with a self-controlled case series (SCCS). This module holds
the design's constants (windows, thresholds, seasons, outcomes; data contract ``data/README.md``,
binding) and the small rules every layer above uses:

* :func:`to_day` / :func:`from_day` / :func:`month_of_day` -- dates as integer day numbers
  (days since 1970-01-01) everywhere, as in the project API;
* :func:`outcome_mask` -- which infections count for an outcome (all, grade 3-4, bacterial,
  viral, the other grades, types and sites of Figure 1, or a custom predicate);
* :func:`check_outcome` / :func:`check_adjust` / :func:`check_options` -- the checks of the
  models' options, shared by :mod:`analysis.study.models` and the command line.

The cohort's derived tables (observation periods, events, IgG steps, first IVIG) are built once
per cohort in :mod:`analysis.study.data`; the interval data and SCCS fits are in
:mod:`analysis.study.models`; rates and other descriptives in :mod:`analysis.study.descriptive`;
the Cox models in :mod:`analysis.study.cox`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.sccs import DAYS_PER_YEAR as _SCCS_DAYS_PER_YEAR
from analysis.sccs import SCCSError
from analysis.study.cohort import OBS_TAIL_DAYS as _CONTRACT_OBS_TAIL_DAYS

# --- Study constants (the paper's design, data contract v1) ----------------------------------
#: Observation ends this many days after the last daratumumab dose (Methods: "thirty days after");
#: the contract's constant, defined once in :mod:`analysis.study.cohort` (the validator counts items
#: outside observation with it).
OBS_TAIL_DAYS: int = _CONTRACT_OBS_TAIL_DAYS
#: What ends a patient's observation (:func:`observation_periods` ``end_reason``).
OBS_END_TAIL: str = f"dara_last + {OBS_TAIL_DAYS}"
OBS_END_DEATH: str = "death"
OBS_END_CONTACT: str = "last contact"
#: A dose on day ``a`` exposes days ``a .. a + ON_IVIG_DAYS - 1`` ("within 30 days after IVIG").
ON_IVIG_DAYS: int = 30
#: A progression on day ``p`` marks days ``p .. p + PROGRESSION_DAYS - 1`` (sensitivity covariate).
PROGRESSION_DAYS: int = 30
#: Pre-exposure windows (days before the first IVIG) of the indication-bias diagnostic.
PRE_WINDOWS: tuple[int, ...] = (30, 60)
#: Hypogammaglobulinemia cut-offs in mg/dL: any (<700), moderate or worse (<400), severe (<200).
HGG_THRESHOLDS: tuple[int, ...] = (700, 400, 200)
#: Fall/winter months (1 October to 31 March); the rest is spring/summer.
FALL_WINTER_MONTHS: tuple[int, ...] = (10, 11, 12, 1, 2, 3)
#: Outcomes of the paper's SCCS models (the ``sccs`` command's choices).
OUTCOMES: tuple[str, ...] = ("all", "grade3", "bacterial", "viral")
#: Contract infection sites, and the two that make up "respiratory".
SITES: tuple[str, ...] = ("upper_respiratory", "lower_respiratory", "gastrointestinal", "urinary",
                          "skin_soft_tissue", "bloodstream", "other")
RESPIRATORY: tuple[str, ...] = ("upper_respiratory", "lower_respiratory")
#: Contract organism categories (``unconfirmed``: no microbiological confirmation).
ORGANISMS: tuple[str, ...] = ("bacterial", "viral", "fungal", "unconfirmed")
#: Every named outcome, in the order of the paper's Figure 1 (grade, type, site): the SCCS
#: outcomes above, grade 1-2, fungal infections, respiratory (upper + lower) and each site.
#: :func:`outcome_mask` defines each one; any function of the infections table returning a
#: boolean mask is accepted as a custom outcome as well.
NAMED_OUTCOMES: tuple[str, ...] = ("all", "grade12", "grade3", "bacterial", "viral", "fungal",
                                   "respiratory", *SITES)
#: Human-readable outcome labels (for tables, figures and the CLI).
OUTCOME_LABELS: dict[str, str] = {
    "all": "all-grade infections",
    "grade12": "grade 1-2 infections",
    "grade3": "grade 3-4 infections",
    "bacterial": "bacterial infections",
    "viral": "viral infections",
    "fungal": "fungal infections",
    "respiratory": "respiratory infections",
    "upper_respiratory": "upper respiratory infections",
    "lower_respiratory": "lower respiratory infections",
    "gastrointestinal": "gastrointestinal infections",
    "urinary": "urinary tract infections",
    "skin_soft_tissue": "skin and soft tissue infections",
    "bloodstream": "bloodstream infections",
    "other": "infections at other sites",
}
#: An outcome: a name of :data:`NAMED_OUTCOMES`, or a predicate ``infections -> boolean mask``
#: (one value per row of the infections table, contract columns plus those added by
#: :func:`infections_in_observation`).
Outcome = str | Callable[[pd.DataFrame], Any]
#: Baseline IgG window: first measurement within ``dara_start - 90 .. dara_start + 10`` days.
BASELINE_IGG_WINDOW: tuple[int, int] = (-90, 10)
#: Adjustments accepted by :func:`fit_sccs` (time-varying covariates of the sensitivity analyses).
ADJUSTMENTS: tuple[str, ...] = ("season", "progression")
#: Days per year for rates per patient-year (contract) and per month for "months" (365.25 / 12).
DAYS_PER_YEAR: float = _SCCS_DAYS_PER_YEAR  # the SCCS library's rate convention
DAYS_PER_MONTH: float = 30.4375
#: Exposure level codes in the interval table.
LEVEL_OBSERVATION, LEVEL_ON_IVIG, LEVEL_PRE_IVIG = 0, 1, -1


class StudyError(SCCSError):
    """A request the study cannot answer (unknown outcome, no cases, bad option).

    An :class:`analysis.sccs.SCCSError` (so :func:`analysis.sccs.try_fit` reports it as a
    reason) and a :class:`ValueError`.
    """


# --- day numbers -------------------------------------------------------------------------------
def to_day(values: pd.Series | pd.Index | np.ndarray) -> np.ndarray:
    """Dates -> int64 day numbers (days since 1970-01-01); NaT becomes the int64 minimum.

    Callers drop missing dates before converting; the sentinel only keeps the dtype integral.
    Values already of a datetime64 dtype (every loaded cohort) skip ``pd.to_datetime``, which
    dominated the cost of small cohorts (the simulator's seed search fits thousands of models).
    """
    arr = np.asarray(values)
    if not np.issubdtype(arr.dtype, np.datetime64):
        arr = np.asarray(pd.to_datetime(values), dtype="datetime64[ns]")
    return arr.astype("datetime64[D]").astype("int64")


def from_day(days: np.ndarray | pd.Series) -> pd.Series:
    """Int day numbers -> pandas Timestamps (for display columns)."""
    return pd.Series(np.asarray(days, dtype="int64").astype("datetime64[D]").astype(
        "datetime64[ns]"))


def month_of_day(days: np.ndarray) -> np.ndarray:
    """Calendar month (1-12) of int day numbers, vectorised."""
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    return (d.astype("datetime64[M]").astype("int64") % 12 + 1).astype("int64")


def check_outcome(outcome: Outcome) -> None:
    """Raise :class:`StudyError` unless ``outcome`` is a named outcome or a callable."""
    if callable(outcome):
        return
    if not isinstance(outcome, str) or outcome not in NAMED_OUTCOMES:
        raise StudyError(
            f"unknown outcome {outcome!r}; choose one of {', '.join(NAMED_OUTCOMES)}, or pass a "
            "function of the infections table returning a boolean mask"
        )


def outcome_label(outcome: Outcome) -> str:
    """Readable name of an outcome (plural, e.g. "grade 3-4 infections"); a custom predicate is
    named by its ``__name__`` ("infections of the custom outcome" for a lambda)."""
    if callable(outcome):
        name = getattr(outcome, "__name__", "")
        return "infections of the custom outcome" if name in ("", "<lambda>") else \
            f"{name.replace('_', ' ')} infections"
    return OUTCOME_LABELS[outcome]


def outcome_mask(infections: pd.DataFrame, outcome: Outcome) -> np.ndarray:
    """Boolean mask of the infections that count for ``outcome`` (the one definition of each).

    ``all``: every episode; ``grade3``: CTCAE grade >= 3 (the paper's "grade 3-4"; no grade 5
    occurred, the contract counts grade >= 3); ``grade12``: grade 1-2; ``bacterial`` / ``viral``
    / ``fungal``: microbiologically confirmed organism; ``respiratory``: upper or lower
    respiratory tract; a site name: that site. A callable is applied to ``infections`` and must
    return one boolean per row (missing values count as False).
    """
    check_outcome(outcome)
    n = len(infections)
    if callable(outcome):
        raw = outcome(infections)
        values = raw.to_numpy() if isinstance(raw, (pd.Series, pd.Index)) else np.asarray(raw)
        if values.shape != (n,):
            raise StudyError(f"custom outcome returned {values.size} values for {n} infections")
        try:
            return pd.array(values, dtype="boolean").fillna(False).to_numpy(dtype=bool)
        except (TypeError, ValueError) as exc:
            raise StudyError(f"custom outcome must return booleans ({exc})") from None
    if outcome == "all":
        return np.ones(n, dtype=bool)
    if outcome in ("grade3", "grade12"):
        grade = pd.to_numeric(infections["grade"], errors="coerce")
        hit = grade >= 3 if outcome == "grade3" else grade < 3
        return hit.fillna(False).to_numpy(dtype=bool)
    if outcome in ORGANISMS:
        return (infections["organism"].astype("string") == outcome).fillna(False).to_numpy(
            dtype=bool)
    sites = RESPIRATORY if outcome == "respiratory" else (outcome,)
    return infections["site"].astype("string").isin(list(sites)).fillna(False).to_numpy(
        dtype=bool)


# --- options shared by the models and the command line ------------------------------------
def check_adjust(adjust: Sequence[str] | str | None) -> tuple[str, ...]:
    """The adjustments as a tuple of :data:`ADJUSTMENTS` (one string, a sequence or None);
    raises :class:`StudyError` on an unknown one."""
    if adjust is None:
        return ()
    items = (adjust,) if isinstance(adjust, str) else tuple(adjust)
    bad = [a for a in items if a not in ADJUSTMENTS]
    if bad:
        raise StudyError(
            f"unknown adjustment {bad[0]!r}; choose from {', '.join(ADJUSTMENTS)}"
        )
    return tuple(dict.fromkeys(items))


def check_options(pre_window: int | None, hgg: int | None) -> None:
    """Raise :class:`StudyError` unless ``pre_window`` is a whole number of days >= 1 (or None)
    and ``hgg`` one of :data:`HGG_THRESHOLDS` (or None)."""
    if pre_window is not None and (int(pre_window) != pre_window or pre_window < 1):
        raise StudyError(
            f"pre-exposure window must be a whole number of days >= 1, got {pre_window}"
        )
    if hgg is not None and hgg not in HGG_THRESHOLDS:
        raise StudyError(
            f"HGG threshold must be one of {', '.join(map(str, HGG_THRESHOLDS))} mg/dL, got {hgg}"
        )


