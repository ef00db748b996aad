"""The words printed about the truth-recovery studies (analysis.report.truth_words).

References: hand-computed rules, with boundaries at exactly 1.96 Monte Carlo SEs and at half the
bias absorbed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.report import truth_words as TW


@pytest.mark.parametrize(("bias", "mcse", "words"), [
    (0.0, 0.01, "is right"),
    (0.0196, 0.01, "is right"),  # exactly at the bound: not detectably biased
    (0.0197, 0.01, "overestimates the truth"),
    (-0.0197, 0.01, "underestimates the truth"),
    (-0.3, 0.2, "is right"),  # a large bias with a larger Monte Carlo SE is not detected
    (np.nan, 0.01, "cannot be judged"),
])
def test_bias_words(bias, mcse, words):
    assert TW.bias_words(bias, mcse) == words


@pytest.mark.parametrize(("unadj", "adj", "mcse", "words"), [
    (-0.2, -0.03, 0.02, "absorbs all of it"),
    (-0.2, -0.09, 0.02, "absorbs most of it"),  # 55 % removed
    (-0.2, -0.11, 0.02, "absorbs some of it"),  # 45 % removed
    (-0.2, -0.25, 0.02, "does not absorb it"),
    (-0.2, 0.08, 0.02, "overcorrects it"),
    (0.2, 0.05, 0.01, "absorbs most of it"),  # works for an upward bias too
])
def test_absorbed_words(unadj, adj, mcse, words):
    assert TW.absorbed_words(unadj, adj, mcse) == words


def test_miss_words():
    assert TW.miss_words({"a": (0.0, 0.1), "b": (0.01, 0.1)}) == "all are right"
    assert TW.miss_words({"a": (0.5, 0.1)}) == "all miss their truth"
    assert TW.miss_words({"a": (0.5, 0.1), "b": (0.0, 0.1), "c": (0.05, 0.1)}) == \
        "miss their truth at a; at b and c the estimates are right"


def _dec(biases: dict[str, float], mcse: float = 0.02) -> pd.DataFrame:
    return pd.DataFrame({"scenario": list(biases), "estimand": "all",
                         "bias_log": list(biases.values()), "bias_mcse": mcse})


def test_decomposition_words_branches():
    cancel = TW.decomposition_words(_dec({"no_prompt": 0.01, "no_prompt_flat_hgg": -0.12,
                                          "no_prompt_hgg_only": 0.15}))
    assert cancel["why"].startswith("is right only because the HGG effect cancels")
    assert "underestimates the truth when the HGG effect is flat" in cancel["why"]
    assert "interact" not in cancel["why"]  # the HGG effect alone is detectably biased here
    interact = TW.decomposition_words(_dec({"no_prompt": 0.01, "no_prompt_flat_hgg": -0.12,
                                            "no_prompt_hgg_only": 0.02}))
    assert interact["why"].endswith("the two interact rather than add")
    clean = TW.decomposition_words(_dec({"no_prompt": 0.01, "no_prompt_flat_hgg": 0.0,
                                         "no_prompt_hgg_only": 0.02}))
    assert clean["why"].startswith("is right because")
    biased = TW.decomposition_words(_dec({"no_prompt": -0.2, "no_prompt_flat_hgg": -0.12,
                                          "no_prompt_hgg_only": 0.15}))
    assert biased["why"].startswith("underestimates the truth")
    assert "cannot be judged" in TW.decomposition_words(_dec({"no_prompt": 0.0}))["why"]


def test_truth_columns_and_phrase():
    s = pd.DataFrame({"estimand": ["fwh_dose"], "truth": [0.57], "rel_bias": [1.5],
                      "rel_bias_mcse": [0.2], "coverage": [0.4], "n": [180],
                      "bias_log": [np.log(2.5)], "bias_mcse": [0.08]})
    cols = TW.truth_columns(s, [None, "fwh_dose", "unknown"])
    assert cols.iloc[1].tolist() == ["0.57", "+150.0% (20.0)", "40% of 180"]
    assert (cols.iloc[[0, 2]] == "").all().all()
    text = TW.truth_phrase(s, "fwh_dose")
    assert "overestimates the truth (relative bias +150.0%, Monte Carlo SE 20.0%)" in text
    assert "180 cohorts" in text and "covering the truth in 40% of them" in text
    assert TW.truth_phrase(s, "first") == "no known truth on this cohort"


