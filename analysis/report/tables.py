"""Formatting of the book's tables: numbers printed as the paper prints them, the paper beside us.

Why a module: every table of the book shows "paper" and "this book" side by side with the same
number formats (a median with its range, n (%), an IRR with its 95% CI, p-values the way the paper
prints them). The functions here turn computed numbers into those strings and a pandas ``Styler``;
they compute nothing about patients.
"""

from __future__ import annotations

import math
import numbers
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd
    from pandas.io.formats.style import Styler

#: Text shown for a missing value (the paper prints unknowns as empty cells; a dash reads better).
MISSING = "–"


def _is_missing(x: Any) -> bool:
    if x is None:
        return True
    if isinstance(x, numbers.Real):
        return math.isnan(float(x))
    try:
        import pandas as pd

        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def fmt_num(x: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals (integers without decimals); missing -> en dash."""
    if _is_missing(x):
        return MISSING
    if isinstance(x, str):
        return x
    if isinstance(x, numbers.Integral):
        return f"{int(x):,}"
    return f"{float(x):,.{digits}f}"


def fmt_sig(x: Any, digits: int = 4) -> str:
    """A number to ``digits`` significant digits, whole numbers without decimals (``55.81``,
    ``43``, ``0.5749``); strings pass through; missing -> en dash. For mixed columns."""
    if _is_missing(x):
        return MISSING
    if isinstance(x, str):
        return x
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:.{digits}g}"


def fmt_p(p: Any) -> str:
    """A p-value as the paper prints it: ``<0.001`` below 0.001, else three significant decimals.

    Strings (the paper's printed p, e.g. ``"<0.0001"``) pass through unchanged.
    """
    if _is_missing(p):
        return MISSING
    if isinstance(p, str):
        return p
    p = float(p)
    if p < 0.001:
        return "<0.001"
    if p < 0.01:
        return f"{p:.4f}"
    return f"{p:.3f}"


def fmt_ci(est: Any, low: Any, high: Any, digits: int = 2) -> str:
    """``0.57 (0.40–0.83)``: an estimate with its 95% confidence interval."""
    if _is_missing(est):
        return MISSING
    if _is_missing(low) or _is_missing(high):
        return fmt_num(est, digits)
    return f"{fmt_num(est, digits)} ({fmt_num(low, digits)}–{fmt_num(high, digits)})"


def fmt_median_range(median: Any, low: Any, high: Any, digits: int = 1) -> str:
    """``21.1 (1.0–60.2)``: a median with its range (minimum–maximum)."""
    return fmt_ci(median, low, high, digits)


def fmt_n_pct(n: Any, total: Any, digits: int = 0) -> str:
    """``19 (44%)``: a count with its percentage of ``total`` (the denominator)."""
    if _is_missing(n):
        return MISSING
    if _is_missing(total) or float(total) == 0:
        return f"{int(n)}"
    return f"{int(n)} ({100.0 * float(n) / float(total):.{digits}f}%)"


def fmt_pct(x: Any, digits: int = 0) -> str:
    """``44%`` from a value on the 0-100 scale."""
    if _is_missing(x):
        return MISSING
    return f"{float(x):.{digits}f}%"


@dataclass(frozen=True)
class Row:
    """One row of a paper-versus-book table.

    ``ours`` is our computed value (number or preformatted string), ``paper_ids`` the
    ``targets.yaml`` ids whose printed values form the paper's cell (``"id.field"`` reads another
    field of an entry, e.g. ``"sccs_allgrade_irr.ci_low"``), and ``fmt`` the formatter applied to
    both sides (called with the values in order; e.g. :func:`fmt_ci` with three).
    """

    label: str
    ours: Any | Sequence[Any]
    paper_ids: Sequence[str] = ()
    fmt: Callable[..., str] = fmt_num
    note: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


def _apply(fmt: Callable[..., str], values: Any) -> str:
    if isinstance(values, str):
        return values
    if isinstance(values, Sequence):
        return fmt(*values)
    return fmt(values)


def compare(rows: Iterable[Row], *, ours_label: str = "This book", paper_label: str = "Paper",
            label_header: str = "Quantity") -> pd.DataFrame:
    """Build a table with one row per :class:`Row`: label, the paper's cell, our cell, notes.

    The paper's values are read from ``targets.yaml`` through :func:`analysis.report.book.paper`,
    never
    typed. A row without ``paper_ids`` shows an empty paper cell (the paper does not print it).
    """
    import pandas as pd

    from analysis.paper.targets import paper

    records = []
    for row in rows:
        values = [paper(*t.split(".", 1)) for t in row.paper_ids]
        paper_cell = _apply(row.fmt, values) if row.paper_ids else ""
        records.append(
            {label_header: row.label, paper_label: paper_cell,
             ours_label: _apply(row.fmt, row.ours), **dict(row.extra), "Note": row.note}
        )
    out = pd.DataFrame.from_records(records)
    if not out["Note"].astype(bool).any():
        out = out.drop(columns="Note")
    return out


def style_table(
    df: pd.DataFrame,
    *,
    caption: str | None = None,
    formats: Mapping[str, str | Callable[[Any], str]] | None = None,
    index: bool = False,
    uuid: str | None = None,
) -> Styler:
    """The book's table look: formatted numbers, no index, left-aligned labels, stable HTML ids.

    Numeric columns without an explicit format get :func:`fmt_num` (integers plain, floats with
    two decimals); ``formats`` maps a column to a format spec (``"{:.1f}"``) or a callable.
    """
    import pandas as pd

    formats = dict(formats or {})
    for col in df.columns:
        if col not in formats and pd.api.types.is_numeric_dtype(df[col]):
            formats[col] = fmt_num
    styler = df.style.format(formats, na_rep=MISSING)
    if not index:
        styler = styler.hide(axis="index")
    if caption:
        styler = styler.set_caption(caption)
    # A fixed uuid keeps the HTML identical from build to build (pandas picks a random one).
    if uuid is None:
        uuid = f"t{zlib.crc32('|'.join(map(str, df.columns)).encode()):08x}"
    styler = styler.set_uuid(uuid)
    styler = styler.set_table_styles(
        [
            {"selector": "th", "props": [("text-align", "left")]},
            {"selector": "td", "props": [("text-align", "left")]},
            {"selector": "caption", "props": [("caption-side", "top"), ("font-weight", "bold")]},
        ]
    )
    return styler


# ==================================================================================================
# Paper-beside-ours builders of the baseline, sensitivity, hypogammaglobulinemia, reference-group
# and who-receives-IVIG chapters (Table 1, Cox, SCCS menus)
# ==================================================================================================
def _paper_field(target_id: str | None, field: str = "value") -> Any:
    """The paper's printed ``field`` of ``target_id`` (None when the id is None or not printed)."""
    if not target_id:
        return None
    from analysis.paper.targets import targets as paper_targets

    entry = paper_targets().get(target_id)
    return None if entry is None else entry.get(field)


def fmt_n_with_pct(n: Any, pct: Any, digits: int = 0) -> str:
    """``24 (56%)`` from a count and a percentage already computed (0-100 scale)."""
    if _is_missing(n):
        return MISSING
    if _is_missing(pct):
        return f"{int(n)}"
    return f"{int(n)} ({float(pct):.{digits}f}%)"


def paper_estimate(target_id: str | None, digits: int = 2) -> str:
    """The paper's estimate with its 95% CI (``0.57 (0.40–0.83)``); ``NA`` as printed; ``""``
    when the paper prints nothing for this cell (no id)."""
    value = _paper_field(target_id)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    low, high = _paper_field(target_id, "ci_low"), _paper_field(target_id, "ci_high")
    if isinstance(low, str) or isinstance(high, str):
        return fmt_num(value, digits)
    return fmt_ci(value, low, high, digits)


def paper_p(target_id: str | None) -> str:
    """The paper's printed p-value string for ``target_id`` (``""`` when none is printed)."""
    p = _paper_field(target_id, "p")
    return "" if p is None else str(p)


def paper_median_range(prefix: str, digits: int = 1) -> str:
    """The paper's ``median (min–max)`` from the ids ``<prefix>_median``, ``_min`` and ``_max``."""
    vals = [_paper_field(f"{prefix}_{s}") for s in ("median", "min", "max")]
    if vals[0] is None:
        return ""
    vals = [float(v) if isinstance(v, numbers.Real) else v for v in vals]
    return fmt_median_range(*vals, digits=digits)


def paper_n_pct(n_id: str | None, pct_id: str | None) -> str:
    """The paper's ``n (pct%)`` cell from a count id and a percentage id."""
    n, pct = _paper_field(n_id), _paper_field(pct_id)
    return "" if n is None else fmt_n_with_pct(n, pct)


#: Table 1 in the paper's row order: (baseline covariate, Cox covariate, label, levels). Levels
#: are (code in the data, label); the first level of a categorical block is the reference.
TABLE1_LAYOUT: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("age", "age_per_5y", "Age at dara, years, median (range); HR per 5 y", ()),
    ("sex", "sex", "Sex", (("M", "Male (ref)"), ("F", "Female"))),
    ("months_on_dara", "months_on_dara", "Months on dara, median (range)", ()),
    ("years_dx", "years_dx_per_5y",
     "Years from diagnosis to dara, median (range); HR per 5 y", ()),
    ("lines", "lines", "Lines of therapy, median (range)", ()),
    ("prior_infections", "prior_infections", "Infections in year prior, median (range)", ()),
    ("prior_infections_cat", "prior_infections_cat", "Prior infections (categorized)",
     (("0", "0 (ref)"), ("1", "1"), ("2", "2"), ("3", "3"), ("4+", "4+"))),
    ("heavy_chain", "heavy_chain", "Heavy chain type",
     (("none", "None, light chain only (ref)"), ("IgG", "IgG"), ("IgA", "IgA"), ("IgD", "IgD"),
      ("IgE", "IgE"), ("IgM", "IgM"))),
    ("light_chain", "light_chain", "Light chain type",
     (("lambda", "Lambda (ref)"), ("kappa", "Kappa"), ("both", "Both"))),
    ("iss", "iss", "ISS stage", (("I", "I (ref)"), ("II", "II"), ("III", "III"))),
    ("riss", "riss", "R-ISS stage", (("I", "I (ref)"), ("II", "II"), ("III", "III"))),
    ("high_risk_cyto", "high_risk_cyto", "High-risk cytogenetics",
     (("no", "No (ref)"), ("yes", "Yes"))),
    ("hgg700_baseline", "hgg700_baseline", "HGG at baseline (functional IgG < 700 mg/dL)",
     (("no", "No (ref)"), ("yes", "Yes"))),
    ("hgg400_baseline", "hgg400_baseline",
     "Functional IgG < 400 mg/dL at baseline (the paper's \u201cSevere HGG\u201d)",
     (("no", "No (ref)"), ("yes", "Yes"))),
)

#: Column names of :func:`table1_comparison`.
TABLE1_COLUMNS: list[str] = [
    "Characteristic", "IVIG: paper", "IVIG: this book", "Reference: paper",
    "Reference: this book", "HR (95% CI): paper", "HR (95% CI): this book", "p: paper",
    "p: this book",
]


def table1_comparison(baseline: pd.DataFrame, univariable: pd.DataFrame) -> pd.DataFrame:
    """Table 1 with the paper's cells beside ours, in the paper's rows.

    ``baseline`` is :func:`analysis.study.cox.baseline_characteristics` and ``univariable``
    :func:`analysis.study.cox.univariable_cox`; the paper's cells are found by
    :func:`analysis.paper.values.table1_ids` and :func:`~analysis.paper.values.cox_ids`. Category
    rows show ``n (%)`` of the patients with that characteristic recorded; each block's header row
    shows how many were recorded in our cohort (the paper's denominators are undisclosed where
    they differ from N, inconsistencies.md items 9-10). Levels nobody has show an en dash.
    """
    import pandas as pd

    from analysis.paper.values import cox_ids, table1_ids

    b = table1_ids(baseline).assign(level=baseline["level"].astype(object))
    u = cox_ids(univariable, "univariable").assign(level=univariable["level"].astype(object))

    def brow(cov: str, level: str | None, group: str) -> pd.Series | None:
        sel = (b["covariate"] == cov) & (b["group"] == group)
        sel &= b["level"].isna() if level is None else (b["level"] == level)
        hit = b[sel]
        return None if hit.empty else hit.iloc[0]

    def urow(cov: str, level: str | None) -> pd.Series | None:
        sel = u["covariate"] == cov
        sel &= u["level"].isna() if level is None else (u["level"] == level)
        hit = u[sel]
        return None if hit.empty else hit.iloc[0]

    def hr_cells(r: pd.Series | None) -> tuple[str, str, str, str]:
        if r is None:
            return "", MISSING, "", MISSING
        tid = r["target_id"] if isinstance(r["target_id"], str) else None
        if bool(r["reference"]):
            return "Ref", "Ref", "", ""
        return (paper_estimate(tid), fmt_ci(r["hr"], r["ci_low"], r["ci_high"]), paper_p(tid),
                fmt_p(r["p"]))

    records = []
    for bcov, ucov, label, levels in TABLE1_LAYOUT:
        if not levels:
            cells = []
            for group in ("ivig", "reference"):
                r = brow(bcov, None, group)
                if r is None:
                    cells += ["", MISSING]
                    continue
                prefix = str(r["target_median"]).rsplit("_", 1)[0]
                cells += [paper_median_range(prefix),
                          fmt_median_range(r["median"], r["min"], r["max"])]
            records.append([label, *cells, *hr_cells(urow(ucov, None))])
            continue
        recorded = []
        for group in ("ivig", "reference"):
            r = brow(bcov, levels[0][0], group)
            recorded.append(MISSING if r is None else f"recorded: {int(r['n_recorded'])}")
        records.append([label, "", recorded[0], "", recorded[1], "", "", "", ""])
        for code, level_label in levels:
            cells = []
            for group in ("ivig", "reference"):
                r = brow(bcov, code, group)
                if r is None:
                    cells += ["", MISSING]
                    continue
                cells += [paper_n_pct(r["target_n"], r["target_pct"]),
                          fmt_n_with_pct(r["n"], r["pct"])]
            records.append([f"\u2003{level_label}", *cells, *hr_cells(urow(ucov, code))])
    return pd.DataFrame(records, columns=TABLE1_COLUMNS)


#: Labels of Cox covariates in result tables (Supplementary Table 1, who-receives-IVIG chapter).
COX_LABELS: dict[str, str] = {
    "age_per_5y": "Age (per 5 years)",
    "years_dx_per_5y": "Years from diagnosis to dara (per 5 years)",
    "months_on_dara": "Months on dara (post-baseline)",
    "lines": "Lines of therapy",
    "prior_infections": "Infections in year prior (per infection)",
    "prior_infections_cat": "Prior infections",
    "sex": "Sex",
    "heavy_chain": "Heavy chain",
    "light_chain": "Light chain",
    "iss": "ISS",
    "riss": "R-ISS",
    "high_risk_cyto": "High-risk cytogenetics",
    "hgg700_baseline": "Baseline HGG (IgG < 700)",
    "hgg400_baseline": "Baseline IgG < 400",
}


def cox_comparison(results: pd.DataFrame, *, estimate: str = "HR",
                   model: str = "univariable") -> pd.DataFrame:
    """A Cox result table (:func:`analysis.study.cox.univariable_cox` with ``model="univariable"``
    or ``multivariable_cox`` with ``"multivariable"``) with the paper's estimate beside ours (by
    :func:`analysis.paper.values.cox_ids`), one row per non-reference term.

    Columns: ``Term``, ``<estimate> (95% CI): paper``, ``... this book``, ``p: paper``,
    ``p: this book``, ``Patients``, ``First IVIG`` (patients and events in that model), ``Note``.
    A level nobody has, or a model that could not be fitted, shows an en dash (the reason, if
    any, in ``Note``).
    """
    import pandas as pd

    from analysis.paper.values import cox_ids

    records = []
    for _, r in cox_ids(results, model).iterrows():
        if bool(r["reference"]):
            continue
        label = COX_LABELS.get(r["covariate"], r["covariate"])
        level = r["level"]
        if isinstance(level, str):
            label = f"{label}: {level}"
        tid = r["target_id"] if isinstance(r["target_id"], str) else None
        records.append({
            "Term": label,
            f"{estimate} (95% CI): paper": paper_estimate(tid),
            f"{estimate} (95% CI): this book": fmt_ci(r["hr"], r["ci_low"], r["ci_high"]),
            "p: paper": paper_p(tid),
            "p: this book": fmt_p(r["p"]),
            "Patients": int(r["n"]),
            "First IVIG": int(r["n_events"]),
            "Note": r["note"] if isinstance(r["note"], str) else "",
        })
    cols = ["Term", f"{estimate} (95% CI): paper", f"{estimate} (95% CI): this book",
            "p: paper", "p: this book", "Patients", "First IVIG", "Note"]
    return pd.DataFrame.from_records(records, columns=cols)


#: Labels of SCCS terms in result tables.
SCCS_TERM_LABELS: dict[str, str] = {
    "on_ivig": "On IVIG vs observation",
    "pre_ivig": "Pre-IVIG window vs observation",
    "fall_winter": "Fall/winter vs spring/summer",
    "progression": "Progression window vs other time",
}


def sccs_term_label(term: str) -> str:
    """A readable label of an SCCS term (``igg_below_400`` -> ``Functional IgG < 400 mg/dL``)."""
    if term.startswith("igg_below_"):
        t = term.removeprefix("igg_below_")
        return f"Functional IgG < {t} vs \u2265 {t} mg/dL"
    return SCCS_TERM_LABELS.get(term, term)


def sccs_comparison(menu: pd.DataFrame) -> pd.DataFrame:
    """Rows of :func:`analysis.study.models.sccs_menu` with the paper's IRR beside ours (found by
    :func:`analysis.paper.values.sccs_ids`).

    Columns: ``Model``, ``Term``, ``IRR (95% CI): paper``, ``IRR (95% CI): this book``,
    ``p: paper``, ``p: this book``, ``Cases``, ``Events``, ``Note``. Where the paper prints a
    reduction (bacterial, viral: 100 x (1 - IRR)) its cell says so and gives the implied IRR. A
    model that could not be fitted shows en dashes and the reason in ``Note``.
    """
    import pandas as pd

    from analysis.paper.values import sccs_ids

    records = []
    for _, r in sccs_ids(menu).iterrows():
        tid = r["target_id"] if isinstance(r["target_id"], str) else None
        if tid and r["target_scale"] == "reduction_pct":
            red = _paper_field(tid)
            paper_cell = f"{red}% lower (IRR {1 - float(red) / 100:.2f} implied; no CI)"
        else:
            paper_cell = paper_estimate(tid)
        notes = [x for x in (r["note"], r["warning"]) if isinstance(x, str) and x]
        records.append({
            "Model": r["label"],
            "Term": sccs_term_label(str(r["term"])),
            "IRR (95% CI): paper": paper_cell,
            "IRR (95% CI): this book": fmt_ci(r["irr"], r["ci_low"], r["ci_high"]),
            "p: paper": paper_p(tid),
            "p: this book": fmt_p(r["p"]),
            "Cases": int(r["n_cases"]) if not _is_missing(r["n_cases"]) else 0,
            "Events": int(r["n_events"]) if not _is_missing(r["n_events"]) else 0,
            "Note": "; ".join(notes),
        })
    cols = ["Model", "Term", "IRR (95% CI): paper", "IRR (95% CI): this book", "p: paper",
            "p: this book", "Cases", "Events", "Note"]
    return pd.DataFrame.from_records(records, columns=cols)


def first_values(values: pd.DataFrame) -> dict[str, float]:
    """``target_id -> value`` from :func:`analysis.paper.values.descriptive_values`, keeping
    the first row of each id (the reading this project considers most defensible)."""
    first = values.drop_duplicates("target_id", keep="first")
    return dict(zip(first["target_id"], first["value"].astype(float), strict=True))


def _range_cell(med: Any, lo: Any, hi: Any, digits: int, unit: str = "") -> str:
    if _is_missing(med) or med is None:
        return MISSING if med is not None else ""
    vals = [float(v) if isinstance(v, numbers.Real) and not isinstance(v, bool) else v
            for v in (med, lo, hi)]
    if unit:
        return (f"{fmt_num(vals[0], digits)}{unit} ({fmt_num(vals[1], digits)}{unit}"
                f"\u2013{fmt_num(vals[2], digits)}{unit})")
    return fmt_median_range(*vals, digits=digits)


def table2_comparison(values: pd.DataFrame, labs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Table 2 (HGG, functional IgG, days on IVIG, time to first infection, ANC/ALC at infection)
    with the paper's cells beside ours.

    ``values`` is :func:`analysis.paper.values.descriptive_values`; ``labs`` (optional) is
    :func:`analysis.study.descriptive.labs_at_infection` of the IVIG group, used to show the
    numerator and denominator of each lab percentage. The paper prints a grade 1/2 and a grade 3/4
    percentage in one cell; here they are two rows. Columns ``Characteristic, Paper, This book,
    Note``.
    """
    import pandas as pd

    v = first_values(values)

    def ours(tid: str) -> Any:
        return v.get(tid, float("nan"))

    rows: list[tuple[str, str, str, str]] = []
    n = ours("t2_n")
    rows.append(("Patients in the IVIG group", fmt_num(_paper_field("t2_n")),
                 fmt_num(int(n)) if not _is_missing(n) else MISSING, ""))
    rows.append(("Hypogammaglobulinemia during the study period, n (%)", "", "", ""))
    for t in (700, 400, 200):
        rows.append((f"\u2003Functional IgG < {t} mg/dL",
                     paper_n_pct(f"t2_hgg_lt{t}_n", f"t2_hgg_lt{t}_pct"),
                     fmt_n_with_pct(ours(f"t2_hgg_lt{t}_n"), ours(f"t2_hgg_lt{t}_pct")),
                     "lowest functional IgG of the observation period"))
    for prefix, label, digits, unit, note in (
        ("t2_igg_pre_dara", "Functional IgG (mg/dL) before the first daratumumab dose, median "
         "(range)", 0, "", "first value from 90 days before to 10 days after the first dose"),
        ("t2_igg_pre_ivig", "Functional IgG (mg/dL) before the first IVIG dose, median (range)",
         0, "", "level on the day of the first IVIG dose"),
        ("t2_on_ivig_days_prop", "Share of observed days on IVIG, median (range)", 0, "%",
         "per patient"),
        ("t2_time_to_first_infection", "Time (months) to first infection on daratumumab, "
         "median (range)", 1, "", "patients with an infection"),
    ):
        paper_cell = _range_cell(_paper_field(f"{prefix}_median"), _paper_field(f"{prefix}_min"),
                                 _paper_field(f"{prefix}_max"), digits, unit)
        rows.append((label, paper_cell, _range_cell(ours(f"{prefix}_median"),
                                                    ours(f"{prefix}_min"), ours(f"{prefix}_max"),
                                                    digits, unit), note))

    def lab_count(lab: str, grade_group: str, thr: float) -> str:
        if labs is None:
            return ""
        sel = labs[(labs["lab"] == lab) & (labs["grade_group"] == grade_group)
                   & (labs["threshold"] == thr)]
        if sel.empty or int(sel["n"].iloc[0]) == 0:
            return " (no infections with a value)"
        return f" ({int(sel['n_below'].iloc[0])}/{int(sel['n'].iloc[0])})"

    for lab, name in (("anc", "Absolute neutrophil count (ANC)"),
                      ("alc", "Absolute lymphocyte count (ALC)")):
        prefix = f"t2_{lab}_at_infection"
        note = "all infections of the IVIG group with a value"
        if lab == "alc":
            text_median = _paper_field("res1_alc_at_infection_median")
            note = (f"the paper's printed median lies outside its own range (a typo); its Results "
                    f"text gives {fmt_num(float(text_median), 1)}")
        rows.append((f"{name} \u00d710\u00b3/\u00b5L at infection, median (range)",
                     _range_cell(_paper_field(f"{prefix}_median"), _paper_field(f"{prefix}_min"),
                                 _paper_field(f"{prefix}_max"), 1),
                     _range_cell(ours(f"{prefix}_median"), ours(f"{prefix}_min"),
                                 ours(f"{prefix}_max"), 1), note))
        for thr, code in ((0.5, "05"), (1.0, "10")):
            for gg, gcode, glabel in (("1-2", "g12", "grade 1/2"), ("3-4", "g34", "grade 3/4")):
                tid = f"t2_{lab}_lt{code}_{gcode}_pct"
                pv = _paper_field(tid)
                ov = ours(tid)
                rows.append((
                    f"\u2003{lab.upper()} < {thr:.1f}, {glabel} infections",
                    "" if pv is None else fmt_pct(pv, 1),
                    fmt_pct(ov, 1) + lab_count(lab, gg, thr) if not _is_missing(ov) else MISSING,
                    "share of the infections of that grade with a value",
                ))
    return pd.DataFrame(rows, columns=["Characteristic", "Paper", "This book", "Note"])


# ==================================================================================================
# Named values beside the paper's (infections chapter: both groups)
# ==================================================================================================
@dataclass(frozen=True)
class ValueRow:
    """One row of :func:`values_comparison`: a label, how to print it (:data:`VALUE_KINDS`), and
    the ``targets.yaml`` id of the IVIG-group and the reference-group value (None: no cell).

    For ``n_pct`` the ids are prefixes of ``<id>_n`` and ``<id>_pct``; for ``median_range`` of
    ``<id>_median``, ``<id>_min`` and ``<id>_max``. An id the paper does not print (a key of our
    values only, e.g. a rate the paper gives for one group) leaves the paper's cell empty.
    ``digits``: decimals of our ``pct`` cell (default 0), or of both ``median_range`` cells
    (default: the decimals the paper prints its median with, 1 when it prints none).
    """

    label: str
    kind: str
    ivig: str | None = None
    reference: str | None = None
    digits: int | None = None


#: How a :class:`ValueRow` prints: a count, ``n (pct%)``, ``median (min–max)``, a percentage
#: (the paper's own decimals), a rate (2 decimals), months (1 decimal).
VALUE_KINDS: tuple[str, ...] = ("n", "n_pct", "median_range", "pct", "rate", "months")


def _median_decimals(prefix: str) -> int:
    """Decimals of the paper's printed ``<prefix>_median`` (1 when the paper prints none)."""
    from analysis.paper.targets import printed_decimals

    median = _paper_field(f"{prefix}_median")
    return 1 if median is None or isinstance(median, str) else printed_decimals(median)


def value_cell(kind: str, target_id: str | None, values: Mapping[str, float], *,
               paper: bool, digits: int | None = None) -> str:
    """One cell: the paper's printed value (``paper=True``) or ours from ``values`` (by target
    id, e.g. :func:`first_values`), formatted alike; ``""`` when ``target_id`` is None or the
    paper prints no value for it. ``digits`` as in :class:`ValueRow`.

    Examples
    --------
    >>> value_cell("rate", "res2_rate_allgrade", {"res2_rate_allgrade": 2.345}, paper=False)
    '2.35'
    >>> value_cell("n_pct", "x", {"x_n": 24.0, "x_pct": 55.8}, paper=False)
    '24 (56%)'
    """
    if kind not in VALUE_KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(VALUE_KINDS)}")
    if target_id is None:
        return ""

    def ours(tid: str) -> Any:
        return values.get(tid, float("nan"))

    if kind == "n_pct":
        if paper:
            return paper_n_pct(f"{target_id}_n", f"{target_id}_pct")
        return fmt_n_with_pct(ours(f"{target_id}_n"), ours(f"{target_id}_pct"))
    if kind == "median_range":
        digits = _median_decimals(target_id) if digits is None else digits
        if paper:
            return paper_median_range(target_id, digits=digits)
        return fmt_median_range(*(ours(f"{target_id}_{s}") for s in ("median", "min", "max")),
                                digits=digits)
    value = _paper_field(target_id) if paper else ours(target_id)
    if paper and value is None:
        return ""
    if kind == "pct":
        if paper:
            return fmt_pct(value, 0 if float(value).is_integer() else 1)
        return fmt_pct(value, digits or 0)
    if kind == "rate":
        return fmt_num(value, 2)
    if kind == "months":
        return fmt_num(value, 1)
    return fmt_sig(value)


#: Columns of :func:`values_comparison`.
VALUES_COLUMNS: list[str] = ["Quantity", "IVIG group: paper", "IVIG group: this book",
                             "Reference group: paper", "Reference group: this book"]


def values_comparison(rows: Sequence[ValueRow], values: Mapping[str, float], *,
                      reference_first: bool = False) -> pd.DataFrame:
    """The paper's values beside ours, one row per :class:`ValueRow`, both groups.

    Columns :data:`VALUES_COLUMNS` (the reference group's pair first with ``reference_first``);
    ``values`` maps target ids to our values (:func:`first_values` of
    :func:`analysis.paper.values.descriptive_values`).

    Examples
    --------
    >>> values_comparison([ValueRow("Rate", "rate", None, "r")], {"r": 1.5}).iloc[0, -1]
    '1.50'
    """
    import pandas as pd

    def pair(row: ValueRow, target_id: str | None) -> list[str]:
        return [value_cell(row.kind, target_id, values, paper=flag, digits=row.digits)
                for flag in (True, False)]

    table = pd.DataFrame([[row.label, *pair(row, row.ivig), *pair(row, row.reference)]
                          for row in rows], columns=VALUES_COLUMNS)
    return table[[VALUES_COLUMNS[0], *VALUES_COLUMNS[3:], *VALUES_COLUMNS[1:3]]] \
        if reference_first else table


def _infection_rows() -> tuple[ValueRow, ...]:
    from analysis.study import PROGRESSION_DAYS
    from analysis.study.descriptive import LAB_THRESHOLDS

    low = min(LAB_THRESHOLDS)  # x10³/µL: grade 4 neutropenia, grade 3 lymphopenia
    return (
        ValueRow("Patients with at least one infection", "n_pct", "res1_patients_with_infection",
                 "res2_patients_with_infection"),
        ValueRow("Infections", "n", "res1_infections_total", "res2_infections_total"),
        ValueRow("Patients with a grade 3-4 infection", "n_pct", "res1_g34_patients",
                 "res2_g34_patients"),
        ValueRow("Fatal infections", "n", "res1_fatal_infections_n", "res2_fatal_infections_n"),
        ValueRow("Time to first infection, months, median", "months",
                 "res1_time_to_first_infection_median"),
        ValueRow("Respiratory tract, % of infections", "pct", "res1_site_respiratory_pct",
                 "res2_site_respiratory_pct"),
        ValueRow("Lower respiratory tract, % of infections", "pct",
                 "res1_site_lower_respiratory_pct", "res2_site_lower_respiratory_pct"),
        ValueRow("Bacterial, % of confirmed", "pct", "res1_micro_bacterial_pct",
                 "res2_micro_bacterial_pct"),
        ValueRow("Viral, % of confirmed", "pct", "res1_micro_viral_pct", "res2_micro_viral_pct"),
        ValueRow("Fungal, % of confirmed", "pct", "res1_micro_fungal_pct",
                 "res2_micro_fungal_pct"),
        ValueRow(f"At progression ({PROGRESSION_DAYS} days from a progression), %", "pct",
                 "res1_infections_at_progression_pct"),
        ValueRow("All-grade infections per patient-year, fall/winter", "rate",
                 "res1_rate_fall_winter"),
        ValueRow("All-grade infections per patient-year, spring/summer", "rate",
                 "res1_rate_spring_summer"),
        ValueRow("Share of fall/winter person-time on IVIG, %", "pct",
                 "res1_on_ivig_share_fall_winter_pct"),
        ValueRow("Share of spring/summer person-time on IVIG, %", "pct",
                 "res1_on_ivig_share_spring_summer_pct"),
        ValueRow("All-grade infections per patient-year", "rate", None, "res2_rate_allgrade"),
        ValueRow("Grade 3-4 infections per patient-year", "rate", None, "res2_rate_g34"),
        ValueRow("ANC at infection, x10³/µL, median (range)", "median_range",
                 "res1_anc_at_infection", "res2_anc_at_infection"),
        ValueRow("ALC at infection, x10³/µL, median (range)", "median_range",
                 "res1_alc_at_infection", "res2_alc_at_infection"),
        ValueRow(f"ANC < {low:g} (grade 4 neutropenia), % of grade 3-4 infections", "pct",
                 "res1_g4_neutropenia_in_g34_pct", "res2_g4_neutropenia_in_g34_pct"),
        ValueRow(f"ALC < {low:g} (grade 3 lymphopenia), % of grade 3-4 infections", "pct",
                 "res1_alc_lt05_in_g34_pct", "res2_alc_lt05_in_g34_pct"),
    )


def infections_comparison(values: Mapping[str, float]) -> pd.DataFrame:
    """The infections chapter's table: infections during observation in both groups, the paper
    beside us (counts, sites, organisms, rates, seasons, ANC/ALC at infection); ``values`` as in
    :func:`values_comparison`."""
    return values_comparison(_infection_rows(), values)


#: Keys of the IVIG group's pooled rates over its whole observation in the values of
#: :func:`reference_comparison` (the paper prints no such rate: its cells stay empty).
IVIG_POOLED_RATES: tuple[str, str] = ("ivig_pooled_rate_allgrade", "ivig_pooled_rate_g34")


def _reference_rows() -> tuple[ValueRow, ...]:
    from analysis.study.descriptive import LAB_THRESHOLDS

    low = min(LAB_THRESHOLDS)  # x10³/µL: grade 4 neutropenia, grade 3 lymphopenia

    def both(label: str, kind: str, key: str, digits: int | None = None) -> ValueRow:
        return ValueRow(label, kind, f"res1_{key}", f"res2_{key}", digits)

    rate_all, rate_g34 = IVIG_POOLED_RATES
    return (
        both("Patients with an infection", "n", "patients_with_infection_n"),
        both("Patients with an infection, %", "pct", "patients_with_infection_pct"),
        both("Infections", "n", "infections_total"),
        ValueRow("All-grade infections per patient-year (pooled)", "rate", rate_all,
                 "res2_rate_allgrade"),
        both("Patients with a grade 3-4 infection", "n", "g34_patients_n"),
        both("Patients with a grade 3-4 infection, %", "pct", "g34_patients_pct"),
        ValueRow("Grade 3-4 infections per patient-year (pooled)", "rate", rate_g34,
                 "res2_rate_g34"),
        both("Fatal infections", "n", "fatal_infections_n"),
        both("Respiratory tract, % of infections", "pct", "site_respiratory_pct"),
        both("Lower respiratory tract, % of infections", "pct", "site_lower_respiratory_pct"),
        both("Bacterial, % of confirmed", "pct", "micro_bacterial_pct"),
        both("Viral, % of confirmed", "pct", "micro_viral_pct"),
        both("Fungal, % of confirmed", "pct", "micro_fungal_pct"),
        both(f"ANC < {low:g} at grade 3-4 infections, %", "pct", "g4_neutropenia_in_g34_pct", 1),
        both(f"ALC < {low:g} at grade 3-4 infections, %", "pct", "alc_lt05_in_g34_pct", 1),
        both("ANC ×10³/µL at infection, median (range)", "median_range", "anc_at_infection"),
        both("ALC ×10³/µL at infection, median (range)", "median_range", "alc_at_infection"),
    )


def reference_comparison(values: Mapping[str, float], ivig_rate_allgrade: float,
                         ivig_rate_g34: float) -> pd.DataFrame:
    """The reference-group chapter's table: the reference group's infections, the paper beside
    us, with the IVIG group's for context (reference columns first).

    ``values`` as in :func:`values_comparison`; ``ivig_rate_allgrade`` and ``ivig_rate_g34`` are
    the IVIG group's pooled rates per patient-year over its whole observation (all-grade and grade
    3-4), which the paper does not print. Medians and ranges print with the decimals of the
    paper's median (two for the reference group's ANC).

    Examples
    --------
    >>> t = reference_comparison({"res2_rate_allgrade": 0.944}, 1.685, 0.2)
    >>> reference_comparison({"res2_rate_allgrade": 0.944}, 1.685, 0.2).iloc[3, 2:].tolist()
    ['0.94', '', '1.69']
    """
    rate_all, rate_g34 = IVIG_POOLED_RATES
    return values_comparison(
        _reference_rows(), {**values, rate_all: ivig_rate_allgrade, rate_g34: ivig_rate_g34},
        reference_first=True)


def as_count(x: Any) -> int | float:
    """A count as an int; NaN (the cohort cannot give it) stays NaN.

    Examples
    --------
    >>> as_count(24.0), as_count(float("nan"))
    (24, nan)
    """
    return int(x) if x == x else x

