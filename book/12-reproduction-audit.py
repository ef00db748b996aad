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
# # Reproduction audit

# %% tags=["remove-input"]
import pandas as pd

from analysis.paper import audit
from analysis.report import book
from analysis.synthetic.provenance import PROVENANCE

cohort = book.load()
book.cohort_banner(cohort)

# %% [markdown]
# This chapter lists every number the paper prints {cite:p}`lancman2026`, as recorded in
# `data/paper/targets.yaml`, beside the value this book computes for it. Each row has a tolerance, a
# status and a provenance. The last section lists the places where the paper contradicts itself and
# how each printed version compares with our value.
#
# What an agreement means depends on how the number could come to agree, its *provenance*. On the
# synthetic cohort, many numbers were put into the data by the generator or used to choose its
# seed; their agreement shows that the cohort was calibrated, nothing about the code. The paper's
# headline estimates were given to the generator as the *truth* of the effects, so our estimates of
# them show how well the analysis recovers a known truth ({doc}`13-truth-recovery`), not whether the
# paper is reproduced. Only *emergent* numbers, which the generator neither reads nor was chosen
# or tuned on, can agree or disagree by themselves, and even then a synthetic cohort shows only that the code behaves as the paper's
# analysis would on data made to resemble it. Whether the code is right is checked elsewhere:
# against the R package SCCS (the SCCS tests and chapter {doc}`t2-classic-examples`) and by
# re-estimating known true effects on many simulated cohorts (chapter {doc}`13-truth-recovery`). On another
# cohort, nothing is planted: the "paper" column is a benchmark and differences are findings.
#
# ## How a value is judged

# %% tags=["remove-cell"]
declared = PROVENANCE if cohort.synthetic else None  # a user's cohort: nothing is planted
table = audit.audit_table(cohort, provenance=declared)
book.glue_values(audit.audit_counts(table), prefix="audit_")
book.glue_value("audit_z", audit.Z95)

# %% [markdown]
# match
# : Our value, rounded to the decimals the paper prints, equals the printed value. The printed
#   text is kept as written, so 0.40 has two decimals and 0.35 does not match it.
#
# not detectably different
# : Not a match, but within the difference that two independent samples of the paper's size would
#   show 95% of the time (within {glue:text}`audit_z:.2f` standard errors of the difference). The
#   standard error is the paper's own: for an IRR or HR, the one its 95% confidence interval
#   implies on the log scale, combined with ours; for a percentage or a number of patients,
#   binomial with the paper's number of patients; for a number of infections or a rate, Poisson;
#   for a median, from the spread its printed range implies (for a percentage of infections, the
#   paper's number of infections behind it). The "Tolerance" column gives the interval and its
#   basis. This is **not agreement**: with samples this small, the interval is wide (for a rate
#   ratio, often several-fold), so a value can be "not detectably different" from the paper's and
#   still be far from it; such rows are counted apart from matches, never as agreement.
#
# differs
# : Neither: outside that interval, or, where no standard error is known (the ends of a range, a
#   design constant), not equal as printed.
#
# not computed
# : The cohort does not hold the quantity (for example, the number of patients screened, or the
#   partner drugs), or the paper prints NA and our model gives no estimate either: nothing was
#   compared.
#
# How a value could come to agree, the "Provenance" column:
#
# planted
# : The synthetic generator reads the paper's number (or sets the data so that it comes out, or
#   the value restates one that does, computed by the same code), so agreement is by construction.
#
# truth set
# : The generator's *true* effect was set to the paper's estimate, and this value estimates that
#   effect: the estimate itself is emergent, and differs from the truth by chance and by the biases
#   the truth-recovery study measures ({doc}`13-truth-recovery`).
#
# tuned
# : An assumption of the generator was tuned by hand until the cohort came near this number.
#
# selected
# : The synthetic cohort's seed was chosen among many on this number, so agreement is partly by
#   selection.
#
# emergent
# : Neither: the number comes out of the analysis of data that were not made to produce it.
#
# design
# : A constant of the analysis (a window, a threshold), read from the constant the code uses.
#
# not computable
# : The cohort cannot give the quantity.
#
# On a cohort the project did not generate, every computable value is emergent. On the synthetic
# cohort the labels are not typed by hand: they are derived from the generator's recorded reads and
# from the code that computes each value (`analysis.synthetic.provenance`).
#
# ## Summary

# %% tags=["hide-input"]
book.publish_table(audit.provenance_summary(table), "audit_provenance",
                   caption="Targets by provenance and status")

# %% [markdown]
# Of {glue:text}`audit_total` printed numbers, {glue:text}`audit_prov_emergent` are emergent. Of
# these, {glue:text}`audit_prov_emergent_match` match as printed,
# {glue:text}`audit_prov_emergent_differs` differ and
# {glue:text}`audit_prov_emergent_not_detectably_different` are not detectably different at this
# sample size, which is not agreement. Only the matches among them are agreements that are not
# built in. The {glue:text}`audit_calibrated` planted, tuned or selected numbers
# ({glue:text}`audit_calibrated_match` of them match) show that the synthetic cohort was
# calibrated, and nothing more; the {glue:text}`audit_prov_truth_set` estimates of an effect whose
# truth was set to the paper's value ({glue:text}`audit_prov_truth_set_match` match,
# {glue:text}`audit_prov_truth_set_not_detectably_different` not detectably different,
# {glue:text}`audit_prov_truth_set_differs` differ) measure how the analysis recovers that truth;
# the {glue:text}`audit_prov_design` design constants are the code's own. Over all rows,
# {glue:text}`audit_status_match` match, {glue:text}`audit_status_differs` differ,
# {glue:text}`audit_status_not_detectably_different` are not detectably different (low power, not
# agreement) and {glue:text}`audit_status_not_computed` are not computed.

# %% tags=["hide-input"]
summary = pd.crosstab(table["group"], table["status"]).reindex(
    columns=list(audit.STATUSES), fill_value=0)
summary = summary.reindex(list(dict.fromkeys(table["group"]))).reset_index()
summary.columns.name = None
summary = summary.rename(columns={"group": "Table or section"})
summary["Total"] = summary[list(audit.STATUSES)].sum(axis=1)
book.publish_table(summary, "audit_summary",
                   caption="Targets by table or section and status")

# %% [markdown]
# ## Every target

# %% tags=["hide-input", "full-width"]
import re

from IPython.display import display

group_tables = []
for group, rows in table.groupby("group", sort=False):
    slug = re.sub(r"[^a-z0-9]+", "_", group.lower()).strip("_")
    group_tables.append(book.publish_table(audit.display_frame(rows), f"audit_{slug}",
                                           caption=group))
if book.in_notebook():
    for t in group_tables:
        display(t)

# %% [markdown]
# ## Where the paper contradicts itself

# %% tags=["remove-cell"]
book.glue_paper(
    "res1_rate_fall_winter", "res1_rate_spring_summer", "res1_rate_on_ivig",
    "res1_rate_observation", "drv_table2_g12_infections_with_labs",
    "drv_table2_g34_infections_with_labs", "res1_infections_total", "text_hr_prior_infections",
    "text_hr_prior_infections_3", "text_hr_prior_infections_4plus", "text_hr_igg_subtype",
    "t1_prior_infections_hr", "t1_prior_inf_3_hr", "t1_prior_inf_4plus_hr", "t1_heavy_igg_hr",
    "res1_years_dx_to_dara_median", "t1_years_dx_to_dara_ivig_median",
    "t1_years_dx_to_dara_ref_median", "dp_ivig_min_doses_methods", "dp_ivig_min_doses_results",
    "res1_ivig_doses_min", "abs_hgg_any_pct", "abs_hgg_moderate_pct", "disc_hgg_severe_pct",
    "t2_hgg_lt700_pct", "t2_hgg_lt400_pct", "t2_hgg_lt200_pct", "dp_moderate_hgg_low",
    "dp_moderate_hgg_high", "dp_severe_hgg_threshold", "t2_alc_at_infection_median",
    "t2_alc_at_infection_max", "res1_alc_at_infection_median", "drv_prior_inf_cat_n_ivig",
    "drv_prior_inf_cat_n_ref", "t1_n_ivig", "t1_n_ref", "drv_ref_g34_infections_with_labs",
    "res2_g34_patients_n", "res1_ivig_doses_max", "res1_ivig_duration_max",
    "res1_ivig_interval_weeks", "dp_significance_level", "s1_heavy_igd_ahr",
    "res2_time_with_hgg_pct_ref", "res2_time_with_hgg_pct_ivig",
    "dp_baseline_igg_window_after_days",
)
book.glue_paper("sccs_hgg_any_irr", "sccs_allgrade_irr_adj_pre60", field="p")
book.glue_paper("t1_heavy_igd_hr", field="ci_high")

# %% tags=["remove-cell"]
contra = audit.contradiction_table(table)
book.glue_value("audit_contra_total", len(contra))
book.glue_value("audit_contra_both", int((contra["outcome"] == "both").sum()))
book.glue_value("audit_contra_one",
                int(contra["outcome"].isin(["first only", "second only"]).sum()))
book.glue_value("audit_contra_neither", int((contra["outcome"] == "neither").sum()))

# %% [markdown]
# Every contradiction below was found by reading the paper against itself; the full list, with
# line numbers, typos and the checks that passed, is the page {doc}`paper-inconsistencies` (the
# "Paper's note" column's references to `inconsistencies.md` point there). Each is described in our
# words, with the paper's numbers, followed by how this book resolves it. The audit above judges
# every printed version against the same value of ours. Two versions that are close to each other
# can therefore both be within sampling tolerance (not detectably different), and both can differ; the table gives each
# version's status. Of the {glue:text}`audit_contra_total` pairs of versions,
# {glue:text}`audit_contra_both` agree with our value on both sides (a match; a version that is
# only not detectably different does not count as agreeing),
# {glue:text}`audit_contra_one` on one side only and {glue:text}`audit_contra_neither` on neither.

# %% tags=["hide-input"]
book.publish_table(
    contra.rename(columns={
        "item": "Item", "contradiction": "Contradiction", "first": "Version 1",
        "first_paper": "Paper (1)", "first_status": "Status (1)", "second": "Version 2",
        "second_paper": "Paper (2)", "second_status": "Status (2)", "ours": "This book",
        "outcome": "Agrees with ours"}),
    "audit_contradictions", caption="Each version of a contradiction, judged against our value")

# %% [markdown]
# (1) Seasonal and on/off-IVIG rates
# : The paper gives {glue:text}`paper_res1_rate_fall_winter:.2f` infections per patient-year in
#   fall/winter and {glue:text}`paper_res1_rate_spring_summer:.2f` in spring/summer, and
#   {glue:text}`paper_res1_rate_on_ivig:.2f` on IVIG against
#   {glue:text}`paper_res1_rate_observation:.2f` in observation. Both pairs split the same
#   infections over the same time, so a pooled overall rate would lie between the numbers of each
#   pair, and the pairs do not overlap. *Resolution:* both definitions are computed for every cell
#   (chapter {doc}`07-sensitivity`). The audit compares the seasonal rates with pooled rates and the
#   on/off rates with means of per-patient rates, the reading under which each pair is plausible.
#
# (2) Table 2's laboratory denominators
# : The grade 1/2 percentages of Table 2 fit only a denominator of
#   {glue:text}`paper_drv_table2_g12_infections_with_labs` infections and the grade 3/4 ones
#   {glue:text}`paper_drv_table2_g34_infections_with_labs`: more than the
#   {glue:text}`paper_res1_infections_total` infections reported. *Resolution:* each percentage is of
#   the infections of that grade with the value recorded, and the count is shown
#   ({doc}`09-hypogammaglobulinemia`).
#
# (3) Hazard ratios in the text
# : The Results quote {glue:text}`paper_text_hr_prior_infections:.2f` per prior infection,
#   {glue:text}`paper_text_hr_prior_infections_3:.2f` and
#   {glue:text}`paper_text_hr_prior_infections_4plus:.2f` for three and four or more, and
#   {glue:text}`paper_text_hr_igg_subtype:.2f` for IgG myeloma. Table 1 prints
#   {glue:text}`paper_t1_prior_infections_hr:.2f`, {glue:text}`paper_t1_prior_inf_3_hr:.2f`,
#   {glue:text}`paper_t1_prior_inf_4plus_hr:.2f` and {glue:text}`paper_t1_heavy_igg_hr:.2f`; the
#   text's values match no table. *Resolution:* Table 1 is the stated analysis and is reproduced
#   ({doc}`11-who-receives-ivig`). The text's values are audited against the same models; with
#   confidence intervals this wide, both versions can fall within sampling tolerance (table above).
#
# (4) Years from diagnosis
# : The text gives the IVIG group a median of {glue:text}`paper_res1_years_dx_to_dara_median:.1f`
#   years from diagnosis to daratumumab, which is Table 1's *reference* median
#   ({glue:text}`paper_t1_years_dx_to_dara_ref_median:.1f`); Table 1's IVIG median is
#   {glue:text}`paper_t1_years_dx_to_dara_ivig_median:.1f`. *Resolution:* Table 1 is followed.
#
# (5) How many IVIG doses made a patient eligible
# : The Methods say at least {glue:text}`paper_dp_ivig_min_doses_methods` dose, the Results at least
#   {glue:text}`paper_dp_ivig_min_doses_results`, and the doses range from
#   {glue:text}`paper_res1_ivig_doses_min`. *Resolution:* at least one dose, the rule the Methods
#   state and the data obey.
#
# (6) How common HGG was
# : The Abstract and Discussion give {glue:text}`paper_abs_hgg_any_pct`%,
#   {glue:text}`paper_abs_hgg_moderate_pct`% and {glue:text}`paper_disc_hgg_severe_pct`%, Table 2
#   {glue:text}`paper_t2_hgg_lt700_pct`%, {glue:text}`paper_t2_hgg_lt400_pct`% and
#   {glue:text}`paper_t2_hgg_lt200_pct`%. *Resolution:* Table 2, which has counts, is followed.
#
# (7) What "moderate" and "severe" mean
# : The Methods define moderate HGG as {glue:text}`paper_dp_moderate_hgg_low` to below
#   {glue:text}`paper_dp_moderate_hgg_high` mg/dL and severe as below
#   {glue:text}`paper_dp_severe_hgg_threshold`. Every result, however, uses cumulative cut-offs, and
#   Table 1 calls the below-{glue:text}`paper_dp_moderate_hgg_high` row "Severe". The SCCS
#   contrasts are printed as "< X vs > X". *Resolution:* cumulative cut-offs, each against the days
#   at or above it; rows are named by their threshold.
#
# (8) A median outside its range
# : Table 2 prints an ALC median of {glue:text}`paper_t2_alc_at_infection_median:.1f` with a maximum
#   of {glue:text}`paper_t2_alc_at_infection_max:.1f`. *Resolution:* the Results text's
#   {glue:text}`paper_res1_alc_at_infection_median:.1f` is taken as the intended value; the table
#   shows both.
#
# (9) Prior-infection categories that do not add up
# : Table 1's categories add up to {glue:text}`paper_drv_prior_inf_cat_n_ivig` and
#   {glue:text}`paper_drv_prior_inf_cat_n_ref` patients, not {glue:text}`paper_t1_n_ivig` and
#   {glue:text}`paper_t1_n_ref`, and the missing patients are not mentioned. *Resolution:* the data
#   contract requires a count for every patient, so percentages are of all patients with a count;
#   the category counts then differ from the paper's by construction.
#
# (10) Undisclosed denominators
# : ISS, R-ISS and cytogenetics percentages are of the patients with a value, although the columns
#   are headed by the full N; the multivariable model's N is not reported. *Resolution:* the same
#   available-case denominators, shown in each block's header row (chapter {doc}`04-baseline`), and
#   a complete-case multivariable model whose N is printed.
#
# (11) Reference-group laboratory values
# : The reference group's percentages at grade 3-4 infections fit a denominator of
#   {glue:text}`paper_drv_ref_g34_infections_with_labs`, but {glue:text}`paper_res2_g34_patients_n`
#   patients had such infections. *Resolution:* percentages of the infections with a value.
#
# (12) Doses, duration and schedule
# : A maximum of {glue:text}`paper_res1_ivig_doses_max` doses every
#   {glue:text}`paper_res1_ivig_interval_weeks` weeks does not fit in the maximum duration of
#   {glue:text}`paper_res1_ivig_duration_max` months. *Resolution:* nothing assumes a schedule; the
#   on-IVIG windows follow the recorded dose dates.
#
# (13) "≤" or "<"
# : The Methods define neutropenia and lymphopenia with "≤", the Results and Table 2 with "<".
#   *Resolution:* strict "<", as in the numbers being reproduced.
#
# (14) A power calculation for a comparison the paper does not make
# : The reference group's size is justified by power to detect a difference in infection rates,
#   yet its rates are declared descriptive. *Resolution:* the rates are shown side by side and not
#   tested (chapter {doc}`10-reference-group`).
#
# (15) A model the Methods do not describe
# : Supplementary Table 1's multivariable model is absent from the Methods. *Resolution:* its
#   covariates are taken from the table and complete cases are used.
#
# (16) Significance claimed above the paper's own threshold
# : The Results call p = {glue:text}`paper_sccs_hgg_any_irr_p` and
#   p = {glue:text}`paper_sccs_allgrade_irr_adj_pre60_p` evidence of an effect, although the
#   Methods set the significance level at {glue:text}`paper_dp_significance_level`. *Resolution:*
#   confidence intervals and p-values are reported without that language.
#
# (17) One model or two for the pre-exposure windows
# : The Methods suggest one model with both windows; the Results report one adjusted estimate per
#   window, and a grade 3+ estimate without saying which window it used. *Resolution:* one model per
#   window, both fitted for grade 3+ (chapter {doc}`07-sensitivity`).
#
# (18) When the baseline IgG was measured
# : Table 1's note allows values up to {glue:text}`paper_dp_baseline_igg_window_after_days` days *after* the first dose, whereas Table 2 says "prior
#   to". *Resolution:* the Table 1 window, for both tables.
#
# (19) IgG myeloma and HGG in the reference group
# : The paper says that IgG myeloma leads to HGG being underestimated, after saying that the M-spike
#   was subtracted. *Resolution:* functional IgG throughout; the sentence is read as a remark about
#   total IgG.
#
# (20) A suspicious adjusted HR
# : The adjusted HR for IgD myeloma ({glue:text}`paper_s1_heavy_igd_ahr:.2f`) equals the upper
#   confidence limit of the univariable one ({glue:text}`paper_t1_heavy_igd_hr_ci_high:.2f`),
#   possibly a copying slip. *Resolution:* none possible; with one IgD patient per group no estimate
#   means much.
#
# (21) Time with HGG
# : {glue:text}`paper_res2_time_with_hgg_pct_ref`% against
#   {glue:text}`paper_res2_time_with_hgg_pct_ivig`%, with a p-value, but no statistic or test named.
#   *Resolution:* medians, means and pooled shares, and a Mann-Whitney U test
#   (chapter {doc}`09-hypogammaglobulinemia`).
#
# (22) Months on daratumumab as a predictor
# : Table 1 enters months on daratumumab, which is measured after the start of follow-up, as a
#   predictor of the time to first IVIG. *Resolution:* reproduced, and flagged as not
#   interpretable (chapter {doc}`04-baseline`).
