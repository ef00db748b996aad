"""Words for the truth-recovery studies: a bias and its Monte Carlo SE in the words the book prints.

The chapters that show the truth-recovery studies (:mod:`analysis.synthetic.recovery`,
:mod:`analysis.synthetic.recovery_ext`) print qualitative claims ("is right", "absorbs most of
it", "miss their truth"); these functions derive them from the numbers, so no such claim is typed.
A bias "is right" when it is within :data:`Z_MC` Monte Carlo SEs of zero. This module is outside
the code the studies' cache key covers, so rewording does not rerun them.

Examples
--------
>>> bias_words(-0.003, 0.020), bias_words(-0.186, 0.017)
('is right', 'underestimates the truth')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["Z_MC", "absorbed_words", "bias_words", "decomposition_words", "miss_words",
           "truth_columns", "truth_phrase"]

#: Monte Carlo z for "not detectably different from zero" (a two-sided 95 % interval).
Z_MC: float = 1.96


def _right(bias: float, mcse: float) -> bool:
    """True when ``bias`` is within :data:`Z_MC` Monte Carlo SEs of zero."""
    return bool(abs(bias) <= Z_MC * mcse)


def bias_words(bias: float, mcse: float) -> str:
    """"is right" when the bias is not detectably different from zero at its Monte Carlo SE
    (within :data:`Z_MC` SEs), else "underestimates" or "overestimates" the truth.

    Examples
    --------
    >>> bias_words(-0.003, 0.02), bias_words(-0.186, 0.017), bias_words(0.1, 0.02)
    ('is right', 'underestimates the truth', 'overestimates the truth')
    """
    if not np.isfinite(bias) or not np.isfinite(mcse):
        return "cannot be judged"
    if _right(bias, mcse):
        return "is right"
    return "underestimates the truth" if bias < 0 else "overestimates the truth"


def absorbed_words(unadjusted: float, adjusted: float, mcse: float) -> str:
    """How much of the unadjusted model's bias an adjustment removes (biases on the log scale,
    ``mcse`` the adjusted bias's Monte Carlo SE).

    Examples
    --------
    >>> absorbed_words(-0.2, -0.01, 0.02), absorbed_words(-0.2, -0.06, 0.02)
    ('absorbs all of it', 'absorbs most of it')
    >>> absorbed_words(-0.2, -0.15, 0.02), absorbed_words(-0.2, 0.1, 0.02)
    ('absorbs some of it', 'overcorrects it')
    >>> absorbed_words(-0.2, -0.3, 0.02)
    'does not absorb it'
    """
    if _right(adjusted, mcse):
        return "absorbs all of it"
    if np.sign(adjusted) != np.sign(unadjusted):
        return "overcorrects it"
    share = 1 - adjusted / unadjusted
    if share >= 0.5:
        return "absorbs most of it"
    return "absorbs some of it" if share > 0 else "does not absorb it"


def miss_words(biases: Mapping[str, tuple[float, float]]) -> str:
    """Which of several estimates miss their truth: ``biases`` maps a name (e.g. a threshold)
    to (bias, Monte Carlo SE).

    Examples
    --------
    >>> miss_words({"700": (0.2, 0.02), "400": (-0.003, 0.02), "200": (-0.3, 0.03)})
    'miss their truth at 700 and 200; at 400 the estimate is right'
    >>> miss_words({"700": (0.2, 0.02), "400": (0.1, 0.02)})
    'all miss their truth'
    """
    miss = [k for k, (b, s) in biases.items() if not _right(b, s)]
    ok = [k for k in biases if k not in miss]

    def join(xs: list[str]) -> str:
        return xs[0] if len(xs) == 1 else ", ".join(xs[:-1]) + " and " + xs[-1]

    if not ok:
        return "all miss their truth"
    if not miss:
        return "all are right"
    rest = "the estimate is" if len(ok) == 1 else "the estimates are"
    return f"miss their truth at {join(miss)}; at {join(ok)} {rest} right"


def truth_columns(summary: pd.DataFrame, keys: Sequence[str | None]) -> pd.DataFrame:
    """Table columns to put beside the estimates of ``keys`` (None: a row without one): the
    truth, the expected relative bias with its Monte Carlo SE, and the 95 % CI coverage.

    Examples
    --------
    >>> s = pd.DataFrame({"estimand": ["first"], "truth": [0.57], "rel_bias": [-0.2],
    ...                   "rel_bias_mcse": [0.03], "coverage": [0.7], "n": [200]})
    >>> truth_columns(s, ["first", None]).iloc[:, 1].tolist()
    ['-20.0% (3.0)', '']
    """
    s = summary.set_index("estimand")
    rows = []
    for k in keys:
        if k is None or k not in s.index:
            rows.append({"Truth": "", "Expected bias (MC SE)": "", "CI coverage": ""})
            continue
        r = s.loc[k]
        rows.append({"Truth": f"{r['truth']:.2f}",
                     "Expected bias (MC SE)":
                         f"{100 * r['rel_bias']:+.1f}% ({100 * r['rel_bias_mcse']:.1f})",
                     "CI coverage": f"{100 * r['coverage']:.0f}% of {int(r['n'])}"})
    return pd.DataFrame(rows)


def truth_phrase(summary: pd.DataFrame | None, key: str) -> str:
    """The truth and the expected bias of method ``key`` in words, for the chapter's prose
    (``summary``: :func:`summarise_methods`; None on a cohort without a known truth).

    Examples
    --------
    >>> s = pd.DataFrame({"estimand": ["first"], "truth": [0.57], "rel_bias": [-0.2],
    ...                   "rel_bias_mcse": [0.03], "coverage": [0.7], "n": [200],
    ...                   "bias_log": [-0.223], "bias_mcse": [0.0375]})
    >>> truth_phrase(s, "first")
    ... # doctest: +NORMALIZE_WHITESPACE
    'truth 0.57; over 200 cohorts this model underestimates the truth (relative bias -20.0%,
    Monte Carlo SE 3.0%), its 95% interval covering the truth in 70% of them'
    >>> truth_phrase(None, "first")
    'no known truth on this cohort'
    """
    if summary is None or key not in set(summary["estimand"]):
        return "no known truth on this cohort"
    r = summary.set_index("estimand").loc[key]
    words = bias_words(float(r["bias_log"]), float(r["bias_mcse"]))
    return (f"truth {r['truth']:.2f}; over {int(r['n'])} cohorts this model {words} "
            f"(relative bias {100 * r['rel_bias']:+.1f}%, Monte Carlo SE "
            f"{100 * r['rel_bias_mcse']:.1f}%), its 95% interval covering the truth in "
            f"{100 * r['coverage']:.0f}% of them")


def decomposition_words(summary: pd.DataFrame, estimand: str = "all") -> dict[str, str]:
    """Words for the bias decomposition of ``estimand`` (``summary``:
    :func:`analysis.synthetic.recovery_ext.decomposition_summary`): :func:`bias_words` of each
    scenario (by scenario key) and ``why``, the reason the estimate without prompting is (or is
    not) right, read from the scenario with prompting off and the HGG effect flat.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["no_prompt", "no_prompt_flat_hgg", "no_prompt_hgg_only",
    ...                                "none"], "estimand": "all",
    ...                   "bias_log": [-0.011, -0.124, 0.024, -0.015],
    ...                   "bias_mcse": [0.017, 0.018, 0.02, 0.017]})
    >>> w = decomposition_words(s)
    >>> w["no_prompt"], w["no_prompt_flat_hgg"], w["none"]
    ('is right', 'underestimates the truth', 'is right')
    >>> w["why"]  # doctest: +ELLIPSIS
    'is right only because ... cancels ... the two interact rather than add'
    """
    s = summary[summary["estimand"] == estimand].set_index("scenario")
    words = {k: bias_words(float(r["bias_log"]), float(r["bias_mcse"])) for k, r in s.iterrows()}
    if not {"no_prompt", "no_prompt_flat_hgg"} <= set(words):
        return {**words, "why": "cannot be judged without every scenario"}
    others = words["no_prompt_flat_hgg"]
    if words["no_prompt"] != "is right":
        why = (f"{words['no_prompt']}: the other time-varying effects leave a bias of their own, "
               "so prompting is not the whole story")
    elif others == "is right":
        why = "is right because the other time-varying effects leave little bias of their own"
    else:
        why = ("is right only because the HGG effect cancels the bias that early daratumumab, "
               f"progression and season cause without it (the estimate {others} when the HGG "
               "effect is flat) at these parameters")
        if words.get("no_prompt_hgg_only") == "is right":
            why += ("; the HGG effect alone leaves no detectable bias, so the two interact "
                    "rather than add")
    return {**words, "why": why}
