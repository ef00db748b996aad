"""The reproduction audit: every number the paper prints beside the value this book computes.

Why a module: chapter 11 of the book lists each entry of ``data/paper/targets.yaml`` with our value,
a tolerance and a status, and chapters 7-10 draw the paper's estimates beside ours. Both need the
same join of "the paper's id" with "our number for that id" from the book's own analyses
(:mod:`analysis.study`, :mod:`analysis.study.descriptive`, :mod:`analysis.study.cox`). The
simulator's
calibration check (:mod:`analysis.synthetic.calibration`) reads the same study modules, so where
both give a
value for an id they agree; the audit only falls back on the calibration table for ids the book's
analyses do not compute, and borrows its tolerances and its rounding rule. Nothing here knows
whether the cohort is synthetic.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.paper.targets import printed_decimals, rounds_to

if TYPE_CHECKING:  # pragma: no cover - typing only
    from analysis.study.cohort import Cohort


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
    from analysis.paper.targets import entry as paper_entry

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


# --------------------------------------------------------------------------------------------------
# Our value for every target id
# --------------------------------------------------------------------------------------------------
#: Columns of :func:`book_values` and :func:`audit_table`.
VALUE_COLUMNS: list[str] = ["target_id", "value", "ci_low", "ci_high", "p", "source", "definition"]

#: Targets that restate another target's quantity (Abstract, Discussion, Results text): our value
#: for the second id is reused for the first.
SAME_AS: dict[str, str] = {
    "abs_ivig_n": "t1_n_ivig", "res1_ivig_n": "t1_n_ivig", "fig1_n": "t1_n_ivig",
    "abs_reference_n": "t1_n_ref", "res2_reference_n": "t1_n_ref", "disc_reference_n": "t1_n_ref",
    "res1_female_pct": "t1_sex_female_ivig_pct", "res1_age_median": "t1_age_ivig_median",
    "res1_age_min": "t1_age_ivig_min", "res1_age_max": "t1_age_ivig_max",
    "res1_igg_myeloma_pct": "t1_heavy_igg_ivig_pct",
    "res1_light_chain_only_pct": "t1_heavy_none_ivig_pct",
    "res1_prior_lines_median": "t1_lines_ivig_median", "res1_prior_lines_min": "t1_lines_ivig_min",
    "res1_prior_lines_max": "t1_lines_ivig_max", "disc_prior_lines_min": "t1_lines_ivig_min",
    "disc_prior_lines_max": "t1_lines_ivig_max",
    "res1_years_dx_to_dara_median": "t1_years_dx_to_dara_ivig_median",
    "res1_years_dx_to_dara_min": "t1_years_dx_to_dara_ivig_min",
    "res1_years_dx_to_dara_max": "t1_years_dx_to_dara_ivig_max",
    "res1_high_risk_cyto_pct": "t1_hrcyto_yes_ivig_pct",
    "res1_months_on_dara_median": "t1_months_on_dara_ivig_median",
    "res1_prior_year_infections_median": "t1_prior_infections_ivig_median",
    "res2_prior_infections_median_ivig": "t1_prior_infections_ivig_median",
    "res2_prior_infections_median_ref": "t1_prior_infections_ref_median",
    "disc_prior_infections_median_ivig": "t1_prior_infections_ivig_median",
    "disc_prior_infections_median_ref": "t1_prior_infections_ref_median",
    "abs_hgg_any_pct": "t2_hgg_lt700_pct", "abs_hgg_moderate_pct": "t2_hgg_lt400_pct",
    "disc_hgg_any_pct": "t2_hgg_lt700_pct", "disc_hgg_moderate_pct": "t2_hgg_lt400_pct",
    "disc_hgg_severe_pct": "t2_hgg_lt200_pct",
    "disc_alc_g3plus_in_g34_pct": "res1_alc_lt05_in_g34_pct",
    "text_hr_prior_infections": "t1_prior_infections_hr",
    "text_hr_prior_infections_3": "t1_prior_inf_3_hr",
    "text_hr_prior_infections_4plus": "t1_prior_inf_4plus_hr",
    "text_hr_igg_subtype": "t1_heavy_igg_hr",
}
#: Reductions (100 x (1 - IRR)) and the SCCS target whose IRR they restate.
REDUCTIONS: dict[str, str] = {
    "abs_allgrade_reduction_pct": "sccs_allgrade_irr",
    "sccs_allgrade_reduction_pct": "sccs_allgrade_irr",
    "disc_allgrade_reduction_pct": "sccs_allgrade_irr",
    "abs_g34_reduction_pct": "sccs_g34_irr",
    "sccs_g34_reduction_pct": "sccs_g34_irr",
    "disc_g34_reduction_pct": "sccs_g34_irr",
}


def _design_values() -> dict[str, float]:
    """The code's value of each design parameter the analysis uses (analysis.study constants)."""
    from analysis import study

    pre_short, pre_long = study.PRE_WINDOWS
    any_, moderate, severe = study.HGG_THRESHOLDS
    before, after = study.BASELINE_IGG_WINDOW
    return {
        "dp_obs_end_days_after_last_dara": study.OBS_TAIL_DAYS,
        "dp_on_ivig_window_days": study.ON_IVIG_DAYS,
        "dp_pre_window_short_days": pre_short, "dp_pre_window_long_days": pre_long,
        "dp_hgg_threshold": any_, "dp_moderate_hgg_high": moderate,
        "dp_moderate_hgg_low": severe, "dp_severe_hgg_threshold": severe,
        "dp_baseline_igg_window_before_days": -before,
        "dp_baseline_igg_window_after_days": after,
        "dp_anc_threshold_low": 0.5, "dp_anc_threshold_high": 1.0,
        "dp_alc_threshold_low": 0.5, "dp_alc_threshold_high": 1.0,
        "dp_cox_age_scale_years": 5, "dp_cox_years_dx_scale_years": 5,
        "dp_ivig_min_doses_methods": 1,
    }


def book_values(cohort: Cohort) -> pd.DataFrame:
    """Our value for each ``targets.yaml`` id, computed by the book's own analyses.

    Sources: :func:`analysis.study.descriptive.descriptive_values` (first reading of each id;
    other readings in ``definition``), :func:`analysis.study.models.sccs_menu`,
    :func:`analysis.study.cox.univariable_cox` / ``multivariable_cox`` /
    ``baseline_characteristics``,
    the study's design constants, and cohort-level counts for the ``drv_`` checks. Columns
    :data:`VALUE_COLUMNS`; one row per id that could be computed.
    """
    from analysis import study
    from analysis.study import cox
    from analysis.study.descriptive import (
        descriptive_values,
        infection_rates,
        labs_at_infection,
    )

    rows: dict[str, dict[str, Any]] = {}

    def put(tid: str, value: Any, source: str, definition: str = "", ci: tuple = (np.nan,) * 2,
            p: Any = np.nan) -> None:
        if tid in rows:
            return
        rows[tid] = {"target_id": tid, "value": _num(value), "ci_low": _num(ci[0]),
                     "ci_high": _num(ci[1]), "p": _num(p), "source": source,
                     "definition": definition}

    desc = descriptive_values(cohort)
    alt = desc.groupby("target_id", sort=False)
    for tid, g in alt:
        first = g.iloc[0]
        others = "; ".join(f"{d or 'other reading'}: {v:.4g}" for d, v in
                           zip(g["definition"].iloc[1:], g["value"].iloc[1:], strict=True))
        definition = first["definition"] or ""
        if others:
            definition = f"{definition or 'first reading'} (also {others})"
        put(str(tid), first["value"], "descriptive", definition)

    menu = study.sccs_menu(cohort)
    for _, r in menu[menu["target_id"].notna()].iterrows():
        note = r["note"] if isinstance(r["note"], str) else ""
        label = f"SCCS: {r['label']}"
        if r["target_scale"] == "reduction_pct":
            put(r["target_id"], 100.0 * (1.0 - r["irr"]), "sccs", f"{label}; 100 (1 - IRR)")
        else:
            put(r["target_id"], r["irr"], "sccs", f"{label}. {note}".strip(". ") if note
                else label, (r["ci_low"], r["ci_high"]), r["p"])
    irr = {r["target_id"]: r["irr"] for _, r in menu[menu["target_id"].notna()].iterrows()}

    data = cox.cox_data(cohort)
    for res, what in ((cox.univariable_cox(data), "univariable Cox"),
                      (cox.multivariable_cox(data), "multivariable Cox")):
        for _, r in res[res["target_id"].notna()].iterrows():
            put(r["target_id"], r["hr"], "cox", f"{what}, {int(r['n'])} patients",
                (r["ci_low"], r["ci_high"]), r["p"])
    base = cox.baseline_characteristics(data)
    for _, r in base.iterrows():
        for stat in ("n", "pct", "median", "min", "max"):
            tid = r.get(f"target_{stat}")
            if isinstance(tid, str):
                put(tid, r[stat], "baseline", "of patients with the value recorded"
                    if stat == "pct" else "")

    groups = data["group"].value_counts()
    put("t1_n_ivig", int(groups.get("ivig", 0)), "baseline", "patients in the IVIG group")
    put("t1_n_ref", int(groups.get("reference", 0)), "baseline", "patients in the reference group")
    for tid, other in SAME_AS.items():
        if other in rows:
            put(tid, rows[other]["value"], rows[other]["source"], f"as {other}",
                (rows[other]["ci_low"], rows[other]["ci_high"]), rows[other]["p"])
    for tid, other in REDUCTIONS.items():
        if other in irr:
            put(tid, 100.0 * (1.0 - irr[other]), "sccs", f"100 (1 - IRR of {other})")
    for tid, v in _design_values().items():
        put(tid, v, "design", "constant of the analysis code")

    # derived checks (drv_*): the cohort's own version of each arithmetic consequence
    rates = infection_rates(cohort).set_index(["period", "season"])
    rates3 = infection_rates(cohort, "grade3").set_index(["period", "season"])

    def cell(t: pd.DataFrame, period: str, col: str) -> float:
        return float(t.loc[(period, "all"), col]) if (period, "all") in t.index else np.nan

    put("drv_rate_ratio_on_off", cell(rates, "on_ivig", "rate_pooled")
        / cell(rates, "observation", "rate_pooled"), "descriptive", "pooled on/off-IVIG ratio")
    put("drv_reference_person_years", cell(rates, "reference", "person_years"), "descriptive")
    put("drv_reference_g34_infections", cell(rates3, "reference", "events"), "descriptive")
    py = cell(rates, "ivig_all", "person_years")
    for tid in ("drv_ivig_person_years_from_on_off_rates",
                "drv_ivig_person_years_from_seasonal_rates",
                "drv_ivig_person_years_from_median_followup"):
        put(tid, py, "descriptive", "the IVIG group's observed patient-years")
    for grp, ids in (("ivig", {"1-2": "drv_table2_g12_infections_with_labs",
                               "3-4": "drv_table2_g34_infections_with_labs"}),
                     ("reference", {"3-4": "drv_ref_g34_infections_with_labs"})):
        labs = labs_at_infection(cohort, grp)
        anc = labs[(labs["lab"] == "anc") & labs["threshold"].isna()].set_index("grade_group")
        for gg, tid in ids.items():
            put(tid, anc["n"].get(gg, np.nan), "descriptive", "infections with an ANC value")
    prior = data["prior_infections"].notna()
    put("drv_prior_inf_cat_n_ivig", int((prior & (data["group"] == "ivig")).sum()), "baseline",
        "patients with a prior-infection count")
    put("drv_prior_inf_cat_n_ref", int((prior & (data["group"] == "reference")).sum()),
        "baseline", "patients with a prior-infection count")
    lines = data.loc[data["group"] == "ivig", "lines"]
    put("disc_ivig_not_relapsed_n", int((lines == 0).sum()), "baseline",
        "IVIG patients with no prior line of therapy")
    return pd.DataFrame(list(rows.values()), columns=VALUE_COLUMNS)


# --------------------------------------------------------------------------------------------------
# The audit table
# --------------------------------------------------------------------------------------------------
#: Relative tolerance of estimates and continuous quantities by unit (``|ours / paper - 1|``),
#: and absolute tolerance of percentages (points), used where the calibration gives none.
RELATIVE_TOLERANCE: dict[str, float] = {
    "IRR": 0.25, "HR": 0.25, "ratio": 0.25, "infections per patient-year": 0.15,
    "patient-years": 0.15, "months": 0.15, "years": 0.15, "mg/dL": 0.15, "x10^3/uL": 0.15,
    "probability": 0.15,
}
PERCENT_POINTS: float = 5.0
#: Audit statuses, in display order.
STATUSES: tuple[str, ...] = ("match", "close", "differs", "not computed", "info")
#: Columns of :func:`audit_table`.
AUDIT_COLUMNS: list[str] = [
    "group", "target_id", "quantity", "population", "unit", "paper", "ours", "tolerance",
    "status", "source", "definition", "paper_note",
]


def audit_group(entry: dict[str, Any]) -> str:
    """The table or section a target belongs to, for grouping the audit."""
    tid, section = entry["id"], str(entry.get("section", ""))
    if entry.get("kind") == "design_parameters":
        return "Design parameters"
    if entry.get("kind") == "derived":
        return "Derived checks (not printed)"
    for prefix, group in (("t1_", "Table 1"), ("t2_", "Table 2"), ("s1_", "Supplementary Table 1"),
                          ("fig1_", "Figure 1"), ("abs_", "Abstract"), ("disc_", "Discussion"),
                          ("sccs_", "Results: SCCS models"), ("text_hr_", "Results: Cox text")):
        if tid.startswith(prefix):
            return group
    if section.startswith("Results: Part two"):
        return "Results: part two"
    return "Results: part one"


def _parse_calibration_tolerance(text: str) -> tuple[str, float] | None:
    """``exact`` / ``rounding (k dp)`` / ``±x`` / ``> x`` from the calibration table, else None."""
    if text == "exact" or text.startswith("rounding"):
        return ("rounding", 0.0)
    if text.startswith("±"):
        try:
            return ("abs", float(text[1:]))
        except ValueError:
            return None
    if text.startswith("> "):
        try:
            return ("gt", float(text[2:]))
        except ValueError:
            return None
    return None


def judge(paper: Any, ours: float, unit: str, rule: tuple[str, float] | None = None
          ) -> tuple[str, str]:
    """``(tolerance text, status)`` of our value against the paper's printed value.

    ``match``: our value rounded to the printed decimals equals the printed value (counts:
    equal). ``close``: within the tolerance -- ``rule`` if given (from the calibration table:
    absolute ``±x`` or ``> x``), else by unit: percentages within :data:`PERCENT_POINTS` points,
    estimates and continuous quantities within :data:`RELATIVE_TOLERANCE`, counts exact.
    ``differs`` otherwise; ``not computed`` when we have no value; ``info`` when the paper's value
    is not a number (``not reached``; ``NA`` matches a missing estimate).
    """
    if isinstance(paper, str) or paper is None:
        if isinstance(paper, str) and paper.upper() == "NA":
            return "printed NA", "match" if not math.isfinite(ours) else "differs"
        return "not judged", "info"
    if not math.isfinite(ours):
        return "–", "not computed"
    p = float(paper)
    rounded_equal = rounds_to(ours, paper)
    if rule is not None and rule[0] == "gt":
        return f"> {rule[1]:g}", "match" if rounded_equal else "close" if ours > rule[1] \
            else "differs"
    if rounded_equal:
        return "as printed", "match"
    if rule is not None and rule[0] == "abs":
        tol = f"±{rule[1]:g}"
        return tol, "close" if abs(ours - p) <= rule[1] + 1e-9 else "differs"
    if unit == "percent":
        return f"±{PERCENT_POINTS:g} points", "close" if abs(ours - p) <= PERCENT_POINTS \
            else "differs"
    if unit in RELATIVE_TOLERANCE:
        r = RELATIVE_TOLERANCE[unit]
        ok = (abs(ours - p) <= 0.05 if p == 0 else abs(ours / p - 1.0) <= r + 1e-9)
        return f"±{100 * r:g}%", "close" if ok else "differs"
    return "exact", "differs"


def audit_table(cohort: Cohort, values: pd.DataFrame | None = None,
                calibration: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every entry of ``targets.yaml`` beside our value, with its tolerance and status.

    ``values`` defaults to :func:`book_values`; ids the book's analyses do not compute take the
    value of the calibration check when one is passed
    (:func:`analysis.synthetic.calibration.calibration_table`, ``source``
    ``calibration``), whose tolerance is also used where it is a plain one (exact, rounding,
    ``±x``, ``> x``). Columns :data:`AUDIT_COLUMNS`, in the order of ``targets.yaml``.
    """
    from analysis.paper.targets import targets as paper_targets

    if values is None:
        values = book_values(cohort)
    if calibration is None:  # no calibration checks: only the book's own values
        calibration = pd.DataFrame(columns=["target_id", "tolerance", "synthetic", "note"])
    ours = values.set_index("target_id")
    cal = calibration.drop_duplicates("target_id").set_index("target_id")
    rows = []
    for tid, entry in paper_targets().items():
        rule = None
        if tid in cal.index:
            rule = _parse_calibration_tolerance(str(cal.loc[tid, "tolerance"]))
        if tid in ours.index:
            v = float(ours.loc[tid, "value"])
            source, definition = ours.loc[tid, "source"], ours.loc[tid, "definition"]
        elif tid in cal.index:
            v = _num(cal.loc[tid, "synthetic"])
            source, definition = "calibration", str(cal.loc[tid, "note"] or "")
        else:
            v, source, definition = float("nan"), "", "the cohort does not hold this quantity"
        unit = str(entry.get("unit", ""))
        if entry.get("kind") == "derived" and rule is None and unit not in RELATIVE_TOLERANCE:
            unit = "patient-years"  # arithmetic consequences: judged with a relative tolerance
        tol, status = judge(entry["value"], v, unit, rule)
        if status == "not computed" and entry.get("kind") == "design_parameters":
            tol, status = "not judged", "info"
        rows.append({
            "group": audit_group(entry), "target_id": tid, "quantity": entry.get("quantity", ""),
            "population": entry.get("population", ""), "unit": entry.get("unit", ""),
            "paper": entry["value"], "ours": v, "tolerance": tol, "status": status,
            "source": source, "definition": definition, "paper_note": entry.get("notes") or "",
        })
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)


def format_ours(paper: Any, ours: float) -> str:
    """Our value printed with one decimal more than the paper printed (counts as integers)."""
    if not math.isfinite(ours):
        return "–"
    numeric = isinstance(paper, (int, float)) and not isinstance(paper, bool)
    d = printed_decimals(paper) if numeric else 1
    if d == 0 and float(ours).is_integer():
        return f"{int(ours):,}"
    return f"{ours:,.{d + 1}f}"


def display_frame(audit: pd.DataFrame) -> pd.DataFrame:
    """The audit rows of one group formatted for the page: ``Target, Quantity, Paper, This book,
    Tolerance, Status, How ours is computed, Paper's note``."""
    return pd.DataFrame({
        "Target": audit["target_id"],
        "Quantity": [f"{q} ({p})" if p else str(q) for q, p in
                     zip(audit["quantity"], audit["population"], strict=True)],
        "Paper": [str(p) for p in audit["paper"]],
        "This book": [format_ours(p, o) for p, o in zip(audit["paper"], audit["ours"],
                                                        strict=True)],
        "Tolerance": audit["tolerance"],
        "Status": audit["status"],
        "How ours is computed": [f"{s}: {d}" if d else str(s) for s, d in
                                 zip(audit["source"], audit["definition"], strict=True)],
        "Paper's note": audit["paper_note"],
    })
