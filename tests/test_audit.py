"""Tests of analysis.paper.audit (the reproduction audit of chapter 11) and of the two
degenerate-data
fixes in analysis.study.cox it relies on.

Expected values are the paper's printed numbers (Results, Supplementary Table 1) and hand-worked
judgements; the cohort-level test checks the audit against counts read directly from the CSV.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import SYNTHETIC_DIR
from analysis.paper import audit
from analysis.report.book import paper_targets
from analysis.study import cox


def test_paper_estimate_values() -> None:
    assert audit.paper_estimate_values("sccs_allgrade_irr") == (0.57, 0.40, 0.83)
    est, lo, hi = audit.paper_estimate_values("sccs_bacterial_reduction_pct", "reduction_pct")
    assert est == pytest.approx(0.40) and math.isnan(lo) and math.isnan(hi)  # "reduced by 60%"
    assert all(math.isnan(x) for x in audit.paper_estimate_values("s1_heavy_ige_ahr"))  # "NA"
    assert all(math.isnan(x) for x in audit.paper_estimate_values(None))


def test_estimates_long_adds_paper_rows_only_where_printed() -> None:
    rows = pd.DataFrame({"label": ["a", "b"], "irr": [0.6, 1.2], "ci_low": [0.4, 0.8],
                         "ci_high": [0.9, 1.8], "target_id": ["sccs_allgrade_irr", None],
                         "target_scale": ["irr", None]})
    long = audit.estimates_long(rows)
    assert list(long["source"]) == ["Paper", "This book", "This book"]
    assert long.iloc[0][["est", "ci_low", "ci_high"]].tolist() == [0.57, 0.40, 0.83]


@pytest.mark.parametrize(
    ("paper", "ours", "unit", "rule", "status"),
    [
        (0.57, 0.5651, "IRR", None, "match"),  # rounds to the printed 0.57
        (0.57, 0.66, "IRR", None, "close"),  # within 25%
        (0.57, 0.80, "IRR", None, "differs"),
        (43, 43.0, "patients", None, "match"),
        (42, 43.0, "patients", None, "differs"),  # counts: exact
        (98, 95.0, "percent", None, "close"),  # within 5 points
        (98, 92.0, "percent", None, "differs"),
        (3.1, 3.104, "infections per patient-year", None, "match"),
        (2.4, 2.0, "IRR", ("gt", 1.5), "close"),
        (0.94, 0.99, "infections per patient-year", ("abs", 0.03), "differs"),
        ("NA", float("nan"), "HR", None, "match"),
        ("not reached", float("nan"), "months", None, "info"),
        (1.0, float("nan"), "x10^3/uL", None, "not computed"),
    ],
)
def test_judge(paper, ours, unit, rule, status) -> None:
    assert audit.judge(paper, ours, unit, rule)[1] == status


def test_format_ours_follows_printed_decimals() -> None:
    assert audit.format_ours(0.57, 0.5649) == "0.565"
    assert audit.format_ours(43, 43.0) == "43"
    assert audit.format_ours(3.1, 2.0639) == "2.06"
    assert audit.format_ours(1.0, float("nan")) == "–"


def test_audit_group() -> None:
    t = paper_targets()
    assert audit.audit_group(t["t1_age_hr"]) == "Table 1"
    assert audit.audit_group(t["s1_age_ahr"]) == "Supplementary Table 1"
    assert audit.audit_group(t["dp_hgg_threshold"]) == "Design parameters"
    assert audit.audit_group(t["res2_rate_allgrade"]) == "Results: part two"


def test_audit_table_covers_every_target_once() -> None:
    from analysis.study.cohort import load_cohort
    from analysis.synthetic.calibration import calibration_table

    cohort = load_cohort(SYNTHETIC_DIR)
    table = audit.audit_table(cohort, calibration=calibration_table(cohort))
    assert sorted(table["target_id"]) == sorted(paper_targets())
    assert set(table["status"]) <= set(audit.STATUSES)
    raw = pd.read_csv(SYNTHETIC_DIR / "patients.csv")
    n_ivig = int((raw["group"] == "ivig").sum())
    row = table.set_index("target_id").loc["t1_n_ivig"]
    assert row["ours"] == n_ivig
    # the design constants of the code are the paper's (Methods: 30 days, 700 mg/dL)
    dp = table.set_index("target_id").loc[["dp_on_ivig_window_days", "dp_hgg_threshold"]]
    assert (dp["status"] == "match").all()
    # a number the cohort cannot hold is reported as such, not invented
    assert table.set_index("target_id").loc["res1_screened_n", "status"] == "not computed"


def test_cox_reports_degenerate_models_instead_of_crashing() -> None:
    # A covariate with one value carries no information: singular, so not estimable.
    data = pd.DataFrame({"time": [10.0, 20, 30, 40, 50, 60], "event": [1, 0, 1, 0, 1, 0],
                         "lines": [2.0] * 6, "group": "x"})
    spec = [s for s in cox.TABLE1_COVARIATES if s.covariate == "lines"]
    res = cox.univariable_cox(data, spec)
    assert np.isnan(res.loc[0, "hr"]) and "not estimable" in res.loc[0, "note"]
    ph = cox.proportional_hazards_tests(data, spec)
    assert len(ph) == 1 and np.isnan(ph.loc[0, "p"]) and not ph.loc[0, "ph_violated"]
