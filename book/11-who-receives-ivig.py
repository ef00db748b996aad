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
# # Who receives IVIG

# %% tags=["remove-input"]
import numpy as np
import pandas as pd

from analysis.paper import audit, values
from analysis.report import book, figures, tables
from analysis.study import cox

cohort = book.load()
book.cohort_banner(cohort)

# %% [markdown]
# Physicians chose who received IVIG. To see what guided that choice, the paper regresses the time
# from the first daratumumab dose to the first IVIG dose on each baseline characteristic, over both
# groups {cite:p}`lancman2026`: univariable Cox models (the HR column of Table 1, chapter
# {doc}`04-baseline`) and one multivariable model (Supplementary Table 1). This chapter refits both,
# checks the proportional-hazards assumption, and draws the Kaplan-Meier curves of the time to
# first IVIG.
#
# How the models are set up
# : Time starts at the first daratumumab dose. The event is the first IVIG dose within the
#   observation period. Patients without one, the whole reference group, are censored at the end of
#   their observation (death or last contact, when either comes before the usual end). A dose dated before the first daratumumab dose is outside observation: it is
#   not the event (the data contract's rule), so a patient already on IVIG when daratumumab started
#   has the event at their first dose after that day, or is censored. Ties are handled with Breslow's method, as in SAS, the paper's software
#   (statsmodels' `PHReg` {cite:p}`seabold2010`). Wald confidence intervals and p-values are used.
#   Each univariable model uses the patients with that characteristic recorded; the multivariable
#   model uses the patients with all of them recorded.

# %% tags=["remove-cell"]
data = cox.cox_data(cohort)
# each term with the paper's id of its estimate (the paper layer's map)
univariable = values.cox_ids(cox.univariable_cox(data), "univariable")
multivariable = values.cox_ids(cox.multivariable_cox(data), "multivariable")
book.glue_paper("res1_screened_n", "res1_ivig_n", "abs_reference_n")
screened, n_ivig_paper, n_ref_paper = (book.paper(t) for t in
                                       ("res1_screened_n", "res1_ivig_n", "abs_reference_n"))
book.glue_value("who_sampling_pct", 100.0 * n_ref_paper / (screened - n_ivig_paper))

# %% [markdown]
# The reference group is not the whole population at risk: every IVIG patient is included, but only
# {glue:text}`paper_abs_reference_n` of the other {glue:text}`paper_res1_screened_n:,d` −
# {glue:text}`paper_res1_ivig_n` patients, a random {glue:text}`who_sampling_pct:.0f`%. The models
# therefore describe *who was selected* for IVIG among the patients studied, not the hazard of
# starting IVIG in the clinic. The baseline hazard is inflated by the sampling, and the hazard ratios
# behave more like odds ratios of selection than like population hazard ratios.
#
# ## Univariable models

# %% tags=["hide-input", "full-width"]
book.publish_table(
    tables.cox_comparison(univariable), "who_univariable_cox",
    caption="Univariable Cox models of the time to first IVIG (Table 1's HRs): the paper's "
            "estimate beside ours, with the patients and first IVIG doses in each model",
)


# %% tags=["hide-input"]
def cox_figure(results: pd.DataFrame, xlabel: str):
    """Our HRs (with the paper's where it prints them) of the non-reference terms."""
    shown = results[~results["reference"] & results["target_id"].notna()].copy()
    shown["label"] = [tables.COX_LABELS.get(c, c) + (f": {lv}" if isinstance(lv, str) else "")
                      for c, lv in zip(shown["covariate"], shown["level"], strict=True)]
    return figures.paper_vs_book_plot(audit.estimates_long(shown, est="hr", scale=None),
                                      xlabel=xlabel)


book.glue_figure("fig_who_univariable",
                 cox_figure(univariable, "Hazard ratio of first IVIG (log scale)"))


# %% [markdown]
# ```{glue:figure} fig_who_univariable
# :name: fig-who-univariable
#
# Univariable hazard ratios of receiving a first IVIG dose: the paper's (open diamonds) and this
# book's (filled squares), with 95% confidence intervals. Numeric characteristics are per unit shown
# in the label; categories are against their reference level.
# ```

# %% tags=["remove-cell"]

def term(results: pd.DataFrame, covariate: str, level: str | None = None) -> pd.Series:
    sel = results[results["covariate"] == covariate]
    sel = sel[sel["level"].isna()] if level is None else sel[sel["level"] == level]
    return sel.iloc[0]


for name, (res, cov, level) in {
    "uni_prior": (univariable, "prior_infections", None),
    "uni_prior3": (univariable, "prior_infections_cat", "3"),
    "uni_prior4": (univariable, "prior_infections_cat", "4+"),
    "uni_igg": (univariable, "heavy_chain", "IgG"),
    "multi_prior": (multivariable, "prior_infections", None),
    "multi_igg": (multivariable, "heavy_chain", "IgG"),
}.items():
    r = term(res, cov, level)
    book.glue_values({"hr": r["hr"], "lo": r["ci_low"], "hi": r["ci_high"],
                      "p": tables.fmt_p(r["p"])}, prefix=f"who_{name}_")
book.glue_value("who_multi_n", int(multivariable["n"].iloc[0]))
book.glue_value("who_multi_events", int(multivariable["n_events"].iloc[0]))
book.glue_value("who_n_total", len(data))
for t in ("t1_prior_infections_hr", "t1_prior_inf_3_hr", "t1_prior_inf_4plus_hr",
          "t1_heavy_igg_hr", "s1_prior_infections_ahr", "s1_heavy_igg_ahr",
          "text_hr_prior_infections", "text_hr_prior_infections_3",
          "text_hr_prior_infections_4plus", "text_hr_igg_subtype"):
    book.glue_paper(t)

# %% [markdown]
# The paper's account of the selection rests on prior infections. Here each infection in the year
# before daratumumab multiplied the
# hazard of a first IVIG dose by {glue:text}`who_uni_prior_hr:.2f`
# ({glue:text}`who_uni_prior_lo:.2f`–{glue:text}`who_uni_prior_hi:.2f`, p
# {glue:text}`who_uni_prior_p`; paper {glue:text}`paper_t1_prior_infections_hr:.2f`). Against no
# prior infection, three gave an HR of {glue:text}`who_uni_prior3_hr:.2f` and four or more
# {glue:text}`who_uni_prior4_hr:.2f` (paper {glue:text}`paper_t1_prior_inf_3_hr:.2f` and
# {glue:text}`paper_t1_prior_inf_4plus_hr:.2f`). IgG myeloma, against light-chain-only myeloma, had an
# HR of {glue:text}`who_uni_igg_hr:.2f` (paper {glue:text}`paper_t1_heavy_igg_hr:.2f`). A plausible
# reading is that total IgG, which includes the monoclonal protein, looks normal in IgG myeloma, so
# the functional deficit is less visible to the treating physician.
#
# The Results text quotes other hazard ratios for the same rows:
# {glue:text}`paper_text_hr_prior_infections:.2f` per prior infection,
# {glue:text}`paper_text_hr_prior_infections_3:.2f` and
# {glue:text}`paper_text_hr_prior_infections_4plus:.2f` for three and four or more, and
# {glue:text}`paper_text_hr_igg_subtype:.2f` for IgG myeloma. They match neither Table 1 nor
# Supplementary Table 1 (chapter {doc}`12-reproduction-audit` keeps all versions). Table 1 is the
# stated analysis, so this book fits Table 1's models and compares its hazard ratios with Table 1's;
# on the synthetic cohort these hazard ratios are emergent (nothing in the generator reads them),
# and chapter {doc}`12-reproduction-audit` judges each against the paper's confidence interval.
#
# ## The multivariable model (Supplementary Table 1)

# %% tags=["hide-input", "full-width"]
book.publish_table(
    tables.cox_comparison(multivariable, estimate="Adjusted HR", model="multivariable"), "who_multivariable_cox",
    caption="Supplementary Table 1. Multivariable Cox model of the time to first IVIG "
            "(complete cases)",
)

# %% tags=["hide-input"]
book.glue_figure("fig_who_multivariable",
                 cox_figure(multivariable, "Adjusted hazard ratio of first IVIG (log scale)"))

# %% [markdown]
# ```{glue:figure} fig_who_multivariable
# :name: fig-who-multivariable
#
# Adjusted hazard ratios of the multivariable model, the paper's (open diamonds) beside this book's
# (filled squares). Levels nobody has (IgE, IgM, both light chains) are "not estimable" in both.
# ```
#
# The Methods describe only univariable models, and the paper gives neither the number of patients
# nor the handling of missing values of its multivariable model. This book uses the complete cases:
# {glue:text}`who_multi_n` of {glue:text}`who_n_total` patients, with
# {glue:text}`who_multi_events` first IVIG doses. The covariates are those the paper lists: age,
# years from diagnosis, lines of therapy, prior infections, sex, heavy and light chain, ISS,
# cytogenetics and baseline HGG. Adjusted, each prior infection had an HR of
# {glue:text}`who_multi_prior_hr:.2f`
# ({glue:text}`who_multi_prior_lo:.2f`–{glue:text}`who_multi_prior_hi:.2f`; paper
# {glue:text}`paper_s1_prior_infections_ahr:.2f`) and IgG myeloma {glue:text}`who_multi_igg_hr:.2f`
# ({glue:text}`who_multi_igg_lo:.2f`–{glue:text}`who_multi_igg_hi:.2f`; paper
# {glue:text}`paper_s1_heavy_igg_ahr:.2f`). With few events per covariate, the other estimates are
# imprecise in both.
#
# ## Proportional hazards

# %% tags=["hide-input"]
ph = cox.proportional_hazards_tests(data)
ph_table = pd.DataFrame({
    "Term": [tables.COX_LABELS.get(c, c) + (f": {t.split('[', 1)[1].rstrip(']')}" if "[" in t
                                             else "")
             for c, t in zip(ph["covariate"], ph["term"], strict=True)],
    "Test statistic (1 df)": ph["statistic"].map(tables.fmt_num),
    "p": ph["p"].map(tables.fmt_p),
    "Patients": ph["n"],
    "First IVIG": ph["n_events"],
    "p < 0.05": np.where(ph["ph_violated"], "yes", "no"),
})
book.glue_values({"n_tests": len(ph), "n_violated": int(ph["ph_violated"].sum())}, prefix="who_ph_")
book.glue_paper("dp_significance_level")
book.publish_table(ph_table, "who_ph_tests",
                   caption="Schoenfeld-residual tests of proportional hazards, one per "
                           "univariable term (ranks of time)")

# %% [markdown]
# A Cox model assumes that a characteristic multiplies the hazard by the same factor throughout
# follow-up. The paper says the assumption "was assessed for violations" but shows no result. Here
# each univariable term is tested with the Grambsch-Therneau test on scaled Schoenfeld residuals
# against the rank of time (lifelines {cite:p}`davidsonpilon2019`). {glue:text}`who_ph_n_violated` of
# {glue:text}`who_ph_n_tests` terms have p < {glue:text}`paper_dp_significance_level`. With this many tests a few small p-values are
# expected by chance. A term that fails should be read as an average HR over follow-up, not as a
# constant one.
#
# ## Time to first IVIG

# %% tags=["hide-input"]
km_ivig = cox.kaplan_meier(data[data["group"] == "ivig"], by="group")
fig = figures.km_plot(km_ivig, strata_labels={"ivig": "IVIG group"})
book.glue_figure("fig_who_km_ivig", fig)
km_prior = cox.kaplan_meier(data, by="prior_infections_cat")
fig = figures.km_plot(
    km_prior.drop(columns=["ci_low", "ci_high"]),  # five overlapping bands would hide the curves
    strata_labels={k: f"{k} prior infection{'s' if k != '1' else ''}"
                   for k in km_prior["stratum"].unique()},
)
book.glue_figure("fig_who_km_prior", fig)
t_ivig = data.loc[(data["group"] == "ivig") & (data["event"] == 1), "time"] / cox.DAYS_PER_MONTH
book.glue_values({"median": t_ivig.median(), "min": t_ivig.min(), "max": t_ivig.max()},
                 prefix="who_first_ivig_")
book.glue_paper("res1_time_to_first_ivig_median", "res1_time_to_first_ivig_min",
                "res1_time_to_first_ivig_max")

# %% [markdown]
# ```{glue:figure} fig_who_km_ivig
# :name: fig-who-km-ivig
#
# Kaplan-Meier estimate of the share of IVIG patients who have not yet received IVIG, by months since
# their first daratumumab dose, with its 95% confidence band.
# ```
#
# In the IVIG group the first dose came a median {glue:text}`who_first_ivig_median:.1f` months after
# the first daratumumab dose (range {glue:text}`who_first_ivig_min:.1f`–{glue:text}`who_first_ivig_max:.1f`;
# paper {glue:text}`paper_res1_time_to_first_ivig_median:.1f`,
# {glue:text}`paper_res1_time_to_first_ivig_min:.1f`–{glue:text}`paper_res1_time_to_first_ivig_max:.1f`).
# The curve for the reference group is not drawn: it never falls, by definition, because no reference
# patient receives IVIG.
#
# ```{glue:figure} fig_who_km_prior
# :name: fig-who-km-prior
#
# Kaplan-Meier estimates of not yet having received IVIG, both groups together, by the number of
# infections in the year before daratumumab (n is the number of patients in each stratum; confidence
# bands are left out so that the curves stay legible).
# ```
#
# Across both groups together, the curves split by prior infections show the selection of
# {numref}`fig-who-univariable` over time: if prior infections drove the choice, as the paper
# concludes, the curves of patients with more prior infections fall sooner and further. The levels of these curves depend on the
# sampling of the reference group and are not clinical probabilities.
