# ---
# jupyter:
#   jupytext:
#     default_lexer: ipython3
#     formats: md:myst,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Baseline characteristics

# %% tags=["remove-input"]
from analysis.report import book, tables
from analysis.study import cox

cohort = book.load()
book.cohort_banner(cohort)

# %% [markdown]
# The paper's Table 1 {cite:p}`lancman2026` describes both groups at their first daratumumab dose and
# asks, row by row, whether a characteristic goes with receiving IVIG sooner: each row carries the
# hazard ratio (HR) of a univariable Cox model of the time from the first daratumumab dose to the
# first IVIG dose, fitted over both groups. This chapter rebuilds the table with the same rows and
# denominators; chapter {doc}`11-who-receives-ivig` looks at the Cox models themselves (the
# multivariable model, proportional hazards, Kaplan-Meier curves).
#
# ## Table 1

# %% tags=["hide-input", "full-width"]
data = cox.cox_data(cohort)
baseline = cox.baseline_characteristics(data)
univariable = cox.univariable_cox(data)
table1 = tables.table1_comparison(baseline, univariable)
book.publish_table(
    table1, "table1_baseline",
    caption="Table 1. Baseline characteristics, with univariable Cox regression of the time to "
            "first IVIG (both groups)",
)

# %% [markdown]
# Each cell of a category shows the number of patients and their percentage **of the patients with
# that characteristic recorded**; the block's first row says how many that is in this cohort. The
# numeric rows show the median and the range (minimum–maximum). HRs are per {glue:text}`paper_dp_cox_age_scale_years` years for age and for
# the years from diagnosis, per infection for the prior-year count, per month for months on
# daratumumab, and against the reference level (marked *ref*) otherwise.
#
# ## What the table says

# %% tags=["hide-input"]
import numpy as np

groups = data["group"].value_counts()
book.glue_value("base_n_ivig", int(groups.get("ivig", 0)))
book.glue_value("base_n_ref", int(groups.get("reference", 0)))
book.glue_paper("t1_n_ivig", "t1_n_ref", "drv_prior_inf_cat_n_ivig", "drv_prior_inf_cat_n_ref",
                "t1_prior_infections_ivig_median", "t1_prior_infections_ref_median",
                "t1_prior_infections_hr", "t1_heavy_igg_hr", "t1_heavy_igg_ivig_pct",
                "t1_heavy_igg_ref_pct", "t1_months_on_dara_hr")
book.glue_paper("t1_prior_infections_hr", "t1_heavy_igg_hr", field="ci_low")
book.glue_paper("t1_prior_infections_hr", "t1_heavy_igg_hr", field="ci_high")


def numeric(column: str, group: str) -> float:
    """Median of a numeric Table 1 row (NaN when the group has nobody)."""
    sel = baseline[(baseline["covariate"] == column) & (baseline["group"] == group)]
    return float(sel["median"].iloc[0]) if len(sel) else float("nan")


def share(column: str, level: str, group: str) -> float:
    """Percentage of a category among the group's patients with the characteristic recorded."""
    sel = baseline[(baseline["covariate"] == column) & (baseline["level"] == level)
                   & (baseline["group"] == group)]
    return float(sel["pct"].iloc[0]) if len(sel) else float("nan")


def hr(covariate: str, level: str | None = None) -> dict[str, float | str]:
    """HR, CI and formatted p of one univariable term."""
    sel = univariable[univariable["covariate"] == covariate]
    sel = sel[sel["level"].isna()] if level is None else sel[sel["level"] == level]
    r = sel.iloc[0]
    return {"hr": float(r["hr"]), "lo": float(r["ci_low"]), "hi": float(r["ci_high"]),
            "p": tables.fmt_p(r["p"])}


prior_iv, prior_ref = numeric("prior_infections", "ivig"), numeric("prior_infections", "reference")
book.glue_values({
    "prior_ivig": prior_iv,
    "prior_ref": prior_ref,
    "prior_direction": "more" if prior_iv > prior_ref else "fewer" if prior_iv < prior_ref
    else "as many",
    "igg_ivig_pct": share("heavy_chain", "IgG", "ivig"),
    "igg_ref_pct": share("heavy_chain", "IgG", "reference"),
    "months_ivig": numeric("months_on_dara", "ivig"),
    "months_ref": numeric("months_on_dara", "reference"),
}, prefix="base_")
for name, (cov, level) in {"prior": ("prior_infections", None),
                           "heavy_igg": ("heavy_chain", "IgG"),
                           "months": ("months_on_dara", None)}.items():
    book.glue_values(hr(cov, level), prefix=f"base_hr_{name}_")
# patients with every Table 1 characteristic recorded (the multivariable model's complete cases)
multivariable = cox.multivariable_cox(data)
book.glue_value("base_n_complete", int(multivariable["n"].iloc[0]) if len(multivariable) else 0)
book.glue_value("base_n_total", len(data))
book.glue_value("base_n_iss_missing", int(data["iss"].isna().sum()))
from analysis import study

book.glue_paper("dp_cox_age_scale_years")
book.glue_values({"igg_before": -study.BASELINE_IGG_WINDOW[0],
                  "igg_after": study.BASELINE_IGG_WINDOW[1],
                  "thr_mod": study.HGG_THRESHOLDS[1], "thr_sev": study.HGG_THRESHOLDS[2]},
                 prefix="base_")

# %% [markdown]
# This cohort has {glue:text}`base_n_ivig` IVIG and {glue:text}`base_n_ref` reference patients (the
# paper: {glue:text}`paper_t1_n_ivig` and {glue:text}`paper_t1_n_ref`). IVIG patients had a median of
# {glue:text}`base_prior_ivig:.0f` infections in the year before daratumumab against
# {glue:text}`base_prior_ref:.0f` in the reference group ({glue:text}`base_prior_direction`; the
# paper: {glue:text}`paper_t1_prior_infections_ivig_median:.0f` against
# {glue:text}`paper_t1_prior_infections_ref_median:.0f`). Each prior-year infection multiplied the
# hazard of starting IVIG by {glue:text}`base_hr_prior_hr:.2f` (95% CI
# {glue:text}`base_hr_prior_lo:.2f`–{glue:text}`base_hr_prior_hi:.2f`, p
# {glue:text}`base_hr_prior_p`); the paper's HR is {glue:text}`paper_t1_prior_infections_hr:.2f`
# ({glue:text}`paper_t1_prior_infections_hr_ci_low:.2f`–{glue:text}`paper_t1_prior_infections_hr_ci_high:.2f`).
# IgG myeloma made up {glue:text}`base_igg_ivig_pct:.0f`% of the IVIG group and
# {glue:text}`base_igg_ref_pct:.0f`% of the reference group (paper:
# {glue:text}`paper_t1_heavy_igg_ivig_pct`% and {glue:text}`paper_t1_heavy_igg_ref_pct`%), with an
# HR against light-chain-only myeloma of {glue:text}`base_hr_heavy_igg_hr:.2f`
# ({glue:text}`base_hr_heavy_igg_lo:.2f`–{glue:text}`base_hr_heavy_igg_hi:.2f`; paper
# {glue:text}`paper_t1_heavy_igg_hr:.2f`,
# {glue:text}`paper_t1_heavy_igg_hr_ci_low:.2f`–{glue:text}`paper_t1_heavy_igg_hr_ci_high:.2f`).
# These two rows carry the paper's conclusion that recurrent infections before daratumumab drove the
# decision to give IVIG.
#
# ## Denominators, and one row to read with care
#
# Recorded, not enrolled
# : The paper heads its columns N = {glue:text}`paper_t1_n_ivig` and N = {glue:text}`paper_t1_n_ref`,
#   but its ISS, R-ISS and cytogenetics percentages are of the patients with a value, and its
#   prior-infection categories add up to only {glue:text}`paper_drv_prior_inf_cat_n_ivig` and
#   {glue:text}`paper_drv_prior_inf_cat_n_ref` patients (see {doc}`12-reproduction-audit`). This
#   book does the same: a percentage is of the patients with the characteristic recorded, and the
#   header row of each block gives that number. Each univariable model uses those patients; in this
#   cohort {glue:text}`base_n_iss_missing` patients have no ISS stage, and
#   {glue:text}`base_n_complete` of {glue:text}`base_n_total` have every characteristic of the
#   multivariable model.
#
# Months on daratumumab
# : The row's HR ({glue:text}`base_hr_months_hr:.2f` here, {glue:text}`paper_t1_months_on_dara_hr:.2f`
#   in the paper) is reproduced but cannot be interpreted. Time on daratumumab is measured *after*
#   the origin of the Cox model and includes the time after the first IVIG dose. For reference
#   patients it is almost their whole follow-up, so patients who stay on treatment longer simply
#   have more time in which to start IVIG. The medians ({glue:text}`base_months_ivig:.1f` against
#   {glue:text}`base_months_ref:.1f` months) describe the groups; they are not a risk factor.
#
# Baseline HGG
# : The baseline IgG is the first functional IgG measured between {glue:text}`base_igg_before` days before and {glue:text}`base_igg_after` days after
#   the first daratumumab dose (the Table 1 note), with the M-spike subtracted in IgG myeloma. The
#   paper labels the < {glue:text}`base_thr_mod` mg/dL row "Severe HGG", although its Methods call < {glue:text}`base_thr_sev` mg/dL severe;
#   here the row is named by its threshold.
