"""Tests of the reproduction audit (analysis.paper.audit), the one loader's printed text
(analysis.paper.targets) and our value per target id (analysis.paper.values).

Expected values are independent of the code under test: the paper's printed text is read from
``data/paper/targets.yaml`` line by line (no YAML parser), and each judgement is worked by hand
below from the paper's printed numbers (the arithmetic is written out in the comments).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from analysis import SYNTHETIC_DIR, TARGETS_PATH
from analysis.paper import audit, values
from analysis.paper.targets import PrintedFloat, entry, printed_decimals, rounds_to, targets
from analysis.study import cox


# --------------------------------------------------------------------------- printed text
def _raw_printed() -> dict[str, str]:
    """id -> the ``value:`` scalar exactly as written in targets.yaml (a plain text scan)."""
    out, current = {}, None
    for line in TARGETS_PATH.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*- id: (\S+)", line)
        if m:
            current = m.group(1)
            continue
        m = re.match(r"\s+value: (.*)$", line)
        if m and current is not None and current not in out:
            out[current] = m.group(1).strip().strip('"')
    return out


def test_every_value_keeps_its_printed_text() -> None:
    raw = _raw_printed()
    loaded = targets()
    assert set(raw) == set(loaded)
    for tid, text in raw.items():
        assert loaded[tid]["printed"] == text, tid
    # the cases issue 10 names: trailing zeros survive
    assert entry("t1_heavy_igg_hr")["printed"] == "0.40"
    assert str(entry("t1_heavy_igg_hr")["value"]) == "0.40"
    assert entry("sccs_g34_irr")["printed"] == "0.30"
    assert entry("sccs_allgrade_irr_adj_pre30")["printed"] == "0.60"
    assert entry("t1_heavy_igg_hr")["printed_ci_low"] == "0.20"


def test_printed_float_is_a_float() -> None:
    v = PrintedFloat(0.4, "0.40")
    assert v == 0.4 and v * 2 == 0.8 and isinstance(v, float)
    assert repr(v) == "0.40" and f"{v:.3f}" == "0.400"


@pytest.mark.parametrize(("text", "decimals"), [("0.40", 2), ("3.10", 2), ("43", 0),
                                                ("1076", 0), ("0.0035", 4), ("29.0", 1)])
def test_printed_decimals_counts_the_text(text: str, decimals: int) -> None:
    assert printed_decimals(text) == decimals


def test_printed_decimals_refuses_a_bare_float() -> None:
    with pytest.raises(TypeError, match="printed text"):
        printed_decimals(0.4)


@pytest.mark.parametrize(("value", "printed", "expected"), [
    (0.35, "0.40", False),   # issue 10: 0.35 used to "match" 0.40
    (0.404, "0.40", True),
    (0.395, "0.40", True),   # half rounds up
    (0.3949, "0.40", False),
    (0.31, "0.30", False),
    (0.61, "0.60", False),
    (42.5, "43", True),
    (42.49, "43", False),
])
def test_rounds_to(value: float, printed: str, expected: bool) -> None:
    assert rounds_to(value, printed) is expected


# --------------------------------------------------------------------------- judging
def test_hr_is_judged_on_the_log_scale_with_the_papers_ci() -> None:
    # Table 1: IgG myeloma HR 0.40 (0.20-0.79). SE(log HR) = (ln 0.79 - ln 0.20) / (2 x 1.96)
    # = 0.35044; the difference of two such estimates: sqrt(2) x 0.35044 = 0.49560; close when
    # |ln ours - ln 0.40| <= 1.95996 x 0.49560 = 0.97134, i.e. ours in 0.1514 .. 1.0566.
    e = entry("t1_heavy_igg_hr")
    assert audit.judge(e, 0.404)[1] == "match"
    assert audit.judge(e, 0.35)[1] == audit.LOW_POWER        # no longer a "match"
    assert audit.judge(e, 0.16)[1] == audit.LOW_POWER
    assert audit.judge(e, 0.15)[1] == "differs"
    assert audit.judge(e, 1.05)[1] == audit.LOW_POWER
    assert audit.judge(e, 1.07)[1] == "differs"
    assert audit.judge(e, 0.35)[0].startswith("0.15 to 1.06")


def test_our_ci_enters_the_difference() -> None:
    # sccs_allgrade_irr 0.57 (0.40-0.83): se_p = (ln .83 - ln .40) / 3.91993 = 0.18624.
    # Ours 0.80 with CI 0.78-0.82: se_o = (ln .82 - ln .78) / 3.91993 = 0.01276;
    # sqrt(se_p^2 + se_o^2) = 0.18666 -> limit 1.95996 x 0.18666 = 0.36585 >= |ln(0.80 / 0.57)|
    # = 0.33897: close. Ours 0.85 (CI 0.83-0.87): |ln(0.85 / 0.57)| = 0.39960 > 0.3658: differs.
    e = entry("sccs_allgrade_irr")
    assert audit.judge(e, {"value": 0.80, "ci_low": 0.78, "ci_high": 0.82})[1] == audit.LOW_POWER
    assert audit.judge(e, {"value": 0.85, "ci_low": 0.83, "ci_high": 0.87})[1] == "differs"


def test_reduction_is_judged_as_the_irr_it_restates() -> None:
    # "43% fewer" = 100 (1 - 0.57), CI of 0.57: 0.40-0.83 (se_diff = sqrt(2) x 0.18624 =
    # 0.26338, limit 0.51622 on log IRR). 30% fewer = IRR 0.70: |ln(0.70/0.57)| = 0.2055 -> close;
    # 0% fewer = IRR 1.0: 0.5621 -> differs.
    e = entry("abs_allgrade_reduction_pct")
    assert audit.judge(e, 43.4)[1] == "match"
    assert audit.judge(e, 30.0)[1] == audit.LOW_POWER
    assert audit.judge(e, 0.0)[1] == "differs"


def test_percentages_are_binomial_at_the_papers_size() -> None:
    # 98% of the 43 IVIG patients. Ours 95: pbar = 0.965, SE of the difference
    # 100 sqrt(0.965 x 0.035 x 2 / 43) = 3.963, limit 7.77 points -> close; ours 85 -> differs.
    e = entry("res1_patients_with_infection_pct")
    assert audit.judge(e, 97.7)[1] == "match"
    assert audit.judge(e, 95.0)[1] == audit.LOW_POWER
    assert audit.judge(e, 85.0)[1] == "differs"


def test_counts_of_infections_are_poisson() -> None:
    # 155 infections. Ours 140: sqrt(155 + 140) = 17.18, limit 33.7 -> close;
    # ours 100: sqrt(255) = 15.97, limit 31.3 < 55 -> differs.
    e = entry("res1_infections_total")
    assert audit.judge(e, 155.0)[1] == "match"
    assert audit.judge(e, 140.0)[1] == audit.LOW_POWER
    assert audit.judge(e, 100.0)[1] == "differs"


def test_rates_are_poisson_on_our_infections() -> None:
    # 3.10 per patient-year vs ours 2.5: |ln(2.5/3.1)| = 0.2151. With 100 infections the SE of
    # the log difference is sqrt(2/100) = 0.1414 (limit 0.2772) -> close; with 400 it is 0.0707
    # (limit 0.1386) -> differs. Without a count no SE is known: as printed.
    e = entry("res1_rate_observation")
    assert audit.judge(e, {"value": 2.5, "n_events": 100})[1] == audit.LOW_POWER
    assert audit.judge(e, {"value": 2.5, "n_events": 400})[1] == "differs"
    assert audit.judge(e, {"value": 2.5})[1] == "differs"


def test_median_se_from_the_printed_range() -> None:
    # Age 66.9 (37.4-85.7), n = 43: SD ~ range / 4 = 12.075; SE(median) = sqrt(pi/2) x 12.075 /
    # sqrt(43) = 2.3078; difference sqrt(2) x 2.3078 = 3.2637, limit 6.397 years.
    e = entry("t1_age_ivig_median")
    assert audit.judge(e, 62.0)[1] == audit.LOW_POWER
    assert audit.judge(e, 60.0)[1] == "differs"


def test_what_has_no_standard_error_is_judged_as_printed() -> None:
    assert audit.judge(entry("t1_age_ivig_max"), 85.7)[1] == "match"
    assert audit.judge(entry("t1_age_ivig_max"), 84.0) == ("as printed (no standard error)",
                                                           "differs")


def test_design_constants_are_equal_or_differ() -> None:
    e = entry("dp_on_ivig_window_days")
    assert audit.judge(e, 30)[1] == "match"
    assert audit.judge(e, 28)[1] == "differs"


def test_non_numbers() -> None:
    # the paper's NA against our missing value: nothing was compared, so not a match
    assert audit.judge(entry("s1_heavy_ige_ahr"), float("nan"))[1] == "not computed"
    assert audit.judge(entry("s1_heavy_ige_ahr"), 1.2)[1] == "differs"
    assert audit.judge(entry("res1_os_from_dara_median"), float("nan"))[1] == "not computed"
    assert audit.judge(entry("t1_age_ivig_median"), float("nan"))[1] == "not computed"


def test_misses_are_never_info() -> None:
    assert "info" not in audit.STATUSES


# --------------------------------------------------------------------------- provenance
def test_provenance_of() -> None:
    """The audit takes the derivation's label as given: no restatement table of its own."""
    declared = {"t1_n_ivig": "planted", "sccs_allgrade_irr": "truth set",
                "sccs_pre60_irr": "selected", "res2_time_with_hgg_pct_ref": "tuned"}
    assert audit.provenance_of("t1_n_ivig", "baseline", True, declared) == "planted"
    assert audit.provenance_of("sccs_allgrade_irr", "sccs", True, declared) == "truth set"
    assert audit.provenance_of("res2_time_with_hgg_pct_ref", "descriptive", True,
                               declared) == "tuned"
    # a restatement is labelled only if the derivation labels it (values.SAME_AS is not read)
    assert audit.provenance_of("abs_ivig_n", "baseline", True, declared) == "emergent"
    assert audit.provenance_of("sccs_pre60_irr", "sccs", True, declared) == "selected"
    assert audit.provenance_of("sccs_g34_irr", "sccs", True, declared) == "emergent"
    assert audit.provenance_of("dp_hgg_threshold", "design", True, declared) == "design"
    assert audit.provenance_of("res1_screened_n", "", False, declared) == "not computable"
    assert audit.provenance_of("t1_n_ivig", "baseline", True, None) == "emergent"


def test_per_infection_percentages_use_the_papers_infections() -> None:
    # 55 % of the paper's 155 infections are respiratory. Ours 50: pbar = 0.525, SE of the
    # difference 100 sqrt(0.525 x 0.475 x 2 / 155) = 5.672, limit 11.12 points -> not detectably
    # different; ours 40: pbar 0.475, same SE 5.672, |55 - 40| = 15 > 11.12 -> differs. With
    # n = 43 patients (the old, wrong n) the limit would be 21.1 points and 40 would pass.
    e = entry("res1_site_respiratory_pct")
    assert audit.judge(e, 50.0)[1] == audit.LOW_POWER
    assert audit.judge(e, 40.0)[1] == "differs"
    assert "n = 155 infections" in audit.judge(e, 50.0)[0]
    # Table 2 grade 3/4 shares are of the 37 infections with a value (inconsistencies.md item 2)
    assert audit.population_size(entry("t2_alc_lt05_g34_pct")) == (37.0, "infections")
    assert audit.population_size(entry("res1_female_pct")) == (43.0, "patients")


def test_audit_counts_are_the_tables() -> None:
    t = pd.DataFrame({"status": ["match", audit.LOW_POWER, audit.LOW_POWER, "differs",
                                 "not computed"],
                      "provenance": ["planted", "emergent", "truth set", "emergent",
                                     "not computable"]})
    c = audit.audit_counts(t)
    assert (c["total"], c["agree"], c["low_power"]) == (5, 1, 2)
    assert c["calibrated"] == 1 and c["calibrated_match"] == 1
    assert c["prov_emergent"] == 2 and c["prov_emergent_differs"] == 1
    assert c["prov_truth_set_not_detectably_different"] == 1
    assert sum(c[f"status_{s.replace(' ', '_')}"] for s in audit.STATUSES) == c["total"]


def test_how_ours_is_computed_is_truthful(canonical) -> None:
    """Only rows without a value say the cohort does not hold the quantity."""
    _, table = canonical
    says_not_held = table["definition"].str.contains("does not hold")
    assert (says_not_held <= (table["status"] == "not computed")).all()
    computed = table["status"] != "not computed"
    assert table.loc[computed, "definition"].str.startswith(("analysis.", "a constant")).all()


def test_design_values_are_read_from_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    import analysis.study as study

    assert values.design_values()["dp_on_ivig_window_days"][0] == study.ON_IVIG_DAYS
    monkeypatch.setattr(study, "ON_IVIG_DAYS", 31)
    monkeypatch.setattr(study, "HGG_THRESHOLDS", (650, 400, 200))
    got = values.design_values()
    assert got["dp_on_ivig_window_days"][0] == 31
    assert got["dp_hgg_threshold"][0] == 650


# --------------------------------------------------------------------------- the whole table
@pytest.fixture(scope="module")
def canonical() -> tuple[pd.DataFrame, pd.DataFrame]:
    from analysis.study.cohort import load_cohort

    cohort = load_cohort(SYNTHETIC_DIR)
    ours = values.our_values(cohort)
    declared = {"t1_n_ivig": "planted", "sccs_pre60_irr": "selected"}
    return ours, audit.audit_table(cohort, values=ours, provenance=declared)


def test_audit_table_covers_every_target_once(canonical) -> None:
    _, table = canonical
    assert sorted(table["target_id"]) == sorted(targets())
    assert set(table["status"]) <= set(audit.STATUSES)
    assert set(table["provenance"]) <= set(audit.PROVENANCES)


def test_audit_table_values_against_the_csv(canonical) -> None:
    _, table = canonical
    t = table.set_index("target_id")
    raw = pd.read_csv(SYNTHETIC_DIR / "patients.csv")
    assert t.loc["t1_n_ivig", "ours"] == int((raw["group"] == "ivig").sum())
    assert t.loc["abs_ivig_n", "ours"] == t.loc["t1_n_ivig", "ours"]
    assert t.loc["abs_ivig_n", "provenance"] == "emergent"  # not in the declaration given
    assert t.loc["sccs_pre60_irr", "provenance"] == "selected"
    assert t.loc["res1_screened_n", "status"] == "not computed"
    assert t.loc["res1_screened_n", "provenance"] == "not computable"
    assert t.loc["dp_on_ivig_window_days", "provenance"] == "design"


def test_audit_quotes_the_paper_as_printed(canonical) -> None:
    _, table = canonical
    shown = audit.display_frame(table).set_index("Target")
    raw = _raw_printed()
    for tid in ("t1_heavy_igg_hr", "sccs_g34_irr", "res1_rate_observation", "t1_n_ivig"):
        assert shown.loc[tid, "Paper"] == raw[tid]
    assert shown.loc["t1_heavy_igg_hr", "Paper"] == "0.40"


def test_reductions_and_restatements_reuse_one_value(canonical) -> None:
    ours, _ = canonical
    v = ours.set_index("target_id")["value"]
    assert v["abs_allgrade_reduction_pct"] == pytest.approx(100 * (1 - v["sccs_allgrade_irr"]))
    assert v["text_hr_igg_subtype"] == v["t1_heavy_igg_hr"]
    assert ours["target_id"].is_unique


def test_provenance_summary_adds_up(canonical) -> None:
    _, table = canonical
    s = audit.provenance_summary(table).set_index("Provenance")
    assert s.loc["Total", "Total"] == len(table)
    assert s.loc["emergent", "Total"] == int((table["provenance"] == "emergent").sum())
    assert list(s.index[:-1]) == list(audit.PROVENANCES)


def test_a_real_cohort_has_nothing_planted(canonical) -> None:
    from analysis.study.cohort import load_cohort

    ours, _ = canonical
    table = audit.audit_table(load_cohort(SYNTHETIC_DIR), values=ours, provenance=None)
    assert not table["provenance"].isin(["planted", "selected"]).any()


def test_contradiction_outcomes() -> None:
    low = audit.LOW_POWER
    rows = []
    for item, (_, pairs) in audit.CONTRADICTIONS.items():
        for k, (a, b) in enumerate(pairs):
            sa, sb = [("match", "differs"), ("differs", "match"), ("match", "match"),
                      (low, "match"), ("differs", low)][(item + k) % 5]
            rows += [{"target_id": a, "printed": "1", "ours": 1.0, "status": sa},
                     {"target_id": b, "printed": "1", "ours": 1.0, "status": sb}]
    got = audit.contradiction_table(pd.DataFrame(rows))
    # a difference the sample cannot detect is not agreement
    expect = {("match", "differs"): "first only", ("differs", "match"): "second only",
              ("match", "match"): "both", (low, "match"): "second only",
              ("differs", low): "neither"}
    for _, r in got.iterrows():
        assert r["outcome"] == expect[(r["first_status"], r["second_status"])]


def test_format_ours_follows_printed_decimals() -> None:
    assert audit.format_ours("0.40", 0.3512) == "0.351"
    assert audit.format_ours("43", 43.0) == "43"
    assert audit.format_ours("3.10", 2.0639) == "2.064"
    assert audit.format_ours("not reached", 12.34) == "12.34"
    assert audit.format_ours("1.0", float("nan")) == "–"


# --------------------------------------------------------------------------- kept from before
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


def test_audit_group() -> None:
    t = targets()
    assert audit.audit_group(t["t1_age_hr"]) == "Table 1"
    assert audit.audit_group(t["s1_age_ahr"]) == "Supplementary Table 1"
    assert audit.audit_group(t["dp_hgg_threshold"]) == "Design parameters"
    assert audit.audit_group(t["res2_rate_allgrade"]) == "Results: part two"


def test_cox_reports_degenerate_models_instead_of_crashing() -> None:
    # A covariate with one value carries no information: singular, so not estimable.
    data = pd.DataFrame({"time": [10.0, 20, 30, 40, 50, 60], "event": [1, 0, 1, 0, 1, 0],
                         "lines": [2.0] * 6, "group": "x"})
    spec = [s for s in cox.TABLE1_COVARIATES if s.covariate == "lines"]
    res = cox.univariable_cox(data, spec)
    assert np.isnan(res.loc[0, "hr"]) and "not estimable" in res.loc[0, "note"]
    ph = cox.proportional_hazards_tests(data, spec)
    assert len(ph) == 1 and np.isnan(ph.loc[0, "p"]) and not ph.loc[0, "ph_violated"]


# --------------------------------------------------------------------------- what agreement means
def test_synthetic_banner_says_agreement_shows_calibration() -> None:
    from types import SimpleNamespace

    from analysis.report import book

    cohort = SimpleNamespace(path=SYNTHETIC_DIR, name="s", synthetic=True, metadata={"seed": 1})
    text = book.banner_markdown(cohort)
    assert "calibrated" in text and "not that the code is right" in text
    assert "R package SCCS" in text and "truth-recovery" in text
    assert "shows that the code reproduces" not in text
    assert "calibration" in book.banner_text(cohort)
