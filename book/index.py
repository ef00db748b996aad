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
# # IVIG and infections under daratumumab: an executable re-analysis
#
# This book re-does, step by step and in code, the analysis of Lancman and colleagues'
# study of intravenous immunoglobulin (IVIG) in patients with multiple myeloma treated with
# daratumumab {cite:p}`lancman2026`. Every table and figure of the paper is regenerated from a
# cohort of patient records when the book is built, and every number in the text is computed, not
# typed.

# %% tags=["remove-cell"]
# The headline, computed as the primary-analysis chapter computes it (study_intervals, SCCS,
# glue_fit), beside the paper's value and, on a simulated cohort, the truth it was drawn from.
from analysis.report import book
from analysis.sccs import SCCS
from analysis.study import study_intervals
from analysis.synthetic.simulate import read_truth

cohort = book.load()
intervals = study_intervals(cohort, outcome="all", cases_only=True)
fit = SCCS().fit(intervals, ["on_ivig"]) if intervals["events"].sum() else None
book.glue_fit("sccs_allgrade_", fit, "on_ivig")
book.glue_paper("sccs_allgrade_irr")
book.glue_paper("sccs_allgrade_irr", field="ci_low")
book.glue_paper("sccs_allgrade_irr", field="ci_high")
known = cohort.synthetic and (cohort.path / "truth.json").is_file()
truth = read_truth(cohort.path)["parameters"]["irr_on_ivig"] if known else None
book.glue_value("index_truth", f"was simulated with a true IRR of {truth:.2f}" if known else
                "has no known truth: it is not one of this book's simulated cohorts")

# %% [markdown]
# **The headline.** The paper estimates that infections were less frequent on IVIG than off it, in
# the same patients: an incidence rate ratio (IRR) of {glue:text}`paper_sccs_allgrade_irr:.2f`
# (95% CI {glue:text}`paper_sccs_allgrade_irr_ci_low:.2f` to
# {glue:text}`paper_sccs_allgrade_irr_ci_high:.2f`). The same model on the cohort this book was
# built from gives {glue:text}`sccs_allgrade_irr:.2f` ({glue:text}`sccs_allgrade_ci_low:.2f` to
# {glue:text}`sccs_allgrade_ci_high:.2f`, {glue:text}`sccs_allgrade_n_cases` cases,
# {glue:text}`sccs_allgrade_n_events` infections); that cohort {glue:text}`index_truth`.
# {doc}`06-primary-analysis` has the details.
#
# **What the synthetic data can and cannot show.** They show that the code runs the paper's
# analysis end to end and recovers an effect that was put into the data
# ({doc}`13-truth-recovery`); they cannot confirm or refute the paper's result, because the
# patients are simulated and were calibrated to the paper's own numbers. The note below says so on
# every page that shows results.

# %% tags=["remove-input"]
book.cohort_banner(cohort)

# %% [markdown]
# The patients' records are not public. The book therefore runs on **synthetic patients**, simulated
# so that, statistically, they look like the paper's (chapter {doc}`02-cohort` explains how). Because
# nothing in the analysis is specific to those patients, the same book runs unchanged on any cohort
# that follows the [data contract](appendix-data-contract.md) — an institution's own records, for
# instance — and then every number follows that cohort.
#
# ## How to read it
#
# - Each chapter is one step of the paper's Methods. The code that computes a result sits above it,
#   folded (open it with the toggle beside the cell); each chapter can be downloaded as a notebook
#   or a script from the line under its title.
# - Pages that show results begin with a coloured note naming the cohort they were computed from:
#   *Synthetic data* for the project's simulated patients, or *Your cohort* with its name.
# - Tables put two columns side by side: **Paper** is the value printed in the article (read from a
#   machine-readable list of the paper's numbers, `data/paper/targets.yaml`, never retyped), and
#   **This book** is the value computed here. On the synthetic cohort they should be close but need
#   not be equal; on your own cohort, "Paper" is the published benchmark.
# - Every table can be downloaded as a CSV file from a link beneath it.
#
# ## Two commands
#
# ```bash
# # set up .venv if needed, execute every chapter, build the HTML strictly:
# make book
# # the same set-up, then the whole test suite:
# make test
# ```
#
# To run the book on your own cohort (a folder of CSV files as described in
# [the data contract](appendix-data-contract.md)):
#
# ```bash
# IVIG_COHORT=/path/to/my-cohort make book
# ```
#
# Nothing patient-level leaves the build folder (`_build/`): tables hold aggregates only and figures
# show patients by pseudonymous numbers.
#
# ```{tableofcontents}
# ```
