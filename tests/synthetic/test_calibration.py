"""Tests of the calibration table (analysis.synthetic.calibration).

References: the paper's numbers read from data/paper/targets.yaml (independently of the code) and
the issue's list of required calibration rows. The SCCS rows come from the project's engine
(analysis.study / analysis.sccs), whose hand-worked cases and fixed-effects Poisson GLM checks
live in tests/sccs/test_sccs.py.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis import SYNTHETIC_DIR
from analysis.synthetic.calibration import COLUMNS, calibration_table
from analysis.synthetic.simulate import simulate_cohort

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {e["id"]: e["value"] for sec in ("targets", "design_parameters", "derived")
           for e in yaml.safe_load((ROOT / "data/paper/targets.yaml").read_text())[sec]}

#: Marginal rows required to pass on the canonical cohort (issue 10: estimates such as the SCCS
#: rate ratios are not calibrated; they are judged against truth.json in the truth-recovery study).
REQUIRED = [
    "t1_n_ivig", "t1_n_ref",
    "res1_infections_total", "res2_infections_total",
    "res1_patients_with_infection_n", "res2_patients_with_infection_n",
    "res1_g34_patients_n", "res2_g34_patients_n",
    "res2_rate_allgrade", "res2_rate_g34",
] + [f"t1_{v}_{g}_{s}" for v in ("age", "months_on_dara", "years_dx_to_dara", "lines",
                                  "prior_infections")
     for g in ("ivig", "ref") for s in ("median", "min", "max")] + [
    f"t1_{k}_{g}_n" for g in ("ivig", "ref") for k in (
        "sex_male", "sex_female", "heavy_none", "heavy_igg", "heavy_iga", "heavy_igd",
        "heavy_ige", "heavy_igm", "light_lambda", "light_kappa", "light_both", "iss_1", "iss_2",
        "iss_3", "riss_1", "riss_2", "riss_3", "hrcyto_no", "hrcyto_yes", "hgg700_no",
        "hgg700_yes", "hgg400_no", "hgg400_yes", "prior_inf_0", "prior_inf_1", "prior_inf_2",
        "prior_inf_3", "prior_inf_4plus")]


@pytest.fixture(scope="module")
def canonical():
    from analysis.study.cohort import load_cohort

    return calibration_table(load_cohort(SYNTHETIC_DIR)).set_index("target_id", drop=False)


def test_columns(canonical):
    assert list(canonical.columns) == COLUMNS
    assert set(canonical["status"]) <= {"pass", "fail", "info"}


def test_canonical_cohort_passes_every_required_row(canonical):
    missing = [r for r in REQUIRED if r not in canonical.index]
    assert not missing
    rows = canonical.loc[REQUIRED]
    failed = rows[rows["status"] != "pass"]
    assert failed.empty, failed[["target_id", "paper", "synthetic", "tolerance"]].to_string()


def test_canonical_cohort_has_no_failed_row(canonical):
    failed = canonical[canonical["status"] == "fail"]
    assert failed.empty, failed[["target_id", "paper", "synthetic", "tolerance"]].to_string()


def test_paper_values_come_from_targets_yaml(canonical):
    for tid, row in canonical.iterrows():
        assert row["paper"] == TARGETS[tid], tid


def test_conflicts_say_which_version(canonical):
    for tid in ("res1_years_dx_to_dara_median", "abs_hgg_any_pct", "res1_rate_on_ivig"):
        assert canonical.loc[tid, "status"] == "info"
        assert "inconsistencies.md" in canonical.loc[tid, "note"]
    assert "scaled" in canonical.loc["t1_prior_inf_1_ivig_n", "note"]


def test_estimates_are_not_judged_as_calibration(canonical):
    """SCCS rows and the crude on/off rate ratio are estimates: shown, never pass/fail."""
    from analysis.synthetic.calibration import SCCS_TARGETS

    for tid in (*SCCS_TARGETS, "drv_rate_ratio_on_off"):
        assert canonical.loc[tid, "status"] == "info", tid
        assert "truth.json" in canonical.loc[tid, "note"]


def test_provenance_column(canonical):
    """The column is the derivation's label (issue 18's list of rows, written out by hand):
    counts the generator puts in are planted, estimates of an effect whose truth was set to the
    paper's value are "truth set", the estimates no truth parameter reads are emergent."""
    assert set(canonical["provenance"]) <= {"planted", "truth set", "tuned", "selected",
                                            "emergent"}
    prov = canonical["provenance"]
    for tid in ("res1_infections_total", "t1_n_ivig", "t2_anc_lt05_g34_pct",
                "t2_alc_lt10_g12_pct", "res1_time_to_first_ivig_max"):
        assert prov[tid] == "planted", tid
    for tid in ("sccs_allgrade_irr", "sccs_g34_irr", "drv_rate_ratio_on_off",
                "sccs_allgrade_irr_adj_pre60"):
        assert prov[tid] == "truth set", tid
    for tid in ("sccs_pre60_irr", "sccs_hgg_any_irr", "sccs_hgg_severe_irr"):
        assert prov[tid] == "emergent", tid


def test_any_valid_cohort_works_and_mismatches_fail():
    """Nothing special-cases the synthetic cohort: a changed cohort gives failing rows."""
    t = dict(simulate_cohort(3))
    inf = t["infections"]
    p = t["patients"]
    ivig_ids = set(p.loc[p["group"] == "ivig", "patient_id"])
    first_ivig_inf = inf.index[inf["patient_id"].isin(ivig_ids)][0]
    t["infections"] = inf.drop(index=first_ivig_inf).reset_index(drop=True)
    drop_ref = p.index[p["group"] == "reference"][0]
    gone = p.loc[drop_ref, "patient_id"]
    t["patients"] = p.drop(index=drop_ref).reset_index(drop=True)
    for k in ("ivig", "infections", "igg", "progression"):
        t[k] = t[k][t[k]["patient_id"] != gone].reset_index(drop=True)
    tab = calibration_table(t).set_index("target_id")
    assert tab.loc["res1_infections_total", "status"] == "fail"
    assert tab.loc["res1_infections_total", "synthetic"] == TARGETS["res1_infections_total"] - 1
    assert tab.loc["t1_n_ref", "status"] == "fail"
    assert tab.loc["t1_n_ivig", "status"] == "pass"


# --------------------------------------------------------------------------- one computation
def test_every_value_is_our_value(monkeypatch):
    """The calibration shows analysis.paper.values.our_values (the audit's values), not a second
    computation: shift every value our_values returns and every shown value shifts with it."""
    import analysis.synthetic.calibration as cal
    from analysis.study.cohort import load_cohort

    real = cal.our_values

    def shifted(cohort, ids=None):
        out = real(cohort, ids=ids)
        return out.assign(value=out["value"] + 1000.0)

    cohort = load_cohort(SYNTHETIC_DIR)
    ids = ["t1_n_ivig", "res1_infections_total", "t2_hgg_lt700_pct", "res2_rate_g34"]
    base = calibration_table(cohort, ids=ids, provenance=False).set_index("target_id")
    monkeypatch.setattr(cal, "our_values", shifted)
    moved = calibration_table(cohort, ids=ids, provenance=False).set_index("target_id")
    for tid in ids:
        assert moved.loc[tid, "synthetic"] == pytest.approx(base.loc[tid, "synthetic"] + 1000), tid


def test_values_against_the_csv_files(canonical):
    """A few rows counted here from the cohort's CSV files, independently of the code: an
    infection counts when dated from the first daratumumab dose to the paper's 30 days after the
    last (targets.yaml), and not after death."""
    p = pd.read_csv(SYNTHETIC_DIR / "patients.csv", parse_dates=["dara_start", "dara_last",
                                                                 "death_date"])
    inf = pd.read_csv(SYNTHETIC_DIR / "infections.csv", parse_dates=["date"])
    tail = pd.Timedelta(days=TARGETS["dp_obs_end_days_after_last_dara"])
    inf = inf.merge(p, on="patient_id")
    end = (inf["dara_last"] + tail).where(inf["death_date"].isna() | (
        inf["death_date"] > inf["dara_last"] + tail), inf["death_date"])
    inf = inf[(inf["date"] >= inf["dara_start"]) & (inf["date"] <= end)]
    ivig_ids = set(p.loc[p["group"] == "ivig", "patient_id"])
    ivig_inf = inf[inf["patient_id"].isin(ivig_ids)]
    assert canonical.loc["t1_n_ivig", "synthetic"] == len(ivig_ids)
    assert canonical.loc["t1_n_ref", "synthetic"] == int((p["group"] == "reference").sum())
    assert canonical.loc["res1_infections_total", "synthetic"] == len(ivig_inf)
    assert canonical.loc["res1_patients_with_infection_n", "synthetic"] == \
        ivig_inf["patient_id"].nunique()
    g34 = ivig_inf[ivig_inf["grade"] >= 3]
    assert canonical.loc["res1_g34_patients_n", "synthetic"] == g34["patient_id"].nunique()


def test_ids_give_the_same_rows_and_fit_only_the_models_asked_for(canonical, monkeypatch):
    """``ids`` keeps those rows, unchanged; the seed search's marginal rows fit no model, one SCCS
    row fits its model only, and no Cox model is ever fitted (no hazard-ratio row)."""
    import analysis.study as study
    from analysis.study import cox
    from analysis.study.cohort import load_cohort
    from analysis.synthetic.registry import SELECTION_TARGETS

    fitted: list[str] = []
    menu = study.sccs_menu
    monkeypatch.setattr(study, "sccs_menu", lambda c, models: fitted.extend(
        m.model for m in models) or menu(c, models))
    for name in ("univariable_cox", "multivariable_cox"):
        monkeypatch.setattr(cox, name, lambda *a, **k: pytest.fail("a Cox model was fitted"))
    for ids, models in ((SELECTION_TARGETS, []), (["sccs_pre60_irr", "t1_n_ref"], ["pre60_all"])):
        fitted.clear()
        got = calibration_table(load_cohort(SYNTHETIC_DIR), ids=ids).reset_index(drop=True)
        want = canonical[canonical["target_id"].isin(ids)].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)
        assert fitted == models


def test_on_off_rates_are_means_of_per_patient_rates(canonical):
    """inconsistencies.md item 1: the paper's 1.78/3.10 are probably not pooled rates; the rows
    show the mean of per-patient rates (infection_rates' ``rate_mean``, worked by hand in
    tests/study/test_study_descriptive.py) and quote the pooled rate in the note."""
    from analysis.study.cohort import load_cohort
    from analysis.study.descriptive import infection_rates

    rates = infection_rates(load_cohort(SYNTHETIC_DIR)).set_index(["period", "season"])
    for tid, period in (("res1_rate_on_ivig", "on_ivig"), ("res1_rate_observation", "observation")):
        mean, pooled = rates.loc[(period, "all"), ["rate_mean", "rate_pooled"]]
        assert canonical.loc[tid, "synthetic"] == pytest.approx(mean, abs=5e-5), tid
        assert f"pooled: {pooled:.4g}" in canonical.loc[tid, "note"], tid
    on, off = (rates.loc[(p, "all"), "rate_pooled"] for p in ("on_ivig", "observation"))
    assert canonical.loc["drv_rate_ratio_on_off", "synthetic"] == pytest.approx(on / off, abs=5e-5)
