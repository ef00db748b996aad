"""The extension truth-recovery study and the bias decomposition (analysis.synthetic.recovery_ext)
on small sizes.

References: the generator's parameters themselves for the scenarios, the main study's rows for
the all-on scenario, a fit read as it is for the boundary rule, and a large cohort without any
bias mechanism, where the chapter's models must sit on the truth within their own standard
errors. The words printed about these studies: tests/report/test_truth_words.py.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from analysis.synthetic import recovery
from analysis.synthetic import recovery_ext as RX
from analysis.synthetic.events import TruthParameters
from analysis.synthetic.simulate import simulate_cohort, to_cohort


# --------------------------------------------------------------------------- scenarios
def test_scenarios_switch_off_only_what_they_say():
    base = TruthParameters()
    by_key = {s.key: s for s in RX.SCENARIOS}
    assert by_key["all_on"].truth(base) == base
    none = by_key["none"].truth(base)
    assert none.prompt_prob == 0 and none.hgg_rr == (1.0,) * 4
    assert none.early_rr == none.progression_rr == none.fall_winter_rr == 1.0
    for s in RX.SCENARIOS:
        t = s.truth(base)
        changed = {f.name for f in fields(base) if getattr(t, f.name) != getattr(base, f.name)}
        assert changed <= set(s.off), s.key
        assert t.irr_on_ivig == base.irr_on_ivig  # the truth being estimated is kept


def test_decomposition_study_rows_and_cache(tmp_path, monkeypatch):
    scen = RX.SCENARIOS[:2]
    d = RX.decomposition_study(2, scenarios=scen, cache_dir=tmp_path)
    assert list(d["scenario"].unique()) == [s.key for s in scen]
    assert len(d) == 2 * len(scen) * len(RX.DECOMPOSITION_ESTIMANDS)
    # the all-on scenario is the study itself on the same seeds
    base = recovery.recover(range(2), estimands=RX.DECOMPOSITION_ESTIMANDS, progress=False)
    pd.testing.assert_frame_equal(d[d["scenario"] == "all_on"].drop(columns="scenario")
                                  .reset_index(drop=True), base)
    # prompting off changes the cohorts (same seeds, different mechanism)
    on, off = (d[(d["scenario"] == k) & (d["estimand"] == "all")]["irr"].to_numpy()
               for k in ("all_on", "no_prompt"))
    assert not np.allclose(on, off)
    # the second call reads the cache and does not fit again
    monkeypatch.setattr(RX, "recover", lambda *a, **k: pytest.fail("refitted"))
    pd.testing.assert_frame_equal(RX.decomposition_study(2, scenarios=scen, cache_dir=tmp_path), d)
    s = RX.decomposition_summary(d)
    assert list(s.columns[:2]) == ["scenario", "scenario_label"] and len(s) == 4


# --------------------------------------------------------------------------- the methods
def test_recover_methods_rows():
    t = TruthParameters(irr_on_ivig=0.3, irr_on_ivig_grade34=0.3)
    r = RX.recover_methods([0, 1], t, methods=["primary", "first", "calendar", "semi"])
    assert list(r.columns) == recovery.RESULT_COLUMNS
    assert len(r) == 8 and (r["truth"] == 0.3).all()
    cov = (r["ci_low"] <= 0.3) & (r["ci_high"] >= 0.3)
    assert (cov == r["covered"]).all()
    s = RX.summarise_methods(r)
    assert list(s["estimand"]) == ["primary", "first", "calendar", "semi"]


def test_boundary_estimates_count_as_not_fitted():
    """Seed 2's 2009 estimator with time groups runs to a flat ridge (an IRR of about 1e-123
    when read as it is); the study counts it as not fitted instead of averaging its log."""
    from analysis.sccs import try_fit
    from analysis.study.extensions import fit_eventdep_exposure_study

    raw = try_fit(fit_eventdep_exposure_study, to_cohort(simulate_cohort(2)), "all",
                  unit="dose", time_groups=True).result
    assert abs(raw.summary.loc["on_ivig1", "log_irr"]) > RX.DEGENERATE_LOG
    r = RX.recover_methods([2], methods=["fwh_dose_t"])
    assert np.isnan(r["irr"]).all() and not r["covered"].any()


def test_large_cohort_without_bias_mechanisms_the_chapter_models_recover_the_truth():
    """No prompting and no time-varying risk besides IVIG: on a large cohort the primary, the
    pre-window and the spline models lie within 3 of their standard errors of the truth (they can
    miss it only by chance). (The semiparametric model is left out: on 800 patients, a step at
    every distinct infection day makes its information matrix singular; the study measures it on
    cohorts of the chapter's size.)"""
    t = RX.SCENARIOS[-1].truth(TruthParameters(irr_on_ivig=0.5, irr_on_ivig_grade34=0.5))
    cohort = to_cohort(simulate_cohort(3, n_ivig=800, n_reference=0, truth=t))
    keys = ("primary", "pre30", "pre60", "calendar", "season_spline", "both")
    est = RX._estimates(cohort, [m for m in RX.METHODS if m.key in keys])
    for key, (irr, _, _, se) in est.items():
        assert abs(np.log(irr) - np.log(0.5)) < 3 * se, (key, irr, se)
