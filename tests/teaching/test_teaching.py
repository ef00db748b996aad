"""Tests of analysis.teaching: the teaching generators, intervals and the Monte Carlo runner.

References are independent of the code under test: the project's engine (analysis.sccs.SCCS)
for the batched fits of teaching cohorts, intervals and closed forms worked by hand, and R's
published numbers for the classic examples.
Statistical checks use fixed seeds and tolerances of 4 standard errors (a false alarm would have
probability below 1e-4 for a correct generator; with the fixed seed the outcome is deterministic).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import teaching as T
from analysis.sccs import SCCS, SCCSWarning, fit_many


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("irr", [0.5, 2.0])
def test_generator_recovers_true_irr(irr: float) -> None:
    """Many cases: the engine's estimate is within 4 standard errors of the true log-IRR."""
    c = T.simulate_cohorts(T.Scenario(n_individuals=20000, irr=irr), n_reps=1, seed=11)
    fit = SCCS().fit(T.to_intervals(c), ["exposed"])
    z = (fit.params["exposed"] - math.log(irr)) / fit.bse["exposed"]
    assert fit.bse["exposed"] < 0.02  # the test has power to see a bias of 0.08 on log scale
    assert abs(z) < 4


def test_generator_baseline_rate() -> None:
    """Without exposure effect or frailty the event rate is rate_per_year (Poisson, 4 SE)."""
    sc = T.Scenario(n_individuals=5000, irr=1.0, rate_per_year=3.0, frailty_shape=None)
    c = T.simulate_cohorts(sc, n_reps=2, seed=3)
    person_years = (c.individuals["obs_end"] + 1).sum() / T.DAYS_PER_YEAR
    n = len(c.events)
    expected = sc.rate_per_year * person_years
    assert abs(n - expected) < 4 * math.sqrt(expected)


def test_generator_frailty_mean_and_selection() -> None:
    """Gamma frailty has mean 1; selection > 0 puts the frail into exposure, 0 does not."""
    base = T.Scenario(n_individuals=20000, p_exposed=0.2, frailty_shape=1.0)
    none = T.simulate_cohorts(base, seed=1).individuals
    assert abs(none["frailty"].mean() - 1) < 4 / math.sqrt(len(none))  # variance 1
    f_exp = none.loc[none["exposed"], "frailty"].mean()
    f_not = none.loc[~none["exposed"], "frailty"].mean()
    assert abs(f_exp - f_not) < 0.1
    sel = T.simulate_cohorts(base.with_(selection=2.0), seed=1).individuals
    exposed = sel["exposed"]
    assert sel.loc[exposed, "frailty"].mean() > 2 * sel.loc[~exposed, "frailty"].mean()


def test_generator_trigger_starts_after_first_event() -> None:
    """trigger_prob=1, fixed delay 5: exposure starts 5 days after each individual's first event."""
    sc = T.Scenario(n_individuals=500, trigger_prob=1.0, trigger_delay=(5, 5), irr=0.5)
    c = T.simulate_cohorts(sc, n_reps=2, seed=7)
    ind = c.individuals.set_index(["rep", "id"])
    first = c.events.groupby(["rep", "id"])["day"].min()
    started = ind.loc[first.index]
    inside = started["exp_start"] >= 0
    assert inside.sum() > 100
    np.testing.assert_array_equal(started.loc[inside, "exp_start"], first[inside] + 5)
    # individuals whose trigger fell too late for their observation are not exposed
    late = ~inside
    assert (first[late] + 5 > started.loc[late, "obs_end"]).all()


def _teaching_csv(seed: int) -> bytes:
    sc = T.Scenario(n_individuals=50, trigger_prob=0.5)
    c = T.simulate_cohorts(sc, n_reps=3, seed=seed)
    return (c.individuals.to_csv(index=False) + c.events.to_csv(index=False)).encode()


def test_generator_is_deterministic() -> None:
    """Same seed, byte-identical output: in this process whatever the global NumPy state, and in
    a fresh interpreter; another seed gives other data, and the replicates differ from each
    other (a generator that ignored its seed, or reused one stream, would pass a run-twice
    identity)."""
    import hashlib
    import subprocess
    import sys

    a = _teaching_csv(5)
    np.random.seed(123)  # noqa: NPY002 - the legacy global state must not matter
    np.random.random(10)  # noqa: NPY002
    assert _teaching_csv(5) == a
    assert _teaching_csv(6) != a
    c = T.simulate_cohorts(T.Scenario(n_individuals=50, trigger_prob=0.5), n_reps=3, seed=5)
    reps = [g.drop(columns="rep").reset_index(drop=True) for _, g in c.events.groupby("rep")]
    assert not reps[0].equals(reps[1]) and not reps[1].equals(reps[2])
    code = ("import hashlib, sys; sys.path.insert(0, 'tests/teaching'); "
            "from test_teaching import _teaching_csv; "
            "print(hashlib.sha256(_teaching_csv(5)).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == hashlib.sha256(a).hexdigest()


# --------------------------------------------------------------------------------------------
# Intervals: hand-worked rows, and totals
# --------------------------------------------------------------------------------------------
def _tiny_cohorts() -> T.TeachingCohorts:
    """Three individuals with hand-checkable intervals (days 0 .. obs_end, inclusive)."""
    individuals = pd.DataFrame({
        "rep": [0, 0, 1], "id": [0, 1, 0], "frailty": 1.0, "obs_end": [99, 59, 49],
        "exposed": [True, False, True], "exp_start": [40, -1, 10], "exp_end": [69, -1, 49],
    })
    events = pd.DataFrame({"rep": [0, 0, 0, 1, 1], "id": [0, 0, 1, 0, 0],
                           "day": [5, 45, 30, 3, 49]})
    return T.TeachingCohorts(individuals, events, T.Scenario(), n_reps=2)


def test_to_intervals_hand_worked() -> None:
    """Individual (0, 0): pre 20..39 (W = 20), exposed 40..69; (1, 0): pre clipped to 0..9,
    exposed 10..49 up to the end of observation; (0, 1): never exposed, one row."""
    iv = T.to_intervals(_tiny_cohorts(), pre_window=20, cases_only=False)
    expected = pd.DataFrame({
        "rep": [0, 0, 0, 0, 0, 1, 1],
        "id": [0, 0, 0, 0, 1, 0, 0],
        "start": [0, 20, 40, 70, 0, 0, 10],
        "end": [19, 39, 69, 99, 59, 9, 49],
        "days": [20, 20, 30, 30, 60, 10, 40],
        "events": [1, 0, 1, 0, 1, 1, 1],
        "exposed": [0, 0, 1, 0, 0, 0, 1],
        "pre": [0, 1, 0, 0, 0, 1, 0],
    })
    pd.testing.assert_frame_equal(iv, expected, check_dtype=False)
    no_pre = T.to_intervals(_tiny_cohorts())
    assert list(no_pre["start"]) == [0, 40, 70, 0, 0, 10] and (no_pre["pre"] == 0).all()
    only = T.to_intervals(_tiny_cohorts(), exposed_only=True)
    assert set(zip(only["rep"], only["id"], strict=True)) == {(0, 0), (1, 0)}


@pytest.mark.parametrize("pre_window", [0, 30])
def test_to_intervals_totals(pre_window: int) -> None:
    """Every observed day once, every event once; pre-window days never exposed."""
    c = T.simulate_cohorts(T.Scenario(n_individuals=300, trigger_prob=0.3), n_reps=2, seed=2)
    ours = T.to_intervals(c, pre_window=pre_window, cases_only=False)
    assert ours["days"].sum() == (c.individuals["obs_end"] + 1).sum()
    assert ours["events"].sum() == len(c.events)
    assert not (ours["pre"].astype(bool) & ours["exposed"].astype(bool)).any()
    exposed_days = (c.individuals["exp_end"] - c.individuals["exp_start"] + 1)[
        c.individuals["exp_start"] >= 0].sum()
    assert ours.loc[ours["exposed"] == 1, "days"].sum() == exposed_days


def test_to_intervals_cases_and_exposed_only() -> None:
    c = T.simulate_cohorts(T.Scenario(n_individuals=400, p_exposed=0.5), n_reps=1, seed=4)
    iv = T.to_intervals(c, exposed_only=True)
    assert (iv.groupby("id")["events"].sum() > 0).all()
    exposed_ids = set(c.individuals.loc[c.individuals["exp_start"] >= 0, "id"])
    assert set(iv["id"]) <= exposed_ids


# --------------------------------------------------------------------------------------------
# Batched fit of teaching cohorts: the engine's answer, replicate by replicate
# --------------------------------------------------------------------------------------------
def test_fit_many_on_teaching_cohorts_equals_engine() -> None:
    c = T.simulate_cohorts(T.Scenario(n_individuals=80, trigger_prob=0.5), n_reps=6, seed=9)
    iv = T.to_intervals(c, pre_window=30)
    bf = fit_many(iv, ["exposed", "pre"])
    for r in range(6):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SCCSWarning)
            eng = SCCS().fit(iv[iv["rep"] == r], ["exposed", "pre"])
        np.testing.assert_allclose(bf.coef[r], eng.params.to_numpy(), atol=1e-8)
        fin = bf.finite[r]
        np.testing.assert_allclose(bf.se[r][fin], eng.bse.to_numpy()[fin], rtol=1e-7)
        assert bf.loglik[r] == pytest.approx(eng.loglik, abs=1e-8)
        assert bf.n_cases[r] == eng.n_cases and bf.n_events[r] == eng.n_events


# --------------------------------------------------------------------------------------------
# Monte Carlo runner and summaries
# --------------------------------------------------------------------------------------------
def test_coverage_toy() -> None:
    lower = np.array([0.0, 1.0, 2.0, np.nan])
    upper = np.array([1.0, 2.0, 3.0, np.nan])
    assert T.coverage(lower, upper, 1.5) == pytest.approx(1 / 3)
    assert T.coverage(lower, upper, 1.0) == pytest.approx(2 / 3)  # closed intervals
    assert math.isnan(T.coverage(np.array([np.nan]), np.array([np.nan]), 0.0))


def test_summarise_toy() -> None:
    truth = 0.5
    b = np.log(truth) + np.array([-0.2, 0.0, 0.2, 0.4])
    res = pd.DataFrame({
        "converged": [True, True, True, True],
        "x:finite": [True, True, True, False],
        "x:log_irr": b,
        "x:se": [0.1, 0.1, 0.1, 0.1],
        "x:ci_low": np.exp(b - 0.15),
        "x:ci_high": np.exp(b + 0.15),
        "x:p": [0.01, 0.2, 0.04, 0.001],
    })
    s = T.summarise(res, "x", truth)
    assert s["n_reps"] == 4 and s["n_valid"] == 3
    assert s["bias"] == pytest.approx(0.0, abs=1e-12)
    assert s["coverage"] == pytest.approx(1 / 3)
    assert s["power"] == pytest.approx(2 / 4)  # the non-finite replicate does not count
    assert s["emp_se"] == pytest.approx(0.2)


def test_monte_carlo_deterministic_and_numbered() -> None:
    make = T.scenario_intervals(T.Scenario(n_individuals=40), n_cases=20)
    a = T.monte_carlo(make, ["exposed"], 130, seed=4, batch_size=50, progress=False)
    b = T.monte_carlo(make, ["exposed"], 130, seed=4, batch_size=50, progress=False)
    pd.testing.assert_frame_equal(a, b)
    assert list(a["rep"]) == list(range(130))
    assert (a["n_cases"] <= 20).all() and (a["n_cases"] == 20).mean() > 0.95
    c = T.monte_carlo(make, ["exposed"], 130, seed=5, batch_size=50, progress=False)
    assert not np.allclose(a["exposed:log_irr"], c["exposed:log_irr"], equal_nan=True)


def test_monte_carlo_final_progress_line(capsys: pytest.CaptureFixture[str]) -> None:
    make = T.scenario_intervals(T.Scenario(n_individuals=30))
    T.monte_carlo(make, ["exposed"], 20, seed=1, batch_size=10, progress_file="final",
                  desc="demo")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("demo: 100%") and "20/20" in out[0]
    # no timing on the page: no rate, no elapsed time, so a second run prints the same line
    assert "/s" not in out[0] and "<" not in out[0] and "00:" not in out[0]
    T.monte_carlo(make, ["exposed"], 20, seed=1, batch_size=10, progress_file="final",
                  desc="demo")
    assert capsys.readouterr().out.strip().splitlines() == out


def test_monte_carlo_coverage_near_nominal() -> None:
    """400 studies of ~80 cases: coverage within 4 MC standard errors of 0.95."""
    make = T.scenario_intervals(T.Scenario(n_individuals=100, irr=0.6))
    res = T.monte_carlo(make, ["exposed"], 400, seed=21, progress=False)
    s = T.summarise(res, "exposed", 0.6)
    assert abs(s["coverage"] - 0.95) < 4 * math.sqrt(0.95 * 0.05 / s["n_valid"])
    assert abs(s["bias"]) < 4 * s["bias_mcse"] + 0.02


def test_wald_power_closed_form() -> None:
    """One kind of case: information n pi (1 - pi); at IRR 1 the power is alpha."""
    share, events = np.full(10, 0.25), np.full(10, 3)
    assert float(T.wald_power(1.0, share, events)) == pytest.approx(0.05)
    rho = 0.5
    pi = 0.25 * rho / (0.25 * rho + 0.75)
    info = 30 * pi * (1 - pi)
    mu = abs(math.log(rho)) * math.sqrt(info)
    from scipy.stats import norm

    z = norm.ppf(0.975)
    assert float(T.wald_power(rho, share, events)) == pytest.approx(
        norm.cdf(mu - z) + norm.cdf(-mu - z), rel=1e-12
    )
    # n_cases rescales the information: 20 cases of this kind = twice the information
    assert float(T.wald_power(rho, share, events, n_cases=20)) == pytest.approx(
        float(T.wald_power(rho, np.full(20, 0.25), np.full(20, 3))), rel=1e-12
    )


# --------------------------------------------------------------------------------------------
# The classic R examples (R SCCS 1.7 numbers from data/external/sccs-r/README.md)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "term", "coef", "se"),
    [
        ("standardsccs_itp.mod1", "mmr1", 1.509563, 0.351204),
        ("standardsccs_itp.mod3", "mmr2", 1.784059, 0.438839),
        ("standardsccs_int.mod", "opv3", 0.141619, 0.254289),
        ("extra_am.mod1", "mmr1", 2.487975, 0.708488),
    ],
)
def test_r_example_rebuilt_from_raw_data(name: str, term: str, coef: float, se: float) -> None:
    ex = T.r_example(name)
    fit = SCCS().fit(ex.intervals, ex.terms)
    ours = next(t for t in ex.terms if ex.r_terms[t] == term)
    assert fit.params[ours] == pytest.approx(coef, abs=1e-6)
    assert fit.bse[ours] == pytest.approx(se, abs=1e-6)
    assert len(ex.terms) == len(ex.reference["coefficients"])


# --------------------------------------------------------------------------------------------
# Event-dependent end of observation (t6-event-ends-observation)
# --------------------------------------------------------------------------------------------
def test_early_end_without_events_is_exponential() -> None:
    """No events: the observation ends early with probability 1 - exp(-rate * planned days)."""
    sc = T.Scenario(n_individuals=20000, rate_per_year=1e-9, frailty_shape=None,
                    obs_days=(730, 730), end_rate_per_year=0.3, end_hr_after_event=50.0)
    ind = T.simulate_cohorts(sc, seed=2).individuals
    p = 1 - math.exp(-0.3 * 729 / T.DAYS_PER_YEAR)  # floor(T0) < 729 <=> T0 < 729
    assert abs(ind["censored"].mean() - p) < 4 * math.sqrt(p * (1 - p) / len(ind))
    early = ind["censored"] == 1
    assert (ind.loc[early, "obs_end"] < 729).all() and (ind.loc[~early, "obs_end"] == 729).all()
    assert (ind["planned_end"] == 729).all()


def test_early_end_after_first_event_has_the_raised_rate() -> None:
    """After the first event the end comes at rate * hr: P(end - d >= k) = exp(-rate hr k)."""
    rate, hr, k = 0.2, 10.0, 60
    sc = T.Scenario(n_individuals=40000, rate_per_year=1.0, irr=1.0, frailty_shape=None,
                    obs_days=(1000, 1000), end_rate_per_year=rate, end_hr_after_event=hr)
    c = T.simulate_cohorts(sc, seed=4)
    first = c.events.groupby(["rep", "id"])["day"].min()
    ind = c.individuals.set_index(["rep", "id"]).loc[first.index]
    room = ind["planned_end"] - first >= k
    surv = (ind.loc[room, "obs_end"] - first[room]) >= k
    p = math.exp(-rate * hr * k / T.DAYS_PER_YEAR)
    assert room.sum() > 5000
    assert abs(surv.mean() - p) < 4 * math.sqrt(p * (1 - p) / room.sum())
    # nothing is observed after the end: events and exposure lie inside observation
    last = c.events.groupby(["rep", "id"])["day"].max()
    assert (last <= c.individuals.set_index(["rep", "id"]).loc[last.index, "obs_end"]).all()
    all_ind = c.individuals
    on = all_ind["exp_start"] >= 0
    assert (all_ind.loc[on, "exp_end"] <= all_ind.loc[on, "obs_end"]).all()


def test_no_early_end_by_default() -> None:
    """end_rate_per_year = 0: observation runs to its planned end, nobody censored."""
    ind = T.simulate_cohorts(T.Scenario(n_individuals=300), n_reps=2, seed=1).individuals
    assert (ind["censored"] == 0).all() and (ind["obs_end"] == ind["planned_end"]).all()


def test_first_events_only_and_replicate_tables() -> None:
    c = _tiny_cohorts()
    c.individuals["planned_end"] = c.individuals["obs_end"]
    c.individuals["censored"] = [1, 0, 0]
    f = T.first_events_only(c)
    assert f.events.to_dict("list") == {"rep": [0, 0, 1], "id": [0, 1, 0], "day": [5, 30, 3]}
    x = T.replicate_tables(f, 0, offset_days=1000)
    assert x["observation"].to_dict("list") == {
        "id": [0, 1], "start": [1000, 1000], "end": [1099, 1059], "censored": [1, 0]}
    assert x["events"].to_dict("list") == {"id": [0, 1], "day": [1005, 1030]}
    assert x["exposure"].to_dict("list") == {"id": [0], "day": [1040], "end": [1069]}


def test_progress_map_final_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert T.progress_map(lambda x: x + 1, [1, 2, 3], desc="ext",
                          progress_file="final") == [2, 3, 4]
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("ext: 100%") and "3/3" in out[0]


# --------------------------------------------------------------------------------------------
# R beside Python (t9-from-r-to-python)
# --------------------------------------------------------------------------------------------
def test_r_coefficients_read_both_reference_files() -> None:
    """Values typed in from the reference files: sccs-r standardsccs_itp.mod1 mmr1 coef
    1.509563 (README headline), sccs-r-ext semisccs_itp.mod2 factor(sex)2 "NA"."""
    itp = T.r_coefficients("standardsccs_itp.mod1")
    assert list(itp.index) == ["mmr1"] and itp.loc["mmr1", "coef"] == pytest.approx(1.509563,
                                                                                   abs=1e-6)
    semi = T.r_coefficients("semisccs_itp.mod2")
    assert math.isnan(semi.loc["factor(sex)2", "coef"]) and semi.index[1] == "mmr1"


def test_compare_with_r_differences_and_errors() -> None:
    ref = T.r_coefficients("semisccs_itp.mod2")
    ours = ref.copy()
    ours.loc["factor(sex)2", "se"] = np.nan
    ours.loc["mmr2", "coef"] += 1e-3
    ours.loc["mmr3", "se"] -= 2e-3
    t = T.compare_with_r("semisccs_itp.mod2", ours)
    assert math.isnan(t.loc["factor(sex)2", "largest |difference|"])
    assert t.loc["mmr2", "largest |difference|"] == pytest.approx(1e-3)
    assert t.loc["mmr3", "largest |difference|"] == pytest.approx(2e-3)
    assert t["largest |difference|"].max() == pytest.approx(2e-3)
    with pytest.raises(ValueError, match="not on both sides"):
        T.compare_with_r("semisccs_itp.mod2", ours.drop(index="mmr1"))
    ours.loc["mmr1", "coef"] = np.nan
    with pytest.raises(ValueError, match="NA on one side"):
        T.compare_with_r("semisccs_itp.mod2", ours)


# --------------------------------------------------------------------------------------------
# Time effects and time-related exposure (t3-age-and-calendar-time)
# --------------------------------------------------------------------------------------------
def test_time_effect_shapes_the_event_rate() -> None:
    """Rate ratio 4 in days 0-99, 1 from day 100 on (a step made of two linear pieces): the
    event counts in the two periods follow the closed form (4 SE)."""
    sc = T.Scenario(n_individuals=20000, rate_per_year=1.0, irr=1.0, frailty_shape=None,
                    obs_days=(400, 400), time_log_rr=((99, math.log(4)), (100, 0.0)))
    ev = T.simulate_cohorts(sc, seed=8).events
    rate = 1.0 / T.DAYS_PER_YEAR * 20000
    # t < 99 at 4; on 99 <= t < 100 the log ratio falls linearly: integral (4 - 1) / log 4
    early_expected = rate * (99 * 4 + (4 - 1) / math.log(4))
    late_expected = rate * 300
    early = (ev["day"] < 100).sum()
    late = (ev["day"] >= 100).sum()
    assert abs(early - early_expected) < 4 * math.sqrt(early_expected)
    assert abs(late - late_expected) < 4 * math.sqrt(late_expected)
    assert T.time_effect(sc, [0, 99, 99.5, 100, 500]).tolist() == pytest.approx(
        [math.log(4), math.log(4), math.log(4) / 2, 0.0, 0.0])


def test_exposure_start_share_and_default_unchanged() -> None:
    """Exposure starts in the given share of observation; the default (0, 1) reproduces the
    generator's earlier draws exactly (same seed, same individuals)."""
    sc = T.Scenario(n_individuals=3000, obs_days=(300, 600), exposure_start_share=(0.5, 0.75))
    ind = T.simulate_cohorts(sc, seed=3).individuals
    length = ind["obs_end"] + 1
    assert (ind["exp_start"] >= np.floor(0.5 * length)).all()
    assert (ind["exp_start"] < 0.75 * length).all()
    assert (ind["exp_start"] / length).quantile(0.5) == pytest.approx(0.625, abs=0.01)
    a = T.simulate_cohorts(T.Scenario(n_individuals=200), seed=9)
    b = T.simulate_cohorts(T.Scenario(n_individuals=200, exposure_start_share=(0.0, 1.0)),
                           seed=9)
    pd.testing.assert_frame_equal(a.individuals, b.individuals)
    pd.testing.assert_frame_equal(a.events, b.events)


def test_to_intervals_keeps_covariates() -> None:
    """Hand-worked: individual 0 of the tiny cohorts (days 0-99, exposed 40-69) with an age
    cut at day 50 has the rows 0-39, 40-49, 50-69, 70-99 and age groups 1, 1, 2, 2."""
    from analysis.sccs.intervals import AgeGroups

    iv = T.to_intervals(_tiny_cohorts(), covariates=[AgeGroups((50,), name="time")])
    one = iv[(iv["rep"] == 0) & (iv["id"] == 0)]
    assert one["start"].tolist() == [0, 40, 50, 70]
    assert one["time"].tolist() == [1, 1, 2, 2]
    assert one["exposed"].tolist() == [0, 1, 1, 0]
