"""The Lancman et al. (Haematologica 2026) design, on top of the generic :mod:`analysis.sccs`.

* :mod:`~analysis.study.contract` and :mod:`~analysis.study.cohort`: the cohort folder's schema
  (``data/README.md``), its validation and loading (:func:`load_cohort`);
* :mod:`~analysis.study.definitions`: the study's windows, outcomes, thresholds and day-counting
  rules, the study's interval data (:func:`study_intervals`) and one SCCS fit (:func:`fit_sccs`);
* :mod:`~analysis.study.models`: the paper's menu of SCCS models (:data:`PAPER_MODELS`);
* :mod:`~analysis.study.descriptive`: rates, HGG and laboratory summaries;
* :mod:`~analysis.study.cox`: the Cox models of time to first IVIG (imported on its own, as
  ``from analysis.study import cox``, because it loads statsmodels and lifelines).
"""

from analysis.study.cohort import Cohort, CohortError, load_cohort
from analysis.study.definitions import (
    ADJUSTMENTS,
    BASELINE_IGG_WINDOW,
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    FALL_WINTER_MONTHS,
    HGG_THRESHOLDS,
    NAMED_OUTCOMES,
    OBS_TAIL_DAYS,
    ON_IVIG_DAYS,
    ORGANISMS,
    OUTCOME_LABELS,
    OUTCOMES,
    PRE_WINDOWS,
    PROGRESSION_DAYS,
    RESPIRATORY,
    SITES,
    StudyError,
    baseline_igg,
    first_ivig,
    fit_sccs,
    from_day,
    functional_igg,
    igg_measurements,
    igg_on_days,
    igg_steps,
    infections_in_observation,
    model_terms,
    month_of_day,
    months_on_dara,
    observation_periods,
    observation_stops,
    outcome_events,
    outcome_label,
    outcome_mask,
    study_intervals,
    to_day,
)
from analysis.study.descriptive import (
    CATEGORIES,
    LAB_THRESHOLDS,
    descriptive_values,
    first_infection_times,
    hgg_by_patient,
    hgg_time_comparison,
    infection_rates,
    infection_summary,
    ivig_share_by_season,
    labelled_infections,
    labs_at_infection,
    patient_summary,
    person_time,
    rates_by_category,
    sites_and_organisms,
)
from analysis.study.models import (
    FIGURE1_COLUMNS,
    FIGURE1_ROWS,
    MENU_COLUMNS,
    PAPER_MODELS,
    SCCSModel,
    figure1_rows,
    sccs_menu,
)

__all__ = [
    "ADJUSTMENTS", "BASELINE_IGG_WINDOW", "CATEGORIES", "DAYS_PER_MONTH", "DAYS_PER_YEAR",
    "FALL_WINTER_MONTHS", "FIGURE1_COLUMNS", "FIGURE1_ROWS", "HGG_THRESHOLDS", "LAB_THRESHOLDS",
    "MENU_COLUMNS", "NAMED_OUTCOMES", "OBS_TAIL_DAYS", "ON_IVIG_DAYS", "ORGANISMS",
    "OUTCOMES", "OUTCOME_LABELS", "PAPER_MODELS", "PRE_WINDOWS", "PROGRESSION_DAYS", "RESPIRATORY",
    "SITES", "Cohort", "CohortError", "SCCSModel", "StudyError", "baseline_igg",
    "descriptive_values", "figure1_rows", "first_infection_times", "first_ivig", "fit_sccs",
    "from_day", "functional_igg", "hgg_by_patient", "hgg_time_comparison", "igg_measurements",
    "igg_on_days", "igg_steps", "infection_rates", "infection_summary",
    "infections_in_observation", "ivig_share_by_season", "labelled_infections",
    "labs_at_infection", "load_cohort", "model_terms", "month_of_day", "months_on_dara",
    "observation_periods", "observation_stops", "outcome_events", "outcome_label", "outcome_mask",
    "patient_summary",
    "person_time", "rates_by_category", "sccs_menu", "sites_and_organisms", "study_intervals",
    "to_day",
]
