"""Properties of the SCCS fit that must hold for any data (hypothesis).

Each property is a fact about the likelihood, not about our code:

* row order does not matter;
* splitting an interval in two (same covariates, its events shared out) leaves the estimates
  and the log-likelihood ratio unchanged (only the sum of days and events per covariate pattern
  of a person enters the likelihood);
* people without events change nothing;
* with a single 0/1 term, a case never exposed contributes a constant to the log-likelihood, so
  adding one leaves the estimate and its SE unchanged;
* rescaling one person's days (all intervals by the same factor) changes nothing.

The data are drawn well posed by construction (:func:`sccs_data`), so no example is discarded and
each property runs on all of its examples.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.sccs import SCCS, SCCSResults, SCCSWarning

#: Every example is valid by construction (no example is discarded), so the properties run on
#: all of them: no health check is suppressed except the time one.
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: The four (exposed, season) cells.
CELLS = ((0, 0), (0, 1), (1, 0), (1, 1))


@st.composite
def sccs_data(draw: st.DrawFn) -> pd.DataFrame:
    """Well-posed SCCS data: an anchor case with an event in each of the four (exposed, season)
    cells, then 2-11 people with 2-5 random intervals each (0/1 exposure and covariate, 1-200
    days, 0-3 events).

    Why the anchor makes every example valid: in the conditional likelihood, a case with events
    in all four cells contributes ``sum_j y_j log p_j`` with every ``p_j`` < 1, and for any
    direction ``u`` of ``beta`` some cell with events has ``x_j u`` below the maximum, so that
    contribution tends to minus infinity along ``beta = t u``: the maximum is finite and unique
    (the cells also make the design full rank). Nothing needs to be filtered out.
    """
    rows = [(0, e, s, draw(st.integers(20, 200)), draw(st.integers(1, 3))) for e, s in CELLS]
    n = draw(st.integers(2, 11))
    for i in range(1, n + 1):
        k = draw(st.integers(2, 5))
        for _ in range(k):
            rows.append((i, draw(st.integers(0, 1)), draw(st.integers(0, 1)),
                         draw(st.integers(1, 200)), draw(st.integers(0, 3))))
    return pd.DataFrame(rows, columns=["id", "exposed", "season", "days", "events"])


def fit_well_posed(data: pd.DataFrame, terms: list[str]) -> SCCSResults:
    """Fit, failing on any SCCS warning: the data are well posed by construction."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SCCSWarning)
        return SCCS().fit(data, terms)


def assert_same(a: SCCSResults, b: SCCSResults) -> None:
    np.testing.assert_allclose(a.params, b.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-7)


@SETTINGS
@given(sccs_data(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(data: pd.DataFrame, rnd) -> None:
    fit = fit_well_posed(data, ["exposed", "season"])
    perm = list(range(len(data)))
    rnd.shuffle(perm)
    shuffled = SCCS().fit(data.iloc[perm], ["exposed", "season"])
    assert_same(fit, shuffled)
    assert shuffled.loglik == pytest.approx(fit.loglik, abs=1e-9)


@SETTINGS
@given(sccs_data(), st.data())
def test_splitting_an_interval_changes_nothing(data: pd.DataFrame, draw: st.DataObject) -> None:
    data = data.copy()
    data["days"] = data["days"] + 1                     # every interval can be split
    fit = fit_well_posed(data, ["exposed", "season"])
    j = draw.draw(st.integers(0, len(data) - 1))
    row = data.iloc[j]
    cut = draw.draw(st.integers(1, int(row["days"]) - 1))
    ev = draw.draw(st.integers(0, int(row["events"])))
    first, second = row.copy(), row.copy()
    first["days"], second["days"] = cut, row["days"] - cut
    first["events"], second["events"] = ev, row["events"] - ev
    split = pd.concat([data.drop(index=data.index[j]), pd.DataFrame([first, second])],
                      ignore_index=True)
    refit = SCCS().fit(split, ["exposed", "season"])
    assert_same(fit, refit)
    assert refit.loglik - refit.loglik_null == pytest.approx(fit.loglik - fit.loglik_null,
                                                             abs=1e-8)


@SETTINGS
@given(sccs_data(), st.lists(st.integers(1, 300), min_size=1, max_size=4))
def test_people_without_events_change_nothing(data: pd.DataFrame, days: list[int]) -> None:
    fit = fit_well_posed(data, ["exposed", "season"])
    extra = pd.DataFrame({"id": 999, "exposed": [k % 2 for k in range(len(days))],
                          "season": 1, "days": days, "events": 0})
    refit = SCCS().fit(pd.concat([data, extra]), ["exposed", "season"])
    assert_same(fit, refit)
    assert (refit.loglik, refit.n_cases) == (fit.loglik, fit.n_cases)


@SETTINGS
@given(sccs_data(), st.tuples(st.integers(1, 300), st.integers(1, 3)),
       st.lists(st.tuples(st.integers(1, 300), st.integers(0, 3)), max_size=3))
def test_never_exposed_case_leaves_single_term_estimate(data: pd.DataFrame, first, more) -> None:
    """With one term, a case whose term is 0 throughout has p_ij = d_ij / D_i whatever beta:
    it adds a constant to the log-likelihood and nothing to its derivatives."""
    rows = [first, *more]  # the first interval has an event: the extra person is a case
    fit = fit_well_posed(data, ["exposed"])
    extra = pd.DataFrame({"id": 999, "exposed": 0, "season": 0,
                          "days": [d for d, _ in rows], "events": [e for _, e in rows]})
    refit = SCCS().fit(pd.concat([data, extra]), ["exposed"])
    assert_same(fit, refit)
    assert refit.n_cases == fit.n_cases + 1


@SETTINGS
@given(sccs_data(), st.floats(0.01, 100))
def test_rescaling_one_persons_days_changes_nothing(data: pd.DataFrame, factor: float) -> None:
    fit = fit_well_posed(data, ["exposed", "season"])
    scaled = data.assign(days=np.where(data["id"] == data["id"].iloc[0],
                                       data["days"] * factor, data["days"]))
    refit = SCCS().fit(scaled, ["exposed", "season"])
    assert_same(fit, refit)
