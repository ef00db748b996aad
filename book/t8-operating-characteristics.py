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
# (t5-operating)=
# # Operating characteristics: bias, coverage and power at this study's size
#
# How well does the SCCS estimate behave with as few cases as the paper's
# {glue:text}`t5_n_cases`? This chapter
# answers by Monte Carlo: thousands of simulated studies, each analysed exactly as the real one,
# with a true effect that we know. We measure the bias of the log incidence rate ratio (IRR), the
# coverage of its 95% confidence interval, the power to detect the effect, how power grows with
# the number of cases, and the smallest effect the study could reliably have detected (the minimum
# detectable relative incidence). The simulations are not pre-computed: they run every time this
# page is built (pass `progress=True` to `T.monte_carlo` to watch them in a notebook).

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.report import book, figures
from analysis import study
from analysis import teaching as T
from analysis.sccs import SCCS

figures.apply_style()
SEED = 20260426

# %% [markdown]
# ## A simulated study the size of the paper's
#
# The design is taken from the paper's published figures: the number of IVIG patients with at
# least one infection (the SCCS cases), the median time on daratumumab (observation runs to
# {glue:text}`t5_obs_tail_days` days after the last dose), and the true effect set to the paper's all-grade IRR. Baseline rates vary
# between patients (gamma frailty, variance {glue:text}`t5_frailty_var:g`); each patient has one course of IVIG of random
# length at a random time.

# %%
n_cases = int(book.paper("res1_patients_with_infection_n"))
months = float(book.paper("res1_months_on_dara_median"))
truth = float(book.paper("sccs_allgrade_irr"))
median_days = int(round(months * study.DAYS_PER_MONTH)) + study.OBS_TAIL_DAYS
scenario = T.Scenario(
    n_individuals=int(n_cases * 1.6) + 10, irr=truth, rate_per_year=2.2, frailty_shape=2.0,
    obs_days=(int(median_days * 0.3), int(median_days * 1.7)),
    exposure_days=(60, int(median_days * 0.9)),
)
make = T.scenario_intervals(scenario, n_cases=n_cases)

# what one simulated study looks like, beside the paper
one = make(np.random.default_rng(SEED), 1)
share = (one["days"] * one["exposed"]).groupby(one["id"]).sum() / one.groupby("id")["days"].sum()
N_REPS = 1000          # simulated studies per setting
ALPHA, POWER = 0.05, 0.80  # test level; power asked of the minimum detectable effect

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_values({"n_reps": N_REPS, "alpha": ALPHA, "alpha_pct": 100 * ALPHA,
                  "power_pct": 100 * POWER, "obs_tail_days": study.OBS_TAIL_DAYS,
                  "frailty_var": 1 / scenario.frailty_shape,
                  "paper_n_ivig": book.paper("t1_n_ivig")}, prefix="t5_")
book.glue_value("t5_n_cases", n_cases)
book.glue_value("t5_truth", truth)
book.glue_value("t5_median_days", median_days)
book.glue_value("t5_one_events", int(one["events"].sum()))
book.glue_value("t5_paper_events", book.paper("res1_infections_total"))
book.glue_value("t5_one_share", float(share.mean()))
book.glue_value("t5_paper_share_fw", book.paper("res1_on_ivig_share_fall_winter_pct"))
book.glue_value("t5_paper_share_ss", book.paper("res1_on_ivig_share_spring_summer_pct"))

# %% [markdown]
# A simulated study has {glue:text}`t5_n_cases` cases with {glue:text}`t5_one_events` infections
# (the paper: {glue:text}`t5_paper_events`), and its cases spend on average a share
# {glue:text}`t5_one_share:.2f` of their observation on IVIG (the paper reports
# {glue:text}`t5_paper_share_fw`% of fall/winter and {glue:text}`t5_paper_share_ss`% of
# spring/summer person-time on IVIG).
#
# ## Many studies at the paper's effect

# %%
results = T.monte_carlo(make, ["exposed"], n_reps=N_REPS, seed=SEED, batch_size=250,
                        desc=f"SCCS, {n_cases} cases", progress=False)
oc = T.summarise(results, "exposed", truth, alpha=ALPHA)

# the fast batched fits are the engine's likelihood: refit a few studies with SCCS().fit
check = []
for b in range(2):
    data = make(np.random.default_rng([SEED, b]), 250)
    for r in range(3):
        eng = SCCS().fit(data[data["rep"] == r], ["exposed"])
        row = results.loc[results["rep"] == b * 250 + r].iloc[0]
        check += [abs(eng.params["exposed"] - row["exposed:log_irr"]),
                  abs(eng.bse["exposed"] - row["exposed:se"])]
pd.Series(oc).to_frame("value").round(4)

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t5_engine_check", float(max(check)))
book.glue_values({k: v for k, v in oc.items()}, prefix="t5_oc_")

# %% [markdown]
# Over {glue:text}`t5_oc_n_reps` simulated studies ({glue:text}`t5_oc_n_valid` with a finite
# estimate), the mean log-IRR is off the truth by {glue:text}`t5_oc_bias:+.3f` (Monte Carlo standard
# error {glue:text}`t5_oc_bias_mcse:.3f`), and the median IRR is {glue:text}`t5_oc_median_irr:.3f`
# for a true {glue:text}`t5_truth:.2f`. The model standard error averages
# {glue:text}`t5_oc_mean_se:.3f`, close to the actual spread of the estimates
# ({glue:text}`t5_oc_emp_se:.3f`), and the 95% confidence intervals contain the truth in a share
# {glue:text}`t5_oc_coverage:.3f` of the studies (Monte Carlo standard error
# {glue:text}`t5_oc_coverage_mcse:.3f`). The power to detect the paper's effect at the {glue:text}`t5_alpha_pct:.0f`% level is
# {glue:text}`t5_oc_power:.3f`. The batched fits match the engine (`SCCS().fit`) on re-fitted
# studies to {glue:text}`t5_engine_check:.1e`.
#
# ## Power by number of cases

# %%
sizes = sorted({10, 20, n_cases, 80, 160})
small, big = min(sizes), max(sizes)
rows = []
for k, n in enumerate(sizes):
    sc = scenario.with_(n_individuals=int(n * 1.6) + 10)
    res = T.monte_carlo(T.scenario_intervals(sc, n_cases=n), ["exposed"], n_reps=N_REPS,
                        seed=SEED + 100 + k, desc=f"{n} cases", progress=False)
    s = T.summarise(res, "exposed", truth, alpha=ALPHA)
    rows.append({"cases": n, "power": s["power"], "coverage": s["coverage"], "bias": s["bias"],
                 "no finite estimate": 1 - s["n_valid"] / s["n_reps"]})
by_size = pd.DataFrame(rows).set_index("cases")

# large-sample (Wald) power from the information carried by a typical case
ref = T.to_intervals(T.simulate_cohorts(scenario.with_(n_individuals=4000), 1, seed=SEED + 7))
per_case = ref.groupby("id").agg(days=("days", "sum"), events=("events", "sum"))
per_case["share"] = (ref["days"] * ref["exposed"]).groupby(ref["id"]).sum() / per_case["days"]
by_size["analytic power"] = T.wald_power(truth, per_case["share"], per_case["events"],
                                         n_cases=np.array(sizes), alpha=ALPHA)
by_size.round(3)

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_values({"size_small": small, "size_big": big}, prefix="t5_")
book.glue_value("t5_power_small", float(by_size.loc[small, "power"]))
book.glue_value("t5_power_paper", float(by_size.loc[n_cases, "power"]))
book.glue_value("t5_power_big", float(by_size.loc[big, "power"]))
book.glue_value("t5_cov_small", float(by_size.loc[small, "coverage"]))
book.glue_value("t5_bias_small", float(by_size.loc[small, "bias"]))
book.glue_value("t5_nofinite_small", float(by_size.loc[small, "no finite estimate"]))
book.glue_value("t5_analytic_paper", float(by_size.loc[n_cases, "analytic power"]))

# %% [markdown]
# With {glue:text}`t5_n_cases` cases the simulated power is {glue:text}`t5_power_paper:.2f` (the
# large-sample formula gives {glue:text}`t5_analytic_paper:.2f`); with {glue:text}`t5_size_small`
# cases it falls to {glue:text}`t5_power_small:.2f`, and with {glue:text}`t5_size_big` cases it is
# {glue:text}`t5_power_big:.2f`. Small studies also behave worse in other ways: with
# {glue:text}`t5_size_small` cases the bias of the log-IRR is {glue:text}`t5_bias_small:+.3f`,
# coverage {glue:text}`t5_cov_small:.3f`, and a share {glue:text}`t5_nofinite_small:.3f` of studies have no finite estimate at all (no infection during
# IVIG in any case), which the engine reports as an infinite estimate with a warning rather than a
# number.
#
# ## The minimum detectable relative incidence
#
# Which true IRR would a study of this size detect with {glue:text}`t5_power_pct:.0f`% power? We
# simulate {glue:text}`t5_n_reps:,` studies at each of several true values, protective and harmful,
# and include IRR = 1 to check that the test keeps its {glue:text}`t5_alpha_pct:.0f`% level.

# %%
MODEST = 0.8  # a modest protective effect, reported below
grid = [0.35, 0.45, 0.55, 0.65, MODEST, 1.0, 1.25, 1.6, 2.0, 2.5]
rows = []
for k, g in enumerate(grid):
    res = T.monte_carlo(T.scenario_intervals(scenario.with_(irr=g), n_cases=n_cases),
                        ["exposed"], n_reps=N_REPS, seed=SEED + 200 + k, desc=f"IRR {g}",
                        progress=False)
    s = T.summarise(res, "exposed", g, alpha=ALPHA)
    rows.append({"true IRR": g, "power": s["power"], "power MC s.e.": s["power_mcse"],
                 "coverage": s["coverage"]})
curve = pd.DataFrame(rows)
curve["analytic power"] = T.wald_power(np.array(grid), per_case["share"], per_case["events"],
                                       n_cases=n_cases, alpha=ALPHA)


def crossing(x: np.ndarray, y: np.ndarray, level: float = POWER) -> float:
    """Linear interpolation (on log IRR) of where power first reaches ``level``."""
    i = int(np.flatnonzero(y >= level)[-1]) if x[0] < 1 else int(np.flatnonzero(y >= level)[0])
    j = i + 1 if x[0] < 1 else i - 1
    lx = np.log([x[i], x[j]])
    return float(np.exp(lx[0] + (level - y[i]) * (lx[1] - lx[0]) / (y[j] - y[i])))


low = curve[curve["true IRR"] < 1]
high = curve[curve["true IRR"] > 1].iloc[::-1]
curve.round(3)

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t5_mdri_low", crossing(low["true IRR"].to_numpy(), low["power"].to_numpy()))
book.glue_value("t5_mdri_high", crossing(high["true IRR"].to_numpy(), high["power"].to_numpy()))
book.glue_value("t5_mdri_low_analytic",
                crossing(low["true IRR"].to_numpy(), low["analytic power"].to_numpy()))
book.glue_value("t5_size", float(curve.loc[curve["true IRR"] == 1.0, "power"].iloc[0]))
book.glue_value("t5_size_mcse", float(curve.loc[curve["true IRR"] == 1.0, "power MC s.e."].iloc[0]))
book.glue_value("t5_power_modest", float(curve.loc[curve["true IRR"] == MODEST, "power"].iloc[0]))
book.glue_values({"modest_irr": MODEST, "modest_reduction_pct": 100 * (1 - MODEST)}, prefix="t5_")
book.glue_value("t5_cov_min", float(curve["coverage"].min()))
book.glue_value("t5_cov_max", float(curve["coverage"].max()))

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(figures.PAGE_WIDTH, 3.3))
ax = axes[0]
ax.plot(curve["true IRR"], curve["power"], "o", color=figures.COLORS["on_ivig"],
        label=f"simulated ({N_REPS:,} studies per point)")
fine = np.exp(np.linspace(np.log(0.3), np.log(2.7), 200))
ax.plot(fine, T.wald_power(fine, per_case["share"], per_case["events"], n_cases=n_cases, alpha=ALPHA), "-",
        color=figures.COLORS["pre_ivig"], label="large-sample formula")
ax.axhline(POWER, color="grey", lw=0.8, ls=":")
ax.axhline(ALPHA, color="grey", lw=0.8, ls=":")
ax.set_xscale("log")
ax.set_xticks([0.35, 0.5, 1, 2], ["0.35", "0.5", "1", "2"])
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.set_xlabel("true IRR (log scale)")
ax.set_ylabel(f"power (share of studies with p < {ALPHA:g})")
ax.set_title(f"{n_cases} cases")
ax = axes[1]
ax.plot(by_size.index, by_size["power"], "o-", color=figures.COLORS["on_ivig"])
ax.plot(by_size.index, by_size["analytic power"], "-", color=figures.COLORS["pre_ivig"])
ax.axhline(POWER, color="grey", lw=0.8, ls=":")
ax.set_xscale("log")
ax.set_xticks(sizes, [str(s) for s in sizes])
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.set_xlabel("number of cases (log scale)")
ax.set_ylabel("power at the paper's IRR")
ax.set_title(f"true IRR {truth}")
fig.tight_layout()
fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", bbox_to_anchor=(0.5, 1.0),
           ncol=2, fontsize=8)
book.glue_figure("fig_t5_power", fig)

# %% [markdown]
# ```{glue:figure} fig_t5_power
# :name: fig-t5-power
#
# Left: power of the SCCS Wald test by true IRR for a study of the paper's size (dots:
# {glue:text}`t5_n_reps:,` simulated studies each; line: large-sample formula). Right: power at the
# paper's IRR by number of cases. Dotted lines: {glue:text}`t5_power_pct:.0f`% power and the
# {glue:text}`t5_alpha_pct:.0f`% level.
# ```
#
# At the paper's size, the test rejects a true IRR of 1 in a share {glue:text}`t5_size:.3f` of
# studies (Monte Carlo s.e. {glue:text}`t5_size_mcse:.3f`), close to the nominal {glue:text}`t5_alpha:g`, and the
# coverage of the 95% interval stays between {glue:text}`t5_cov_min:.3f` and
# {glue:text}`t5_cov_max:.3f` across the grid. The minimum detectable relative incidence with
# {glue:text}`t5_power_pct:.0f`% power is about {glue:text}`t5_mdri_low:.2f` for a protective effect (the large-sample formula:
# {glue:text}`t5_mdri_low_analytic:.2f`) and about {glue:text}`t5_mdri_high:.2f` for a harmful one
# ({numref}`fig-t5-power`). The study was therefore able to detect an effect of the size it
# reports, but not much smaller ones: a true {glue:text}`t5_modest_reduction_pct:.0f`% reduction in infections (IRR
# {glue:text}`t5_modest_irr:g`) would have been detected in only a share
# {glue:text}`t5_power_modest:.2f` of studies. These figures assume the SCCS assumptions hold; the bias of event-dependent exposure
# ({ref}`t5-event-dependent`) comes on top of them.
#
# ## Exercises
#
# ```{admonition} Exercise 1 — grade 3–4 infections
# :class: tip
#
# Grade 3–4 infections are rarer. Lower `rate_per_year` to a fifth of its value and recompute the
# power at the paper's grade 3–4 IRR (`book.paper("sccs_g34_irr")`) with the paper's {glue:text}`t5_paper_n_ivig` IVIG patients. Remember
# that with a rarer event fewer patients are cases: use `scenario_intervals` without `n_cases`.
# ```
#
# ```{admonition} Solution
# :class: dropdown
#
#     sc = scenario.with_(rate_per_year=scenario.rate_per_year / 5, n_individuals=int(book.paper("t1_n_ivig")),
#                         irr=book.paper("sccs_g34_irr"))
#     res = T.monte_carlo(T.scenario_intervals(sc), ["exposed"], N_REPS, seed=1)
#     T.summarise(res, "exposed", sc.irr)
#
# The number of cases and events falls sharply, the share of studies without a finite estimate
# rises, and the power is lower than for all-grade infections despite the larger effect; coverage
# also deteriorates. This is why the paper's grade 3–4 estimate has a wide confidence interval.
# ```
#
# ```{admonition} Exercise 2 — more exposure or more cases?
# :class: tip
#
# Using `T.wald_power`, compare two ways of gaining power: doubling the number of cases, or
# doubling the share of exposed time (while keeping it below 1). Which helps more here, and why?
# ```
#
# ```{admonition} Solution
# :class: dropdown
#
# The information per event is $\pi(1-\pi)$, largest when an event is equally likely to fall in
# exposed and unexposed time. If cases spend well under half of their time exposed, raising that
# share increases the information per event; doubling the number of cases doubles the information
# exactly. Compare `T.wald_power(truth, per_case["share"], per_case["events"], n_cases=2 * n_cases)` with
# `T.wald_power(truth, np.minimum(2 * per_case["share"], 0.95), per_case["events"], n_cases=n_cases)`.
# ```
