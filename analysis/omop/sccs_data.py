"""``SccsData``: the cases and eras of an SCCS study extracted from an OMOP CDM.

The in-memory counterpart of OHDSI SelfControlledCaseSeries 6.0.0's ``SccsData`` (an Andromeda
object built by ``getDbSccsData``, ``R/DataLoadingSaving.R`` and ``inst/sql/QueryCases.sql``,
``QueryEras.sql``, ``CreateEras.sql``), with OHDSI's column names in snake_case. It is the seam
between :mod:`analysis.omop.extract` (which builds it inside DuckDB or Spark) and the study design
(study population, interval data, fit), which only reads it.

Tables (pandas DataFrames)
--------------------------
``cases``: one row per observation period of a person with the outcome (a "case"), OHDSI 6.0.0's
``QueryCases.sql`` columns:

* ``observation_period_id`` (int64), ``case_id`` (int64, 1.. in observation-period order),
* ``person_id`` (int64): **kept in memory only, never exported** (pseudonymous outputs only),
* ``noninformative_end_censor`` (int64, 0/1): 1 when the observation ends on the last observation
  date of the database (OHDSI's end-of-database flag) or is cut by a study period or the nesting
  cohort's end,
* ``observation_period_start_date`` (datetime64),
* ``start_day``, ``end_day`` (int64): first and last observed day, in days since
  ``observation_period_start_date`` (both inclusive; ``start_day`` > 0 when a study period or the
  nesting cohort starts later),
* ``age_at_obs_start`` (int64): age in days at ``observation_period_start_date`` (negative ages set
  to 0, as OHDSI's ``ensureAgePositive``), birth date from ``year_of_birth`` with missing month/day
  as 1,
* ``gender_concept_id`` (int64).

*Difference from the task's draft list*: OHDSI 6.0.0 has no ``observation_days``, ``start_year``,
``start_month``, ``censored_days`` columns (those were OHDSI 5.x's). They derive from 6.0.0's:
observation days = ``end_day - start_day + 1``; start year/month/day =
``observation_period_start_date + start_day``; censored days are ``start_day`` at the start of the
observation period. We follow 6.0.0.

``eras``: one row per era of a case (``QueryEras.sql``): ``era_type`` (str: ``'hoi'`` outcome,
``'rx'`` exposure, ``'cst'``/``'dx'`` custom covariate), ``case_id`` (int64), ``era_id``
(int64: the concept or cohort id), ``era_value`` (float64, 1), ``era_start_day``,
``era_end_day`` (int64, days since ``observation_period_start_date``; an outcome era has
start = end), sorted by ``case_id``, ``era_type``, ``era_id``, ``era_start_day``,
``era_end_day``.

``era_ref``: one row per era id present (``CreateEras.sql``'s ``#era_ref``): ``era_type``,
``era_id``, ``era_name`` (concept name, or ``'Exposure cohort <id>'`` / ``'Outcome cohort <id>'``
when the eras come from a cohort table), ``min_observed_date``, ``max_observed_date``
(datetime64: first start and last end of that id in the whole source table).

``metadata`` (dict), as OHDSI's ``attr(sccsData, "metaData")`` plus the extraction settings:

* ``exposure_ids``, ``outcome_ids`` (list of int; empty ``exposure_ids`` = all exposures),
* ``attrition`` (DataFrame): the rows before the study population, one per outcome and step
  (``'All outcome occurrences'``, ``'Outcomes in study period(s)'``, ``'Outcomes in nesting
  cohort'``, ``'Random sample'``), columns ``outcome_id``, ``outcome_subjects``,
  ``outcome_events``, ``outcome_obs_periods``, ``observed_days``, ``description``
  (OHDSI's ``outcome_obs_periods``, not ``outcome_observation_periods``),
* ``prevalences`` (DataFrame): ``outcome_id``, ``outcome_proportion`` (subjects / observation
  periods of the base population), ``outcome_rate`` (events / observed days of the base
  population), ``probably_first_outcome_only`` (bool),
* ``study_periods`` (DataFrame ``study_start_date``, ``study_end_date``, or ``None``),
* ``nesting_cohort_id`` (int or ``None``), ``database_end_date`` (Timestamp: the last
  ``observation_period_end_date`` of the CDM, the end-of-database flag's reference),
* ``delete_covariates_small_count``, ``max_cases_per_outcome``, ``sampled_cases`` (whether
  the sample was drawn), ``seed``, ``engine``, ``exposure_table``, ``outcome_table`` (where eras
  came from: OHDSI's ``exposureTable``/``outcomeTable``), ``cdm_version``.

Examples
--------
>>> import pandas as pd
>>> from analysis.omop.sccs_data import SccsData, empty_sccs_data
>>> data = empty_sccs_data()
>>> list(data.cases.columns)[:3]
['observation_period_id', 'case_id', 'person_id']
>>> data.summary()
Empty DataFrame
Columns: [outcome_subjects, outcome_events, outcome_obs_periods]
Index: []
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis.omop.errors import OmopError

__all__ = [
    "ATTRITION_COLUMNS",
    "CASES_COLUMNS",
    "ERAS_COLUMNS",
    "ERA_REF_COLUMNS",
    "PREVALENCE_COLUMNS",
    "SccsData",
    "empty_sccs_data",
]

#: ``cases`` columns and dtypes (OHDSI 6.0.0 ``QueryCases.sql``, snake_case).
CASES_COLUMNS: dict[str, str] = {
    "observation_period_id": "int64",
    "case_id": "int64",
    "person_id": "int64",
    "noninformative_end_censor": "int64",
    "observation_period_start_date": "datetime64[ns]",
    "start_day": "int64",
    "end_day": "int64",
    "age_at_obs_start": "int64",
    "gender_concept_id": "int64",
}
#: ``eras`` columns and dtypes (OHDSI 6.0.0 ``QueryEras.sql``).
ERAS_COLUMNS: dict[str, str] = {
    "era_type": "object",
    "case_id": "int64",
    "era_id": "int64",
    "era_value": "float64",
    "era_start_day": "int64",
    "era_end_day": "int64",
}
#: ``era_ref`` columns and dtypes (OHDSI 6.0.0 ``CreateEras.sql``'s ``#era_ref``).
ERA_REF_COLUMNS: dict[str, str] = {
    "era_type": "object",
    "era_id": "int64",
    "era_name": "object",
    "min_observed_date": "datetime64[ns]",
    "max_observed_date": "datetime64[ns]",
}
#: ``metadata['attrition']`` columns (OHDSI 6.0.0 ``CountOutcomes.sql`` + ``description``).
ATTRITION_COLUMNS: dict[str, str] = {
    "outcome_id": "int64",
    "outcome_subjects": "int64",
    "outcome_events": "int64",
    "outcome_obs_periods": "int64",
    "observed_days": "int64",
    "description": "object",
}
#: ``metadata['prevalences']`` columns (OHDSI 6.0.0 ``getDbSccsData``).
PREVALENCE_COLUMNS: dict[str, str] = {
    "outcome_id": "int64",
    "outcome_proportion": "float64",
    "outcome_rate": "float64",
    "probably_first_outcome_only": "bool",
}
_TABLES = {"cases": CASES_COLUMNS, "eras": ERAS_COLUMNS, "era_ref": ERA_REF_COLUMNS}


def _check_columns(name: str, frame: Any, columns: dict[str, str]) -> None:
    """Raise :class:`OmopError` naming the table and the first missing column."""
    if not isinstance(frame, pd.DataFrame):
        raise OmopError(f"SccsData.{name}: must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise OmopError(f"SccsData.{name}: missing column(s) {', '.join(map(repr, missing))}")


@dataclass(frozen=True)
class SccsData:
    """Cases, eras and era references of one extraction, as OHDSI's ``SccsData``.

    Parameters
    ----------
    cases, eras, era_ref : pandas.DataFrame
        The three tables described in the module docstring (columns :data:`CASES_COLUMNS`,
        :data:`ERAS_COLUMNS`, :data:`ERA_REF_COLUMNS`; extra columns are kept).
    metadata : dict
        ``exposure_ids``, ``outcome_ids``, ``attrition``, ``prevalences``, ``study_periods``,
        ``nesting_cohort_id``, ``database_end_date`` and the extraction settings.

    Raises
    ------
    OmopError
        When a table is not a DataFrame or lacks a column.

    Examples
    --------
    >>> from analysis.omop.sccs_data import empty_sccs_data
    >>> empty_sccs_data().n_cases
    0
    """

    cases: pd.DataFrame
    eras: pd.DataFrame
    era_ref: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, columns in _TABLES.items():
            _check_columns(name, getattr(self, name), columns)

    @property
    def n_cases(self) -> int:
        """Number of cases (observation periods with the outcome).

        Examples
        --------
        >>> from analysis.omop.sccs_data import empty_sccs_data
        >>> empty_sccs_data().n_cases
        0
        """
        return len(self.cases)

    def summary(self) -> pd.DataFrame:
        """Outcome counts per outcome id, as OHDSI's ``summary(sccsData)``.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``outcome_id``: ``outcome_subjects`` (distinct persons),
            ``outcome_events`` (outcome eras), ``outcome_obs_periods`` (distinct cases).

        Examples
        --------
        >>> from analysis.omop.sccs_data import empty_sccs_data
        >>> len(empty_sccs_data().summary())
        0
        """
        hoi = self.eras.loc[self.eras["era_type"] == "hoi", ["case_id", "era_id"]]
        merged = hoi.merge(self.cases[["case_id", "person_id"]], on="case_id", how="inner")
        counts = merged.groupby("era_id").agg(
            outcome_subjects=("person_id", "nunique"),
            outcome_events=("case_id", "size"),
            outcome_obs_periods=("case_id", "nunique"),
        )
        counts.index.name = "outcome_id"
        return counts.astype("int64")


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    """An empty DataFrame with the given columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def empty_sccs_data(**metadata: Any) -> SccsData:
    """An ``SccsData`` with no cases (typed empty tables), for tests and no-case extractions.

    Parameters
    ----------
    **metadata
        Entries of ``metadata``; ``attrition`` and ``prevalences`` default to empty tables.

    Returns
    -------
    SccsData

    Examples
    --------
    >>> from analysis.omop.sccs_data import empty_sccs_data
    >>> str(empty_sccs_data().eras["era_start_day"].dtype)
    'int64'
    """
    meta: dict[str, Any] = {
        "exposure_ids": [],
        "outcome_ids": [],
        "attrition": _empty(ATTRITION_COLUMNS),
        "prevalences": _empty(PREVALENCE_COLUMNS),
        "study_periods": None,
        "nesting_cohort_id": None,
        "database_end_date": None,
    }
    meta.update(metadata)
    return SccsData(
        cases=_empty(CASES_COLUMNS),
        eras=_empty(ERAS_COLUMNS),
        era_ref=_empty(ERA_REF_COLUMNS),
        metadata=meta,
    )
