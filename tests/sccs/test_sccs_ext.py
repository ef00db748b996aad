"""The SCCS extensions against R SCCS 1.7 and against independent computations.

R's numbers are hard-coded below from ``data/external/sccs-r-ext/reference.json`` (key and R call
given with each; provenance in ``data/external/sccs-r-ext/PROVENANCE.md``); the datasets are
read from ``data/external/sccs-r*/data``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import DATA_DIR
from analysis.sccs import SCCS
from analysis.sccs.intervals import AgeGroups, EventWindow, Exposure, build_intervals
from analysis.sccs.power import PowerError, power_of, sample_size
from analysis.sccs.semiparametric import fit_semiparametric

R1 = DATA_DIR / "external" / "sccs-r" / "data"
R2 = DATA_DIR / "external" / "sccs-r-ext" / "data"


# --------------------------------------------------------------------------------------------
# Semiparametric SCCS
# --------------------------------------------------------------------------------------------

#: reference.json "semisccs_itp.mod1": semisccs(event~mmr, indiv=case, astart=sta, aend=end,
#: aevent=itp, adrug=mmr, aedrug=mmr+42, expogrp=c(0,15,29), data=itpdat); first 3 terms and a
#: few age steps (coef, se).
SEMI1 = {
    "mmr1": (0.379797465093527, 0.769139913988062),
    "mmr2": (1.69487853485902, 0.469260030581593),
    "mmr3": (0.714684734092894, 0.663453279966368),
    "factor(age)381": (-0.0899902325984854, 1.4171061153739),
    "factor(age)419": (0.463222403231112, 1.23757968582261),
    "factor(age)722": (0.0133390953611696, 1.41705011566232),
}
SEMI1_N_TERMS = 45
#: reference.json "semisccs_itp.mod2": semisccs(event~factor(sex)*mmr, ..., data=itpdat)
#: (same arguments): factor(sex)2 is NA (aliased); the others (coef, se).
SEMI2 = {
    "mmr1": (0.105573874401671, 1.06359626885444),
    "mmr2": (1.41977676986614, 0.612785789721113),
    "mmr3": (0.846355104404029, 0.799318978821697),
    "factor(age)381": (-0.0823560601618862, 1.41683837863548),
    "factor(age)722": (0.0706348054050696, 1.42425585540721),
    "factor(sex)2:mmr1": (0.696524281096876, 1.54012582736599),
    "factor(sex)2:mmr2": (0.690444520781333, 0.934297505211814),
    "factor(sex)2:mmr3": (-0.327015320964158, 1.37663320073346),
}


def _itp() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """itpdat as (observation, events, intervals with mmr, sex and interaction dummies)."""
    d = pd.read_csv(R1 / "itpdat.csv")
    obs = d[["case", "sta", "end"]].drop_duplicates().set_axis(["id", "start", "end"], axis=1)
    ev = d[["case", "itp"]].set_axis(["id", "day"], axis=1)
    mmr = d[["case", "mmr"]].drop_duplicates().set_axis(["id", "day"], axis=1)
    ex = Exposure.from_r("mmr", mmr, expogrp=(0, 15, 29), end_offset=42)
    iv = build_intervals(obs, ev, [ex])
    sex2 = (iv["id"].map(d.groupby("case")["sex"].first()) == 2).astype(float)
    iv["factor(sex)2"] = sex2
    for lev in (1, 2, 3):
        iv[f"mmr{lev}"] = (iv["mmr"] == lev).astype(float)
        iv[f"factor(sex)2:mmr{lev}"] = sex2 * iv[f"mmr{lev}"]
    return obs, ev, iv


def test_semisccs_itp_mod1_equals_r() -> None:
    _, ev, iv = _itp()
    fit = fit_semiparametric(iv, ev, ["mmr1", "mmr2", "mmr3"], age_prefix="factor(age)",
                             unique_days=True)
    assert fit.converged and len(fit.params) == SEMI1_N_TERMS
    for term, (coef, se) in SEMI1.items():
        assert fit.params[term] == pytest.approx(coef, rel=1e-6, abs=1e-9)
        assert fit.bse[term] == pytest.approx(se, rel=1e-6)
    s = fit.summary.loc["mmr2"]
    assert s["irr"] == pytest.approx(5.44598442777046, rel=1e-6)


def test_semisccs_itp_mod2_aliased_sex_is_nan_not_an_error() -> None:
    _, ev, iv = _itp()
    terms = ["factor(sex)2", "mmr1", "mmr2", "mmr3",
             "factor(sex)2:mmr1", "factor(sex)2:mmr2", "factor(sex)2:mmr3"]
    fit = fit_semiparametric(iv, ev, terms, age_prefix="factor(age)", unique_days=True)
    assert fit.aliased == ["factor(sex)2"]
    assert np.isnan(fit.params["factor(sex)2"]) and np.isnan(fit.summary.loc["factor(sex)2", "p"])
    for term, (coef, se) in SEMI2.items():
        assert fit.params[term] == pytest.approx(coef, rel=1e-6, abs=1e-9)
        assert fit.bse[term] == pytest.approx(se, rel=1e-6)


def test_semiparametric_equals_conditional_poisson_with_explicit_age_dummies() -> None:
    """Independent check: age groups cut by build_intervals at every event age t and t + 1,
    one explicit dummy per one-day event-age group, fitted by the standard SCCS engine on the
    one-day rows (the other groups hold no events: their maximum likelihood weight is 0)."""
    obs, ev, _ = _itp()
    ev = ev.drop_duplicates()
    ages = np.unique(ev["day"])
    cuts = tuple(sorted(set(ages) | set(ages + 1)))
    mmr = pd.read_csv(R1 / "itpdat.csv")[["case", "mmr"]].drop_duplicates()
    ex = Exposure.from_r("mmr", mmr.set_axis(["id", "day"], axis=1), expogrp=(0, 15, 29),
                         end_offset=42)
    iv = build_intervals(obs, ev, [ex], [AgeGroups(cuts)])
    one_day = iv[(iv["days"] == 1) & iv["start"].isin(ages)].copy()
    for lev in (1, 2, 3):
        one_day[f"mmr{lev}"] = (one_day["mmr"] == lev).astype(float)
    age_terms = []
    for a in ages[1:]:
        one_day[f"a{a}"] = (one_day["start"] == a).astype(float)
        age_terms.append(f"a{a}")
    ref = SCCS().fit(one_day, ["mmr1", "mmr2", "mmr3", *age_terms])
    _, _, iv2 = _itp()
    ours = fit_semiparametric(iv2, ev, ["mmr1", "mmr2", "mmr3"], age_prefix="a")
    np.testing.assert_allclose(ours.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8,
                               atol=1e-10)
    np.testing.assert_allclose(ours.bse.to_numpy(), ref.bse.to_numpy(), rtol=1e-8)
    assert ours.loglik == pytest.approx(ref.loglik, abs=1e-8)


def test_semiparametric_age_origin_shifts_ages_not_estimates() -> None:
    _, ev, iv = _itp()
    origin = pd.DataFrame({"id": iv["id"].unique(), "day": 1000})
    shifted = iv.assign(start=iv["start"] + 1000, end=iv["end"] + 1000)
    a = fit_semiparametric(iv, ev, ["mmr1", "mmr2", "mmr3"])
    b = fit_semiparametric(shifted, ev.assign(day=ev["day"] + 1000), ["mmr1", "mmr2", "mmr3"],
                           age_origin=origin)
    assert list(a.params.index) == list(b.params.index)
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Sample size
# --------------------------------------------------------------------------------------------

#: reference.json samplesize_ss1..ss4 (R calls in the comments).
SAMPLESIZE = [
    # samplesize(eexpo=2.5, risk=21, astart=366, aend=730, p=1, alpha=0.05, power=0.8)
    (dict(p_exposed=1.0), 110),
    # samplesize(eexpo=2.5, risk=21, astart=366, aend=730, p=0.75, alpha=0.05, power=0.8)
    (dict(p_exposed=0.75), 143),
    # samplesize(..., p=c(0.50,0.35,0.1,0.05), eage=c(1.2,1.6,2.0), agegrp=c(457,548,639))
    (dict(p_exposed=[0.5, 0.35, 0.1, 0.05], age_ri=[1.2, 1.6, 2.0], age_cuts=[457, 548, 639]),
     132),
    # samplesize(..., p=0.75*c(0.50,0.35,0.1,0.05), eage=c(1.2,1.6,2.0), agegrp=c(457,548,639))
    (dict(p_exposed=[0.375, 0.2625, 0.075, 0.0375], age_ri=[1.2, 1.6, 2.0],
          age_cuts=[457, 548, 639]), 172),
]


@pytest.mark.parametrize(("kw", "expected"), SAMPLESIZE)
def test_samplesize_equals_r(kw: dict, expected: int) -> None:
    assert sample_size(2.5, 21, 366, 730, alpha=0.05, power=0.8, **kw) == expected


@pytest.mark.parametrize(("kw", "expected"), SAMPLESIZE)
def test_power_of_r_sample_size_brackets_the_target(kw: dict, expected: int) -> None:
    """Power is increasing in n and crosses 0.8 between n - 1 and n (unrounded quantiles can
    move the crossing by one case, hence the small slack)."""
    assert power_of(expected - 2, 2.5, 21, 366, 730, **kw) < 0.8
    assert power_of(expected + 1, 2.5, 21, 366, 730, **kw) > 0.8


def test_sample_size_closed_form_single_group() -> None:
    """One age group, everyone exposed: r = e / (aend - astart + 1), pi = r rho / (r rho + 1 - r),
    A = 2 (pi log rho - log(r rho + 1 - r)), B = log(rho)^2 pi (1 - pi) / A (Musonda 2006)."""
    rho, e, days = 3.0, 30, 400
    r = e / days
    q = r * rho + 1 - r
    pi = r * rho / q
    A = 2 * (pi * np.log(rho) - np.log(q))
    B = np.log(rho) ** 2 * pi * (1 - pi) / A
    n = (1.959963984540054 + 0.8416212335729143 * np.sqrt(B)) ** 2 / A
    assert sample_size(rho, e, 1, days, 1.0, z_digits=None) == int(np.ceil(n))


def test_sample_size_rejects_inconsistent_design() -> None:
    with pytest.raises(PowerError, match="age group"):
        sample_size(2.5, 21, 366, 730, [0.5, 0.5])
    with pytest.raises(PowerError, match="shorter"):
        sample_size(2.5, 400, 366, 730, 1.0)


# --------------------------------------------------------------------------------------------
# Event-dependent observation periods
# --------------------------------------------------------------------------------------------

from scipy import integrate, optimize, stats  # noqa: E402

from analysis.sccs.eventdep_observation import (  # noqa: E402
    CENSORING_MODELS,
    EventDepObservationError,
    censoring_loglik,
    fit_censoring_models,
    fit_eventdep_observation,
    interval_weights,
)

#: reference.json "eventdepenobs_nrt.mod": eventdepenobs(event~nrt, indiv=case, astart=nrt,
#: aend=act, aevent=mi, adrug=nrt, aedrug=nrt+28, censor=cen, expogrp=c(0,8,15,22),
#: agegrp=NULL, data=nrtdat): coefficients, SEs and modelfit (Loglik, AIC of EWA EWI EGA EGI).
NRT_COEF = [0.656272354897114, 0.696402045920452, 0.218297589649945, 0.294884883532455]
NRT_SE = [0.47042294975961, 0.486745721845615, 0.605684819265262, 0.59397036287938]
NRT_LOGLIK = [-28.578688349272, -25.4095621265355, -28.5914089851811, -25.6486250415949]
NRT_AIC = [65.157376698544, 58.8191242530711, 65.1828179703621, 59.2972500831897]


def _nrt(**kw):
    d = pd.read_csv(R2 / "nrtdat.csv")
    obs = d[["case", "nrt", "act", "cen"]].set_axis(["id", "start", "end", "censored"], axis=1)
    ev = d[["case", "mi"]].set_axis(["id", "day"], axis=1)
    ex = Exposure.from_r("nrt", d[["case", "nrt"]].set_axis(["id", "day"], axis=1),
                         expogrp=(0, 8, 15, 22), end_offset=28)
    return fit_eventdep_observation(obs, ev, [ex], **kw), d


@pytest.fixture(scope="module")
def nrt_r():
    return _nrt(integrate_from="start")


#: Relative tolerance on a censoring-model log-likelihood against R's: R's nlm stops when its
#: scaled gradient is below 1e-6 (default gradtol), so R's own value is not defined beyond
#: about 1e-9 relative (|loglik| ~ 25: a few 1e-8); ours must not be below R's by more.
LOGLIK_RTOL = 1e-9


def _r_optimum(fit, model: str) -> np.ndarray:
    """The end point, among our starts', whose log-likelihood is R's (R's local optimum)."""
    r = NRT_LOGLIK[list(CENSORING_MODELS).index(model)]
    c = fit.censoring[model]
    label = min(c.starts, key=lambda k: abs(c.starts[k] - r))
    assert c.starts[label] == pytest.approx(r, rel=1e-8)
    return c.ends[label]


def test_eventdepenobs_nrt_equals_r_at_r_optimum(nrt_r) -> None:
    """R integrates each interval's weight from its first day (integrate_from="start").
    Our multistart finds a higher EWI optimum than R's nlm (-24.732 against -25.410), so the
    default weights differ from R's; at R's own EWI optimum (reached from two of our starts)
    the weighted fit gives R's numbers. Measured: coefficients within 3e-7 relative, SEs
    within 2e-8 (README: 1e-3)."""
    fit, _ = nrt_r
    assert fit.chosen == "EWI"  # R's choice too
    at_r, _ = _nrt(integrate_from="start", censoring=("EWI", _r_optimum(fit, "EWI")))
    np.testing.assert_allclose(at_r.params.to_numpy(), NRT_COEF, rtol=1e-5)
    np.testing.assert_allclose(at_r.bse.to_numpy(), NRT_SE, rtol=1e-5)
    assert list(at_r.summary.index) == ["nrt1", "nrt2", "nrt3", "nrt4"]
    # the default (higher optimum) moves the coefficients, and says which start won
    assert fit.censoring["EWI"].loglik > NRT_LOGLIK[1] + 0.5
    assert not np.allclose(fit.params.to_numpy(), NRT_COEF, rtol=1e-3)


def test_eventdepenobs_censoring_models_at_least_as_good_as_r_nlm(nrt_r) -> None:
    """Every censoring model at least at R's nlm optimum (LOGLIK_RTOL), with the winning start
    recorded. Measured, ours - R: EWA +5e-11 (the same optimum), EWI +0.677, EGA +2.354,
    EGI +0.433 (R's nlm from initval stops at worse local optima)."""
    fit, _ = nrt_r
    assert list(fit.modelfit.columns) == list(CENSORING_MODELS)
    assert list(fit.modelfit.index) == ["Loglik", "AIC"]
    ours = fit.modelfit.loc["Loglik"].to_numpy()
    r = np.array(NRT_LOGLIK)
    assert np.all(ours >= r - LOGLIK_RTOL * np.abs(r))
    np.testing.assert_allclose(fit.modelfit.loc["AIC"].to_numpy(), 8 - 2 * ours, rtol=1e-12)
    for m in CENSORING_MODELS:
        c = fit.censoring[m]
        assert c.starts[c.start] == c.loglik == max(c.starts.values())
        # not a convergence test on a plateau (EWA's optimum is at infinity; measured 3.7e-6,
        # and 2.0e-4 with OPENBLAS_CORETYPE=Haswell, at the same log-likelihood to 1e-10):
        # a start stopped away from any optimum has a gradient of order 1
        assert c.max_abs_gradient < 1e-2


def _censoring_sim(seed: int, n: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event ages and end-of-observation ages (years, whole days as R reads them) and
    ``present``: 60-80-year-olds observed 1-4 years, the event uniform in the planned period;
    half of them can die after it (a mixture of a fast exponential and a Weibull delay)."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(60, 80, n)
    planned = a + rng.uniform(1, 4, n)
    t = a + rng.uniform(0, 1, n) * (planned - a)
    early = rng.random(n) < 0.5
    death = t + np.where(rng.random(n) < 0.5, rng.exponential(0.05, n), rng.weibull(1.5, n) * 2)
    cen = early & (death < planned)
    td, ed = np.floor(t * 365.25), np.floor(np.where(cen, death, planned) * 365.25)
    ed = np.where(ed == td, ed + 1, ed)  # R: an end on the event day gains a day
    return td / 365.25, ed / 365.25, (1 - cen).astype(int)


def _scipy_fit(model: str, t, c, d, x0) -> float:
    """An independent local optimiser (scipy's Nelder-Mead, then BFGS) from ``x0``."""
    def nll(p):
        v = -censoring_loglik(model, p, t, c, d)
        return v if np.isfinite(v) else 1e300
    with np.errstate(all="ignore"):
        r = optimize.minimize(nll, x0, method="Nelder-Mead",
                              options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-10})
        r = optimize.minimize(nll, r.x, method="BFGS")
    return -float(r.fun)


@pytest.mark.parametrize("seed", [3, 6, pytest.param(8, marks=pytest.mark.xfail(
    strict=True, reason="known limit, measured: one of scipy's fits from a random start "
    "reaches -53.29331 where the multistart stops at -53.29519 (a start set, not a global "
    "search)"))])
def test_censoring_multistart_beats_a_local_fit_from_initval_and_random_starts(seed) -> None:
    """Simulated data on which a local optimiser from R's initval (0.1 x 4) stops at a worse
    EWA optimum (measured: the former two-start BFGS was 0.37, 0.66, 0.35 below the
    multistart for seeds 3, 6, 8). The multistart must reach at least the best of scipy's
    optimisers from initval and from 12 seeded random starts, to 1e-6 relative (the optimum
    lies at infinity along a ridge: log mu -> -inf, nu -> 0; neither method reaches the
    supremum, and ours stops when an iteration gains < 1e-10 relative)."""
    t, c, d = _censoring_sim(seed)
    fit = fit_censoring_models(t, c, d, np.array([0, len(t)]))
    rng = np.random.default_rng(seed)
    starts = [np.full(4, 0.1)] + [rng.normal([0, 0, 0, 0], [2, 2, 2, 1]) for _ in range(12)]
    for m in ("EWA", "EWI"):
        ref = [_scipy_fit(m, t, c, d, x0) for x0 in starts]
        ours = fit[m][0].loglik
        assert ours >= max(ref) - 1e-6 * abs(ours)
    assert fit["EWA"][0].loglik > _scipy_fit("EWA", t, c, d, starts[0]) + 0.1


def test_censoring_fits_of_many_data_sets_equal_each_alone() -> None:
    """Data sets fitted together give exactly (bit for bit) what each gives alone."""
    sets = [_censoring_sim(s, n) for s, n in ((1, 60), (2, 90), (6, 40))]
    t, c, d = (np.concatenate([x[i] for x in sets]) for i in range(3))
    offsets = np.r_[0, np.cumsum([len(x[0]) for x in sets])]
    many = fit_censoring_models(t, c, d, offsets)
    for k, (tk, ck, dk) in enumerate(sets):
        one = fit_censoring_models(tk, ck, dk, np.array([0, len(tk)]))
        for m in CENSORING_MODELS:
            assert many[m][k].loglik == one[m][0].loglik
            assert np.array_equal(many[m][k].params, one[m][0].params)
            assert many[m][k].start == one[m][0].start


def _direct(model: str, p: np.ndarray, end: float, present: int):
    """The censoring likelihood given an event at t, as a function of t, written with
    scipy.stats distributions."""
    rho, mu, pi, nu = np.exp(p[0]), np.exp(p[1]), 1 / (1 + np.exp(-p[2])), np.exp(p[3])
    expo = stats.expon(scale=rho)
    dist = stats.weibull_min(nu, scale=mu) if model[1] == "W" else stats.gamma(nu, scale=mu / nu)
    e_end = (lambda s: expo.sf(s)) if present else (lambda s: expo.pdf(s))
    g_end = dist.sf if present else dist.pdf
    if model[2] == "I":
        return lambda t: pi * e_end(end - t) + (1 - pi) * g_end(end - t)
    at_end = g_end(end)
    return lambda t: pi * e_end(end - t) + (1 - pi) * at_end / dist.sf(t)


@pytest.mark.parametrize("model", CENSORING_MODELS)
@pytest.mark.parametrize("p", [(0.5, 0.0, 0.3, -0.2), (-1.0, 0.5, -0.4, 0.6)])
def test_interval_weights_equal_numerical_integrals(model: str, p: tuple) -> None:
    """Closed forms (EWI, EGI) and Gauss-Legendre (EWA, EGA) against scipy's adaptive quad of
    the likelihood written independently with scipy.stats."""
    p = np.array(p)
    end = 3.0
    lower = np.array([1.0, 1.5, 2.0, 2.9, 2.99])
    upper = np.array([1.5, 2.0, 2.9, 2.99, 3.0])
    for present in (0, 1):
        w = interval_weights(model, p, lower, upper, np.full(5, end), np.full(5, present))
        f = _direct(model, p, end, present)
        ref = [integrate.quad(f, a, b, epsabs=0, epsrel=1e-11, limit=200)[0]
               for a, b in zip(lower, upper, strict=True)]
        np.testing.assert_allclose(w, ref, rtol=1e-8)


@pytest.mark.parametrize("model", CENSORING_MODELS)
def test_censoring_loglik_equals_scipy_stats(model: str) -> None:
    p = np.array([0.2, 1.1, 0.4, 0.3])
    t = np.array([50.1, 60.2, 70.3, 55.0])
    c = np.array([50.9, 61.0, 70.35, 58.0])
    present = np.array([0, 1, 0, 1])
    direct = sum(np.log(_direct(model, p, ci, di)(ti))
                 for ti, ci, di in zip(t, c, present, strict=True))
    assert censoring_loglik(model, p, t, c, present) == pytest.approx(direct, rel=1e-10)


def test_eventdepenobs_default_integrates_whole_days(nrt_r) -> None:
    """integrate_from="cut" integrates over all the days of an interval: its weights are
    larger than R's by the integral over the one day R leaves out, and the weights of one
    individual add up to the integral over the whole observation period."""
    fit, d = nrt_r
    cut, _ = _nrt()
    assert (cut.intervals["weight"] > fit.intervals["weight"]).all()
    iv = cut.intervals
    p = cut.censoring["EWI"].params
    one = iv[iv["id"] == 1]
    end = float(one["end"].max()) / 365.25
    total = interval_weights("EWI", p, np.array([(one["start"].min() - 1) / 365.25]),
                             np.array([end]), np.array([end]), np.array([1 - d["cen"][0]]))
    assert one["weight"].sum() == pytest.approx(float(total[0]), rel=1e-10)


def test_eventdepenobs_rejects_bad_censor_column() -> None:
    obs = pd.DataFrame({"id": [1], "start": [1], "end": [10], "censored": [2]})
    with pytest.raises(EventDepObservationError, match="row 2, column 'censored'"):
        fit_eventdep_observation(obs, pd.DataFrame({"id": [1], "day": [5]}))


# --------------------------------------------------------------------------------------------
# Event-dependent exposures
# --------------------------------------------------------------------------------------------

from analysis.sccs.eventdep_exposure import EventDepExposureError, fit_eventdep_exposure  # noqa: E402

#: reference.json "eventdepenexp_rot.mod1": eventdepenexp(indiv=case, astart=sta, aend=end,
#: aevent=intus, adrug=cbind(rv,rvd2), expogrp=1, aedrug=cbind(rv+21,rvd2+21),
#: agegrp=seq(56,168,14), dataformat='multi', data=rotdat)
ROT1_TERMS = ["rv1"] + [f"age{k}" for k in range(2, 11)]
ROT1_COEF = [1.28132634704235, 0.233111735889362, 0.519880372318982, 1.12003859651218,
             1.12880748151004, 1.63352466477775, 1.49530297333968, 1.62406516286371,
             1.76513063904097, 1.49533546805441]
ROT1_SE = [0.253859763544908, 0.333616025768508, 0.320850156916034, 0.297345607862396,
           0.296899346407034, 0.287505503253778, 0.28841616041133, 0.288624821539306,
           0.284769821048594, 0.284663394941983]
#: reference.json "eventdepenexp_rot.mod2": the same with expogrp=c(1,8)
ROT2_TERMS = ["rv1", "rv2"] + [f"age{k}" for k in range(2, 11)]
ROT2_COEF = [1.84341970787885, 0.918140503166046, 0.118173707111218, 0.559977748005697,
             1.07836147004892, 1.1720653744878, 1.64850034102988, 1.50597021283311,
             1.6282157717105, 1.77111247437454, 1.49753489725706]
ROT2_SE = [0.303471089124547, 0.299658796406398, 0.332508209755052, 0.319368269112715,
           0.298846484387278, 0.296144690216241, 0.28752925706135, 0.288436164024454,
           0.288445101759766, 0.284705065900275, 0.284575387831908]
ROT_AGE = AgeGroups(tuple(range(56, 169, 14)))


def _rot() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    d = pd.read_csv(R2 / "rotdat.csv")
    obs = d[["case", "sta", "end"]].set_axis(["id", "start", "end"], axis=1)
    ev = d[["case", "intus"]].set_axis(["id", "day"], axis=1)
    doses = pd.concat([pd.DataFrame({"id": d["case"], "day": d["rv"], "dose": 1}),
                       pd.DataFrame({"id": d["case"], "day": d["rvd2"], "dose": 2})],
                      ignore_index=True)
    return obs, ev, doses


@pytest.mark.parametrize(("windows", "terms", "coef", "se"), [
    (((1, 21),), ROT1_TERMS, ROT1_COEF, ROT1_SE),
    (((1, 7), (8, 21)), ROT2_TERMS, ROT2_COEF, ROT2_SE),
])
def test_eventdepenexp_rot_equals_r(windows, terms, coef, se) -> None:
    """R's expogrp=1 (or c(1,8)) with aedrug=rv+21 are the windows days 1-21 (1-7, 8-21).
    Measured: coefficients within 4.6e-8 relative, SEs within 1.6e-8 (R stops its fixed-point
    iteration when the coefficients change by < 1e-8)."""
    obs, ev, doses = _rot()
    fit = fit_eventdep_exposure(obs, ev, doses, windows=windows, covariates=[ROT_AGE],
                                name="rv")
    assert fit.converged and list(fit.params.index) == terms
    np.testing.assert_allclose(fit.params.to_numpy(), coef, rtol=1e-6)
    np.testing.assert_allclose(fit.bse.to_numpy(), se, rtol=1e-6)
    assert fit.n_strata == [566, 79, 49]


@pytest.mark.parametrize("same", [True, False])
def test_eventdepenexp_solves_the_weighted_poisson_score_equations(same: bool) -> None:
    """Independent check of the estimating equations: the strata are stacked by hand here
    (per case, from the paper's rules), the events weighted with the estimate, and the score
    of the Poisson model with a fixed effect per stratum and log(days) offset, with the
    stratum effects profiled out (sum_s sum_r (w_r - n_s p_r) z_r, written with pandas), is 0
    at the estimate: it is the fixed point of R's reweighted Poisson fits. ``same=False`` gives
    each dose its own risk parameter (R's sameexpopar=FALSE)."""
    obs, ev, doses = _rot()
    fit = fit_eventdep_exposure(obs, ev, doses, windows=((1, 21),), covariates=[ROT_AGE],
                                name="rv", same_params=same)
    b = fit.params
    beta = {1: b["rv1"], 2: b["rv1"] if same else b["rv2"]}  # dose -> its risk parameter
    first = ev.groupby("id")["day"].min()
    kept = doses[doses["day"] <= doses["id"].map(first)]
    iv = build_intervals(obs, ev, [Exposure("rv", kept, ((0, 0), (1, 21)), dose_levels=True)],
                         [ROT_AGE])
    parts = []
    for cid, g in iv.groupby("id", sort=False):
        lev = g["rv"].to_numpy()
        event_lev = int(lev[g["events"].to_numpy() > 0][0])
        risk = {2: 1, 4: 2}  # level -> dose of a risk window
        if lev[0] == 0:  # stratum 0
            w = np.exp(-beta[risk[event_lev]]) if event_lev in risk else 1.0
            parts.append(g.assign(s=f"{cid}.0", x1=0.0, x2=0.0, w=g["events"] * w))
        for d in (1, 2):
            mine = np.flatnonzero((lev == 2 * d - 1) | (lev == 2 * d))
            if len(mine) == 0:
                continue
            h = g.iloc[mine[0]:]
            later = event_lev in risk and risk[event_lev] > d
            w = np.exp(-beta[risk[event_lev]]) if later else 1.0
            on = (h["rv"] == 2 * d).astype(float)
            parts.append(h.assign(s=f"{cid}.{d}", x1=on if (same or d == 1) else 0.0,
                                  x2=on if (not same and d == 2) else 0.0, w=h["events"] * w))
    st = pd.concat(parts, ignore_index=True)
    xcols = ["x1"] if same else ["x1", "x2"]
    Z = pd.concat([st[xcols], pd.get_dummies(st["age"], prefix="age", dtype=float)
                   .drop(columns="age_1")], axis=1).to_numpy()
    rate = st["days"].to_numpy(float) * np.exp(Z @ b.to_numpy())
    p = rate / pd.Series(rate).groupby(st["s"]).transform("sum").to_numpy()
    n = st.groupby("s")["w"].transform("sum").to_numpy()
    score = Z.T @ (st["w"].to_numpy() - n * p)
    assert len(st) > 5000 and st["s"].nunique() == 694
    np.testing.assert_allclose(score, 0.0, atol=1e-7)
    # and not 0 away from the estimate (the check can fail)
    rate2 = rate * np.exp(0.01 * Z[:, 0])
    p2 = rate2 / pd.Series(rate2).groupby(st["s"]).transform("sum").to_numpy()
    assert abs((Z.T @ (st["w"].to_numpy() - n * p2))[0]) > 1e-2


def test_eventdepenexp_rejects_pre_exposure_window() -> None:
    obs, ev, doses = _rot()
    with pytest.raises(EventDepExposureError, match="pre-exposure"):
        fit_eventdep_exposure(obs, ev, doses, windows=((-7, -1), (0, 21)))


def test_eventdepenexp_infinite_estimate_is_a_clear_error_not_a_traceback() -> None:
    """Every exposed case has its event in the risk window (and the one unexposed case's event
    is outside it): the relative incidence has no finite estimate. Newton's method used to end
    in numpy's LinAlgError; it must be the library's error, saying why."""
    obs = pd.DataFrame({"id": range(1, 7), "start": 1, "end": 100})
    ev = pd.DataFrame({"id": range(1, 7), "day": [15, 40, 70, 12, 90, 55]})
    doses = pd.DataFrame({"id": range(1, 7), "day": [10, 30, 60, 5, 95, 50], "dose": 1})
    with pytest.raises(EventDepExposureError, match="no finite solution"):
        fit_eventdep_exposure(obs, ev, doses, windows=((1, 14),))
    # control: case 5 dosed before its event (event outside the window) gives a finite fit
    doses.loc[4, "day"] = 20
    fit = fit_eventdep_exposure(obs, ev, doses, windows=((1, 14),))
    assert fit.converged and np.isfinite(fit.params).all()


def test_eventdepenexp_uses_first_events_only_and_says_so() -> None:
    """A second event of a case is ignored (with a warning): adding one changes nothing."""
    obs, ev, doses = _rot()
    base = fit_eventdep_exposure(obs, ev, doses, windows=((1, 21),), covariates=[ROT_AGE])
    extra = pd.concat([ev, pd.DataFrame({"id": [1], "day": [180]})], ignore_index=True)
    with pytest.warns(UserWarning, match="first"):
        again = fit_eventdep_exposure(obs, extra, doses, windows=((1, 21),), covariates=[ROT_AGE])
    np.testing.assert_array_equal(base.params.to_numpy(), again.params.to_numpy())


def test_semiparametric_rejects_missing_term_and_warns_on_separation() -> None:
    from analysis.sccs.semiparametric import SemiparametricError

    _, ev, iv = _itp()
    with pytest.raises(SemiparametricError, match="missing column"):
        fit_semiparametric(iv, ev, ["nope"])
    # a term that is 1 exactly on each case's own event days: its estimate runs off to infinity
    obs, ev, _ = _itp()
    iv2 = build_intervals(obs, ev, covariates=[EventWindow("sep", ev, length=1)])
    with pytest.warns(UserWarning, match="probably infinite"):
        fit_semiparametric(iv2, ev, ["sep"], max_iter=30)


def test_eventdepenobs_rejects_unknown_integration_convention() -> None:
    with pytest.raises(EventDepObservationError, match="integrate_from"):
        _nrt(integrate_from="middle")


def test_semiparametric_term_of_age_alone_is_aliased_not_fitted() -> None:
    """An age-group term is a combination of the free age steps: NaN, and the exposure
    estimates are those of the model without it."""
    obs, ev, _ = _itp()
    mmr = pd.read_csv(R1 / "itpdat.csv")[["case", "mmr"]].drop_duplicates()
    ex = Exposure.from_r("mmr", mmr.set_axis(["id", "day"], axis=1), expogrp=(0, 15, 29),
                         end_offset=42)
    iv = build_intervals(obs, ev, [ex], [AgeGroups((547,))])
    for lev in (1, 2, 3):
        iv[f"mmr{lev}"] = (iv["mmr"] == lev).astype(float)
    iv["age2"] = (iv["age"] == 2).astype(float)
    with_age = fit_semiparametric(iv, ev, ["age2", "mmr1", "mmr2", "mmr3"], age_prefix="a")
    without = fit_semiparametric(iv, ev, ["mmr1", "mmr2", "mmr3"], age_prefix="a")
    assert with_age.aliased == ["age2"]
    np.testing.assert_allclose(with_age.params[["mmr1", "mmr2", "mmr3"]].to_numpy(),
                               without.params[["mmr1", "mmr2", "mmr3"]].to_numpy(), rtol=1e-9)


@pytest.mark.parametrize("model", ["EWI", "EGI"])
def test_interval_weights_finite_when_rho_runs_to_infinity(model: str) -> None:
    """A censoring fit on a plateau can end with log rho in the thousands (the exponential
    component flat); the weights take their limit instead of 0/0: log rho = 1e4 (the limit
    formula) equals log rho = 20 (the ordinary one, la = 2e-9) to 1e-7 relative, plus the
    exponential density's own share at log rho = 20 (at most la x width = 2e-9)."""
    lower, upper = np.array([0.0, 0.1, 0.5]), np.array([0.1, 0.5, 0.9])
    end = np.ones(3)
    for present in (0, 1):
        far = interval_weights(model, [1e4, -1.8, 0.7, 0.5], lower, upper, end,
                               np.full(3, present))
        near = interval_weights(model, [20.0, -1.8, 0.7, 0.5], lower, upper, end,
                                np.full(3, present))
        assert np.isfinite(far).all()
        np.testing.assert_allclose(far, near, rtol=1e-7, atol=2e-9)
