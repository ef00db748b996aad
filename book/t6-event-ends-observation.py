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
# (t6-event-ends-observation)=
# # When the event ends observation
#
# The SCCS conditions on each case's observation period, and treats its end as fixed in advance
# ({ref}`t1-likelihood`). In the study of this book it may not be: a severe infection can lead to
# death, to stopping daratumumab, or to loss to follow-up, and each of these ends the observation
# period *because of* the event. This chapter simulates events that raise the risk of the end of
# observation, measures how the bias of the standard estimator grows with that dependence, and
# shows how the method of Farrington and colleagues for event-dependent observation periods
# {cite:p}`farrington2011eventobs` (R's `eventdepenobs`; here
# `analysis.sccs.eventdep_observation.fit_eventdep_observation`) removes it, and at what price.

# %% tags=["hide-input"]
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.report import book, figures
from analysis import teaching as T
from analysis.sccs import fit_many
from analysis.sccs.eventdep_observation import (
    EventDepObservationError,
    fit_eventdep_observation,
)
from analysis.sccs.intervals import Exposure

figures.apply_style()
SEED = 20260427

# %% [markdown]
# ## The mechanism
#
# Each simulated patient is followed for a planned period of one to three years and has one course
# of IVIG of random length at a random time; IVIG truly lowers the event rate to the paper's
# incidence rate ratio (IRR). The event is rare, so that (as in the method's derivation) each case
# has essentially one event, and we analyse first events only. The observation period can end
# early (death, loss to follow-up) at a low rate; after the event, that rate is multiplied by a
# hazard ratio $h$, the **strength of the dependence**. With $h = 1$ the end of observation has
# nothing to do with the event, and the standard SCCS is valid.

# %%
truth = float(book.paper("sccs_allgrade_irr"))
scenario = T.Scenario(
    n_individuals=3000, irr=truth, rate_per_year=0.05, frailty_shape=None,
    obs_days=(365, 1095), exposure_days=(180, 720), end_rate_per_year=0.1,
)
STRENGTHS = [1, 5, 20, 80]           # hazard ratio of the end of observation after the event
N_REPS = 200                         # simulated studies per strength (standard SCCS)
AGE_AT_START = int(65 * T.DAYS_PER_YEAR)  # days: the censoring models read days as ages

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_values({"true_irr": truth, "rate": scenario.rate_per_year,
                  "n_individuals": scenario.n_individuals, "n_reps": N_REPS,
                  "end_rate": scenario.end_rate_per_year,
                  "h_min": min(STRENGTHS), "h_max": max(STRENGTHS)}, prefix="t7_")

# %% [markdown]
# Why the end of observation matters: when the event shortens the observation period, the event
# tends to lie near the *end* of the period that remains. Any exposure that is more common late in
# the observation period (here an IVIG course that, once started, often runs to the end) then
# looks as if it attracted the event. The SCCS compares the times *within* each case, so it cannot
# tell "the event happened during IVIG" from "observation stopped soon after the event, while IVIG
# was still running".
#
# ## The standard estimator's bias grows with the dependence
#
# We simulate {glue:text}`t7_n_reps` studies of {glue:text}`t7_n_individuals` people for each
# strength $h$ and fit the standard SCCS to every study at once (`fit_many`).

# %%
cohorts, rows = {}, []
for k, h in enumerate(STRENGTHS):
    c = T.first_events_only(
        T.simulate_cohorts(scenario.with_(end_hr_after_event=h), N_REPS, seed=SEED + k))
    cohorts[h] = c
    res = T.monte_carlo(lambda rng, n, c=c: T.to_intervals(c), ["exposed"], N_REPS,
                        batch_size=N_REPS, desc=f"standard SCCS, h = {h}",
                        progress=False)
    s = T.summarise(res, "exposed", truth)
    cases = pd.MultiIndex.from_frame(c.individuals[["rep", "id"]]).isin(
        pd.MultiIndex.from_frame(c.events[["rep", "id"]]))
    rows.append({"h": h, "cases per study": res["n_cases"].mean(),
                 "cases censored early": c.individuals.loc[cases, "censored"].mean(),
                 "IRR (geometric mean)": np.exp(np.log(truth) + s["bias"]),
                 "bias in log IRR": s["bias"], "bias MC s.e.": s["bias_mcse"],
                 "95% CI coverage": s["coverage"]})
standard = pd.DataFrame(rows)
book.publish_table(
    standard, "t6_standard",
    caption="Standard SCCS when the event raises the risk of the end of observation "
    "(h: hazard ratio after the event)",
    formats={"cases per study": "{:.0f}", "cases censored early": "{:.2f}",
             "IRR (geometric mean)": "{:.3f}", "bias in log IRR": "{:+.3f}",
             "bias MC s.e.": "{:.3f}", "95% CI coverage": "{:.3f}"},
)

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
for _, r in standard.iterrows():
    key = int(r["h"])
    book.glue_values({"irr": r["IRR (geometric mean)"], "bias": r["bias in log IRR"],
                      "cov": r["95% CI coverage"], "cens": r["cases censored early"]},
                     prefix=f"t7_std{key}_")

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t7_cases", float(standard["cases per study"].mean()))

# %% [markdown]
# With $h$ = {glue:text}`t7_h_min` the standard estimate is unbiased (IRR
# {glue:text}`t7_std1_irr:.2f` for a true {glue:text}`t7_true_irr:.2f`, coverage
# {glue:text}`t7_std1_cov:.2f`). As the event raises the risk of the end of observation, the bias
# grows: with $h$ = 20 the IRR averages {glue:text}`t7_std20_irr:.2f` (coverage
# {glue:text}`t7_std20_cov:.2f`), and with $h$ = {glue:text}`t7_h_max` it is
# {glue:text}`t7_std80_irr:.2f`: a protective exposure looks harmful, and the confidence
# intervals almost never contain the truth (coverage {glue:text}`t7_std80_cov:.2f`). The share of
# cases whose observation ended early rises from {glue:text}`t7_std1_cens:.2f` to
# {glue:text}`t7_std80_cens:.2f`; already with $h$ = 5 (a share {glue:text}`t7_std5_cens:.2f`
# censored early) the bias is {glue:text}`t7_std5_bias:+.2f` on the log scale and the coverage
# falls to {glue:text}`t7_std5_cov:.2f`.
#
# ## The event-dependent observation model removes the bias
#
# The method {cite:p}`farrington2011eventobs` keeps the cases whose observation ended early and
# replaces the length of each interval by a *weight*: the probability of the observed end of
# observation had the event happened in that interval. Four parametric models of the time to the
# end of observation compete (exponential mixed with a Weibull or a gamma, in age or in time since
# the event: EWA, EWI, EGA, EGI), and the one with the smallest AIC gives the weights. The four
# censoring models are fitted by numerical optimisation in every study, so we fit a smaller number
# of studies, here one by one with the single fit `fit_eventdep_observation` (the library's batched
# form, `analysis.sccs.batched_ext.fit_many_eventdep_observation`, fits the censoring models of many
# studies together and gives the same estimates).

# %%
N_EXT = 20  # studies per strength for the extension (one numerical fit each)
EXT_STRENGTHS = [1, 20]


def eventdepenobs(c: T.TeachingCohorts, rep: int) -> dict:
    """Fit one simulated study with the event-dependent observation model."""
    x = T.replicate_tables(c, rep, offset_days=AGE_AT_START)
    exposure = Exposure("exposed", x["exposure"], windows=((0, None),))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # trial points of the optimiser
            fit = fit_eventdep_observation(x["observation"], x["events"], [exposure])
    except EventDepObservationError:
        return {"log_irr": np.nan, "ci_low": np.nan, "ci_high": np.nan, "chosen": "failed"}
    row = fit.summary.iloc[0]
    return {"log_irr": row["log_irr"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
            "chosen": fit.chosen}


ext = []
for h in EXT_STRENGTHS:
    out = T.progress_map(lambda r, h=h: eventdepenobs(cohorts[h], r), range(N_EXT),
                         desc=f"eventdepenobs, h = {h}", progress=False)
    ext.append(pd.DataFrame(out).assign(h=h))
ext = pd.concat(ext, ignore_index=True)
rows = []
for h, g in ext.groupby("h"):
    ok = g["log_irr"].notna()
    std = T.to_intervals(cohorts[h])
    std = fit_many(std[std["rep"] < N_EXT], ["exposed"]).frame("exposed")
    for label, est in (("standard SCCS", std), ("eventdepenobs", g[ok])):
        b = est["log_irr"].to_numpy()
        rows.append({"h": h, "method": label, "studies": len(b),
                     "IRR (geometric mean)": float(np.exp(b.mean())),
                     "bias in log IRR": float(b.mean() - np.log(truth)),
                     "bias MC s.e.": float(b.std(ddof=1) / np.sqrt(len(b))),
                     "95% CI coverage": T.coverage(est["ci_low"], est["ci_high"], truth)})
compare = pd.DataFrame(rows)
book.publish_table(
    compare, "t6_compare",
    caption="Standard SCCS and the event-dependent observation model on the same studies",
    formats={"IRR (geometric mean)": "{:.3f}", "bias in log IRR": "{:+.3f}",
             "bias MC s.e.": "{:.3f}", "95% CI coverage": "{:.2f}"},
)

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
for _, r in compare.iterrows():
    key = f"t7_{'ext' if r['method'] == 'eventdepenobs' else 'cmp'}{int(r['h'])}_"
    book.glue_values({"irr": r["IRR (geometric mean)"], "bias": r["bias in log IRR"],
                      "mcse": r["bias MC s.e."], "cov": r["95% CI coverage"],
                      "n": int(r["studies"])}, prefix=key)

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t7_n_ext", N_EXT)
book.glue_value("t7_failed", int((ext["chosen"] == "failed").sum()))

# %% [markdown]
# On the same {glue:text}`t7_n_ext` studies with $h$ = 20, the standard SCCS gives an IRR of
# {glue:text}`t7_cmp20_irr:.2f` (bias {glue:text}`t7_cmp20_bias:+.2f`) and the event-dependent
# observation model {glue:text}`t7_ext20_irr:.2f` (bias {glue:text}`t7_ext20_bias:+.2f`, Monte
# Carlo standard error {glue:text}`t7_ext20_mcse:.2f`; its 95% intervals contain the truth in a
# share {glue:text}`t7_ext20_cov:.2f` of the studies): most of the bias is gone. Without
# dependence ($h$ = 1) the two agree ({glue:text}`t7_cmp1_irr:.2f` and
# {glue:text}`t7_ext1_irr:.2f`), so the correction costs little when it is not needed. With only
# {glue:text}`t7_n_ext` studies per row, a small remaining bias of either sign cannot be excluded
# and the coverage of the extension is a rough figure; the contrast with the standard estimate is
# not in doubt. Studies for which the chosen censoring model could not give finite weights:
# {glue:text}`t7_failed`.

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(figures.PAGE_WIDTH * 0.8, 3.3))
ax.plot(standard["h"], standard["IRR (geometric mean)"], "o-", color=figures.COLORS["on_ivig"],
        label=f"standard SCCS ({N_REPS} studies each)")
e = compare[compare["method"] == "eventdepenobs"]
err = 1.96 * e["bias MC s.e."].to_numpy()
ax.errorbar(e["h"], e["IRR (geometric mean)"],
            yerr=[e["IRR (geometric mean)"] * (1 - np.exp(-err)),
                  e["IRR (geometric mean)"] * (np.exp(err) - 1)],
            fmt="s", color=figures.COLORS["pre_ivig"], capsize=3,
            label=f"eventdepenobs ({N_EXT} studies each, 95% MC interval)")
ax.axhline(truth, color="black", lw=1, label="true IRR")
ax.axhline(1, color="grey", lw=0.8, ls=":")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xticks(STRENGTHS, [str(h) for h in STRENGTHS])
ax.set_yticks([0.5, 1, 2], ["0.5", "1", "2"])
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.yaxis.set_minor_formatter(plt.NullFormatter())
ax.set_xlabel("hazard ratio of the end of observation after the event, h (log scale)")
ax.set_ylabel("mean estimated IRR (log scale)")
ax.legend(fontsize=8)
book.glue_figure("fig_t7_bias", fig)

# %% [markdown]
# ```{glue:figure} fig_t7_bias
# :name: fig-t7-bias
#
# Mean estimated IRR by the strength of the dependence between the event and the end of
# observation. The true IRR is the black line.
# ```
#
# ## The method's limits
#
# **First events only.** The weights describe how *one* event shortens the observation period, so
# the method models a non-recurrent event (or the first of a recurrent one). With a common,
# recurrent event, first events are not a valid SCCS even without any dependence: they drift
# towards the start of observation, away from exposures that come later.

# %%
common = T.first_events_only(T.simulate_cohorts(
    scenario.with_(rate_per_year=2.0, n_individuals=300), N_REPS, seed=SEED + 50))
res = T.monte_carlo(lambda rng, n: T.to_intervals(common), ["exposed"], N_REPS,
                    batch_size=N_REPS, desc="first of a common event, h = 1",
                    progress=False)
s = T.summarise(res, "exposed", truth)

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_values({"rate": 2.0, "irr": float(np.exp(np.log(truth) + s["bias"])),
                  "cov": s["coverage"]}, prefix="t7_common_")

# %% [markdown]
# With a rate of {glue:text}`t7_common_rate:.0f` events per person-year (instead of
# {glue:text}`t7_rate:.2f`) and no dependence at all, the first-event SCCS gives an IRR of
# {glue:text}`t7_common_irr:.2f` (coverage {glue:text}`t7_common_cov:.2f`). For infections in
# myeloma, which recur, the method applies to the first infection only, and only if infections are
# rare enough over the observation period.
#
# **The censoring model is chosen, not known.** AIC picks among four parametric shapes; none of
# them is the simulated mechanism exactly (a constant rate before and a higher constant rate after
# the event), and the choice varies from study to study:

# %%
chosen = ext.pivot_table(index="chosen", columns="h", values="log_irr", aggfunc="size",
                         fill_value=0)
chosen.columns = [f"h = {h}" for h in chosen.columns]
chosen

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t7_n_models", int((chosen.sum(axis=1) > 0).sum()))

# %% [markdown]
# Over these studies AIC picked {glue:text}`t7_n_models` different models. The estimate of the
# exposure effect depends on the weights, and therefore on a model of the end of observation that
# the data determine only loosely when few cases are censored early. The method also assumes that
# the end of observation depends on the event and on age, not on the exposure, and it says nothing
# about what would have happened after death: it corrects the *estimate*, it does not create the
# missing follow-up.
#
# ## Exercises
#
# ```{admonition} Exercise 1 — where the exposure sits
# :class: tip
#
# Shorten the IVIG course to a fixed 30 days (`exposure_days=(30, 30)`). Is the standard SCCS still
# biased with $h$ = 80? Why does the length of the exposure matter?
# ```
#
# ```{admonition} Solution
# :class: dropdown
#
# The bias shrinks a lot. A short course placed at random is no more likely to cover the end of
# observation than its start, so events pushed towards the end of the (shortened) period no longer
# land preferentially in exposed time. The bias of event-dependent observation comes from
# exposures whose *position* in the observation period is related to its end: long-running
# treatments, exposures that start late, or age-related exposures. Rerun the first table with
# `scenario.with_(exposure_days=(30, 30))`.
# ```
#
# ```{admonition} Exercise 2 — dropping the censored cases
# :class: tip
#
# A tempting fix is to drop every case whose observation ended early. Try it with $h$ = 20 (keep
# the rows of `T.to_intervals(cohorts[20])` whose individual has `censored == 0` in
# `cohorts[20].individuals`). Is the estimate unbiased?
# ```
#
# ```{admonition} Solution
# :class: dropdown
#
# No. Whether a case survives to the planned end depends on *when* its event happened: an event
# close to the planned end leaves little time to die. The surviving cases are therefore a selected
# sample whose events lie late in their observation period, where the IVIG course is more often
# running, and the estimate stays biased upwards (and its coverage poor). This is why the method
# keeps the censored cases and models the censoring instead.
# ```
