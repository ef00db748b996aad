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
# (teaching-course)=
# # A course in the self-controlled case series
#
# The teaching chapters that follow form a short course on the self-controlled case series (SCCS),
# built on the study this book re-analyses: each chapter derives or simulates one part of the method
# and ends with exercises whose solutions are hidden behind a toggle. This page is for the teacher
# who plans the course and for the reader who takes it alone.

# %% tags=["remove-cell"]
import pandas as pd

from analysis.report import book

# The plan: (chapter, session, minutes for reading, running the code and the exercises).
# Session 0 is self-study after the course. The times are the course designer's estimates.
PLAN = [
    ("t1-likelihood", 1, 60),
    ("t2-classic-examples", 1, 30),
    ("t3-age-and-calendar-time", 1, 45),
    ("t4-reference-group", 1, 30),
    ("t5-event-dependent", 2, 45),
    ("t6-event-ends-observation", 2, 40),
    ("t7-diagnostics", 2, 40),
    ("t8-operating-characteristics", 2, 40),
    ("t9-from-r-to-python", 0, 30),
    ("t10-negative-controls", 0, 45),
]
plan = pd.DataFrame(PLAN, columns=["chapter", "session", "minutes"])
minutes = plan.groupby("session")["minutes"].sum()

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("course_session1_hours", minutes[1] / 60)
book.glue_value("course_session2_hours", minutes[2] / 60)
book.glue_value("course_self_study_min", int(minutes[0]))
for name, session, mins in PLAN:
    book.glue_value(f"course_min_{name.split('-')[0]}", mins)

# %% [markdown]
# ## Who it is for
#
# Epidemiologists, biostatisticians and clinicians who read or plan studies of a transient
# exposure and a recurrent or acute event, and who want to know what the SCCS estimates, when it
# can be trusted and how to check it. Data scientists who know regression but not the SCCS will
# find every step derived and simulated rather than asserted.
#
# ## Prerequisites
#
# - Poisson regression and rate ratios (what an incidence rate ratio is, the log link, an offset).
# - Maximum likelihood at the level of a first course (a likelihood, its maximum, a Wald interval).
# - Reading Python: `pandas` data frames and `numpy` arrays. Writing it is needed only for the
#   exercises; every cell of a chapter runs as shipped.
# - The study: the introduction ({doc}`01-introduction`) and the primary analysis
#   ({doc}`06-primary-analysis`) give the clinical question the simulations imitate.
#
# ## What each chapter teaches
#
# {doc}`t1-likelihood` (about {glue:text}`course_min_t1` minutes)
# : Derive the SCCS likelihood from a Poisson process with a person effect; show that conditioning
#   on each person's number of events removes that effect; get the same estimate from a Poisson
#   model with one intercept per person; say why a conditional Poisson model with a person-level
#   offset is not the SCCS.
#
# {doc}`t2-classic-examples` (about {glue:text}`course_min_t2` minutes)
# : Build SCCS intervals from the raw datasets of the textbook (MMR vaccine and ITP first), fit them
#   and compare every estimate with the R package SCCS; run likelihood-ratio tests.
#
# {doc}`t3-age-and-calendar-time` (about {glue:text}`course_min_t3` minutes)
# : See the bias when a rate that changes with time is left out of the model; compare age groups,
#   splines and the semiparametric model as fixes; choose the time cut points.
#
# {doc}`t4-reference-group` (about {glue:text}`course_min_t4` minutes)
# : Explain, with a simulation, why a between-patient comparison with untreated patients is
#   confounded by frailty when frail patients are the ones treated, and why the within-patient
#   SCCS is not.
#
# {doc}`t5-event-dependent` (about {glue:text}`course_min_t5` minutes)
# : Simulate infections that prompt IVIG; measure the bias of the on-IVIG estimate; use a
#   pre-exposure window to reveal the mechanism and say what bias it leaves; know the 2009
#   estimator for event-dependent exposures.
#
# {doc}`t6-event-ends-observation` (about {glue:text}`course_min_t6` minutes)
# : Simulate events that shorten observation (death after a severe infection); measure the bias
#   of the standard estimator; fit the event-dependent observation model and know its limits.
#
# {doc}`t7-diagnostics` (about {glue:text}`course_min_t7` minutes)
# : Run the diagnostics of each assumption on the study's own data (end-of-observation probe,
#   pre-exposure gain, time stability, rare outcome, minimum detectable relative incidence) and read
#   their verdicts.
#
# {doc}`t8-operating-characteristics` (about {glue:text}`course_min_t8` minutes)
# : Measure bias, coverage and power of the SCCS at the paper's size by Monte Carlo, and the
#   smallest effect such a study could reliably detect.
#
# {doc}`t9-from-r-to-python` (about {glue:text}`course_min_t9` minutes, self-study)
# : Translate the R package's calls (`standardsccs`, `lrtsccs`, `semisccs`, `eventdepenexp`,
#   `eventdepenobs`, `samplesize`) into this project's Python, with the R results beside ours.
#
# {doc}`t10-negative-controls` (about {glue:text}`course_min_t10` minutes, self-study)
# : Estimate the systematic error of a study from negative-control outcomes whose true
#   incidence rate ratio is one; calibrate p-values and confidence intervals for it.
#
# ## A suggested order, in two sessions
#
# The chapters are numbered in this order, the order of the method: the first session builds the
# model, the second questions its assumptions, and the last two chapters are for self-study.
#
# **Session one: the model** (about {glue:text}`course_session1_hours:.2g` hours).
# Start with the likelihood ({doc}`t1-likelihood`), then practise it at once on the textbook's
# examples ({doc}`t2-classic-examples`), whose age groups lead straight to age and calendar time
# ({doc}`t3-age-and-calendar-time`): every SCCS model adjusts for time, so this belongs with the
# model, not after the assumptions. Close with the reference group ({doc}`t4-reference-group`),
# which shows what the within-person design buys.
#
# **Session two: the assumptions** (about {glue:text}`course_session2_hours:.2g` hours).
# Exposure that depends on events ({doc}`t5-event-dependent`), events that end observation
# ({doc}`t6-event-ends-observation`), then the diagnostics of both on the study's data
# ({doc}`t7-diagnostics`), and finally what a study of this size can detect
# ({doc}`t8-operating-characteristics`).
#
# **After the course** (about {glue:text}`course_self_study_min` minutes): readers who use R
# translate their analyses with {doc}`t9-from-r-to-python`; every reader can then measure how
# wrong an estimate could be with negative controls ({doc}`t10-negative-controls`).
#
# ## Running the course
#
# Each chapter executes from scratch in a few minutes (its simulations are not pre-computed). For
# a class, hand out the exercise notebooks: `make exercises` writes, for every teaching chapter, a
# student notebook without the solutions and a separate solutions notebook, both with the chapter's
# numbers, figures and references as plain text (in `_build/exercises/`). Each chapter's page also
# offers its executed notebook and script for download.
