"""Batched SCCS extensions: every data set's row equals its single fit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from analysis import teaching as T
from analysis.sccs.batched_ext import (
    fit_many_eventdep_exposure,
    fit_many_eventdep_observation,
    fit_many_semiparametric,
)
from analysis.sccs.eventdep_exposure import EventDepExposureError, fit_eventdep_exposure
from analysis.sccs.eventdep_observation import EventDepObservationError, fit_eventdep_observation
from analysis.sccs.intervals import Exposure, build_intervals
from analysis.sccs.semiparametric import SemiparametricError, fit_semiparametric

AGE = int(65 * 365.25)


def _datasets(n_reps: int = 5) -> list[dict]:
    """Studies like the event-ends-observation chapter's (event-dependent end of observation,
    h = 20), smaller."""
    sc = T.Scenario(n_individuals=600, irr=0.6, rate_per_year=0.1, frailty_shape=None,
                    obs_days=(365, 1095), exposure_days=(180, 720), end_rate_per_year=0.1,
                    end_hr_after_event=20)
    c = T.first_events_only(T.simulate_cohorts(sc, n_reps, seed=11))
    return T.eventdep_observation_datasets(c, offset_days=AGE)


def _single(d: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_eventdep_observation(d["observation"], d["events"], d["exposures"])


def test_each_data_set_equals_its_single_fit_including_one_that_fails() -> None:
    """Coefficients, SEs and log-likelihoods to 1e-8 relative (measured: equal to rounding;
    the censoring fits are bit for bit the same); the chosen censoring model and its winning
    start are the single fit's. Data set 2 has no exposed case: the single fit has no term
    ``exposed1`` to estimate, the batched one gives NaN, lists it aliased and keeps the message."""
    data = _datasets()
    d2 = data[2]
    data[2] = {**d2, "exposures": [Exposure("exposed", d2["exposures"][0].data.iloc[:0],
                                            windows=((0, None),))]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        many = fit_many_eventdep_observation(data, terms=["exposed1"])
    for r, d in enumerate(data):
        if r == 2:
            assert "exposed1" not in _single(d).params.index
            # the library's one rule: a term without person-time is aliased (NaN, noted)
            assert np.isnan(many.coef[r]).all() and many.aliased[r] == ["exposed1"]
            assert any("exposed1" in n for n in many.notes[r])
            continue
        one = _single(d)
        np.testing.assert_allclose(many.coef[r], one.params.to_numpy(), rtol=1e-8)
        np.testing.assert_allclose(many.se[r], one.bse.to_numpy(), rtol=1e-8)
        assert many.loglik[r] == pytest.approx(one.loglik, rel=1e-8)
        assert many.extra["chosen"][r] == one.chosen
        assert many.extra["start"][r] == one.censoring[one.chosen].start
        np.testing.assert_array_equal(many.extra["censoring_loglik"][r],
                                      one.modelfit.loc["Loglik"].to_numpy())


def test_covariates_are_refused_with_a_message() -> None:
    d = _datasets(1)[0]
    with pytest.raises(EventDepObservationError, match="covariates are not supported"):
        fit_many_eventdep_observation([{**d, "covariates": [object()]}], terms=["exposed1"])


def test_unknown_term_names_the_term() -> None:
    with pytest.raises(EventDepObservationError, match="term 'dose1'"):
        fit_many_eventdep_observation(_datasets(1), terms=["dose1"])


def _semi_datasets() -> list[dict]:
    """Studies like the age and calendar time chapter's (strong time effect, late exposure),
    smaller."""
    sc = T.Scenario(n_individuals=80, irr=0.6, rate_per_year=1.5, frailty_shape=2.0,
                    obs_days=(365, 730), exposure_days=(90, 360), exposure_start_share=(0.3, 1.0),
                    time_log_rr=((0, 0.3), (60, 1.6), (150, 0.0), (400, 0.0), (700, 1.2)))
    studies = T.simulate_cohorts(sc, 4, seed=3)
    out = []
    for r in range(4):
        x = T.replicate_tables(studies, r)
        iv = build_intervals(x["observation"][["id", "start", "end"]], x["events"],
                             [Exposure("exposed", x["exposure"], windows=((0, None),))])
        iv["exposed"] = (iv["exposed"] > 0).astype(float)
        iv["male"] = (iv["id"] % 2).astype(float)  # constant within a case: aliased
        out.append({"intervals": iv, "events": x["events"]})
    return out


def test_semiparametric_each_data_set_equals_its_single_fit() -> None:
    """Rows equal the single fits (the same code: equal to the last bit), also for the term
    ``male``, which is constant within every case (aliased: the single fit's aliasing rule is
    being reworked under issue 17 section 1; on this data it currently returns a number for
    it, and the batched fit must return the same); a data set without events inside
    observation gets NaN and the single fit's error message."""
    data = _semi_datasets()
    bad = {**data[1], "events": data[1]["events"].assign(day=-5)}
    data = [data[0], bad, *data[2:]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        many = fit_many_semiparametric(data, ["exposed", "male"])
    for r, d in enumerate(data):
        if r == 1:
            with pytest.raises(SemiparametricError) as err:
                fit_semiparametric(d["intervals"], d["events"], ["exposed", "male"])
            assert many.errors[1] == str(err.value) and np.isnan(many.coef[1]).all()
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            one = fit_semiparametric(d["intervals"], d["events"], ["exposed", "male"])
        np.testing.assert_array_equal(many.coef[r], one.params[["exposed", "male"]])
        np.testing.assert_array_equal(many.se[r], one.bse[["exposed", "male"]])
        assert many.loglik[r] == one.loglik
        assert many.n_events[r] == one.n_events and many.errors[r] is None


def test_eventdep_exposure_each_data_set_equals_its_single_fit() -> None:
    """Rows equal the single fits (the same code: to the last bit); a data set whose doses
    all come after the event gets NaN and the single fit's message."""
    sc = T.Scenario(n_individuals=300, irr=0.6, rate_per_year=0.5, frailty_shape=None,
                    obs_days=(365, 1095), exposure_days=(180, 720))
    c = T.first_events_only(T.simulate_cohorts(sc, 4, seed=3))
    data = []
    for r in range(4):
        x = T.replicate_tables(c, r)
        data.append({"observation": x["observation"][["id", "start", "end"]],
                     "events": x["events"], "doses": x["exposure"].assign(dose=1)})
    late = data[2]["doses"].assign(day=data[2]["observation"]["end"].max() + 1)
    data[2] = {**data[2], "doses": late}
    kw = {"windows": ((0, 29),), "name": "x"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        many = fit_many_eventdep_exposure(data, ["x1"], **kw)
        for r, d in enumerate(data):
            if r == 2:
                with pytest.raises(EventDepExposureError) as err:
                    fit_eventdep_exposure(d["observation"], d["events"], d["doses"], **kw)
                assert many.errors[2] == str(err.value) and np.isnan(many.coef[2]).all()
                continue
            one = fit_eventdep_exposure(d["observation"], d["events"], d["doses"], **kw)
            np.testing.assert_array_equal(many.coef[r], one.params[["x1"]])
            np.testing.assert_array_equal(many.se[r], one.bse[["x1"]])
            assert many.n_cases[r] == one.n_cases and many.errors[r] is None
