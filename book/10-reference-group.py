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
# # Part two: the reference group

# %% tags=["remove-input"]
import numpy as np
import pandas as pd

from analysis.paper.values import descriptive_values
from analysis.report import book, figures, tables
from analysis.study import descriptive as desc

cohort = book.load()
book.cohort_banner(cohort)

# %% [markdown]
# Part two of the paper {cite:p}`lancman2026` describes patients who were treated with daratumumab
# but never received IVIG: a random sample from the same centre and years, restricted to patients on
# daratumumab for at least {glue:text}`paper_dp_reference_min_dara_months` months. It has two purposes: to show the infection rates of
# patients whom physicians did *not* select for IVIG, and to compare the groups' baseline
# characteristics (Table 1, chapter {doc}`04-baseline`). The reference group is never compared with
# the IVIG group in a statistical model of infection rates: its patients differ in ways that matter,
# and they were chosen for that reason. The IVIG group's values stand beside it for context.
#
# ## Infection profile

# %% tags=["remove-cell"]
from analysis import study

values = tables.first_values(descriptive_values(cohort))
thr_any, thr_mod, thr_sev = study.HGG_THRESHOLDS
book.glue_values({"any": thr_any, "mod": thr_mod, "sev": thr_sev}, prefix="ref_thr_")
book.glue_value("ref_lab_low", float(min(desc.LAB_THRESHOLDS)))
rates = desc.infection_rates(cohort).set_index(["period", "season"])
rates3 = desc.infection_rates(cohort, "grade3").set_index(["period", "season"])
prior = pd.to_numeric(cohort.patients["prior_infections_12m"], errors="coerce")
prior_median = prior.groupby(cohort.patients["group"].astype(str)).median()


def ours(tid: str) -> float:
    return float(values.get(tid, np.nan))


def rate(table: pd.DataFrame, period: str, stat: str = "rate_pooled") -> float:
    key = (period, "all")
    return float(table.loc[key, stat]) if key in table.index else float("nan")


profile = tables.reference_comparison(values, rate(rates, "ivig_all"), rate(rates3, "ivig_all"))

# %% tags=["hide-input", "full-width"]
book.publish_table(profile, "reference_infections",
                   caption="Infections in the reference group, with the IVIG group for context "
                           "(not compared statistically)")

# %% tags=["remove-cell"]
book.glue_values({
    "n": int((cohort.patients["group"] == "reference").sum()),
    "pts_inf": ours("res2_patients_with_infection_n"),
    "pts_inf_pct": ours("res2_patients_with_infection_pct"),
    "infections": ours("res2_infections_total"),
    "rate": rate(rates, "reference"), "rate_mean": rate(rates, "reference", "rate_mean"),
    "rate_g34": rate(rates3, "reference"),
    "rate_ivig": rate(rates, "ivig_all"), "rate_g34_ivig": rate(rates3, "ivig_all"),
    "resp_pct": ours("res2_site_respiratory_pct"),
    "g34_pts_pct": ours("res2_g34_patients_pct"),
    "alc_g34": ours("res2_alc_lt05_in_g34_pct"),
    "prior_ref": float(prior_median.get("reference", np.nan)),
    "prior_ivig": float(prior_median.get("ivig", np.nan)),
}, prefix="ref_")
book.glue_paper("res2_rate_allgrade", "res2_rate_g34", "res2_patients_with_infection_pct",
                "res2_site_respiratory_pct", "res2_alc_lt05_in_g34_pct",
                "drv_ref_g34_infections_with_labs",
                "res2_g34_patients_n", "dp_reference_min_dara_months",
                "res2_prior_infections_median_ref", "res2_prior_infections_median_ivig",
                "dp_reference_power_delta")

# %% [markdown]
# In this cohort {glue:text}`ref_pts_inf:.0f` of the {glue:text}`ref_n` reference patients
# ({glue:text}`ref_pts_inf_pct:.0f`%; paper {glue:text}`paper_res2_patients_with_infection_pct`%) had
# {glue:text}`ref_infections:.0f` infections, {glue:text}`ref_rate:.2f` per patient-year
# (pooled; {glue:text}`ref_rate_mean:.2f` as a mean of per-patient rates; paper
# {glue:text}`paper_res2_rate_allgrade:.2f`), and {glue:text}`ref_rate_g34:.2f` grade 3-4 infections
# per patient-year (paper {glue:text}`paper_res2_rate_g34:.2f`). Over the IVIG group's whole
# observation the rates were {glue:text}`ref_rate_ivig:.2f` and {glue:text}`ref_rate_g34_ivig:.2f`.
# {glue:text}`ref_resp_pct:.0f`% of the reference group's infections were respiratory (paper
# {glue:text}`paper_res2_site_respiratory_pct`%). At grade 3-4 infections an ALC below {glue:text}`ref_lab_low` was found
# in {glue:text}`ref_alc_g34:.1f`% (paper {glue:text}`paper_res2_alc_lt05_in_g34_pct`%).
#
# Reference patients had a median of {glue:text}`ref_prior_ref:.0f` infections in the year before
# daratumumab against {glue:text}`ref_prior_ivig:.0f` in the IVIG group (paper
# {glue:text}`paper_res2_prior_infections_median_ref` and
# {glue:text}`paper_res2_prior_infections_median_ivig`). Infection-prone patients were selected for
# IVIG, and the rates of the two groups differ partly because of that. IVIG patients were also
# observed for longer, and rates are per patient-year, not per patient.

# %% tags=["hide-input"]
cat = desc.rates_by_category(cohort)
names = {"all": "All infections", "grade_1_2": "Grade 1-2", "grade_3_4": "Grade 3-4",
         "bacterial": "Bacterial", "viral": "Viral", "fungal": "Fungal",
         "respiratory": "Respiratory tract", "lower_respiratory": "Lower respiratory tract"}
cat = cat[cat["category"].isin(list(names))].assign(label=lambda d: d["category"].map(names))
cat["order"] = cat["category"].map({k: i for i, k in enumerate(names)})
cat = cat.sort_values(["order", "period"], kind="stable")
fig = figures.rates_by_period_plot(cat[["label", "period", "rate"]])
book.glue_figure("fig_reference_rates", fig)

# %% [markdown]
# ```{glue:figure} fig_reference_rates
# :name: fig-reference-rates
#
# Infection rates per patient-year (pooled) by type, grade and site: the reference group beside the
# IVIG group's on-IVIG and observation periods. Shown for context, as in the paper's Figure 1; the
# groups are not compared statistically.
# ```
#
# ## Hypogammaglobulinemia in the reference group

# %% tags=["hide-input"]
R = tables.Row
hgg = tables.compare(
    [
        R(f"Functional IgG < {thr_any} mg/dL during the study period, %",
          ours("res2_hgg_any_pct_ref"),
          ["res2_hgg_any_pct_ref"], tables.fmt_pct),
        R(f"Functional IgG < {thr_mod} mg/dL, n", ours("res2_hgg_moderate_or_worse_n"),
          ["res2_hgg_moderate_or_worse_n"], lambda x: tables.fmt_num(int(x))
          if not np.isnan(x) else tables.MISSING),
        R(f"Functional IgG < {thr_mod} mg/dL, %", ours("res2_hgg_moderate_or_worse_pct"),
          ["res2_hgg_moderate_or_worse_pct"], tables.fmt_pct),
        R(f"Functional IgG < {thr_sev} mg/dL, n", ours("res2_hgg_severe_n"), ["res2_hgg_severe_n"],
          lambda x: tables.fmt_num(int(x)) if not np.isnan(x) else tables.MISSING),
        R(f"Functional IgG < {thr_sev} mg/dL, %", ours("res2_hgg_severe_pct"), ["res2_hgg_severe_pct"],
          tables.fmt_pct),
        R(f"IVIG group, for context: functional IgG < {thr_any} mg/dL, %",
          ours("res2_hgg_any_pct_ivig"), ["res2_hgg_any_pct_ivig"], tables.fmt_pct),
        R("Months on daratumumab, median", ours("res2_months_on_dara_median_ref"),
          ["res2_months_on_dara_median_ref"], lambda x: tables.fmt_num(x, 1)),
    ],
    label_header="Reference group",
)
book.glue_values({"any": ours("res2_hgg_any_pct_ref"),
                  "moderate": ours("res2_hgg_moderate_or_worse_pct"),
                  "severe": ours("res2_hgg_severe_pct"),
                  "any_ivig": ours("res2_hgg_any_pct_ivig")}, prefix="ref_hgg_")
book.glue_paper("res2_hgg_any_pct_ref", "res2_hgg_any_pct_ivig")
book.publish_table(hgg, "reference_hgg",
                   caption="Hypogammaglobulinemia in the reference group (lowest functional IgG "
                           "during observation)")

# %% [markdown]
# With the M-spike subtracted, {glue:text}`ref_hgg_any:.0f`% of the reference group had a
# functional IgG below {glue:text}`ref_thr_any` mg/dL at some point, against
# {glue:text}`ref_hgg_any_ivig:.0f`% of the IVIG group (paper {glue:text}`paper_res2_hgg_any_pct_ref`% and
# {glue:text}`paper_res2_hgg_any_pct_ivig`%); {glue:text}`ref_hgg_moderate:.0f`% fell below {glue:text}`ref_thr_mod` and
# {glue:text}`ref_hgg_severe:.0f`% below {glue:text}`ref_thr_sev`. Chapter {doc}`09-hypogammaglobulinemia` compares the
# share of time spent with HGG. From the same observation the paper concludes that HGG alone does not
# single out the patients who need IVIG, and that recurrent infections before daratumumab do.
#
# ## What the reference group can and cannot show
#
# Descriptive only
# : The paper says the reference group's rates "are descriptive … but are not compared directly".
#   Its Methods nevertheless justify the sample size of the reference group by the power to detect
#   {glue:text}`paper_dp_reference_power_delta` fewer infection per patient-year than in the IVIG
#   group, and the Abstract describes a "lower infection rate" in the reference group. This book
#   shows the rates side by side and tests nothing.
#
# A selected sample
# : The reference patients were drawn from those who stayed on daratumumab for at least
#   {glue:text}`paper_dp_reference_min_dara_months` months and never received IVIG. Both conditions
#   depend on what happened after the first dose, so the group is healthier than a random
#   daratumumab patient, not only less infection-prone.
#
# Laboratory denominators
# : The paper's reference-group percentages at grade 3-4 infections fit a denominator of
#   {glue:text}`paper_drv_ref_g34_infections_with_labs` infections, fewer than the grade 3-4
#   infections its own rate implies; some infections probably had no laboratory values. Here each
#   percentage is of the infections with the value recorded.
#
# IgG myeloma
# : The paper writes that the reference group's larger share of IgG myeloma leads "to a likely
#   under-estimation of the HGG rates". With the M-spike subtracted, as the paper says it did, IgG
#   myeloma should not hide HGG. The sentence is read here as a remark about *total* IgG, which does
#   hide it.
