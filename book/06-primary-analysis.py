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
# # Primary analysis: infections on and off IVIG

# %% tags=["remove-input"]
from analysis.report import book, figures, tables

cohort = book.load()
book.cohort_banner(cohort)

# %% [markdown]
# The paper's primary endpoints are the rates of all-grade and of grade 3-4 infections on IVIG
# compared with observation, within the IVIG patients, estimated by a self-controlled case series
# {cite:p}`whitaker2006`. This chapter fits those models, and the same model for bacterial and for
# viral infections, and draws the paper's Figure 1 with every grade, type and site.
#
# ## The model
#
# Each IVIG patient $i$ with at least one infection is a *case*. Over their observation period the
# infection rate is assumed to be
#
# $$\lambda_i(t) = \exp\left(\phi_i + \beta\, x_i(t)\right),$$
#
# where $x_i(t)$ is 1 on IVIG days and 0 otherwise, and $\phi_i$ is the patient's own baseline,
# which absorbs everything about the patient that does not change over time. Conditioning on each
# case's number of infections removes $\phi_i$: what is left compares, within patients, how the
# infections fall between days on and off IVIG, weighted by the number of such days
# {cite:p}`farrington1995`. The incidence rate ratio, IRR $= e^{\beta}$, is the rate on IVIG
# divided by the rate in observation. Patients without an infection carry no information about
# $\beta$ and drop out.

# %%
from analysis.sccs import SCCS
from analysis.study import PAPER_MODELS, sccs_menu, study_intervals

# Methods: one SCCS model per outcome, IVIG-group cases, on IVIG vs observation
for key, outcome in [("allgrade", "all"), ("g34", "grade3"), ("bacterial", "bacterial"),
                     ("viral", "viral")]:
    intervals = study_intervals(cohort, outcome=outcome, cases_only=True)
    fit = SCCS().fit(intervals, ["on_ivig"]) if intervals["events"].sum() else None
    book.glue_fit(f"sccs_{key}_", fit, "on_ivig")

# %% tags=["hide-input"]
from analysis.study.descriptive import infection_rates

PRIMARY = ("primary_all", "primary_grade3", "bacterial", "viral")
menu = sccs_menu(cohort, [m for m in PAPER_MODELS if m.model in PRIMARY])
book.glue_paper("sccs_allgrade_irr", "sccs_g34_irr", "sccs_bacterial_reduction_pct",
                "sccs_viral_reduction_pct", "res1_rate_on_ivig", "res1_rate_observation",
                "res2_rate_allgrade", "res2_rate_g34", "fig1_n")
book.glue_paper("sccs_allgrade_irr", "sccs_g34_irr", field="ci_low")
book.glue_paper("sccs_allgrade_irr", "sccs_g34_irr", field="ci_high")
book.glue_paper("sccs_allgrade_irr", "sccs_g34_irr", field="p")
book.publish_table(tables.sccs_comparison(menu), "sccs_primary",
                   caption="SCCS: on IVIG vs observation, IVIG group (cases only)")

# %% [markdown]
# Among the IVIG patients, {glue:text}`sccs_allgrade_n_cases` had at least one infection, with
# {glue:text}`sccs_allgrade_n_events` infections in all. On IVIG, the all-grade infection rate was
# {glue:text}`sccs_allgrade_change_pct:.0f`% {glue:text}`sccs_allgrade_direction` than in
# observation: IRR
# {glue:text}`sccs_allgrade_irr:.2f` (95% CI {glue:text}`sccs_allgrade_ci_low:.2f` to
# {glue:text}`sccs_allgrade_ci_high:.2f`, p {glue:text}`sccs_allgrade_p`), against the paper's
# {glue:text}`paper_sccs_allgrade_irr:.2f` ({glue:text}`paper_sccs_allgrade_irr_ci_low:.2f` to
# {glue:text}`paper_sccs_allgrade_irr_ci_high:.2f`, p {glue:text}`paper_sccs_allgrade_irr_p`).
# For grade 3-4 infections ({glue:text}`sccs_g34_n_events` infections in
# {glue:text}`sccs_g34_n_cases` cases) the IRR was {glue:text}`sccs_g34_irr:.2f`
# ({glue:text}`sccs_g34_ci_low:.2f` to {glue:text}`sccs_g34_ci_high:.2f`, p
# {glue:text}`sccs_g34_p`); the paper reports {glue:text}`paper_sccs_g34_irr:.2f`
# ({glue:text}`paper_sccs_g34_irr_ci_low:.2f` to {glue:text}`paper_sccs_g34_irr_ci_high:.2f`, p
# {glue:text}`paper_sccs_g34_irr_p`).
#
# (headline-truth)=
# ### The truth behind each headline
#
# On a synthetic cohort, the paper's two headline rate ratios were given to the generator as the
# true effects of IVIG, so the estimates above are not copies of the paper's numbers but what the
# analysis recovers from data drawn with those truths. The reproduction audit labels these rows
# *truth set* ({doc}`12-reproduction-audit`). The table and the text below put, beside each
# headline, the truth, our estimate and the bias the truth-recovery study
# ({doc}`13-truth-recovery`) measures for the same model over many cohorts drawn from the same
# truth. On a cohort of real patients there is no known truth and the section says so.

# %% tags=["remove-input"]
from analysis.paper.values import sccs_ids
from analysis.synthetic import recovery
from analysis.synthetic.simulate import read_truth

has_truth = cohort.synthetic and (cohort.path / "truth.json").is_file()
if has_truth:
    truth = recovery.truth_of(read_truth(cohort.path)["parameters"])
    study = recovery.recovery_study(recovery.STUDY_COHORTS, truth, workers=2)
    ours = sccs_ids(menu).set_index("target_id")["irr"]
    headline = recovery.headline_truth(recovery.summarise(study),
                                       {"all": ours["sccs_allgrade_irr"],
                                        "grade34": ours["sccs_g34_irr"]})
    for _, r in headline.iterrows():
        book.glue_values(r.drop(["estimand", "label"]).to_dict(),
                         prefix=f"sccs_truth_{r['estimand']}_")
    shown = book.publish_table(
        headline[["label", "truth", "estimate", "expected", "rel_bias_pct", "rel_bias_mcse_pct",
                  "coverage_pct", "n"]].rename(columns={
            "label": "Headline", "truth": "Truth given to the generator", "estimate": "Ours",
            "expected": "Expected (geometric mean over cohorts)",
            "rel_bias_pct": "Expected bias, %", "rel_bias_mcse_pct": "Monte Carlo SE, %",
            "coverage_pct": "95% CI coverage, %", "n": "Cohorts"}),
        "sccs_headline_truth", caption="Each headline beside its truth and the expected bias",
        formats={"Expected bias, %": "{:+.1f}", "Monte Carlo SE, %": "{:.1f}",
                 "95% CI coverage, %": "{:.0f}"})
    if book.in_notebook():
        from IPython.display import display

        display(shown)
    paper_irr = {"all": book.paper("sccs_allgrade_irr"), "grade34": book.paper("sccs_g34_irr")}
    text = recovery.headline_text(headline, paper_irr)
else:
    text = ("This cohort was not drawn by the project's generator, so there is no known truth to "
            "put beside the estimates; the paper's values are the only benchmark.")
book.markdown(text)

# %% [markdown]
# On IVIG, bacterial infections were {glue:text}`sccs_bacterial_change_pct:.0f`%
# {glue:text}`sccs_bacterial_direction` (IRR {glue:text}`sccs_bacterial_irr:.2f`, p
# {glue:text}`sccs_bacterial_p`) and viral infections {glue:text}`sccs_viral_change_pct:.0f`%
# {glue:text}`sccs_viral_direction` (IRR {glue:text}`sccs_viral_irr:.2f`, p
# {glue:text}`sccs_viral_p`) than in observation. The paper reports reductions of
# {glue:text}`paper_sccs_bacterial_reduction_pct`% and {glue:text}`paper_sccs_viral_reduction_pct`%,
# neither statistically significant, without confidence intervals. Microbiologically confirmed infections are fewer than all
# infections, so these estimates are less precise (their intervals are in the table).
#
# ## Rates per patient-year

# %% tags=["hide-input"]
rates = infection_rates(cohort, "all").set_index(["period", "season"])
overall = rates.xs("all", level="season")
book.glue_values(
    {
        "rate_on_pooled": overall.loc["on_ivig", "rate_pooled"],
        "rate_off_pooled": overall.loc["observation", "rate_pooled"],
        "rate_on_mean": overall.loc["on_ivig", "rate_mean"],
        "rate_off_mean": overall.loc["observation", "rate_mean"],
        "rate_reference": overall.loc["reference", "rate_pooled"],
        "py_on": overall.loc["on_ivig", "person_years"],
        "py_off": overall.loc["observation", "person_years"],
        "crude_ratio": overall.loc["on_ivig", "rate_pooled"]
        / overall.loc["observation", "rate_pooled"],
    },
    prefix="sccs_",
)
R = tables.Row
rate_table = tables.compare(
    [
        R("On IVIG (IVIG group), pooled", overall.loc["on_ivig", "rate_pooled"],
          ["res1_rate_on_ivig"]),
        R("Observation (IVIG group), pooled", overall.loc["observation", "rate_pooled"],
          ["res1_rate_observation"]),
        R("On IVIG, mean of patients' own rates", overall.loc["on_ivig", "rate_mean"], []),
        R("Observation, mean of patients' own rates", overall.loc["observation", "rate_mean"],
          []),
        R("Reference group, pooled", overall.loc["reference", "rate_pooled"],
          ["res2_rate_allgrade"]),
    ],
    label_header="All-grade infections per patient-year",
)
book.publish_table(rate_table, "sccs_rates", caption="Infection rates per patient-year")

# %% [markdown]
# The IVIG patients spent {glue:text}`sccs_py_on:.1f` patient-years on IVIG and
# {glue:text}`sccs_py_off:.1f` in observation. Pooled over patients, they had
# {glue:text}`sccs_rate_on_pooled:.2f` infections per patient-year on IVIG and
# {glue:text}`sccs_rate_off_pooled:.2f` in observation (the paper:
# {glue:text}`paper_res1_rate_on_ivig:.2f` and {glue:text}`paper_res1_rate_observation:.2f`), a crude
# ratio of {glue:text}`sccs_crude_ratio:.2f`. The crude ratio compares different patients' time as
# well as different periods; the SCCS estimate above compares periods within patients only. The
# paper does not say how its two rates were computed, and they cannot both be pooled rates of the
# same data as its seasonal rates ({doc}`12-reproduction-audit`), so the table also gives the mean of each patient's
# own rate. The reference group, which never received IVIG, had {glue:text}`sccs_rate_reference:.2f`
# infections per patient-year (paper: {glue:text}`paper_res2_rate_allgrade:.2f`).
#
# ## Figure 1
#
# The paper's Figure 1 shows infection rates by grade, type and site on IVIG, in observation and in
# the reference group, with the on-IVIG IRR of each category. Each row below is its own SCCS model
# (the same model as above, with that category's infections as the outcome). Small categories may
# have no cases, or every case's infections on one side of the comparison (all on IVIG, or none on
# IVIG); such a row has no finite estimate and is marked "not estimable", with the reason in the
# table.

# %% tags=["hide-input"]
import pandas as pd

from analysis.study import figure1_rows

fig1 = figure1_rows(cohort)
reference = fig1[["label"]].assign(rate=fig1["rate_reference"])
book.glue_figure("fig_forest", figures.forest_plot(fig1, reference))
book.glue_values({"n_rows": len(fig1), "n_estimable": int(fig1["estimable"].sum()),
                  "n_not_estimable": int((~fig1["estimable"]).sum())}, prefix="fig1_")


def irr_cell(r: pd.Series) -> str:
    if r["estimable"]:
        return tables.fmt_ci(r["irr"], r["ci_low"], r["ci_high"])
    return f"not estimable ({r['reason']})"


fig1_table = pd.DataFrame({
    "Infections": fig1["label"],
    "IRR on IVIG (95% CI)": [irr_cell(r) for _, r in fig1.iterrows()],
    "p": [tables.fmt_p(p) if e else "–" for p, e in zip(fig1["p"], fig1["estimable"],
                                                        strict=True)],
    "Cases / infections": [f"{int(c)} / {int(n)}" for c, n in zip(fig1["n_cases"],
                                                                  fig1["n_events"], strict=True)],
    "Rate on IVIG": fig1["rate_on"], "Rate in observation": fig1["rate_off"],
    "Rate, reference group": fig1["rate_reference"],
})
book.publish_table(fig1_table, "figure1",
                   caption="Figure 1 as a table: IRR on IVIG vs observation (IVIG-group cases) and "
                   "pooled infections per patient-year",
                   formats={c: "{:.2f}" for c in ("Rate on IVIG", "Rate in observation",
                                                  "Rate, reference group")})

# %% [markdown]
# ```{glue:figure} fig_forest
# :name: fig-forest
#
# Figure 1 of the paper, regenerated: incidence rate ratios of infection on IVIG versus observation
# in the IVIG group by grade, organism and site (self-controlled case series; squares, with 95%
# confidence intervals, on a log scale, cut at the axis ends), with each category's pooled rates per
# patient-year on IVIG, in observation and in the reference group. The reference group gives context
# only; it is not compared statistically. Rows without a finite estimate say "not estimable".
# ```
#
# In {numref}`fig-forest` a square left of the dashed line means fewer infections on IVIG than in
# observation. Of its {glue:text}`fig1_n_rows` rows, {glue:text}`fig1_n_estimable` have an
# estimate on this cohort and {glue:text}`fig1_n_not_estimable` do not (the table says why). The
# site and organism rows rest on few infections each, so their intervals are wide; the paper, too,
# tested only the all-grade, grade 3-4, bacterial and viral comparisons. The paper drew its Figure 1
# for its {glue:text}`paper_fig1_n` IVIG patients; this version is drawn from the cohort named at the
# top of the page.
