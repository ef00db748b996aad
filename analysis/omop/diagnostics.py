"""OHDSI's diagnostics and unblinding rule per estimate (``R/Diagnostics.R``, ``R/Power.R``,
``summarizeResults`` in ``R/RunAnalyses.R``), over the library's implementations.

* **time stability** (``checkTimeStabilityAssumption``): observed and expected outcomes per
  calendar month from OHDSI's ``computeOutcomeRatePerMonth`` (:func:`outcome_rate_per_month`:
  each case's rate, outcomes over its observed months, where its first month counts
  ``(31 - day + 1) / 31`` and its last ``day / 31``, spread over the months it is observed), then
  the library's :func:`analysis.sccs.diagnostics.time_stability`, on the expected counts adjusted
  for the model's season and calendar-time splines when it has them (as OHDSI; age is not used).
* **event-exposure independence**: the profile 95% CI of each pre-exposure covariate must
  intersect ``event_exposure_dependence_null_bounds``; a failing one is reported if any.
* **event-observation independence**: the same for the end-of-observation covariate (99) and
  ``event_observation_dependence_null_bounds`` (SCRI has no such covariate: not evaluated).
  OHDSI 6.0.0 writes the lower bound into ``event_observation_ub`` as well (a slip in
  ``summarizeResults``); here the upper bound is written.
* **rare outcome**: the outcome's prevalence in the base population must be
  <= ``rare_outcome_max_prevalence`` when only first outcomes are used (definitely, or probably:
  as many outcome subjects as events).
* **MDRR**: SRL1 power with ``r = day_count / observed_day_count`` and
  ``n = observed_outcome_count`` of the exposure covariate (:func:`~analysis.sccs.diagnostics.
  mdrr_value`); passes when MDRR < ``mdrr_threshold``.
* **EASE**: needs negative controls (``true_effect_size: 1``) and empirical calibration
  (:mod:`analysis.omop.calibration`); PASS when EASE < ``ease_threshold``; ``NOT EVALUATED`` per
  estimate here, and after the calibration wherever its group has fewer than 5 negative controls.
* **unblind**: no FAIL among time stability, event-exposure, event-observation and rare outcome
  (``unblind_for_calibration``), and EASE not FAIL (``unblind_for_evidence_synthesis``), and MDRR
  not FAIL (``unblind``).

Examples
--------
>>> verdict(True), verdict(False), verdict(None)
('PASS', 'FAIL', 'NOT EVALUATED')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr as normal_cdf

from analysis.omop.population import StudyPopulation
from analysis.omop.spec import SccsDiagnosticThresholds
from analysis.sccs.diagnostics import mdrr_value, time_stability

__all__ = ["CALIBRATION_DIAGNOSTICS", "ease_diagnostic", "outcome_rate_per_month", "p_values",
           "row_diagnostics", "unblind_columns", "unblind_for_calibration", "verdict"]


def verdict(passed: bool | None) -> str:
    """OHDSI's ``.passBooleanToString``."""
    if passed is None or (isinstance(passed, float) and math.isnan(passed)):
        return "NOT EVALUATED"
    return "PASS" if passed else "FAIL"


def _month(dates: pd.Series) -> np.ndarray:
    return (dates.dt.year * 12 + dates.dt.month - 1).to_numpy(dtype=np.int64)


@dataclass(frozen=True)
class _Months:
    """Each case's first and last calendar month and their weights (OHDSI: a 31-day month)."""

    sm: np.ndarray
    em: np.ndarray
    sf: np.ndarray
    ef: np.ndarray
    lo: int
    n: int

    def spread(self, values: np.ndarray) -> np.ndarray:
        """Per month, the sum over cases observed in it of weight x value (vectorised)."""
        sm, em, lo, n = self.sm, self.em, self.lo, self.n
        full = np.zeros(n + 1)
        inner = em - sm >= 2
        np.add.at(full, sm[inner] - lo + 1, values[inner])
        np.add.at(full, em[inner] - lo, -values[inner])
        out = np.cumsum(full)[:n]
        np.add.at(out, sm - lo, self.sf * values)
        two = em != sm
        np.add.at(out, em[two] - lo, self.ef[two] * values[two])
        return out

    def mean_of(self, per_month: np.ndarray) -> np.ndarray:
        """Per case, the weighted mean of ``per_month`` over its months (``computeCorrections``)."""
        p = np.r_[0.0, np.cumsum(per_month)]
        i, j = self.sm - self.lo, self.em - self.lo
        two = j != i
        inner = np.where(j - i >= 2, p[np.maximum(j, i + 1)] - p[i + 1], 0.0)
        total = self.sf * per_month[i] + inner + np.where(two, self.ef * per_month[j], 0.0)
        weight = self.sf + np.maximum(j - i - 1, 0) + np.where(two, self.ef, 0.0)
        return total / weight


def outcome_rate_per_month(pop: StudyPopulation,
                           log_rr: Callable[[np.ndarray], np.ndarray] | None = None
                           ) -> pd.DataFrame:
    """OHDSI's ``computeOutcomeRatePerMonth``.

    ``log_rr(months)`` is the model's season and calendar-time log relative rate per month
    (:func:`analysis.omop.time_effects.month_log_rr`); the adjusted expected count divides each
    case's rate by its mean relative rate over its own months (``computeCorrections``).

    Returns
    -------
    DataFrame
        ``month`` (year * 12 + month - 1), ``observed_count``, ``expected_count``,
        ``adjusted_expected_count``, ``observation_period_count`` (weighted cases observed),
        ``ratio``, ``adjusted_ratio``.

    Examples
    --------
    >>> cases = pd.DataFrame({"case_id": [1], "observation_period_start_date":
    ...     pd.to_datetime(["2020-01-01"]), "start_day": [0], "end_day": [59]})
    >>> pop = StudyPopulation(cases, pd.DataFrame({"case_id": [1], "outcome_day": [40]}),
    ...                       pd.DataFrame(), 3)
    >>> r = outcome_rate_per_month(pop)
    >>> r["month"].tolist(), r["observed_count"].tolist()
    ([24240, 24241], [0.0, 1.0])
    """
    c = pop.cases
    cols = ["month", "observed_count", "expected_count", "adjusted_expected_count",
            "observation_period_count", "ratio", "adjusted_ratio"]
    if c.empty:
        return pd.DataFrame(columns=cols)
    base = pd.to_datetime(c["observation_period_start_date"])
    start = base + pd.to_timedelta(c["start_day"], unit="D")
    end = base + pd.to_timedelta(c["end_day"], unit="D")
    sm, em = _month(start), _month(end)
    m = _Months(sm, em, (31 - start.dt.day.to_numpy() + 1) / 31, end.dt.day.to_numpy() / 31,
                int(sm.min()), int(em.max() - sm.min() + 1))
    n_out = c["case_id"].map(pop.outcomes.groupby("case_id").size()).fillna(0).to_numpy()
    rate = n_out / (em - sm + m.sf + m.ef)
    months = np.arange(m.lo, m.lo + m.n)
    expected = m.spread(rate)
    adjusted = expected
    if log_rr is not None:
        rr = np.exp(log_rr(months))
        adjusted = np.where(rr == 0, 0.0, rr * m.spread(rate / m.mean_of(rr)))
    od = pop.outcomes.merge(c[["case_id", "observation_period_start_date"]], on="case_id")
    om = _month(pd.to_datetime(od["observation_period_start_date"])
                + pd.to_timedelta(od["outcome_day"], unit="D"))
    observed = np.bincount(om[(om >= m.lo) & (om < m.lo + m.n)] - m.lo,
                           minlength=m.n).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected == 0, 0.0, observed / expected)
        adjusted_ratio = np.where(adjusted == 0, 0.0, observed / adjusted)
    return pd.DataFrame(dict(zip(cols, [months, observed, expected, adjusted,
                                        m.spread(np.ones(len(c))), ratio, adjusted_ratio],
                                 strict=True)))


def p_values(log_rr: float, se_log_rr: float) -> tuple[float, float]:
    """EmpiricalCalibration's ``computeTraditionalP``: two-sided and one-sided (upper) p.

    Examples
    --------
    >>> [round(p, 4) for p in p_values(math.log(2), 0.3)]
    [0.0209, 0.0104]
    """
    if not (np.isfinite(log_rr) and np.isfinite(se_log_rr)) or se_log_rr <= 0:
        return math.nan, math.nan
    z = log_rr / se_log_rr
    upper, lower = 1 - float(normal_cdf(z)), float(normal_cdf(z))
    return 2 * min(upper, lower), upper


def _ci_check(est: pd.DataFrame, ids: list[int], bounds: tuple[float, float]
              ) -> tuple[float, float, bool | None]:
    rows = est.loc[[i for i in ids if i in est.index]].dropna(subset=["log_lb95", "log_ub95"])
    if rows.empty:
        return math.nan, math.nan, None
    lb, ub = np.exp(rows["log_lb95"].to_numpy()), np.exp(rows["log_ub95"].to_numpy())
    ok = (lb <= bounds[1]) & (ub >= bounds[0])
    k = int(np.argmin(ok))  # a failing one if any, as OHDSI's arrange(pass)
    return float(lb[k]), float(ub[k]), bool(ok[k])


def row_diagnostics(pop: StudyPopulation, estimates: pd.DataFrame, pre_ids: list[int],
                    eoo_ids: list[int], stats: pd.Series | None,
                    th: SccsDiagnosticThresholds,
                    rates: pd.DataFrame | None = None) -> dict[str, Any]:
    """The diagnostics columns of one estimate (see the module docstring); ``rates`` is
    :func:`outcome_rate_per_month` (computed here, unadjusted, when None)."""
    rates = outcome_rate_per_month(pop) if rates is None else rates
    if len(rates) < 2:
        ts_p, ts_pass = 1.0, True
    else:
        d = time_stability(rates["observed_count"], rates["adjusted_expected_count"],
                           th.time_trend_max_ratio)
        ts_p, ts_pass = float(d.p), bool(d.passed)
    ee_lb, ee_ub, ee_pass = _ci_check(estimates, pre_ids,
                                      th.event_exposure_dependence_null_bounds)
    eo_lb, eo_ub, eo_pass = _ci_check(estimates, eoo_ids,
                                      th.event_observation_dependence_null_bounds)
    prev = pop.prevalence.get("outcome_proportion")
    first = bool(pop.prevalence.get("first_outcome_only"))
    rare_pass = None if prev is None else (prev <= th.rare_outcome_max_prevalence if first
                                           else True)
    if stats is None or stats["observed_day_count"] == 0:
        mdrr = math.inf
    else:
        mdrr = mdrr_value(stats["day_count"] / stats["observed_day_count"],
                          float(stats["observed_outcome_count"]))
    out = {"time_stability_p": ts_p, "time_stability_diagnostic": verdict(ts_pass),
           "event_exposure_lb": ee_lb, "event_exposure_ub": ee_ub,
           "event_exposure_diagnostic": verdict(ee_pass),
           "event_observation_lb": eo_lb, "event_observation_ub": eo_ub,
           "event_observation_diagnostic": verdict(eo_pass),
           "rare_outcome_prevalence": math.nan if prev is None else prev,
           "rare_outcome_diagnostic": verdict(rare_pass),
           "mdrr": mdrr, "mdrr_diagnostic": verdict(mdrr < th.mdrr_threshold),
           "ease": math.nan, "ease_diagnostic": verdict(None)}
    out.update(unblind_columns(out))
    return out


#: the diagnostics that must not FAIL for an estimate to enter the calibration (OHDSI's
#: ``unblindForCalibration``)
CALIBRATION_DIAGNOSTICS = ("time_stability_diagnostic", "event_exposure_diagnostic",
                           "event_observation_diagnostic", "rare_outcome_diagnostic")


def unblind_for_calibration(row: Mapping[str, Any]) -> bool:
    """OHDSI's ``unblindForCalibration``: no FAIL among :data:`CALIBRATION_DIAGNOSTICS`.

    Examples
    --------
    >>> row = dict.fromkeys(CALIBRATION_DIAGNOSTICS, "PASS")
    >>> unblind_for_calibration(row), unblind_for_calibration({**row,
    ...     "rare_outcome_diagnostic": "FAIL"})
    (True, False)
    """
    return all(row[k] != "FAIL" for k in CALIBRATION_DIAGNOSTICS)


def ease_diagnostic(ease: float, threshold: float) -> str:
    """OHDSI's EASE diagnostic: PASS when EASE < ``threshold``; NOT EVALUATED without EASE.

    Examples
    --------
    >>> ease_diagnostic(0.1, 0.25), ease_diagnostic(0.25, 0.25), ease_diagnostic(math.nan, 0.25)
    ('PASS', 'FAIL', 'NOT EVALUATED')
    """
    return verdict(None if math.isnan(ease) else ease < threshold)


def unblind_columns(row: Mapping[str, Any]) -> dict[str, int]:
    """``unblind_for_evidence_synthesis`` (calibration allowed, EASE not FAIL) and ``unblind``
    (also MDRR not FAIL), as 0/1 (OHDSI 6.0.0's ``summarizeResults``).

    Examples
    --------
    >>> row = {**dict.fromkeys(CALIBRATION_DIAGNOSTICS, "PASS"), "ease_diagnostic": "FAIL",
    ...        "mdrr_diagnostic": "PASS"}
    >>> unblind_columns(row)
    {'unblind_for_evidence_synthesis': 0, 'unblind': 0}
    """
    synth = unblind_for_calibration(row) and row["ease_diagnostic"] != "FAIL"
    return {"unblind_for_evidence_synthesis": int(synth),
            "unblind": int(synth and row["mdrr_diagnostic"] != "FAIL")}
