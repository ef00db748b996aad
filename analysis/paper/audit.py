"""The reproduction audit: every number the paper prints beside the value this book computes.

Why a module: the book's reproduction-audit chapter lists each entry of
``data/paper/targets.yaml`` with our value (:func:`analysis.paper.values.our_values`, the one place
that computes it), a tolerance, a status and a provenance, and the chapters from the sensitivity
analyses to who receives IVIG draw the paper's estimates beside ours.

How a value is judged (:func:`judge`):

* ``match`` - our value rounded to the decimals the paper printed (its printed text, so ``0.40``
  has two) equals the printed value;
* ``not detectably different`` (:data:`LOW_POWER`) - not a match, but the difference is within
  what two independent samples of the paper's size would give 95 % of the time
  (:func:`standard_error`: the paper's own confidence interval where it prints one, else a
  binomial, Poisson or order-statistic standard error). This is *not* agreement: at the paper's
  sample size the comparison has little power (a ratio band is often several-fold wide), so it
  is counted apart from matches (:data:`AGREEMENT` holds ``match`` only);
* ``differs`` - neither (also a design constant of the code that is not the paper's, and a
  value for which no standard error is known and that is not a match);
* ``not computed`` - the cohort cannot give the quantity (also a paper "NA" against our
  missing value: nothing was compared).

How a value could come to agree (``provenance``, :func:`provenance_of`): ``planted`` (the
synthetic generator puts the paper's number into the data), ``truth set`` (the generator's true
effect was set to the paper's estimate; our estimate of it is emergent, and differs from the
truth by chance and bias), ``tuned`` (a generator assumption was tuned by hand towards it),
``selected`` (the synthetic seed was chosen on it), ``emergent`` (none of these), ``design`` (a
constant of the analysis code), ``not computable``. The caller passes the generator's
derivation (:func:`analysis.synthetic.provenance.provenance_map`; the audit does not import the
generator, which sits above it): on a user's cohort every computable value is emergent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.paper.targets import printed_decimals, rounds_to
from analysis.paper.values import REDUCTIONS, num

if TYPE_CHECKING:  # pragma: no cover - typing only
    from analysis.study.cohort import Cohort

_num = num


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

    Only the study's and the engine's own "cannot fit" errors are caught
    (:func:`analysis.sccs.try_fit`); engine warnings are returned as the reason text alongside
    the fit.
    """
    from analysis.sccs import try_fit
    from analysis.study import fit_sccs

    fit, reason, caught = try_fit(fit_sccs, cohort, outcome, **options)
    return fit, "; ".join(caught) if reason is None else reason


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
# Judging one value
# --------------------------------------------------------------------------------------------------
#: Status of a value within sampling tolerance of the paper's but not equal as printed.
LOW_POWER: str = "not detectably different"
#: Audit statuses, in display order.
STATUSES: tuple[str, ...] = ("match", LOW_POWER, "differs", "not computed")
#: Statuses counted as agreement (a difference the sample cannot detect is not agreement).
AGREEMENT: tuple[str, ...] = ("match",)
#: Provenances, in display order.
PROVENANCES: tuple[str, ...] = ("emergent", "truth set", "tuned", "planted", "selected", "design",
                                "not computable")
#: Provenances whose agreement is built in (calibration, not evidence about the analysis).
CALIBRATED: tuple[str, ...] = ("planted", "tuned", "selected")
#: Two-sided 95 % normal quantile: LOW_POWER = within this many standard errors of the difference.
Z95: float = 1.959963984540054
#: Units judged on the log scale (ratios).
RATIO_UNITS: frozenset[str] = frozenset({"IRR", "HR", "ratio"})
#: Units of medians whose spread is estimated from the printed range (:func:`standard_error`).
CONTINUOUS_UNITS: frozenset[str] = frozenset({"years", "months", "mg/dL", "x10^3/uL", "lines",
                                              "infections", "doses", "g/kg", "weeks"})
#: Ids of the population sizes the paper's sample sizes are read from.
POPULATION_IDS: dict[str, tuple[str, ...]] = {
    "ivig_group": ("t1_n_ivig",), "reference": ("t1_n_ref",), "both": ("t1_n_ivig", "t1_n_ref"),
    "screened": ("res1_screened_n",),
}
#: Percentages of infections (not of patients): (id start, id end, the paper's number of
#: infections behind them; None: not printed, our own denominator is used for both samples).
INFECTION_DENOMINATORS: tuple[tuple[str, str, str | None], ...] = (
    ("res1_site_", "_pct", "res1_infections_total"),
    ("res2_site_", "_pct", "res2_infections_total"),
    ("res1_infections_at_progression", "_pct", "res1_infections_total"),
    ("res1_micro_", "_pct", None), ("res2_micro_", "_pct", None),
    ("t2_", "_g12_pct", "drv_table2_g12_infections_with_labs"),
    ("t2_", "_g34_pct", "drv_table2_g34_infections_with_labs"),
    ("res1_", "_in_g34_pct", "drv_table2_g34_infections_with_labs"),
    ("disc_", "_in_g34_pct", "drv_table2_g34_infections_with_labs"),
    ("res2_", "_in_g34_pct", "drv_ref_g34_infections_with_labs"),
)


def population_size(entry: dict[str, Any], ours: Mapping[str, Any] | None = None
                    ) -> tuple[float, str]:
    """``(n, what)``: the paper's sample size behind ``entry``, NaN if unknown.

    Patients of its ``population``; for a percentage of infections
    (:data:`INFECTION_DENOMINATORS`) the paper's number of infections behind it, or our
    ``denominator`` where the paper does not print its own.

    Examples
    --------
    >>> from analysis.paper.targets import entry
    >>> population_size(entry("res1_female_pct"))
    (43.0, 'patients')
    >>> population_size(entry("res1_site_respiratory_pct"))
    (155.0, 'infections')
    """
    from analysis.paper.targets import target

    tid = str(entry["id"])
    for start, end, n_id in INFECTION_DENOMINATORS:
        if tid.startswith(start) and tid.endswith(end):
            n = num(target(n_id)) if n_id else num((ours or {}).get("denominator"))
            return n, "infections"
    ids = POPULATION_IDS.get(str(entry.get("population", "")))
    return (float(sum(num(target(i)) for i in ids)) if ids else float("nan")), "patients"


def _log_se(est: float, lo: float, hi: float) -> float:
    """Standard error of log(estimate) implied by a 95 % CI (NaN when not usable)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0 or hi <= lo:
        return float("nan")
    return (math.log(hi) - math.log(lo)) / (2 * Z95)


def _combine(se_paper: float, se_ours: float) -> float:
    """SE of a difference of two independent estimates; one known -> the same for both."""
    known = [s for s in (se_paper, se_ours) if math.isfinite(s)]
    if not known:
        return float("nan")
    if len(known) == 1:
        return math.sqrt(2.0) * known[0]
    return math.hypot(se_paper, se_ours)


def _ratio_se(entry: dict[str, Any], ours: Mapping[str, Any]) -> tuple[float, str] | None:
    """(SE of the log-ratio difference, basis) for an IRR/HR (or a 100 (1 - IRR) reduction)."""
    from analysis.paper.targets import entry as paper_entry

    tid = entry["id"]
    source = paper_entry(REDUCTIONS[tid]) if tid in REDUCTIONS else entry
    reduction = str(entry.get("unit")) == "percent"
    p_lo, p_hi = num(source.get("ci_low")), num(source.get("ci_high"))
    o_lo, o_hi = num(ours.get("ci_low")), num(ours.get("ci_high"))
    if reduction:  # our CI is on the reduction scale: back to the IRR
        o_lo, o_hi = 1 - o_hi / 100, 1 - o_lo / 100
    se_p = _log_se(num(source["value"]), p_lo, p_hi)
    se_o = _log_se(num(ours.get("value")), o_lo, o_hi)
    se = _combine(se_p, se_o)
    if not math.isfinite(se):
        return None
    basis = ("paper's and our 95% CIs" if math.isfinite(se_p) and math.isfinite(se_o)
             else "paper's 95% CI" if math.isfinite(se_p) else "our 95% CI")
    return se, basis


def standard_error(entry: dict[str, Any], ours: Mapping[str, Any]
                   ) -> tuple[float, str, str] | None:
    """``(se, scale, basis)`` of the difference between our value and the paper's, or None.

    The difference of two independent samples of the paper's size; ``scale`` is ``"log"``
    (ratios, rates) or ``"linear"``. By unit:

    * IRR / HR / a reduction ``100 (1 - IRR)``: the log-scale SE implied by the paper's 95 % CI
      and by ours, ``sqrt(se_paper^2 + se_ours^2)`` (one of them known: ``sqrt(2)`` times it);
    * percent and patients: binomial, ``n`` = the paper's patients in that population, proportion
      = mean of the two values (a conservative ``n`` for per-infection percentages, whose
      denominators are larger);
    * infections (a count): Poisson, ``sqrt(paper + ours)``;
    * infections per patient-year: Poisson on the log scale, ``sqrt(2 / d)`` with ``d`` our
      infections behind the rate;
    * a median with a printed range: ``sqrt(pi / 2) * sd / sqrt(n)`` per sample, with the SD
      estimated from the printed range (range / 4 for n <= 70, range / 6 above: Hozo et al.
      2005, BMC Med Res Methodol 5:13);
    * otherwise (ranges, design constants, unknown units) None: the value is judged as printed.
    """
    unit, tid = str(entry.get("unit", "")), str(entry["id"])
    if entry.get("kind") == "design_parameters" or tid.endswith(("_min", "_max")):
        return None  # constants and range ends: as printed
    paper, value = num(entry["value"]), num(ours.get("value"))
    n, what = population_size(entry, ours)
    if unit in RATIO_UNITS or is_reduction(entry):
        got = _ratio_se(entry, ours)
        return None if got is None else (got[0], "log", got[1])
    if tid.endswith("_median") and unit in CONTINUOUS_UNITS | {"percent"} and n > 0:
        got = _median_se(tid, n)
        if got is not None or unit != "percent":
            return got
    if unit in ("percent", "patients") and n > 0:
        scale = 100.0 if unit == "percent" else n
        pbar = (paper + value) / (2 * scale)
        if not 0 <= pbar <= 1:
            return None
        return (scale * math.sqrt(pbar * (1 - pbar) * 2 / n), "linear",
                f"binomial, n = {n:.0f} {what}")
    if unit == "infections" and not tid.endswith("_median"):
        return math.sqrt(max(paper + value, 0.0)), "linear", "Poisson"
    if unit == "infections per patient-year":
        d = num(ours.get("n_events"))
        if not (math.isfinite(d) and d > 0):
            return None
        return math.sqrt(2.0 / d), "log", f"Poisson, {d:.0f} infections"
    return None


def is_reduction(entry: dict[str, Any]) -> bool:
    """Whether ``entry`` prints a reduction ``100 (1 - IRR)`` (judged as the IRR it restates)."""
    tid = str(entry["id"])
    return str(entry.get("unit")) == "percent" and (tid in REDUCTIONS
                                                     or tid.endswith("_reduction_pct"))


def _median_se(tid: str, n: float) -> tuple[float, str, str] | None:
    """SE of the difference of two medians, the SD estimated from the paper's printed range."""
    from analysis.paper.targets import targets as paper_targets

    table, stem = paper_targets(), tid[: -len("median")]
    lo, hi = (num(table[stem + s]["value"]) if stem + s in table else float("nan")
              for s in ("min", "max"))
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return None
    sd = (hi - lo) / (4.0 if n <= 70 else 6.0)
    se = math.sqrt(math.pi / 2) * sd / math.sqrt(n)
    return math.sqrt(2.0) * se, "linear", "median, SD from the printed range"


def _tolerance_text(paper: float, se: float, scale: str, basis: str, decimals: int,
                    reduction: bool = False, percent: bool = False) -> str:
    """The interval of our values not detectably different, with its basis (clipped to the possible
    range: non-negative, percentages at most 100)."""
    d = max(decimals, 2) if scale == "log" and not reduction else max(decimals, 1)
    if scale == "log":
        centre = 1 - paper / 100 if reduction else paper
        lo, hi = centre * math.exp(-Z95 * se), centre * math.exp(Z95 * se)
        if reduction:  # back to the printed scale, 100 (1 - IRR): the bounds swap
            lo, hi = 100 * (1 - hi), 100 * (1 - lo)
    else:
        lo, hi = max(paper - Z95 * se, 0.0), paper + Z95 * se
    if percent:
        hi = min(hi, 100.0)
    return f"{lo:.{d}f} to {hi:.{d}f} ({basis})"


def judge(entry: dict[str, Any], ours: Mapping[str, Any] | float) -> tuple[str, str]:
    """``(tolerance text, status)`` of our value against the paper's printed value.

    ``entry`` is a targets entry (:func:`analysis.paper.targets.entry`, with its ``printed``
    text); ``ours`` a row of :func:`analysis.paper.values.our_values` (``value``, ``ci_low``,
    ``ci_high``, ``n_events``) or a bare number. See the module doc for the statuses.

    Examples
    --------
    >>> from analysis.paper.targets import entry
    >>> judge(entry("t1_heavy_igg_hr"), 0.35)[1], judge(entry("t1_heavy_igg_hr"), 0.404)[1]
    ('not detectably different', 'match')
    """
    row = {"value": ours} if not isinstance(ours, Mapping) else ours
    value, printed = num(row.get("value")), entry.get("printed")
    paper = entry["value"]
    if isinstance(paper, str) or paper is None:
        if isinstance(paper, str) and paper.upper() == "NA":  # nothing to compare with
            return "printed NA", "not computed" if not math.isfinite(value) else "differs"
        return "not a number", "not computed" if not math.isfinite(value) else "differs"
    if not math.isfinite(value):
        return "–", "not computed"
    text = printed if isinstance(printed, str) else paper
    status = "match" if rounds_to(value, text) else "differs"
    if entry.get("kind") == "design_parameters":
        return "equal (a constant of the design)", status
    got = standard_error(entry, row)
    if got is None or got[0] == 0:
        return "as printed (no standard error)", status
    se, scale, basis = got
    reduction = is_reduction(entry)
    tol = _tolerance_text(float(paper), se, scale, basis, printed_decimals(text), reduction,
                          str(entry.get("unit")) == "percent")
    if status == "match":
        return tol, status
    a, b = float(value), float(paper)
    if scale == "log":
        if reduction:
            a, b = 1 - a / 100, 1 - b / 100
        if a <= 0 or b <= 0:
            return tol, "differs"
        diff = abs(math.log(a) - math.log(b))
    else:
        diff = abs(a - b)
    return tol, LOW_POWER if diff <= Z95 * se + 1e-12 else "differs"


# --------------------------------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------------------------------
def provenance_of(target_id: str, source: str, computable: bool,
                  declared: Mapping[str, str] | None) -> str:
    """How our value for ``target_id`` could come to agree with the paper's.

    ``declared``: the synthetic generator's derivation (target id -> ``planted`` / ``truth set``
    / ``tuned`` / ``selected``, restatements included:
    :func:`analysis.synthetic.provenance.provenance_map`), or None for a cohort no generator
    made (then every computable value is emergent).

    Examples
    --------
    >>> provenance_of("sccs_allgrade_irr", "sccs", True, {"sccs_allgrade_irr": "truth set"})
    'truth set'
    >>> provenance_of("t1_n_ivig", "baseline", True, None)
    'emergent'
    """
    if not computable:
        return "not computable"
    if source == "design":
        return "design"
    return str((declared or {}).get(target_id, "emergent"))


# --------------------------------------------------------------------------------------------------
# The audit table
# --------------------------------------------------------------------------------------------------
#: Columns of :func:`audit_table`.
AUDIT_COLUMNS: list[str] = [
    "group", "target_id", "quantity", "population", "unit", "paper", "printed", "ours",
    "tolerance", "status", "provenance", "source", "definition", "paper_note",
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


def audit_table(cohort: Cohort, values: pd.DataFrame | None = None,
                provenance: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Every entry of ``targets.yaml`` beside our value, with tolerance, status and provenance.

    ``values`` defaults to :func:`analysis.paper.values.our_values` of ``cohort``.
    ``provenance``: the synthetic generator's declaration (``analysis.synthetic.provenance
    .PROVENANCE``) when the cohort is synthetic, else None. Columns :data:`AUDIT_COLUMNS`, in
    the order of ``targets.yaml``.
    """
    from analysis.paper.targets import targets as paper_targets
    from analysis.paper.values import our_values

    if values is None:
        values = our_values(cohort)
    ours = values.drop_duplicates("target_id").set_index("target_id")
    rows = []
    for tid, entry in paper_targets().items():
        row: dict[str, Any] = ours.loc[tid].to_dict() if tid in ours.index else {}
        v = num(row.get("value"))
        source = str(row.get("source", ""))
        tol, status = judge(entry, row)
        definition = how_computed(source, str(row.get("definition", "") or ""), status,
                                  entry["value"])
        rows.append({
            "group": audit_group(entry), "target_id": tid, "quantity": entry.get("quantity", ""),
            "population": entry.get("population", ""), "unit": entry.get("unit", ""),
            "paper": entry["value"], "printed": entry.get("printed"), "ours": v,
            "tolerance": tol, "status": status,
            "provenance": provenance_of(tid, source, status != "not computed", provenance),
            "source": source, "definition": definition, "paper_note": entry.get("notes") or "",
        })
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)


#: The function behind each ``source`` of :func:`analysis.paper.values.our_values`.
SOURCE_FUNCTIONS: dict[str, str] = {
    "sccs": "analysis.study.sccs_menu", "cox": "analysis.study.cox",
    "baseline": "analysis.study.cox.baseline_characteristics",
    "descriptive": "analysis.study.descriptive", "design": "a constant of analysis.study",
}


def how_computed(source: str, definition: str, status: str, paper: Any) -> str:
    """The audit's "How ours is computed" text: the function behind our value and its definition,
    or why nothing was computed.

    Examples
    --------
    >>> how_computed("descriptive", "", "match", 43)
    'analysis.study.descriptive'
    >>> how_computed("", "", "not computed", "NA")
    'not computed: the paper prints NA and our model gives no estimate'
    """
    if status == "not computed" and isinstance(paper, str) and paper.upper() == "NA":
        return "not computed: the paper prints NA and our model gives no estimate"
    if status == "not computed" and not source:
        return "not computed: the cohort does not hold this quantity"
    where = SOURCE_FUNCTIONS.get(source, source)
    return f"{where}: {definition}" if definition else where


def audit_counts(audit: pd.DataFrame) -> dict[str, int]:
    """Every count the book states about the audit, computed here once (glue these).

    Keys: ``total``; ``status_<s>`` per status; ``prov_<p>`` per provenance and
    ``prov_<p>_<s>`` per provenance and status (spaces as underscores); ``calibrated`` (planted,
    tuned or selected: :data:`CALIBRATED`) and ``calibrated_match``; ``agree`` (status in
    :data:`AGREEMENT`), ``low_power`` (:data:`LOW_POWER`).

    Examples
    --------
    >>> t = pd.DataFrame({"status": ["match", LOW_POWER, "differs"],
    ...                   "provenance": ["planted", "emergent", "emergent"]})
    >>> c = audit_counts(t)
    >>> c["total"], c["agree"], c["low_power"], c["prov_emergent_differs"], c["calibrated"]
    (3, 1, 1, 1, 1)
    """
    def key(text: str) -> str:
        return text.replace(" ", "_")

    st, pv = audit["status"], audit["provenance"]
    out = {"total": len(audit), "agree": int(st.isin(AGREEMENT).sum()),
           "low_power": int((st == LOW_POWER).sum()),
           "calibrated": int(pv.isin(CALIBRATED).sum()),
           "calibrated_match": int((pv.isin(CALIBRATED) & st.isin(AGREEMENT)).sum())}
    out.update({f"status_{key(s)}": int((st == s).sum()) for s in STATUSES})
    for p in PROVENANCES:
        out[f"prov_{key(p)}"] = int((pv == p).sum())
        out.update({f"prov_{key(p)}_{key(s)}": int(((pv == p) & (st == s)).sum())
                    for s in STATUSES})
    return out


def provenance_summary(audit: pd.DataFrame) -> pd.DataFrame:
    """Provenance (rows) crossed with status (columns), with totals; every level shown."""
    tab = pd.crosstab(pd.Categorical(audit["provenance"], PROVENANCES),
                      pd.Categorical(audit["status"], STATUSES), dropna=False)
    tab.index.name, tab.columns.name = "Provenance", None
    tab.columns = [str(c) for c in tab.columns]
    tab["Total"] = tab.sum(axis=1)
    tab.loc["Total"] = tab.sum(axis=0)
    return tab.reset_index()


def format_ours(printed: Any, ours: float) -> str:
    """Our value with one decimal more than the paper printed (whole counts as integers).

    ``printed`` is the paper's printed text (or a value read by :mod:`analysis.paper.targets`).

    Examples
    --------
    >>> format_ours("0.40", 0.3512), format_ours("43", 43.0)
    ('0.351', '43')
    """
    if not math.isfinite(ours):
        return "–"
    try:
        d = printed_decimals(printed)
    except TypeError:
        d = 1
    if isinstance(printed, str) and not _is_number(printed):
        d = 1
    if d == 0 and float(ours).is_integer():
        return f"{int(ours):,}"
    return f"{ours:,.{d + 1}f}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def display_frame(audit: pd.DataFrame) -> pd.DataFrame:
    """The audit rows of one group formatted for the page: ``Target, Quantity, Paper, This book,
    Tolerance, Status, Provenance, How ours is computed, Paper's note``; the paper's value as
    printed (trailing zeros kept)."""
    return pd.DataFrame({
        "Target": audit["target_id"],
        "Quantity": [f"{q} ({p})" if p else str(q) for q, p in
                     zip(audit["quantity"], audit["population"], strict=True)],
        "Paper": [str(p) for p in audit["printed"]],
        "This book": [format_ours(p, o) for p, o in zip(audit["printed"], audit["ours"],
                                                        strict=True)],
        "Tolerance": audit["tolerance"],
        "Status": audit["status"],
        "Provenance": audit["provenance"],
        "How ours is computed": audit["definition"],
        "Paper's note": audit["paper_note"],
    })


# --------------------------------------------------------------------------------------------------
# Where the paper contradicts itself
# --------------------------------------------------------------------------------------------------
#: Contradictions of ``data/paper/inconsistencies.md`` with a number on each side: item ->
#: (what, pairs of target ids printed for the same quantity).
CONTRADICTIONS: dict[int, tuple[str, tuple[tuple[str, str], ...]]] = {
    1: ("Seasonal vs on/off-IVIG rates", (("res1_rate_fall_winter", "res1_rate_on_ivig"),
                                          ("res1_rate_spring_summer", "res1_rate_observation"))),
    3: ("Hazard ratios in the text vs Table 1", (
        ("text_hr_prior_infections", "t1_prior_infections_hr"),
        ("text_hr_prior_infections_3", "t1_prior_inf_3_hr"),
        ("text_hr_prior_infections_4plus", "t1_prior_inf_4plus_hr"),
        ("text_hr_igg_subtype", "t1_heavy_igg_hr"))),
    4: ("Years from diagnosis: text vs Table 1", (
        ("res1_years_dx_to_dara_median", "t1_years_dx_to_dara_ivig_median"),
        ("res1_years_dx_to_dara_min", "t1_years_dx_to_dara_ivig_min"),
        ("res1_years_dx_to_dara_max", "t1_years_dx_to_dara_ivig_max"))),
    5: ("Minimum IVIG doses: Methods vs Results", (
        ("dp_ivig_min_doses_methods", "dp_ivig_min_doses_results"),)),
    6: ("HGG prevalence: Abstract/Discussion vs Table 2", (
        ("abs_hgg_any_pct", "t2_hgg_lt700_pct"), ("abs_hgg_moderate_pct", "t2_hgg_lt400_pct"),
        ("disc_hgg_severe_pct", "t2_hgg_lt200_pct"))),
    8: ("ALC median: Table 2 vs text", (("t2_alc_at_infection_median",
                                         "res1_alc_at_infection_median"),)),
}


def contradiction_table(audit: pd.DataFrame) -> pd.DataFrame:
    """Each pair of contradicting versions with each version's status in ``audit``.

    Columns ``item, contradiction, first, first_paper, first_status, second, second_paper,
    second_status, ours, outcome``; ``outcome`` says which versions agree with our value
    (``both``, ``first only``, ``second only``, ``neither``; agreement = a status of
    :data:`AGREEMENT`, a match: a difference the sample cannot detect is not agreement).
    """
    a = audit.set_index("target_id")
    rows = []
    for item, (what, pairs) in CONTRADICTIONS.items():
        for first, second in pairs:
            ok = [a.loc[t, "status"] in AGREEMENT for t in (first, second)]
            outcome = ("both" if all(ok) else "first only" if ok[0] else "second only"
                       if ok[1] else "neither")
            rows.append({
                "item": item, "contradiction": what,
                "first": first, "first_paper": str(a.loc[first, "printed"]),
                "first_status": a.loc[first, "status"],
                "second": second, "second_paper": str(a.loc[second, "printed"]),
                "second_status": a.loc[second, "status"],
                "ours": format_ours(a.loc[second, "printed"], float(a.loc[second, "ours"])),
                "outcome": outcome,
            })
    return pd.DataFrame(rows)
