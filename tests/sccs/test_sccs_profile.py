"""Profile-likelihood confidence intervals against independent computations.

References, none of which use the library's kernels:

* one binary exposure: the conditional likelihood written out by hand per case
  (``sum_i [y_i1 b - n_i log(d_i0 + d_i1 e^b)]`` + const) and the limits found by the test's own
  bisection;
* several terms: the negative profile log-likelihood minimised by ``scipy.optimize.minimize``
  over the other coefficients on a likelihood written with pandas ``groupby``, its roots found
  by ``scipy.optimize.brentq``;
* R example ``standardsccs_itp.mod2`` (R SCCS 1.7's itp data, ``data/external/sccs-r``): the
  brute-force profile statistic evaluated at our limits equals qchisq(0.95, 1).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq, minimize

from analysis import teaching as T
from analysis.sccs import SCCS, SCCSWarning
from analysis.sccs.profile import profile_loglik

CHI2_95 = 3.841458820694124  # qchisq(0.95, 1) in R
CHI2_90 = 2.705543454095404  # qchisq(0.90, 1) in R


def bisect(f, lo: float, hi: float, tol: float = 1e-12) -> float:
    """Root of f between lo and hi (f changes sign), by plain bisection."""
    flo = f(lo)
    for _ in range(200):
        mid = (lo + hi) / 2
        fm = f(mid)
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
        if hi - lo < tol:
            break
    return (lo + hi) / 2


def one_exposure(seed: int = 2, n: int = 15) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d1 = rng.integers(10, 60, n).astype(float)
    d0 = rng.integers(100, 300, n).astype(float)
    y1 = rng.poisson(d1 * 0.02)
    y0 = rng.poisson(d0 * 0.01)
    return pd.DataFrame({
        "id": np.repeat(np.arange(n), 2), "exposed": np.tile([1, 0], n),
        "days": np.column_stack([d1, d0]).ravel(), "events": np.column_stack([y1, y0]).ravel(),
    })


def hand_loglik(data: pd.DataFrame, b: float) -> float:
    """sum_i [y_i1 b - n_i log(d_i0 + d_i1 e^b)] (constants dropped), cases only; rows come
    in (exposed, unexposed) pairs per individual, as :func:`one_exposure` writes them."""
    d1, d0 = data["days"].to_numpy()[0::2], data["days"].to_numpy()[1::2]
    y1, y0 = data["events"].to_numpy()[0::2], data["events"].to_numpy()[1::2]
    n = y0 + y1
    keep = n > 0
    if b == -math.inf:
        return float(np.sum(-n[keep] * np.log(d0[keep])))
    return float(np.sum(y1[keep] * b - n[keep] * np.log(d0[keep] + d1[keep] * math.exp(b))))


@pytest.mark.parametrize("alpha,crit", [(0.05, CHI2_95), (0.10, CHI2_90)])
def test_one_binary_exposure_closed_form(alpha: float, crit: float) -> None:
    data = one_exposure()
    fit = SCCS().fit(data, ["exposed"])
    # the test's own MLE: the score is decreasing in b, bisection on a numerical derivative
    bhat = bisect(lambda b: hand_loglik(data, b + 1e-6) - hand_loglik(data, b - 1e-6), -10, 10)
    assert fit.params["exposed"] == pytest.approx(bhat, abs=1e-5)
    top = hand_loglik(data, bhat)
    dev = lambda b: 2 * (top - hand_loglik(data, b)) - crit  # noqa: E731
    lower, upper = bisect(dev, bhat - 10, bhat), bisect(dev, bhat, bhat + 10)
    ci = fit.conf_int(alpha=alpha, method="profile")
    assert ci.loc["exposed", "lower"] == pytest.approx(lower, abs=1e-7)
    assert ci.loc["exposed", "upper"] == pytest.approx(upper, abs=1e-7)
    # asymmetric, unlike Wald, and narrower than Wald on this side here
    wald = fit.conf_int(alpha=alpha)
    assert abs((upper - bhat) - (bhat - lower)) > 1e-3
    assert wald.loc["exposed", "lower"] != pytest.approx(lower, abs=1e-3)


def test_no_events_in_level_gives_one_sided_interval() -> None:
    data = one_exposure()
    data.loc[data["exposed"] == 1, "events"] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SCCSWarning)
        fit = SCCS().fit(data, ["exposed"])
    assert fit.params["exposed"] == -math.inf
    top = hand_loglik(data, -math.inf)  # the supremum, approached as b -> -inf
    upper = bisect(lambda b: 2 * (top - hand_loglik(data, b)) - CHI2_95, -30, 10)
    with pytest.warns(SCCSWarning, match="one-sided"):
        ci = fit.conf_int(method="profile")
    assert ci.loc["exposed", "lower"] == -math.inf
    assert ci.loc["exposed", "upper"] == pytest.approx(upper, abs=1e-7)
    # all events in the level: the mirror image
    flip = one_exposure()
    flip.loc[flip["exposed"] == 0, "events"] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SCCSWarning)
        ci = SCCS().fit(flip, ["exposed"]).conf_int(method="profile")
    assert ci.loc["exposed", "upper"] == math.inf and math.isfinite(ci.loc["exposed", "lower"])


# ---------------------------------------------------------------- several terms: brute force
def groupby_loglik(data: pd.DataFrame, terms: list[str], beta: np.ndarray) -> float:
    """Conditional Poisson log-likelihood, grouped by individual with np.unique/bincount
    (constants dropped)."""
    _, g = np.unique(data["id"].to_numpy(), return_inverse=True)
    eta = np.log(data["days"].to_numpy()) + data[terms].to_numpy(float) @ beta
    y = data["events"].to_numpy(float)
    lse = np.log(np.bincount(g, weights=np.exp(eta)))
    n = np.bincount(g, weights=y)
    return float(y @ eta - n @ lse)


def brute_profile(data: pd.DataFrame, terms: list[str], j: int, b: float,
                  start: np.ndarray) -> float:
    """max over the other coefficients of the log-likelihood with beta_j = b."""
    others = [k for k in range(len(terms)) if k != j]
    if not others:
        beta = np.array([b], dtype=float)
        return groupby_loglik(data, terms, beta)

    def neg(theta: np.ndarray) -> float:
        beta = np.empty(len(terms))
        beta[j] = b
        beta[others] = theta
        return -groupby_loglik(data, terms, beta)

    res = minimize(neg, start[others], method="BFGS", options={"gtol": 1e-9})
    return -float(res.fun)


def small_data(seed: int = 7, n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    k = rng.integers(2, 6, n)
    ids = np.repeat(np.arange(n), k)
    m = len(ids)
    x = rng.integers(0, 2, (m, 2))
    days = rng.integers(5, 90, m).astype(float)
    lp = 0.7 * x[:, 0] - 0.4 * x[:, 1] + rng.normal(0, 0.5, n)[ids]
    data = pd.DataFrame({"id": ids, "days": days, "a": x[:, 0], "b": x[:, 1],
                         "events": rng.poisson(0.01 * np.exp(lp) * days)})
    return data[data.groupby("id")["events"].transform("sum") > 0].reset_index(drop=True)


def test_several_terms_against_scipy_minimisation() -> None:
    data = small_data()
    terms = ["a", "b"]
    fit = SCCS().fit(data, terms)
    ci = fit.conf_int(method="profile")
    bhat = fit.params.to_numpy()
    top = groupby_loglik(data, terms, bhat)
    for j, t in enumerate(terms):
        dev = lambda b, j=j: 2 * (top - brute_profile(data, terms, j, b, bhat)) - CHI2_95  # noqa: E731
        se = fit.bse[t]
        lower = brentq(dev, bhat[j] - 4 * se, bhat[j], xtol=1e-9)
        upper = brentq(dev, bhat[j], bhat[j] + 4 * se, xtol=1e-9)
        assert ci.loc[t, "lower"] == pytest.approx(lower, abs=1e-5)
        assert ci.loc[t, "upper"] == pytest.approx(upper, abs=1e-5)
    # the library's own profile log-likelihood equals the brute force (up to the constant)
    const = fit.loglik - top
    for b in (-0.5, 0.3, 1.2):
        ours = profile_loglik(fit, "a", [b])[0]
        assert ours - const == pytest.approx(brute_profile(data, terms, 0, b, bhat), abs=1e-7)


def test_r_example_itp_profile_limits_are_roots() -> None:
    """R SCCS 1.7 itp data, model mmr + age (6 groups): at our profile limits of mmr1 and age2 the
    brute-force likelihood-ratio statistic is qchisq(0.95, 1), and the limits bracket the
    estimate inside the region where it is below."""
    ex = T.r_example("standardsccs_itp.mod2")
    fit = SCCS().fit(ex.intervals, ex.terms)
    data = ex.intervals[["id", "days", "events", *ex.terms]]
    data = data[data.groupby("id")["events"].transform("sum") > 0]
    bhat = fit.params.to_numpy()
    top = groupby_loglik(data, ex.terms, bhat)
    ci = fit.conf_int(method="profile")
    for r_name in ("mmr1", "age2"):
        term = next(t for t in ex.terms if ex.r_terms[t] == r_name)
        j = ex.terms.index(term)
        for limit in ci.loc[term]:
            stat = 2 * (top - brute_profile(data, ex.terms, j, limit, bhat))
            assert stat == pytest.approx(CHI2_95, abs=1e-5)
        lo, hi = ci.loc[term]
        assert lo < bhat[j] < hi
        inside = 2 * (top - brute_profile(data, ex.terms, j, (lo + bhat[j]) / 2, bhat))
        assert inside < CHI2_95


def test_bad_method() -> None:
    fit = SCCS().fit(one_exposure(), ["exposed"])
    with pytest.raises(Exception, match="'wald' or 'profile'"):
        fit.conf_int(method="score")


def test_profile_of_a_term_when_another_is_infinite() -> None:
    """Term b has no events in its level (-inf): a's profile interval is taken at that limit,
    i.e. on the rows where b = 0, and equals the one-term interval computed by hand there."""
    data = small_data(seed=11)
    data.loc[data["b"] == 1, "events"] = 0
    data = data[data.groupby("id")["events"].transform("sum") > 0].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SCCSWarning)
        fit = SCCS().fit(data, ["a", "b"])
        ci = fit.conf_int(method="profile")
    assert fit.params["b"] == -math.inf and ci.loc["b", "lower"] == -math.inf
    face = data[data["b"] == 0]
    ll = lambda b: groupby_loglik(face, ["a"], np.array([b]))  # noqa: E731
    bhat = bisect(lambda b: ll(b + 1e-6) - ll(b - 1e-6), -10, 10)
    assert fit.params["a"] == pytest.approx(bhat, abs=1e-5)
    dev = lambda b: 2 * (ll(bhat) - ll(b)) - CHI2_95  # noqa: E731
    assert ci.loc["a", "lower"] == pytest.approx(bisect(dev, bhat - 10, bhat), abs=1e-7)
    assert ci.loc["a", "upper"] == pytest.approx(bisect(dev, bhat, bhat + 10), abs=1e-7)
