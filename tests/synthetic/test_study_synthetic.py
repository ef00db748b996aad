"""The paper's SCCS models on synthetic cohorts, judged against their stated truth.

Before issue 10 these tests checked that the estimates land near the paper's, which the generator
had planted. Now a cohort is drawn from a stated truth (``truth.json``) and its estimates vary by
chance around that truth. One cohort says little: on the canonical cohort even IVIG exposure
misplaced by 180 days leaves the all-grade estimate inside its 99 % interval around the truth
(issue 18). So the on-IVIG estimates are judged pooled over :data:`SEEDS` cohorts, against the
truth and the bias the truth-recovery study measures for the unadjusted model (infections
prompting IVIG pull it below the truth: -18.6 % for all grades, -21.4 % for grade 3-4, Monte
Carlo SE 1.4 and 2.8 %, 200 cohorts, commit 3a2ca6d): the mean log ratio estimate / truth must
equal log(1 + bias) within 3 combined Monte Carlo standard errors (these seeds' and the study's).
Exposure misplaced by 90 days, or an estimate pulled a third of the way towards 1, fails.
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
    from analysis.synthetic.recovery import truth_of
    from analysis.synthetic.simulate import read_truth

    return truth_of(read_truth(SYNTHETIC_DIR)["parameters"])


def _covers(row, value: float) -> bool:
    return abs(np.log(row["irr"]) - np.log(value)) <= Z99 * row["se"]


#: Seeds of the pooled check (the canonical cohort is seed 0).
SEEDS: range = range(16)
#: The truth-recovery study's relative bias of each unadjusted model and its Monte Carlo SE
#: (chapter 13-truth-recovery, 200 cohorts): an independent run on other seeds.
RECOVERY_BIAS: dict[str, tuple[float, float]] = {"primary_all": (-0.186, 0.014),
                                                 "primary_grade3": (-0.214, 0.028)}


@pytest.mark.parametrize(("model", "field"), [
    ("primary_all", "irr_on_ivig"), ("primary_grade3", "irr_on_ivig_grade34"),
])
def test_on_ivig_estimates_follow_the_truth_over_cohorts(model, field):
    from analysis.study import PAPER_MODELS, sccs_menu
    from analysis.synthetic.events import TruthParameters
    from analysis.synthetic.simulate import simulate_cohort, to_cohort

    truth = getattr(TruthParameters(), field)
    spec = [m for m in PAPER_MODELS if m.model == model]
    logs = np.array([np.log(sccs_menu(to_cohort(simulate_cohort(s)), spec)
                            .set_index("term").loc["on_ivig", "irr"] / truth) for s in SEEDS])
    bias, bias_mcse = RECOVERY_BIAS[model]
    mcse = logs.std(ddof=1) / np.sqrt(logs.size)
    tol = 3 * np.hypot(mcse, bias_mcse / (1 + bias))  # the study's SE on the log scale
    assert abs(logs.mean() - np.log1p(bias)) < tol, (model, logs.mean(), np.log1p(bias), tol)


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
