"""Our value for every ``targets.yaml`` id: the one place that computes them from a cohort.

Why a module: the reproduction audit (:mod:`analysis.paper.audit`, its own chapter), the synthetic
cohort's calibration check and the chapters all put "the paper's number" beside "ours". If each
computed its own, they could disagree about the same id. Here each id is computed once, by the
study's own functions (:mod:`analysis.study` for the SCCS models, :mod:`analysis.study.descriptive`
for counts, rates and laboratory values, :mod:`analysis.study.cox` for Table 1 and the Cox models)
and the design constants the analysis code uses. Nothing here knows whether the cohort is
synthetic.

The table (:func:`our_values`) has one row per id the cohort can answer, with columns
:data:`VALUE_COLUMNS`: ``value``, its 95 % ``ci_low``/``ci_high`` and ``p`` where the value is an
estimate, ``n_events`` (the infections behind a count or a rate, for its Poisson error),
``denominator`` (what a Table 1 or an organism percentage is of), ``source`` (``sccs``, ``cox``,
``baseline``, ``descriptive``, ``design``) and ``definition``.

Only the model estimates are slow to compute (every SCCS and Cox model of the paper). Their ids
are known without a cohort (:data:`SCCS_IDS`, :data:`COX_IDS`), so ``our_values(cohort, ids=...)``
fits only the models behind the ids asked for: the synthetic cohort's calibration of marginal
counts (:mod:`analysis.synthetic.calibration`, run on many cohorts by the seed search and the
provenance map) fits none. Everything else is cheap and computed whole, so a value never depends
on which other ids were asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.study.cox import (
    MULTIVARIABLE_COVARIATES,
    TABLE1_COVARIATES,
    CovariateSpec,
)
from analysis.study.models import PAPER_MODELS

if TYPE_CHECKING:  # pragma: no cover - typing only
    from analysis.study.cohort import Cohort

__all__ = [
    "COX_IDS",
    "CRUDE_ESTIMATES",
    "MULTIVARIABLE_IDS",
    "REDUCTIONS",
    "SAME_AS",
    "SCCS_IDS",
    "SCCS_MODEL_IDS",
    "T1_GROUP_CODES",
    "T1_LEVEL_CODES",
    "T1_NUMERIC_CODES",
    "UNIVARIABLE_IDS",
    "VALUE_COLUMNS",
    "cox_ids",
    "descriptive_values",
    "design_values",
    "estimate_of",
    "num",
    "our_values",
    "sccs_ids",
    "table1_ids",
]

#: Columns of :func:`our_values`.
VALUE_COLUMNS: list[str] = ["target_id", "value", "ci_low", "ci_high", "p", "n_events",
                            "denominator", "source", "definition"]

#: Targets that restate another target's quantity (Abstract, Discussion, Results text): our value
#: for the second id is reused for the first.
SAME_AS: dict[str, str] = {
    "abs_ivig_n": "t1_n_ivig", "res1_ivig_n": "t1_n_ivig", "fig1_n": "t1_n_ivig",
    "abs_reference_n": "t1_n_ref", "res2_reference_n": "t1_n_ref", "disc_reference_n": "t1_n_ref",
    "res1_female_pct": "t1_sex_female_ivig_pct", "res1_age_median": "t1_age_ivig_median",
    "res1_age_min": "t1_age_ivig_min", "res1_age_max": "t1_age_ivig_max",
    "res1_igg_myeloma_pct": "t1_heavy_igg_ivig_pct",
    "res1_light_chain_only_pct": "t1_heavy_none_ivig_pct",
    "res1_prior_lines_median": "t1_lines_ivig_median", "res1_prior_lines_min": "t1_lines_ivig_min",
    "res1_prior_lines_max": "t1_lines_ivig_max", "disc_prior_lines_min": "t1_lines_ivig_min",
    "disc_prior_lines_max": "t1_lines_ivig_max",
    "res1_years_dx_to_dara_median": "t1_years_dx_to_dara_ivig_median",
    "res1_years_dx_to_dara_min": "t1_years_dx_to_dara_ivig_min",
    "res1_years_dx_to_dara_max": "t1_years_dx_to_dara_ivig_max",
    "res1_high_risk_cyto_pct": "t1_hrcyto_yes_ivig_pct",
    "res1_months_on_dara_median": "t1_months_on_dara_ivig_median",
    "res1_prior_year_infections_median": "t1_prior_infections_ivig_median",
    "res2_prior_infections_median_ivig": "t1_prior_infections_ivig_median",
    "res2_prior_infections_median_ref": "t1_prior_infections_ref_median",
    "disc_prior_infections_median_ivig": "t1_prior_infections_ivig_median",
    "disc_prior_infections_median_ref": "t1_prior_infections_ref_median",
    "abs_hgg_any_pct": "t2_hgg_lt700_pct", "abs_hgg_moderate_pct": "t2_hgg_lt400_pct",
    "disc_hgg_any_pct": "t2_hgg_lt700_pct", "disc_hgg_moderate_pct": "t2_hgg_lt400_pct",
    "disc_hgg_severe_pct": "t2_hgg_lt200_pct",
    "disc_alc_g3plus_in_g34_pct": "res1_alc_lt05_in_g34_pct",
    "text_hr_prior_infections": "t1_prior_infections_hr",
    "text_hr_prior_infections_3": "t1_prior_inf_3_hr",
    "text_hr_prior_infections_4plus": "t1_prior_inf_4plus_hr",
    "text_hr_igg_subtype": "t1_heavy_igg_hr",
}
#: Reductions (100 x (1 - IRR)) and the SCCS target whose IRR they restate.
REDUCTIONS: dict[str, str] = {
    "abs_allgrade_reduction_pct": "sccs_allgrade_irr",
    "sccs_allgrade_reduction_pct": "sccs_allgrade_irr",
    "disc_allgrade_reduction_pct": "sccs_allgrade_irr",
    "abs_g34_reduction_pct": "sccs_g34_irr",
    "sccs_g34_reduction_pct": "sccs_g34_irr",
    "disc_g34_reduction_pct": "sccs_g34_irr",
}
#: Ids whose value estimates a term of a paper SCCS model by another route: id -> (outcome, term).
#: The crude on/off-IVIG rate ratio (:func:`_derived`) estimates the all-grade on-IVIG effect.
CRUDE_ESTIMATES: dict[str, tuple[str, str]] = {"drv_rate_ratio_on_off": ("all", "on_ivig")}
#: Rates of the Results text: target id -> (outcome, period, season) of
#: :func:`analysis.study.descriptive.infection_rates` (for the infections behind each rate).
RATE_CELLS: dict[str, tuple[str, str, str]] = {
    "res1_rate_on_ivig": ("all", "on_ivig", "all"),
    "res1_rate_observation": ("all", "observation", "all"),
    "res1_rate_fall_winter": ("all", "ivig_all", "fall_winter"),
    "res1_rate_spring_summer": ("all", "ivig_all", "spring_summer"),
    "res2_rate_allgrade": ("all", "reference", "all"),
    "res2_rate_g34": ("grade3", "reference", "all"),
}
_RESPONDERS = ("sCR", "CR", "VGPR", "PR")
_ORGANISMS = ("bacterial", "viral", "fungal")


# --- the SCCS models' ids -------------------------------------------------------------------
#: Each SCCS model of :data:`analysis.study.models.PAPER_MODELS` (by name): its terms the paper
#: prints, as ``(term, id, scale)``; scale ``"irr"`` when the paper prints the IRR,
#: ``"reduction_pct"`` when it prints ``100 * (1 - IRR)`` (bacterial, viral).
SCCS_MODEL_IDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "primary_all": (("on_ivig", "sccs_allgrade_irr", "irr"),),
    "primary_grade3": (("on_ivig", "sccs_g34_irr", "irr"),),
    "bacterial": (("on_ivig", "sccs_bacterial_reduction_pct", "reduction_pct"),),
    "viral": (("on_ivig", "sccs_viral_reduction_pct", "reduction_pct"),),
    "pre30_all": (("on_ivig", "sccs_allgrade_irr_adj_pre30", "irr"),
                  ("pre_ivig", "sccs_pre30_irr", "irr")),
    "pre60_all": (("on_ivig", "sccs_allgrade_irr_adj_pre60", "irr"),
                  ("pre_ivig", "sccs_pre60_irr", "irr")),
    # the paper does not say which pre-window its grade 3+ adjusted IRR used: both carry the id
    "pre30_grade3": (("on_ivig", "sccs_g3plus_irr_adj_pre", "irr"),),
    "pre60_grade3": (("on_ivig", "sccs_g3plus_irr_adj_pre", "irr"),),
    "progression_all": (("on_ivig", "sccs_allgrade_irr_adj_progression", "irr"),),
    "season_all": (("on_ivig", "sccs_allgrade_irr_adj_season", "irr"),),
    "hgg700": (("igg_below_700", "sccs_hgg_any_irr", "irr"),),
    "hgg400": (("igg_below_400", "sccs_hgg_moderate_irr", "irr"),),
    "hgg200": (("igg_below_200", "sccs_hgg_severe_irr", "irr"),),
}


def sccs_ids(menu: pd.DataFrame) -> pd.DataFrame:
    """:func:`analysis.study.models.sccs_menu` with the paper's ``target_id`` and
    ``target_scale`` of each (model, term) row (None where the paper prints nothing for it).

    Examples
    --------
    >>> m = pd.DataFrame({"model": ["pre30_all", "pre30_all"], "term": ["on_ivig", "pre_ivig"]})
    >>> sccs_ids(m)["target_id"].tolist()
    ['sccs_allgrade_irr_adj_pre30', 'sccs_pre30_irr']
    """
    cells = {(model, term): (tid, scale) for model, ids in SCCS_MODEL_IDS.items()
             for term, tid, scale in ids}
    found = [cells.get((m, t), (None, None)) for m, t in zip(menu["model"], menu["term"],
                                                           strict=True)]
    return menu.assign(target_id=[f[0] for f in found], target_scale=[f[1] for f in found])


# --- the Cox models' and Table 1's ids -------------------------------------------------------
#: Table 1's univariable hazard ratios: term of :func:`analysis.study.cox.univariable_cox` -> id.
UNIVARIABLE_IDS: dict[str, str] = {
    "age_per_5y": "t1_age_hr", "sex[F]": "t1_sex_female_hr",
    "months_on_dara": "t1_months_on_dara_hr", "years_dx_per_5y": "t1_years_dx_to_dara_hr",
    "lines": "t1_lines_hr", "prior_infections": "t1_prior_infections_hr",
    "prior_infections_cat[1]": "t1_prior_inf_1_hr", "prior_infections_cat[2]": "t1_prior_inf_2_hr",
    "prior_infections_cat[3]": "t1_prior_inf_3_hr",
    "prior_infections_cat[4+]": "t1_prior_inf_4plus_hr",
    "heavy_chain[IgG]": "t1_heavy_igg_hr", "heavy_chain[IgA]": "t1_heavy_iga_hr",
    "heavy_chain[IgD]": "t1_heavy_igd_hr", "light_chain[kappa]": "t1_light_kappa_hr",
    "iss[II]": "t1_iss_2_hr", "iss[III]": "t1_iss_3_hr", "riss[II]": "t1_riss_2_hr",
    "riss[III]": "t1_riss_3_hr", "high_risk_cyto[yes]": "t1_hrcyto_yes_hr",
    "hgg700_baseline[yes]": "t1_hgg700_yes_hr", "hgg400_baseline[yes]": "t1_hgg400_yes_hr",
}
#: Supplementary Table 1's adjusted hazard ratios: term of
#: :func:`analysis.study.cox.multivariable_cox` -> id.
MULTIVARIABLE_IDS: dict[str, str] = {
    "age_per_5y": "s1_age_ahr", "years_dx_per_5y": "s1_years_dx_to_dara_ahr",
    "lines": "s1_lines_ahr", "prior_infections": "s1_prior_infections_ahr",
    "sex[F]": "s1_female_ahr", "heavy_chain[IgG]": "s1_heavy_igg_ahr",
    "heavy_chain[IgA]": "s1_heavy_iga_ahr", "heavy_chain[IgD]": "s1_heavy_igd_ahr",
    "heavy_chain[IgE]": "s1_heavy_ige_ahr", "heavy_chain[IgM]": "s1_heavy_igm_ahr",
    "light_chain[kappa]": "s1_light_kappa_ahr", "light_chain[both]": "s1_light_both_ahr",
    "iss[II]": "s1_iss_2_ahr", "iss[III]": "s1_iss_3_ahr",
    "high_risk_cyto[yes]": "s1_hrcyto_yes_ahr", "hgg700_baseline[yes]": "s1_hgg_baseline_yes_ahr",
}
_COX_MODEL_IDS = {"univariable": UNIVARIABLE_IDS, "multivariable": MULTIVARIABLE_IDS}
#: Table 1's descriptive ids are ``t1_<code>_<group>_<stat>`` (numeric rows) and
#: ``t1_<code>_<level code>_<group>_<stat>`` (category rows); the codes of each
#: :data:`analysis.study.cox.T1_NUMERIC` column, :data:`~analysis.study.cox.T1_LEVELS` column and
#: level, and group.
T1_NUMERIC_CODES: dict[str, str] = {
    "age": "age", "months_on_dara": "months_on_dara", "years_dx": "years_dx_to_dara",
    "lines": "lines", "prior_infections": "prior_infections",
}
T1_LEVEL_CODES: dict[str, tuple[str, dict[str, str]]] = {
    "sex": ("sex", {"M": "male", "F": "female"}),
    "prior_infections_cat": ("prior_inf", {"0": "0", "1": "1", "2": "2", "3": "3", "4+": "4plus"}),
    "heavy_chain": ("heavy", {"none": "none", "IgG": "igg", "IgA": "iga", "IgD": "igd",
                              "IgE": "ige", "IgM": "igm"}),
    "light_chain": ("light", {"lambda": "lambda", "kappa": "kappa", "both": "both"}),
    "iss": ("iss", {"I": "1", "II": "2", "III": "3"}),
    "riss": ("riss", {"I": "1", "II": "2", "III": "3"}),
    "high_risk_cyto": ("hrcyto", {"no": "no", "yes": "yes"}),
    "hgg700_baseline": ("hgg700", {"no": "no", "yes": "yes"}),
    "hgg400_baseline": ("hgg400", {"no": "no", "yes": "yes"}),
}
T1_GROUP_CODES: dict[str, str] = {"ivig": "ivig", "reference": "ref"}


def cox_ids(results: pd.DataFrame, model: str) -> pd.DataFrame:
    """``results`` of :func:`analysis.study.cox.univariable_cox` (``model="univariable"``) or
    ``multivariable_cox`` (``"multivariable"``) with a ``target_id`` column: the paper's id of each
    term (None for terms the paper does not print, e.g. reference levels).

    Examples
    --------
    >>> r = pd.DataFrame({"term": ["sex[M]", "sex[F]"]})
    >>> cox_ids(r, "multivariable")["target_id"].tolist()
    [None, 's1_female_ahr']
    """
    if model not in _COX_MODEL_IDS:
        raise ValueError(f"model {model!r}: choose univariable or multivariable")
    ids = _COX_MODEL_IDS[model]
    return results.assign(target_id=[ids.get(term) for term in results["term"]])


def table1_ids(baseline: pd.DataFrame) -> pd.DataFrame:
    """:func:`analysis.study.cox.baseline_characteristics` with the paper's id of each cell:
    columns ``target_n, target_pct`` (category rows) and ``target_median, target_min,
    target_max`` (numeric rows); None where the paper has no such cell (the ``patients`` rows:
    their ids are ``t1_n_ivig``/``t1_n_ref``).

    Examples
    --------
    >>> b = pd.DataFrame({"covariate": ["age", "sex"], "level": [None, "F"],
    ...                   "group": ["ivig", "reference"]})
    >>> table1_ids(b)[["target_median", "target_pct"]].to_numpy().tolist()
    [['t1_age_ivig_median', None], [None, 't1_sex_female_ref_pct']]
    """
    stats = {"target_n": "n", "target_pct": "pct", "target_median": "median",
             "target_min": "min", "target_max": "max"}
    cells: dict[str, list[str | None]] = {col: [] for col in stats}
    for cov, level, group in baseline[["covariate", "level", "group"]].itertuples(index=False):
        g = T1_GROUP_CODES[group]
        if cov in T1_NUMERIC_CODES:
            stem, kinds = f"t1_{T1_NUMERIC_CODES[cov]}_{g}", ("median", "min", "max")
        elif cov in T1_LEVEL_CODES:
            code, levels = T1_LEVEL_CODES[cov]
            stem, kinds = f"t1_{code}_{levels[level]}_{g}", ("n", "pct")
        else:
            stem, kinds = "", ()
        for col, stat in stats.items():
            cells[col].append(f"{stem}_{stat}" if stat in kinds else None)
    return baseline.assign(**cells)


def _spec_ids(specs: Iterable[CovariateSpec], model: str = "univariable") -> frozenset[str]:
    ids = _COX_MODEL_IDS[model]
    covariates = {spec.covariate for spec in specs}
    return frozenset(tid for term, tid in ids.items() if term.split("[")[0] in covariates)


def _aliases(ids: frozenset[str]) -> frozenset[str]:
    """``ids`` and the ids that restate one of them (:data:`SAME_AS`, :data:`REDUCTIONS`)."""
    return ids | {t for t, other in {**SAME_AS, **REDUCTIONS}.items() if other in ids}


#: Ids whose value is an SCCS estimate (:data:`analysis.study.models.PAPER_MODELS`), with the ids
#: that restate one.
SCCS_IDS: frozenset[str] = _aliases(frozenset(t[1] for ids in SCCS_MODEL_IDS.values()
                                               for t in ids))
#: Ids whose value is a Cox hazard ratio (Table 1, Supplementary Table 1), with the ids that
#: restate one.
COX_IDS: frozenset[str] = _aliases(frozenset(UNIVARIABLE_IDS.values())
                                   | frozenset(MULTIVARIABLE_IDS.values()))


def estimate_of(target_id: str) -> tuple[str, str] | None:
    """``(outcome, term)`` of the SCCS effect the value of ``target_id`` estimates, or None.

    Read from :data:`SCCS_MODEL_IDS` and :data:`analysis.study.models.PAPER_MODELS` (the model
    behind each SCCS id), with
    the ids that restate one (:data:`REDUCTIONS`) and :data:`CRUDE_ESTIMATES`.

    Examples
    --------
    >>> estimate_of("sccs_allgrade_irr_adj_season"), estimate_of("abs_g34_reduction_pct")
    (('all', 'on_ivig'), ('grade3', 'on_ivig'))
    >>> estimate_of("t1_n_ivig") is None
    True
    """
    target_id = REDUCTIONS.get(target_id, target_id)
    if target_id in CRUDE_ESTIMATES:
        return CRUDE_ESTIMATES[target_id]
    outcomes = {m.model: m.outcome for m in PAPER_MODELS}
    for model, ids in SCCS_MODEL_IDS.items():
        for term, tid, _ in ids:
            if tid == target_id:
                return outcomes[model], term
    return None


def num(x: Any) -> float:
    """A value as a float (``"NA"``, ``None``, booleans and other strings -> NaN).

    Examples
    --------
    >>> num(0.57), num("NA")
    (0.57, nan)
    """
    if x is None or isinstance(x, (str, bool)):
        return float("nan")
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def _measured_scale(per_unit: pd.Series, raw: np.ndarray) -> float:
    """The factor the Cox data divides a covariate by, measured on its output (``raw / scaled``).

    The Cox module writes ``age_at_dara / 5``; reading the factor back from its data compares the
    paper's "per 5 years" with what the code does, not with a number typed here.
    """
    scaled = per_unit.to_numpy(float)
    ok = np.isfinite(scaled) & np.isfinite(raw) & (scaled != 0)
    return float(np.median(raw[ok] / scaled[ok])) if ok.any() else float("nan")


def design_values(cohort: Cohort | None = None) -> dict[str, tuple[float, str]]:
    """The analysis code's value of each design parameter, with where it is read from.

    Constants come from :mod:`analysis.study` (windows, thresholds) and
    :data:`analysis.study.descriptive.LAB_THRESHOLDS`; the Cox scales are measured on
    :func:`analysis.study.cox.cox_data` of ``cohort`` (the code has them inline), so they are
    omitted without a cohort.

    Examples
    --------
    >>> design_values()["dp_on_ivig_window_days"][0]
    30
    """
    from analysis import study
    from analysis.study.descriptive import LAB_THRESHOLDS

    pre_short, pre_long = study.PRE_WINDOWS
    any_, moderate, severe = study.HGG_THRESHOLDS
    before, after = study.BASELINE_IGG_WINDOW
    lab_low, lab_high = LAB_THRESHOLDS
    out: dict[str, tuple[float, str]] = {
        "dp_obs_end_days_after_last_dara": (study.OBS_TAIL_DAYS, "study.OBS_TAIL_DAYS"),
        "dp_on_ivig_window_days": (study.ON_IVIG_DAYS, "study.ON_IVIG_DAYS"),
        "dp_pre_window_short_days": (pre_short, "study.PRE_WINDOWS[0]"),
        "dp_pre_window_long_days": (pre_long, "study.PRE_WINDOWS[1]"),
        "dp_hgg_threshold": (any_, "study.HGG_THRESHOLDS[0]"),
        "dp_moderate_hgg_high": (moderate, "study.HGG_THRESHOLDS[1]"),
        "dp_moderate_hgg_low": (severe, "study.HGG_THRESHOLDS[2]"),
        "dp_severe_hgg_threshold": (severe, "study.HGG_THRESHOLDS[2]"),
        "dp_baseline_igg_window_before_days": (-before, "-study.BASELINE_IGG_WINDOW[0]"),
        "dp_baseline_igg_window_after_days": (after, "study.BASELINE_IGG_WINDOW[1]"),
        "dp_anc_threshold_low": (lab_low, "descriptive.LAB_THRESHOLDS[0] (ANC and ALC)"),
        "dp_anc_threshold_high": (lab_high, "descriptive.LAB_THRESHOLDS[1] (ANC and ALC)"),
        "dp_alc_threshold_low": (lab_low, "descriptive.LAB_THRESHOLDS[0] (ANC and ALC)"),
        "dp_alc_threshold_high": (lab_high, "descriptive.LAB_THRESHOLDS[1] (ANC and ALC)"),
    }
    if cohort is not None:
        from analysis.study import cox

        data = cox.cox_data(cohort)
        age = pd.to_numeric(cohort.patients["age_at_dara"], errors="coerce").to_numpy(float)
        out["dp_cox_age_scale_years"] = (round(_measured_scale(data["age_per_5y"], age), 9),
                                         "measured: age_at_dara / cox_data age_per_5y")
        obs = study.observation_periods(cohort)
        ydx = (obs["start_day"].to_numpy(float)
               - study.to_day(cohort.patients["diagnosis_date"])) / study.DAYS_PER_YEAR
        out["dp_cox_years_dx_scale_years"] = (
            round(_measured_scale(data["years_dx_per_5y"], ydx), 9),
            "measured: years from diagnosis / cox_data years_dx_per_5y")
    return out


class _Rows:
    """Collects one row per id; the first value put for an id wins."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def put(self, tid: str, value: Any, source: str, definition: str = "",
            ci: tuple[Any, Any] = (np.nan, np.nan), p: Any = np.nan,
            n_events: Any = np.nan, denominator: Any = np.nan) -> None:
        if tid in self.rows:
            return
        self.rows[tid] = {"target_id": tid, "value": num(value), "ci_low": num(ci[0]),
                          "ci_high": num(ci[1]), "p": num(p), "n_events": num(n_events),
                          "denominator": num(denominator), "source": source,
                          "definition": definition}

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows.values()), columns=VALUE_COLUMNS)


def _rates(cohort: Cohort) -> dict[str, pd.DataFrame]:
    """:func:`analysis.study.descriptive.infection_rates` of all infections and of grade 3-4,
    computed once for the rows that read them."""
    from analysis.study.descriptive import infection_rates

    return {"all": infection_rates(cohort), "grade3": infection_rates(cohort, "grade3")}


# --- the descriptive quantities' ids ------------------------------------------------------------
def descriptive_values(cohort: Cohort) -> pd.DataFrame:
    """Our value for each descriptive ``targets.yaml`` id the cohort can answer.

    Columns ``target_id, value, definition``. Where the paper's definition is unknown, several
    rows share one id, each with its ``definition`` (e.g. pooled vs mean per-patient rates); the
    first row of an id is the reading this project considers most defensible (inconsistencies.md).
    Percentages on a 0-100 scale, months = days / 30.4375. Every quantity is computed by
    :mod:`analysis.study.descriptive`; this function names them by the paper's ids.
    """
    from analysis.study.descriptive import (
        hgg_time_comparison,
        infection_rates,
        infection_summary,
        ivig_share_by_season,
        labs_at_infection,
        patient_summary,
        sites_and_organisms,
    )

    ps = patient_summary(cohort)
    rows: list[tuple[str, float, str]] = []

    def add(tid: str, value: float, definition: str = "") -> None:
        rows.append((tid, float(value) if value is not None else np.nan, definition))

    def dist(prefix: str, s: pd.Series, scale: float = 1.0, what: str = "") -> None:
        s = s.dropna() * scale
        for stat, fn in (("median", "median"), ("min", "min"), ("max", "max")):
            add(f"{prefix}_{stat}", getattr(s, fn)() if len(s) else np.nan, what)

    iv = ps[ps["group"] == "ivig"]
    ref = ps[ps["group"] == "reference"]
    add("t2_n", len(iv))
    for t, name in ((700, "any"), (400, "moderate_or_worse"), (200, "severe")):
        n = int(iv[f"ever_below_{t}"].sum())
        add(f"t2_hgg_lt{t}_n", n, "lowest functional IgG measured during observation < t")
        add(f"t2_hgg_lt{t}_pct", 100.0 * n / len(iv) if len(iv) else np.nan)
        add(f"res1_hgg_{name}_pct", 100.0 * n / len(iv) if len(iv) else np.nan)
    add("res2_hgg_any_pct_ref", 100.0 * ref["ever_below_700"].mean())
    add("res2_hgg_any_pct_ivig", 100.0 * iv["ever_below_700"].mean())
    add("res2_hgg_moderate_or_worse_n", ref["ever_below_400"].sum())
    add("res2_hgg_moderate_or_worse_pct", 100.0 * ref["ever_below_400"].mean())
    add("res2_hgg_severe_n", ref["ever_below_200"].sum())
    add("res2_hgg_severe_pct", 100.0 * ref["ever_below_200"].mean())
    dist("t2_igg_pre_dara", iv["baseline_igg"], what="first IgG in dara_start-90..+10")
    add("res1_igg_pre_dara_median", iv["baseline_igg"].median())
    dist("t2_igg_pre_ivig", iv["igg_before_first_ivig"], what="IgG level on first IVIG day")
    add("res1_igg_at_ivig_start_median", iv["igg_before_first_ivig"].median())
    dist("t2_on_ivig_days_prop", iv["prop_days_on_ivig"], 100.0, "on-IVIG days / observed days")
    add("res1_on_ivig_days_prop_median", 100.0 * iv["prop_days_on_ivig"].median())
    dist("t2_time_to_first_infection", iv["time_to_first_infection_months"],
         what="first onset - dara_start, days / 30.4375")
    add("res1_time_to_first_infection_median", iv["time_to_first_infection_months"].median())
    dist("res1_time_to_first_ivig", iv["time_to_first_ivig_months"])
    dist("res1_ivig_duration", iv["ivig_months"],
         what="first to last dose + 30 days, / 30.4375")
    dist("res1_ivig_doses", iv["n_ivig_doses"], what="doses in observation")
    add("res2_months_on_dara_median_ref", ref["months_on_dara"].median())
    add("res2_months_on_dara_median_ivig", iv["months_on_dara"].median())
    hgg = hgg_time_comparison(cohort).set_index("group")
    for stat in ("median", "pooled", "mean"):
        add("res1_time_with_hgg_pct", 100.0 * hgg.loc["ivig", stat], f"{stat} share of days < 700")
        add("res2_time_with_hgg_pct_ivig", 100.0 * hgg.loc["ivig", stat], stat)
        add("res2_time_with_hgg_pct_ref", 100.0 * hgg.loc["reference", stat], stat)

    for grp, pre in (("ivig", "res1"), ("reference", "res2")):
        labs = labs_at_infection(cohort, grp).set_index(["lab", "grade_group", "threshold"],
                                                        drop=False)
        for lab in ("anc", "alc"):
            d = labs[(labs["lab"] == lab) & (labs["grade_group"] == "all")
                     & labs["threshold"].isna()].iloc[0]
            for stat in ("median", "min", "max"):
                add(f"{pre}_{lab}_at_infection_{stat}", d[stat])
                if grp == "ivig":
                    add(f"t2_{lab}_at_infection_{stat}", d[stat])
        sel = labs[labs["threshold"].notna()]
        pct = sel.set_index(["lab", "grade_group", "threshold"])["pct_below"]
        add(f"{pre}_g4_neutropenia_in_g34_pct", pct.get(("anc", "3-4", 0.5), np.nan),
            "ANC < 0.5 among grade 3-4 infections with ANC")
        add(f"{pre}_alc_lt05_in_g34_pct", pct.get(("alc", "3-4", 0.5), np.nan))
        if grp == "ivig":
            for lab in ("anc", "alc"):
                for thr, code in ((0.5, "05"), (1.0, "10")):
                    for gg, gcode in (("1-2", "g12"), ("3-4", "g34")):
                        add(f"t2_{lab}_lt{code}_{gcode}_pct", pct.get((lab, gg, thr), np.nan))

    summary = infection_summary(cohort).set_index(["group", "quantity"])["value"]
    for grp, pre in (("ivig", "res1"), ("reference", "res2")):
        add(f"{pre}_patients_with_infection_n", summary[(grp, "patients_with_infection")])
        add(f"{pre}_patients_with_infection_pct", summary[(grp, "pct_patients_with_infection")])
        add(f"{pre}_infections_total", summary[(grp, "infections")])
        add(f"{pre}_g34_patients_n", summary[(grp, "patients_with_g34")])
        add(f"{pre}_g34_patients_pct", summary[(grp, "pct_patients_with_g34")])
        add(f"{pre}_fatal_infections_n", summary[(grp, "fatal_infections")])
    add("res1_infections_at_progression_pct",
        summary[("ivig", "pct_infections_at_progression")], "onset within p..p+29")
    so = sites_and_organisms(cohort).set_index(["group", "category"])["pct"]
    for grp, pre in (("ivig", "res1"), ("reference", "res2")):
        add(f"{pre}_site_respiratory_pct", so.get((grp, "respiratory"), np.nan))
        add(f"{pre}_site_lower_respiratory_pct", so.get((grp, "lower_respiratory"), np.nan))
        for o in ("bacterial", "viral", "fungal"):
            add(f"{pre}_micro_{o}_pct", so.get((grp, o), np.nan), "of confirmed infections")

    rates = infection_rates(cohort).set_index(["period", "season"])
    for stat, what in (("rate_pooled", "pooled"), ("rate_mean", "mean of per-patient rates")):
        add("res1_rate_fall_winter", rates.loc[("ivig_all", "fall_winter"), stat], what)
        add("res1_rate_spring_summer", rates.loc[("ivig_all", "spring_summer"), stat], what)
    for stat, what in (("rate_mean", "mean of per-patient rates"), ("rate_pooled", "pooled")):
        add("res1_rate_on_ivig", rates.loc[("on_ivig", "all"), stat], what)
        add("res1_rate_observation", rates.loc[("observation", "all"), stat], what)
    if ("reference", "all") in rates.index:
        add("res2_rate_allgrade", rates.loc[("reference", "all"), "rate_pooled"], "pooled")
        g34 = infection_rates(cohort, "grade3").set_index(["period", "season"])
        add("res2_rate_g34", g34.loc[("reference", "all"), "rate_pooled"], "pooled")
    share = ivig_share_by_season(cohort).set_index("season")["share"]
    add("res1_on_ivig_share_fall_winter_pct", 100.0 * share.get("fall_winter", np.nan))
    add("res1_on_ivig_share_spring_summer_pct", 100.0 * share.get("spring_summer", np.nan))
    return pd.DataFrame(rows, columns=["target_id", "value", "definition"])


def _descriptive(out: _Rows, cohort: Cohort, rates: dict[str, pd.DataFrame]) -> None:
    """Counts, percentages, medians, rates and laboratory values
    (:func:`descriptive_values`; first reading of each id, the others in ``definition``), with
    the infections behind each rate and count."""
    from analysis.study.descriptive import sites_and_organisms

    so = sites_and_organisms(cohort)
    confirmed = so[so["category"].isin(_ORGANISMS)].groupby("group")["n"].sum()
    denominators = {f"{pre}_micro_{o}_pct": int(confirmed.get(grp, 0))  # of confirmed infections
                    for grp, pre in (("ivig", "res1"), ("reference", "res2")) for o in _ORGANISMS}
    for tid, g in descriptive_values(cohort).groupby("target_id", sort=False):
        first = g.iloc[0]
        others = "; ".join(f"{d or 'other reading'}: {v:.4g}" for d, v in
                           zip(g["definition"].iloc[1:], g["value"].iloc[1:], strict=True))
        definition = first["definition"] or ""
        if others:
            definition = f"{definition or 'first reading'} (also {others})"
        n_ev = np.nan
        if tid in RATE_CELLS:
            outcome, period, season = RATE_CELLS[str(tid)]
            r = rates[outcome]
            hit = r[(r["period"] == period) & (r["season"] == season)]
            n_ev = float(hit["events"].iloc[0]) if len(hit) else np.nan
        elif str(tid).endswith("_infections_total"):
            n_ev = first["value"]
        out.put(str(tid), first["value"], "descriptive", definition, n_events=n_ev,
                denominator=denominators.get(str(tid), np.nan))


def _sccs(out: _Rows, cohort: Cohort, want: frozenset[str] | None) -> dict[str, pd.Series]:
    """The paper's SCCS models (:func:`analysis.study.sccs_menu`), those behind an id of ``want``
    only (every model when ``want`` is None); returns the rows by id."""
    from analysis import study

    models = [m for m in PAPER_MODELS
              if want is None or any(t[1] in want for t in SCCS_MODEL_IDS.get(m.model, ()))]
    if not models:
        return {}
    menu = sccs_ids(study.sccs_menu(cohort, models))
    menu = menu[menu["target_id"].notna()]
    for _, r in menu.iterrows():
        note = r["note"] if isinstance(r["note"], str) else ""
        label = f"SCCS: {r['label']}"
        if r["target_scale"] == "reduction_pct":
            out.put(r["target_id"], 100.0 * (1.0 - r["irr"]), "sccs",
                    f"{label}; 100 (1 - IRR)",
                    (100.0 * (1.0 - r["ci_high"]), 100.0 * (1.0 - r["ci_low"])), r["p"])
        else:
            out.put(r["target_id"], r["irr"], "sccs",
                    f"{label}. {note}".strip(". ") if note else label,
                    (r["ci_low"], r["ci_high"]), r["p"])
    return {r["target_id"]: r for _, r in menu.iterrows()}


def _cox_fits(out: _Rows, data: pd.DataFrame, want: frozenset[str] | None) -> None:
    """Table 1's univariable and Supplementary Table 1's multivariable Cox models
    (:mod:`analysis.study.cox`), those behind an id of ``want`` only (all when None). Each
    univariable model is one covariate's, so fitting a subset gives the same rows."""
    from analysis.study import cox

    uni = [s for s in TABLE1_COVARIATES if want is None or not want.isdisjoint(_spec_ids([s]))]
    fits = []
    if uni:
        fits.append((cox_ids(cox.univariable_cox(data, tuple(uni)), "univariable"),
                     "univariable Cox"))
    if want is None or not want.isdisjoint(_spec_ids(MULTIVARIABLE_COVARIATES, "multivariable")):
        fits.append((cox_ids(cox.multivariable_cox(data), "multivariable"), "multivariable Cox"))
    for res, what in fits:
        for _, r in res[res["target_id"].notna()].iterrows():
            out.put(r["target_id"], r["hr"], "cox", f"{what}, {int(r['n'])} patients",
                    (r["ci_low"], r["ci_high"]), r["p"])


def _cox(out: _Rows, cohort: Cohort, want: frozenset[str] | None) -> pd.DataFrame:
    """Table 1 and Supplementary Table 1 (:mod:`analysis.study.cox`); returns the Cox data."""
    from analysis.study import cox

    data = cox.cox_data(cohort)
    _cox_fits(out, data, want)
    for _, r in table1_ids(cox.baseline_characteristics(data)).iterrows():
        for stat in ("n", "pct", "median", "min", "max"):
            tid = r.get(f"target_{stat}")
            if isinstance(tid, str):
                out.put(tid, r[stat], "baseline", "of patients with the value recorded"
                        if stat == "pct" else "",
                        denominator=r["n_recorded"] if stat == "pct" else np.nan)
    groups = data["group"].value_counts()
    out.put("t1_n_ivig", int(groups.get("ivig", 0)), "baseline", "patients in the IVIG group")
    out.put("t1_n_ref", int(groups.get("reference", 0)), "baseline",
            "patients in the reference group")
    return data


def _results_text(out: _Rows, cohort: Cohort) -> None:
    """Results-text quantities of the IVIG group read from ``patients.csv`` and ``ivig.csv``:
    prophylaxis, prior transplant, response, IVIG dose range, 5-year overall survival."""
    p = cohort.patients
    iv = (p["group"] == "ivig").to_numpy()
    pi = p[iv]
    n_iv = int(iv.sum())
    for kind in ("antiviral", "antibacterial", "antifungal"):
        c = int((pi[f"{kind}_ppx"].astype("string") == "yes").sum())
        out.put(f"res1_{kind}_ppx_n", c, "descriptive", "patients with the prophylaxis")
        out.put(f"res1_{kind}_ppx_pct", 100.0 * c / n_iv if n_iv else np.nan, "descriptive",
                "of all IVIG patients")
    asct = pi["prior_asct"].astype("string")
    out.put("res1_prior_asct_pct", 100.0 * (asct == "yes").sum() / max(int(asct.notna().sum()), 1),
            "descriptive", "of patients with the value recorded")
    resp = pi["best_response"].astype("string")
    out.put("res1_orr_pct", 100.0 * resp.isin(_RESPONDERS).sum() / max(int(resp.notna().sum()), 1),
            "descriptive", "PR or better among known responses")
    doses = cohort.ivig.merge(pi[["patient_id"]], on="patient_id")["dose_g_per_kg"]
    doses = pd.to_numeric(doses, errors="coerce").dropna()
    if len(doses):
        out.put("res1_ivig_dose_low", doses.min(), "descriptive", "smallest recorded dose")
        out.put("res1_ivig_dose_high", doses.max(), "descriptive", "largest recorded dose")
    out.put("res1_os_5yr_pct", _os_at(cohort, iv, 5.0), "descriptive",
            "Kaplan-Meier from the first daratumumab dose; censored at last contact (else at the "
            "end of observation)")


def _os_at(cohort: Cohort, rows: np.ndarray, years: float) -> float:
    """Kaplan-Meier overall survival (percent) ``years`` after the first daratumumab dose."""
    from lifelines import KaplanMeierFitter

    from analysis.study import DAYS_PER_YEAR, observation_periods, to_day

    p = cohort.patients[rows]
    start = to_day(p["dara_start"]).astype(float)
    death = pd.to_datetime(p["death_date"], errors="coerce")
    contact = pd.to_datetime(p["last_contact"], errors="coerce") if "last_contact" in p else None
    end_obs = observation_periods(cohort)["end_day"].to_numpy(float)[rows]
    dead = death.notna().to_numpy()
    end = np.where(dead, to_day(death.fillna(p["dara_start"])), end_obs)
    if contact is not None:
        known = contact.notna().to_numpy() & ~dead
        end = np.where(known, to_day(contact.fillna(p["dara_start"])), end)
    if not len(end):
        return float("nan")
    km = KaplanMeierFitter().fit(np.maximum(end - start, 0.0), dead)
    return 100.0 * float(km.survival_function_at_times(years * DAYS_PER_YEAR).iloc[0])


def _derived(out: _Rows, cohort: Cohort, data: pd.DataFrame,
             by_outcome: dict[str, pd.DataFrame]) -> None:
    """The cohort's own version of each arithmetic consequence (``drv_*``)."""
    from analysis.study.descriptive import labs_at_infection

    rates = by_outcome["all"].set_index(["period", "season"])
    rates3 = by_outcome["grade3"].set_index(["period", "season"])

    def cell(t: pd.DataFrame, period: str, col: str) -> float:
        return float(t.loc[(period, "all"), col]) if (period, "all") in t.index else np.nan

    out.put("drv_rate_ratio_on_off", cell(rates, "on_ivig", "rate_pooled")
            / cell(rates, "observation", "rate_pooled"), "descriptive",
            "pooled on/off-IVIG ratio")
    out.put("drv_reference_person_years", cell(rates, "reference", "person_years"),
            "descriptive")
    out.put("drv_reference_g34_infections", cell(rates3, "reference", "events"), "descriptive",
            n_events=cell(rates3, "reference", "events"))
    py = cell(rates, "ivig_all", "person_years")
    for tid in ("drv_ivig_person_years_from_on_off_rates",
                "drv_ivig_person_years_from_seasonal_rates",
                "drv_ivig_person_years_from_median_followup"):
        out.put(tid, py, "descriptive", "the IVIG group's observed patient-years")
    for grp, ids in (("ivig", {"1-2": "drv_table2_g12_infections_with_labs",
                               "3-4": "drv_table2_g34_infections_with_labs"}),
                     ("reference", {"3-4": "drv_ref_g34_infections_with_labs"})):
        labs = labs_at_infection(cohort, grp)
        anc = labs[(labs["lab"] == "anc") & labs["threshold"].isna()].set_index("grade_group")
        for gg, tid in ids.items():
            n = anc["n"].get(gg, np.nan)
            out.put(tid, n, "descriptive", "infections with an ANC value", n_events=n)
    prior = data["prior_infections"].notna()
    for grp, tid in (("ivig", "drv_prior_inf_cat_n_ivig"),
                     ("reference", "drv_prior_inf_cat_n_ref")):
        out.put(tid, int((prior & (data["group"] == grp)).sum()), "baseline",
                "patients with a prior-infection count")
    lines = data.loc[data["group"] == "ivig", "lines"]
    out.put("disc_ivig_not_relapsed_n", int((lines == 0).sum()), "baseline",
            "IVIG patients with no prior line of therapy")
    doses = cohort.ivig.groupby("patient_id").size()
    ivig_ids = cohort.patients.loc[cohort.patients["group"] == "ivig", "patient_id"]
    fewest = doses.reindex(ivig_ids).fillna(0)
    if len(fewest):
        for tid in ("dp_ivig_min_doses_methods", "dp_ivig_min_doses_results"):
            out.put(tid, int(fewest.min()), "descriptive",
                    "no dose rule in the code: the fewest doses of an IVIG patient in ivig.csv")


def our_values(cohort: Cohort, ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Our value for each ``targets.yaml`` id the cohort can answer (see the module doc).

    Columns :data:`VALUE_COLUMNS`; one row per id. Ids that restate another quantity
    (:data:`SAME_AS`, :data:`REDUCTIONS`) take that quantity's value, CI and p.

    ``ids``: only these ids (in the order of the full table, with the same values); the SCCS and
    Cox models are fitted only for the ids of :data:`SCCS_IDS` and :data:`COX_IDS` asked for.
    Ids the cohort cannot answer are left out, as without the filter.

    Examples
    --------
    >>> from analysis import SYNTHETIC_DIR
    >>> from analysis.study import load_cohort
    >>> cohort = load_cohort(SYNTHETIC_DIR)
    >>> v = our_values(cohort).set_index("target_id")
    >>> int(v.loc["t1_n_ivig", "value"]), v.loc["sccs_allgrade_irr", "source"]
    (43, 'sccs')
    >>> our_values(cohort, ids=["res1_infections_total", "t1_n_ref"])["value"].tolist()
    [155.0, 100.0]
    """
    want = None if ids is None else frozenset(ids)
    need = None if want is None else want | {SAME_AS[t] for t in want if t in SAME_AS} | {
        REDUCTIONS[t] for t in want if t in REDUCTIONS}
    out = _Rows()
    rates = _rates(cohort)
    _descriptive(out, cohort, rates)
    sccs = _sccs(out, cohort, need)
    data = _cox(out, cohort, need)
    _results_text(out, cohort)
    for tid, other in SAME_AS.items():
        if other in out.rows:
            r = out.rows[other]
            out.put(tid, r["value"], r["source"], f"as {other}", (r["ci_low"], r["ci_high"]),
                    r["p"], r["n_events"], r["denominator"])
    for tid, other in REDUCTIONS.items():
        if other in sccs:
            r = sccs[other]
            out.put(tid, 100.0 * (1.0 - r["irr"]), "sccs", f"100 (1 - IRR of {other})",
                    (100.0 * (1.0 - r["ci_high"]), 100.0 * (1.0 - r["ci_low"])), r["p"])
    for tid, (v, where) in design_values(cohort).items():
        out.put(tid, v, "design", f"constant of the analysis code: {where}")
    _derived(out, cohort, data, rates)
    frame = out.frame()
    if want is None:
        return frame
    return frame[frame["target_id"].isin(want)].reset_index(drop=True)
