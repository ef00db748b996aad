"""``extract_sccs_data``: OHDSI's ``getDbSccsData``, run inside DuckDB or Spark.

The steps of OHDSI SelfControlledCaseSeries 6.0.0 (``R/DataLoadingSaving.R``) run as SQL in the
engine (:mod:`analysis.omop._sql`): select the outcomes; the cases (observation periods holding an
outcome); cut them to the study periods and to the nesting cohort; count the attrition after each
step and the base population (for the prevalences); sample at most ``max_cases_per_outcome`` cases
per outcome (seeded); build the exposure and outcome eras and their reference; drop era id 0 and
ids with fewer than ``delete_covariates_small_count`` eras. Only the cases and their eras are
fetched into pandas, as an :class:`~analysis.omop.sccs_data.SccsData`.

Examples
--------
>>> from analysis.omop.extract import extract_sccs_data
>>> extract_sccs_data("/nonexistent", exposure_ids=[1], outcome_ids=[3])
Traceback (most recent call last):
...
analysis.omop.errors.OmopError: --cdm /nonexistent: no such file or folder
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.omop import _sql as sql
from analysis.omop.cdm import Cdm, open_cdm
from analysis.omop.cohorts import CohortDefinition, cohort_relation
from analysis.omop.errors import OmopError
from analysis.omop.sccs_data import (
    ATTRITION_COLUMNS,
    CASES_COLUMNS,
    ERA_REF_COLUMNS,
    ERAS_COLUMNS,
    SccsData,
)
from analysis.sccs.errors import SCCSWarning

__all__ = ["CUSTOM_COVARIATE_TABLES", "EXPOSURE_TABLES", "OUTCOME_TABLES", "extract_sccs_data"]

#: Where exposure eras come from (OHDSI's ``exposureTable``).
EXPOSURE_TABLES: tuple[str, ...] = ("cohort", "drug_era")
#: Where outcomes come from (OHDSI's ``outcomeTable``).
OUTCOME_TABLES: tuple[str, ...] = ("cohort", "condition_era", "condition_occurrence")
#: Where custom covariate eras come from (OHDSI's ``customCovariateTable``: a table shaped as
#: the cohort table, eras of type ``'cst'``, or ``condition_era``, type ``'dx'``).
CUSTOM_COVARIATE_TABLES: tuple[str, ...] = ("cohort", "condition_era")
_FAR_PAST, _FAR_FUTURE = dt.date(1800, 1, 1), dt.date(9999, 12, 31)


def _ids(values: Sequence[int] | int | None, key: str, *, empty_ok: bool) -> list[int]:
    """Validated, de-duplicated integer ids in first-seen order."""
    if values is None:
        values = []
    if isinstance(values, int) and not isinstance(values, bool):
        values = [values]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise OmopError(f"{key}: must be integer ids, got {values!r}")
    if not values and not empty_ok:
        raise OmopError(f"{key}: at least one id is needed")
    return list(dict.fromkeys(int(v) for v in values))


def _date(value: str | dt.date, key: str, default: dt.date) -> dt.date:
    """A study date from ``YYYYMMDD`` / ``YYYY-MM-DD`` / a date; ``''`` means no limit."""
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return default
    for fmt in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise OmopError(f"{key}: {value!r} is not a date (YYYYMMDD)")


def _study_periods(starts: Any, ends: Any) -> list[tuple[dt.date, dt.date]]:
    """OHDSI's ``studyStartDates``/``studyEndDates``: equal-length lists ('' = open)."""
    starts = [starts] if isinstance(starts, str | dt.date) else list(starts or [])
    ends = [ends] if isinstance(ends, str | dt.date) else list(ends or [])
    if len(starts) != len(ends):
        raise OmopError(
            f"study_start_dates, study_end_dates: must have equal length "
            f"(got {len(starts)} and {len(ends)})"
        )
    periods = [
        (
            _date(a, f"study_start_dates[{i}]", _FAR_PAST),
            _date(b, f"study_end_dates[{i}]", _FAR_FUTURE),
        )
        for i, (a, b) in enumerate(zip(starts, ends, strict=True))
    ]
    for i, (a, b) in enumerate(periods):
        if b < a:
            raise OmopError(f"study_end_dates[{i}]: {b} is before study_start_dates[{i}] {a}")
    return periods


def _nonnegative(value: Any, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise OmopError(f"{key}: must be a non-negative integer, got {value!r}")
    return value


def _choice(value: Any, allowed: tuple[str, ...], key: str) -> None:
    if value not in allowed:
        raise OmopError(f"{key}: must be one of {', '.join(allowed)}, got {value!r}")


def _coerce(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Columns in the given order and dtypes, whatever the engine returned."""
    out = {}
    for name, dtype in columns.items():
        col = frame[name] if name in frame else pd.Series([], dtype=object)
        if dtype.startswith("datetime"):
            out[name] = pd.to_datetime(col).astype(dtype)
        elif dtype == "object":
            out[name] = col.astype(object)
        else:
            out[name] = col.astype(dtype)
    return pd.DataFrame(out).reset_index(drop=True)


def _exposure_source(cdm: Cdm, table: str, cohorts: Any) -> sql.EraSource:
    if table == "drug_era":
        return sql.EraSource(
            cdm.table("drug_era"),
            "person_id",
            "drug_concept_id",
            "drug_era_start_date",
            "drug_era_end_date",
        )
    return sql.EraSource(
        cohorts(),
        "subject_id",
        "cohort_definition_id",
        "cohort_start_date",
        "cohort_end_date",
        label="Exposure cohort ",
    )


def _custom_source(cdm: Cdm, table: str, cohorts: Any) -> tuple[sql.EraSource, str]:
    """The custom covariate table and its era type (CreateEras.sql's custom eras)."""
    if table == "condition_era":
        return sql.EraSource(cdm.table(table), "person_id", "condition_concept_id",
                             "condition_era_start_date", "condition_era_end_date"), "dx"
    return sql.EraSource(cohorts(), "subject_id", "cohort_definition_id", "cohort_start_date",
                         "cohort_end_date", label="Custom cohort "), "cst"


def _outcome_source(cdm: Cdm, table: str, cohorts: Any) -> sql.EraSource:
    if table == "cohort":
        return sql.EraSource(
            cohorts(),
            "subject_id",
            "cohort_definition_id",
            "cohort_start_date",
            "COALESCE(cohort_end_date, cohort_start_date)",
            label="Outcome cohort ",
        )
    if table == "condition_occurrence":
        return sql.EraSource(
            cdm.table(table),
            "person_id",
            "condition_concept_id",
            "condition_start_date",
            "COALESCE(condition_end_date, condition_start_date)",
        )
    return sql.EraSource(
        cdm.table(table),
        "person_id",
        "condition_concept_id",
        "condition_era_start_date",
        "condition_era_end_date",
    )


class _Steps:
    """The extraction's engine-side state for one call (work-table names and options)."""

    def __init__(self, cdm: Cdm, cohorts: Any) -> None:
        self.cdm = cdm
        self.engine = cdm.engine
        self.cohorts = cohorts
        self.case_tables: list[tuple[str, str]] = []

    def cases(self, database_end: dt.date, seed: int, periods: list, nesting_id: int | None) -> str:
        obs, person = self.cdm.table("observation_period"), self.cdm.table("person")
        self.engine.materialize("cases", sql.cases_sql(obs, person, database_end, seed))
        self.case_tables = [("cases", "All outcome occurrences")]
        if periods:
            self.engine.materialize("study_periods", sql.study_periods_sql(periods))
            self.engine.materialize(
                "cases_in_periods",
                sql.case_windows_sql(
                    "cases",
                    "study_periods",
                    "w.study_start_date",
                    "w.study_end_date",
                    "TRUE",
                    "TRUE",
                ),
            )
            self.case_tables.append(("cases_in_periods", "Outcomes in study period(s)"))
        if nesting_id is not None:
            self.engine.materialize(
                "cases_in_nesting",
                sql.case_windows_sql(
                    self.case_tables[-1][0],
                    self.cohorts(),
                    "w.cohort_start_date",
                    "w.cohort_end_date",
                    "b.person_id = w.subject_id",
                    f"w.cohort_definition_id = {int(nesting_id)}",
                ),
            )
            self.case_tables.append(("cases_in_nesting", "Outcomes in nesting cohort"))
        return self.case_tables[-1][0]

    def attrition(self) -> pd.DataFrame:
        union = " UNION ALL ".join(
            f"SELECT {i} AS step, * FROM ({sql.count_outcomes_sql(t, d)}) s{i}"
            for i, (t, d) in enumerate(self.case_tables)
        )
        frame = self.cdm.fetch(f"SELECT * FROM ({union}) a ORDER BY step, outcome_id")
        return _coerce(frame, ATTRITION_COLUMNS)


def _prevalences(attrition: pd.DataFrame, base: pd.Series) -> pd.DataFrame:
    """OHDSI's prevalences: smallest subject/event counts over the steps, over the base."""
    low = attrition.groupby("outcome_id", sort=True)[["outcome_subjects", "outcome_events"]].min()
    windows, days = float(base["window_count"] or 0), float(base["days_count"] or 0)
    subjects, events = low["outcome_subjects"].to_numpy(), low["outcome_events"].to_numpy()
    return pd.DataFrame(
        {
            "outcome_id": low.index.astype("int64"),
            "outcome_proportion": subjects / windows if windows else float("nan"),
            "outcome_rate": events / days if days else float("nan"),
            "probably_first_outcome_only": subjects == events,
        }
    )


def _sample_counts(cases: pd.DataFrame, eras: pd.DataFrame) -> pd.DataFrame:
    """The 'Random sample' attrition row, counted from the fetched data as OHDSI does."""
    hoi = eras.loc[eras["era_type"] == "hoi", ["case_id", "era_id"]].merge(cases, on="case_id")
    hoi["days"] = hoi["end_day"] - hoi["start_day"] + 1
    counts = hoi.groupby("era_id", sort=True).agg(
        outcome_subjects=("person_id", "nunique"),
        outcome_events=("case_id", "size"),
        outcome_obs_periods=("observation_period_id", "nunique"),
        observed_days=("days", "sum"),
    )
    counts = counts.rename_axis("outcome_id").reset_index()
    counts["description"] = "Random sample"
    return _coerce(counts, ATTRITION_COLUMNS)


def _fix_negative_ages(cases: pd.DataFrame) -> pd.DataFrame:
    """Ages below 0 at observation start set to 0 with a warning (OHDSI's ``ensureAgePositive``)."""
    negative = cases["age_at_obs_start"] < 0
    if negative.any():
        warnings.warn(
            f"There are {int(negative.sum())} cases with negative ages at observation start. "
            "Setting their starting age to 0. Please review your data.",
            SCCSWarning,
            stacklevel=3,
        )
        cases.loc[negative, "age_at_obs_start"] = 0
    return cases


@contextmanager
def _opened(cdm: Cdm | str | Path, engine: str, spark: Any) -> Iterator[Cdm]:
    if isinstance(cdm, Cdm):
        yield cdm
        return
    handle = open_cdm(cdm, engine=engine, spark=spark)
    try:
        yield handle
    finally:
        handle.close()


def extract_sccs_data(
    cdm: Cdm | str | Path,
    *,
    exposure_ids: Sequence[int] | int | None,
    outcome_ids: Sequence[int] | int,
    nesting_cohort_id: int | None = None,
    study_start_dates: Sequence[str | dt.date] | str | dt.date = (),
    study_end_dates: Sequence[str | dt.date] | str | dt.date = (),
    delete_covariates_small_count: int = 0,
    max_cases_per_outcome: int = 0,
    seed: int = 0,
    exposure_table: str = "drug_era",
    outcome_table: str = "cohort",
    cohort_definitions: Sequence[CohortDefinition] = (),
    custom_covariate_ids: Sequence[int] | None = None,
    custom_covariate_table: str = "cohort",
    engine: str = "duckdb",
    spark: Any = None,
) -> SccsData:
    """Cases and eras of an SCCS study from an OMOP CDM, as OHDSI's ``getDbSccsData``.

    Parameters
    ----------
    cdm : Cdm or str or Path
        An opened :class:`~analysis.omop.cdm.Cdm`, or a path for :func:`open_cdm` (DuckDB file,
        or a folder of Parquet/CSV tables); a path is opened and closed here.
    exposure_ids : list of int or None
        Exposure concept (``drug_era``) or cohort ids; empty or None: all exposures.
    outcome_ids : list of int
        Outcome cohort (or condition concept) ids.
    nesting_cohort_id : int, optional
        Restrict each case to its time in this cohort (cohort table).
    study_start_dates, study_end_dates : list of str, optional
        OHDSI's study periods, ``YYYYMMDD``, equal length; ``''`` leaves a side open.
    delete_covariates_small_count : int
        Drop era ids with fewer eras than this among the cases (0: keep all).
    max_cases_per_outcome : int
        At most this many cases per outcome, a seeded random sample (0: all cases).
    seed : int
        Seed of the sample: the same seed gives the same cases on DuckDB and Spark.
    exposure_table : {'drug_era', 'cohort'}
        Where exposure eras come from (OHDSI's ``exposureTable``; default as
        ``runSccsAnalyses``).
    outcome_table : {'cohort', 'condition_occurrence', 'condition_era'}
        Where outcomes come from (OHDSI's ``outcomeTable``).
    cohort_definitions : list of CohortDefinition
        Cohorts defined from concept sets; other ids come from the CDM's cohort table.
    custom_covariate_ids : list of int, optional
        OHDSI's ``customCovariateIds``: ids of ``custom_covariate_table`` whose records that
        start within a case's observation period become eras (type ``'cst'``, or ``'dx'`` for
        ``condition_era``), usable in ``include_era_ids``; None or empty: none.
    custom_covariate_table : {'cohort', 'condition_era'}
        OHDSI's ``customCovariateTable`` (default ``'cohort'``, as ``runSccsAnalyses``: the
        cohort table, or the cohorts of ``cohort_definitions``).
    engine : {'duckdb', 'spark'}
        Engine used when ``cdm`` is a path.
    spark : pyspark.sql.SparkSession, optional
        Session for ``engine='spark'``.

    Returns
    -------
    SccsData
        ``cases``, ``eras``, ``era_ref`` and ``metadata`` (attrition, prevalences, settings).

    Raises
    ------
    OmopError
        A bad argument (named), or a CDM table or column that is missing (named).

    Examples
    --------
    >>> from analysis.omop.extract import extract_sccs_data
    >>> extract_sccs_data("/tmp", exposure_ids=[1], outcome_ids=[], engine="duckdb")
    Traceback (most recent call last):
    ...
    analysis.omop.errors.OmopError: outcome_ids: at least one id is needed
    """
    outcomes = _ids(outcome_ids, "outcome_ids", empty_ok=False)
    exposures = _ids(exposure_ids, "exposure_ids", empty_ok=True)
    periods = _study_periods(study_start_dates, study_end_dates)
    small = _nonnegative(delete_covariates_small_count, "delete_covariates_small_count")
    max_cases = _nonnegative(max_cases_per_outcome, "max_cases_per_outcome")
    if nesting_cohort_id is not None:
        _ids(nesting_cohort_id, "nesting_cohort_id", empty_ok=False)
    _choice(exposure_table, EXPOSURE_TABLES, "exposure_table")
    _choice(outcome_table, OUTCOME_TABLES, "outcome_table")
    _choice(custom_covariate_table, CUSTOM_COVARIATE_TABLES, "custom_covariate_table")
    custom = _ids(custom_covariate_ids, "custom_covariate_ids", empty_ok=True)
    with _opened(cdm, engine, spark) as handle:
        try:
            return _extract(
                handle,
                exposures,
                outcomes,
                nesting_cohort_id,
                periods,
                small,
                max_cases,
                seed,
                exposure_table,
                outcome_table,
                tuple(cohort_definitions),
                (custom, custom_covariate_table),
            )
        except OmopError:
            raise
        except Exception as exc:  # the engine refused the data: say where, not a traceback
            raise handle.query_error(exc) from exc


def _extract(
    cdm: Cdm,
    exposures: list[int],
    outcomes: list[int],
    nesting_id: int | None,
    periods: list,
    small: int,
    max_cases: int,
    seed: int,
    exposure_table: str,
    outcome_table: str,
    definitions: tuple[CohortDefinition, ...],
    custom: tuple[list[int], str] = ([], "cohort"),
) -> SccsData:
    """The extraction proper, on an opened CDM (arguments validated)."""
    cohort: list[str] = []

    def cohorts() -> str:
        if not cohort:
            cohort.append(cohort_relation(cdm, definitions))
        return cohort[0]

    engine = cdm.engine
    obs = cdm.table("observation_period")
    end = cdm.fetch(f"SELECT MAX(observation_period_end_date) AS d FROM {obs}")["d"].iloc[0]
    database_end = pd.Timestamp(end).date() if pd.notna(end) else _FAR_FUTURE
    outcome_source = _outcome_source(cdm, outcome_table, cohorts)
    exposure_source = _exposure_source(cdm, exposure_table, cohorts)
    engine.materialize("outcome_ids", sql.ids_sql("outcome_id", outcomes))
    engine.materialize("outcomes", sql.outcomes_sql(outcome_source, outcomes))
    steps = _Steps(cdm, cohorts)
    case_table = steps.cases(database_end, seed, periods, nesting_id)
    attrition = steps.attrition()
    nesting = (cohorts(), nesting_id) if nesting_id is not None else None
    base = cdm.fetch(sql.base_population_sql(obs, bool(periods), nesting)).iloc[0]
    prevalences = _prevalences(attrition, base)
    sampled = bool(max_cases) and bool(
        (attrition.groupby("outcome_id")["outcome_obs_periods"].min() > max_cases).any()
    )
    if sampled:
        engine.materialize("sampled_cases", sql.sample_cases_sql(case_table, max_cases))
        case_table = "sampled_cases"
    parts = [
        sql.exposure_eras_sql(exposure_source, case_table, exposures),
        sql.outcome_eras_sql(case_table),
    ]
    refs = [("rx", exposure_source), ("hoi", outcome_source)]
    if custom[0]:
        custom_source, custom_type = _custom_source(cdm, custom[1], cohorts)
        parts.append(sql.custom_eras_sql(custom_source, custom_type, case_table, custom[0]))
        refs.append((custom_type, custom_source))
    engine.materialize("eras_all", " UNION ALL ".join(parts))
    concept = cdm.table("concept") if any(src.label is None for _, src in refs) else ""
    era_ref = cdm.fetch(
        "SELECT * FROM ("
        + " UNION ALL ".join(sql.era_ref_sql(t, src, concept) for t, src in refs)
        + ") r ORDER BY era_type DESC, era_id"
    )
    engine.materialize("eras", sql.eras_sql(small))
    cases = _fix_negative_ages(_coerce(cdm.fetch(sql.fetch_cases_sql(case_table)), CASES_COLUMNS))
    eras = _coerce(cdm.fetch(sql.fetch_eras_sql()), ERAS_COLUMNS)
    if sampled:
        attrition = pd.concat([attrition, _sample_counts(cases, eras)], ignore_index=True)
    metadata = {
        "exposure_ids": exposures,
        "outcome_ids": outcomes,
        "attrition": attrition,
        "prevalences": prevalences,
        "study_periods": pd.DataFrame(periods, columns=["study_start_date", "study_end_date"])
        if periods
        else None,
        "nesting_cohort_id": nesting_id,
        "database_end_date": pd.Timestamp(database_end) if pd.notna(end) else None,
        "delete_covariates_small_count": small,
        "max_cases_per_outcome": max_cases,
        "sampled_cases": sampled,
        "seed": seed,
        "engine": engine.name,
        "exposure_table": exposure_table,
        "outcome_table": outcome_table,
        "custom_covariate_ids": custom[0],
        "custom_covariate_table": custom[1] if custom[0] else None,
        "cdm_version": cdm.cdm_version(),
    }
    return SccsData(cases, eras, _coerce(era_ref, ERA_REF_COLUMNS), metadata)
