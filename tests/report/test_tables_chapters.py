"""Tests of the paper-beside-ours builders of analysis.report.tables (the baseline chapter and the
chapters from the sensitivity analyses to who receives IVIG).

Expected strings are written by hand from the paper's printed numbers (Table 1, Table 2, Results)
and the paper's printing conventions; inputs standing for our results are small hand-made frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.report import tables
from analysis.report.tables import MISSING


def test_fmt_n_with_pct() -> None:
    assert tables.fmt_n_with_pct(24, 55.81) == "24 (56%)"
    assert tables.fmt_n_with_pct(np.int64(0), 0.0) == "0 (0%)"
    assert tables.fmt_n_with_pct(3, float("nan")) == "3"
    assert tables.fmt_n_with_pct(None, 10) == MISSING


def test_paper_cells_read_targets() -> None:
    # Results: "IRR 0.57, 95% CI [0.40-0.83], p=0.0035"
    assert tables.paper_estimate("sccs_allgrade_irr") == "0.57 (0.40–0.83)"
    assert tables.paper_p("sccs_allgrade_irr") == "0.0035"
    # Supplementary Table 1 prints "NA NA-NA NA" for IgE
    assert tables.paper_estimate("s1_heavy_ige_ahr") == "NA"
    assert tables.paper_estimate(None) == ""
    assert tables.paper_p(None) == ""
    # Table 1: age 66.9 (37.4-85.7); female 19 (44%)
    assert tables.paper_median_range("t1_age_ivig") == "66.9 (37.4–85.7)"
    assert tables.paper_n_pct("t1_sex_female_ivig_n", "t1_sex_female_ivig_pct") == "19 (44%)"


def _baseline() -> pd.DataFrame:
    """Rows as analysis.study.cox.baseline_characteristics gives them (no paper ids: the table
    finds the paper's cells through analysis.paper.values)."""
    rows = [
        {"covariate": "age", "level": None, "group": g, "median": med, "min": lo, "max": hi,
         "n_recorded": n}
        for g, med, lo, hi, n in (("ivig", 66.0, 40.0, 80.0, 43),
                                  ("reference", 68.04, 41.0, 88.96, 100))
    ]
    for g, n_m, n_f, tot in (("ivig", 20, 23, 43), ("reference", 50, 50, 100)):
        for level, n in (("M", n_m), ("F", n_f)):
            rows.append({"covariate": "sex", "level": level, "group": g, "n": n,
                         "pct": 100.0 * n / tot, "n_recorded": tot})
    return pd.DataFrame(rows)


def _univariable() -> pd.DataFrame:
    return pd.DataFrame([
        {"covariate": "age_per_5y", "level": None, "term": "age_per_5y", "hr": 1.10,
         "ci_low": 0.95, "ci_high": 1.27, "p": 0.2, "n": 143, "n_events": 43, "reference": False,
         "note": ""},
        {"covariate": "sex", "level": "M", "term": "sex[M]", "hr": 1.0, "ci_low": np.nan,
         "ci_high": np.nan, "p": np.nan, "n": 143, "n_events": 43, "reference": True, "note": ""},
        {"covariate": "sex", "level": "F", "term": "sex[F]", "hr": 0.5, "ci_low": 0.25,
         "ci_high": 1.0, "p": 0.0004, "n": 143, "n_events": 43, "reference": False, "note": ""},
    ])


def test_table1_comparison_rows_and_cells() -> None:
    t = tables.table1_comparison(_baseline(), _univariable()).set_index("Characteristic")
    assert list(t.columns) == tables.TABLE1_COLUMNS[1:]
    age = t.iloc[0]
    assert age["IVIG: paper"] == "66.9 (37.4–85.7)"
    assert age["IVIG: this book"] == "66.0 (40.0–80.0)"
    assert age["Reference: this book"] == "68.0 (41.0–89.0)"
    assert age["HR (95% CI): paper"] == "1.03 (0.90–1.18)"  # Table 1, per 5 yr
    assert age["HR (95% CI): this book"] == "1.10 (0.95–1.27)"
    assert age["p: paper"] == "0.640"
    assert t.loc["Sex", "IVIG: this book"] == "recorded: 43"
    male = t.loc["\u2003Male (ref)"]
    assert male["HR (95% CI): paper"] == "Ref" and male["HR (95% CI): this book"] == "Ref"
    female = t.loc["\u2003Female"]
    assert female["IVIG: paper"] == "19 (44%)" and female["IVIG: this book"] == "23 (53%)"
    assert female["Reference: paper"] == "47 (47%)"
    assert female["HR (95% CI): paper"] == "0.89 (0.49–1.63)"
    assert female["p: paper"] == "0.715" and female["p: this book"] == "<0.001"
    # rows our data lack are shown as missing, never dropped: all 14 blocks are there
    assert "ISS stage" in t.index and t.loc["\u2003IgE", "IVIG: this book"] == MISSING


def _menu() -> pd.DataFrame:
    base = {"outcome": "all", "log_irr": np.nan, "se": np.nan, "loglik": np.nan, "note": ""}
    return pd.DataFrame([
        {**base, "model": "primary_all", "label": "All-grade", "term": "on_ivig", "irr": 0.6,
         "ci_low": 0.4, "ci_high": 0.9, "p": 0.01, "n_cases": 42, "n_events": 155,
         "target_id": "sccs_allgrade_irr", "target_scale": "irr", "warning": None},
        {**base, "model": "bacterial", "label": "Bacterial", "term": "on_ivig", "irr": 0.5,
         "ci_low": 0.2, "ci_high": 1.25, "p": 0.14, "n_cases": 20, "n_events": 30,
         "target_id": "sccs_bacterial_reduction_pct", "target_scale": "reduction_pct",
         "warning": None},
        {**base, "model": "hgg200", "label": "HGG", "term": "igg_below_200", "irr": np.nan,
         "ci_low": np.nan, "ci_high": np.nan, "p": np.nan, "n_cases": 0, "n_events": 0,
         "target_id": "sccs_hgg_severe_irr", "target_scale": "irr", "warning": "no cases"},
    ])


def test_sccs_comparison_paper_cells_and_failed_models() -> None:
    t = tables.sccs_comparison(_menu())
    assert t.loc[0, "IRR (95% CI): paper"] == "0.57 (0.40–0.83)"
    assert t.loc[0, "IRR (95% CI): this book"] == "0.60 (0.40–0.90)"
    assert t.loc[0, "p: paper"] == "0.0035" and t.loc[0, "p: this book"] == "0.010"
    # "Bacterial infections were reduced by 60%": IRR 0.40 implied, no CI printed
    assert t.loc[1, "IRR (95% CI): paper"] == "60% lower (IRR 0.40 implied; no CI)"
    assert t.loc[2, "Term"] == "Functional IgG < 200 vs \u2265 200 mg/dL"
    assert t.loc[2, "IRR (95% CI): this book"] == MISSING
    assert t.loc[2, "IRR (95% CI): paper"] == "3.07 (1.39–6.80)"
    assert "no cases" in t.loc[2, "Note"]


def test_cox_comparison_skips_reference_rows() -> None:
    t = tables.cox_comparison(_univariable(), estimate="HR")
    assert list(t["Term"]) == ["Age (per 5 years)", "Sex: F"]
    assert t.loc[1, "HR (95% CI): paper"] == "0.89 (0.49–1.63)"
    assert t.loc[1, "Patients"] == 143
    # the same terms in the multivariable model are Supplementary Table 1's: s1_age_ahr 1.17
    # (0.95-1.44), s1_female_ahr 1.14 (0.52-2.51)
    s1 = tables.cox_comparison(_univariable(), estimate="aHR", model="multivariable")
    assert s1["aHR (95% CI): paper"].tolist() == ["1.17 (0.95–1.44)", "1.14 (0.52–2.51)"]


def test_table2_comparison_typo_note_and_lab_counts() -> None:
    values = pd.DataFrame({
        "target_id": ["t2_n", "t2_hgg_lt700_n", "t2_hgg_lt700_pct", "t2_anc_lt05_g34_pct",
                      "t2_anc_lt05_g34_pct"],
        "value": [43, 42, 97.67, 12.5, 99.0],  # the first row of an id wins
        "definition": [""] * 5,
    })
    labs = pd.DataFrame({"lab": ["anc"], "grade_group": ["3-4"], "threshold": [0.5], "n": [40],
                         "n_below": [5], "pct_below": [12.5], "median": [np.nan],
                         "min": [np.nan], "max": [np.nan]})
    t = tables.table2_comparison(values, labs).set_index("Characteristic")
    assert t.loc["\u2003Functional IgG < 700 mg/dL", "Paper"] == "42 (98%)"
    assert t.loc["\u2003Functional IgG < 700 mg/dL", "This book"] == "42 (98%)"
    anc = t.loc["\u2003ANC < 0.5, grade 3/4 infections"]
    assert anc["Paper"] == "16.2%" and anc["This book"] == "12.5% (5/40)"
    alc = t[t.index.str.startswith("Absolute lymphocyte")].iloc[0]
    assert alc["Paper"] == "29.0 (0.0–4.2)"  # printed as in Table 2 (a typo) ...
    assert "gives 1.0" in alc["Note"]  # ... with the Results text's median beside it
    assert alc["This book"] == MISSING
