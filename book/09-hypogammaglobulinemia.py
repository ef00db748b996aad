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
# # Hypogammaglobulinemia

# %% tags=["remove-input"]
import pandas as pd

from analysis.paper import audit
from analysis.paper.values import descriptive_values, sccs_ids
from analysis.report import book, figures, tables
from analysis import study
from analysis.study import descriptive as desc

cohort = book.load()
book.cohort_banner(cohort)

# %% [markdown]
# Daratumumab kills CD38-bearing plasma cells, the healthy ones as well as the malignant ones, and so
# lowers the immunoglobulin G (IgG) that protects against bacteria such as pneumococcus
# {cite:p}`lancman2026`. IVIG replaces that IgG. This chapter rebuilds the paper's Table 2 (HGG,
# functional IgG, time on IVIG and laboratory values at infection in the IVIG group), the three
# self-controlled case series (SCCS) models that relate infection rates to the depth of HGG, and the
# comparison of the time spent with HGG in the two groups.
#
# Throughout, IgG means *functional* IgG: in IgG myeloma the M-spike is subtracted from total IgG
# (chapter {doc}`03-definitions`), and the level on a day is the latest measurement on or before it.
#
# ## Table 2

# %% tags=["hide-input", "full-width"]
values = descriptive_values(cohort)
labs = desc.labs_at_infection(cohort, "ivig")
table2 = tables.table2_comparison(values, labs)
book.publish_table(
    table2, "table2_hgg",
    caption="Table 2. Hypogammaglobulinemia, neutropenia and lymphopenia in the IVIG group",
)

# %% tags=["remove-cell"]
v = tables.first_values(values)
thr_any, thr_mod, thr_sev = study.HGG_THRESHOLDS
book.glue_values({"any": thr_any, "mod": thr_mod, "sev": thr_sev}, prefix="hgg_thr_")
book.glue_value("hgg_lab_low", float(min(desc.LAB_THRESHOLDS)))
book.glue_values({k: v.get(k, float("nan")) for k in (
    "t2_n", "t2_hgg_lt700_pct", "t2_hgg_lt400_pct", "t2_hgg_lt200_pct", "t2_igg_pre_dara_median",
    "t2_igg_pre_ivig_median", "t2_on_ivig_days_prop_median", "t2_time_to_first_infection_median",
    "t2_anc_lt05_g34_pct", "t2_alc_lt05_g34_pct")}, prefix="hgg_")
lab_n = labs[labs["threshold"].isna() & (labs["lab"] == "anc")].set_index("grade_group")["n"]
book.glue_values({"labs_n_g12": int(lab_n.get("1-2", 0)), "labs_n_g34": int(lab_n.get("3-4", 0))},
                 prefix="hgg_")
book.glue_paper("t2_hgg_lt700_pct", "t2_hgg_lt400_pct", "t2_hgg_lt200_pct",
                "t2_igg_pre_dara_median", "t2_igg_pre_ivig_median", "t2_on_ivig_days_prop_median",
                "t2_anc_lt05_g34_pct", "t2_alc_lt05_g34_pct", "res1_infections_total",
                "drv_table2_g12_infections_with_labs", "drv_table2_g34_infections_with_labs",
                "abs_hgg_any_pct", "abs_hgg_moderate_pct", "disc_hgg_severe_pct")

# %% [markdown]
# In this cohort {glue:text}`hgg_t2_hgg_lt700_pct:.0f`% of the IVIG patients had a functional IgG
# measured below {glue:text}`hgg_thr_any` mg/dL during their observation period (their lowest
# measurement in the study period, the trough the paper measured "to reflect the maximal severity of
# HGG"; a baseline taken before daratumumab does not count here, while the share of time with HGG
# further down counts every observed day), {glue:text}`hgg_t2_hgg_lt400_pct:.0f`% below
# {glue:text}`hgg_thr_mod` and {glue:text}`hgg_t2_hgg_lt200_pct:.0f`% below {glue:text}`hgg_thr_sev` (paper:
# {glue:text}`paper_t2_hgg_lt700_pct`%, {glue:text}`paper_t2_hgg_lt400_pct`% and
# {glue:text}`paper_t2_hgg_lt200_pct`%). The median functional IgG fell from
# {glue:text}`hgg_t2_igg_pre_dara_median:.0f` mg/dL before daratumumab to
# {glue:text}`hgg_t2_igg_pre_ivig_median:.0f` mg/dL when IVIG began (paper:
# {glue:text}`paper_t2_igg_pre_dara_median` and {glue:text}`paper_t2_igg_pre_ivig_median`), and a
# patient spent a median {glue:text}`hgg_t2_on_ivig_days_prop_median:.0f`% of their observed days on
# IVIG (paper: {glue:text}`paper_t2_on_ivig_days_prop_median`%).
#
# At grade 3-4 infections, severe neutropenia (ANC < {glue:text}`hgg_lab_low`) was present in
# {glue:text}`hgg_t2_anc_lt05_g34_pct:.1f`% and lymphopenia with ALC < {glue:text}`hgg_lab_low` in
# {glue:text}`hgg_t2_alc_lt05_g34_pct:.1f`% (paper: {glue:text}`paper_t2_anc_lt05_g34_pct`% and
# {glue:text}`paper_t2_alc_lt05_g34_pct`%). The paper read its numbers as lymphopenia, rather than
# neutropenia, accompanying the serious infections.
#
# Three things about the paper's Table 2 are worth knowing when comparing:
#
# - **The laboratory denominators are not disclosed and cannot all be right.** The grade 3/4
#   percentages fit {glue:text}`paper_drv_table2_g34_infections_with_labs` infections, but the
#   only count that reproduces all four grade 1/2 percentages is
#   {glue:text}`paper_drv_table2_g12_infections_with_labs`, more than the
#   {glue:text}`paper_res1_infections_total` infections minus the grade 3/4 ones. Here each
#   percentage is of the infections of that grade with the value recorded
#   ({glue:text}`hgg_labs_n_g12` grade 1/2 and {glue:text}`hgg_labs_n_g34` grade 3/4 infections
#   with an ANC), and the count is printed beside it.
# - **The ALC median is a typo** (its printed median lies outside its own range); the Results text
#   gives the plausible value, quoted in the table's note.
# - **The HGG counts are the Table's.** The Abstract and Discussion print other shares
#   ({glue:text}`paper_abs_hgg_any_pct`%, {glue:text}`paper_abs_hgg_moderate_pct`% and
#   {glue:text}`paper_disc_hgg_severe_pct`%), which fit no count of the same patients; the synthetic
#   cohort is built to the Table's counts, so on it they agree by construction (planted) and say
#   nothing about the code (chapter {doc}`12-reproduction-audit` lists each contradiction).
#
# ## Infection rates by depth of HGG

# %%
from analysis.sccs import SCCS
from analysis.study import study_intervals

# Methods: one model per IgG threshold, days below vs at or above it, no other term
for threshold in study.HGG_THRESHOLDS:
    intervals = study_intervals(cohort, outcome="all", hgg=threshold, cases_only=True)
    fit = SCCS().fit(intervals, [f"igg_below_{threshold}"])
    book.glue_fit(f"hgg_irr{threshold}_", fit, f"igg_below_{threshold}")

# %% tags=["hide-input", "full-width"]
hgg_models = [m for m in study.PAPER_MODELS if m.hgg is not None]
menu = sccs_ids(study.sccs_menu(cohort, hgg_models))  # each row with the paper's id
book.publish_table(
    tables.sccs_comparison(menu), "hgg_sccs",
    caption="SCCS: all-grade infection rate on days below vs at or above each IgG threshold "
            "(IVIG group, one model per threshold)",
)

# %% tags=["hide-input"]
menu_plot = menu.assign(label=[f"IgG < {m.hgg} mg/dL" for m in hgg_models])
fig = figures.paper_vs_book_plot(
    audit.estimates_long(menu_plot),
    xlabel="Incidence rate ratio, days below vs at or above the threshold (log scale)",
)
book.glue_figure("fig_hgg_irr", fig)

# %% [markdown]
# ```{glue:figure} fig_hgg_irr
# :name: fig-hgg-irr
#
# Infection rate ratios by depth of HGG: the paper's estimates (open diamonds) and this book's
# (filled squares), each with its 95% confidence interval. Values above 1 mean more infections on
# days with functional IgG below the threshold.
# ```

# %% tags=["remove-cell"]
book.glue_paper(*menu["target_id"])
book.glue_value("hgg_cases", int(menu["n_cases"].max()))
# The same models with the on-IVIG term: IVIG raises IgG, so HGG days are mostly off-IVIG days.
adjusted = []
for m in hgg_models:
    fit, reason = audit.fit_or_reason(cohort, m.outcome, hgg=m.hgg, ivig=True)
    adjusted.append({"Threshold": f"IgG < {m.hgg} mg/dL",
                     **{k: audit.term_row(fit, f"igg_below_{m.hgg}", reason)[k]
                        for k in ("irr", "ci_low", "ci_high", "p")},
                     "Note": reason})
adjusted = pd.DataFrame(adjusted)

# %% tags=["hide-input"]
adj_table = pd.DataFrame({
    "Threshold": adjusted["Threshold"],
    "IRR (95% CI), HGG only": [tables.fmt_ci(r["irr"], r["ci_low"], r["ci_high"])
                               for _, r in menu.iterrows()],
    "IRR (95% CI), with the on-IVIG term": [tables.fmt_ci(r["irr"], r["ci_low"], r["ci_high"])
                                            for _, r in adjusted.iterrows()],
    "p, with the on-IVIG term": [tables.fmt_p(p) for p in adjusted["p"]],
    "Note": adjusted["Note"],
})
book.glue_values({f"irr{m.hgg}": r["irr"] for m, (_, r) in
                  zip(hgg_models, adjusted.iterrows(), strict=True)}, prefix="hgg_adj_")
book.publish_table(adj_table, "hgg_sccs_ivig_adjusted",
                   caption="The HGG models with and without the on-IVIG term (this book only; "
                           "the paper prints the first column)")

# %% [markdown]
# The SCCS compares each patient's infection rate on days with functional IgG below a threshold with
# their own rate on days at or above it. The rate ratio was {glue:text}`hgg_irr700_irr:.2f` below {glue:text}`hgg_thr_any`
# mg/dL ({glue:text}`hgg_irr700_ci_low:.2f`–{glue:text}`hgg_irr700_ci_high:.2f`, p
# {glue:text}`hgg_irr700_p`), {glue:text}`hgg_irr400_irr:.2f` below {glue:text}`hgg_thr_mod`
# ({glue:text}`hgg_irr400_ci_low:.2f`–{glue:text}`hgg_irr400_ci_high:.2f`, p {glue:text}`hgg_irr400_p`) and
# {glue:text}`hgg_irr200_irr:.2f` below {glue:text}`hgg_thr_sev` ({glue:text}`hgg_irr200_ci_low:.2f`–{glue:text}`hgg_irr200_ci_high:.2f`,
# p {glue:text}`hgg_irr200_p`); the paper reports {glue:text}`paper_sccs_hgg_any_irr:.2f`,
# {glue:text}`paper_sccs_hgg_moderate_irr:.2f` and {glue:text}`paper_sccs_hgg_severe_irr:.2f`, and
# reads the gradient as "infection rates worsened with degree of HGG". Up to
# {glue:text}`hgg_cases` patients with an infection contribute; days before a patient's first IgG
# value, with no baseline value either, have an unknown level and leave these models.
#
# How the models were specified
# : The thresholds are cumulative (below {glue:text}`hgg_thr_any`, below {glue:text}`hgg_thr_mod`, below {glue:text}`hgg_thr_sev`, each against everything at or
#   above it), although the Methods define moderate HGG as a {glue:text}`hgg_thr_sev`–{glue:text}`hgg_thr_mod` band; every result of the paper
#   uses cumulative cut-offs. The paper prints "< X vs > X"; a day at exactly X counts as not below.
#   There is one model per threshold, with no other term.
#
# Why the on-IVIG term matters
# : IVIG raises IgG, so in the IVIG group days with low IgG are mostly days off IVIG. The HGG
#   models therefore partly re-measure the IVIG effect. With the on-IVIG term added (second table,
#   not in the paper) the three rate ratios become {glue:text}`hgg_adj_irr700:.2f`,
#   {glue:text}`hgg_adj_irr400:.2f` and {glue:text}`hgg_adj_irr200:.2f`.
#
# ## Time spent with HGG, in both groups

# %% tags=["hide-input"]
time_hgg = desc.hgg_time_comparison(cohort).set_index("group")
book.glue_paper("res2_time_with_hgg_pct_ivig", "res2_time_with_hgg_pct_ref")
book.glue_paper("res2_time_with_hgg_pct_ref", field="p")
R = tables.Row
pct = tables.fmt_pct


def cell(group: str, stat: str) -> float:
    return 100.0 * float(time_hgg.loc[group, stat]) if group in time_hgg.index else float("nan")


hgg_time = tables.compare(
    [
        R(f"IVIG group: median share of days with IgG < {thr_any}", cell("ivig", "median"),
          ["res2_time_with_hgg_pct_ivig"], pct),
        R(f"Reference group: median share of days with IgG < {thr_any}", cell("reference", "median"),
          ["res2_time_with_hgg_pct_ref"], pct),
        R("IVIG group: mean share", cell("ivig", "mean"), [], pct),
        R("Reference group: mean share", cell("reference", "mean"), [], pct),
        R("IVIG group: pooled share (all days below / all days known)", cell("ivig", "pooled"),
          [], pct),
        R("Reference group: pooled share", cell("reference", "pooled"), [], pct),
        R("Test between groups: p", time_hgg["p"].iloc[0], ["res2_time_with_hgg_pct_ref.p"],
          tables.fmt_p),
    ],
    label_header="Time with HGG",
)
book.glue_values({
    "ivig_median": cell("ivig", "median"), "ref_median": cell("reference", "median"),
    "ivig_mean": cell("ivig", "mean"), "ref_mean": cell("reference", "mean"),
    "ivig_pooled": cell("ivig", "pooled"), "ref_pooled": cell("reference", "pooled"),
    "p": tables.fmt_p(time_hgg["p"].iloc[0]),
    "n_ivig": int(time_hgg.loc["ivig", "n"]) if "ivig" in time_hgg.index else 0,
    "n_ref": int(time_hgg.loc["reference", "n"]) if "reference" in time_hgg.index else 0,
}, prefix="hgg_time_")
book.publish_table(hgg_time, "hgg_time_share",
                   caption=f"Share of observed days with functional IgG below {thr_any} mg/dL, by group")

# %% [markdown]
# The paper reports that reference patients spent more of their time with HGG than IVIG patients
# ({glue:text}`paper_res2_time_with_hgg_pct_ref`% against
# {glue:text}`paper_res2_time_with_hgg_pct_ivig`%, p {glue:text}`paper_res2_time_with_hgg_pct_ref_p`),
# "likely due to the therapeutic effect of IVIG on IgG numbers". It does not say whether these are
# medians, means or pooled shares, nor which test gave the p-value, so this book reports all three
# summaries and states its test: the **two-sided Mann-Whitney U (Wilcoxon rank-sum) test** of the
# per-patient shares, a rank test that needs no assumption about their skewed distribution. Each
# patient's share is the fraction of their observed days with a known functional IgG that lie below
# {glue:text}`hgg_thr_any` mg/dL ({glue:text}`hgg_time_n_ivig` IVIG and {glue:text}`hgg_time_n_ref` reference patients
# with a known level).
#
# In this cohort the median shares are {glue:text}`hgg_time_ivig_median:.0f`% (IVIG) and
# {glue:text}`hgg_time_ref_median:.0f`% (reference), the means {glue:text}`hgg_time_ivig_mean:.0f`%
# and {glue:text}`hgg_time_ref_mean:.0f`%, the pooled shares {glue:text}`hgg_time_ivig_pooled:.0f`%
# and {glue:text}`hgg_time_ref_pooled:.0f`%; the test gives p {glue:text}`hgg_time_p`. When most
# patients spend nearly all their time below {glue:text}`hgg_thr_any` mg/dL the medians sit at the ceiling and say little;
# the means and pooled shares carry the comparison. The paper calls the reference group descriptive,
# yet tests this difference; the test is shown because the paper reports it, not as a causal
# contrast.
