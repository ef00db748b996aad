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
# # The cohort

# %% tags=["remove-input"]
from analysis.report import book, figures, tables

cohort = book.load()
book.cohort_banner(cohort)

# %% [markdown]
# Every analysis in this book reads one cohort: a folder of five CSV files (patients, IVIG doses,
# infections, IgG measurements, progression dates) described in the
# [data contract](appendix-data-contract.md). This chapter checks it, counts it, and — for the
# synthetic cohort — explains where it comes from.
#
# ## Validation report

# %% tags=["hide-input"]
import pandas as pd

from analysis import study

book.glue_value("defs_obs_tail_days", study.OBS_TAIL_DAYS)
summary = cohort.summary()
by_group = summary["patients_by_group"]
outside = summary["outside_observation"]
book.glue_values(
    {
        "n_patients": summary["patients"],
        "n_ivig": by_group.get("ivig", 0),
        "n_reference": by_group.get("reference", 0),
        "n_doses": summary["ivig_doses"],
        "n_infections": summary["infections"],
        "n_igg": summary["igg_measurements"],
        "n_progression": summary["progression_events"],
        "n_outside": sum(outside.values()),
    },
    prefix="cohort_",
)
validation = pd.DataFrame(
    {
        "Table": ["patients.csv", "ivig.csv", "infections.csv", "igg.csv", "progression.csv"],
        "Rows": [summary["patients"], summary["ivig_doses"], summary["infections"],
                 summary["igg_measurements"], summary["progression_events"]],
        "Outside the observation period": [0, outside["ivig_doses"], outside["infections"],
                                           outside["igg_measurements"],
                                           outside["progression_events"]],
    }
)
book.publish_table(validation, "cohort_validation",
                   caption="Rows of each file, and rows dated outside the patient's observation")

# %% [markdown]
# The cohort passed every rule of the contract (a cohort that breaks one stops the build with a
# message naming the file, row, column and rule). It holds {glue:text}`cohort_n_patients` patients:
# {glue:text}`cohort_n_ivig` in the IVIG group and {glue:text}`cohort_n_reference` in the reference
# group, with {glue:text}`cohort_n_doses` IVIG doses, {glue:text}`cohort_n_infections` infections,
# {glue:text}`cohort_n_igg` IgG measurements and {glue:text}`cohort_n_progression` progression
# dates. Of these rows, {glue:text}`cohort_n_outside` are dated outside their patient's observation
# period (from the first daratumumab dose to {glue:text}`defs_obs_tail_days` days after the last): they stay in the data and
# simply fall outside the analysis, as the contract says.
#
# ## End of observation: death and last contact

# %% tags=["hide-input"]
stops = study.observation_stops(cohort).set_index(["group", "end_reason"])
book.glue_values(
    {
        "patients": stops.loc[("all", "any"), "patients"],
        "days": stops.loc[("all", "any"), "days_removed"],
        "death_patients": stops.loc[("all", "death"), "patients"],
        "contact_patients": stops.loc[("all", "last contact"), "patients"],
        "ivig_patients": stops.loc[("ivig", "any"), "patients"],
        "ivig_days": stops.loc[("ivig", "any"), "days_removed"],
    },
    prefix="obs_stop_",
)
book.publish_table(stops.reset_index().rename(columns={
    "group": "Group", "end_reason": "Observation ends early at", "patients": "Patients",
    "days_removed": "Observed days removed"}), "cohort_observation_stops",
    caption="Patients whose observation ends before the last daratumumab dose + "
            f"{study.OBS_TAIL_DAYS} days, and the days this removes")

# %% [markdown]
# The paper follows each patient until {glue:text}`defs_obs_tail_days` days after the last
# daratumumab dose. A patient who dies, or is last seen, before then is not at risk of a recorded
# infection afterwards, so the data contract ends observation at the earliest of that day, the date
# of death and the date of last contact. In this cohort the rule ends observation early for
# {glue:text}`obs_stop_patients` patients ({glue:text}`obs_stop_death_patients` at death,
# {glue:text}`obs_stop_contact_patients` at last contact) and removes
# {glue:text}`obs_stop_days` observed days; in the IVIG group, whose days enter the SCCS models,
# {glue:text}`obs_stop_ivig_patients` patients and {glue:text}`obs_stop_ivig_days` days. Every
# analysis in this book (SCCS intervals, rates, Cox censoring, the figures) uses this one
# observation period.
#
# ## Patient flow

# %% tags=["hide-input"]
book.glue_paper("res1_screened_n", "res1_ivig_n", "abs_reference_n",
                "dp_reference_min_dara_months")
flow = tables.compare(
    [
        tables.Row("Patients treated with daratumumab (screened)", "not in the cohort",
                   ["res1_screened_n"]),
        tables.Row("IVIG group: received IVIG while on daratumumab", by_group.get("ivig", 0),
                   ["res1_ivig_n"]),
        tables.Row("Reference group: random sample of the others", by_group.get("reference", 0),
                   ["abs_reference_n"]),
    ]
)
book.publish_table(flow, "cohort_flow", caption="Patient flow")

# %% [markdown]
# Of the {glue:text}`paper_res1_screened_n:,d` consecutive patients treated with daratumumab at the
# study's centre, the paper identified {glue:text}`paper_res1_ivig_n` who received IVIG while on
# daratumumab (part one of the study, the self-controlled case series). From the remaining patients
# who had been on daratumumab for at least {glue:text}`paper_dp_reference_min_dara_months` months,
# {glue:text}`paper_abs_reference_n` were drawn at random as a reference group (part two). A cohort
# folder holds only the two groups; the screened total is the paper's.
#
# (synthetic-method)=
# ## How the synthetic cohort was made
#
# The synthetic cohort is drawn by `python -m analysis simulate` from a stated truth (the true rate
# ratios, season and progression effects, frailty, how strongly infections prompt IVIG, deaths),
# written beside the cohort as `truth.json`. The mechanism, every parameter, and the list of the
# paper's numbers the cohort is calibrated to are in {ref}`truth-method`; chapter
# {doc}`13-truth-recovery` checks that the analysis recovers the truth. A cohort of your own has no
# such section: it is simply what your patients' records say.
#
# ## Calibration: this cohort beside every number the paper prints

# %% tags=["hide-input"]
from analysis.synthetic.calibration import calibration_table

from analysis.paper import audit
from analysis.synthetic.provenance import PROVENANCE

calib = calibration_table(cohort)
status = calib["status"].value_counts()
audit_table = audit.audit_table(cohort, provenance=PROVENANCE if cohort.synthetic else None)
book.glue_values(audit.audit_counts(audit_table), prefix="cohort_audit_")
judged = set(calib.loc[calib["status"].isin(["pass", "fail"]), "target_id"])
book.glue_value("cohort_audit_differs_judged", int(
    (audit_table["target_id"].isin(judged) & (audit_table["status"] == "differs")).sum()))
book.glue_values(
    {
        "n_targets": len(calib),
        "n_pass": int(status.get("pass", 0)),
        "n_fail": int(status.get("fail", 0)),
        "n_info": int(status.get("info", 0)),
    },
    prefix="calib_",
)

# %% [markdown]
# Every number the paper prints about its patients is recomputed on this cohort, with the same
# definitions and code as the analysis chapters (where a row reads the paper differently, its note
# says why), and compared with the paper's value under a tolerance
# fitting the number (exact for counts, to the printed rounding for medians and percentages, an
# absolute margin for rates). Of {glue:text}`calib_n_targets` comparisons,
# {glue:text}`calib_n_pass` are within tolerance, {glue:text}`calib_n_fail` are not and
# {glue:text}`calib_n_info` are shown for information only (where the paper is ambiguous or
# contradicts itself; the note says which version is matched and why). The *provenance* column says how a
# row could come to agree: a *planted* number is read by the generator, so it passes by
# construction and says nothing about the analysis code; a *truth set* row estimates an effect
# whose truth was set to the paper's value; only *emergent* rows are outcomes of the analysis.
#
# This calibration check and the reproduction audit ({doc}`12-reproduction-audit`) count different
# things. The check above judges the {glue:text}`calib_n_targets` rows that describe the cohort
# against the tolerance a calibration needs (exact, or to the printed rounding) and shows every
# estimate for information only. The audit judges all {glue:text}`cohort_audit_total` numbers the
# paper prints, estimates and every printed version of a contradicted number included, against
# the difference sampling alone would make: {glue:text}`cohort_audit_status_match` match,
# {glue:text}`cohort_audit_status_differs` differ and
# {glue:text}`cohort_audit_status_not_detectably_different` are not detectably different at this
# sample size. So "no row fails" here and "some rows differ" there do not contradict each other:
# of the rows that differ in the audit, {glue:text}`cohort_audit_differs_judged` are rows this
# check judges; the others it shows for information only or does not hold (estimates, ends of
# ranges judged as printed, the paper's derived arithmetic).

# %% tags=["hide-input", "output_scroll"]
shown = calib.rename(
    columns={"target_id": "Target", "description": "Quantity", "paper": "Paper",
             "synthetic": "This book", "tolerance": "Tolerance", "status": "Status",
             "note": "Note"}
)
book.publish_table(shown, "cohort_calibration",
                   formats={"Paper": tables.fmt_sig, "This book": tables.fmt_sig},
                   caption="Calibration: the paper's numbers and this cohort's")
