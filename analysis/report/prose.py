"""Phrases a chapter writes from its numbers: whether an interval excludes 1, whether two overlap,
how far an estimate moved.

Why a module: a chapter's conclusions must follow from the numbers of the cohort it was built on,
never be typed. The phrases that turn an estimate into words are logic, so they live here, tested,
and every chapter that compares a model with the primary one says it the same way.

An *estimate* is a mapping ``{"irr", "lo", "hi"}`` (rate ratio and 95% CI); :func:`estimate` reads
one from any of the library's results, NaN when the model was not fitted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from analysis.report import tables

__all__ = ["MATERIAL", "change_phrase", "ci_phrase", "estimate", "is_finite", "model_row",
           "overlap_phrase"]

#: A change of a rate ratio by more than this fraction is called material.
MATERIAL = 0.10
#: Below this fraction, a change is "by less than 1%".
_NEGLIGIBLE = 0.005

Estimate = Mapping[str, float]


def estimate(fit: Any, term: str = "on_ivig") -> dict[str, float]:
    """Rate ratio and 95% CI of ``term`` from a fitted result's ``summary``.

    Reads the library's one summary schema (``irr``, ``ci_low``, ``ci_high``), which every
    fitter's result shares; NaN when ``fit`` is None (not fitted) or has no such term.

    Examples
    --------
    >>> estimate(None)
    {'irr': nan, 'lo': nan, 'hi': nan}
    """
    if fit is None or term not in fit.summary.index:
        return {"irr": math.nan, "lo": math.nan, "hi": math.nan}
    s = fit.summary.loc[term]
    return {"irr": float(s["irr"]), "lo": float(s["ci_low"]), "hi": float(s["ci_high"])}


def is_finite(e: Estimate) -> bool:
    """True when the estimate and both ends of its interval are finite numbers.

    Examples
    --------
    >>> is_finite({"irr": 0.5, "lo": 0.3, "hi": float("inf")})
    False
    """
    return all(math.isfinite(e[k]) for k in ("irr", "lo", "hi"))


def ci_phrase(e: Estimate) -> str:
    """Whether the 95% CI excludes 1, and on which side.

    Examples
    --------
    >>> ci_phrase({"irr": 0.5, "lo": 0.3, "hi": 0.8})
    'excludes 1 (a lower rate on IVIG)'
    >>> ci_phrase({"irr": 0.9, "lo": 0.5, "hi": 1.6})
    'includes 1 (no effect is excluded)'
    """
    if not is_finite(e):
        return "could not be estimated on this cohort"
    if e["hi"] < 1:
        return "excludes 1 (a lower rate on IVIG)"
    if e["lo"] > 1:
        return "excludes 1 (a higher rate on IVIG)"
    return "includes 1 (no effect is excluded)"


def overlap_phrase(e: Estimate, ref: Estimate) -> str:
    """Whether the 95% CIs of ``e`` and ``ref`` overlap (touching ends overlap).

    Examples
    --------
    >>> overlap_phrase({"irr": 2, "lo": 1.5, "hi": 3}, {"irr": 0.5, "lo": 0.3, "hi": 0.8})
    'does not overlap'
    """
    if not (is_finite(e) and is_finite(ref)):
        return "cannot be compared with"
    return "overlaps" if e["lo"] <= ref["hi"] and ref["lo"] <= e["hi"] else "does not overlap"


def change_phrase(e: Estimate, ref: Estimate, material: float = MATERIAL) -> str:
    """How far the rate ratio of ``e`` moved from that of ``ref`` (relative change): "barely"
    below ``material``, "materially" from it on, with the signed change in percent.

    Examples
    --------
    >>> change_phrase({"irr": 0.42, "lo": 0, "hi": 1}, {"irr": 0.40, "lo": 0, "hi": 1})
    'barely (+5%)'
    >>> change_phrase({"irr": 0.30, "lo": 0, "hi": 1}, {"irr": 0.40, "lo": 0, "hi": 1})
    'materially (-25%)'
    """
    if not (is_finite(e) and is_finite(ref)):
        return "could not be compared"
    change = e["irr"] / ref["irr"] - 1
    if abs(change) < _NEGLIGIBLE:
        return "barely (by less than 1%)"
    size = "barely" if abs(change) < material else "materially"
    return f"{size} ({100 * change:+.0f}%)"


def model_row(label: str, relaxes: str, e: Estimate, fit: Any = None,
              paper_id: str | None = None, events: int | None = None) -> dict[str, Any]:
    """One row of a table of models: label, the assumption it relaxes, the IRR with its CI, the
    cases and events of ``fit`` (``events`` when the fit does not count them) and the paper's
    estimate of ``paper_id`` (empty when the paper has none).

    Examples
    --------
    >>> row = model_row("Primary", "-", {"irr": 0.4, "lo": 0.26, "hi": 0.6})
    >>> row["IRR on IVIG (95% CI)"], row["Cases"], row["Paper"]
    ('0.40 (0.26–0.60)', '', '')
    """
    cases = getattr(fit, "n_cases", None)
    events = getattr(fit, "n_events", events)
    return {"Model": label, "Assumption relaxed": relaxes,
            "IRR on IVIG (95% CI)": tables.fmt_ci(e["irr"], e["lo"], e["hi"]),
            "Cases": "" if cases is None else int(cases),
            "Events": "" if events is None else int(events),
            "Paper": tables.paper_estimate(paper_id)}
