"""Numerical edge cases of the study's SCCS analysis, each with a hand-worked answer or a message.

What and why: a user's own cohort can be small or odd in ways the synthetic one never is. Each
case below is a tiny cohort written as CSV and run through the study-level API (the same path the
book and the CLI use); the expected numbers are worked out by hand in the comments, from the
conditional-Poisson algebra of the SCCS:

* one case with ``e1`` events in ``d1`` exposed days and ``e0`` in ``d0`` unexposed days: the
  conditional likelihood is binomial with ``p = d1 r / (d1 r + d0)``; its maximum is at
  ``p = e1 / (e0 + e1)``, i.e. ``IRR = (e1 / d1) / (e0 / d0)``, with
  ``Var(log IRR) = 1 / (n p (1 - p)) = 1 / e1 + 1 / e0``;
* several cases with the *same* exposed share ``d1 / (d0 + d1)`` pool into one binomial: the
  same formulas with the summed ``E1``, ``E0``.

Dates: every patient starts daratumumab on day 17000 (2016-07-18); ``last`` is the offset of
``dara_last``; the observation period is offsets ``0 .. last + 30`` (both ends inclusive).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers_qa import Inf, Pt, load

from analysis.sccs import SCCS, SCCSWarning
from analysis.sccs.intervals import Exposure, build_intervals
from analysis.study import StudyError, fit_sccs, study_intervals
from analysis.study.descriptive import infection_rates

Z975 = 1.959963984540054  # qnorm(0.975)


def expect_irr(fit, term: str, irr: float, se: float) -> None:
    """Compare a fitted term with hand-worked IRR and SE (and the Wald CI and p they imply)."""
    row = fit.summary.loc[term]
    assert row["irr"] == pytest.approx(irr, rel=1e-9)
    assert row["se"] == pytest.approx(se, rel=1e-7)
    assert row["ci_low"] == pytest.approx(math.exp(math.log(irr) - Z975 * se), rel=1e-7)
    assert row["ci_high"] == pytest.approx(math.exp(math.log(irr) + Z975 * se), rel=1e-7)
    z = math.log(irr) / se
    assert row["p"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-6)


# --------------------------------------------------------------------------- a single case
def test_single_case(tmp_path: Path) -> None:
    # dose at offset 0 -> exposed offsets 0..29 (d1 = 30); observation 0..230 -> d0 = 201.
    # events at 5 (exposed) and 100 (unexposed): IRR = (1/30)/(1/201) = 6.7, SE = sqrt(1+1).
    cohort = load(tmp_path, [Pt("A", last=200, ivig=(0,), infections=(Inf(5), Inf(100)))])
    fit = fit_sccs(cohort)
    assert (fit.n_cases, fit.n_events) == (1, 2)
    expect_irr(fit, "on_ivig", 6.7, math.sqrt(2))


def test_cases_with_equal_exposed_share_pool_into_one_binomial(tmp_path: Path) -> None:
    # both: d1 = 30, d0 = 201. A: 1 exposed + 1 unexposed; B: 2 exposed + 0 unexposed.
    # E1 = 3, E0 = 1: IRR = (3/30)/(1/201) = 20.1, SE = sqrt(1/3 + 1/1).
    pts = [
        Pt("A", ivig=(0,), infections=(Inf(5), Inf(100))),
        Pt("B", start=17_500, ivig=(50,), infections=(Inf(60), Inf(79))),
    ]
    fit = fit_sccs(load(tmp_path, pts))
    expect_irr(fit, "on_ivig", 20.1, math.sqrt(1 / 3 + 1))


# --------------------------------------------------------------------------- boundary levels
def test_level_with_zero_events(tmp_path: Path) -> None:
    # every event off IVIG: the likelihood increases as beta -> -inf; IRR 0, no SE/CI/p.
    cohort = load(tmp_path, [Pt("A", ivig=(0,), infections=(Inf(100), Inf(150)))])
    with pytest.warns(SCCSWarning, match="no events in the level"):
        fit = fit_sccs(cohort)
    row = fit.summary.loc["on_ivig"]
    assert row["irr"] == 0.0 and row["log_irr"] == -np.inf
    assert np.isnan([row["se"], row["ci_low"], row["ci_high"], row["p"]]).all()


def test_every_event_in_one_level(tmp_path: Path) -> None:
    # every event on IVIG: beta -> +inf; IRR infinite, no SE/CI/p.
    cohort = load(tmp_path, [Pt("A", ivig=(0,), infections=(Inf(5), Inf(10)))])
    with pytest.warns(SCCSWarning, match="all events in the level"):
        fit = fit_sccs(cohort)
    row = fit.summary.loc["on_ivig"]
    assert row["irr"] == np.inf and row["log_irr"] == np.inf
    assert np.isnan([row["se"], row["ci_low"], row["ci_high"], row["p"]]).all()


def test_zero_event_level_leaves_other_terms_estimable(tmp_path: Path) -> None:
    # two cases, progression windows hold no events -> progression -inf (warning), while
    # on_ivig is estimated on the remaining person-time. Without progression days (they get
    # zero weight at the limit) A has d1 = 30, d0 = 201 - 30 = 171 (progression at 150 covers
    # offsets 150..179, unexposed), B likewise: progression at 150 -> d0 = 171.
    # Events: A 1 exposed + 1 unexposed (offset 100), B 1 exposed + 1 unexposed (offset 200).
    # E1 = 2, E0 = 2, equal shares: IRR = (2/30)/(2/171) = 5.7, SE = sqrt(1/2 + 1/2) = 1.
    pts = [
        Pt("A", ivig=(0,), progression=(150,), infections=(Inf(5), Inf(100))),
        Pt("B", start=17_300, ivig=(0,), progression=(150,), infections=(Inf(7), Inf(200))),
    ]
    with pytest.warns(SCCSWarning, match="'progression'"):
        fit = fit_sccs(load(tmp_path, pts), adjust=("progression",))
    assert fit.summary.loc["progression", "log_irr"] == -np.inf
    expect_irr(fit, "on_ivig", 5.7, 1.0)


# --------------------------------------------------------------------------- short periods
def test_one_day_observation_period_engine() -> None:
    # observation day 100 only; dose and event on it -> one row of 1 day, exposed, 1 event.
    table = build_intervals(
        pd.DataFrame({"id": ["a"], "start": [100], "end": [100]}),
        pd.DataFrame({"id": ["a"], "day": [100]}),
        [Exposure("x", pd.DataFrame({"id": ["a"], "day": [100]}), windows=((0, 29),))],
    )
    row = table[["start", "end", "days", "events", "x"]].to_numpy().tolist()
    assert row == [[100, 100, 1, 1, 1]]
    # a case observed on one day has one interval: the term cannot vary within it (aliased:
    # NaN, with a warning naming it; the library's one rule)
    with pytest.warns(SCCSWarning, match=r"\['x'\] do not vary within any case"):
        fit = SCCS().fit(table.assign(x=table["x"].astype(float)), ["x"])
    assert fit.aliased == ["x"] and math.isnan(fit.params["x"])


def test_shortest_observation_period_in_a_cohort(tmp_path: Path) -> None:
    # dara_start == dara_last: observation is offsets 0..30 (31 days, the contract's tail).
    # dose at 0 -> exposed 0..29 (30 days), unexposed day 30 (1 day).
    # events at 0 (exposed) and 30 (unexposed): IRR = (1/30)/(1/1) = 1/30, SE = sqrt(2).
    cohort = load(tmp_path, [Pt("A", last=0, ivig=(0,), infections=(Inf(0), Inf(30)))])
    table = study_intervals(cohort)
    assert table["days"].tolist() == [30, 1] and table["on_ivig"].tolist() == [1, 0]
    expect_irr(fit_sccs(cohort), "on_ivig", 1 / 30, math.sqrt(2))


# --------------------------------------------------------------------------- doses
def test_several_doses_on_one_day_count_once(tmp_path: Path) -> None:
    # three rows dated offset 10 expose 10..39 exactly as one dose does (30 days).
    events = (Inf(15), Inf(100))
    one = load(tmp_path / "one", [Pt("A", ivig=(10,), infections=events)])
    three = load(tmp_path / "three", [Pt("A", ivig=(10, 10, 10), infections=events)])
    t1, t3 = study_intervals(one), study_intervals(three)
    pd.testing.assert_frame_equal(t1, t3)
    assert t3.loc[t3["on_ivig"] == 1, "days"].sum() == 30
    # IRR = (1/30)/(1/201) = 6.7 either way
    expect_irr(fit_sccs(three), "on_ivig", 6.7, math.sqrt(2))


def test_doses_on_consecutive_days_merge(tmp_path: Path) -> None:
    # doses at 10 and 11: windows 10..39 and 11..40 merge into 10..40 (31 days).
    cohort = load(tmp_path, [Pt("A", ivig=(11, 10), infections=(Inf(40), Inf(41)))])
    table = study_intervals(cohort)
    on = table[table["on_ivig"] == 1]
    assert on[["start", "end"]].to_numpy().tolist() == [[17_010, 17_040]]
    assert on["events"].sum() == 1  # offset 40 is exposed, 41 is not


# --------------------------------------------------------------------------- outside observation
def test_doses_and_events_outside_observation(tmp_path: Path) -> None:
    # observation offsets 0..230. Doses: -20 exposes -20..9 -> 0..9 observed (10 days);
    # 230 exposes its own day only (1 day); 240 is after the end (nothing). d1 = 11, d0 = 220.
    # Events: -5 and 231 fall outside (dropped); 0 and 230 exposed; 100 unexposed.
    # IRR = (2/11)/(1/220) = 40, SE = sqrt(1/2 + 1/1).
    pts = [
        Pt("A", ivig=(-20, 240, 230),
           infections=(Inf(-5), Inf(231), Inf(230), Inf(0), Inf(100)))
    ]
    cohort = load(tmp_path, pts)
    table = study_intervals(cohort)
    assert table["days"].sum() == 231 and table["events"].sum() == 3
    assert table.loc[table["on_ivig"] == 1, "days"].sum() == 11
    fit = fit_sccs(cohort)
    assert (fit.n_cases, fit.n_events) == (1, 3)
    expect_irr(fit, "on_ivig", 40.0, math.sqrt(1.5))


def test_pre_window_of_a_first_dose_before_observation_is_empty(tmp_path: Path) -> None:
    # first dose at -20: pre-window -50..-21 lies before observation -> no pre-exposure days,
    # so the pre_ivig term has no person-time: aliased (NaN), with a warning naming the term.
    pts = [Pt("A", ivig=(-20, 100), infections=(Inf(0), Inf(105), Inf(200)))]
    cohort = load(tmp_path, pts)
    assert study_intervals(cohort, pre_window=30)["pre_ivig"].sum() == 0
    with pytest.warns(SCCSWarning, match=r"\['pre_ivig'\] are 0 for all person-time"):
        fit = fit_sccs(cohort, pre_window=30)
    assert fit.aliased == ["pre_ivig"] and math.isnan(fit.params["pre_ivig"])


def test_pre_window_of_a_first_dose_after_observation_is_clipped(tmp_path: Path) -> None:
    # observation 0..230; only dose at 250 (after the end): pre-window 220..249 clipped to
    # 220..230 = 11 days, nothing exposed. Events at 225 (pre) and 50: with terms
    # on_ivig + pre_ivig, on_ivig has no person-time -> aliased, a warning naming on_ivig.
    cohort = load(tmp_path, [Pt("A", ivig=(250,), infections=(Inf(225), Inf(50)))])
    table = study_intervals(cohort, pre_window=30)
    pre = table[table["pre_ivig"] == 1]
    assert pre[["start", "end"]].to_numpy().tolist() == [[17_220, 17_230]]
    assert table["on_ivig"].sum() == 0
    with pytest.warns(SCCSWarning, match=r"\['on_ivig'\] are 0 for all person-time"):
        fit = fit_sccs(cohort, pre_window=30)
    assert fit.aliased == ["on_ivig"] and math.isnan(fit.params["on_ivig"])


# --------------------------------------------------------------------------- no IVIG patients
def test_cohort_without_ivig_patients(tmp_path: Path) -> None:
    # only reference patients: SCCS has no cases -> StudyError saying so.
    pts = [Pt("R", group="reference", infections=(Inf(5), Inf(100)))]
    cohort = load(tmp_path, pts)
    for outcome in ("all", "grade3", "bacterial", "viral"):
        with pytest.raises(StudyError, match="no cases"):
            fit_sccs(cohort, outcome)
    # descriptive rates still work: 2 events in 231 days -> 2 / (231 / 365.25) per patient-year;
    # 2016-07-18 .. 2017-03-05 has 75 spring/summer days (event at offset 5) and 156 fall/winter
    # days (event at offset 100).
    rates = infection_rates(cohort).set_index(["period", "season"])
    assert set(rates.index.get_level_values("period")) == {"reference"}
    assert rates.loc[("reference", "all"), "rate_pooled"] == pytest.approx(2 / (231 / 365.25))
    assert rates.loc[("reference", "spring_summer"), "days"] == 75
    assert rates.loc[("reference", "fall_winter"), "rate_pooled"] == pytest.approx(
        1 / (156 / 365.25)
    )


def test_ivig_group_without_any_dose(tmp_path: Path) -> None:
    # IVIG-group patients but no row in ivig.csv: on_ivig is 0 everywhere -> aliased (NaN),
    # with a warning naming it.
    cohort = load(tmp_path, [Pt("A", infections=(Inf(5), Inf(100)))])
    with pytest.warns(SCCSWarning, match=r"\['on_ivig'\] are 0 for all person-time"):
        fit = fit_sccs(cohort)
    assert "on_ivig" in fit.aliased and math.isnan(fit.params["on_ivig"])


def test_no_warning_for_a_regular_fit(tmp_path: Path) -> None:
    cohort = load(tmp_path, [Pt("A", ivig=(0,), infections=(Inf(5), Inf(100)))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_sccs(cohort)
