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
# # Introduction

# %% tags=["remove-cell"]
# The paper's numbers quoted on this page, read from data/paper/targets.yaml (never retyped).
from analysis.report import book

book.glue_paper(
    "res1_screened_n", "abs_ivig_n", "abs_reference_n", "sccs_allgrade_irr", "sccs_g34_irr",
    "abs_allgrade_reduction_pct", "abs_g34_reduction_pct", "dp_on_ivig_window_days",
    "dp_obs_end_days_after_last_dara", "dp_pre_window_short_days", "dp_pre_window_long_days",
    "dp_study_year_start", "dp_study_year_end",
)

# %% [markdown]
# ## The clinical question
#
# Daratumumab, an antibody against CD38, is a backbone of myeloma treatment. CD38 also sits on
# healthy plasma cells, so daratumumab lowers the body's own antibodies (hypogammaglobulinemia, HGG),
# and patients on it have more infections, mostly of the respiratory tract. Intravenous
# immunoglobulin (IVIG) replaces the missing antibodies. Does it prevent infections in these
# patients, and who receives it?
#
# Lancman and colleagues {cite:p}`lancman2026` reviewed every patient with myeloma treated with
# daratumumab at one centre from {glue:text}`paper_dp_study_year_start` to
# {glue:text}`paper_dp_study_year_end` ({glue:text}`paper_res1_screened_n:,d` patients) and found
# {glue:text}`paper_abs_ivig_n` who had received IVIG while on daratumumab. Within those patients,
# infections were {glue:text}`paper_abs_allgrade_reduction_pct`% less frequent in the periods
# covered by IVIG than in the periods without it (incidence rate ratio, IRR,
# {glue:text}`paper_sccs_allgrade_irr:.2f`), and grade 3-4 infections
# {glue:text}`paper_abs_g34_reduction_pct`% less frequent (IRR {glue:text}`paper_sccs_g34_irr:.2f`).
# A reference group of {glue:text}`paper_abs_reference_n` patients who never received IVIG showed
# who is selected for it: above all, patients with several infections in the year before
# daratumumab.
#
# ## The design, in three parts
#
# **A self-controlled case series (SCCS)** answers the main question. Each IVIG patient's time on
# daratumumab (from the first dose to {glue:text}`paper_dp_obs_end_days_after_last_dara` days after
# the last) is split into days *on IVIG* (the {glue:text}`paper_dp_on_ivig_window_days` days that
# start with each dose) and days of *observation* (all other days). The model compares the infection
# rate on and off IVIG **within** each patient, so everything about a patient that does not change
# over time — age, myeloma type, frailty, habits — cancels out
# {cite:p}`farrington1995,whitaker2006,petersen2016`. Only patients with at least one infection
# contribute. Because infections themselves prompt IVIG, the days just before the first dose are at
# higher risk; windows of {glue:text}`paper_dp_pre_window_short_days` and
# {glue:text}`paper_dp_pre_window_long_days` days before the first IVIG are modelled separately to
# check for this indication bias {cite:p}`whitaker2009,requena2020`. Season and disease progression
# enter as time-varying covariates in sensitivity analyses. The model and its variants are covered
# in depth in {cite:t}`farrington2018`.
#
# **A descriptive reference group** of patients on daratumumab who never received IVIG gives
# baseline infection rates for context. It is not compared statistically with the IVIG patients, as
# in the paper.
#
# **Cox regression of time to first IVIG**, across both groups, shows which characteristics at the
# start of daratumumab go with being given IVIG (univariable, as in the paper's Table 1, and
# multivariable, its Supplementary Table 1). Infections are graded with CTCAE version 4.0
# {cite:p}`ctcae4` and response follows the IMWG criteria {cite:p}`kumar2016`.
#
# The SCCS model is fitted by this project's own conditional Poisson engine, checked against the R
# package SCCS {cite:p}`sccs_r`. The Cox models are fitted with statsmodels' `PHReg`
# {cite:p}`seabold2010` with Breslow's handling of tied times, the default of SAS `PROC PHREG`, the
# paper's software; lifelines {cite:p}`davidsonpilon2019` draws the Kaplan-Meier curves and runs
# the Schoenfeld-residual test of proportional hazards. The OHDSI implementation
# {cite:p}`ohdsi_sccs` served as a further reference.
#
# ## What is synthetic, and why
#
# The study's patient records are not public. To make every step runnable, the project simulates a
# cohort of patients with the same structure (the same files and columns as the paper's data would
# have). The simulation carries the paper's mechanisms, not only its margins: a frailty per patient,
# infections that prompt IVIG, IVIG that raises IgG and lowers the infection rate, seasons,
# progression. It is also *calibrated* to the paper: some of the paper's numbers are put into the
# data by the generator (*planted*), a few of its assumptions were tuned by hand towards others
# (*tuned*), and the cohort's seed was chosen among many on some of the planted counts
# (*selected*). The paper's headline estimates were given to the generator as the *truth* of the
# effects (*truth set*): our estimates of them are not copies but the analysis recovering a known
# truth, with the bias the truth-recovery study measures. Chapter {doc}`02-cohort` shows how the
# cohort was made.

# %% tags=["remove-cell"]
# Which of the paper's numbers the synthetic cohort was built or chosen to agree with: derived
# from the generator (analysis.synthetic.provenance), counted by the audit's one function, so
# these counts are those of the reproduction audit of the synthetic cohort.
from analysis import SYNTHETIC_DIR
from analysis.paper import audit
from analysis.study import load_cohort
from analysis.synthetic.provenance import PROVENANCE
from analysis.synthetic.registry import SELECTION_TARGETS

synthetic_audit = audit.audit_table(load_cohort(SYNTHETIC_DIR), provenance=PROVENANCE)
book.glue_values(audit.audit_counts(synthetic_audit), prefix="intro_")
book.glue_value("intro_n_selection", len(SELECTION_TARGETS))
calibrated = synthetic_audit[synthetic_audit["provenance"].isin(
    [*audit.CALIBRATED, "truth set"])][["group", "target_id", "quantity", "population",
                                        "provenance"]]
sccs = calibrated[(calibrated["group"] == "Results: SCCS models")
                  & (calibrated["provenance"] == "truth set")]
book.glue_value("intro_sccs_truth_set", "; ".join(
    f"{q} ({t})" for q, t in zip(sccs["quantity"], sccs["target_id"], strict=True)) or "none")

# %% [markdown]
# Of the paper's {glue:text}`intro_total` numbers, {glue:text}`intro_prov_planted` are planted,
# {glue:text}`intro_prov_tuned` tuned and {glue:text}`intro_prov_truth_set` are estimates of an
# effect whose truth was set to the paper's value; the seed search judges
# {glue:text}`intro_n_selection` of the planted counts. These are the counts of the reproduction
# audit ({doc}`12-reproduction-audit`), computed by the same function. Among the SCCS estimates,
# those whose truth was set to the paper's value are {glue:text}`intro_sccs_truth_set`. The table
# below lists every such number by table or section.

# %% tags=["hide-output"]
by_group = (calibrated.groupby(["group", "provenance"], sort=False).size()
            .unstack(fill_value=0).reset_index().rename(columns={"group": "Table or section"}))
by_group.columns.name = None
book.publish_table(by_group, "intro_calibrated_by_group",
                   caption="Calibrated numbers by table or section")

# %% tags=["hide-output"]
book.publish_table(
    calibrated.rename(columns={"group": "Table or section", "target_id": "Target",
                               "quantity": "Quantity", "population": "Population",
                               "provenance": "Provenance"}),
    "intro_calibrated", caption="Every calibrated number of the paper")

# %% [markdown]
# What this means for the reader:
#
# - On the synthetic cohort, agreement between the two columns of a table shows that the cohort was
#   calibrated where the number is planted, tuned or selected, and nothing about the code. Where
#   the truth was set to the paper's value, our estimate shows how the analysis recovers that
#   truth (chapter {doc}`06-primary-analysis` puts the truth beside each headline). For the other
#   numbers (*emergent*), agreement shows only that the code behaves as the paper's analysis would
#   on data made to resemble the paper's. No agreement on synthetic data confirms the paper's
#   findings: only the real data could.
# - Whether the code is right is checked elsewhere: against the R package SCCS on the same data,
#   and by fitting the study's own pipeline to many simulated cohorts whose true effects are known
#   and checking that it recovers them. See {doc}`13-truth-recovery`.
# - Where the two columns differ, that can be chance (a cohort of this size is noisy), a choice in
#   the simulation, or one of the paper's internal contradictions. Chapter
#   {doc}`12-reproduction-audit` lists every number with its tolerance, status and provenance.
#
# ## How to read "Paper" and "This book"
#
# In every table, **Paper** is the value printed in the article, taken from `data/paper/targets.yaml`
# (a list of every number in the paper with its section, population and unit), and **This book** is
# our value, computed when the book was built. Numbers in the prose are inserted the same way. A
# dash means the value is not printed or cannot be computed.
#
# ## Running everything on your own cohort
#
# The analysis reads a cohort folder of five CSV files described in the
# [data contract](appendix-data-contract.md). To check a folder, then run the main analysis, then
# build the whole book on it:
#
# ```bash
# # every problem in the folder: file, row, column, rule
# python -m analysis validate /path/to/my-cohort
# # the primary SCCS models
# python -m analysis sccs /path/to/my-cohort
# # this book, every number computed from your cohort
# IVIG_COHORT=/path/to/my-cohort make book
# ```
#
# The [command line appendix](appendix-cli.md) lists every option. Each chapter is also a plain
# Python script (`book/NN-name.py`) that prints its key results.
