"""The truth-recovery loop (analysis.synthetic.recovery) on a few cohorts.

References: closed forms (a one-step HGG truth, the summary statistics of a hand-made results
table), a day-by-day recomputation of the implied HGG rate ratio with a different study function
(analysis.study.igg_on_days), and a large cohort without any bias mechanism, where the estimate
must sit on the truth within its own standard error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.synthetic.events import TruthParameters
from analysis.synthetic.recovery import (
    ESTIMANDS,
    RESULT_COLUMNS,
    implied_hgg_irr,
    recover,
    summarise,
)
from analysis.synthetic.simulate import simulate_cohort, to_cohort


def test_implied_hgg_of_a_one_step_truth_is_the_step():
    t = TruthParameters(hgg_rr=(1.0, 2.0, 2.0, 2.0))
    imp = implied_hgg_irr(to_cohort(simulate_cohort(1, truth=t)), t)
    assert imp[700] == pytest.approx(2.0, abs=1e-12)
    assert 1.0 < imp[400] < 2.0 and 1.0 < imp[200] < 2.0  # both sides mix the bands
    flat = TruthParameters(hgg_rr=(1.5, 1.5, 1.5, 1.5))
    assert implied_hgg_irr(to_cohort(simulate_cohort(1, truth=flat)), flat)[400] == \
        pytest.approx(1.0)


def test_implied_hgg_equals_a_day_by_day_count():
    from analysis.study import igg_on_days, observation_periods

    t = TruthParameters()
    c = to_cohort(simulate_cohort(2, truth=t))
    obs = observation_periods(c, "ivig")
    ids = np.repeat(obs["patient_id"].to_numpy(), obs["days"].to_numpy())
    days = np.concatenate([np.arange(a, b + 1) for a, b in
                           zip(obs["start_day"], obs["end_day"], strict=True)])
    igg = igg_on_days(c, ids, days)
    igg = igg[np.isfinite(igg)]
    mult = np.asarray(t.hgg_rr)[t.hgg_band(igg)]
    imp = implied_hgg_irr(c, t)
    for thr in (700, 400, 200):
        b = igg < thr
        assert imp[thr] == pytest.approx(mult[b].mean() / mult[~b].mean(), rel=1e-9)


@pytest.fixture(scope="module")
def few():
    return recover(range(3), progress=False)


def test_recover_rows_and_truths(few):
    assert list(few.columns) == RESULT_COLUMNS
    assert len(few) == 3 * len(ESTIMANDS)
    t = TruthParameters()
    got = few.set_index(["seed", "estimand"])
    assert (got.xs("all", level="estimand")["truth"] == t.irr_on_ivig).all()
    assert (got.xs("grade34", level="estimand")["truth"] == t.irr_on_ivig_grade34).all()
    cov = (few["ci_low"] <= few["truth"]) & (few["truth"] <= few["ci_high"])
    assert (cov == few["covered"]).all()
    assert few["irr"].nunique() == len(few)  # estimates vary between cohorts and models
    pd.testing.assert_frame_equal(few, recover(range(3), progress=False))  # deterministic
    pd.testing.assert_frame_equal(few, recover(range(3), progress=False, workers=2))


def test_recover_rows_equal_an_independent_poisson_fit(few):
    """Each row of a cohort equals a fit that is not the study's: fixed-effects Poisson regression
    (statsmodels GLM, one dummy per case, log(days) offset) on that cohort's interval table,
    whose IRR is the SCCS conditional-likelihood IRR (Farrington and Whitaker 2006)."""
    import statsmodels.api as sm

    from analysis.study import study_intervals

    cohort = to_cohort(simulate_cohort(1))
    got = few[few["seed"] == 1].set_index("estimand")
    for key, outcome, pre in (("all", "all", None), ("grade34", "grade3", None),
                              ("all_pre60", "all", 60)):
        d = study_intervals(cohort, outcome, cases_only=True, pre_window=pre)
        d = d[d["days"] > 0]
        terms = [t for t in ("on_ivig", "pre_ivig") if t in d]
        x = pd.concat([d[terms].astype(float), pd.get_dummies(d["id"], dtype=float)], axis=1)
        fit = sm.GLM(d["events"].astype(float), x, family=sm.families.Poisson(),
                     offset=np.log(d["days"].astype(float))).fit()
        assert got.loc[key, "irr"] == pytest.approx(np.exp(fit.params["on_ivig"]), rel=1e-6), key


def test_summarise_closed_form():
    res = pd.DataFrame({
        "seed": [0, 1, 2, 3], "estimand": "all", "truth": 0.5,
        "irr": [0.5, 1.0, 0.25, 0.5], "ci_low": [0.4, 0.6, 0.1, 0.2],
        "ci_high": [0.6, 1.5, 0.4, 0.9], "se": 0.2, "marginal_ok": True,
    })
    res["log_irr"] = np.log(res["irr"])
    res["covered"] = (res["ci_low"] <= 0.5) & (res["ci_high"] >= 0.5)
    s = summarise(res[RESULT_COLUMNS]).set_index("estimand").loc["all"]
    diff = np.log([1.0, 2.0, 0.5, 1.0])
    assert s["n"] == 4 and s["coverage"] == 0.5
    assert s["bias_log"] == pytest.approx(diff.mean())
    assert s["geo_mean"] == pytest.approx(0.5 * np.exp(diff.mean()))
    assert s["bias_mcse"] == pytest.approx(diff.std(ddof=1) / 2)
    assert s["coverage_mcse"] == pytest.approx(np.sqrt(0.25 / 4))


def test_large_cohort_without_bias_mechanisms_recovers_the_truth():
    """No prompting and no time-varying risk besides IVIG: the primary estimate on a large
    cohort lies within 3 of its standard errors of the truth, for two different truths."""
    from analysis.study import fit_sccs

    for x in (0.4, 0.8):
        t = TruthParameters(irr_on_ivig=x, irr_on_ivig_grade34=x, prompt_prob=0.0,
                            early_rr=1.0, progression_rr=1.0, fall_winter_rr=1.0,
                            hgg_rr=(1.0, 1.0, 1.0, 1.0))
        c = to_cohort(simulate_cohort(3, n_ivig=800, n_reference=0, truth=t))
        s = fit_sccs(c, "all").summary.loc["on_ivig"]
        assert abs(s["log_irr"] - np.log(x)) < 3 * s["se"], (x, s["irr"])
        assert s["se"] < 0.08  # large enough to mean something


# --------------------------------------------------------------------------- the shared study
def test_recovery_study_runs_once_and_reads_the_same_rows(tmp_path, monkeypatch):
    import analysis.synthetic.recovery as rec

    first = rec.recovery_study(2, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(first, recover(range(2), progress=False))
    assert len(list(tmp_path.glob("truth-recovery-*.pkl"))) == 1
    monkeypatch.setattr(rec, "recover", lambda *a, **k: pytest.fail("the study ran again"))
    pd.testing.assert_frame_equal(rec.recovery_study(2, cache_dir=tmp_path), first)
    # another truth is another study
    with pytest.raises(pytest.fail.Exception):
        rec.recovery_study(2, TruthParameters(irr_on_ivig=0.4), cache_dir=tmp_path)


def test_headline_truth_worked_by_hand():
    # truth 0.5, geometric mean 0.4: rel bias -20 %; log-scale MCSE 0.05 -> relative MCSE
    # 0.8 x 0.05 = 4 %; ours 0.3: 100 (0.3 / 0.5 - 1) = -40 %, ln(0.3 / 0.4) / 0.25 = -1.1507
    res = pd.DataFrame({"seed": 0, "estimand": "all", "truth": 0.5, "irr": [0.4],
                        "ci_low": 0.3, "ci_high": 0.6, "se": 0.2, "marginal_ok": True})
    res["log_irr"], res["covered"] = np.log(res["irr"]), True
    s = summarise(res[RESULT_COLUMNS]).assign(rel_bias_mcse=0.04, emp_se=0.25)
    from analysis.synthetic.recovery import headline_text, headline_truth

    r = headline_truth(s, {"all": 0.3}).iloc[0]
    assert r["truth"] == 0.5 and r["expected"] == pytest.approx(0.4)
    assert r["rel_bias_pct"] == pytest.approx(-20.0)
    assert r["rel_bias_mcse_pct"] == pytest.approx(4.0)
    assert r["estimate_over_truth_pct"] == pytest.approx(-40.0)
    assert r["z_from_expected"] == pytest.approx(np.log(0.75) / 0.25)
    text = headline_text(headline_truth(s, {"all": 0.3}), {"all": 0.57})
    assert "true IRR of 0.50, the paper's 0.57" in text and "{doc}`13-truth-recovery`" in text


def test_summarise_relative_mcse_is_the_delta_method():
    res = pd.DataFrame({"seed": [0, 1, 2], "estimand": "all", "truth": 0.5,
                        "irr": [0.5, 1.0, 2.0], "ci_low": 0.1, "ci_high": 3.0, "se": 0.3,
                        "marginal_ok": True})
    res["log_irr"], res["covered"] = np.log(res["irr"]), True
    s = summarise(res[RESULT_COLUMNS]).iloc[0]
    sd = np.log(2.0)  # log(estimate / truth): 0, ln2, 2 ln2 -> SD ln2, mean ln2
    assert s["rel_bias"] == pytest.approx(1.0)  # exp(ln2) - 1
    assert s["bias_mcse"] == pytest.approx(sd / np.sqrt(3))
    assert s["rel_bias_mcse"] == pytest.approx(2.0 * sd / np.sqrt(3))  # exp(ln2) x MCSE


def test_truth_of_refuses_unknown_parameters():
    from analysis.synthetic.recovery import truth_of

    with pytest.raises(ValueError, match="not_a_parameter"):
        truth_of({"not_a_parameter": 1})
