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
# # Infections

# %% tags=["remove-input"]
from analysis.report import book, figures, tables
from analysis import study

cohort = book.load()
book.cohort_banner(cohort)

# %% [markdown]
# Before any model: how many infections, in whom, where, caused by what, how severe, and when. This
# chapter describes the infections of both groups during their observation periods, as the paper's
# Results do, and draws the paper's Figure 2. Sites are counted over all infections, organisms over
# the microbiologically confirmed ones, as in the paper; grades follow CTCAE v4.0 {cite:p}`ctcae4`.

# %% tags=["hide-input"]
import math

import pandas as pd

from analysis.paper.values import descriptive_values

ours = tables.first_values(descriptive_values(cohort))
summary = tables.infections_comparison(ours)
book.glue_values(
    {
        "n_patients_infected": tables.as_count(ours.get("res1_patients_with_infection_n", math.nan)),
        "pct_patients_infected": ours.get("res1_patients_with_infection_pct", math.nan),
        "n_infections": tables.as_count(ours.get("res1_infections_total", math.nan)),
        "time_to_first": ours.get("res1_time_to_first_infection_median", math.nan),
        "n_g34_patients": tables.as_count(ours.get("res1_g34_patients_n", math.nan)),
        "resp_pct": ours.get("res1_site_respiratory_pct", math.nan),
        "ref_n_patients_infected": tables.as_count(ours.get("res2_patients_with_infection_n", math.nan)),
        "ref_n_infections": tables.as_count(ours.get("res2_infections_total", math.nan)),
        "ref_rate": ours.get("res2_rate_allgrade", math.nan),
        "ref_rate_g34": ours.get("res2_rate_g34", math.nan),
        "rate_fall_winter": ours.get("res1_rate_fall_winter", math.nan),
        "rate_spring_summer": ours.get("res1_rate_spring_summer", math.nan),
    },
    prefix="inf_",
)
book.glue_paper("res1_patients_with_infection_n", "res1_infections_total",
                "res1_time_to_first_infection_median", "res2_patients_with_infection_n",
                "res2_infections_total", "res2_rate_allgrade", "res2_rate_g34",
                "res1_rate_fall_winter", "res1_rate_spring_summer")
book.publish_table(summary, "infections_summary",
                   caption="Infections during observation, both groups")

# %% [markdown]
# In the IVIG group, {glue:text}`inf_n_patients_infected` patients
# ({glue:text}`inf_pct_patients_infected:.0f`%) had {glue:text}`inf_n_infections` infections
# between them (the paper: {glue:text}`paper_res1_patients_with_infection_n` patients,
# {glue:text}`paper_res1_infections_total` infections), the first after a median of
# {glue:text}`inf_time_to_first:.1f` months on daratumumab (paper:
# {glue:text}`paper_res1_time_to_first_infection_median:.1f`);
# {glue:text}`inf_n_g34_patients` patients had at least one grade 3-4 infection. In the reference
# group, {glue:text}`inf_ref_n_patients_infected` patients had {glue:text}`inf_ref_n_infections`
# infections (paper: {glue:text}`paper_res2_patients_with_infection_n` and
# {glue:text}`paper_res2_infections_total`): {glue:text}`inf_ref_rate:.2f` infections per
# patient-year, {glue:text}`inf_ref_rate_g34:.2f` of grade 3-4 (paper:
# {glue:text}`paper_res2_rate_allgrade:.2f` and {glue:text}`paper_res2_rate_g34:.2f`). IVIG patients
# had {glue:text}`inf_rate_fall_winter:.2f` infections per patient-year in fall/winter and
# {glue:text}`inf_rate_spring_summer:.2f` in spring/summer (paper:
# {glue:text}`paper_res1_rate_fall_winter:.2f` and {glue:text}`paper_res1_rate_spring_summer:.2f`).
# Rates here are pooled: all infections over all person-time of the group.
#
# ## Time to first infection

# %% tags=["hide-input"]
import math

from analysis.study import cox
from analysis.study.descriptive import first_infection_times

first_inf = first_infection_times(cohort)
km_inf = cox.kaplan_meier(first_inf, by="group")
book.glue_figure("fig_km_first_infection", figures.km_plot(
    km_inf, strata_labels={"ivig": "IVIG group", "reference": "Reference group"},
    ylabel="Probability of no infection yet"))


def km_median(stratum: str) -> str:
    """Months at which the Kaplan-Meier curve first reaches 0.5 ("not reached" if it does not)."""
    if not (km_inf["stratum"] == stratum).any():
        return "– (no patients)"
    curve = km_inf[(km_inf["stratum"] == stratum) & (km_inf["survival"] <= 0.5)]
    return "not reached" if curve.empty or not math.isfinite(curve["time_months"].iloc[0]) \
        else f"{curve['time_months'].iloc[0]:.1f} months"


book.glue_values({"km_median_ivig": km_median("ivig"),
                  "km_median_reference": km_median("reference"),
                  "obs_tail_days": study.OBS_TAIL_DAYS}, prefix="inf_")

# %% [markdown]
# ```{glue:figure} fig_km_first_infection
# :name: fig-km-first-infection
#
# Time from the first daratumumab dose to the first infection during observation (Kaplan-Meier,
# with 95% confidence bands); patients without an infection are censored at the end of their
# observation period ({glue:text}`inf_obs_tail_days` days after the last daratumumab dose, or at
# death or last contact if earlier). The number of patients is in the
# legend.
# ```
#
# {numref}`fig-km-first-infection` adds what a median over the infected patients alone leaves out:
# the patients who never had an infection. Counting them as censored, half of the IVIG group had
# had a first infection by {glue:text}`inf_km_median_ivig` and half of the reference group by
# {glue:text}`inf_km_median_reference` after their first daratumumab dose. The groups differ in
# how they were selected ({doc}`10-reference-group`), so the curves describe them side by side; they are not a
# comparison of IVIG with no IVIG.
#
# ## Sites, organisms and grades

# %% tags=["hide-input"]
from analysis.study.descriptive import sites_and_organisms

so = sites_and_organisms(cohort)
wide = so.pivot_table(index=["kind", "category"], columns="group", values=["n", "pct"],
                      aggfunc="first", sort=False)
breakdown = pd.DataFrame(
    {
        "Kind": [k for k, _ in wide.index],
        "Category": [c.replace("_", " ") for _, c in wide.index],
        "IVIG group": [tables.fmt_n_with_pct(n, p) for n, p in
                       zip(wide[("n", "ivig")], wide[("pct", "ivig")], strict=True)],
        "Reference group": [tables.fmt_n_with_pct(n, p) for n, p in
                            zip(wide[("n", "reference")], wide[("pct", "reference")],
                                strict=True)],
    }
)
inf = study.infections_in_observation(cohort)
grades = (inf.assign(grade=inf["grade"].astype("Int64").astype(str))
          .groupby(["group", "grade"]).size().unstack("group", fill_value=0))
for grade, row in grades.iterrows():
    breakdown.loc[len(breakdown)] = [
        "grade", f"CTCAE grade {grade}",
        tables.fmt_n_pct(row.get("ivig", 0), grades.get("ivig", pd.Series()).sum()),
        tables.fmt_n_pct(row.get("reference", 0), grades.get("reference", pd.Series()).sum()),
    ]
book.publish_table(breakdown, "infections_breakdown",
                   caption="Infections by site (% of all), organism (% of confirmed; "
                           "unconfirmed: % of all) and grade (% of all)")

# %% [markdown]
# ## Figure 2: every IVIG patient's course

# %% tags=["hide-input"]
obs = study.observation_periods(cohort, "ivig")
spans = obs[["patient_id", "end_reason"]].assign(start=obs["start_day"], end=obs["end_day"])
on_windows = figures.flag_runs(study.study_intervals(cohort, "all", group="ivig"), "on_ivig")
on_windows = on_windows.rename(columns={"id": "patient_id"})
events = study.infections_in_observation(cohort, "ivig")[["patient_id", "day", "grade"]]
book.glue_values({"swimmer_n": len(spans),
                 "on_ivig_days": study.ON_IVIG_DAYS}, prefix="inf_")
book.glue_figure("fig_swimmer", figures.swimmer_plot(spans, on_windows, events))

# %% [markdown]
# ```{glue:figure} fig_swimmer
# :name: fig-swimmer
#
# Figure 2 of the paper, regenerated: each IVIG patient's observation period (from the first
# daratumumab dose to {glue:text}`inf_obs_tail_days` days after the last, or to death or last contact
# if earlier; grey), the periods on IVIG
# ({glue:text}`inf_on_ivig_days` days from each dose; blue) and each infection, marked by grade. Patients are numbered by length of follow-up, not by
# any identifier.
# ```
#
# {numref}`fig-swimmer` shows all {glue:text}`inf_swimmer_n` IVIG patients. It makes visible what the
# self-controlled case series exploits: every patient moves between periods on and off IVIG, so each
# is compared with themselves. It also shows where infections fall relative to the first dose, the
# question of the pre-exposure analysis in {doc}`07-sensitivity`.
