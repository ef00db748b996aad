"""Tests of analysis.study.extensions: the study's inputs for the SCCS extensions.

The library's estimators are tested against R elsewhere (test_sccs_ext, test_sccs_rapi); here
each adaptation is checked against inputs written by hand from the toy cohort's dates
(tests/_helpers_study.py), against brute force (the semiparametric likelihood maximised by
scipy on a naive per-day table) or against another route through the study layer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _helpers_study import day, day_level_reference, make_cohort
from scipy import optimize

from analysis import study
from analysis.sccs import SCCS
from analysis.sccs import power as P
from analysis.sccs.eventdep_exposure import fit_eventdep_exposure
from analysis.sccs.eventdep_observation import fit_eventdep_observation
from analysis.sccs.intervals import Exposure
from analysis.study import extensions as X
from analysis.study.definitions import StudyError

# Toy cohort (IVIG group), dara_start 2019-01-01 for all:
# A: dara_last 03-01 -> observation 01-01 .. 03-31 (90 days); IVIG 01-20 -> on 01-20 .. 02-18
#    (30 days), off 60; infections 01-05 (first, off), 01-20, 01-25; dara_last - 01-25 = 35 days.
# B: dara_last 06-01 -> observation 01-01 .. 07-01 (182 days); IVIG 02-01, 03-01 (one course,
#    on 02-01 .. 03-30 = 58 days), 05-01 (on 05-01 .. 05-30 = 30 days): on 88, off 94;
#    infections 03-10 (first, on), 04-15, 06-01 (the day of the last dara dose: "stopped after
#    an infection").
# C: dara_last 04-30 but died 03-15 -> observation 01-01 .. 03-15 (74 days); IVIG 01-10 -> on
#    01-10 .. 02-08 (30 days), off 44; infections 01-15 (first, on), 03-01.
# D: IVIG 02-01, no infection (not a case).
TOY = dict(
    patients=[
        {"patient_id": "A", "dara_last": "2019-03-01"},
        {"patient_id": "B", "dara_last": "2019-06-01"},
        {"patient_id": "C", "dara_last": "2019-04-30", "death_date": "2019-03-15"},
        {"patient_id": "D", "dara_last": "2019-03-01"},
    ],
    ivig=[("A", "2019-01-20"), ("B", "2019-02-01"), ("B", "2019-03-01"), ("B", "2019-05-01"),
          ("C", "2019-01-10"), ("D", "2019-02-01")],
    infections=[("A", "2019-01-05"), ("A", "2019-01-20"), ("A", "2019-01-25"),
                ("B", "2019-03-10"), ("B", "2019-04-15"), ("B", "2019-06-01"),
                ("C", "2019-01-15"), ("C", "2019-03-01")],
)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_cohort(tmp_path_factory.mktemp("toy"), **TOY)


def _random(folder, seed=5, n=25):
    """A random cohort and its raw dates (for inputs written independently of the code)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2018-08-01")
    patients, ivig, infections = [], [], []
    for i in range(n):
        pid = f"R{i:02d}"
        s = start + pd.Timedelta(days=int(rng.integers(0, 300)))
        dur = int(rng.integers(120, 500))
        patients.append({"patient_id": pid, "dara_start": str(s.date()),
                         "dara_last": str((s + pd.Timedelta(days=dur)).date())})
        first = int(rng.integers(0, dur))
        for k in range(int(rng.integers(1, 6))):
            ivig.append((pid, str((s + pd.Timedelta(days=first + 28 * k)).date())))
        for off in rng.integers(0, dur + 30, size=rng.integers(1, 6)):
            infections.append((pid, str((s + pd.Timedelta(days=int(off))).date())))
    return make_cohort(folder, patients, ivig=ivig, infections=infections), patients, ivig, \
        infections


# --- observation and first infections --------------------------------------------------------
def test_observation_table_censoring_by_hand(toy):
    obs = X.observation_table(toy).set_index("id")
    assert obs.loc["A", "start"] == day("2019-01-01") and obs.loc["A", "end"] == day("2019-03-31")
    assert obs.loc["C", "end"] == day("2019-03-15")
    assert obs["censored"].to_dict() == {"A": 0, "B": 0, "C": 1, "D": 0}
    stop = X.observation_table(toy, censor="death_or_stop").set_index("id")
    assert stop["censored"].to_dict() == {"A": 0, "B": 1, "C": 1, "D": 0}
    with pytest.raises(StudyError, match="censor must be"):
        X.observation_table(toy, censor="never")


def test_first_infection_fit_equals_hand_intervals(toy):
    iv = study.study_intervals(toy, X.first_only("all"), cases_only=True)
    assert sorted(iv.groupby("id")["events"].sum().items()) == [("A", 1), ("B", 1), ("C", 1)]
    hand = pd.DataFrame({"id": ["A", "A", "B", "B", "C", "C"], "on_ivig": [1, 0, 1, 0, 1, 0],
                         "days": [30, 60, 88, 94, 30, 44], "events": [0, 1, 1, 0, 1, 0]})
    got = SCCS().fit(iv, ["on_ivig"])
    ref = SCCS().fit(hand, ["on_ivig"])
    assert got.params["on_ivig"] == pytest.approx(ref.params["on_ivig"], abs=1e-10)
    assert got.bse["on_ivig"] == pytest.approx(ref.bse["on_ivig"], abs=1e-10)


def test_first_only_of_an_outcome_keeps_one_per_patient(toy):
    inf = study.infections_in_observation(toy, "ivig")
    inf["grade"] = np.where(inf["date"] == pd.Timestamp("2019-01-20"), 3, 1)
    keep = X.first_only("grade3")(inf)
    assert inf.loc[keep, "date"].tolist() == [pd.Timestamp("2019-01-20")]


# --- event-dependent exposure ----------------------------------------------------------------
def test_courses_by_hand(toy):
    c = X.ivig_courses(study.study_data(toy).ivig_days).set_index(["id", "dose"])
    assert c.loc[("B", 1), "day"] == day("2019-02-01")
    assert c.loc[("B", 1), "end"] == day("2019-03-30")
    assert c.loc[("B", 2), "end"] == day("2019-05-30")
    assert len(c) == 5


def test_course_days_are_the_on_ivig_days(tmp_path):
    cohort, *_ = _random(tmp_path)
    ref = day_level_reference(cohort)
    courses = X.ivig_courses(study.study_data(cohort).ivig_days)
    span = courses["end"] - courses["day"] + 1
    days = pd.DataFrame({"id": np.repeat(courses["id"], span),
                         "d": np.concatenate([np.arange(a, b + 1) for a, b in
                                              zip(courses["day"], courses["end"], strict=True)])})
    on = ref[ref["on_ivig"] == 1][["id", "d"]]
    got = days.merge(ref[["id", "d"]]).drop_duplicates()
    pd.testing.assert_frame_equal(got.sort_values(["id", "d"]).reset_index(drop=True),
                                  on.sort_values(["id", "d"]).reset_index(drop=True),
                                  check_dtype=False)


@pytest.mark.parametrize("unit", ["dose", "course"])
def test_eventdep_exposure_equals_hand_inputs(tmp_path, unit):
    cohort, patients, ivig, infections = _random(tmp_path, seed=8, n=40)
    obs = pd.DataFrame({"id": [p["patient_id"] for p in patients],
                        "start": [day(p["dara_start"]) for p in patients],
                        "end": [day(p["dara_last"]) + 30 for p in patients]})
    ev = pd.DataFrame(infections, columns=["id", "date"])
    ev["day"] = ev["date"].map(day)
    ev = ev.merge(obs, on="id")
    ev = ev[(ev["day"] >= ev["start"]) & (ev["day"] <= ev["end"])]
    ev = ev.groupby("id", as_index=False)["day"].min()
    doses = pd.DataFrame(ivig, columns=["id", "date"])
    doses["day"] = doses["date"].map(day)
    doses = doses.sort_values(["id", "day"])
    doses["dose"] = doses.groupby("id").cumcount() + 1
    if unit == "dose":
        ref = fit_eventdep_exposure(obs, ev, doses[["id", "day", "dose"]], windows=((0, 29),),
                                    name="on_ivig")
    else:  # the generator spaces a patient's doses 28 days apart: one course each
        first = doses.groupby("id", as_index=False).agg(day=("day", "min"), last=("day", "max"))
        first["end"], first["dose"] = first["last"] + 29, 1
        ref = fit_eventdep_exposure(obs, ev, first[["id", "day", "dose", "end"]],
                                    windows=((0, None),), name="on_ivig")
    got = X.fit_eventdep_exposure_study(cohort, unit=unit)
    assert got.params["on_ivig1"] == pytest.approx(ref.params["on_ivig1"], abs=1e-9)
    assert got.bse["on_ivig1"] == pytest.approx(ref.bse["on_ivig1"], abs=1e-9)


# --- event-dependent observation -------------------------------------------------------------
def test_eventdep_observation_on_dara_time_by_hand(toy):
    # time since the first dara dose (day 1 = 2019-01-01); first infections; cases A, B, C
    d0 = day("2019-01-01") - 1
    obs = pd.DataFrame({"id": ["A", "B", "C"], "start": 1,
                        "end": [day("2019-03-31") - d0, day("2019-07-01") - d0,
                                day("2019-03-15") - d0], "censored": [0, 0, 1]})
    ev = pd.DataFrame({"id": ["A", "B", "C"],
                       "day": [day(s) - d0 for s in ("2019-01-05", "2019-03-10", "2019-01-15")]})
    doses = pd.DataFrame({"id": ["A", "B", "B", "B", "C", "D"],
                          "day": [day(s) - d0 for s in ("2019-01-20", "2019-02-01", "2019-03-01",
                                                        "2019-05-01", "2019-01-10",
                                                        "2019-02-01")]})
    ref = fit_eventdep_observation(obs, ev, [Exposure("on_ivig", doses, ((0, 29),))])
    got = X.fit_eventdep_observation_study(toy)
    assert got.chosen == ref.chosen
    np.testing.assert_allclose(got.modelfit.to_numpy(), ref.modelfit.to_numpy(), atol=1e-8)
    assert got.params["on_ivig1"] == pytest.approx(ref.params["on_ivig1"], abs=1e-8)


# --- smooth and semiparametric time -----------------------------------------------------------
def test_season_step_equals_the_papers_season_model(tmp_path):
    cohort, *_ = _random(tmp_path, seed=2)
    sm = X.smooth_fits(cohort)
    paper = study.fit_sccs(cohort, adjust=("season",))
    for term in ("on_ivig", "fall_winter"):
        assert sm.fits["season_step"].params[term] == pytest.approx(paper.params[term], abs=1e-9)
    assert set(sm.fits) == {"calendar", "season_spline", "season_step", "both"}


def test_semiparametric_time_equals_brute_force(tmp_path):
    cohort, *_ = _random(tmp_path, seed=4, n=15)
    ref = day_level_reference(cohort)
    start = ref.groupby("id")["d"].transform("min")
    ref["t"] = ref["d"] - start
    cases = ref[ref.groupby("id")["events"].transform("sum") > 0]
    times = np.unique(cases.loc[cases["events"] > 0, "t"])
    at = cases[cases["t"].isin(times)].copy()
    at["k"] = np.searchsorted(times, at["t"])
    code = pd.factorize(at["id"])[0]
    x, y, k = at["on_ivig"].to_numpy(float), at["events"].to_numpy(float), at["k"].to_numpy()

    def nll(theta: np.ndarray) -> float:
        a = np.r_[0.0, theta[1:]]
        eta = theta[0] * x + a[k]
        w = np.bincount(code, weights=np.exp(eta))
        n = np.bincount(code, weights=y)
        return -float((y * eta).sum() - (n * np.log(w)).sum())

    best = optimize.minimize(nll, np.zeros(len(times)), method="BFGS",
                             options={"gtol": 1e-9, "maxiter": 5000})
    got = X.fit_semiparametric_time(cohort)
    assert list(got.ages) == list(times)
    assert got.params["on_ivig"] == pytest.approx(best.x[0], abs=1e-4)
    assert got.loglik == pytest.approx(-best.fun, abs=1e-6)


# --- power and diagnostics --------------------------------------------------------------------
def test_power_design_by_hand(toy):
    d = X.power_design(toy)
    assert (d.n_cases, d.n_events) == (3, 8)
    assert d.observed_days == pytest.approx((90 + 182 + 74) / 3)
    assert d.exposed_days == pytest.approx((30 + 88 + 30) / 3)
    args = d.sample_size_args()
    assert args == {"risk_days": pytest.approx(148 / 3), "start": 1, "end": 115,
                    "p_exposed": 1.0}
    # the library's sample size then applies Musonda's formula to these inputs
    assert P.sample_size(0.5, **args) > 0


def test_diagnostics_table_mdrr_and_rare_outcome_by_hand(toy):
    from analysis.sccs import diagnostics as D

    table = X.diagnostics_table(toy).set_index("name")
    assert list(table.index) == ["pre-exposure gain", "end-of-observation probe",
                                 "time-trend stability", "rare outcome", "MDRR"]
    assert table.loc["rare outcome", "value"] == pytest.approx(3 / 4)
    r = (30 + 88 + 30) / (90 + 182 + 74)
    assert table.loc["MDRR", "value"] == pytest.approx(D.mdrr_value(r, 8), rel=1e-9)


@pytest.mark.filterwarnings("ignore:term .* every event of every case")  # a level without
def test_first_infections_with_time_groups_equal_day_table(tmp_path):  # events: -inf in both
    cohort, *_ = _random(tmp_path, seed=6, n=30)
    ref = day_level_reference(cohort)
    ref["t"] = ref["d"] - ref.groupby("id")["d"].transform("min")
    ref["g"] = np.searchsorted(np.array(X.DARA_TIME_CUTS), ref["t"].to_numpy(), side="right")
    first = ref[ref["events"] > 0].groupby("id")["d"].min()
    ref["events"] = (ref["d"].to_numpy() == ref["id"].map(first).to_numpy()).astype(int)
    ref = ref[ref["id"].isin(first.index)]
    hand = ref.groupby(["id", "on_ivig", "g"], as_index=False).agg(
        days=("d", "size"), events=("events", "sum"))
    terms = ["on_ivig"]
    for g in sorted(hand["g"].unique())[1:]:
        hand[f"g{g}"] = (hand["g"] == g).astype(int)
        terms.append(f"g{g}")
    ref_fit = SCCS().fit(hand, terms)
    got = X.fit_first_infections(cohort, time_groups=True)
    assert got.params["on_ivig"] == pytest.approx(ref_fit.params["on_ivig"], abs=1e-9)
    assert got.params.iloc[1:].to_numpy() == pytest.approx(ref_fit.params.iloc[1:].to_numpy(),
                                                           abs=1e-9)


def test_eventdep_exposure_time_groups_equal_hand_covariate(tmp_path):
    from analysis.sccs.intervals import AgeGroups

    cohort, patients, ivig, _ = _random(tmp_path, seed=9, n=40)
    obs = X.observation_table(cohort)[["id", "start", "end"]]
    ev = study.outcome_events(cohort, X.first_only("all"))
    doses = pd.DataFrame(ivig, columns=["id", "date"])
    doses["day"] = doses["date"].map(day)
    doses = doses.sort_values(["id", "day"])
    doses["dose"] = doses.groupby("id").cumcount() + 1
    birth = pd.DataFrame({"id": [p["patient_id"] for p in patients],
                          "day": [day(p["dara_start"]) for p in patients]})
    ref = fit_eventdep_exposure(obs, ev, doses[["id", "day", "dose"]], windows=((0, 29),),
                                covariates=[AgeGroups((91, 181, 366), birth, "dara_time")],
                                name="on_ivig")
    got = X.fit_eventdep_exposure_study(cohort, time_groups=True)
    pd.testing.assert_series_equal(got.params, ref.params, atol=1e-9)
