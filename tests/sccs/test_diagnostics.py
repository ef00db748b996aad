"""SCCS diagnostics (analysis.sccs.diagnostics) against independent computations.

* probe windows: toy data in which every case has the same exposed share r, so the SCCS
  estimate has a closed form (rho = N1 (1 - r) / (N0 r), var log rho = 1/N1 + 1/N0) and the
  OHDSI verdict (CI intersects the null bounds) is worked by hand;
* observed/expected: hand-worked counts;
* time stability: OHDSI's checkTimeStabilityAssumption (SelfControlledCaseSeries 6,
  R/Diagnostics.R) re-implemented here in the plainest way (grid, L-BFGS-B from 1.5, direct
  sum of Poisson probabilities);
* MDRR: OHDSI's computeMdrr (R/Power.R, SRL1, bisection on log RR in [0, 10] to a power
  precision of 1e-6) re-implemented here, and the exact binomial power of the signed-root
  likelihood-ratio test at the MDRR, computed from its definition;
* rare outcome: the threshold's boundary by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.sccs import SCCS, SCCSError, build_intervals
from analysis.sccs.diagnostics import (
    OHDSI,
    end_of_observation_probe,
    end_of_observation_window,
    mdrr,
    mdrr_value,
    observed_expected,
    pre_exposure_gain,
    rare_outcome,
    run_all,
    time_stability,
)

Z975 = 1.959963984540054  # qnorm(0.975)


def _toy(n0: list[int], n1: list[int], term: str) -> pd.DataFrame:
    """Each case: 270 days outside and 30 days inside the window (r = 0.1)."""
    k = len(n0)
    return pd.DataFrame({
        "id": np.repeat(np.arange(k), 2),
        term: np.tile([0, 1], k),
        "days": np.tile([270, 30], k),
        "events": np.ravel(np.column_stack([n0, n1])),
    })


def _closed_form(n0: list[int], n1: list[int], r: float = 0.1) -> tuple[float, float, float]:
    N0, N1 = sum(n0), sum(n1)
    rho = N1 * (1 - r) / (N0 * r)
    se = math.sqrt(1 / N1 + 1 / N0)
    return rho, rho * math.exp(-Z975 * se), rho * math.exp(Z975 * se)


@pytest.mark.parametrize(("n0", "n1", "bounds", "expected"), [
    ([8, 10, 5], [2, 0, 3], (0.5, 2.0), True),     # rho 1.96, CI 0.74-5.14
    ([10, 10], [10, 10], (0.5, 2.0), False),       # rho 9, CI 4.84-16.7
    ([40, 45, 50], [4, 6, 5], (0.8, 1.25), True),  # rho 1.0
    ([30, 30], [12, 10], (0.8, 1.25), False),      # rho 3.3, CI 2.1-5.2
])
def test_probe_windows_closed_form(n0, n1, bounds, expected):
    rho, lo, hi = _closed_form(n0, n1)
    by_hand = lo <= bounds[1] and hi >= bounds[0]
    assert by_hand is expected
    for fn, term in ((end_of_observation_probe, "end_probe"), (pre_exposure_gain, "pre")):
        d = fn(SCCS().fit(_toy(n0, n1, term), [term]), term, bounds=bounds)
        assert d.value == pytest.approx(rho, rel=1e-8)
        assert d.ci_low == pytest.approx(lo, rel=1e-7)
        assert d.ci_high == pytest.approx(hi, rel=1e-7)
        assert d.passed is expected
        assert d.verdict == ("pass" if expected else "fail")


def test_probe_defaults_are_ohdsi():
    assert OHDSI.event_observation_bounds == (0.5, 2.0)
    assert OHDSI.event_exposure_bounds == (0.8, 1.25)
    assert OHDSI.end_probe_days == 30
    assert (OHDSI.mdrr, OHDSI.time_trend_max_ratio, OHDSI.rare_outcome_max_prevalence) == (
        10.0, 1.10, 0.10)


def test_probe_term_missing_is_a_clear_error():
    fit = SCCS().fit(_toy([5, 5], [1, 1], "x"), ["x"])
    with pytest.raises(SCCSError, match="not in the fitted model"):
        end_of_observation_probe(fit, "end_probe")


def test_end_of_observation_window_covers_the_last_days():
    obs = pd.DataFrame({"id": [1, 2], "start": [0, 10], "end": [99, 40]})
    ev = pd.DataFrame({"id": [1, 1, 2], "day": [5, 80, 39]})
    iv = build_intervals(obs, ev, covariates=[end_of_observation_window(obs)], merge=True)
    assert iv[["id", "start", "end", "end_probe", "events"]].to_numpy().tolist() == [
        [1, 0, 69, 0, 1], [1, 70, 99, 1, 1], [2, 10, 10, 0, 0], [2, 11, 40, 1, 1]]


def test_observed_expected_by_hand():
    iv = pd.DataFrame({"id": [1, 1, 2, 2], "month": [1, 2, 1, 2], "days": [10, 30, 20, 20],
                       "events": [0, 4, 2, 0]})
    oe = observed_expected(iv, "month")
    # case 1: 4 events over 10 + 30 days -> 1, 3; case 2: 2 events over 20 + 20 -> 1, 1
    assert oe["observed"].tolist() == [2.0, 4.0]
    assert oe["expected"].tolist() == pytest.approx([2.0, 4.0])
    oe = observed_expected(iv, "month", log_rate=np.log([2.0, 1.0, 1.0, 3.0]))
    # case 1 weights 20, 30 -> 1.6, 2.4; case 2 weights 20, 60 -> 0.5, 1.5
    assert oe["expected"].tolist() == pytest.approx([2.1, 3.9])


def _ohdsi_time_stability(o, e, max_ratio=1.10, alpha=0.05):
    """checkTimeStabilityAssumption, line by line."""
    o, e = np.asarray(o, float), np.asarray(e, float)

    def neg_ll(x):
        x = float(np.atleast_1d(x)[0])
        return -np.sum(np.log(stats.poisson.pmf(o, e * x) + stats.poisson.pmf(o, e / x)))

    # OHDSI maximises with optim(1.5, method = "L-BFGS-B") on the finite part of [1, 10]; a
    # dense grid is the plainest global maximiser (L-BFGS-B can stop at the stationary x = 1)
    x = np.arange(1, 10.00001, 1e-4)
    ll = -np.log(stats.poisson.pmf(o, e * x[:, None]) + stats.poisson.pmf(o, e / x[:, None])
                 ).sum(axis=1)
    x_hat = x[np.nanargmin(np.where(np.isfinite(ll), ll, np.nan))]
    x0 = max_ratio if x_hat > max_ratio else x_hat
    x1 = max_ratio if x_hat < max_ratio else x_hat
    llr = 2 * (-neg_ll(x1) + neg_ll(x0))
    p = stats.chi2.sf(llr, 1) if llr > 0 else 1.0
    return x_hat, p, p > alpha


@pytest.mark.parametrize(("o", "e"), [
    ([10, 12, 9, 11, 10, 8], [10.0] * 6),
    ([30, 5, 28, 6, 25, 4], [16.3] * 6),
    ([14, 8, 13, 9, 12, 7, 15, 6], [10.5] * 8),
    ([3, 0, 1, 5, 2, 2], [2.1, 1.9, 2.0, 2.2, 1.8, 2.0]),
])
def test_time_stability_matches_ohdsi(o, e):
    x_hat, p, ok = _ohdsi_time_stability(o, e)
    d = time_stability(o, e)
    assert d.value == pytest.approx(x_hat, abs=2e-4)
    assert d.p == pytest.approx(p, rel=1e-3, abs=1e-10)
    assert d.passed is bool(ok)


def test_time_stability_verdicts():
    assert time_stability([10, 10, 10], [10, 10, 10]).passed is True
    assert time_stability([40, 2, 38, 3], [20.75] * 4).passed is False
    assert time_stability([5], [5]).passed is True   # OHDSI: fewer than 2 months pass


def test_rare_outcome_boundary():
    assert rare_outcome(10, 100).passed is True      # 0.10 <= 0.10
    assert rare_outcome(11, 100).passed is False
    assert rare_outcome(11, 100).value == pytest.approx(0.11)
    assert rare_outcome(50, 100, first_outcome_only=False).passed is True
    with pytest.raises(SCCSError):
        rare_outcome(5, 0)


def _ohdsi_mdrr(r, n, alpha=0.05, power=0.8):
    """computeMdrr(method = "SRL1", twoSided = TRUE), line by line."""
    z = stats.norm.ppf(1 - alpha / 2)
    a = alpha / 2

    def pw(b):
        eb = math.exp(b)
        A = 2 * ((eb * r / (eb * r + 1 - r)) * b - math.log(eb * r + 1 - r))
        B = b**2 / A * eb * r * (1 - r) / (eb * r + 1 - r) ** 2
        p = stats.norm.cdf((math.sqrt(n * A) - z) / math.sqrt(B))
        return a if (p < a or n < 1) else p

    L, H = 0.0, 10.0
    while H >= L:
        M = L + (H - L) / 2
        d = pw(M) - power
        if d > 1e-6:
            H = M
        elif -d > 1e-6:
            L = M
        else:
            return math.exp(M)


@pytest.mark.parametrize(("r", "n"), [(0.1, 100), (0.05, 40), (0.3, 500), (0.02, 2000)])
def test_mdrr_matches_ohdsi_compute_mdrr(r, n):
    assert mdrr_value(r, n) == pytest.approx(_ohdsi_mdrr(r, n), rel=1e-4)


def _exact_power(rho, r, n, alpha=0.05):
    """Power of the two-sided signed-root LR test of rho = 1, from its definition: the number
    of events in exposed time is Binomial(n, pi), pi = rho r / (rho r + 1 - r)."""
    k = np.arange(n + 1)
    ph = k / n
    with np.errstate(divide="ignore", invalid="ignore"):
        g = 2 * (np.where(k > 0, k * np.log(ph / r), 0)
                 + np.where(k < n, (n - k) * np.log((1 - ph) / (1 - r)), 0))
    reject = np.sqrt(np.maximum(g, 0)) > stats.norm.ppf(1 - alpha / 2)
    pi = rho * r / (rho * r + 1 - r)
    return float(stats.binom.pmf(k, n, pi)[reject].sum())


@pytest.mark.parametrize(("r", "n"), [(0.1, 2000), (0.3, 1000)])
def test_mdrr_has_the_stated_power(r, n):
    rho = mdrr_value(r, n)
    assert _exact_power(rho, r, n) == pytest.approx(0.80, abs=0.02)
    assert _exact_power(rho * 0.9, r, n) < 0.8 < _exact_power(rho * 1.1, r, n)


@pytest.mark.parametrize(("r", "n"), [(0.1, 2000), (0.3, 1000)])
def test_lower_mdrr_has_the_stated_power(r, n):
    rho = mdrr_value(r, n, lower=True)
    assert rho < 1
    assert _exact_power(rho, r, n) == pytest.approx(0.80, abs=0.02)
    assert _exact_power(rho / 0.9, r, n) < 0.8 < _exact_power(rho * 0.9, r, n)


def test_mdrr_verdict_and_edges():
    assert mdrr(1000, 10_000, 100).passed is True
    assert mdrr(10, 10_000, 5).passed is False
    assert math.isinf(mdrr_value(1.0, 100))
    assert math.isinf(mdrr_value(0.1, 0))
    with pytest.raises(SCCSError):
        mdrr(20, 10, 5)


def test_run_all_lists_every_diagnostic():
    data = _toy([8, 10, 5], [2, 0, 3], "x")
    data["month"] = np.tile([1, 2], 3)
    data["end_probe"] = data["x"]
    fit = SCCS().fit(data, ["x"])
    table = run_all(data, "x", pre=(fit, "x"), end=(fit, "x"), period="month",
                    n_population=100, first_outcome_only=True)
    assert table["name"].tolist() == ["pre-exposure gain", "end-of-observation probe",
                                      "time-trend stability", "rare outcome", "MDRR"]
    assert table.loc[3, "value"] == pytest.approx(0.03)
    rho = _closed_form([8, 10, 5], [2, 0, 3])[0]
    assert table.loc[0, "value"] == pytest.approx(rho)
    assert table.loc[4, "value"] == pytest.approx(_ohdsi_mdrr(0.1, 28), rel=1e-4)
    assert set(table["verdict"]) <= {"pass", "fail"}
