"""SCCS diagnostics as functions, with OHDSI SelfControlledCaseSeries' rules and thresholds.

Each function returns a :class:`Diagnostic`: the value, the threshold, a pass/fail verdict and
a one-line explanation. The rules and default thresholds are those of OHDSI's
SelfControlledCaseSeries (Schuemie et al.; R package version 6, ``R/Diagnostics.R``,
``R/Power.R`` and ``createSccsDiagnosticThresholds()``):

========================== ======================================================= ===========
diagnostic                 OHDSI function and rule                                 default
========================== ======================================================= ===========
pre-exposure gain          ``checkEventExposureIndependenceAssumption``: the 95%    0.8-1.25
                           CI of a pre-exposure window's IRR must intersect the
                           null bounds (``eventExposureDependenceNullBounds``)
end-of-observation probe   ``checkEventObservationIndependenceAssumption``: the     0.5-2.0
                           95% CI of a window covering the last 30 days of
                           observation (``endOfObservationEraLength = 30``) must
                           intersect ``eventObservationDependenceNullBounds``
time-trend stability       ``checkTimeStabilityAssumption``: likelihood-ratio test  1.10,
                           that the observed/expected ratio per calendar month      alpha 0.05
                           exceeds ``timeTrendMaxRatio``; pass when p > alpha
rare outcome               ``checkRareOutcomeAssumption``: share of the population  0.10
                           with the outcome <= ``rareOutcomeMaxPrevalence`` when
                           only first outcomes are used (bias about p / 2)
MDRR                       ``computeMdrr`` (Musonda et al. 2006, signed root        10
                           likelihood ratio "SRL1"): MDRR <= ``mdrrThreshold``
========================== ======================================================= ===========

OHDSI computes the confidence intervals by profile likelihood (Cyclops); here they are the
Wald intervals of :class:`~analysis.sccs.SCCS`, which agree closely except in very small data.

Examples
--------
>>> from analysis.sccs.diagnostics import mdrr, rare_outcome
>>> rare_outcome(30, 1000).verdict
'pass'
>>> d = mdrr(exposed_days=1_000, total_days=10_000, events=100)
>>> round(d.value, 2), d.verdict
(2.2, 'pass')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.sccs._stats import chi2_sf, normal_cdf, normal_quantile, poisson_logpmf
from analysis.sccs.intervals import EventWindow
from analysis.sccs.model import SCCSError
from analysis.sccs.power import srl1_terms

__all__ = [
    "OHDSI",
    "Diagnostic",
    "Thresholds",
    "end_of_observation_probe",
    "end_of_observation_window",
    "mdrr",
    "mdrr_value",
    "observed_expected",
    "pre_exposure_gain",
    "rare_outcome",
    "run_all",
    "srl1_power",
    "time_stability",
]


@dataclass(frozen=True)
class Thresholds:
    """Diagnostic thresholds; the defaults are OHDSI's ``createSccsDiagnosticThresholds()``.

    Parameters
    ----------
    mdrr:
        Largest acceptable minimum detectable relative risk (``mdrrThreshold = 10``).
    time_trend_max_ratio:
        ``timeTrendMaxRatio = 1.1``: largest acceptable mean observed/expected ratio per month.
    rare_outcome_max_prevalence:
        ``rareOutcomeMaxPrevalence = 0.1``.
    event_observation_bounds:
        ``eventObservationDependenceNullBounds = c(0.5, 2.0)`` (IRR scale).
    event_exposure_bounds:
        ``eventExposureDependenceNullBounds = c(0.8, 1.25)`` (IRR scale).
    alpha:
        Type I error of the time-stability test and of the MDRR (0.05).
    power:
        Power of the MDRR (0.8).
    end_probe_days:
        Length of the end-of-observation probe (``endOfObservationEraLength = 30``).

    Examples
    --------
    >>> strict = Thresholds(mdrr=3.0)   # MDRR 3.67 here: passes OHDSI's 10, fails 3
    >>> mdrr(1_000, 10_000, 30, threshold=strict.mdrr).verdict
    'fail'
    """

    mdrr: float = 10.0
    time_trend_max_ratio: float = 1.10
    rare_outcome_max_prevalence: float = 0.10
    event_observation_bounds: tuple[float, float] = (0.5, 2.0)
    event_exposure_bounds: tuple[float, float] = (0.8, 1.25)
    alpha: float = 0.05
    power: float = 0.80
    end_probe_days: int = 30


#: OHDSI's default thresholds.
OHDSI = Thresholds()


@dataclass(frozen=True)
class Diagnostic:
    """Result of one diagnostic.

    Attributes
    ----------
    name:
        Short name (``"pre-exposure gain"``, ``"MDRR"``, ...).
    value:
        The diagnostic's value (an IRR, a ratio, a prevalence, an MDRR).
    threshold:
        The rule, as text (``"95% CI intersects 0.8-1.25"``, ``"<= 10"``).
    passed:
        True (pass), False (fail) or None (not evaluated).
    explanation:
        One line saying what the value means for the assumption.
    ci_low, ci_high, p:
        95% CI of ``value`` and a p-value where the rule uses them (NaN otherwise).

    Examples
    --------
    >>> d = rare_outcome(3, 100)
    >>> d.value, d.verdict, d.to_dict()["threshold"]
    (0.03, 'pass', 'prevalence <= 0.1 (first outcomes only)')
    """

    name: str
    value: float
    threshold: str
    passed: bool | None
    explanation: str
    ci_low: float = math.nan
    ci_high: float = math.nan
    p: float = math.nan

    @property
    def verdict(self) -> str:
        """``"pass"``, ``"fail"`` or ``"not evaluated"``.

        Examples
        --------
        >>> Diagnostic("MDRR", math.nan, "<= 10", None, "not evaluated: no data").verdict
        'not evaluated'
        """
        return "not evaluated" if self.passed is None else ("pass" if self.passed else "fail")

    def to_dict(self) -> dict[str, object]:
        """The fields plus ``verdict`` (for a DataFrame row or JSON).

        Examples
        --------
        >>> sorted(rare_outcome(3, 100).to_dict())[:4]
        ['ci_high', 'ci_low', 'explanation', 'name']
        """
        return {**asdict(self), "verdict": self.verdict}


# --------------------------------------------------------------------------------------------
# Probe windows: pre-exposure and end of observation
# --------------------------------------------------------------------------------------------


def _window_check(
    fit, term: str, bounds: tuple[float, float], name: str, meaning: str
) -> Diagnostic:
    """OHDSI's rule for a probe window: pass when its 95% CI intersects the null bounds."""
    if term not in getattr(fit, "params", pd.Series(dtype=float)).index:
        raise SCCSError(f"{name}: term {term!r} is not in the fitted model")
    lo_b, hi_b = float(bounds[0]), float(bounds[1])
    rule = f"95% CI intersects {lo_b:g}-{hi_b:g}"
    ci = fit.conf_int()
    irr = float(np.exp(fit.params[term]))
    lo, hi = float(np.exp(ci.loc[term, "lower"])), float(np.exp(ci.loc[term, "upper"]))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return Diagnostic(name, irr, rule, None, f"{meaning}: no finite confidence interval "
                          "(no events, or all events, in the window)", lo, hi)
    ok = bool(lo <= hi_b and hi >= lo_b)
    text = (f"IRR {irr:.2f} ({lo:.2f}-{hi:.2f}) is compatible with no {meaning}" if ok else
            f"IRR {irr:.2f} ({lo:.2f}-{hi:.2f}) excludes the null bounds: {meaning} likely")
    return Diagnostic(name, irr, rule, ok, text, lo, hi)


def pre_exposure_gain(
    fit, term: str, bounds: tuple[float, float] = OHDSI.event_exposure_bounds
) -> Diagnostic:
    """Event-dependent exposure: is the event rate raised just before exposure?

    OHDSI's ``checkEventExposureIndependenceAssumption`` (SelfControlledCaseSeries 6; it
    replaced the deprecated ``computePreExposureGainP``): a pre-exposure window is in the model
    (here a 0/1 term such as the ``<name>_pre`` column of
    :class:`~analysis.sccs.intervals.Exposure` with ``pre_window``), and the diagnostic passes
    when the 95% CI of its IRR intersects the null bounds, by default OHDSI's
    ``eventExposureDependenceNullBounds = c(0.8, 1.25)``. A window IRR well above 1 means that
    events (or their precursors) bring exposure forward: the SCCS assumption that exposure does
    not depend on earlier events fails.

    Parameters
    ----------
    fit:
        A fitted :class:`~analysis.sccs.SCCS` model holding the pre-exposure term.
    term:
        Name of the pre-exposure window term.
    bounds:
        Null bounds on the IRR scale.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs import SCCS
    >>> data = pd.DataFrame({"id": [1, 1, 2, 2], "pre": [0, 1, 0, 1],
    ...                      "days": [300, 30, 300, 30], "events": [10, 1, 10, 1]})
    >>> pre_exposure_gain(SCCS().fit(data, ["pre"]), "pre").verdict
    'pass'
    """
    return _window_check(fit, term, bounds, "pre-exposure gain", "event-dependent exposure")


def end_of_observation_window(
    observation: pd.DataFrame, days: int = OHDSI.end_probe_days, name: str = "end_probe"
) -> EventWindow:
    """The end-of-observation probe as an interval-builder covariate.

    A 0/1 column ``name`` that is 1 on the last ``days`` days of each observation period
    (OHDSI's ``endOfObservationEraLength = 30``). Pass it among the ``covariates`` of
    :func:`~analysis.sccs.intervals.build_intervals`, fit it with the exposure terms, then
    call :func:`end_of_observation_probe`.

    Examples
    --------
    >>> import pandas as pd
    >>> w = end_of_observation_window(pd.DataFrame({"id": [1], "start": [0], "end": [99]}))
    >>> int(w.data["day"].iloc[0]), w.length
    (70, 30)
    """
    if days < 1:
        raise SCCSError("end_of_observation_window: days must be >= 1")
    probe = pd.DataFrame({"id": observation["id"].to_numpy(),
                          "day": np.asarray(observation["end"], dtype=np.int64) - (days - 1)})
    return EventWindow(name, probe, length=int(days))


def end_of_observation_probe(
    fit, term: str = "end_probe", bounds: tuple[float, float] = OHDSI.event_observation_bounds
) -> Diagnostic:
    """Event-dependent observation: is the event rate different just before observation ends?

    OHDSI's ``checkEventObservationIndependenceAssumption``: a window covering the last 30 days
    of observation (:func:`end_of_observation_window`) is in the model; the diagnostic passes
    when the 95% CI of its IRR intersects ``eventObservationDependenceNullBounds = c(0.5, 2)``.
    If events end observation (death, leaving treatment), the last days are rich in events and
    the window's IRR is high.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs import SCCS
    >>> data = pd.DataFrame({"id": [1, 1, 2, 2], "end_probe": [0, 1, 0, 1],
    ...                      "days": [300, 30, 300, 30], "events": [2, 8, 2, 8]})
    >>> end_of_observation_probe(SCCS().fit(data, ["end_probe"])).verdict
    'fail'
    """
    return _window_check(fit, term, bounds, "end-of-observation probe",
                         "event-dependent observation")


# --------------------------------------------------------------------------------------------
# Time stability
# --------------------------------------------------------------------------------------------


def observed_expected(
    intervals: pd.DataFrame, period: str, log_rate: np.ndarray | pd.Series | None = None
) -> pd.DataFrame:
    """Observed and expected events per period (e.g. calendar month) among the cases.

    Each case's events are spread over its own observed days in proportion to
    ``days * exp(log_rate)`` (the SCCS model's expectation given the case's number of events);
    with ``log_rate`` None the rate is constant within each case, OHDSI's unadjusted expected
    count. OHDSI adjusts only for the model's season and calendar-time splines: pass their
    linear predictor as ``log_rate``.

    Parameters
    ----------
    intervals:
        ``id``, ``days``, ``events`` and the ``period`` column; intervals must not straddle two
        periods (split them with a period splitter, e.g. a 12-level
        :class:`~analysis.sccs.intervals.Season` or :func:`analysis.sccs.smooth.calendar_time`).
    period:
        Column identifying the period of each interval.
    log_rate:
        Per-row log relative rate from the model (None: 0).

    Returns
    -------
    DataFrame indexed by period with columns ``observed``, ``expected``.

    Examples
    --------
    >>> import pandas as pd
    >>> iv = pd.DataFrame({"id": [1, 1], "month": [1, 2], "days": [10, 30], "events": [0, 4]})
    >>> observed_expected(iv, "month")["expected"].tolist()
    [1.0, 3.0]
    """
    for c in ("id", "days", "events", period):
        if c not in intervals.columns:
            raise SCCSError(f"observed_expected: intervals have no column {c!r}")
    lr = np.zeros(len(intervals)) if log_rate is None else np.asarray(log_rate, dtype=float)
    w = intervals["days"].to_numpy(dtype=float) * np.exp(lr)
    ids = intervals["id"]
    share = w / pd.Series(w, index=intervals.index).groupby(ids).transform("sum").to_numpy()
    n_i = intervals.groupby(ids)["events"].transform("sum").to_numpy(dtype=float)
    out = pd.DataFrame({period: intervals[period].to_numpy(),
                        "observed": intervals["events"].to_numpy(dtype=float),
                        "expected": n_i * share})
    return out.groupby(period)[["observed", "expected"]].sum()


def _stability_loglik(x: float, o: np.ndarray, e: np.ndarray) -> float:
    """sum log(Pois(o; e x) + Pois(o; e / x)): OHDSI's likelihood of a symmetric ratio x."""
    return float(np.logaddexp(poisson_logpmf(o, e * x), poisson_logpmf(o, e / x)).sum())


def time_stability(
    observed: Sequence[float] | np.ndarray,
    expected: Sequence[float] | np.ndarray,
    max_ratio: float = OHDSI.time_trend_max_ratio,
    alpha: float = OHDSI.alpha,
) -> Diagnostic:
    """Time-trend stability: do observed and expected events per month agree?

    OHDSI's ``checkTimeStabilityAssumption`` (SelfControlledCaseSeries 6): with o_m, e_m the
    observed and expected counts per calendar month, the ratio x >= 1 between them is estimated
    from the likelihood ``prod_m [Pois(o_m; e_m x) + Pois(o_m; e_m / x)]`` (a month may be too
    high or too low), maximised over 1 <= x <= 10 (globally: a grid of step 0.1 refined by a
    bounded search, where OHDSI runs L-BFGS-B from 1.5); the likelihood-ratio statistic of
    x > ``max_ratio`` against x <= ``max_ratio`` is referred to chi-square(1), and the
    diagnostic passes when ``p > alpha``. Defaults: ``timeTrendMaxRatio = 1.1``, alpha 0.05.
    A failure means that the rate drifts over calendar time more than the model allows
    (time-varying confounding, changing coding, a trend left out of the model).

    Examples
    --------
    >>> time_stability([10, 12, 9, 11], [10.5, 10.5, 10.5, 10.5]).verdict
    'pass'
    >>> time_stability([30, 5, 28, 6], [17.25] * 4).verdict
    'fail'
    """
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float).copy()
    rule = f"p > {alpha:g} for mean observed/expected ratio > {max_ratio:g}"
    if len(o) < 2:
        return Diagnostic("time-trend stability", math.nan, rule, True,
                          "fewer than 2 periods: nothing to compare (OHDSI: pass)", p=1.0)
    e[e == 0] = np.finfo(float).eps
    grid = np.arange(1.0, 10.0001, 0.1)
    ll = np.array([_stability_loglik(x, o, e) for x in grid])
    ok = np.isfinite(ll)
    # maximise: best grid point, then a bounded search between its neighbours (OHDSI's
    # L-BFGS-B from x = 1.5 can stop at x = 1, a stationary point since L(x) = L(1 / x))
    g = grid[ok]
    i = int(np.argmax(ll[ok]))
    lo, hi = g[max(i - 1, 0)], g[min(i + 1, len(g) - 1)]
    res = optimize.minimize_scalar(lambda x: -_stability_loglik(x, o, e), bounds=(lo, hi),
                                   method="bounded", options={"xatol": 1e-10})
    x_hat = float(res.x) if -res.fun >= ll[ok][i] else float(g[i])
    x0, x1 = min(x_hat, max_ratio), max(x_hat, max_ratio)
    llr = 2.0 * (_stability_loglik(x1, o, e) - _stability_loglik(x0, o, e))
    if math.isnan(llr):
        p = 0.0 if x_hat > max_ratio else 1.0
    else:
        p = chi2_sf(llr, 1) if llr > 0 else 1.0
    passed = p > alpha
    text = (f"observed/expected ratio {x_hat:.2f}: the rate is stable over time" if passed else
            f"observed/expected ratio {x_hat:.2f} exceeds {max_ratio:g}: the rate is not "
            "stable over time")
    return Diagnostic("time-trend stability", x_hat, rule, passed, text, p=p)


# --------------------------------------------------------------------------------------------
# Rare outcome
# --------------------------------------------------------------------------------------------


def rare_outcome(
    n_with_outcome: int,
    n_population: int,
    *,
    first_outcome_only: bool = True,
    max_prevalence: float = OHDSI.rare_outcome_max_prevalence,
) -> Diagnostic:
    """Rare outcome: may the analysis keep only each person's first event?

    OHDSI's ``checkRareOutcomeAssumption``: the prevalence p (share of the underlying
    population with the outcome at least once) must be <= ``rareOutcomeMaxPrevalence = 0.1``
    when the analysis uses first outcomes only; the bias from ignoring later events is about
    p / 2 (Farrington, Whitaker & Ghebremichael-Weldeselassie 2018), so 0.1 caps it near 5%.
    With all events used the assumption is not needed and the check passes, as in OHDSI.

    Examples
    --------
    >>> rare_outcome(5, 100).verdict, rare_outcome(20, 100).verdict
    ('pass', 'fail')
    >>> rare_outcome(20, 100, first_outcome_only=False).verdict
    'pass'
    """
    if n_population <= 0 or not 0 <= n_with_outcome <= n_population:
        raise SCCSError("rare_outcome: need 0 <= n_with_outcome <= n_population, n_population > 0")
    p = n_with_outcome / n_population
    rule = f"prevalence <= {max_prevalence:g} (first outcomes only)"
    if not first_outcome_only:
        return Diagnostic("rare outcome", p, rule, True,
                          f"prevalence {p:.3f}; all events are used, so rarity is not needed")
    ok = p <= max_prevalence
    text = (f"prevalence {p:.3f}: rare enough for a first-event analysis (bias about "
            f"{p / 2:.1%})" if ok else f"prevalence {p:.3f}: too common for a first-event "
            f"analysis (bias about {p / 2:.1%})")
    return Diagnostic("rare outcome", p, rule, ok, text)


# --------------------------------------------------------------------------------------------
# MDRR
# --------------------------------------------------------------------------------------------


def srl1_power(log_rr: float, r: float, n: float, alpha: float = 0.05,
               two_sided: bool = True) -> float:
    """Power of the SCCS test of no effect, Musonda et al. (2006) expression 7 ("SRL1").

    With ``r`` the proportion of the cases' observed time that is exposed, ``n`` events and
    ``b = log_rr``: A = 2 [pi b - log(e^b r + 1 - r)], pi = e^b r / (e^b r + 1 - r),
    B = b^2 / A * e^b r (1 - r) / (e^b r + 1 - r)^2, power = Phi((sqrt(n A) - z) / sqrt(B)),
    z the normal quantile at ``1 - alpha`` (``alpha / 2`` two-sided); a power below that alpha,
    or n < 1, is set to it, as in OHDSI's ``computeMdrr``. ``A`` and ``B`` come from
    :func:`analysis.sccs.power.srl1_terms`, the sample-size module's expressions with every case
    exposed (one implementation of the formula).

    Examples
    --------
    >>> round(srl1_power(np.log(2.0), 0.1, 200), 3)
    0.924
    """
    a = alpha / 2 if two_sided else alpha
    z = normal_quantile(1 - a)
    A, B = srl1_terms(r, float(log_rr))
    if not A > 0 or n < 1:
        return a
    power = float(normal_cdf((math.sqrt(n * A) - z) / math.sqrt(B)))
    return max(power, a)


def mdrr_value(r: float, n: float, alpha: float = 0.05, power: float = 0.8,
               two_sided: bool = True, *, lower: bool = False) -> float:
    """Minimum detectable relative risk: the RR > 1 at which :func:`srl1_power` = ``power``.

    OHDSI's ``computeMdrr(method = "SRL1")`` searches log RR in [0, 10] by bisection; here the
    same equation is solved with Brent's method. Infinite when all time is exposed (r = 1), no
    time is, there are no events, or the power is not reached by RR = e^10. With ``lower``,
    the protective counterpart: the RR < 1 detectable with that power (searched in
    [e^-10, 1]; 0 when not reached), which OHDSI does not report.

    Examples
    --------
    >>> round(mdrr_value(0.1, 100), 3)
    2.196
    >>> round(mdrr_value(0.1, 100, lower=True), 3)
    0.29
    """
    if not (0 < r < 1) or n < 1:
        return 0.0 if lower else math.inf
    sign = -1.0 if lower else 1.0

    def gap(b: float) -> float:
        return srl1_power(sign * b, r, n, alpha, two_sided) - power

    if gap(10.0) < 0:
        return 0.0 if lower else math.inf
    return float(math.exp(sign * optimize.brentq(gap, 1e-9, 10.0, xtol=1e-12)))


def mdrr(
    exposed_days: float,
    total_days: float,
    events: int,
    *,
    alpha: float = OHDSI.alpha,
    power: float = OHDSI.power,
    threshold: float = OHDSI.mdrr,
) -> Diagnostic:
    """Power: the minimum detectable relative risk (MDRR) of the data.

    OHDSI's ``computeMdrr`` with its defaults (two-sided alpha 0.05, power 0.8, SRL1 formula of
    Musonda, Farrington & Whitaker 2006, Stat Med 25:2618): ``r = exposed_days / total_days``
    over the cases' observed time and ``n`` = the cases' events. The diagnostic passes when
    MDRR <= ``mdrrThreshold = 10``. A large MDRR means the study could miss even a strong
    effect: a null estimate is then uninformative.

    Examples
    --------
    >>> mdrr(10, 10_000, 20).verdict
    'fail'
    """
    if total_days <= 0 or not 0 <= exposed_days <= total_days:
        raise SCCSError("mdrr: need 0 <= exposed_days <= total_days, total_days > 0")
    r = exposed_days / total_days
    value = mdrr_value(r, events, alpha, power)
    ok = value <= threshold
    text = (f"with {events} events and {r:.1%} of time exposed, a relative risk of {value:.2f} "
            f"is detectable with {power:.0%} power")
    if not ok:
        text += f"; the study is too small to detect an effect below {threshold:g}"
    return Diagnostic("MDRR", value, f"<= {threshold:g}", ok, text)


def _mdrr_from_intervals(intervals: pd.DataFrame, exposure: str, th: Thresholds) -> Diagnostic:
    cases = intervals[intervals.groupby("id")["events"].transform("sum") > 0]
    days = cases["days"].to_numpy(dtype=float)
    exposed = float(days[cases[exposure].to_numpy() != 0].sum())
    return mdrr(exposed, float(days.sum()), int(cases["events"].sum()), alpha=th.alpha,
                power=th.power, threshold=th.mdrr)


# --------------------------------------------------------------------------------------------
# All at once
# --------------------------------------------------------------------------------------------


def run_all(
    intervals: pd.DataFrame,
    exposure: str,
    *,
    pre: tuple[object, str] | None = None,
    end: tuple[object, str] | None = None,
    period: str | None = None,
    log_rate: np.ndarray | pd.Series | None = None,
    n_population: int | None = None,
    first_outcome_only: bool = False,
    thresholds: Thresholds = OHDSI,
) -> pd.DataFrame:
    """Every diagnostic that the inputs allow, as a table of verdicts.

    Parameters
    ----------
    intervals:
        The analysis' interval table (``id``, ``days``, ``events``, the ``exposure`` column
        and, for time stability, the ``period`` column).
    exposure:
        Exposure column (non-zero = exposed) for the MDRR.
    pre, end:
        ``(fit, term)`` of a model holding a pre-exposure window / the end-of-observation probe.
    period, log_rate:
        Period column and per-row log rate adjustment for :func:`time_stability` (see
        :func:`observed_expected`).
    n_population:
        Size of the underlying population, for :func:`rare_outcome` (the cases are the ids with
        events in ``intervals``).
    first_outcome_only:
        Whether the analysis keeps first events only (rare-outcome rule).
    thresholds:
        :class:`Thresholds` (OHDSI's defaults).

    Returns
    -------
    DataFrame, one row per diagnostic: ``name, value, ci_low, ci_high, p, threshold, verdict,
    explanation``; diagnostics without their inputs are listed as ``not evaluated``.

    Examples
    --------
    >>> import pandas as pd
    >>> iv = pd.DataFrame({"id": [1, 1, 2, 2], "x": [0, 1, 0, 1], "days": [300, 30, 300, 30],
    ...                    "events": [10, 1, 9, 2]})
    >>> run_all(iv, "x", n_population=50)["verdict"].tolist()
    ['not evaluated', 'not evaluated', 'not evaluated', 'pass', 'pass']
    """
    th = thresholds
    rows = []
    rows.append(pre_exposure_gain(*pre, bounds=th.event_exposure_bounds) if pre else
                _missing("pre-exposure gain", "no model with a pre-exposure window given"))
    rows.append(end_of_observation_probe(*end, bounds=th.event_observation_bounds) if end else
                _missing("end-of-observation probe", "no model with the probe window given"))
    if period is not None:
        oe = observed_expected(intervals, period, log_rate)
        rows.append(time_stability(oe["observed"], oe["expected"], th.time_trend_max_ratio,
                                   th.alpha))
    else:
        rows.append(_missing("time-trend stability", "no period column given"))
    if n_population is not None:
        n_cases = int((intervals.groupby("id")["events"].sum() > 0).sum())
        rows.append(rare_outcome(n_cases, n_population, first_outcome_only=first_outcome_only,
                                 max_prevalence=th.rare_outcome_max_prevalence))
    else:
        rows.append(_missing("rare outcome", "population size not given"))
    rows.append(_mdrr_from_intervals(intervals, exposure, th))
    cols = ["name", "value", "ci_low", "ci_high", "p", "threshold", "verdict", "explanation"]
    return pd.DataFrame([d.to_dict() for d in rows])[cols]


def _missing(name: str, why: str) -> Diagnostic:
    return Diagnostic(name, math.nan, "", None, f"not evaluated: {why}")
