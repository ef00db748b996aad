"""The SCCS extensions on awkward input: clear errors or R's answer, never a numpy failure.

References: scipy's adaptive quadrature of the censoring likelihood written with scipy.stats
(day-0 weights), R 4.2 survival 3.5-3 ``clogit`` (aliased age step; numbers hard-coded below
with the R call), and the same fit on first events only (repeated events).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from analysis.sccs import SCCSWarning
from analysis.sccs.eventdep_exposure import EventDepExposureError, fit_eventdep_exposure
from analysis.sccs.eventdep_observation import (
    EventDepObservationError,
    fit_eventdep_observation,
)
from analysis.sccs.intervals import Exposure, build_intervals
from analysis.sccs.semiparametric import fit_semiparametric


# --------------------------------------------------------------------------------------------
# 1. Event-dependent observation from day 0
# --------------------------------------------------------------------------------------------
def _from_birth(seed: int, n: int = 80) -> tuple[pd.DataFrame, pd.DataFrame, Exposure]:
    """Observation from day (age) 0 to a Weibull age at death or day 3650: the age models
    (EWA, EGA) fit best."""
    rng = np.random.default_rng(seed)
    death = (rng.weibull(4.0, n) * 3000).astype(int) + 1
    end = np.minimum(death, 3650)
    obs = pd.DataFrame({"id": range(n), "start": 0, "end": end,
                        "censored": (death < 3650).astype(int)})
    ev = pd.DataFrame({"id": range(n), "day": (rng.random(n) * end).astype(int)})
    ex = Exposure("x", pd.DataFrame({"id": range(n), "day": rng.integers(0, 2000, n)}),
                  ((0, 89),))
    return obs, ev, ex


def _likelihood(model: str, p: np.ndarray, end: float, present: int):
    """The censoring likelihood given an event at t, written with scipy.stats."""
    rho, mu, pi, nu = np.exp(p[0]), np.exp(p[1]), 1 / (1 + np.exp(-p[2])), np.exp(p[3])
    expo = stats.expon(scale=rho)
    dist = stats.weibull_min(nu, scale=mu) if model[1] == "W" else stats.gamma(nu, scale=mu / nu)
    e_end = expo.sf if present else expo.pdf
    g_end = dist.sf(end) if present else dist.pdf(end)
    return lambda t: pi * e_end(end - t) + (1 - pi) * g_end / dist.sf(t)


@pytest.mark.parametrize(("seed", "model"), [(1, "EWA"), (0, "EGA")])
def test_eventdepenobs_from_day_0_integrates_from_age_0(seed: int, model: str) -> None:
    """Before the fix the first interval was integrated from day -1 (a negative age): NaN
    weights and a wrong "the data do not determine it" error. Now each individual's weights
    add up to the integral of the likelihood over ages (0, end]."""
    obs, ev, ex = _from_birth(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # optimiser trial points
        fit = fit_eventdep_observation(obs, ev, [ex])
    assert fit.chosen == model
    iv = fit.intervals
    assert np.isfinite(iv["weight"]).all() and (iv["weight"] > 0).all()
    assert np.isfinite(fit.params).all() and np.isfinite(fit.bse).all()
    p = fit.censoring[model].params
    for i in (3, 17, 42):
        end_day = obs.loc[obs["id"] == i, "end"].iloc[0]
        assert ev.loc[ev["id"] == i, "day"].iloc[0] != end_day  # no one-day extension
        present = 1 - obs.loc[obs["id"] == i, "censored"].iloc[0]
        c = end_day / 365.25
        ref = integrate.quad(_likelihood(model, p, c, present), 0.0, c, epsabs=0,
                             epsrel=1e-10, limit=400)[0]
        assert iv.loc[iv["id"] == i, "weight"].sum() == pytest.approx(ref, rel=1e-7)


def test_eventdepenobs_negative_age_is_a_clear_error() -> None:
    obs = pd.DataFrame({"id": [1, 2], "start": [0, -30], "end": [300, 300],
                        "censored": [0, 1]})
    with pytest.raises(EventDepObservationError, match=r"row 3, column 'start': must be 0 or"):
        fit_eventdep_observation(obs, pd.DataFrame({"id": [1, 2], "day": [10, 20]}))


# --------------------------------------------------------------------------------------------
# 4. Event-dependent observation: first events only
# --------------------------------------------------------------------------------------------
def test_eventdepenobs_uses_first_events_only_and_says_so() -> None:
    """The method is for non-recurrent events: later events (here one on the last day, which
    would have extended observation by a day) are dropped with an SCCSWarning, and the fit is
    the fit of the first events (to the optimiser's rounding: the events come in another order)."""
    obs, ev, ex = _from_birth(1, n=60)
    obs = obs.assign(start=365)
    ev = ev.assign(day=np.maximum(ev["day"], 366))
    later = pd.DataFrame({"id": [2, 5, 9], "day": obs.set_index("id").loc[[2, 5, 9], "end"]})
    later.loc[later.index[0], "day"] -= 40
    assert (later["day"].to_numpy() > ev.set_index("id").loc[[2, 5, 9], "day"]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = fit_eventdep_observation(obs, ev, [ex])
        with pytest.warns(SCCSWarning, match="3 events after each individual's first"):
            got = fit_eventdep_observation(obs, pd.concat([later, ev]), [ex])
    assert got.chosen == ref.chosen
    np.testing.assert_allclose(got.modelfit.to_numpy(), ref.modelfit.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(got.params.to_numpy(), ref.params.to_numpy(), rtol=1e-7)
    assert int(got.intervals["events"].sum()) == len(ev)


# --------------------------------------------------------------------------------------------
# 2. Event-dependent exposures without exposure before the event
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("doses_day", [[30, 50, 60, 80], []])
def test_eventdepenexp_no_dose_before_the_event_is_a_clear_error(doses_day: list) -> None:
    obs = pd.DataFrame({"id": range(1, 5), "start": 1, "end": 100})
    ev = pd.DataFrame({"id": range(1, 5), "day": [15, 40, 20, 12]})
    doses = pd.DataFrame({"id": list(range(1, len(doses_day) + 1)), "day": doses_day,
                          "dose": 1})
    with pytest.raises(EventDepExposureError,
                       match=rf"no case has a dose on or before its first event.*'x'.*"
                             rf"{len(doses_day)} of {len(doses_day)} dose"):
        fit_eventdep_exposure(obs, ev, doses, windows=((1, 14),), name="x")


# --------------------------------------------------------------------------------------------
# 3. Semiparametric: an age step the data cannot estimate
# --------------------------------------------------------------------------------------------
def _two_cohorts() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Half the cases observed on days 1-100, half on days 201-300: the event ages of the
    second half are not linked to the reference age (day 11) by any case."""
    rng = np.random.default_rng(3)
    n = 40
    start = np.where(np.arange(n) % 2 == 0, 1, 201)
    obs = pd.DataFrame({"id": range(n), "start": start, "end": start + 99})
    ev = pd.DataFrame({"id": range(n), "day": start + rng.choice([10, 40, 70], n)})
    doses = pd.DataFrame({"id": range(n), "day": start + rng.integers(0, 90, n)})
    return build_intervals(obs, ev, [Exposure("x", doses, ((0, 19),))]), ev


#: R 4.2.2, survival 3.5-3, on the semiparametric rows of _two_cohorts() (one per case and
#: event age, with x and the event count): summary(clogit(event ~ x + factor(age) +
#: strata(case), method="exact"))$coefficients, coef and se(coef); factor(age)271 is NA.
R_TWO_COHORTS = {
    "x": (0.5840139, 0.4241442),
    "age41": (-0.5770149, 0.5832931),
    "age71": (-0.1996976, 0.5257581),
    "age211": (0.4758299, 0.6051977),
    "age241": (0.5807525, 0.5873040),
}


def test_semiparametric_unlinked_age_step_is_aliased_as_r_reports_na() -> None:
    """Before the fix: numpy LinAlgError (singular matrix)."""
    iv, ev = _two_cohorts()
    fit = fit_semiparametric(iv, ev, ["x"])
    assert fit.aliased == ["age271"]
    assert np.isnan(fit.params["age271"]) and np.isnan(fit.summary.loc["age271", "p"])
    for term, (coef, se) in R_TWO_COHORTS.items():
        assert fit.params[term] == pytest.approx(coef, rel=1e-6)
        assert fit.bse[term] == pytest.approx(se, rel=1e-6)


def test_semiparametric_age_seen_by_single_age_cases_only_is_aliased() -> None:
    """Cases 4 and 5 observe one event age only (day 150), so its step has no information;
    fixing it changes nothing else: the other estimates equal the fit without them."""
    iv, ev = _two_cohorts()
    keep = iv["id"] % 2 == 0
    base_iv, base_ev = iv[keep], ev[ev["id"] % 2 == 0]
    extra_obs = pd.DataFrame({"id": [100, 101], "start": 120, "end": 160})
    extra_ev = pd.DataFrame({"id": [100, 101], "day": [150, 150]})
    extra_iv = build_intervals(extra_obs, extra_ev,
                               [Exposure("x", pd.DataFrame({"id": [100], "day": [140]}),
                                         ((0, 19),))])
    fit = fit_semiparametric(pd.concat([base_iv, extra_iv[base_iv.columns]]),
                             pd.concat([base_ev, extra_ev]), ["x"])
    ref = fit_semiparametric(base_iv, base_ev, ["x"])
    assert fit.aliased == ["age150"]
    np.testing.assert_allclose(fit.params.drop("age150"), ref.params, rtol=1e-8)
    np.testing.assert_allclose(fit.bse.drop("age150"), ref.bse, rtol=1e-8)
