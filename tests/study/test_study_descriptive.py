"""Tests of analysis.study.descriptive on a hand-worked cohort (numbers derived in comments).

Cohort (2019 dates):
  A (ivig, IgA): dara 01-01..03-01 -> observed 01-01..03-31 = 90 days, all fall/winter (FW).
     IVIG 01-20 -> on 01-20..02-18 = 30 days; off 60 days.
     Infections: 01-25 on, grade 3, bacterial, lower resp., ANC 0.4, ALC 0.3;
                 03-10 off, grade 1, viral, upper resp., ANC 1.5, ALC 0.8;
                 03-20 off, grade 2, unconfirmed, urinary, ANC -, ALC 1.2.
     IgG: 01-05 650 (baseline, start + 4), 02-19 350 -> 650 on 01-01..02-18 (49 d), 350 on
          02-19..03-31 (41 d): < 700 all 90 days, < 400 41 days, never < 200.
  B (ivig, IgG myeloma): dara 03-01..03-31 -> observed 03-01..04-30 = 61 days: 31 FW (March),
     30 spring/summer (SS, April). IVIG 04-11 -> on 04-11..04-30 = 20 days (SS); off 41 days
     (31 FW + 10 SS). Infection 03-15 off, grade 4, bacterial, bloodstream, ANC 0.8, ALC 0.6.
     IgG: 02-20 1000 with M-spike 0.2 -> 800 (baseline); 04-05 900 with 0.3 -> 600.
          800 on 03-01..04-04 (35 d), 600 on 04-05..04-30 (26 d): share < 700 = 26/61.
  R (reference): dara 01-01..01-31 -> observed 01-01..03-02 = 61 days. Infections 02-01 grade 2
     viral upper resp.; 02-02 grade 3 fungal lower resp. No IgG.
  S (reference): same dates, IgG 01-01 300 -> < 700 on all 61 days (share 1.0). No infections.
"""

from __future__ import annotations

import pandas as pd
import pytest
from _helpers_study import make_cohort

from analysis.study import descriptive as sd

Y = 365.25


def _inf(pid, date, grade, organism, site, anc="", alc=""):
    return {"patient_id": pid, "date": date, "grade": grade, "organism": organism, "site": site,
            "anc": anc, "alc": alc}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    patients = [
        {"patient_id": "A", "heavy_chain": "IgA"},
        {"patient_id": "B", "heavy_chain": "IgG", "dara_start": "2019-03-01",
         "dara_last": "2019-03-31"},
        {"patient_id": "R", "group": "reference", "dara_last": "2019-01-31"},
        {"patient_id": "S", "group": "reference", "dara_last": "2019-01-31"},
    ]
    infections = [
        _inf("A", "2019-01-25", "3", "bacterial", "lower_respiratory", "0.4", "0.3"),
        _inf("A", "2019-03-10", "1", "viral", "upper_respiratory", "1.5", "0.8"),
        _inf("A", "2019-03-20", "2", "unconfirmed", "urinary", "", "1.2"),
        _inf("B", "2019-03-15", "4", "bacterial", "bloodstream", "0.8", "0.6"),
        _inf("R", "2019-02-01", "2", "viral", "upper_respiratory"),
        _inf("R", "2019-02-02", "3", "fungal", "lower_respiratory"),
    ]
    igg = [("A", "2019-01-05", "650"), ("A", "2019-02-19", "350"),
           ("B", "2019-02-20", "1000", "0.2"), ("B", "2019-04-05", "900", "0.3"),
           ("S", "2019-01-01", "300")]
    return make_cohort(tmp_path_factory.mktemp("desc"), patients,
                       ivig=[("A", "2019-01-20"), ("B", "2019-04-11")],
                       infections=infections, igg=igg)


def test_rates_pooled_and_mean_per_patient(cohort):
    r = sd.infection_rates(cohort).set_index(["period", "season"])
    on = r.loc[("on_ivig", "all")]
    assert on["days"] == 50 and on["events"] == 1
    assert on["rate_pooled"] == pytest.approx(1 / (50 / Y))
    assert on["rate_mean"] == pytest.approx((1 / (30 / Y) + 0) / 2)
    off = r.loc[("observation", "all")]
    assert off["days"] == 101 and off["events"] == 3
    assert off["rate_pooled"] == pytest.approx(3 / (101 / Y))
    assert off["rate_mean"] == pytest.approx((2 / (60 / Y) + 1 / (41 / Y)) / 2)
    fw = r.loc[("ivig_all", "fall_winter")]
    assert fw["days"] == 121 and fw["events"] == 4
    assert r.loc[("ivig_all", "spring_summer"), "rate_pooled"] == 0
    assert r.loc[("ivig_all", "spring_summer"), "n_patients"] == 1
    ref = r.loc[("reference", "all")]
    assert ref["days"] == 122 and ref["rate_pooled"] == pytest.approx(2 / (122 / Y))
    g3 = sd.infection_rates(cohort, "grade3").set_index(["period", "season"])
    assert g3.loc[("on_ivig", "all"), "events"] == 1
    assert g3.loc[("observation", "all"), "events"] == 1


def test_ivig_share_by_season(cohort):
    s = sd.ivig_share_by_season(cohort).set_index("season")
    assert s.loc["fall_winter", "share"] == pytest.approx(30 / 121)
    assert s.loc["spring_summer", "share"] == pytest.approx(20 / 30)
    assert s.loc["all", "share"] == pytest.approx(50 / 151)


def test_rates_by_category(cohort):
    r = sd.rates_by_category(cohort).set_index(["category", "period"])
    assert r.loc[("grade_3_4", "on_ivig"), "events"] == 1
    assert r.loc[("grade_3_4", "observation"), "events"] == 1
    assert r.loc[("grade_3_4", "reference"), "rate"] == pytest.approx(1 / (122 / Y))
    assert r.loc[("respiratory", "observation"), "events"] == 1
    assert r.loc[("fungal", "reference"), "events"] == 1


def test_patient_summary_hand(cohort):
    p = sd.patient_summary(cohort).set_index("patient_id")
    assert p.loc["A", "prop_days_on_ivig"] == pytest.approx(30 / 90)
    assert p.loc["B", "prop_days_on_ivig"] == pytest.approx(20 / 61)
    assert p.loc["A", "time_to_first_infection_months"] == pytest.approx(24 / 30.4375)
    assert p.loc["B", "time_to_first_infection_months"] == pytest.approx(14 / 30.4375)
    assert p.loc["A", "baseline_igg"] == 650 and p.loc["B", "baseline_igg"] == 800
    assert p.loc["A", "igg_before_first_ivig"] == 650 and p.loc["B", "igg_before_first_ivig"] == 600
    assert p.loc["A", "days_below_400"] == 41 and not p.loc["A", "ever_below_200"]
    assert p.loc["B", "share_below_700"] == pytest.approx(26 / 61)
    assert p.loc["R", "days_known"] == 0
    assert p.loc["A", "n_ivig_doses"] == 1 and p.loc["A", "ivig_months"] == pytest.approx(
        30 / 30.4375)


def test_hgg_time_comparison(cohort):
    h = sd.hgg_time_comparison(cohort).set_index("group")
    assert h.loc["ivig", "n"] == 2 and h.loc["reference", "n"] == 1  # R has no IgG at all
    assert h.loc["ivig", "median"] == pytest.approx((1 + 26 / 61) / 2)
    assert h.loc["ivig", "pooled"] == pytest.approx(116 / 151)
    # U of the IVIG sample: (1.0 vs 1.0) a tie counts 1/2, (26/61 vs 1.0) counts 0
    assert h.loc["ivig", "statistic"] == 0.5


def test_labs_at_infection(cohort):
    lab = sd.labs_at_infection(cohort).set_index(["lab", "grade_group", "threshold"])
    assert lab.loc[("anc", "3-4", 0.5), "pct_below"] == 50
    assert lab.loc[("anc", "3-4", 1.0), "pct_below"] == 100
    assert lab.loc[("anc", "1-2", 1.0), "n"] == 1  # one grade 1-2 infection lacks an ANC
    assert lab.loc[("alc", "1-2", 1.0), "pct_below"] == 50
    assert lab.loc[("alc", "3-4", 0.5), "pct_below"] == 50
    dist = sd.labs_at_infection(cohort)
    row = dist[(dist["lab"] == "anc") & (dist["grade_group"] == "all") & dist["threshold"].isna()]
    assert row["median"].iloc[0] == 0.8 and row["max"].iloc[0] == 1.5


def test_sites_organisms_and_summary(cohort):
    so = sd.sites_and_organisms(cohort).set_index(["group", "category"])["pct"]
    assert so[("ivig", "respiratory")] == 50
    assert so[("ivig", "bacterial")] == pytest.approx(200 / 3)  # 2 of 3 confirmed
    assert so[("ivig", "unconfirmed")] == 25  # of all 4
    assert so[("reference", "fungal")] == 50
    s = sd.infection_summary(cohort).set_index(["group", "quantity"])["value"]
    assert s[("ivig", "infections")] == 4 and s[("ivig", "patients_with_g34")] == 2
    assert s[("reference", "patients_with_infection")] == 1


def test_descriptive_values_ids_exist(cohort):
    import yaml

    from analysis import TARGETS_PATH
    from analysis.paper.values import descriptive_values  # the paper layer names the quantities

    ids = {t["id"] for t in yaml.safe_load(TARGETS_PATH.read_text())["targets"]}
    v = descriptive_values(cohort)
    assert set(v["target_id"]) <= ids
    first = v.drop_duplicates("target_id").set_index("target_id")["value"]
    assert first["t2_hgg_lt700_n"] == 2 and first["t2_hgg_lt400_n"] == 1
    assert first["res1_on_ivig_share_spring_summer_pct"] == pytest.approx(100 * 20 / 30)


def test_hgg_during_study_is_measured_in_observation(tmp_path):
    """A low baseline taken before daratumumab counts for time with HGG, not for "HGG during the
    study period" (Table 2: the lowest IgG measured during observation).

    C (ivig, IgA): dara 01-01..03-01 -> observed 01-01..03-31 (90 days). IgG 2018-12-15 500
    (baseline, start - 17) and 2019-02-01 900 -> level 500 on 01-01..01-31 (31 days < 700), 900
    after. Measured in observation: 900 only -> min_igg 900, never below 700.
    D (ivig, IgA): same dates, no IgG at all -> nothing known, not counted as HGG.
    """
    c = make_cohort(tmp_path, [{"patient_id": "C"}, {"patient_id": "D"}],
                    igg=[("C", "2018-12-15", "500"), ("C", "2019-02-01", "900")])
    h = sd.hgg_by_patient(c).set_index("patient_id")
    assert h.loc["C", "days_known"] == 90 and h.loc["C", "days_below_700"] == 31
    assert h.loc["C", "share_below_700"] == pytest.approx(31 / 90)
    assert h.loc["C", "min_igg"] == 900 and h.loc["C", "n_measured"] == 1
    assert not h.loc["C", "ever_below_700"]
    assert h.loc["D", "n_measured"] == 0 and not h.loc["D", "ever_below_700"]
    assert h.loc["D", "days_known"] == 0


def test_hgg_min_igg_hand(cohort):
    h = sd.hgg_by_patient(cohort).set_index("patient_id")
    # B: baseline 800 (02-20, before dara) is not "during the study"; 600 measured 04-05 is
    assert h.loc["B", "min_igg"] == 600 and h.loc["B", "ever_below_700"]
    assert not h.loc["B", "ever_below_400"]
    assert h.loc["A", "min_igg"] == 350 and h.loc["A", "ever_below_400"]
    assert h.loc["S", "min_igg"] == 300  # measured on the first observed day
    assert pd.isna(h.loc["R", "min_igg"]) and not h.loc["R", "ever_below_700"]


def test_first_infection_times(cohort):
    t = sd.first_infection_times(cohort).set_index("patient_id")
    # A: first onset 01-25 = start + 24; B: 03-15 = start + 14; R: 02-01 = start + 31;
    # S: no infection, censored at 03-02 = start + 60
    assert t.loc["A", "time"] == 24 and t.loc["A", "event"] == 1
    assert t.loc["B", "time"] == 14 and t.loc["R", "time"] == 31
    assert t.loc["S", "time"] == 60 and t.loc["S", "event"] == 0
    assert list(t["group"]) == ["ivig", "ivig", "reference", "reference"]
