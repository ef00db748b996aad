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
# (t4-reference-group)=
# # Why the reference group is not a control group
#
# The paper reports two kinds of numbers side by side: within-patient incidence rate ratios from the
# SCCS, and infection rates of a *reference group* of daratumumab patients who never received IVIG.
# It is tempting to read the reference group as controls. This chapter shows, by simulation, why
# that comparison answers a different question — "are the patients who get IVIG different?" — and
# why the SCCS, which never compares patients with each other, does not share the problem.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.report import book, figures
from analysis import teaching as T
from analysis.sccs import SCCS, fit_many

figures.apply_style()
SEED = 20260424

# %% [markdown]
# ## The paper's two rates

# %%
rate_on = book.paper("res1_rate_on_ivig")
rate_ref = book.paper("res2_rate_allgrade")
irr_paper = book.paper("sccs_allgrade_irr")

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t2_paper_rate_on", rate_on)
book.glue_value("t2_paper_rate_ref", rate_ref)
book.glue_value("t2_paper_naive_ratio", rate_on / rate_ref)
book.glue_value("t2_paper_irr", irr_paper)

# %% [markdown]
# In the paper, patients on IVIG had {glue:text}`t2_paper_rate_on:.2f` infections per patient-year
# and the reference group {glue:text}`t2_paper_rate_ref:.2f`. Read as a treated-versus-control
# comparison, IVIG would come with {glue:text}`t2_paper_naive_ratio:.2f` times *more* infections,
# while the within-patient SCCS estimate is a rate ratio of {glue:text}`t2_paper_irr:.2f`, a
# reduction. Both can be right at once, because the patients chosen for IVIG were the frail ones:
# the paper itself reports more infections in the year before daratumumab in the IVIG group.
#
# ## A simulation in which frail patients are the ones treated
#
# We simulate a population of myeloma patients on daratumumab, each with a personal infection
# rate: a baseline multiplied by a gamma-distributed frailty (mean 1, variance {glue:text}`t2_frailty_var:g`). The probability of
# ever receiving IVIG rises steeply with frailty (the odds are proportional to frailty to the power `selection`, here
# {glue:text}`t2_selection:g`, on the log-odds scale), and IVIG, when given, truly lowers the rate to the
# paper's IRR. Nothing else differs between the groups.

# %%
truth = float(irr_paper)
scenario = T.Scenario(
    n_individuals=600, irr=truth, rate_per_year=1.2, frailty_shape=1.0,
    obs_days=(180, 900), exposure_days=(60, 360), p_exposed=0.12, selection=2.0,
)
cohort = T.simulate_cohorts(scenario, n_reps=1, seed=SEED)
ind = cohort.individuals
ever = ind["exp_start"] >= 0
groups = pd.DataFrame(
    {
        "patients": [int(ever.sum()), int((~ever).sum())],
        "mean frailty": [ind.loc[ever, "frailty"].mean(), ind.loc[~ever, "frailty"].mean()],
    },
    index=["IVIG group (ever exposed)", "reference group (never exposed)"],
)
groups.round(2)

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t2_true_irr", truth)
book.glue_value("t2_frailty_var", 1 / scenario.frailty_shape)  # gamma(shape k, mean 1): var 1/k
book.glue_value("t2_selection", scenario.selection)
book.glue_value("t2_n_ivig", int(ever.sum()))
book.glue_value("t2_n_ref", int((~ever).sum()))
book.glue_value("t2_frailty_ivig", float(groups.iloc[0, 1]))
book.glue_value("t2_frailty_ref", float(groups.iloc[1, 1]))

# %% [markdown]
# The {glue:text}`t2_n_ivig` IVIG patients have a mean frailty of
# {glue:text}`t2_frailty_ivig:.2f`, the {glue:text}`t2_n_ref` reference patients
# {glue:text}`t2_frailty_ref:.2f`: the IVIG patients would have had about
# {glue:text}`t2_frailty_ratio:.1f` times as many infections *without* IVIG.

# %%
naive = T.between_group_rate_ratio(cohort).iloc[0]
iv = T.to_intervals(cohort, exposed_only=True)  # the IVIG group's cases
fit = SCCS().fit(iv, ["exposed"])
s = fit.summary.loc["exposed"]
rates = pd.DataFrame(
    {
        "infections per patient-year": [naive["rate_on"], naive["rate_ever"], naive["rate_never"]],
    },
    index=["IVIG group, while on IVIG", "IVIG group, whole observation", "reference group"],
)
rates.round(2)

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t2_frailty_ratio", float(groups.iloc[0, 1] / groups.iloc[1, 1]))
book.glue_value("t2_rate_on", float(naive["rate_on"]))
book.glue_value("t2_rate_never", float(naive["rate_never"]))
book.glue_value("t2_rr_on", float(naive["rr_on"]))
book.glue_value("t2_rr_ever", float(naive["rr_ever"]))
book.glue_value("t2_sccs_irr", float(s["irr"]))
book.glue_value("t2_sccs_lo", float(s["ci_low"]))
book.glue_value("t2_sccs_hi", float(s["ci_high"]))
book.glue_value("t2_sccs_cases", fit.n_cases)

# %% [markdown]
# In this one simulated population the IVIG patients, while on IVIG, have
# {glue:text}`t2_rate_on:.2f` infections per patient-year against
# {glue:text}`t2_rate_never:.2f` in the reference group: a between-group rate ratio of
# {glue:text}`t2_rr_on:.2f`, which says IVIG *raises* the risk — the same pattern as the paper's
# two rates. Comparing whole observation periods of ever- and never-treated patients gives
# {glue:text}`t2_rr_ever:.2f`. The SCCS on the {glue:text}`t2_sccs_cases` IVIG patients with at
# least one infection gives IRR {glue:text}`t2_sccs_irr:.2f` (95% CI
# {glue:text}`t2_sccs_lo:.2f`–{glue:text}`t2_sccs_hi:.2f`) for a true {glue:text}`t2_true_irr:.2f`.
#
# ## Over many simulated populations
#
# One population could be a fluke. We repeat the whole study {glue:text}`t2_mc_n:,` times and record both the
# between-group rate ratio and the SCCS estimate in each; the SCCS fits use the engine fitted to all populations at once
# (`analysis.sccs.fit_many`: the same kernels and rules, one set of coefficients per population),
# which is checked against the engine below.

# %%
n_reps = 1000
rng = np.random.default_rng(SEED)
many = T.simulate_cohorts(scenario, n_reps=n_reps, seed=rng)
between = T.between_group_rate_ratio(many)
iv_many = T.to_intervals(many, exposed_only=True)
sccs = fit_many(iv_many, ["exposed"]).frame("exposed")

# fit_many is the engine fitted per population: check on the first five populations
engine = [SCCS().fit(iv_many[iv_many["rep"] == r], ["exposed"]).params["exposed"] for r in range(5)]

log_truth = np.log(truth)
ok = sccs["finite"] & sccs["converged"]

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t2_batched_vs_engine", float(np.max(np.abs(np.array(engine) - sccs["log_irr"][:5]))))
book.glue_value("t2_mc_n", n_reps)
book.glue_value("t2_mc_between_gm", float(np.exp(np.log(between["rr_on"]).mean())))
book.glue_value("t2_mc_between_share_harm", float((between["rr_on"] > 1).mean()))
book.glue_value("t2_mc_sccs_gm", float(np.exp(sccs.loc[ok, "log_irr"].mean())))
book.glue_value("t2_mc_sccs_bias", float(sccs.loc[ok, "log_irr"].mean() - log_truth))
book.glue_value("t2_mc_sccs_cov", T.coverage(sccs.loc[ok, "ci_low"], sccs.loc[ok, "ci_high"], truth))

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(figures.PAGE_WIDTH * 0.8, 3.4))
bins = np.linspace(np.log(0.15), np.log(6), 60)
ax.hist(np.log(between["rr_on"]), bins=bins, color=figures.COLORS["reference"], alpha=0.75,
        label="between groups: on-IVIG rate / reference rate")
ax.hist(sccs.loc[ok, "log_irr"], bins=bins, color=figures.COLORS["on_ivig"], alpha=0.75,
        label="SCCS: within patients")
ax.axvline(log_truth, color="black", lw=1.5, label="true IRR")
ax.axvline(0, color="grey", lw=0.8, ls=":")
ticks = [0.2, 0.5, 1, 2, 5]
ax.set_xticks(np.log(ticks), [str(t) for t in ticks])
ax.set_xlabel("estimated rate ratio (log scale)")
ax.set_ylabel("simulated populations")
ax.set_ylim(0, ax.get_ylim()[1] * 1.45)
ax.legend(loc="upper center", fontsize=8)
book.glue_figure("fig_t2_hist", fig)

# %% [markdown]
# ```{glue:figure} fig_t2_hist
# :name: fig-t2-hist
#
# Estimates from {glue:text}`t2_mc_n:,` simulated populations in which IVIG truly lowers the infection rate (black
# line) but is given to frail patients. Green: the between-group rate ratio (IVIG patients on IVIG
# versus never-treated patients). Blue: the SCCS incidence rate ratio.
# ```
#
# Across {glue:text}`t2_mc_n` populations ({numref}`fig-t2-hist`), the between-group rate ratio has
# a geometric mean of {glue:text}`t2_mc_between_gm:.2f` and exceeds 1 — "IVIG looks harmful" — in a
# share {glue:text}`t2_mc_between_share_harm:.3f` of them. The SCCS estimates centre on
# {glue:text}`t2_mc_sccs_gm:.3f` (mean log-IRR bias {glue:text}`t2_mc_sccs_bias:+.3f`), and their
# 95% confidence intervals contain the true IRR in a share {glue:text}`t2_mc_sccs_cov:.3f` of the
# populations. The batched fits agree with the engine (`SCCS().fit`) to
# {glue:text}`t2_batched_vs_engine:.1e` on the log scale.
#
# ## How strong must selection be?
#
# The between-group ratio mixes two things: the effect of IVIG and the frailty difference between
# the groups. With no selection the two groups have the same frailty, and the between-group ratio is
# also unbiased; as selection grows it drifts upwards, while the SCCS does not move.

# %%
strengths = [-1.0, 0.0, 1.0, 2.0, 3.0]
n_reps_sel = 300  # populations per selection strength
rows = []
for k, sel in enumerate(strengths):
    c = T.simulate_cohorts(scenario.with_(selection=sel), n_reps=n_reps_sel, seed=SEED + 1 + k)
    b = T.between_group_rate_ratio(c)
    f = fit_many(T.to_intervals(c, exposed_only=True), ["exposed"]).frame("exposed")
    good = f["finite"] & f["converged"]
    rows.append({
        "selection (log-odds per log-frailty)": sel,
        "between-group ratio (geometric mean)": float(np.exp(np.log(b["rr_on"]).mean())),
        "SCCS IRR (geometric mean)": float(np.exp(f.loc[good, "log_irr"].mean())),
    })
by_selection = pd.DataFrame(rows)
by_selection.round(3)

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t2_sel_reps", n_reps_sel)
book.glue_value("t2_sel_none_between", by_selection.iloc[1, 1])
book.glue_value("t2_sel_max_between", by_selection.iloc[-1, 1])
book.glue_value("t2_sel_neg_between", by_selection.iloc[0, 1])
book.glue_value("t2_sel_sccs_min", float(by_selection.iloc[:, 2].min()))
book.glue_value("t2_sel_sccs_max", float(by_selection.iloc[:, 2].max()))

# %% [markdown]
# With no selection the between-group ratio is {glue:text}`t2_sel_none_between:.2f`; with the
# strongest selection it is {glue:text}`t2_sel_max_between:.2f`; and when the *healthier* patients
# are treated (negative selection, a "healthy-user" effect) it exaggerates the benefit
# ({glue:text}`t2_sel_neg_between:.2f`). Over the same range the SCCS estimates stay between
# {glue:text}`t2_sel_sccs_min:.3f` and {glue:text}`t2_sel_sccs_max:.3f`, for a truth of
# {glue:text}`t2_true_irr:.2f`.
#
# ## What this means for reading the paper
#
# The reference group describes *who is not given IVIG*: patients with fewer infections before and
# during daratumumab. That is valuable context (it tells clinicians whom IVIG was used for) but it
# is not a counterfactual for the treated patients, and the paper rightly does not test it against
# the IVIG group. The SCCS removes this confounding because frailty is constant within a patient
# ({ref}`t1-likelihood`); it does not remove confounding that changes over time, nor the bias that
# arises when the infections themselves trigger IVIG, which is the subject of the
# {ref}`next chapter <t5-event-dependent>`.
#
# ## Exercises
#
# ```{admonition} Exercise 1 — no selection
# :class: tip
#
# Rerun the single-population simulation with `scenario.with_(selection=0.0)`. Is the
# between-group ratio now close to the true IRR? Why is it still noisier than the SCCS?
# ```
#
# ```{admonition} Solution
# :class: dropdown
#
# Without selection the two groups have the same frailty distribution, so the ratio of pooled rates
# estimates the IRR (the table above shows its geometric mean over {glue:text}`t2_sel_reps` populations). It is noisier
# because it compares *different* people, so the between-person variance of frailty (variance {glue:text}`t2_frailty_var:g`
# here) adds to the Poisson noise; the SCCS compares each person with themselves and that variance
# cancels.
# ```
#
# ```{admonition} Exercise 2 — adjusting for the measured part of frailty
# :class: tip
#
# Suppose frailty were measured (for example, the number of infections in the year before
# daratumumab). Fit a Poisson GLM of the between-group data with `log(frailty)` as a covariate
# (`statsmodels.api.GLM`, offset `log(days)`), using `T.to_intervals(cohort, cases_only=False)`.
# Does the adjusted ratio recover the truth? What if only a noisy proxy of frailty were available?
# ```
#
# ```{admonition} Solution
# :class: dropdown
#
# With the true frailty as a covariate the GLM is correctly specified and recovers the IRR. With a
# noisy proxy (for example a Poisson count drawn from the frailty) the adjustment is partial and the
# between-group estimate remains biased upwards — residual confounding. The SCCS needs no
# measurement of frailty at all, which is its central advantage here.
# ```
