"""Tests of analysis.study: the contract's day counting and the paper's SCCS models.

References are independent of the code under test: day counts worked out by hand (in comments),
the closed form of the SCCS estimate for one patient, a naive per-day table
(tests/_helpers_study.py) and a statsmodels Poisson GLM with one fixed effect per patient.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _helpers_study import day, day_level_reference, make_cohort

from analysis import study

# One patient, dara 2019-01-01 .. 2019-03-01 -> observation 2019-01-01 .. 2019-03-31:
# 31 (Jan) + 28 (Feb) + 31 (Mar) = 90 days. IVIG on 2019-01-20 -> on IVIG 2019-01-20 ..
# 2019-02-18 (a .. a + 29): 12 days in Jan (20..31) + 18 in Feb = 30 days; observation 60 days.
# 30-day pre-window: 2018-12-21 .. 2019-01-19, clipped to 2019-01-01 .. 01-19 = 19 days
# (the 60-day window is clipped to the same 19 days). Infections:
#   01-05 pre-window; 01-20 first on day; 02-18 last on day; 02-19 observation;
#   03-31 last observed day (observation); 04-01 after the end (not counted).
# => on: 2 events / 30 days; off: 3 / 60; with the pre-window: pre 1/19, on 2/30, off 2/41.
ONE = dict(
    patients=[{"patient_id": "A"}],
    ivig=[("A", "2019-01-20")],
    infections=[("A", d) for d in
                ("2019-01-05", "2019-01-20", "2019-02-18", "2019-02-19", "2019-03-31",
                 "2019-04-01")],
)


@pytest.fixture(scope="module")
def one(tmp_path_factory):
    return make_cohort(tmp_path_factory.mktemp("one"), **ONE)


def test_observation_period_hand(one):
    obs = study.observation_periods(one)
    assert obs.loc[0, "start_day"] == day("2019-01-01")
    assert obs.loc[0, "end_day"] == day("2019-03-31")
    assert obs.loc[0, "days"] == 90
    assert obs.loc[0, "end"] == pd.Timestamp("2019-03-31")


def test_intervals_hand_worked(one):
    iv = study.study_intervals(one)
    on = iv[iv["on_ivig"] == 1]
    assert on["days"].sum() == 30 and on["events"].sum() == 2
    assert on["start"].min() == day("2019-01-20") and on["end"].max() == day("2019-02-18")
    off = iv[iv["on_ivig"] == 0]
    assert off["days"].sum() == 60 and off["events"].sum() == 3


def test_pre_window_hand_worked(one):
    for w in (30, 60):
        iv = study.study_intervals(one, pre_window=w)
        pre = iv[iv["pre_ivig"] == 1]
        assert pre["days"].sum() == 19 and pre["events"].sum() == 1
        assert pre["start"].min() == day("2019-01-01") and pre["end"].max() == day("2019-01-19")
        ref = iv[(iv["pre_ivig"] == 0) & (iv["on_ivig"] == 0)]
        assert ref["days"].sum() == 41 and ref["events"].sum() == 2


def test_sccs_one_patient_closed_form(one):
    # one case: the conditional MLE reproduces the observed rate ratio exactly
    fit = study.fit_sccs(one)
    assert fit.params["on_ivig"] == pytest.approx(math.log((2 / 30) / (3 / 60)), abs=1e-8)
    # SE of a log rate ratio of one case with two levels: sqrt(1/n1 + 1/n0)
    assert fit.bse["on_ivig"] == pytest.approx(math.sqrt(1 / 2 + 1 / 3), rel=1e-6)
    fit = study.fit_sccs(one, pre_window=30)
    assert fit.params["on_ivig"] == pytest.approx(math.log((2 / 30) / (2 / 41)), abs=1e-8)
    assert fit.params["pre_ivig"] == pytest.approx(math.log((1 / 19) / (2 / 41)), abs=1e-8)
    assert fit.n_cases == 1 and fit.n_events == 5


def test_dose_before_start_and_after_end(tmp_path):
    # dose 2018-12-20 exposes 12-20 .. 2019-01-18 -> only 2019-01-01 .. 01-18 = 18 days observed;
    # dose 2019-04-01 (day after the end) exposes nothing. Earliest IVIG f = 2018-12-20, so the
    # 30-day pre-window (2018-11-20 .. 12-19) lies before the observation: no pre days.
    c = make_cohort(tmp_path, [{"patient_id": "A"}], ivig=[("A", "2018-12-20"),
                                                          ("A", "2019-04-01")],
                    infections=[("A", "2019-01-18"), ("A", "2019-01-19")])
    iv = study.study_intervals(c, pre_window=30)
    assert iv.loc[iv["on_ivig"] == 1, "days"].sum() == 18
    assert iv.loc[iv["on_ivig"] == 1, "events"].sum() == 1
    assert iv["pre_ivig"].sum() == 0
    assert iv["days"].sum() == 90


def test_overlapping_and_touching_doses_merge(tmp_path):
    # P: doses 01-10 and 01-25 -> 01-10 .. 02-23 (01-25 + 29) = 22 + 23 = 45 days.
    # Q: doses 01-10 and 02-09 (= 01-10 + 30, windows touch) -> 01-10 .. 03-10 = 60 days.
    c = make_cohort(tmp_path, [{"patient_id": "P"}, {"patient_id": "Q"}],
                    ivig=[("P", "2019-01-10"), ("P", "2019-01-25"), ("Q", "2019-01-10"),
                          ("Q", "2019-02-09")])
    iv = study.study_intervals(c)
    on = iv[iv["on_ivig"] == 1].groupby("id")["days"].sum()
    assert on["P"] == 45 and on["Q"] == 60


def test_season_and_progression_hand(tmp_path):
    # dara 2019-03-01 .. 03-31 -> observation 03-01 .. 04-30: 31 fall/winter days (March),
    # 30 spring/summer days (April). Progression 2019-03-20 -> 03-20 .. 04-18 = 12 + 18 = 30 days.
    c = make_cohort(tmp_path, [{"patient_id": "A", "dara_start": "2019-03-01",
                                "dara_last": "2019-03-31"}],
                    ivig=[("A", "2019-04-10")], progression=[("A", "2019-03-20")],
                    infections=[("A", "2019-03-31"), ("A", "2019-04-01")])
    iv = study.study_intervals(c, adjust=("season", "progression"))
    assert iv.loc[iv["fall_winter"] == 1, "days"].sum() == 31
    assert iv.loc[iv["fall_winter"] == 0, "days"].sum() == 30
    assert iv.loc[iv["fall_winter"] == 1, "events"].sum() == 1
    assert iv.loc[iv["progression"] == 1, "days"].sum() == 30


def test_functional_igg_and_baseline(tmp_path):
    # IgG myeloma: 900 mg/dL with 0.5 g/dL M-spike -> 900 - 500 = 400; 300 with 0.5 -> floored 0;
    # a missing M-spike counts as 0. Other heavy chains keep the total IgG.
    c = make_cohort(
        tmp_path,
        [{"patient_id": "G", "heavy_chain": "IgG"}, {"patient_id": "A", "heavy_chain": "IgA"},
         {"patient_id": "N", "heavy_chain": "IgG"}],
        igg=[("G", "2018-10-02", "100"),          # start - 91: outside the baseline window
             ("G", "2018-10-03", "900", "0.5"),   # start - 90: baseline = 400
             ("G", "2019-02-01", "300", "0.5"),   # -> 0
             ("A", "2019-01-11", "650", "0.3"),   # start + 10: baseline = 650 (no subtraction)
             ("N", "2019-01-12", "800")],         # start + 11: no baseline
    )
    f = study.functional_igg(c).set_index(["patient_id", "date"])["functional_igg"]
    assert f[("G", pd.Timestamp("2018-10-03"))] == 400
    assert f[("G", pd.Timestamp("2019-02-01"))] == 0
    assert f[("G", pd.Timestamp("2018-10-02"))] == 100
    assert f[("A", pd.Timestamp("2019-01-11"))] == 650
    b = study.baseline_igg(c).set_index("patient_id")["baseline_igg"]
    assert b["G"] == 400 and b["A"] == 650 and np.isnan(b["N"])


def test_igg_level_on_a_day_and_hgg_models(tmp_path):
    # A (IgA): 650 on 01-11 (start+10, the baseline) and 350 on 02-15.
    #   01-01..01-10 take the baseline 650, 01-11..02-14 650, 02-15..03-31 350 (14 + 31 = 45 d).
    #   < 700: all 90 days; < 400: 45 days; < 200: none.
    # N: only 800 on 01-12 (start + 11): 01-01..01-11 (11 days) unknown -> leave HGG models.
    c = make_cohort(
        tmp_path, [{"patient_id": "A"}, {"patient_id": "N"}],
        igg=[("A", "2019-01-11", "650"), ("A", "2019-02-15", "350"), ("N", "2019-01-12", "800")],
        infections=[("A", "2019-01-02"), ("A", "2019-03-01"), ("N", "2019-01-05"),
                    ("N", "2019-02-01")],
    )
    lv = study.igg_on_days(c, np.array(["A", "A", "A", "N", "N"]),
                           np.array([day("2019-01-01"), day("2019-02-14"), day("2019-02-15"),
                                     day("2019-01-11"), day("2019-01-12")]))
    np.testing.assert_array_equal(lv[:3], [650, 650, 350])
    assert np.isnan(lv[3]) and lv[4] == 800
    iv700 = study.study_intervals(c, hgg=700)
    days = iv700.groupby("id")["days"].sum()
    assert days["A"] == 90 and days["N"] == 79
    assert iv700["events"].sum() == 3  # N's 01-05 infection is on an unknown day
    iv400 = study.study_intervals(c, hgg=400)
    a = iv400[iv400["id"] == "A"]
    assert a.loc[a["igg_below_400"] == 1, "days"].sum() == 45
    assert a.loc[a["igg_below_400"] == 1, "events"].sum() == 1
    assert study.model_terms(hgg=400) == ["igg_below_400"]


def test_outcome_masks(tmp_path):
    inf = [{"patient_id": "A", "date": "2019-01-05", "grade": g, "organism": o}
           for g, o in (("1", "bacterial"), ("3", "viral"), ("4", "bacterial"), ("2", "fungal"),
                        ("5", "unconfirmed"))]
    c = make_cohort(tmp_path, [{"patient_id": "A"}], infections=inf)
    counts = {o: len(study.outcome_events(c, o)) for o in study.OUTCOMES}
    assert counts == {"all": 5, "grade3": 3, "bacterial": 2, "viral": 1}


def test_named_site_type_and_custom_outcomes(tmp_path):
    """Figure 1's grade, type and site outcomes, counted by hand, and a custom predicate."""
    rows = (("1", "bacterial", "upper_respiratory", "0.4"), ("3", "viral", "lower_respiratory", ""),
            ("4", "fungal", "lower_respiratory", "1.2"), ("2", "unconfirmed", "urinary", "0.3"),
            ("2", "viral", "skin_soft_tissue", ""), ("3", "bacterial", "bloodstream", "2.0"),
            ("1", "unconfirmed", "other", ""), ("2", "bacterial", "gastrointestinal", ""))
    inf = [{"patient_id": "A", "date": "2019-01-05", "grade": g, "organism": o, "site": s,
            "anc": anc} for g, o, s, anc in rows]
    c = make_cohort(tmp_path, [{"patient_id": "A"}], infections=inf)
    counts = {o: len(study.outcome_events(c, o)) for o in study.NAMED_OUTCOMES}
    assert counts == {"all": 8, "grade12": 5, "grade3": 3, "bacterial": 3, "viral": 2,
                      "fungal": 1, "respiratory": 3, "upper_respiratory": 1,
                      "lower_respiratory": 2, "gastrointestinal": 1, "urinary": 1,
                      "skin_soft_tissue": 1, "bloodstream": 1, "other": 1}
    assert set(study.OUTCOMES) <= set(study.NAMED_OUTCOMES)
    assert all(o in study.OUTCOME_LABELS for o in study.NAMED_OUTCOMES)

    def neutropenic(d):
        return d["anc"] < 0.5  # missing ANC -> False

    assert len(study.outcome_events(c, neutropenic)) == 2
    assert study.outcome_label(neutropenic) == "neutropenic infections"
    with pytest.raises(study.StudyError, match="2 values for 8"):
        study.outcome_events(c, lambda d: [True, False])
    with pytest.raises(study.StudyError, match=r"no cases: .*custom outcome"):
        study.fit_sccs(c, lambda d: d["anc"] < 0.1)


def _random_cohort(folder, seed=3, n=12):
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2018-08-01")
    patients, ivig, infections, progression, igg = [], [], [], [], []
    for i in range(n):
        pid = f"R{i}"
        s = start + pd.Timedelta(days=int(rng.integers(0, 300)))
        dur = int(rng.integers(60, 500))
        patients.append({"patient_id": pid, "dara_start": str(s.date()),
                         "dara_last": str((s + pd.Timedelta(days=dur)).date())})
        for off in np.sort(rng.integers(-40, dur + 40, size=rng.integers(0, 6))):
            ivig.append((pid, str((s + pd.Timedelta(days=int(off))).date())))
        for off in rng.integers(-10, dur + 40, size=rng.integers(1, 8)):
            infections.append((pid, str((s + pd.Timedelta(days=int(off))).date())))
        for off in rng.integers(0, dur, size=rng.integers(0, 2)):
            progression.append((pid, str((s + pd.Timedelta(days=int(off))).date())))
        for off in rng.integers(-80, dur, size=rng.integers(0, 4)):
            igg.append((pid, str((s + pd.Timedelta(days=int(off))).date()),
                        str(int(rng.integers(100, 1000)))))
    return make_cohort(folder, patients, ivig=ivig, infections=infections,
                       progression=progression, igg=igg)


@pytest.mark.parametrize("pre_window", [None, 30, 60])
def test_intervals_match_naive_day_table(tmp_path, pre_window):
    c = _random_cohort(tmp_path)
    ref = day_level_reference(c, pre_window=pre_window)
    keys = ["id", "on_ivig", "pre_ivig", "fall_winter", "progression"]
    expected = ref.groupby(keys)[["events"]].sum().assign(days=ref.groupby(keys).size())
    iv = study.study_intervals(c, pre_window=pre_window, adjust=("season", "progression"))
    if "pre_ivig" not in iv:
        iv["pre_ivig"] = 0
    got = iv.groupby(keys)[["events", "days"]].sum()
    pd.testing.assert_frame_equal(got.sort_index(), expected[["events", "days"]].sort_index(),
                                  check_dtype=False)


def test_sccs_matches_fixed_effects_poisson_glm(tmp_path):
    """The conditional Poisson estimate equals the Poisson GLM with one dummy per patient."""
    import statsmodels.api as sm

    c = _random_cohort(tmp_path, seed=11, n=15)
    for kwargs in ({}, {"pre_window": 30, "adjust": ("season",)}):
        fit = study.fit_sccs(c, **kwargs)
        data = study.study_intervals(c, cases_only=True, **kwargs)
        terms = list(fit.params.index)
        fe = pd.get_dummies(data["id"], dtype=float)
        x = pd.concat([data[terms].astype(float), fe], axis=1)
        glm = sm.GLM(data["events"].astype(float), x, family=sm.families.Poisson(),
                     offset=np.log(data["days"].astype(float))).fit(tol=1e-12)
        np.testing.assert_allclose(fit.params[terms], glm.params[terms], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(fit.bse[terms], glm.bse[terms], rtol=1e-5)


def test_bad_requests(one):
    with pytest.raises(study.StudyError, match="unknown outcome"):
        study.fit_sccs(one, "parasitic")  # not a named outcome ("fungal" is one)
    with pytest.raises(study.StudyError, match="boolean mask"):
        study.fit_sccs(one, 3)
    with pytest.raises(study.StudyError, match="HGG threshold"):
        study.fit_sccs(one, hgg=500)
    with pytest.raises(study.StudyError, match="adjustment"):
        study.fit_sccs(one, adjust=("age",))
    with pytest.raises(study.StudyError, match="no cases"):
        study.fit_sccs(one, "viral")


def test_menu_columns_and_failed_models(one):
    # which paper id each row estimates: tests/paper/test_paper_ids.py
    menu = study.sccs_menu(one, study.PAPER_MODELS[:1])
    assert list(menu.columns) == study.MENU_COLUMNS
    assert menu.loc[0, "irr"] == pytest.approx(4 / 3)
    # an outcome without cases gives a NaN row with the reason, not an exception
    menu = study.sccs_menu(one, [m for m in study.PAPER_MODELS if m.model == "viral"])
    assert np.isnan(menu.loc[0, "irr"]) and "no cases" in menu.loc[0, "warning"]
