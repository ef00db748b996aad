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
# # Definitions

# %% tags=["remove-input"]
from analysis.report import book, figures, tables
from analysis import study

cohort = book.load()
book.cohort_banner(cohort)

# %% [markdown]
# The paper's Methods define a handful of periods and thresholds; the data contract
# ([appendix](appendix-data-contract.md)) turns each into an exact rule on whole days, both ends
# inclusive. This chapter lists them, checks the code's constants against the paper's, and draws them
# on one patient.

# %% tags=["hide-input"]
pre_short, pre_long = study.PRE_WINDOWS
hgg_any, hgg_moderate, hgg_severe = study.HGG_THRESHOLDS
constants = {
    "obs_tail_days": study.OBS_TAIL_DAYS,
    "on_ivig_days": study.ON_IVIG_DAYS,
    "pre_short": pre_short,
    "pre_long": pre_long,
    "hgg_any": hgg_any,
    "hgg_moderate": hgg_moderate,
    "hgg_severe": hgg_severe,
    "progression_days": study.PROGRESSION_DAYS,
    "baseline_before": -study.BASELINE_IGG_WINDOW[0],
    "baseline_after": study.BASELINE_IGG_WINDOW[1],
}
book.glue_values(constants, prefix="defs_")
# The seasons' first and last months, named from the code's constant (not typed in the text).
import calendar

fw = study.FALL_WINTER_MONTHS
ss = tuple(m for m in range(1, 13) if m not in fw)
book.glue_values({
    "fw_first": calendar.month_name[fw[0]], "fw_last": calendar.month_name[fw[-1]],
    "ss_first": calendar.month_name[ss[0]], "ss_last": calendar.month_name[ss[-1]],
}, prefix="defs_")
R = tables.Row
design = tables.compare(
    [
        R("Observation ends, days after the last daratumumab dose", study.OBS_TAIL_DAYS,
          ["dp_obs_end_days_after_last_dara"]),
        R("On IVIG: days from each dose (dose day included)", study.ON_IVIG_DAYS,
          ["dp_on_ivig_window_days"]),
        R("Pre-exposure window, short (days before first IVIG)", pre_short,
          ["dp_pre_window_short_days"]),
        R("Pre-exposure window, long (days before first IVIG)", pre_long,
          ["dp_pre_window_long_days"]),
        R("HGG: functional IgG below (mg/dL)", hgg_any, ["dp_hgg_threshold"]),
        R("Moderate HGG: below (mg/dL)", hgg_moderate, ["dp_moderate_hgg_high"]),
        R("Severe HGG: below (mg/dL)", hgg_severe, ["dp_severe_hgg_threshold"]),
        R("Baseline IgG: days before the first dose", -study.BASELINE_IGG_WINDOW[0],
          ["dp_baseline_igg_window_before_days"]),
        R("Baseline IgG: days after the first dose", study.BASELINE_IGG_WINDOW[1],
          ["dp_baseline_igg_window_after_days"]),
        R("Progression covariate: days from each progression", study.PROGRESSION_DAYS, [],
          note="not printed in the paper; the contract's default"),
    ],
    ours_label="This code",
    label_header="Definition",
)
book.publish_table(design, "definitions_constants",
                   caption="The design's constants: the paper's value and the code's")

# %% [markdown]
# ## One patient, drawn

# %% tags=["hide-input"]
from analysis.report import patient

# The IVIG patient on whom most definitions appear; periods built by the SCCS models' own code.
timeline = patient.patient_timeline(cohort, patient.illustrative_patient(cohort))
fig = timeline.plot(title="Patient A (pseudonymous): one IVIG patient's observation period")
book.glue_figure("fig_timeline", fig)
book.glue_values(timeline.counts(), prefix="defs_patient_")

# %% [markdown]
# ```{glue:figure} fig_timeline
# :name: fig-timeline
#
# One IVIG patient's observation period (a pseudonymous patient; time in days since the first
# daratumumab dose). Top: functional IgG, the step line holding each measurement until the next,
# over the HGG bands. Bottom: the periods the analysis uses. Grey columns mark fall/winter.
# ```
#
# {numref}`fig-timeline` shows one IVIG patient, chosen because every definition appears on their
# time line. They were observed for {glue:text}`defs_patient_days_observed` days and received
# {glue:text}`defs_patient_n_doses` IVIG doses, which made {glue:text}`defs_patient_days_on_ivig`
# days "on IVIG". Of their {glue:text}`defs_patient_n_infections` infections,
# {glue:text}`defs_patient_n_infections_on` fell on IVIG and {glue:text}`defs_patient_n_infections_off`
# in observation.
#
# ## The definitions
#
# Observation period
# : From the first daratumumab dose through {glue:text}`defs_obs_tail_days` days after the last
#   dose, or through the date of death or of last contact when either comes earlier (data contract;
#   {doc}`02-cohort` counts the patients and days this removes). Every rate, interval and
#   model uses these days only.
#
# On IVIG
# : A day is on IVIG when it falls within the {glue:text}`defs_on_ivig_days` days that start with an
#   IVIG dose (the dose day is the first of them). Windows of successive doses that touch or overlap merge, and
#   are clipped to the observation period. Every other observed day is *observation*, the reference
#   level of the comparison.
#
# Pre-exposure windows
# : The {glue:text}`defs_pre_short` or {glue:text}`defs_pre_long` days just before a patient's first
#   IVIG dose, clipped to the observation period; on-IVIG days take precedence. They are modelled as
#   a separate level to show whether infections prompt IVIG (indication bias). The patient above had
#   {glue:text}`defs_patient_days_pre_long` days in the longer window.
#
# Functional IgG and HGG bands
# : In IgG myeloma the monoclonal protein is IgG that does not protect, so the M-spike is subtracted:
#   functional IgG = IgG − M-spike, both in mg/dL (floored at 0); otherwise functional IgG is the
#   measured IgG. Each day takes the latest measurement on or before it; days before the first
#   measurement take a baseline value dated from {glue:text}`defs_baseline_before` days before to
#   {glue:text}`defs_baseline_after` days after the first daratumumab dose. HGG is functional IgG
#   below {glue:text}`defs_hgg_any` mg/dL, moderate HGG below {glue:text}`defs_hgg_moderate` mg/dL
#   and severe HGG below {glue:text}`defs_hgg_severe` mg/dL. A patient *had HGG during the study
#   period* (Table 2) when the lowest functional IgG measured within their observation period is
#   below the band; the *time with HGG* counts observed days by the day rule above. The patient
#   above had
#   {glue:text}`defs_patient_n_igg` IgG measurements.
#
# Season
# : Fall/winter runs from the start of {glue:text}`defs_fw_first` to the end of
#   {glue:text}`defs_fw_last`, spring/summer from the start of {glue:text}`defs_ss_first` to the end of
#   {glue:text}`defs_ss_last`. The
#   patient above spent {glue:text}`defs_patient_days_fall_winter` observed days in fall/winter.
#
# Progression
# : A day is "at progression" within {glue:text}`defs_progression_days` days from a progression date
#   (IMWG criteria), a time-varying covariate of a sensitivity analysis.
#
# Outcomes and grades
# : An infection counts on its onset day; several on one day count several times. The outcomes of
#   the paper's models are all infections, grade 3-4 infections (CTCAE grade 3 or more), and
#   microbiologically confirmed bacterial and viral infections; Figure 1 ({doc}`06-primary-analysis`) adds grade 1-2,
#   fungal infections and each site (respiratory = upper + lower respiratory tract). Each outcome is
#   defined once, in `analysis.study.outcome_mask`.

# %% tags=["hide-input"]
import pandas as pd

inf_all = study.infections_in_observation(cohort)
rows = []
for outcome in study.NAMED_OUTCOMES:
    mask = study.outcome_mask(inf_all, outcome)
    sel = inf_all[mask]
    rows.append(
        {
            "Outcome": study.OUTCOME_LABELS[outcome],
            "IVIG group: infections": int((sel["group"] == "ivig").sum()),
            "IVIG group: patients": int(sel.loc[sel["group"] == "ivig", "patient_id"].nunique()),
            "Reference group: infections": int((sel["group"] == "reference").sum()),
            "Reference group: patients":
                int(sel.loc[sel["group"] == "reference", "patient_id"].nunique()),
        }
    )
book.publish_table(pd.DataFrame(rows), "definitions_outcomes",
                   caption="Infections in observation and patients with at least one, by outcome")
