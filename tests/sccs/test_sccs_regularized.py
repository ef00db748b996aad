"""The regularised SCCS fit (Cyclops' prior) against references independent of its code.

The references: the optimality (Karush-Kuhn-Tucker) conditions of the penalised problem, checked
with a conditional Poisson log-likelihood and gradient written here from the formula; the
unpenalised engine (:class:`analysis.sccs.SCCS`) as the prior vanishes, and on the excluded
terms alone as it dominates; and a generic optimiser (scipy's L-BFGS-B) on a smooth
reformulation of the L1 problem (b = u - v, u, v >= 0).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.sccs import SCCS, SCCSError, SCCSWarning
from analysis.sccs.regularized import Control, Prior, case_folds, fit_regularized

TERMS = ["exposed", "x1", "x2", "x3", "x4"]
TRUE = np.array([0.7, 0.4, 0.0, 0.0, -0.3])


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    """120 cases of 4 intervals with an exposure and four binary covariates."""
    rng = np.random.default_rng(2024)
    n, k = 120, 4
    X = np.column_stack([np.tile([1, 0, 0, 0], n), rng.integers(0, 2, (n * k, 4))])
    days = rng.integers(20, 200, n * k).astype(float)
    rate = days / 365.25 * np.exp(X @ TRUE)
    frame = pd.DataFrame(X.astype(float), columns=TERMS).assign(
        id=np.repeat(np.arange(n), k), days=days, events=rng.poisson(rate * 1.5))
    return frame


def loglik_grad(frame: pd.DataFrame, beta: np.ndarray) -> tuple[float, np.ndarray]:
    """Conditional Poisson log-likelihood and gradient from the formula (cases only):
    sum_ij y_ij eta_ij - sum_i n_i log sum_j exp(eta_ij), eta = log d + x b."""
    f = frame[frame.groupby("id")["events"].transform("sum") > 0].sort_values("id", kind="stable")
    X, y = f[TERMS].to_numpy(), f["events"].to_numpy(float)
    eta = np.log(f["days"].to_numpy()) + X @ beta
    codes, start = np.unique(f["id"].to_numpy(), return_index=True)
    m = np.maximum.reduceat(eta, start)
    grp = np.repeat(np.arange(len(codes)), np.diff(np.r_[start, len(f)]))
    s = np.add.reduceat(np.exp(eta - m[grp]), start)
    n = np.add.reduceat(y, start)
    p = np.exp(eta - m[grp]) / s[grp]
    return float(y @ eta - n @ (m + np.log(s))), X.T @ (y - n[grp] * p)


def test_kkt_conditions_hold_at_the_laplace_fit(data: pd.DataFrame) -> None:
    """At the maximum, |gradient| <= lambda for the zeros, = lambda sign(b) for the others,
    and 0 for the excluded (unpenalised) term: the gradient here is the formula's, not the
    fitter's."""
    prior = Prior("laplace", variance=0.05, exclude=("exposed",))
    fit = fit_regularized(data, TERMS, prior, tol=1e-10)
    b = fit.params.to_numpy()
    lam = math.sqrt(2.0 / 0.05)
    _, g = loglik_grad(data, b)
    zero = b == 0.0
    zero[0] = False
    assert zero.any() and (~zero[1:]).any()  # the case is informative: some of each
    assert abs(g[0]) <= 1e-8
    assert np.all(np.abs(g[zero]) <= lam + 1e-8)
    nz = ~zero
    nz[0] = False
    np.testing.assert_allclose(g[nz], lam * np.sign(b[nz]), rtol=0, atol=1e-8)
    assert fit.kkt <= 1e-10 and fit.converged and fit.penalized == TERMS[1:]


def test_kkt_conditions_hold_at_the_normal_fit(data: pd.DataFrame) -> None:
    """Ridge: gradient = b / variance for every penalised term, 0 for the excluded one."""
    fit = fit_regularized(data, TERMS, Prior("normal", variance=0.2, exclude=("exposed",)))
    b = fit.params.to_numpy()
    _, g = loglik_grad(data, b)
    np.testing.assert_allclose(g, np.r_[0.0, b[1:] / 0.2], rtol=0, atol=1e-7)
    assert (b[1:] != 0).all()


@pytest.mark.parametrize("prior_type", ["laplace", "normal"])
def test_a_vanishing_prior_gives_the_unpenalised_fit(data: pd.DataFrame, prior_type: str) -> None:
    """Variance 1e12: the estimate moves from the maximum likelihood by about info^-1 times
    the penalty's gradient, which bounds the tolerance."""
    v = 1e12
    ml = SCCS().fit(data, TERMS)
    fit = fit_regularized(data, TERMS, Prior(prior_type, variance=v), tol=1e-10)
    cov = ml.cov_params().to_numpy()
    pen_grad = math.sqrt(2 / v) if prior_type == "laplace" else np.abs(ml.params).max() / v
    bound = 2 * pen_grad * np.abs(cov).sum(axis=1) + 1e-7
    assert np.all(np.abs(fit.params.to_numpy() - ml.params.to_numpy()) <= bound)
    assert fit.loglik == pytest.approx(ml.loglik, abs=1e-6)


def test_an_enormous_prior_zeroes_the_penalised_terms(data: pd.DataFrame) -> None:
    """Variance 1e-12 (lambda ~ 1.4e6): every penalised term exactly 0, and the excluded one
    as the unpenalised fit of the model without the others."""
    fit = fit_regularized(data, TERMS, Prior("laplace", variance=1e-12, exclude=("exposed",)))
    assert (fit.params[TERMS[1:]] == 0.0).all()
    alone = SCCS().fit(data, ["exposed"])
    assert fit.params["exposed"] == pytest.approx(alone.params["exposed"], abs=1e-8)
    assert fit.bse["exposed"] == pytest.approx(alone.bse["exposed"], rel=1e-6)
    assert fit.bse[TERMS[1:]].isna().all()
    s = fit.summary
    assert s.loc[TERMS[1:], ["ci_low", "ci_high", "p"]].isna().all().all()
    assert np.isfinite(s.loc["exposed", ["ci_low", "ci_high"]]).all()


def test_agrees_with_a_generic_optimiser(data: pd.DataFrame) -> None:
    """The L1 problem made smooth (b = u - v, u, v >= 0) and minimised by scipy's L-BFGS-B.

    Tolerance: the penalised objective is strongly concave with modulus at least mu (the
    smallest eigenvalue of the information, from finite differences of the formula's
    gradient), so an objective gap eps puts the coefficients within sqrt(2 eps / mu)."""
    from scipy.optimize import minimize

    v = 0.05
    lam = math.sqrt(2.0 / v)
    pen = np.r_[0.0, np.full(4, lam)]

    def neg(z: np.ndarray) -> tuple[float, np.ndarray]:
        u, w = z[:5], z[5:]
        ll, g = loglik_grad(data, u - w)
        return -ll + pen @ (u + w), np.r_[-g + pen, g + pen]

    bounds = [(None, None)] + [(0, None)] * 4 + [(0, 0)] + [(0, None)] * 4
    res = minimize(neg, np.zeros(10), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 5000})
    ref = res.x[:5] - res.x[5:]
    fit = fit_regularized(data, TERMS, Prior("laplace", variance=v, exclude=("exposed",)),
                          tol=1e-10)
    ours = -fit.objective
    assert ours <= res.fun + 1e-9 * (1 + abs(res.fun))  # never worse than the generic optimiser
    h = 1e-5
    info = -np.column_stack([(loglik_grad(data, ref + h * e)[1] - loglik_grad(data, ref - h * e)[1])
                             / (2 * h) for e in np.eye(5)])
    mu = float(np.linalg.eigvalsh((info + info.T) / 2).min())
    gap = abs(res.fun - ours) + 1e-9 * (1 + abs(res.fun))
    np.testing.assert_allclose(fit.params.to_numpy(), ref, rtol=0,
                               atol=math.sqrt(2 * gap / mu))


def test_cross_validation_is_deterministic_for_a_seed(data: pd.DataFrame) -> None:
    prior = Prior("laplace", exclude=("exposed",), use_cross_validation=True)
    control = Control(fold=5, seed=11)
    a = fit_regularized(data, TERMS, prior, control)
    b = fit_regularized(data, TERMS, prior, control)
    assert a.variance == b.variance
    pd.testing.assert_frame_equal(a.cv, b.cv)
    np.testing.assert_array_equal(a.params.to_numpy(), b.params.to_numpy())
    tried = a.cv.sort_values("variance")
    best = tried["mean_loglik"].idxmax()
    # the search brackets its best score before it stops (auto-search)
    assert tried["variance"].min() < tried.loc[best, "variance"] < tried["variance"].max()
    assert len(tried) >= 3 and a.cv["variance"].iloc[0] == control.starting_variance
    assert not np.array_equal(case_folds(120, control), case_folds(120, Control(fold=5, seed=12)))


def test_grid_cross_validation_keeps_the_best_grid_point(data: pd.DataFrame) -> None:
    control = Control(cv_type="grid", fold=4, grid_steps=4, lower_limit=0.01, upper_limit=10)
    fit = fit_regularized(data, TERMS, Prior("normal", exclude=("exposed",),
                                             use_cross_validation=True), control)
    np.testing.assert_allclose(fit.cv["variance"], np.geomspace(0.01, 10, 4))
    assert fit.variance == fit.cv.loc[fit.cv["mean_loglik"].idxmax(), "variance"]


def test_folds_partition_the_cases() -> None:
    f = case_folds(23, Control(fold=5, cv_repetitions=3, seed=2))
    assert f.shape == (3, 23)
    for row in f:
        assert sorted(np.bincount(row, minlength=5).tolist()) == [4, 4, 5, 5, 5]


def test_aliased_terms_follow_the_library_rule(data: pd.DataFrame) -> None:
    d = data.assign(flat=1.0)
    with pytest.warns(SCCSWarning, match="flat"):
        fit = fit_regularized(d, [*TERMS, "flat"], Prior(variance=0.1))
    assert fit.aliased == ["flat"] and np.isnan(fit.params["flat"])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"prior": Prior(exclude=("nope",))}, "not model terms"),
    ({"prior": Prior(use_cross_validation=True), "control": Control(fold=10)}, "at least 10"),
])
def test_bad_settings_are_clear_errors(kwargs: dict, match: str) -> None:
    small = pd.DataFrame({"id": [1, 1, 2, 2], "x": [0.0, 1, 0, 1], "days": [10.0, 5, 8, 4],
                          "events": [1, 2, 2, 1]})
    with pytest.raises(SCCSError, match=match):
        fit_regularized(small, ["x"], **kwargs)


@pytest.mark.parametrize(("make", "match"), [
    (lambda: Prior("cauchy"), "prior_type"),
    (lambda: Prior(variance=0.0), "variance"),
    (lambda: Control(fold=1), "fold"),
    (lambda: Control(cv_type="random"), "cv_type"),
    (lambda: Control(starting_variance=-1), "starting_variance"),
])
def test_bad_prior_or_control_is_refused(make, match: str) -> None:
    with pytest.raises(SCCSError, match=match):
        make()


def test_no_warning_on_a_regular_fit(data: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SCCSWarning)
        fit_regularized(data, TERMS, Prior(variance=0.1, exclude=("exposed",)))


def test_auto_search_steps() -> None:
    """Cyclops' search rules on scores given in closed form."""
    from analysis.sccs.regularized import _next_variance

    assert _next_variance({0.1: (-5.0, 1.0)}) == (0.01, True)  # first towards more penalty
    assert _next_variance({0.1: (-5.0, 1.0), 0.01: (-6.0, 1.0)}) == pytest.approx((1.0, True))
    left = {0.1: (-5.0, 1.0), 0.01: (-4.0, 1.0), 1.0: (-6.0, 1.0)}
    assert _next_variance(left) == pytest.approx((0.001, True))
    # bracketed: scores -3 - (log v - log 0.3)^2 are a parabola in log v with its top at 0.3
    par = {v: (-3.0 - (math.log(v) - math.log(0.3)) ** 2, 1.0) for v in (0.01, 0.1, 1.0)}
    assert _next_variance(par) == pytest.approx((0.3, True))
    par[0.3] = (-3.0, 1.0)  # the top tried: the predicted gain is 0, stop there
    assert _next_variance(par) == pytest.approx((0.3, False))
    flat = {0.1: (-7.0, 1.0), 0.01: (-7.0, 1.0), 1.0: (-7.0, 1.0)}
    assert _next_variance(flat) == (0.1, False)  # the prior changes nothing: the start


@pytest.mark.parametrize("prior_type", ["laplace", "normal"])
def test_cross_validation_copes_with_a_term_absent_from_a_training_set(prior_type: str) -> None:
    """An unpenalised term that varies in one case only: the training sets without that case
    do not determine it (it is held at 0 there), and the fit still completes."""
    rng = np.random.default_rng(5)
    n = 30
    frame = pd.DataFrame({"id": np.repeat(np.arange(n), 2), "days": 30.0,
                          "x": np.tile([1.0, 0.0], n),
                          "rare": np.r_[1.0, 0.0, np.zeros(2 * n - 2)]})
    frame["events"] = rng.poisson(0.8, 2 * n) + np.tile([1, 0], n)
    frame.loc[[0, 1], "events"] = [2, 1]  # the rare term's case: events in both intervals
    fit = fit_regularized(frame, ["x", "rare"], Prior(prior_type, exclude=("rare",),
                                                      use_cross_validation=True),
                          Control(fold=5))
    assert fit.converged and np.isfinite(fit.cv["mean_loglik"]).all()


def test_profile_interval_reduces_to_the_engine_s_without_the_zeroed_terms(
        data: pd.DataFrame) -> None:
    """With every penalised coefficient held at 0 by the prior, the penalised profile of the
    excluded term is the unpenalised engine's profile on the model without them."""
    from analysis.sccs.profile import profile_loglik

    fit = fit_regularized(data, TERMS, Prior("laplace", variance=1e-12, exclude=("exposed",)))
    alone = SCCS().fit(data, ["exposed"])
    got = fit.profile_conf_int().loc["exposed"]
    ref = alone.conf_int(method="profile").loc["exposed"]
    assert got["lower"] == pytest.approx(ref["lower"], abs=1e-6)
    assert got["upper"] == pytest.approx(ref["upper"], abs=1e-6)
    grid = np.linspace(0.2, 1.4, 5)
    np.testing.assert_allclose(fit.profile("exposed", grid),
                               profile_loglik(alone, "exposed", grid), rtol=0, atol=1e-7)


def test_profile_peaks_at_the_estimate_and_includes_the_fixed_term_s_penalty(
        data: pd.DataFrame) -> None:
    fit = fit_regularized(data, TERMS, Prior("normal", variance=0.2, exclude=("exposed",)),
                          tol=1e-10)
    b = float(fit.params["x1"])
    at = fit.profile("x1", [b - 0.05, b, b + 0.05])
    assert at[1] == pytest.approx(fit.objective, abs=1e-9) and (at[[0, 2]] < at[1]).all()
    with pytest.raises(SCCSError, match="penalised"):
        fit.profile_conf_int(["x1"])
    with pytest.raises(SCCSError, match="not an estimated term"):
        fit.profile("nope", [0.0])


def test_a_single_excluded_name_is_one_term() -> None:
    assert Prior(exclude="exposed").exclude == ("exposed",)
