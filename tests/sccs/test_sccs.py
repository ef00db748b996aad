"""The SCCS engine against hand-worked cases, the fixed-effects Poisson GLM, and bad input.

R's numbers are in ``test_sccs_r.py``; hypothesis properties in ``test_sccs_properties.py``.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.sccs import SCCS, SCCSError, SCCSResults, SCCSWarning, conditional_loglik, dummies

REF_DIR = Path(__file__).resolve().parents[2] / "data" / "external" / "sccs-r"


def fit_quiet(data: pd.DataFrame, terms: list[str], **kw) -> SCCSResults:
    """Fit, failing the test on any SCCSWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SCCSWarning)
        return SCCS().fit(data, terms, **kw)


def simulated(n: int = 60, seed: int = 3) -> pd.DataFrame:
    """Small SCCS data set: per person 3-6 intervals, an exposure and a 'season' covariate."""
    rng = np.random.default_rng(seed)
    k = rng.integers(3, 7, n)
    ids = np.repeat(np.arange(n), k)
    m = len(ids)
    exposed = rng.integers(0, 2, m)
    season = rng.integers(0, 2, m)
    days = rng.integers(5, 120, m).astype(float)
    rate = 0.01 * np.exp(-0.5 * exposed + 0.3 * season + rng.normal(0, 0.5, n)[ids])
    events = rng.poisson(rate * days)
    return pd.DataFrame({"id": ids, "exposed": exposed, "season": season, "days": days,
                         "events": events})


def glm_fixed_effects(data: pd.DataFrame, terms: list[str], cov: str = "nonrobust"):
    """Poisson GLM with one fixed effect per individual and offset log(days) (statsmodels)."""
    import statsmodels.api as sm

    cases = data[data.groupby("id")["events"].transform("sum") > 0]
    fe = pd.get_dummies(cases["id"], prefix="id", dtype=float)
    exog = pd.concat([cases[terms].astype(float), fe], axis=1)
    model = sm.GLM(cases["events"].astype(float), exog, family=sm.families.Poisson(),
                   offset=np.log(cases["days"].astype(float)))
    if cov == "cluster":
        return model.fit(tol=1e-14, maxiter=200, cov_type="cluster",
                         cov_kwds={"groups": pd.factorize(cases["id"])[0],
                                   "use_correction": False})
    return model.fit(tol=1e-14, maxiter=200)


# ---------------------------------------------------------------------------- hand-worked cases


@pytest.mark.parametrize(("d0", "d1", "n0", "n1"), [(100, 30, 4, 3), (365, 42, 1, 1), (7, 7, 5, 2)])
def test_one_individual_two_intervals_closed_form(d0: int, d1: int, n0: int, n1: int) -> None:
    """beta = log((n1/d1)/(n0/d0)), se = sqrt(1/n0 + 1/n1) (binomial split of n0 + n1 events)."""
    data = pd.DataFrame({"id": [1, 1], "x": [0, 1], "days": [d0, d1], "events": [n0, n1]})
    fit = fit_quiet(data, ["x"])
    assert fit.params["x"] == pytest.approx(math.log((n1 / d1) / (n0 / d0)), abs=1e-12)
    assert fit.bse["x"] == pytest.approx(math.sqrt(1 / n0 + 1 / n1), rel=1e-10)
    n = n0 + n1
    # loglik at the MLE: the binomial with p = n1/n, plus sum n_j log d_j - n log(d0 + d1)
    # evaluated at the fitted rates; null: p = d1/(d0+d1)
    ll = n0 * math.log(n0 / n) + n1 * math.log(n1 / n)
    ll_null = n0 * math.log(d0 / (d0 + d1)) + n1 * math.log(d1 / (d0 + d1))
    assert fit.loglik == pytest.approx(ll, abs=1e-12)
    assert fit.loglik_null == pytest.approx(ll_null, abs=1e-12)
    assert (fit.n_cases, fit.n_events, fit.n_intervals) == (1, n, 2)


def toy() -> pd.DataFrame:
    """The 2-person worked example of the reference README (``intervals/toy_intervals.csv``)."""
    d = pd.read_csv(REF_DIR / "intervals" / "toy_intervals.csv")
    return pd.concat([d, dummies(d, "ex", 0), dummies(d, "age", 1)], axis=1)


def toy_loglik_by_hand(b1: float, b2: float, a2: float) -> float:
    """The README's strata written out (ex level 1: b1, level 2: b2; age group 2: a2)."""
    e = math.exp
    den1 = 19 + 5 * e(b1) + 6 * e(b2) + 19 + 51 * e(a2)            # person 1, strata 1 and 2
    s1 = math.log(6 * e(b2) / den1)                                # event day 25: ex 2, age 1
    s2 = math.log(51 * e(a2) / den1)                               # event day 60: age 2
    s3 = math.log(6 * e(b2 + a2) / (35 + 5 * e(b1) + 6 * e(b2 + a2) + 25 * e(a2)))  # README
    return s1 + s2 + s3


def test_toy_loglik_formula() -> None:
    d = toy()
    X = d[["ex1", "ex2", "age2"]].to_numpy(float)
    for beta in [(0.0, 0.0, 0.0), (0.3, -1.2, 0.7), (-2.0, 1.5, -0.4)]:
        want = toy_loglik_by_hand(*beta)
        # one stratum per event (indivL) and aggregated per person (indiv) both give it
        assert conditional_loglik(beta, X, d["interval"], d["event"], d["indivL"]) == \
            pytest.approx(want, abs=1e-12)
        agg = d.groupby(["indiv", "lower", "upper", "interval", "ex1", "ex2", "age2"],
                        as_index=False)["event"].sum()
        assert conditional_loglik(beta, agg[["ex1", "ex2", "age2"]].to_numpy(float),
                                  agg["interval"], agg["event"], agg["indiv"]) == \
            pytest.approx(want, abs=1e-12)


def test_toy_zero_event_level_is_minus_infinity() -> None:
    """In the toy, risk level 1 (ex1) has no events: its MLE is -inf. The other term is
    estimated at that limit: checked against a direct numerical maximisation of the README's
    likelihood with exp(b1) = 0 (and no age term)."""
    from scipy.optimize import minimize_scalar

    d = toy()
    with pytest.warns(SCCSWarning, match="'ex1'.*-inf"):
        fit = SCCS().fit(d, ["ex1", "ex2"], id_col="indivL", events_col="event",
                         days_col="interval")
    assert fit.params["ex1"] == -np.inf
    assert np.isnan(fit.bse["ex1"])
    assert fit.summary.loc["ex1", "irr"] == 0.0
    assert np.isnan(fit.summary.loc["ex1", ["ci_low", "ci_high", "p"]].astype(float)).all()
    assert fit.to_dict()["terms"][0]["log_irr"] is None
    assert "ex1" in fit.boundary_terms
    res = minimize_scalar(lambda b: -toy_loglik_by_hand(-745.0, b, 0.0), bounds=(-5, 5),
                          method="bounded", options={"xatol": 1e-12})
    assert fit.params["ex2"] == pytest.approx(res.x, abs=1e-6)
    assert fit.loglik == pytest.approx(-res.fun, abs=1e-10)
    assert np.isfinite(fit.bse["ex2"])


def test_toy_full_model_is_flagged() -> None:
    """With age as well, 3 events cannot pin down 3 terms: ex1 is -inf and, at that limit, the
    events are separated along ex2 + age2 (each event at its stratum's maximum of ex2 + age2),
    so ex2 and age2 are flagged as probably infinite rather than reported silently."""
    d = toy()
    with pytest.warns(SCCSWarning) as record:
        SCCS().fit(d, ["ex1", "ex2", "age2"], id_col="indivL", events_col="event",
                   days_col="interval")
    messages = " ".join(str(w.message) for w in record)
    assert "'ex1'" in messages and "probably infinite" in messages


# --------------------------------------------------------------- fixed-effects Poisson GLM


def r_itp_mod1_per_person() -> pd.DataFrame:
    d = pd.read_csv(REF_DIR / "intervals" / "standardsccs_itp.mod1.csv.gz")
    d = d.groupby(["indiv", "lower", "upper", "interval", "mmr"], as_index=False)["event"].sum()
    return d.rename(columns={"indiv": "id", "event": "events", "interval": "days"}).assign(
        mmr1=lambda x: (x["mmr"] == 1).astype(int))


@pytest.mark.parametrize(("name", "terms"), [("itp_mod1", ["mmr1"]),
                                             ("simulated", ["exposed", "season"])])
def test_equals_fixed_effects_poisson_glm(name: str, terms: list[str]) -> None:
    data = r_itp_mod1_per_person() if name == "itp_mod1" else simulated()
    ours = fit_quiet(data, terms)
    glm = glm_fixed_effects(data, terms)
    np.testing.assert_allclose(ours.params, glm.params[terms], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.bse, glm.bse[terms], rtol=1e-6)


def test_robust_se_equals_glm_cluster_sandwich() -> None:
    """cov_type='robust' = statsmodels' cluster-robust sandwich of the fixed-effects GLM,
    clustered by individual, without the small-sample correction."""
    data = simulated(80, seed=11)
    ours = SCCS().fit(data, ["exposed", "season"], cov_type="robust")
    glm = glm_fixed_effects(data, ["exposed", "season"], cov="cluster")
    np.testing.assert_allclose(ours.bse, glm.bse[["exposed", "season"]], rtol=1e-6)
    model = SCCS().fit(data, ["exposed", "season"])
    np.testing.assert_allclose(ours.params, model.params, rtol=1e-12)
    assert not np.allclose(ours.bse, model.bse, rtol=1e-3)


def test_statsmodels_conditional_poisson_is_not_a_reference() -> None:
    """PITFALL, do not 'fix' our engine to agree with statsmodels' ConditionalPoisson (0.15).

    ConditionalPoisson drops every group (individual) whose counts do not vary across its
    intervals: here, people with one event in each of their two intervals of unequal length
    (and ones with 0 and 0). Such people *do* carry information in an SCCS (one event in 42
    days and one in 365 days is not the same rate), so dropping them biases the estimate (issue
    3 measured IRR 0.574 instead of 0.616 on a 1,000-case cohort; R and the GLM agree on 0.616).
    Here: ours == fixed-effects GLM; ConditionalPoisson == ours fitted without those people.
    """
    from statsmodels.discrete.conditional_models import ConditionalPoisson

    rng = np.random.default_rng(2024)
    n = 300
    d0, d1 = 300, 60
    n0 = rng.poisson(d0 * 0.004, n)
    n1 = rng.poisson(d1 * 0.004 * 0.6, n)
    n0[:40], n1[:40] = 1, 1          # 40 people with one event in each interval
    data = pd.DataFrame({"id": np.repeat(np.arange(n), 2), "x": np.tile([0, 1], n),
                         "days": np.tile([d0, d1], n), "events": np.c_[n0, n1].ravel()})
    ours = fit_quiet(data, ["x"])
    glm = glm_fixed_effects(data, ["x"])
    assert ours.params["x"] == pytest.approx(glm.params["x"], abs=1e-8)
    from statsmodels.tools.sm_exceptions import ModelWarning

    with pytest.warns(ModelWarning, match="Dropped 124 groups"):   # 40 forced + 84 at random
        cp = ConditionalPoisson(data["events"].to_numpy(), data[["x"]].to_numpy(float),
                                groups=data["id"].to_numpy(),
                                offset=np.log(data["days"].to_numpy(float))).fit()
    assert abs(cp.params[0] - ours.params["x"]) > 0.1     # biased
    varies = data.groupby("id")["events"].transform("nunique") > 1
    dropped = fit_quiet(data[varies], ["x"])
    assert cp.params[0] == pytest.approx(dropped.params["x"], abs=5e-4)   # the mechanism


# ------------------------------------------------------------------------------ diagnostics


def test_all_events_in_level_is_plus_infinity() -> None:
    data = simulated()
    data["rare"] = 0
    # a level covering some days of cases 0-4 and holding every one of their events there
    cases = data.groupby("id")["events"].sum()
    target = cases[cases > 0].index[:5]
    first = data.index[data["id"].isin(target) & (data["events"] > 0)]
    data.loc[first, "rare"] = 1
    data.loc[data["id"].isin(target) & (data["rare"] == 0), "events"] = 0
    with pytest.warns(SCCSWarning, match="'rare'.*\\+inf"):
        fit = SCCS().fit(data, ["exposed", "rare"])
    assert fit.params["rare"] == np.inf
    assert fit.summary.loc["rare", "irr"] == np.inf
    # at the limit, the five people contribute only their 'rare' intervals (all their events)
    # and these carry no information about 'exposed' beyond what the limit leaves
    keep = ~data["id"].isin(target) | (data["rare"] == 1)
    alone = fit_quiet(data[keep], ["exposed"])
    assert fit.params["exposed"] == pytest.approx(alone.params["exposed"], abs=1e-10)


def aliased_fit(data: pd.DataFrame, terms: list[str], match: str) -> SCCSResults:
    """The fit, checking that it warns (``match``) about its aliased terms."""
    with pytest.warns(SCCSWarning, match=match):
        return SCCS().fit(data, terms)


def assert_aliased_as_dropped(data: pd.DataFrame, terms: list[str], aliased: list[str],
                              match: str) -> None:
    """The library's one rule: aliased terms NaN and listed; the others as the fit without
    them (an independent fit of the model R's coxph reduces to)."""
    fit = aliased_fit(data, terms, match)
    assert fit.aliased == aliased
    assert fit.params[aliased].isna().all() and fit.bse[aliased].isna().all()
    assert fit.summary.loc[aliased].isna().all().all()
    kept = [t for t in terms if t not in aliased]
    reduced = fit_quiet(data, kept)
    np.testing.assert_allclose(fit.params[kept], reduced.params, rtol=1e-10)
    np.testing.assert_allclose(fit.bse[kept], reduced.bse, rtol=1e-10)
    assert fit.loglik == pytest.approx(reduced.loglik, abs=1e-9)


def test_no_person_time_among_cases_is_aliased() -> None:
    data = simulated()
    non_case = data.groupby("id")["events"].transform("sum") == 0
    assert non_case.any()
    data["only_non_cases"] = non_case.astype(int)
    assert_aliased_as_dropped(data, ["exposed", "only_non_cases"], ["only_non_cases"],
                              r"only_non_cases.*no person-time among cases.*NaN")
    data["never"] = 0
    fit = aliased_fit(data, ["never"], "never")
    assert fit.aliased == ["never"] and fit.params.isna().all()


def test_term_constant_within_cases_is_aliased() -> None:
    data = simulated()
    data["sex"] = data["id"] % 2
    assert_aliased_as_dropped(data, ["exposed", "sex"], ["sex"],
                              r"\['sex'\] do not vary within any case")


def test_collinear_terms_alias_the_last() -> None:
    data = simulated()
    data["both"] = data["exposed"] + data["season"]
    assert_aliased_as_dropped(data, ["exposed", "season", "both"], ["both"],
                              r"collinear.*'exposed', 'season', 'both'.*\['both'\]")
    # all levels of a factor, no reference: sums to 1 within each case
    data["unexposed"] = 1 - data["exposed"]
    assert_aliased_as_dropped(data, ["exposed", "unexposed"], ["unexposed"],
                              r"collinear.*'exposed', 'unexposed'")


def test_aliased_terms_in_profile_intervals_and_lr_tests() -> None:
    data = simulated()
    data["sex"] = data["id"] % 2
    fit = aliased_fit(data, ["exposed", "season", "sex"], "sex")
    ci = fit.conf_int(method="profile")
    assert ci.loc["sex"].isna().all()
    np.testing.assert_allclose(ci.loc[["exposed", "season"]],
                               fit_quiet(data, ["exposed", "season"]).conf_int(
                                   method="profile"), rtol=1e-8)
    test = fit.lr_test(fit_quiet(data, ["season"]))
    assert test.df == 1  # sex is not estimated: one term dropped, not two
    assert fit.to_dict()["aliased"] == ["sex"]


def test_non_convergence_warns() -> None:
    data = simulated()
    with pytest.warns(SCCSWarning, match="did not converge"):
        fit = SCCS(max_iter=1).fit(data, ["exposed", "season"])
    assert not fit.converged
    assert fit.n_iter == 1
    assert not fit.to_dict()["converged"]


def test_separation_by_a_combination_warns() -> None:
    """Neither term alone has all events at an extreme, but x1 - x2 does: MLE infinite."""
    data = pd.DataFrame({"id": [1, 1, 1, 2, 2, 3, 3], "x1": [1, 0, 0, 0, 1, 1, 0],
                         "x2": [0, 0, 1, 0, 1, 1, 0], "days": [10, 20, 30, 15, 15, 12, 40],
                         "events": [1, 0, 0, 1, 0, 1, 0]})
    with pytest.warns(SCCSWarning, match="probably infinite"):
        SCCS().fit(data, ["x1", "x2"])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.assign(events=0), "no events"),
        (lambda d: d.iloc[:0], "no rows"),
        (lambda d: d.assign(days=d["days"].where(d.index != 3, 0)), r"'days'.*> 0.*row 5 "),
        (lambda d: d.assign(days=d["days"].where(d.index != 0, -2)), r"'days'.*row 2 "),
        (lambda d: d.assign(exposed=d["exposed"].where(d.index != 7, np.nan)),
         r"'exposed'.*missing.*row 9 "),
        (lambda d: d.assign(events=d["events"].where(d.index != 1, -1)), "whole numbers"),
        (lambda d: d.assign(events=d["events"].where(d.index != 1, 0.5)), "whole numbers"),
        (lambda d: d.assign(id=d["id"].where(d.index != 2, None)), "'id'.*missing"),
        (lambda d: d.assign(exposed="yes"), "must be numeric"),
        (lambda d: d.drop(columns="season"), r"missing column.*'season'"),
        (lambda d: d.assign(days=d["days"].where(d.index != 4, np.inf)), "non-finite"),
    ],
)
def test_bad_input_is_a_clear_error(change, match: str) -> None:
    with pytest.raises(SCCSError, match=match):
        SCCS().fit(change(simulated()), ["exposed", "season"])


def test_bad_terms_argument() -> None:
    data = simulated()
    with pytest.raises(SCCSError, match="repeated"):
        SCCS().fit(data, ["exposed", "exposed"])
    with pytest.raises(SCCSError, match="id/events/days"):
        SCCS().fit(data, ["days"])
    with pytest.raises(SCCSError, match="cov_type"):
        SCCS().fit(data, ["exposed"], cov_type="hc3")
    with pytest.raises(SCCSError, match="not been fitted"):
        SCCS().summary  # noqa: B018


# ----------------------------------------------------------------------------- results API


def test_results_api() -> None:
    data = simulated()
    fit = fit_quiet(data, ["exposed", "season"])
    assert fit.converged and 2 <= fit.n_iter <= 10
    assert fit.n_cases == (data.groupby("id")["events"].sum() > 0).sum()
    assert fit.n_events == data["events"].sum()
    ci = fit.conf_int()
    assert list(ci.columns) == ["lower", "upper"]
    z = 1.959963984540054  # qnorm(0.975) in R
    # upper - params recovers z * bse up to the rounding of the sum and the difference: a few
    # ulps of |upper| (not of z * bse, which may be much smaller than the estimate)
    np.testing.assert_allclose(ci["upper"] - fit.params, z * fit.bse, rtol=0,
                               atol=4 * np.finfo(float).eps * ci["upper"].abs().max())
    ci90 = fit.conf_int(alpha=0.10)
    np.testing.assert_allclose(ci90["upper"] - fit.params, 1.6448536269514722 * fit.bse)
    s = fit.summary
    assert list(s.columns) == ["irr", "ci_low", "ci_high", "p", "log_irr", "se", "z"]
    np.testing.assert_allclose(s["irr"], np.exp(fit.params))
    np.testing.assert_allclose(s["ci_low"], np.exp(ci["lower"]))
    from scipy.stats import norm
    np.testing.assert_allclose(s["p"], 2 * norm.sf(np.abs(fit.params / fit.bse)))
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov_params())), fit.bse)
    out = fit.to_dict()
    json.dumps(out, allow_nan=False)
    assert [t["term"] for t in out["terms"]] == ["exposed", "season"]
    assert set(out) >= {"n_cases", "n_events", "loglik", "terms"}
    assert "SCCSResults(terms=" in repr(fit)


def test_compressed_and_plain_paths_agree() -> None:
    """The fit merges a case's rows with equal integer covariates (exact); with a non-integer
    copy of the terms it cannot, and must give the same answer (coefficients scaled by 2)."""
    from analysis.sccs import _kernels

    data = simulated(100, seed=5)
    half = data.assign(exposed=data["exposed"] / 2, season=data["season"] / 2)
    grp = pd.factorize(data["id"])[0]
    assert _kernels.compress(data[["exposed"]].to_numpy(float), data["events"].to_numpy(float),
                            data["days"].to_numpy(float), grp, grp.max() + 1) is not None
    assert _kernels.compress(half[["exposed"]].to_numpy(float), half["events"].to_numpy(float),
                            half["days"].to_numpy(float), grp, grp.max() + 1) is None
    a = fit_quiet(data, ["exposed", "season"])
    b = fit_quiet(half, ["exposed", "season"])
    np.testing.assert_allclose(a.params * 2, b.params, rtol=1e-10)
    np.testing.assert_allclose(a.bse * 2, b.bse, rtol=1e-10)
    assert a.loglik == pytest.approx(b.loglik, abs=1e-9)
    assert a.loglik_null == pytest.approx(b.loglik_null, abs=1e-9)
    n_case_rows = (data.groupby("id")["events"].transform("sum") > 0).sum()
    assert a.n_intervals == b.n_intervals == n_case_rows


def test_lr_test_and_nesting_checks() -> None:
    data = simulated()
    full = fit_quiet(data, ["exposed", "season"])
    restricted = fit_quiet(data, ["season"])
    res = full.lr_test(restricted)
    assert res.df == 1
    assert res.statistic == pytest.approx(2 * (full.loglik - restricted.loglik), abs=1e-9)
    from scipy.stats import chi2
    assert res.p == pytest.approx(chi2.sf(res.statistic, 1))
    empty = fit_quiet(data, [])
    assert empty.loglik == pytest.approx(empty.loglik_null)
    assert full.lr_test(empty).df == 2
    with pytest.raises(SCCSError, match="not in this model"):
        restricted.lr_test(full)
    with pytest.raises(SCCSError, match="fewer estimated"):
        full.lr_test(full)
    with pytest.raises(SCCSError, match="not in this model"):
        fit_quiet(data, ["exposed"]).lr_test(restricted)
    a_case = data.loc[data["events"] > 0, "id"].iloc[0]
    other = fit_quiet(data[data["id"] != a_case], ["season"])
    with pytest.raises(SCCSError, match="different data"):
        full.lr_test(other)
    shuffled = fit_quiet(data.sample(frac=1, random_state=3), ["season"])
    assert full.lr_test(shuffled).statistic == pytest.approx(res.statistic, abs=1e-9)
    as_text = fit_quiet(data.assign(id="p" + data["id"].astype(str)), ["exposed", "season"])
    with pytest.raises(SCCSError, match="different data"):
        as_text.lr_test(restricted)
    shifted = fit_quiet(data.assign(days=data["days"] + 1), ["season"])
    with pytest.raises(SCCSError, match="different data"):
        full.lr_test(shifted)


def test_dummies() -> None:
    d = pd.DataFrame({"age": [1, 2, 3, 10, 2], "ex": [0, 0, 1, 2, 0]}, index=[5, 6, 7, 8, 9])
    out = dummies(d, "age", 1)
    assert list(out.columns) == ["age2", "age3", "age10"]       # numeric order, R's names
    assert out.index.equals(d.index)
    assert out["age2"].tolist() == [0, 1, 0, 0, 1]
    assert list(dummies(d, "ex", 0, prefix="on", sep="_").columns) == ["on_1", "on_2"]
    assert list(dummies(d, "age", 10).columns) == ["age1", "age2", "age3"]
    with pytest.raises(SCCSError, match="reference level 4"):
        dummies(d, "age", 4)
    with pytest.raises(SCCSError, match="no column"):
        dummies(d, "sex", 1)
    with pytest.raises(SCCSError, match="missing values"):
        dummies(d.assign(age=[1, None, 3, 10, 2]), "age", 1)
