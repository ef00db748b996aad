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
# (t1-likelihood)=
# # The SCCS likelihood from first principles
#
# The self-controlled case series (SCCS) method {cite:p}`farrington1995,whitaker2006` answers a question of
# the form "is the rate of an event different during exposure?" using only people who had the event,
# each compared with themselves. This chapter derives its likelihood from a Poisson process, checks
# numerically that it is the same as a Poisson regression with one intercept per person, and shows
# why a seemingly equivalent tool, `statsmodels`' `ConditionalPoisson`, gives a different (and
# biased) answer on SCCS data. Everything on this page is computed when the page is built, on data
# simulated with the project's teaching generator (`analysis.teaching`) and fitted with the
# project's engine (`analysis.sccs.SCCS`).

# %% tags=["hide-input"]
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.discrete.conditional_models import ConditionalPoisson

from analysis.report import book, figures
from analysis import teaching as T
from analysis.sccs import SCCS, conditional_loglik, fit_many

figures.apply_style()
SEED = 20260423

# %% [markdown]
# ## A Poisson process with a person effect
#
# Follow individual $i$ over an observation period cut into intervals $j = 1, \dots, J_i$ of
# $d_{ij}$ days on which the exposure $x_{ij}$ (for example 1 = "on IVIG", 0 = "off IVIG") is
# constant. Assume events occur as a Poisson process whose rate is the product of a *person effect*
# $\varphi_i$ (frailty, age at entry, disease severity, anything fixed for that person) and a
# relative incidence for exposure:
#
# $$
# \lambda_i(t) = \varphi_i \, e^{\beta x_i(t)} .
# $$
#
# The counts $n_{ij}$ in the intervals are then independent Poisson variables with means
# $\mu_{ij} = \varphi_i d_{ij} e^{\beta x_{ij}}$. The person effects are nuisance parameters, as many
# as there are people, and usually the quantity most entangled with exposure: in the study of this
# book, frailer patients are the ones given IVIG.
#
# ## Conditioning on the number of events removes the person effect
#
# Condition on each individual's total $n_i = \sum_j n_{ij}$. A vector of independent Poisson
# counts, given their sum, is multinomial with probabilities proportional to the means:
#
# $$
# P(n_{i1}, \dots, n_{iJ_i} \mid n_i) = \frac{n_i!}{\prod_j n_{ij}!} \prod_j p_{ij}^{\,n_{ij}},
# \qquad
# p_{ij} = \frac{\varphi_i d_{ij} e^{\beta x_{ij}}}{\sum_k \varphi_i d_{ik} e^{\beta x_{ik}}}
#        = \frac{d_{ij} e^{\beta x_{ij}}}{\sum_k d_{ik} e^{\beta x_{ik}}} .
# $$
#
# $\varphi_i$ cancels. The conditional log-likelihood, summed over individuals, is
#
# $$
# \ell(\beta) = \sum_{i,j} n_{ij}\,(\beta x_{ij} + \log d_{ij})
#             - \sum_i n_i \log \sum_k d_{ik} e^{\beta x_{ik}} ,
# $$
#
# which is what `analysis.sccs.conditional_loglik` computes and `analysis.sccs.SCCS`
# maximises. Three consequences follow directly from the formula:
#
# * individuals with $n_i = 0$ contribute nothing, so **only cases are needed**;
# * an individual whose exposure never changes (one value of $x$ over all their intervals)
#   contributes a constant, so **only cases with both exposed and unexposed time inform $\beta$**;
# * for one case with one binary exposure, $a$ events in $x$ exposed days and $b$ events in $u$
#   unexposed days, the likelihood is binomial with $p = x\rho / (x\rho + u)$, whose maximum is at
#   $\hat\rho = (a/x) / (b/u)$: the ratio of the case's own two rates.

# %%
# One case: 2 events in 40 exposed days, 3 events in 200 unexposed days.
one = pd.DataFrame({"id": [1, 1], "days": [40, 200], "events": [2, 3], "exposed": [1, 0]})
closed_form = (2 / 40) / (3 / 200)
fit_one = SCCS().fit(one, ["exposed"])

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t1_one_closed", closed_form)
book.glue_value("t1_one_engine", float(np.exp(fit_one.params["exposed"])))
book.glue_value("t1_one_diff", abs(float(np.exp(fit_one.params["exposed"])) - closed_form))

# %% [markdown]
# For that toy case the closed form gives $\hat\rho =$ {glue:text}`t1_one_closed:.6f` and the engine
# {glue:text}`t1_one_engine:.6f` (difference {glue:text}`t1_one_diff:.1e`).
#
# ## A simulated cohort
#
# We simulate one cohort with a known effect: the true incidence rate ratio (IRR) during exposure is
# {glue:text}`t1_true_irr`, baseline rates vary between people with a gamma frailty (variance
# {glue:text}`t1_frailty_var:g`), each individual has one
# exposed block of random length at a random time, and observation lengths differ.

# %%
scenario = T.Scenario(
    n_individuals=400, irr=0.5, rate_per_year=1.5, frailty_shape=1.0,
    obs_days=(180, 720), exposure_days=(30, 240),
)
cohort = T.simulate_cohorts(scenario, n_reps=1, seed=SEED)
iv = T.to_intervals(cohort)  # cases only: individuals with >= 1 event
iv.head(8)

# %%
fit = SCCS().fit(iv, ["exposed"])
n_cases, n_events = fit.n_cases, fit.n_events
fit.summary

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t1_true_irr", scenario.irr)
book.glue_value("t1_frailty_var", 1 / scenario.frailty_shape)  # gamma(shape k, mean 1): var 1/k
book.glue_value("t1_n_individuals", scenario.n_individuals)
book.glue_value("t1_n_cases", n_cases)
book.glue_value("t1_n_events", n_events)
book.glue_value("t1_irr", float(fit.summary.at["exposed", "irr"]))
book.glue_value("t1_ci_low", float(fit.summary.at["exposed", "ci_low"]))
book.glue_value("t1_ci_high", float(fit.summary.at["exposed", "ci_high"]))

# %% [markdown]
# Of {glue:text}`t1_n_individuals` simulated individuals, {glue:text}`t1_n_cases` had at least one
# event ({glue:text}`t1_n_events` events). The SCCS estimate is IRR
# {glue:text}`t1_irr:.3f` (95% CI {glue:text}`t1_ci_low:.3f`–{glue:text}`t1_ci_high:.3f`) for a true
# value of {glue:text}`t1_true_irr:.1f`.
#
# ## The same estimate from a Poisson GLM with one intercept per person
#
# The conditional likelihood is also the *profile* likelihood of the unconditional Poisson model
# with a free intercept $\alpha_i = \log\varphi_i$ per person: maximising over $\alpha_i$ for fixed
# $\beta$ gives $e^{\hat\alpha_i} = n_i / \sum_k d_{ik} e^{\beta x_{ik}}$, and substituting it back
# leaves $\ell(\beta)$ plus a constant. For the Poisson model the two approaches therefore give the
# same $\hat\beta$ *and* the same standard error (the information about $\beta$ is not diluted by
# the intercepts). We check this with `statsmodels`' GLM on the same intervals: one dummy per case,
# offset $\log d_{ij}$.

# %%
X = pd.get_dummies(iv["id"].astype("category"), prefix="id", dtype=float)
X.insert(0, "exposed", iv["exposed"].astype(float))
glm = sm.GLM(iv["events"], X, family=sm.families.Poisson(), offset=np.log(iv["days"])).fit()
comparison = pd.DataFrame(
    {
        "SCCS engine": [fit.params["exposed"], fit.bse["exposed"]],
        "Poisson GLM, one intercept per case": [glm.params["exposed"], glm.bse["exposed"]],
    },
    index=["log IRR", "standard error"],
)
comparison

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t1_glm_coef_diff", float(abs(glm.params["exposed"] - fit.params["exposed"])))
book.glue_value("t1_glm_se_diff", float(abs(glm.bse["exposed"] - fit.bse["exposed"])))
book.glue_value("t1_glm_n_params", int(X.shape[1]))

# %% [markdown]
# The GLM needs {glue:text}`t1_glm_n_params` parameters where the SCCS needs one; the log-IRRs
# differ by {glue:text}`t1_glm_coef_diff:.1e` and the standard errors by
# {glue:text}`t1_glm_se_diff:.1e`. {numref}`fig-t1-profile` shows the whole curve: the conditional
# log-likelihood and the GLM log-likelihood profiled over the intercepts differ only by a constant.

# %% tags=["hide-input"]
grid = np.linspace(-1.6, 0.3, 60)
Xe = iv[["exposed"]].to_numpy(float)
cond = np.array([conditional_loglik([b], Xe, iv["days"], iv["events"], iv["id"]) for b in grid])


def glm_profile(beta: float) -> float:
    """Poisson log-likelihood with each alpha_i at its maximiser for this beta."""
    mu_rel = iv["days"] * np.exp(beta * iv["exposed"])
    alpha = np.log(iv.groupby("id")["events"].transform("sum") / mu_rel.groupby(iv["id"]).transform("sum"))
    mu = np.exp(alpha) * mu_rel
    y = iv["events"]
    from scipy.special import gammaln

    return float((y * np.log(mu) - mu - gammaln(y + 1)).sum())


prof = np.array([glm_profile(b) for b in grid])
shift = float(np.mean(prof - cond))
book.glue_value("t1_profile_shift_sd", float(np.std(prof - cond)))

fig, ax = plt.subplots(figsize=(figures.PAGE_WIDTH * 0.75, 3.4))
ax.plot(np.exp(grid), cond - cond.max(), color=figures.COLORS["on_ivig"], lw=2.5,
        label="SCCS conditional log-likelihood")
ax.plot(np.exp(grid), prof - shift - cond.max(), color=figures.COLORS["pre_ivig"], ls="--", lw=1.8,
        label="Poisson GLM, intercepts profiled out (shifted)")
ax.axvline(float(np.exp(fit.params["exposed"])), color="black", lw=0.8)
ax.axvline(scenario.irr, color=figures.COLORS["reference"], lw=1.5, ls=":", label="true IRR")
from scipy import stats

lr_drop = float(stats.chi2.ppf(0.95, 1) / 2)  # half the chi-square(1) 95% point
book.glue_value("t1_lr_drop", lr_drop)
ax.axhline(-lr_drop, color="grey", lw=0.8, ls=":")
ax.set_xscale("log")
ax.set_xticks([0.2, 0.3, 0.5, 0.7, 1.0], ["0.2", "0.3", "0.5", "0.7", "1"])
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.set_xlabel("incidence rate ratio during exposure (log scale)")
ax.set_ylabel("log-likelihood minus its maximum")
ax.set_ylim(-12, 0.5)
ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8)
book.glue_figure("fig_t1_profile", fig)

# %% [markdown]
# ```{glue:figure} fig_t1_profile
# :name: fig-t1-profile
#
# The SCCS conditional log-likelihood (solid) and the fixed-effects Poisson log-likelihood with the
# per-person intercepts maximised out (dashed, shifted by a constant) as functions of the IRR. The
# curves coincide; the black line is the estimate, the dotted green line the true IRR, and the
# dotted horizontal line the drop of {glue:text}`t1_lr_drop:.2f` that bounds the 95% likelihood-ratio interval.
# ```
#
# The difference between the two curves has a standard deviation of
# {glue:text}`t1_profile_shift_sd:.1e` over the grid: it is a constant.
#
# ## Why `statsmodels`' `ConditionalPoisson` is not an SCCS
#
# `statsmodels` ({glue:text}`t1_statsmodels_version`) has a `ConditionalPoisson` model for grouped count data. It maximises the
# same kind of conditional likelihood, but its constructor **drops every group whose counts do not
# vary** (`np.std(y) == 0`), on the reasoning that such a group carries no information. That is true
# when all intervals have the same length and the same offset, but not in an SCCS: a case with one
# event in a {glue:text}`t1_toy_exposed_days`-day exposed interval and one in a {glue:text}`t1_toy_unexposed_days`-day unexposed interval has equal
# counts,
# yet it is strong evidence that the exposed *rate* is higher. Dropping such cases selects on the
# outcome.

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    cp = ConditionalPoisson(
        iv["events"].to_numpy(), iv[["exposed"]].to_numpy(float),
        groups=iv["id"].to_numpy(), offset=np.log(iv["days"].to_numpy()),
    ).fit(disp=False)
import statsmodels

# The toy case of the text (and of Exercise 1): one event exposed, one unexposed.
toy = pd.DataFrame({"id": [1, 1], "days": [30, 300], "events": [1, 1], "exposed": [1, 0]})
toy_x, toy_u = (int(toy.loc[toy["exposed"] == e, "days"].iloc[0]) for e in (1, 0))
cp_message = next(str(w.message) for w in caught if "Dropped" in str(w.message))

# which cases does it drop, and are they informative for beta?
per_case = iv.groupby("id").agg(
    sd=("events", "std"), n_rows=("events", "size"), levels=("exposed", "nunique")
)
dropped = per_case[per_case["sd"].fillna(0) == 0]
informative_dropped = dropped[dropped["levels"] > 1]
kept_ids = per_case.index[per_case["sd"].fillna(0) > 0]
fit_kept = SCCS().fit(iv[iv["id"].isin(kept_ids)], ["exposed"])

print(cp_message)
pd.DataFrame(
    {"IRR": [np.exp(fit.params["exposed"]), np.exp(glm.params["exposed"]), np.exp(cp.params[0]),
             np.exp(fit_kept.params["exposed"])],
     "cases used": [fit.n_cases, fit.n_cases, fit.n_cases - len(dropped), fit_kept.n_cases]},
    index=["SCCS engine", "Poisson GLM with intercepts", "statsmodels ConditionalPoisson",
           "SCCS engine on the cases ConditionalPoisson keeps"],
)

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t1_statsmodels_version", statsmodels.__version__)
book.glue_values({"exposed_days": toy_x, "unexposed_days": toy_u, "ratio": toy_u / toy_x,
                  "irr": float(np.exp(SCCS().fit(toy, ["exposed"]).params["exposed"]))},
                 prefix="t1_toy_")
book.glue_value("t1_cp_irr", float(np.exp(cp.params[0])))
book.glue_value("t1_cp_n_dropped", len(dropped))
book.glue_value("t1_cp_n_informative_dropped", len(informative_dropped))
book.glue_value("t1_cp_vs_kept_diff", float(abs(cp.params[0] - fit_kept.params["exposed"])))


# %% [markdown]
# `ConditionalPoisson` drops {glue:text}`t1_cp_n_dropped` cases, of which
# {glue:text}`t1_cp_n_informative_dropped` have both exposed and unexposed time and therefore carry
# information about the IRR, and returns IRR {glue:text}`t1_cp_irr:.3f` instead
# of {glue:text}`t1_irr:.3f`. Refitting our engine on only the cases it keeps reproduces its answer
# to {glue:text}`t1_cp_vs_kept_diff:.1e`: the difference is entirely the dropped cases.
#
# A single cohort could be unlucky, so we repeat the comparison on {glue:text}`t1_mc_reps:,` simulated cohorts, fitting
# "all cases" and "only cases whose counts vary" in each with the batched fitter
# (`analysis.sccs.fit_many`: the engine, with its kernels and rules, fitted to many cohorts at once).

# %%
def both_estimators(rng: np.random.Generator, n: int) -> pd.DataFrame:
    data = T.to_intervals(T.simulate_cohorts(scenario.with_(n_individuals=150), n, rng))
    sd = data.groupby(["rep", "id"])["events"].transform("std").fillna(0)
    varying = data[sd > 0].assign(rep=lambda d: d["rep"] + n)  # same cohorts, as reps n..2n-1
    return pd.concat([data, varying], ignore_index=True)


N_MC = 1000  # simulated cohorts
rng = np.random.default_rng(SEED)
stacked = both_estimators(rng, N_MC)
bf = fit_many(stacked, ["exposed"])
coef = bf.coef[:, 0]
all_cases, varying_only = coef[:N_MC], coef[N_MC:]
ok = np.isfinite(all_cases) & np.isfinite(varying_only)
truth = np.log(scenario.irr)

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t1_mc_reps", N_MC)
book.glue_value("t1_mc_bias_all", float(np.mean(all_cases[ok]) - truth))
book.glue_value("t1_mc_bias_cp", float(np.mean(varying_only[ok]) - truth))
book.glue_value("t1_mc_mcse", float(np.std(varying_only[ok] - all_cases[ok], ddof=1) / np.sqrt(ok.sum())))
book.glue_value("t1_mc_irr_all", float(np.exp(np.mean(all_cases[ok]))))
book.glue_value("t1_mc_irr_cp", float(np.exp(np.mean(varying_only[ok]))))
book.glue_value("t1_mc_n", int(ok.sum()))
book.glue_value("t1_mc_mcse_all", float(np.std(all_cases[ok], ddof=1) / np.sqrt(ok.sum())))
book.glue_value("t1_mc_mean_cases", float(bf.n_cases[:N_MC].mean()))

# %% [markdown]
# Over {glue:text}`t1_mc_n` cohorts of about {glue:text}`t1_mc_mean_cases:.0f` cases each, the SCCS
# log-IRR is off the truth by {glue:text}`t1_mc_bias_all:+.3f` on average (Monte Carlo standard
# error {glue:text}`t1_mc_mcse_all:.3f`; geometric-mean IRR {glue:text}`t1_mc_irr_all:.3f` for a
# true {glue:text}`t1_true_irr` — the small finite-sample bias of any log rate ratio, studied in {ref}`t5-operating`), while the "varying counts only" estimator is off by
# {glue:text}`t1_mc_bias_cp:+.3f` (IRR {glue:text}`t1_mc_irr_cp:.3f`); the Monte Carlo standard
# error of the difference between the two is {glue:text}`t1_mc_mcse:.3f`. The project therefore
# never uses `ConditionalPoisson` as a reference: its test suite documents this pitfall so that
# nobody "fixes" the engine to agree with it.
#
# ## What self-control removes, and what it does not
#
# The derivation makes the reach of the design exact:
#
# * **Removed:** anything that multiplies an individual's rate by a constant over their observation
#   period: frailty, sex, genetics, disease stage at entry, the reasons a clinician had for
#   choosing that patient for treatment. These enter only through $\varphi_i$, which cancels. The
#   {ref}`reference-group chapter <t4-reference-group>` shows the consequence: a between-patient comparison is
#   confounded by frailty, the SCCS is not.
# * **Not removed:** anything that changes *within* a person's observation period together with
#   exposure. Seasons, disease progression, or a change of anti-myeloma therapy alter the rate at
#   some times and not others; if they coincide with exposure they bias $\hat\beta$ unless modelled
#   as time-varying covariates ({ref}`t7-diagnostics`).
# * **Assumed, not removed:** the model treats the exposure history as fixed, not influenced by the
#   events. When infections prompt IVIG, the timing of exposure depends on the events and the
#   conditional likelihood is no longer the right one ({ref}`t5-event-dependent`). The same holds for
#   an observation period that ends *because of* an event (death after a severe infection).
#
# ## Exercises
#
# ```{admonition} Exercise 1 — one case, closed form
# :class: tip
#
# A case has one event in {glue:text}`t1_toy_exposed_days` exposed days and one event in {glue:text}`t1_toy_unexposed_days` unexposed days. Write the conditional
# likelihood, find $\hat\rho$ by hand, and check it with `SCCS().fit`. What does
# `ConditionalPoisson` do with this case?
# ```
#
# ```{admonition} Solution
# :class: dropdown
#
# The likelihood is binomial: $L(\rho) = p(1-p)$ with $p = x\rho/(x\rho + u)$, where $x$ =
# {glue:text}`t1_toy_exposed_days` and $u$ = {glue:text}`t1_toy_unexposed_days`, maximised at $p = 1/2$, i.e. $\hat\rho = u/x$ = {glue:text}`t1_toy_ratio:g`: the
# exposed rate (one per {glue:text}`t1_toy_exposed_days` days) is {glue:text}`t1_toy_ratio:g` times the unexposed rate (one per {glue:text}`t1_toy_unexposed_days`
# days). `SCCS().fit(toy, ["exposed"])` on this case (the `toy` frame of the `ConditionalPoisson`
# section) gives IRR {glue:text}`t1_toy_irr:.6g`. `ConditionalPoisson` drops this case because its
# counts (one event in each interval) do not vary, although it says the rate is {glue:text}`t1_toy_ratio:g` times
# higher during exposure.
# ```
#
# ```{admonition} Exercise 2 — who informs the estimate?
# :class: tip
#
# Using the cohort `iv` above, remove every case with only one interval and refit. Does the
# estimate change? Then remove every case whose events all fall in unexposed time. Does it change
# now, and in which direction?
# ```
#
# ```{admonition} Solution
# :class: dropdown
#
# Cases with one interval contribute $n_i \log 1 = 0$ to $\ell(\beta)$: removing them changes
# nothing (to rounding). Cases with all events unexposed do carry information — they are the
# evidence that exposure is protective — so removing them moves the estimate upwards:
# this is selection on the outcome, the same mistake as dropping constant-count cases.
#
#     single = iv.groupby("id")["id"].transform("size") == 1
#     SCCS().fit(iv[~single], ["exposed"]).params
#     exposed_events = (iv["events"] * iv["exposed"]).groupby(iv["id"]).transform("sum")
#     SCCS().fit(iv[exposed_events > 0], ["exposed"]).params
# ```
#
# ```{admonition} Exercise 3 — the person effect really cancels
# :class: tip
#
# Multiply the days of every interval of one case by 7 (as if that person's rate were seven times
# higher, with the same events). Show that the conditional log-likelihood at any $\beta$ changes by
# a constant only, and that $\hat\beta$ does not change.
# ```
#
# ```{admonition} Solution
# :class: dropdown
#
# Scaling all $d_{ik}$ of case $i$ by $c$ adds $n_i\log c$ to the first sum and $n_i \log c$ to
# the second: they cancel, and even the constant is zero.
# `conditional_loglik([b], Xe, days2, iv["events"], iv["id"])` with `days2` scaled for one id equals
# the original at every `b`.
# ```
