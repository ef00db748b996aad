"""The Lancman et al. (Haematologica 2026) design, on top of the generic :mod:`analysis.sccs`.

Where each Methods step lives:

* :mod:`~analysis.study.contract` and :mod:`~analysis.study.cohort`: the cohort folder's schema
  (``data/README.md``), its validation and loading (:func:`load_cohort`), and the end of
  observation (:func:`~analysis.study.cohort.observation_end`);
* :mod:`~analysis.study.definitions`: the study's constants (windows, outcomes, thresholds) and
  day-counting rules;
* :mod:`~analysis.study.data`: a cohort's derived tables built once (:class:`StudyData`:
  observation periods, events, IgG steps, first IVIG);
* :mod:`~analysis.study.models`: the SCCS interval data (:func:`study_intervals`), one model
  (:func:`fit_sccs`) and the paper's menu (:data:`PAPER_MODELS`, :func:`sccs_menu`);
* :mod:`~analysis.study.descriptive`: rates, HGG, laboratory summaries and Figure 1;
* :mod:`~analysis.study.cox`: the Cox models of time to first IVIG and Table 1 (imported on its
  own, as ``from analysis.study import cox``).
"""

from analysis.study.cohort import Cohort, CohortError, load_cohort
from analysis.study.data import (
    CohortLike,
    StudyData,
    baseline_igg,
    first_ivig,
    functional_igg,
    igg_measurements,
    igg_on_days,
    igg_steps,
    infections_in_observation,
    months_on_dara,
    observation_periods,
    observation_stops,
    outcome_events,
    study_data,
)
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
    from_day,
    month_of_day,
    outcome_label,
    outcome_mask,
    to_day,
)
from analysis.study.descriptive import (
    CATEGORIES,
    FIGURE1_COLUMNS,
    FIGURE1_ROWS,
    LAB_THRESHOLDS,
    figure1_rows,
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
    MENU_COLUMNS,
    PAPER_MODELS,
    SCCSModel,
    fit_sccs,
    model_terms,
    sccs_menu,
    study_intervals,
)

__all__ = [
    "ADJUSTMENTS", "BASELINE_IGG_WINDOW", "CATEGORIES", "DAYS_PER_MONTH", "DAYS_PER_YEAR",
    "FALL_WINTER_MONTHS", "FIGURE1_COLUMNS", "FIGURE1_ROWS", "HGG_THRESHOLDS", "LAB_THRESHOLDS",
    "MENU_COLUMNS", "NAMED_OUTCOMES", "OBS_TAIL_DAYS", "ON_IVIG_DAYS", "ORGANISMS",
    "OUTCOMES", "OUTCOME_LABELS", "PAPER_MODELS", "PRE_WINDOWS", "PROGRESSION_DAYS", "RESPIRATORY",
    "SITES", "Cohort", "CohortError", "CohortLike", "SCCSModel", "StudyData", "StudyError",
    "baseline_igg", "figure1_rows", "first_infection_times", "first_ivig",
    "fit_sccs", "from_day", "functional_igg", "hgg_by_patient", "hgg_time_comparison",
    "igg_measurements", "igg_on_days", "igg_steps", "infection_rates", "infection_summary",
    "infections_in_observation", "ivig_share_by_season", "labelled_infections",
    "labs_at_infection", "load_cohort", "model_terms", "month_of_day", "months_on_dara",
    "observation_periods", "observation_stops", "outcome_events", "outcome_label",
    "outcome_mask", "patient_summary", "person_time", "rates_by_category", "sccs_menu",
    "sites_and_organisms", "study_data", "study_intervals", "to_day",
]
