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

from analysis.study.definitions import StudyError, fit_sccs, model_terms

if TYPE_CHECKING:  # pragma: no cover
    from analysis.study.cohort import Cohort


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


#: Rows of the paper's Figure 1 (infection rates by grade, type and site): outcome name of
#: :func:`analysis.study.outcome_mask`, the :func:`analysis.study.descriptive.rates_by_category`
#: category, and the row label.
FIGURE1_ROWS: tuple[tuple[str, str, str], ...] = (
    ("all", "all", "All infections"),
    ("grade12", "grade_1_2", "Grade 1-2"),
    ("grade3", "grade_3_4", "Grade 3-4"),
    ("bacterial", "bacterial", "Bacterial"),
    ("viral", "viral", "Viral"),
    ("fungal", "fungal", "Fungal"),
    ("respiratory", "respiratory", "Respiratory"),
    ("upper_respiratory", "upper_respiratory", "Upper respiratory"),
    ("lower_respiratory", "lower_respiratory", "Lower respiratory"),
    ("gastrointestinal", "gastrointestinal", "Gastrointestinal"),
    ("urinary", "urinary", "Urinary tract"),
    ("skin_soft_tissue", "skin_soft_tissue", "Skin and soft tissue"),
    ("bloodstream", "bloodstream", "Bloodstream"),
    ("other", "other", "Other sites"),
)
#: Columns of :func:`figure1_rows`.
FIGURE1_COLUMNS: list[str] = [
    "outcome", "kind", "label", "irr", "ci_low", "ci_high", "p", "n_cases", "n_events",
    "estimable", "reason", "events_on", "events_off", "events_reference", "rate_on", "rate_off",
    "rate_reference",
]


def figure1_rows(cohort: Cohort,
                 rows: Sequence[tuple[str, str, str]] = FIGURE1_ROWS) -> pd.DataFrame:
    """The paper's Figure 1 as a table: per infection category, the on-IVIG IRR (SCCS, IVIG-group
    cases, :func:`analysis.study.fit_sccs`) and the pooled rates per patient-year on IVIG, in
    observation and in the reference group (:func:`analysis.study.descriptive.rates_by_category`).

    Columns :data:`FIGURE1_COLUMNS`. A category the cohort cannot estimate is kept, with
    ``estimable`` False, NaN estimates and the ``reason``: no cases, or every case's infections
    on one side (no infection on IVIG -> IRR 0; none in observation -> IRR infinite), or the
    engine's own error. The engine's warnings on an estimable row are in ``reason`` too.
    """
    import warnings

    import numpy as np

    from analysis.sccs import SCCSError
    from analysis.study.descriptive import rates_by_category

    rates = rates_by_category(cohort)
    ev = rates.pivot(index="category", columns="period", values="events")
    rt = rates.pivot(index="category", columns="period", values="rate")
    kind = rates.drop_duplicates("category").set_index("category")["kind"]

    def cell(t: pd.DataFrame, cat: str, period: str) -> float:
        return float(t.loc[cat, period]) if period in t.columns else float("nan")

    out = []
    for outcome, cat, label in rows:
        rec: dict[str, Any] = {"outcome": outcome, "kind": kind.get(cat, ""), "label": label,
                               "irr": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan,
                               "n_cases": 0, "n_events": 0, "estimable": False, "reason": ""}
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fit = fit_sccs(cohort, outcome)
        except (StudyError, SCCSError) as exc:
            rec["reason"] = str(exc).split(":")[0] if str(exc).startswith("no cases") else str(exc)
        else:
            s = fit.summary.loc["on_ivig"]
            rec.update(n_cases=int(fit.n_cases), n_events=int(fit.n_events))
            finite = all(np.isfinite(float(s[c])) for c in ("irr", "ci_low", "ci_high"))
            if finite and float(s["irr"]) > 0:
                rec.update(irr=float(s["irr"]), ci_low=float(s["ci_low"]),
                           ci_high=float(s["ci_high"]), p=float(s["p"]), estimable=True,
                           reason="; ".join(str(w.message) for w in caught))
            elif float(s["irr"]) == 0:
                rec["reason"] = "no infection on IVIG among the cases"
            elif np.isposinf(float(s["irr"])):
                rec["reason"] = "no infection in observation among the cases"
            else:
                rec["reason"] = "; ".join(str(w.message) for w in caught) or \
                    "the model gives no confidence interval"
        for period, col in (("on_ivig", "on"), ("observation", "off"), ("reference", "reference")):
            rec[f"events_{col}"] = cell(ev, cat, period)
            rec[f"rate_{col}"] = cell(rt, cat, period)
        out.append(rec)
    return pd.DataFrame(out, columns=FIGURE1_COLUMNS)
