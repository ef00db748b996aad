"""The reproduction audit: every number the paper prints beside the value this book computes.

Why a module: chapter 11 of the book lists each entry of ``data/paper/targets.yaml`` with our value,
a tolerance and a status, and chapters 7-10 draw the paper's estimates beside ours. Both need the
same join of "the paper's id" with "our number for that id" from the book's own analyses
(:mod:`analysis.study`, :mod:`analysis.study_descriptive`, :mod:`analysis.cox`) -- not from the
simulator's calibration check (:mod:`analysis.calibration`), which recomputes its quantities
independently. Nothing here knows whether the cohort is synthetic.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover - typing only
    from analysis.cohort import Cohort


def _num(x: Any) -> float:
    """A printed value as a float (``"NA"``, ``None`` and other strings -> NaN)."""
    if x is None or isinstance(x, (str, bool)):
        return float("nan")
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def paper_estimate_values(target_id: str | None, scale: str = "irr") -> tuple[float, float, float]:
    """The paper's ``(estimate, ci_low, ci_high)`` for ``target_id`` as floats (NaN if not printed).

    ``scale="reduction_pct"``: the paper printed ``100 (1 - IRR)`` without a CI; the implied IRR
    is returned with NaN limits.
    """
    if not target_id:
        return (float("nan"),) * 3
    from analysis.book import paper_entry

    e = paper_entry(target_id)
    if scale == "reduction_pct":
        v = _num(e["value"])
        return (1.0 - v / 100.0 if math.isfinite(v) else v, float("nan"), float("nan"))
    return _num(e["value"]), _num(e.get("ci_low")), _num(e.get("ci_high"))


def estimates_long(
    rows: pd.DataFrame,
    *,
    label: str = "label",
    est: str = "irr",
    target: str = "target_id",
    scale: str | None = "target_scale",
) -> pd.DataFrame:
    """Our estimates and the paper's in one long table (for ``figures.paper_vs_book_plot``).

    ``rows`` has one row per plotted label with our ``est``, ``ci_low``, ``ci_high`` and the
    ``targets.yaml`` id in ``target`` (None: the paper prints none). Returns columns ``label,
    source, est, ci_low, ci_high`` with a "Paper" row (when the paper prints the estimate) and a
    "This book" row per label.
    """
    out = []
    for _, r in rows.iterrows():
        tid = r[target] if isinstance(r[target], str) else None
        sc = r[scale] if scale and isinstance(r.get(scale), str) else "irr"
        p = paper_estimate_values(tid, sc)
        if math.isfinite(p[0]):
            out.append({"label": r[label], "source": "Paper", "est": p[0], "ci_low": p[1],
                        "ci_high": p[2]})
        out.append({"label": r[label], "source": "This book", "est": float(r[est]),
                    "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"])})
    return pd.DataFrame(out, columns=["label", "source", "est", "ci_low", "ci_high"])


def fit_or_reason(cohort: Cohort, outcome: str = "all", **options: Any) -> tuple[Any, str]:
    """``(fit, "")`` for one SCCS model of :func:`analysis.study.fit_sccs`, or ``(None, reason)``
    when the cohort cannot support it (no cases, a level without person-time...).

    Only the study's and the engine's own "cannot fit" errors are caught; engine warnings are
    returned as the reason text alongside the fit.
    """
    import warnings

    from analysis.sccs import SCCSError
    from analysis.study import StudyError, fit_sccs

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = fit_sccs(cohort, outcome, **options)
    except (StudyError, SCCSError) as exc:
        return None, str(exc)
    return fit, "; ".join(str(w.message) for w in caught)


def term_row(fit: Any, term: str, reason: str = "") -> dict[str, Any]:
    """One term of a fitted SCCS (or NaNs when ``fit`` is None) as a dict: ``irr, ci_low,
    ci_high, p, n_cases, n_events, warning``."""
    if fit is None or term not in fit.summary.index:
        return {"irr": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan,
                "n_cases": 0 if fit is None else fit.n_cases,
                "n_events": 0 if fit is None else fit.n_events,
                "warning": reason or f"term {term} not in the model"}
    s = fit.summary.loc[term]
    return {"irr": float(s["irr"]), "ci_low": float(s["ci_low"]), "ci_high": float(s["ci_high"]),
            "p": float(s["p"]), "n_cases": int(fit.n_cases), "n_events": int(fit.n_events),
            "warning": reason or None}
