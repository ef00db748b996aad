"""The paper's SCCS models on the canonical synthetic cohort, judged against its stated truth.

Before issue 10 these tests checked that the estimates land near the paper's, which the generator
had planted. Now the cohort is drawn from ``data/synthetic/truth.json`` and its estimates vary by
chance around that truth, so each test checks that the truth lies inside the estimate's 99 %
confidence interval (a test that fails for about one seed in a hundred per model, not for a
correct pipeline on this fixed seed; a day-counting error of the size of one on-IVIG window per
patient would move the estimates far outside it). The bias of the unadjusted estimate under this
data-generating process is measured by the truth-recovery study (tests/synthetic/test_recovery.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis import SYNTHETIC_DIR

Z99 = float(stats.norm.ppf(0.995))


@pytest.fixture(scope="module")
def cohort():
    from analysis.study.cohort import load_cohort

    return load_cohort(SYNTHETIC_DIR)


@pytest.fixture(scope="module")
def menu(cohort):
    from analysis.study import sccs_menu

    return sccs_menu(cohort).set_index(["model", "term"])


@pytest.fixture(scope="module")
def truth():
    from analysis.synthetic.events import TruthParameters
    from analysis.synthetic.simulate import read_truth

    p = read_truth(SYNTHETIC_DIR)["parameters"]
    return TruthParameters(**{k: tuple(v) if isinstance(v, list) else v for k, v in p.items()})


def _covers(row, value: float) -> bool:
    return abs(np.log(row["irr"]) - np.log(value)) <= Z99 * row["se"]


@pytest.mark.parametrize(("model", "field"), [
    ("primary_all", "irr_on_ivig"), ("primary_grade3", "irr_on_ivig_grade34"),
    ("pre60_all", "irr_on_ivig"), ("pre30_all", "irr_on_ivig"),
    ("season_all", "irr_on_ivig"), ("progression_all", "irr_on_ivig"),
])
def test_on_ivig_estimates_cover_the_truth(menu, truth, model, field):
    row = menu.loc[(model, "on_ivig")]
    assert _covers(row, getattr(truth, field)), (model, row["irr"], getattr(truth, field))


def test_hgg_estimates_cover_their_implied_truth(cohort, menu, truth):
    from analysis.synthetic.recovery import implied_hgg_irr

    implied = implied_hgg_irr(cohort, truth)
    for t in (700, 400, 200):
        row = menu.loc[(f"hgg{t}", f"igg_below_{t}")]
        assert implied[t] > 1 and _covers(row, implied[t]), (t, row["irr"], implied[t])


def test_infections_prompting_ivig_show_in_the_pre_window(menu, truth):
    """In the truth infections prompt IVIG (prompt_prob > 0): the 60-day pre-IVIG window has a
    higher rate than observation, clearly (its 95 % interval lies above 1)."""
    assert truth.prompt_prob > 0
    assert menu.loc[("pre60_all", "pre_ivig"), "ci_low"] > 1
