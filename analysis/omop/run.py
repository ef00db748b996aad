"""OHDSI's ``runSccsAnalyses``: every exposures-outcome set under every analysis.

For each (set, analysis) pair left by ``analyses_to_exclude``: fetch the set's
:class:`~analysis.omop.sccs_data.SccsData` (one fetch per distinct exposures, outcome, nesting
cohort and data arguments; ``fetch`` is the extraction), build the study population
(:mod:`analysis.omop.population`, ``restrict_time_to_era_id`` resolved for this set), the interval
data (:mod:`analysis.omop.design`), fit (:mod:`analysis.omop.fit`) and collect one result row per
exposure-of-interest covariate with its diagnostics (:mod:`analysis.omop.diagnostics`). The rows
and tables are what :mod:`analysis.omop.export` writes.

``exposures_outcome_set_id`` is OHDSI's: MurmurHash3 (x86, 32 bit, seed 0) of
``"<outcome id> <nesting cohort id or NA> <exposure ids separated by spaces>"``, minus 2^31, so
the same set has the same id on every machine and in every run.

Examples
--------
>>> exposures_outcome_set_id(3, None, [1, 2])
284001738
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from analysis.omop.design import END_OF_OBSERVATION_ID, IntervalData, build_interval_data
from analysis.omop.diagnostics import outcome_rate_per_month, p_values, row_diagnostics
from analysis.omop.eventdep import CensorModel, fit_censor_model, segment_weights
from analysis.omop.fit import SccsModel, fit_sccs_model, no_model
from analysis.omop.fit_prior import fit_with_prior, regularized_ids
from analysis.omop.population import StudyPopulation, create_study_population
from analysis.omop.spec import (
    ExposuresOutcome,
    GetDbSccsDataArgs,
    SccsAnalysesSpecifications,
    SccsAnalysis,
)
from analysis.omop.tables import time_to_event
from analysis.omop.time_effects import month_log_rr
from analysis.sccs import SCCSWarning

__all__ = ["PairResult", "exposures_outcome_set_id", "murmur3_32", "run_analyses"]

#: fetch(exposure_ids, outcome_id, nesting_cohort_id, get_db_sccs_data_args) -> SccsData
Fetch = Callable[[tuple[int, ...], int, "int | None", GetDbSccsDataArgs], Any]


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit (Appleby), as R's ``digest(algo = "murmur32")``.

    Examples
    --------
    >>> hex(murmur3_32(b"hello"))
    '0x248bfa47'
    """
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    n = len(data) // 4 * 4
    for i in range(0, n, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[n:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    return h ^ (h >> 16)


def exposures_outcome_set_id(outcome_id: int, nesting_cohort_id: int | None,
                             exposure_ids: list[int]) -> int:
    """OHDSI's id of an exposures-outcome set (see the module docstring)."""
    nesting = "NA" if nesting_cohort_id is None else str(nesting_cohort_id)
    text = f"{outcome_id} {nesting} {' '.join(str(e) for e in exposure_ids)}"
    return murmur3_32(text.encode("utf-8")) - 2**31


@dataclass
class PairResult:
    """Everything one (set, analysis) pair contributes to the results tables."""

    set_id: int
    analysis: SccsAnalysis
    eo: ExposuresOutcome
    era_ref: pd.DataFrame
    population: StudyPopulation
    data: IntervalData
    model: SccsModel
    rows: list[dict[str, Any]] = field(default_factory=list)
    time_to_event: dict[int, pd.DataFrame] = field(default_factory=dict)
    rates: pd.DataFrame | None = None
    censor_model: CensorModel | None = None


def _refs(eo: ExposuresOutcome) -> dict[str, int]:
    return {e.exposure_id_ref: e.exposure_id for e in eo.exposures}


def _population(sccs_data: Any, eo: ExposuresOutcome, a: SccsAnalysis) -> StudyPopulation:
    args = a.create_study_population_args
    ref = args.restrict_time_to_era_id
    restrict = None if ref is None else eo.exposure_id(ref)
    meta = sccs_data.metadata
    return create_study_population(
        sccs_data.cases, sccs_data.eras, sccs_data.era_ref, eo.outcome_id, args,
        base_attrition=meta.get("attrition"), prevalences=meta.get("prevalences"),
        restrict_era_id=restrict)


def _run_pair(sccs_data: Any, seq: int, eo: ExposuresOutcome, a: SccsAnalysis,
              spec: SccsAnalysesSpecifications) -> PairResult:
    pop = _population(sccs_data, eo, a)
    args, censor, weights = _event_dependent(a, pop)
    data = build_interval_data(pop.cases, pop.outcomes, sccs_data.eras, args,
                               _refs(eo), sccs_data.era_ref, _study_months(sccs_data), weights)
    if len(pop.outcomes):  # OHDSI: "Error: No cases left", and no interval attrition row
        profile_ids = [o for s, ids, _ in data.settings if s.profile_likelihood for o in ids]
        eff = data.time_effects
        no_ci = {c for c, ci in eff.ci.items() if not ci}
        ref = set() if eff.season_design is None else {199 + eff.season_design.shape[1]}
        regularized = regularized_ids(data, a.interval_args)
        if regularized and a.fit_sccs_model_args.prior is not None:
            model = fit_with_prior(data.intervals, data.terms, regularized, profile_ids,
                                   a.fit_sccs_model_args, no_ci, ref)
        else:
            model = fit_sccs_model(data.intervals, data.terms, profile_ids,
                                   a.fit_sccs_model_args, no_ci, ref)
        pop = _with_interval_attrition(pop, data)
    else:
        model = no_model("Error: No cases left")
    set_id = exposures_outcome_set_id(eo.outcome_id, eo.nesting_cohort_id,
                                      [e.exposure_id for e in eo.exposures])
    result = PairResult(set_id, a, eo, sccs_data.era_ref, pop, data, model, censor_model=censor)
    eff = data.time_effects
    adjust = None
    if eff.season_design is not None or eff.calendar_design is not None:
        log_rr = model.estimates["log_rr"]

        def adjust(months: np.ndarray) -> np.ndarray:
            return month_log_rr(eff, log_rr, months)

    result.rates = outcome_rate_per_month(pop, adjust)
    result.rows = _result_rows(result, spec)
    result.time_to_event = {e.exposure_id: time_to_event(pop, sccs_data.eras, e.exposure_id)
                            for e in eo.exposures}
    return result


def _event_dependent(a: SccsAnalysis, pop: StudyPopulation) -> tuple[Any, Any, Any]:
    """(interval arguments, censoring model, segment weights) of the pair: OHDSI's
    ``addEventDependentObservationSettings`` (:mod:`analysis.omop.eventdep`) when asked and
    there are cases, the age spline dropped when an age model wins; else unchanged."""
    args = a.interval_args
    if not args.event_dependent_observation or not len(pop.outcomes):
        return args, None, None
    censor = fit_censor_model(pop.cases, pop.outcomes)
    if censor.model in (1, 3) and args.age is not None:
        warnings.warn("Optimal censoring model adjusts for age, so removing age as separate "
                      "covariate.", SCCSWarning, stacklevel=3)
        args = replace(args, age=None)
    return args, censor, partial(segment_weights, censor, pop.cases)


def _study_months(sccs_data: Any) -> list[tuple[int, int]] | None:
    """The extraction's study periods as months (``year * 12 + month - 1``), or None."""
    periods = sccs_data.metadata.get("study_periods")
    if periods is None or not len(periods):
        return None
    lo = pd.to_datetime(periods["study_start_date"])
    hi = pd.to_datetime(periods["study_end_date"])
    months = [(int(a.year * 12 + a.month - 1) if pd.notna(a) else -(2**62),
               int(b.year * 12 + b.month - 1) if pd.notna(b) else 2**62)
              for a, b in zip(lo, hi, strict=True)]
    return sorted(months)


def _with_interval_attrition(pop: StudyPopulation, data: IntervalData) -> StudyPopulation:
    """OHDSI's ``countOutcomesIntervalData``: the "Having at least one covariate" row."""
    iv = data.intervals
    cases = pop.cases[pop.cases["case_id"].isin(iv["case_id"])]
    row = {"outcome_id": pop.outcome_id, "description": "Having at least one covariate",
           "outcome_subjects": int(cases["person_id"].nunique()),
           "outcome_events": int(iv["events"].sum()),
           "outcome_observation_periods": int(iv["case_id"].nunique()),
           "observed_days": round(float(iv["days"].sum()))}  # weights: OHDSI's sum
    attrition = pd.concat([pop.attrition, pd.DataFrame([row])], ignore_index=True)
    return StudyPopulation(pop.cases, pop.outcomes, attrition, pop.outcome_id, pop.prevalence,
                           pop.restricted_time_to_era)


def _result_rows(r: PairResult, spec: SccsAnalysesSpecifications) -> list[dict[str, Any]]:
    ref, stats, est = r.data.covariate_ref, r.data.covariate_statistics, r.model.estimates
    pre_ids = [int(c) for c in ref.loc[ref["pre_exposure"], "covariate_id"]]
    last = r.population.attrition.iloc[-1]
    rows = []
    for s, out_ids, era_ids in r.data.settings:
        if not s.exposure_of_interest:
            continue
        for cid, era_id in zip(out_ids, era_ids, strict=False):
            st = stats.set_index("covariate_id").loc[cid] if cid in set(
                stats["covariate_id"]) else None
            e = est.loc[cid] if cid in est.index else None
            log_rr = float(e["log_rr"]) if e is not None else float("nan")
            se = float(e["se_log_rr"]) if e is not None else float("nan")
            p, one = p_values(log_rr, se)
            exp = [x for x in r.eo.exposures if x.exposure_id == era_id and era_id != -1]
            row = {"analysis_id": r.analysis.analysis_id, "exposures_outcome_set_id": r.set_id,
                   "covariate_id": cid, "era_id": era_id,
                   "true_effect_size": exp[0].true_effect_size if exp else None,
                   "outcome_subjects": int(last["outcome_subjects"]),
                   "outcome_events": int(last["outcome_events"]),
                   "outcome_observation_periods": int(last["outcome_observation_periods"]),
                   "observed_days": int(last["observed_days"]),
                   "covariate_subjects": 0 if st is None else int(st["person_count"]),
                   "covariate_days": 0 if st is None else int(st["day_count"]),
                   "covariate_eras": 0 if st is None else int(st["era_count"]),
                   "covariate_outcomes": 0 if st is None else int(st["outcome_count"]),
                   "log_rr": log_rr, "se_log_rr": se, "p": p, "one_sided_p": one,
                   "llr": float(e["llr"]) if e is not None else float("nan"),
                   "log_lb95": float(e["log_lb95"]) if e is not None else float("nan"),
                   "log_ub95": float(e["log_ub95"]) if e is not None else float("nan"),
                   "statistics": st}
            row.update(row_diagnostics(r.population, est, pre_ids, [END_OF_OBSERVATION_ID]
                                       if r.data.design == "SCCS" else [], st,
                                       spec.sccs_diagnostic_thresholds, r.rates))
            rows.append(row)
    return rows


def run_analyses(spec: SccsAnalysesSpecifications, fetch: Fetch) -> Iterator[PairResult]:
    """Run every (set, analysis) pair; yields one :class:`PairResult` per pair, in order.

    ``fetch`` is called once per distinct (exposure ids, outcome id, nesting cohort id, data
    arguments, with ``custom_covariate_ids``' reference names resolved to this set's ids); its
    :class:`~analysis.omop.sccs_data.SccsData` is reused by the pairs sharing it.
    """
    cache: dict[Any, Any] = {}
    for seq, eo, a in spec.pairs():
        db = a.get_db_sccs_data_args
        if db.custom_covariate_ids:  # reference names stand for this set's exposure ids
            db = replace(db, custom_covariate_ids=tuple(
                i for i in (eo.exposure_id(r) for r in db.custom_covariate_ids) if i is not None))
        nesting = eo.nesting_cohort_id if eo.nesting_cohort_id is not None else (
            db.nesting_cohort_id)
        key = (tuple(e.exposure_id for e in eo.exposures), eo.outcome_id, nesting, db)
        if key not in cache:
            cache.clear()  # one data set in memory at a time
            cache[key] = fetch(key[0], eo.outcome_id, nesting, db)
        yield _run_pair(cache[key], seq, eo, a, spec)

