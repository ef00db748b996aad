"""The menu of the paper's SCCS analyses: every model it reports, fitted in one call.

:data:`PAPER_MODELS` lists each SCCS model of the Results (primary all-grade and grade 3-4,
bacterial, viral, 30/60-day pre-exposure windows for all-grade and grade 3+, progression- and
season-adjusted, HGG < 700/400/200) with the ``targets.yaml`` id of each reported term;
:func:`sccs_menu` fits them all on a cohort and returns one tidy table, so the book and the audit
can pair our numbers with the paper's without retyping any.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.study import StudyError, fit_sccs, model_terms

if TYPE_CHECKING:  # pragma: no cover
    from analysis.cohort import Cohort


@dataclass(frozen=True)
class SCCSModel:
    """One SCCS model the paper reports: its options and the targets.yaml id of each term.

    ``targets`` maps a term to ``(target_id, scale)``: scale ``"irr"`` when the paper prints the
    IRR, ``"reduction_pct"`` when it prints ``100 * (1 - IRR)`` (bacterial, viral).
    """

    model: str
    label: str
    outcome: str = "all"
    pre_window: int | None = None
    adjust: tuple[str, ...] = ()
    hgg: int | None = None
    targets: tuple[tuple[str, str, str], ...] = ()
    note: str = ""


_G3_PRE_NOTE = "paper does not say which pre-window its grade 3+ adjusted IRR used; both fitted"

#: Every SCCS model of the paper (Results, Part one), in reading order.
PAPER_MODELS: tuple[SCCSModel, ...] = (
    SCCSModel("primary_all", "All-grade, on IVIG vs observation", "all",
              targets=(("on_ivig", "sccs_allgrade_irr", "irr"),)),
    SCCSModel("primary_grade3", "Grade 3-4, on IVIG vs observation", "grade3",
              targets=(("on_ivig", "sccs_g34_irr", "irr"),)),
    SCCSModel("bacterial", "Bacterial, on IVIG vs observation", "bacterial",
              targets=(("on_ivig", "sccs_bacterial_reduction_pct", "reduction_pct"),)),
    SCCSModel("viral", "Viral, on IVIG vs observation", "viral",
              targets=(("on_ivig", "sccs_viral_reduction_pct", "reduction_pct"),)),
    SCCSModel("pre30_all", "All-grade with 30-day pre-IVIG window", "all", pre_window=30,
              targets=(("on_ivig", "sccs_allgrade_irr_adj_pre30", "irr"),
                       ("pre_ivig", "sccs_pre30_irr", "irr"))),
    SCCSModel("pre60_all", "All-grade with 60-day pre-IVIG window", "all", pre_window=60,
              targets=(("on_ivig", "sccs_allgrade_irr_adj_pre60", "irr"),
                       ("pre_ivig", "sccs_pre60_irr", "irr"))),
    SCCSModel("pre30_grade3", "Grade 3-4 with 30-day pre-IVIG window", "grade3", pre_window=30,
              targets=(("on_ivig", "sccs_g3plus_irr_adj_pre", "irr"),), note=_G3_PRE_NOTE),
    SCCSModel("pre60_grade3", "Grade 3-4 with 60-day pre-IVIG window", "grade3", pre_window=60,
              targets=(("on_ivig", "sccs_g3plus_irr_adj_pre", "irr"),), note=_G3_PRE_NOTE),
    SCCSModel("progression_all", "All-grade adjusted for progression", "all",
              adjust=("progression",),
              targets=(("on_ivig", "sccs_allgrade_irr_adj_progression", "irr"),)),
    SCCSModel("season_all", "All-grade adjusted for season", "all", adjust=("season",),
              targets=(("on_ivig", "sccs_allgrade_irr_adj_season", "irr"),)),
    SCCSModel("hgg700", "All-grade, functional IgG < 700 vs >= 700", "all", hgg=700,
              targets=(("igg_below_700", "sccs_hgg_any_irr", "irr"),)),
    SCCSModel("hgg400", "All-grade, functional IgG < 400 vs >= 400", "all", hgg=400,
              targets=(("igg_below_400", "sccs_hgg_moderate_irr", "irr"),)),
    SCCSModel("hgg200", "All-grade, functional IgG < 200 vs >= 200", "all", hgg=200,
              targets=(("igg_below_200", "sccs_hgg_severe_irr", "irr"),)),
)

#: Columns of :func:`sccs_menu`.
MENU_COLUMNS: list[str] = [
    "model", "label", "outcome", "term", "irr", "ci_low", "ci_high", "p", "log_irr", "se",
    "n_cases", "n_events", "loglik", "target_id", "target_scale", "note", "warning",
]


def sccs_menu(cohort: Cohort, models: Sequence[SCCSModel] = PAPER_MODELS) -> pd.DataFrame:
    """Every SCCS result of the paper on ``cohort``: one row per (model, term).

    Columns :data:`MENU_COLUMNS`. ``target_id`` is the matching ``targets.yaml`` id (or None);
    ``target_scale`` says how the paper printed it (``irr`` or ``reduction_pct`` = 100(1 - IRR)).
    A model that cannot be fitted (e.g. no cases of that outcome) gives NaN rows with the reason in
    ``warning``; engine warnings (e.g. a level without events) are recorded there too.
    """
    import warnings

    from analysis.sccs import SCCSError

    rows: list[dict[str, Any]] = []
    for m in models:
        targets = {term: (tid, scale) for term, tid, scale in m.targets}
        terms = model_terms(m.pre_window, m.adjust, m.hgg)
        base = {"model": m.model, "label": m.label, "outcome": m.outcome, "note": m.note}
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fit = fit_sccs(cohort, m.outcome, pre_window=m.pre_window, adjust=m.adjust,
                               hgg=m.hgg)
            summary = fit.summary
            warn = "; ".join(str(w.message) for w in caught) or None
            for term in terms:
                s = summary.loc[term]
                rows.append({
                    **base, "term": term, "irr": s["irr"], "ci_low": s["ci_low"],
                    "ci_high": s["ci_high"], "p": s["p"], "log_irr": s["log_irr"], "se": s["se"],
                    "n_cases": fit.n_cases, "n_events": fit.n_events, "loglik": fit.loglik,
                    "target_id": targets.get(term, (None, None))[0],
                    "target_scale": targets.get(term, (None, None))[1], "warning": warn,
                })
        except (StudyError, SCCSError) as exc:
            for term in terms:
                rows.append({
                    **base, "term": term, "n_cases": 0, "n_events": 0,
                    "target_id": targets.get(term, (None, None))[0],
                    "target_scale": targets.get(term, (None, None))[1], "warning": str(exc),
                })
    return pd.DataFrame(rows, columns=MENU_COLUMNS)
