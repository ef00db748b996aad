"""Tests of analysis.report.tables: number formats as the paper prints them, paper-beside-ours
tables.

Expected strings are written by hand from the paper's own printing conventions (e.g. "0.57
(0.40–0.83)", "19 (44%)", p "<0.001"), and the paper values from the paper's text.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.report import tables
from analysis.report.tables import MISSING, Row


def test_fmt_num_integers_floats_and_missing() -> None:
    assert tables.fmt_num(1076) == "1,076"
    assert tables.fmt_num(np.int64(43)) == "43"
    assert tables.fmt_num(0.5749) == "0.57"
    assert tables.fmt_num(3.1, 2) == "3.10"
    assert tables.fmt_num(float("nan")) == MISSING
    assert tables.fmt_num(None) == MISSING
    assert tables.fmt_num(pd.NA) == MISSING


def test_fmt_sig_for_mixed_columns() -> None:
    assert tables.fmt_sig(43.0) == "43"
    assert tables.fmt_sig(1076) == "1,076"
    assert tables.fmt_sig(55.81395) == "55.81"
    assert tables.fmt_sig(0.57491) == "0.5749"
    assert tables.fmt_sig("not reached") == "not reached"
    assert tables.fmt_sig(float("nan")) == MISSING


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0035, "0.0035"), (0.212, "0.212"), (0.0004, "<0.001"), (0.0501, "0.050"),
     ("<0.0001", "<0.0001"), (None, MISSING)],
)
def test_fmt_p(p: object, text: str) -> None:
    assert tables.fmt_p(p) == text


def test_fmt_ci_and_median_range() -> None:
    assert tables.fmt_ci(0.57, 0.40, 0.83) == "0.57 (0.40–0.83)"
    assert tables.fmt_ci(0.57, math.nan, 0.83) == "0.57"
    assert tables.fmt_ci(math.nan, 0.1, 0.2) == MISSING
    assert tables.fmt_median_range(66.9, 37.4, 86.0) == "66.9 (37.4–86.0)"


def test_fmt_n_pct_uses_the_denominator() -> None:
    assert tables.fmt_n_pct(19, 43) == "19 (44%)"  # Table 1: female 19 (44%)
    assert tables.fmt_n_pct(42, 43) == "42 (98%)"
    assert tables.fmt_n_pct(5, 0) == "5"
    assert tables.fmt_pct(48.6, 1) == "48.6%"


def test_compare_reads_paper_values_from_targets() -> None:
    out = tables.compare(
        [
            Row("All-grade IRR", (0.6, 0.45, 0.8),
                ["sccs_allgrade_irr", "sccs_allgrade_irr.ci_low", "sccs_allgrade_irr.ci_high"],
                fmt=tables.fmt_ci),
            Row("Infections", 150, ["res1_infections_total"]),
            Row("Not printed", 3, []),
        ]
    )
    assert list(out.columns) == ["Quantity", "Paper", "This book"]
    assert out.loc[0, "Paper"] == "0.57 (0.40–0.83)"  # "IRR 0.57, 95% CI [0.40-0.83]"
    assert out.loc[0, "This book"] == "0.60 (0.45–0.80)"
    assert out.loc[1, "Paper"] == "155"  # "a total of 155 infections" (Results)
    assert out.loc[1, "This book"] == "150"
    assert out.loc[2, "Paper"] == ""


def test_compare_formats_ci_from_three_ids_and_keeps_notes() -> None:
    out = tables.compare(
        [Row("IRR", (0.61, 0.42, 0.88), ["sccs_allgrade_irr"], fmt=lambda e, *_: f"{e:.2f}",
             note="primary")]
    )
    assert out.loc[0, "Paper"] == "0.57"
    assert out.loc[0, "Note"] == "primary"


def test_style_table_formats_hides_index_and_is_deterministic() -> None:
    df = pd.DataFrame({"Outcome": ["all", "grade 3-4"], "n": [155, 40], "rate": [1.7834, np.nan]})
    html1 = tables.style_table(df, caption="Rates").to_html()
    html2 = tables.style_table(df, caption="Rates").to_html()
    assert html1 == html2  # fixed uuid: identical HTML from build to build
    assert "1.78" in html1 and "1.7834" not in html1
    assert MISSING in html1
    assert "Rates" in html1
    assert "<th class=\"blank" not in html1  # no index column


# --- named values beside the paper's (infections) -------------------------------------------------
# Paper values as printed in the Results (part one: 42 of 43 patients (98%) had an infection, the
# first after a median of 2.5 months; 55% respiratory; ANC at infection 3.0 (0-15.9); part two:
# 0.94 infections per patient-year in the reference group).


@pytest.mark.parametrize("kind, tid, ours, paper", [
    ("n_pct", "res1_patients_with_infection", {"res1_patients_with_infection_n": 40.0,
                                               "res1_patients_with_infection_pct": 93.02},
     "42 (98%)"),
    ("pct", "res1_site_respiratory_pct", {"res1_site_respiratory_pct": 61.4}, "55%"),
    ("median_range", "res1_anc_at_infection", {"res1_anc_at_infection_median": 2.84,
                                               "res1_anc_at_infection_min": 0.1,
                                               "res1_anc_at_infection_max": 12.0},
     "3.0 (0.0–15.9)"),
    ("rate", "res2_rate_allgrade", {"res2_rate_allgrade": 1.005}, "0.94"),
    ("months", "res1_time_to_first_infection_median",
     {"res1_time_to_first_infection_median": 3.04}, "2.5"),
    ("n", "res1_patients_with_infection_n", {"res1_patients_with_infection_n": 40.0}, "42"),
])
def test_value_cell_paper_and_ours(kind, tid, ours, paper) -> None:
    assert tables.value_cell(kind, tid, ours, paper=True) == paper
    expected_ours = {"n_pct": "40 (93%)", "pct": "61%", "median_range": "2.8 (0.1–12.0)",
                     "rate": "1.00", "months": "3.0", "n": "40"}[kind]
    assert tables.value_cell(kind, tid, ours, paper=False) == expected_ours


def test_value_cell_missing_id_value_and_bad_kind() -> None:
    assert tables.value_cell("rate", None, {}, paper=True) == ""
    assert tables.value_cell("rate", "res2_rate_allgrade", {}, paper=False) == MISSING
    with pytest.raises(ValueError, match="unknown kind"):
        tables.value_cell("ratio", "res2_rate_allgrade", {}, paper=False)


def test_values_comparison_layout() -> None:
    rows = [tables.ValueRow("Rate", "rate", None, "res2_rate_allgrade"),
            tables.ValueRow("Respiratory", "pct", "res1_site_respiratory_pct")]
    t = tables.values_comparison(rows, {"res2_rate_allgrade": 0.5, "res1_site_respiratory_pct": 50})
    assert list(t.columns) == tables.VALUES_COLUMNS
    assert t.to_numpy().tolist() == [["Rate", "", "", "0.94", "0.50"],
                                 ["Respiratory", "55%", "50%", "", ""]]


def test_infections_comparison_has_every_row_and_reads_values() -> None:
    t = tables.infections_comparison({"res2_rate_g34": 0.123})
    assert len(t) == 21
    row = t[t["Quantity"] == "Grade 3-4 infections per patient-year"].iloc[0]
    assert row["Reference group: this book"] == "0.12" and row["IVIG group: paper"] == ""
    assert tables.as_count(3.0) == 3 and math.isnan(tables.as_count(float("nan")))


def test_values_comparison_can_put_the_reference_group_first() -> None:
    rows = [tables.ValueRow("Rate", "rate", None, "res2_rate_allgrade")]
    t = tables.values_comparison(rows, {"res2_rate_allgrade": 0.5}, reference_first=True)
    assert list(t.columns) == ["Quantity", "Reference group: paper", "Reference group: this book",
                               "IVIG group: paper", "IVIG group: this book"]
    assert t.to_numpy().tolist() == [["Rate", "0.94", "0.50", "", ""]]


def test_reference_comparison_cells() -> None:
    # Paper (targets.yaml): res2_patients_with_infection_n 62 and _pct 62, res2_rate_allgrade 0.94,
    # res1_alc_lt05_in_g34_pct 48.6, res2_alc_lt05_in_g34_pct 30.8, reference ANC at infection
    # 2.85 (0-42.7): printed with two decimals, so both its cells print two.
    ours = {"res2_patients_with_infection_n": 57.0, "res2_patients_with_infection_pct": 57.0,
            "res2_rate_allgrade": 0.944, "res1_alc_lt05_in_g34_pct": 41.25,
            "res2_alc_lt05_in_g34_pct": float("nan"), "res2_anc_at_infection_median": 2.8,
            "res2_anc_at_infection_min": 0.0, "res2_anc_at_infection_max": 42.7}
    t = tables.reference_comparison(ours, 1.685, 0.2).set_index("Quantity")
    assert len(t) == 17
    assert t.loc["Patients with an infection"].tolist()[:2] == ["62", "57"]
    assert t.loc["Patients with an infection, %"].tolist()[:2] == ["62%", "57%"]
    # the IVIG group's pooled rates: ours only, the paper prints none
    assert t.loc["All-grade infections per patient-year (pooled)"].tolist() == \
        ["0.94", "0.94", "", "1.69"]
    assert t.loc["Grade 3-4 infections per patient-year (pooled)"].tolist()[2:] == ["", "0.20"]
    # laboratory shares: ours with one decimal; a value we cannot compute is a dash
    alc = t.loc["ALC < 0.5 at grade 3-4 infections, %"].tolist()
    assert alc == ["30.8%", MISSING, "48.6%", "41.2%"]
    anc = t.loc["ANC ×10³/µL at infection, median (range)"].tolist()
    assert anc[:2] == ["2.85 (0.00–42.70)", "2.80 (0.00–42.70)"]
