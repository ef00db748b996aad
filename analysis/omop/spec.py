"""The analysis specification: OHDSI SelfControlledCaseSeries' settings objects, from YAML/JSON.

The keys are OHDSI's argument names in snake_case (``R/SettingsObjects.R`` and
``R/RunAnalyses.R`` of SelfControlledCaseSeries 6.0.0): ``createSccsAnalysesSpecifications``
becomes the top-level mapping, with

* ``exposures_outcome_list``: ``createExposuresOutcome`` (``outcome_id``, ``exposures``: a list
  of ``createExposure`` (``exposure_id``, ``exposure_id_ref`` default ``"exposureId"``,
  ``true_effect_size``: 1 marks a negative control, another value > 0 a positive control, for
  the empirical calibration of :mod:`analysis.omop.calibration`), ``nesting_cohort_id``);
* ``sccs_analysis_list``: ``createSccsAnalysis`` (``analysis_id``, ``description``,
  ``get_db_sccs_data_args``, ``create_study_population_args``, and exactly one of
  ``create_sccs_interval_data_args`` / ``create_scri_interval_data_args`` (OHDSI's
  ``createIntervalDataArgs`` holds either class; here the key says which), ``fit_sccs_model_args``);
* ``analyses_to_exclude``: rows with any of ``exposure_id``, ``outcome_id``, ``analysis_id``,
  ``nesting_cohort_id``;
* ``sccs_diagnostic_thresholds``: ``createSccsDiagnosticThresholds``; ``control_type``;
* where the eras come from, ``runSccsAnalyses``' arguments: ``exposure_table`` (``"cohort"``,
  default, or ``"drug_era"``), ``outcome_table`` (``"cohort"``, default,
  ``"condition_occurrence"`` or ``"condition_era"``), and ``cohort_definitions``: cohorts defined
  from concept sets (:func:`analysis.omop.cohorts.cohort_definitions_from_spec`), used in place of
  the CDM's cohort table for their ids; ``custom_covariate_table`` (``"cohort"``, default, or
  ``"condition_era"``), where ``custom_covariate_ids`` are read.

Every value is checked with OHDSI's own rules (``checkmate`` assertions and ``validate()``
methods), and unknown keys are refused; a problem raises :class:`OmopError` naming the key path,
e.g. ``sccs_analysis_list[0].create_study_population_args.naive_period: must be a non-negative
integer (got -1)``. List positions are counted from 0.

``max_cases_per_outcome`` samples cases per outcome with a seed (``--seed`` of ``omop run``;
OHDSI's ``NEWID()`` order is not seeded); ``custom_covariate_ids`` adds eras from
``custom_covariate_table``; ``event_dependent_observation: true`` weights the intervals by
OHDSI's censoring models (:mod:`analysis.omop.eventdep`).

A known departure: ``get_db_sccs_data_args.exposure_ids`` is parsed and its reference names
checked, but the extraction fetches every exposure of the exposures-outcome set, where OHDSI
fetches only the listed ones (default ``"exposureId"``). The results are the same whenever every
exposure an era covariate includes is listed there; where it is not, OHDSI's covariate has no
eras and ours has the set's.

``allow_regularization: true`` (era covariates, and the age, season and calendar-time splines)
puts those covariates under the prior of ``fit_sccs_model_args.prior`` (Cyclops' ``createPrior``:
``prior_type`` ``"laplace"``, ``"normal"`` or ``"none"``, ``variance``, ``use_cross_validation``;
``exclude`` is not a key: as OHDSI does, every covariate that does not allow regularisation is
excluded), its variance cross-validated with ``fit_sccs_model_args.control`` (``createControl``:
``cv_type``, ``fold``, ``cv_repetitions``, ``starting_variance``, ``seed``, ``lower_limit``,
``upper_limit``, ``grid_steps``; ``selector_type`` ``"byPid"``, ``noise_level`` and
``reset_coefficients`` are accepted and change nothing). A missing key takes the value of OHDSI's
default ``createFitSccsModelArgs()`` (Laplace with cross-validation; auto search from variance
0.1, ten folds, seed 1), not Cyclops' own defaults (a random seed, a data-based starting
variance). OHDSI's rules: a regularised era covariate cannot have ``profile_likelihood``, nor a
regularised spline ``compute_confidence_intervals``.

Examples
--------
>>> spec = parse_specification({
...     "exposures_outcome_list": [{"outcome_id": 3, "exposures": [{"exposure_id": 1}]}],
...     "sccs_analysis_list": [{
...         "analysis_id": 1,
...         "create_sccs_interval_data_args": {"era_covariate_settings": [
...             {"include_era_ids": ["exposureId"], "exposure_of_interest": True}]}}]})
>>> a = spec.sccs_analysis_list[0]
>>> a.design, a.interval_args.era_covariate_settings[0].end
('SCCS', 0)
>>> try:
...     parse_specification({"exposures_outcome_list": [], "sccs_analysis_list": []})
... except OmopError as e:
...     print(e)
exposures_outcome_list: must be a non-empty list
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.omop.cohorts import CohortDefinition, cohort_definitions_from_spec
from analysis.omop.errors import OmopError
from analysis.sccs.regularized import Control, Prior

__all__ = [
    "CreateStudyPopulationArgs",
    "EraCovariateSettings",
    "Exposure",
    "ExposuresOutcome",
    "FitSccsModelArgs",
    "GetDbSccsDataArgs",
    "IntervalDataArgs",
    "SccsAnalysesSpecifications",
    "SccsAnalysis",
    "SccsDiagnosticThresholds",
    "load_specification",
    "parse_specification",
]

_MISSING = object()
_DATE = re.compile(r"^[12][0-9]{3}[01][0-9][0-3][0-9]$")


class _Node:
    """A mapping being read, with its key path, so every error names where it is."""

    def __init__(self, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            raise OmopError(f"{path or 'specification'}: must be a mapping (got {_show(value)})")
        self.value, self.path, self.used = value, path, set()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, default: Any = _MISSING) -> Any:
        self.used.add(key)
        if key not in self.value or self.value[key] is None:
            if default is _MISSING:
                raise OmopError(f"{self.at(key)}: is required")
            return default
        return self.value[key]

    def int(self, key: str, default: Any = _MISSING, lower: int | None = None) -> Any:
        v = self.get(key, default)
        if v is default and default is not _MISSING:
            return v
        if isinstance(v, bool) or not isinstance(v, int) or (lower is not None and v < lower):
            rule = "a non-negative integer" if lower == 0 else (
                f"an integer >= {lower}" if lower is not None else "an integer")
            raise OmopError(f"{self.at(key)}: must be {rule} (got {_show(v)})")
        return v

    def number(self, key: str, default: Any = _MISSING, lower: float | None = None,
               upper: float | None = None) -> Any:
        v = self.get(key, default)
        if v is default and default is not _MISSING:
            return v
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        if not ok or (lower is not None and v < lower) or (upper is not None and v > upper):
            rule = "a finite number" + (f" >= {lower:g}" if lower is not None else "") + (
                f" <= {upper:g}" if upper is not None else "")
            raise OmopError(f"{self.at(key)}: must be {rule} (got {_show(v)})")
        return float(v)

    def bool(self, key: str, default: Any = _MISSING) -> bool:
        v = self.get(key, default)
        if not isinstance(v, bool):
            raise OmopError(f"{self.at(key)}: must be true or false (got {_show(v)})")
        return v

    def str(self, key: str, default: Any = _MISSING) -> str:
        v = self.get(key, default)
        if not isinstance(v, str):
            raise OmopError(f"{self.at(key)}: must be a string (got {_show(v)})")
        return v

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _MISSING) -> str:
        v = self.str(key, default)
        if v not in choices:
            raise OmopError(f"{self.at(key)}: must be one of {', '.join(map(repr, choices))} "
                            f"(got {_show(v)})")
        return v

    def list(self, key: str, default: Any = _MISSING, non_empty: bool = False) -> list[Any]:
        v = self.get(key, default)
        if not isinstance(v, list) or (non_empty and not v):
            rule = "a non-empty list" if non_empty else "a list"
            raise OmopError(f"{self.at(key)}: must be {rule}" + (
                "" if isinstance(v, list) else f" (got {_show(v)})"))
        return v

    def ids(self, key: str, refs: bool = False, lower: int | None = None) -> tuple[Any, ...]:
        """A list of integer ids (a single id is accepted); with ``refs``, or reference names."""
        v = self.get(key, [])
        items = v if isinstance(v, list) else [v]
        for i, x in enumerate(items):
            ok = (isinstance(x, int) and not isinstance(x, bool)
                  and (lower is None or x >= lower)) or (refs and isinstance(x, str) and x)
            if not ok:
                what = "an integer id or an exposure reference name" if refs else (
                    "a non-negative integer id" if lower == 0 else "an integer id")
                raise OmopError(f"{self.at(key)}[{i}]: must be {what} (got {_show(x)})")
        return tuple(items)

    def child(self, key: str, default: Any = _MISSING) -> _Node:
        return _Node(self.get(key, default), self.at(key))

    def done(self) -> None:
        unknown = sorted(set(self.value) - self.used)
        if unknown:
            raise OmopError(f"{self.at(unknown[0])}: unknown key (not an argument of OHDSI's "
                            "settings object here)")


def _show(v: Any) -> str:
    text = json.dumps(v, default=str) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


# ------------------------------------------------------------------------------------------
# Settings objects
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EraCovariateSettings:
    """``createEraCovariateSettings`` (or ``createControlIntervalSettings``).

    Windows are ``start``/``end`` days after the anchor (``"era start"`` or ``"era end"``) of
    each merged era of ``include_era_ids`` (ids, or exposure reference names such as
    ``"exposureId"`` resolved per exposures-outcome set).

    Examples
    --------
    >>> EraCovariateSettings(include_era_ids=("exposureId",), start=-30, end=-1).pre_exposure
    True
    """

    include_era_ids: tuple[Any, ...] = ()
    exclude_era_ids: tuple[Any, ...] = ()
    label: str = "Covariates"
    stratify_by_id: bool = False
    start: int = 0
    start_anchor: str = "era start"
    end: int = 0
    end_anchor: str = "era end"
    first_occurrence_only: bool = False
    allow_regularization: bool = False
    profile_likelihood: bool = False
    exposure_of_interest: bool = False
    pre_exposure: bool | None = None
    is_control_interval: bool = False

    def __post_init__(self) -> None:
        if self.pre_exposure is None:  # OHDSI's default: preExposure = start < 0
            object.__setattr__(self, "pre_exposure", self.start < 0)


_ANCHORS = ("era start", "era end")


def _era_settings(node: _Node, control: bool = False) -> EraCovariateSettings:
    kw: dict[str, Any] = {
        "include_era_ids": node.ids("include_era_ids", refs=True),
        "exclude_era_ids": node.ids("exclude_era_ids", refs=True),
        "start": node.int("start", 0), "start_anchor": node.choice("start_anchor", _ANCHORS,
                                                                   "era start"),
        "end": node.int("end", 0), "end_anchor": node.choice("end_anchor", _ANCHORS, "era end"),
        "first_occurrence_only": node.bool("first_occurrence_only", False),
    }
    if control:
        kw.update(label="Control interval", is_control_interval=True, pre_exposure=False)
    else:
        kw.update(label=node.str("label", "Covariates"),
                  stratify_by_id=node.bool("stratify_by_id", False),
                  profile_likelihood=node.bool("profile_likelihood", False),
                  exposure_of_interest=node.bool("exposure_of_interest", False),
                  pre_exposure=node.bool("pre_exposure", kw["start"] < 0))
        kw["allow_regularization"] = node.bool("allow_regularization", False)
        if kw["allow_regularization"] and kw["profile_likelihood"]:
            raise OmopError(f"{node.at('profile_likelihood')}: cannot profile the likelihood of "
                            "regularized covariates (allow_regularization is true)")
    node.done()
    if kw["end"] < kw["start"] and kw["end_anchor"] == "era start":
        raise OmopError(f"{node.at('end')}: end day always precedes start day; pick a later end "
                        "day, or set end_anchor to 'era end'")
    if kw.get("exposure_of_interest") and not (
            len(kw["include_era_ids"]) == 1 and isinstance(kw["include_era_ids"][0], str)):
        raise OmopError(f"{node.at('exposure_of_interest')}: can only be true when "
                        "include_era_ids holds a single exposure reference name (e.g. "
                        "'exposureId')")
    return EraCovariateSettings(**kw)


@dataclass(frozen=True)
class GetDbSccsDataArgs:
    """``createGetDbSccsDataArgs``: what the extraction fetches (study periods as YYYYMMDD).

    ``max_cases_per_outcome``: at most this many cases per outcome, a seeded sample (0: all);
    ``custom_covariate_ids``: ids (or exposure reference names, resolved per set) of the custom
    covariate table whose records become eras usable in ``include_era_ids``.
    """

    nesting_cohort_id: int | None = None
    delete_covariates_small_count: int = 0
    study_start_dates: tuple[str, ...] = ()
    study_end_dates: tuple[str, ...] = ()
    max_cases_per_outcome: int = 0
    exposure_ids: tuple[Any, ...] = ("exposureId",)
    custom_covariate_ids: tuple[Any, ...] = ()


def _dates(node: _Node, key: str) -> tuple[str, ...]:
    v = node.get(key, [])
    items = v if isinstance(v, list) else [v]
    for i, d in enumerate(items):
        if not isinstance(d, str) or not _DATE.match(d):
            raise OmopError(f"{node.at(key)}[{i}]: must be a date string YYYYMMDD "
                            f"(got {_show(d)})")
    return tuple(items)


def _db_args(node: _Node) -> GetDbSccsDataArgs:
    args = GetDbSccsDataArgs(
        nesting_cohort_id=node.int("nesting_cohort_id", None),
        delete_covariates_small_count=node.int("delete_covariates_small_count", 0, lower=0),
        study_start_dates=_dates(node, "study_start_dates"),
        study_end_dates=_dates(node, "study_end_dates"),
        max_cases_per_outcome=node.int("max_cases_per_outcome", 0, lower=0),
        exposure_ids=node.ids("exposure_ids", refs=True) if "exposure_ids" in node.value
        else ("exposureId",),
        custom_covariate_ids=node.ids("custom_covariate_ids", refs=True))
    node.done()
    if len(args.study_start_dates) != len(args.study_end_dates):
        raise OmopError(f"{node.at('study_end_dates')}: must have as many dates as "
                        "study_start_dates")
    return args


@dataclass(frozen=True)
class CreateStudyPopulationArgs:
    """``createCreateStudyPopulationArgs`` (ages in years; ``restrict_time_to_era_id`` an id or
    an exposure reference name, resolved per exposures-outcome set: OHDSI 6.1.4's fix)."""

    first_outcome_only: bool = False
    naive_period: int = 0
    min_age: float | None = None
    max_age: float | None = None
    gender_concept_ids: tuple[int, ...] | None = None
    restrict_time_to_era_id: Any = None


def _population_args(node: _Node) -> CreateStudyPopulationArgs:
    genders = node.ids("gender_concept_ids", lower=0) if node.value.get(
        "gender_concept_ids") is not None else None
    ref = node.get("restrict_time_to_era_id", None)
    if ref is not None and not ((isinstance(ref, int) and not isinstance(ref, bool))
                                or (isinstance(ref, str) and ref)):
        raise OmopError(f"{node.at('restrict_time_to_era_id')}: must be an era id or an exposure "
                        f"reference name (got {_show(ref)})")
    args = CreateStudyPopulationArgs(
        first_outcome_only=node.bool("first_outcome_only", False),
        naive_period=node.int("naive_period", 0, lower=0),
        min_age=node.number("min_age", None, lower=0),
        max_age=node.number("max_age", None, lower=0),
        gender_concept_ids=genders, restrict_time_to_era_id=ref)
    node.done()
    if args.min_age is not None and args.max_age is not None and args.max_age < args.min_age:
        raise OmopError(f"{node.at('max_age')}: must be >= min_age")
    return args


@dataclass(frozen=True)
class SplineSettings:
    """``createAgeCovariateSettings`` (``age_knots``), ``createSeasonalityCovariateSettings``
    (``season_knots``) or ``createCalendarTimeCovariateSettings`` (``calendar_time_knots``):
    a number of knots, or the knots (ages in days, months of the year, or dates
    ``YYYY-MM-DD``)."""

    knots: Any = 5
    compute_confidence_intervals: bool = False
    allow_regularization: bool = False


def _spline(node: _Node, key: str, dates: bool = False) -> SplineSettings:
    v = node.get(key, 5)
    items = v if isinstance(v, list) else None
    if items is None:
        if isinstance(v, bool) or not isinstance(v, int) or v < 2:
            raise OmopError(f"{node.at(key)}: must be a number of knots >= 2 or a list of knots "
                            f"(got {_show(v)})")
    else:
        for i, x in enumerate(items):
            ok = (isinstance(x, str) and re.match(r"^\d{4}-\d{2}-\d{2}$", x)) if dates else (
                isinstance(x, int | float) and not isinstance(x, bool))
            if not ok:
                rule = "a date YYYY-MM-DD" if dates else "a number"
                raise OmopError(f"{node.at(key)}[{i}]: must be {rule} (got {_show(x)})")
        if len(items) < 3:
            raise OmopError(f"{node.at(key)}: give at least 3 knots")
    out = SplineSettings(v if items is None else tuple(items),
                         node.bool("compute_confidence_intervals", False),
                         node.bool("allow_regularization", False))
    node.done()
    if out.allow_regularization and out.compute_confidence_intervals:
        raise OmopError(f"{node.at('compute_confidence_intervals')}: cannot have both "
                        "allow_regularization and compute_confidence_intervals be true")
    return out


@dataclass(frozen=True)
class IntervalDataArgs:
    """``createCreateSccsIntervalDataArgs`` (design ``"SCCS"``) or
    ``createCreateScriIntervalDataArgs`` (``"SCRI"``, with its ``control_interval``)."""

    design: str
    era_covariate_settings: tuple[EraCovariateSettings, ...]
    control_interval: EraCovariateSettings | None = None
    end_of_observation_era_length: int = 30
    min_cases_for_time_covariates: int = 10000
    age: SplineSettings | None = None
    season: SplineSettings | None = None
    calendar_time: SplineSettings | None = None
    event_dependent_observation: bool = False


def _era_list(node: _Node) -> tuple[EraCovariateSettings, ...]:
    raw = node.get("era_covariate_settings")
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise OmopError(f"{node.at('era_covariate_settings')}: must be a non-empty list")
    key = node.at("era_covariate_settings")
    return tuple(_era_settings(_Node(x, f"{key}[{i}]" if isinstance(raw, list) else key))
                 for i, x in enumerate(items))


def _interval_args(node: _Node, design: str) -> IntervalDataArgs:
    covs = _era_list(node)
    if design == "SCRI":
        control = _era_settings(node.child("control_interval_settings"), control=True)
        node.done()
        return IntervalDataArgs("SCRI", covs, control, end_of_observation_era_length=0)
    splines = {}
    for key, knots, name in (("age_covariate_settings", "age_knots", "age"),
                             ("seasonality_covariate_settings", "season_knots", "season"),
                             ("calendar_time_covariate_settings", "calendar_time_knots",
                              "calendar_time")):
        if node.value.get(key) is not None:
            splines[name] = _spline(node.child(key), knots, dates=name == "calendar_time")
        node.used.add(key)
    args = IntervalDataArgs(
        "SCCS", covs,
        end_of_observation_era_length=node.int("end_of_observation_era_length", 30, lower=0),
        min_cases_for_time_covariates=node.int("min_cases_for_time_covariates", 10000, lower=1),
        event_dependent_observation=node.bool("event_dependent_observation", False),
        **splines)
    node.done()
    return args


@dataclass(frozen=True)
class FitSccsModelArgs:
    """``createFitSccsModelArgs``: the profile grid or bounds (log scale) of the likelihood
    profiles of covariates with ``profile_likelihood``; the prior of the covariates that allow
    regularisation (None: ``prior_type: none``; ``exclude`` is set when fitting) and the
    cross-validation control."""

    profile_grid: tuple[float, ...] | None = None
    profile_bounds: tuple[float, float] | None = (math.log(0.1), math.log(10))
    prior: Prior | None = field(default_factory=lambda: Prior("laplace",
                                                              use_cross_validation=True))
    control: Control = field(default_factory=Control)


_CONTROL_IGNORED = {"selector_type": ("byPid",), "noise_level": ("silent", "quiet", "noisy"),
                    "reset_coefficients": (True, False)}


def _prior(node: _Node) -> Prior | None:
    kind = node.choice("prior_type", ("laplace", "normal", "none"), "laplace")
    variance = node.number("variance", 1.0, lower=0)
    cv = node.bool("use_cross_validation", True)
    node.done()
    if variance <= 0:
        raise OmopError(f"{node.at('variance')}: must be a number > 0 (got {_show(variance)})")
    return None if kind == "none" else Prior(kind, variance, (), cv)


def _control(node: _Node) -> Control:
    for key, allowed in _CONTROL_IGNORED.items():
        if node.get(key, allowed[0]) not in allowed:
            raise OmopError(f"{node.at(key)}: must be one of {list(allowed)} "
                            f"(got {_show(node.value[key])})")
    kw = {"cv_type": node.choice("cv_type", ("auto", "grid"), "auto"),
          "fold": node.int("fold", 10, lower=2),
          "cv_repetitions": node.int("cv_repetitions", 1, lower=1),
          "seed": node.int("seed", 1), "grid_steps": node.int("grid_steps", 10, lower=1)}
    for key, default in (("starting_variance", 0.1), ("lower_limit", 0.01),
                         ("upper_limit", 20.0)):
        kw[key] = node.number(key, default, lower=0)
        if kw[key] <= 0:
            raise OmopError(f"{node.at(key)}: must be a number > 0 (got {_show(kw[key])})")
    node.done()
    if kw["lower_limit"] > kw["upper_limit"]:
        raise OmopError(f"{node.at('upper_limit')}: must be >= lower_limit")
    return Control(**kw)


def _fit_args(node: _Node) -> FitSccsModelArgs:
    prior = _prior(node.child("prior")) if node.value.get("prior") is not None else (
        FitSccsModelArgs().prior)
    control = _control(node.child("control")) if node.value.get("control") is not None else (
        Control())
    node.used.update({"prior", "control"})
    grid = node.get("profile_grid", None)
    bounds = node.get("profile_bounds", [math.log(0.1), math.log(10)])
    for key, v, n in (("profile_grid", grid, None), ("profile_bounds", bounds, 2)):
        if v is None:
            continue
        ok = isinstance(v, list) and all(isinstance(x, int | float) and not isinstance(x, bool)
                                         and math.isfinite(x) for x in v) and len(v) > 0
        if not ok or (n is not None and (len(v) != n or v[0] >= v[1])):
            rule = "a list of two increasing numbers" if n else "a non-empty list of numbers"
            raise OmopError(f"{node.at(key)}: must be {rule} (got {_show(v)})")
    node.done()
    return FitSccsModelArgs(None if grid is None else tuple(float(x) for x in grid),
                            None if bounds is None else (float(bounds[0]), float(bounds[1])),
                            prior, control)


@dataclass(frozen=True)
class SccsAnalysis:
    """``createSccsAnalysis``; ``definition`` is the analysis as written in the file (JSON)."""

    analysis_id: int
    description: str
    get_db_sccs_data_args: GetDbSccsDataArgs
    create_study_population_args: CreateStudyPopulationArgs
    interval_args: IntervalDataArgs
    fit_sccs_model_args: FitSccsModelArgs
    definition: str = ""

    @property
    def design(self) -> str:
        """``"SCCS"`` or ``"SCRI"``."""
        return self.interval_args.design


def _analysis(node: _Node) -> SccsAnalysis:
    keys = [k for k in ("create_sccs_interval_data_args", "create_scri_interval_data_args")
            if node.value.get(k) is not None]
    if len(keys) != 1:
        raise OmopError(f"{node.at('create_sccs_interval_data_args')}: give exactly one of "
                        "create_sccs_interval_data_args and create_scri_interval_data_args")
    design = "SCCS" if keys[0] == "create_sccs_interval_data_args" else "SCRI"
    node.used.update({"create_sccs_interval_data_args", "create_scri_interval_data_args"})
    analysis = SccsAnalysis(
        analysis_id=node.int("analysis_id", 1),
        description=node.str("description", ""),
        get_db_sccs_data_args=_db_args(node.child("get_db_sccs_data_args", {})),
        create_study_population_args=_population_args(
            node.child("create_study_population_args", {})),
        interval_args=_interval_args(_Node(node.value[keys[0]], node.at(keys[0])), design),
        fit_sccs_model_args=_fit_args(node.child("fit_sccs_model_args", {})),
        definition=json.dumps(node.value, sort_keys=True, default=str))
    node.done()
    if not any(c.exposure_of_interest for c in analysis.interval_args.era_covariate_settings):
        raise OmopError(f"{node.at(keys[0])}.era_covariate_settings: at least one era covariate "
                        "must have exposure_of_interest: true")
    return analysis


@dataclass(frozen=True)
class Exposure:
    """``createExposure``."""

    exposure_id: int
    exposure_id_ref: str = "exposureId"
    true_effect_size: float | None = None


@dataclass(frozen=True)
class ExposuresOutcome:
    """``createExposuresOutcome``."""

    outcome_id: int
    exposures: tuple[Exposure, ...]
    nesting_cohort_id: int | None = None

    def exposure_id(self, ref: Any) -> int | None:
        """The exposure id that a reference name (or id) stands for in this set, or None."""
        if not isinstance(ref, str):
            return int(ref)
        found = [e.exposure_id for e in self.exposures if e.exposure_id_ref == ref]
        return found[0] if found else None


def _exposures_outcome(node: _Node) -> ExposuresOutcome:
    exposures = []
    for i, raw in enumerate(node.list("exposures", non_empty=True)):
        e = _Node(raw, f"{node.at('exposures')}[{i}]")
        exposures.append(Exposure(e.int("exposure_id"), e.str("exposure_id_ref", "exposureId"),
                                  e.number("true_effect_size", None, lower=0)))
        e.done()
        if exposures[-1].true_effect_size == 0:
            raise OmopError(f"{e.at('true_effect_size')}: must be a relative risk > 0 (1 for a "
                            "negative control), got 0")
    refs = [e.exposure_id_ref for e in exposures]
    if len(set(refs)) != len(refs):
        raise OmopError(f"{node.at('exposures')}: duplicate exposure_id_ref; give each exposure "
                        "a unique exposure_id_ref")
    eo = ExposuresOutcome(node.int("outcome_id"), tuple(exposures),
                          node.int("nesting_cohort_id", None))
    node.done()
    return eo


@dataclass(frozen=True)
class SccsDiagnosticThresholds:
    """``createSccsDiagnosticThresholds`` with OHDSI's defaults."""

    mdrr_threshold: float = 10.0
    ease_threshold: float = 0.25
    time_trend_max_ratio: float = 1.1
    rare_outcome_max_prevalence: float = 0.1
    event_observation_dependence_null_bounds: tuple[float, float] = (0.5, 2.0)
    event_exposure_dependence_null_bounds: tuple[float, float] = (0.8, 1.25)


def _bounds(node: _Node, key: str, default: tuple[float, float]) -> tuple[float, float]:
    v = node.get(key, list(default))
    if not (isinstance(v, list) and len(v) == 2 and all(
            isinstance(x, int | float) and not isinstance(x, bool) and x >= 0 for x in v)
            and v[0] <= v[1]):
        raise OmopError(f"{node.at(key)}: must be two sorted non-negative numbers "
                        f"(got {_show(v)})")
    return float(v[0]), float(v[1])


def _thresholds(node: _Node) -> SccsDiagnosticThresholds:
    t = SccsDiagnosticThresholds(
        node.number("mdrr_threshold", 10.0, lower=1), node.number("ease_threshold", 0.25, lower=0),
        node.number("time_trend_max_ratio", 1.1, lower=1),
        node.number("rare_outcome_max_prevalence", 0.1, lower=0, upper=1),
        _bounds(node, "event_observation_dependence_null_bounds", (0.5, 2.0)),
        _bounds(node, "event_exposure_dependence_null_bounds", (0.8, 1.25)))
    node.done()
    return t


@dataclass(frozen=True)
class SccsAnalysesSpecifications:
    """``createSccsAnalysesSpecifications``: what ``python -m analysis omop run`` runs."""

    sccs_analysis_list: tuple[SccsAnalysis, ...]
    exposures_outcome_list: tuple[ExposuresOutcome, ...]
    analyses_to_exclude: tuple[dict[str, int], ...] = ()
    sccs_diagnostic_thresholds: SccsDiagnosticThresholds = field(
        default_factory=SccsDiagnosticThresholds)
    control_type: str = "outcome"
    exposure_table: str = "cohort"
    outcome_table: str = "cohort"
    cohort_definitions: tuple[CohortDefinition, ...] = ()
    custom_covariate_table: str = "cohort"

    def pairs(self) -> list[tuple[int, ExposuresOutcome, SccsAnalysis]]:
        """Every (1-based set number, set, analysis) to run, ``analyses_to_exclude`` applied:
        a set/analysis is dropped when one exclusion row matches all the columns it gives (for
        ``exposure_id``: any exposure of the set), as OHDSI's reference table filter."""
        out = []
        for seq, eo in enumerate(self.exposures_outcome_list, start=1):
            for a in self.sccs_analysis_list:
                if not any(_excluded(row, eo, a) for row in self.analyses_to_exclude):
                    out.append((seq, eo, a))
        return out


def _excluded(row: dict[str, int], eo: ExposuresOutcome, a: SccsAnalysis) -> bool:
    checks = {"analysis_id": lambda v: a.analysis_id == v,
              "outcome_id": lambda v: eo.outcome_id == v,
              "nesting_cohort_id": lambda v: eo.nesting_cohort_id == v,
              "exposure_id": lambda v: any(e.exposure_id == v for e in eo.exposures)}
    return all(checks[k](v) for k, v in row.items())


_EXCLUDE_KEYS = ("exposure_id", "outcome_id", "analysis_id", "nesting_cohort_id")


def _exclusions(node: _Node) -> tuple[dict[str, int], ...]:
    rows = []
    for i, raw in enumerate(node.list("analyses_to_exclude", [])):
        r = _Node(raw, f"{node.at('analyses_to_exclude')}[{i}]")
        row = {k: r.int(k, None) for k in _EXCLUDE_KEYS}
        r.done()
        row = {k: v for k, v in row.items() if v is not None}
        if not row:
            raise OmopError(f"{r.path}: give at least one of {', '.join(_EXCLUDE_KEYS)}")
        rows.append(row)
    return tuple(rows)


def parse_specification(data: Any) -> SccsAnalysesSpecifications:
    """Check a specification (already parsed YAML/JSON) and build its settings objects.

    Raises
    ------
    OmopError
        The first problem, naming its key path and the rule.

    Examples
    --------
    >>> try:
    ...     parse_specification({"exposures_outcome_list": [{"outcome_id": "x"}]})
    ... except OmopError as e:
    ...     print(e)
    exposures_outcome_list[0].exposures: is required
    """
    root = _Node(data, "")
    eos = tuple(_exposures_outcome(_Node(x, f"exposures_outcome_list[{i}]"))
                for i, x in enumerate(root.list("exposures_outcome_list", non_empty=True)))
    analyses = tuple(_analysis(_Node(x, f"sccs_analysis_list[{i}]"))
                     for i, x in enumerate(root.list("sccs_analysis_list", non_empty=True)))
    ids = [a.analysis_id for a in analyses]
    if len(set(ids)) != len(ids):
        raise OmopError("sccs_analysis_list: analysis_id values must be unique")
    spec = SccsAnalysesSpecifications(
        analyses, eos, _exclusions(root),
        _thresholds(root.child("sccs_diagnostic_thresholds", {})),
        root.choice("control_type", ("outcome", "exposure"), "outcome"),
        root.choice("exposure_table", ("cohort", "drug_era"), "cohort"),
        root.choice("outcome_table", ("cohort", "condition_occurrence", "condition_era"),
                    "cohort"),
        cohort_definitions_from_spec(root.get("cohort_definitions", None)),
        root.choice("custom_covariate_table", ("cohort", "condition_era"), "cohort"))
    root.bool("combine_data_fetch_across_outcomes", False)  # a speed option of OHDSI's only
    root.done()
    _check_references(spec)
    return spec


def _check_references(spec: SccsAnalysesSpecifications) -> None:
    """Every exposure reference name an analysis uses must be defined by some set."""
    known = {e.exposure_id_ref for eo in spec.exposures_outcome_list for e in eo.exposures}
    for i, a in enumerate(spec.sccs_analysis_list):
        for ref in a.get_db_sccs_data_args.custom_covariate_ids:
            if isinstance(ref, str) and ref not in known:
                raise OmopError(
                    f"sccs_analysis_list[{i}].get_db_sccs_data_args.custom_covariate_ids: "
                    f"{ref!r} is not the exposure_id_ref of any exposure in "
                    "exposures_outcome_list")
        key = "create_sccs_interval_data_args" if a.design == "SCCS" else (
            "create_scri_interval_data_args")
        for j, c in enumerate(a.interval_args.era_covariate_settings):
            for ref in c.include_era_ids:
                if isinstance(ref, str) and ref not in known:
                    raise OmopError(
                        f"sccs_analysis_list[{i}].{key}.era_covariate_settings[{j}]."
                        f"include_era_ids: {ref!r} is not the exposure_id_ref of any exposure "
                        "in exposures_outcome_list")


def load_specification(path: str | Path) -> SccsAnalysesSpecifications:
    """Read and check a specification file (``.yaml``/``.yml`` or ``.json``).

    Raises
    ------
    OmopError
        Unreadable file, bad YAML/JSON, or a bad value (the message names file and key).
    """
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise OmopError(f"{p}: cannot read the specification ({exc.strerror})") from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise OmopError(f"{p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'}: "
                        f"{str(exc).splitlines()[0]}") from None
    try:
        return parse_specification(data)
    except OmopError as exc:
        raise OmopError(f"{p}: {exc}") from None
