"""The extraction's SQL, written once in DuckDB's dialect (Spark gets it through sqlglot).

Each function returns one SELECT statement implementing one step of OHDSI SelfControlledCaseSeries
6.0.0's ``getDbSccsData`` (``inst/sql/SelectOutcomes.sql``, ``CreateCases.sql``,
``CountOutcomes.sql``, ``CountBasePopulation.sql``, ``SampleCases.sql``, ``CreateEras.sql``,
``QueryCases.sql``, ``QueryEras.sql``), reading the normalised CDM views of
:mod:`analysis.omop.cdm` and the work tables named here. The engines materialise them; only the
final cases and eras queries are fetched into pandas. Deviations from OHDSI, all for determinism or
portability, are noted where they are made.

Work tables: ``outcome_ids``, ``outcomes``, ``study_periods``, ``cases``, ``cases_in_periods``,
``cases_in_nesting``, ``sampled_cases``, ``eras_all``, ``eras``, ``era_ref``.

Examples
--------
>>> from analysis.omop._sql import ids_sql
>>> ids_sql("outcome_id", [3, 4])
'SELECT CAST(3 AS BIGINT) AS outcome_id UNION ALL SELECT CAST(4 AS BIGINT) AS outcome_id'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "EraSource",
    "base_population_sql",
    "case_windows_sql",
    "cases_sql",
    "count_outcomes_sql",
    "custom_eras_sql",
    "era_ref_sql",
    "eras_sql",
    "exposure_eras_sql",
    "fetch_cases_sql",
    "fetch_eras_sql",
    "ids_sql",
    "outcome_eras_sql",
    "outcomes_sql",
    "sample_cases_sql",
    "study_periods_sql",
]


@dataclass(frozen=True)
class EraSource:
    """A table of dated, per-person records usable as exposures or outcomes.

    Attributes
    ----------
    relation : str
        The normalised view or work table.
    person, concept, start, end : str
        Its person id, era id (concept or cohort id), start date and end date columns (``end``
        may be an expression, e.g. ``COALESCE(cohort_end_date, cohort_start_date)``).
    label : str or None
        ``'Exposure cohort '`` / ``'Outcome cohort '`` for cohort tables (era names are the label
        and the id, as OHDSI); None to name eras from ``concept`` (CDM era tables).
    """

    relation: str
    person: str
    concept: str
    start: str
    end: str
    label: str | None = None


def date_literal(value: dt.date) -> str:
    """A portable DATE literal."""
    return f"DATE '{value.isoformat()}'"


def ids_sql(column: str, ids: Sequence[int]) -> str:
    """One-column table of integer ids (``UNION ALL`` of literals: portable, tiny)."""
    return " UNION ALL ".join(f"SELECT CAST({int(i)} AS BIGINT) AS {column}" for i in ids)


def _in_list(ids: Sequence[int]) -> str:
    return ", ".join(str(int(i)) for i in ids)


def outcomes_sql(source: EraSource, outcome_ids: Sequence[int]) -> str:
    """``#outcomes`` (SelectOutcomes.sql): person, outcome id and date of every outcome record."""
    return (
        f"SELECT {source.person} AS person_id, {source.concept} AS outcome_id, "
        f"{source.start} AS outcome_date FROM {source.relation} "
        f"WHERE {source.concept} IN ({_in_list(outcome_ids)})"
    )


def study_periods_sql(periods: Sequence[tuple[dt.date, dt.date]]) -> str:
    """``#study_periods``: one row per study period (start, end)."""
    return " UNION ALL ".join(
        f"SELECT {date_literal(a)} AS study_start_date, {date_literal(b)} AS study_end_date"
        for a, b in periods
    )


def cases_sql(observation_period: str, person: str, database_end: dt.date, seed: int) -> str:
    """``#cases`` (CreateCases.sql): observation periods holding an outcome, with the person.

    ``noninformative_end_censor`` is 1 when the period ends on the database's last observation
    date. ``random_id`` replaces OHDSI's ``NEWID()`` by ``md5(seed-observation_period_id)``: the
    same seeded order on every engine and every run.
    """
    return f"""
SELECT op.observation_period_id,
    ROW_NUMBER() OVER (ORDER BY op.observation_period_id) AS case_id,
    p.person_id,
    MD5(CAST({int(seed)} AS VARCHAR) || '-' || CAST(op.observation_period_id AS VARCHAR))
        AS random_id,
    CASE WHEN op.observation_period_end_date = {date_literal(database_end)}
        THEN 1 ELSE 0 END AS noninformative_end_censor,
    op.observation_period_start_date,
    op.observation_period_start_date AS start_date,
    op.observation_period_end_date AS end_date,
    MAKE_DATE(CAST(p.year_of_birth AS INT), CAST(COALESCE(p.month_of_birth, 1) AS INT),
        CAST(COALESCE(p.day_of_birth, 1) AS INT)) AS date_of_birth,
    p.gender_concept_id
FROM (
    SELECT DISTINCT o.observation_period_id, o.person_id, o.observation_period_start_date,
        o.observation_period_end_date
    FROM {observation_period} o
    INNER JOIN outcomes
        ON outcomes.person_id = o.person_id
        AND outcomes.outcome_date >= o.observation_period_start_date
        AND outcomes.outcome_date <= o.observation_period_end_date
) op
INNER JOIN {person} p ON op.person_id = p.person_id"""


def _clipped(lo: str, hi: str) -> str:
    """start/end dates clipped to the window [lo, hi]."""
    return (
        f"CASE WHEN {lo} > start_date THEN {lo} ELSE start_date END AS start_date, "
        f"CASE WHEN {hi} < end_date THEN {hi} ELSE end_date END AS end_date"
    )


def _window(base: str, lo: str, hi: str, join: str, on: str = "TRUE", where: str = "TRUE") -> str:
    """Rows of ``base`` overlapping a window of ``join``, clipped to it."""
    return (
        f"SELECT b.*, {lo} AS window_start, {hi} AS window_end FROM {base} b "
        f"INNER JOIN {join} w ON {on} AND b.end_date >= {lo} AND b.start_date <= {hi} "
        f"WHERE {where}"
    )


def case_windows_sql(base: str, join: str, lo: str, hi: str, on: str, where: str) -> str:
    """``#cases_in_periods`` / ``#cases_in_nesting`` (CreateCases.sql): cases cut to a window.

    A case overlapping several windows gives one case per window; ``case_id`` is renumbered in
    (observation period, start, end) order (OHDSI orders by observation period only, leaving ties
    to the database). The end becomes non-informative when the window ends before the period.
    """
    return f"""
SELECT observation_period_id,
    ROW_NUMBER() OVER (ORDER BY observation_period_id, start_date, end_date) AS case_id,
    person_id, random_id, noninformative_end_censor, observation_period_start_date,
    start_date, end_date, date_of_birth, gender_concept_id
FROM (
    SELECT observation_period_id, person_id, random_id,
        CASE WHEN window_end < end_date THEN 1 ELSE noninformative_end_censor END
            AS noninformative_end_censor,
        observation_period_start_date,
        {_clipped("window_start", "window_end")},
        date_of_birth, gender_concept_id
    FROM ({_window(base, lo, hi, join, on, where)}) t
) clipped"""


def _days(start: str, end: str) -> str:
    return f"DATE_DIFF('day', {start}, {end})"


def count_outcomes_sql(case_table: str, description: str) -> str:
    """One attrition step (CountOutcomes.sql): per outcome id, counts within ``case_table``.

    As OHDSI, ``observed_days`` sums each case's observed days once per outcome event in it.
    """
    return f"""
SELECT ids.outcome_id,
    COALESCE(n.outcome_subjects, 0) AS outcome_subjects,
    COALESCE(n.outcome_events, 0) AS outcome_events,
    COALESCE(n.outcome_obs_periods, 0) AS outcome_obs_periods,
    COALESCE(n.observed_days, 0) AS observed_days,
    '{description}' AS description
FROM outcome_ids ids
LEFT JOIN (
    SELECT o.outcome_id,
        COUNT(DISTINCT o.person_id) AS outcome_subjects,
        COUNT(*) AS outcome_events,
        COUNT(DISTINCT c.observation_period_id) AS outcome_obs_periods,
        SUM(CAST({_days("c.start_date", "c.end_date")} AS BIGINT) + 1) AS observed_days
    FROM outcomes o
    INNER JOIN {case_table} c
        ON o.person_id = c.person_id AND o.outcome_date >= c.start_date
        AND o.outcome_date <= c.end_date
    GROUP BY o.outcome_id
) n ON ids.outcome_id = n.outcome_id"""


def base_population_sql(
    observation_period: str, periods: bool, nesting: tuple[str, int] | None
) -> str:
    """CountBasePopulation.sql: observation windows and days of the whole base population.

    Parameters
    ----------
    observation_period : str
        The observation_period view.
    periods : bool
        Whether the ``study_periods`` work table restricts the windows.
    nesting : (cohort relation, nesting cohort id) or None
        The nesting cohort restricting the windows.
    """
    rows = (
        "SELECT person_id, observation_period_start_date AS start_date, "
        f"observation_period_end_date AS end_date FROM {observation_period}"
    )
    if periods:
        inner = _window(f"({rows})", "w.study_start_date", "w.study_end_date", "study_periods")
        rows = f"SELECT person_id, {_clipped('window_start', 'window_end')} FROM ({inner}) t"
    if nesting is not None:
        cohort, cohort_id = nesting
        inner = _window(
            f"({rows})",
            "w.cohort_start_date",
            "w.cohort_end_date",
            cohort,
            "b.person_id = w.subject_id",
            f"w.cohort_definition_id = {int(cohort_id)}",
        )
        rows = f"SELECT person_id, {_clipped('window_start', 'window_end')} FROM ({inner}) t"
    return (
        "SELECT COUNT(*) AS window_count, "
        f"SUM(CAST({_days('start_date', 'end_date')} AS BIGINT) + 1) AS days_count FROM ({rows}) t"
    )


def sample_cases_sql(case_table: str, max_cases: int) -> str:
    """``#sampled_cases`` (SampleCases.sql): at most ``max_cases`` cases per outcome.

    Per outcome, the cases with that outcome in their window are ordered by ``random_id`` (ties
    by ``case_id``) and the first ``max_cases`` kept; a case kept for any outcome is kept.
    """
    return f"""
SELECT c.* FROM {case_table} c
WHERE c.case_id IN (
    SELECT case_id FROM (
        SELECT case_id,
            ROW_NUMBER() OVER (PARTITION BY outcome_id ORDER BY random_id, case_id) AS rn
        FROM (
            SELECT DISTINCT k.case_id, k.random_id, o.outcome_id
            FROM {case_table} k
            INNER JOIN outcomes o
                ON o.person_id = k.person_id AND o.outcome_date >= k.start_date
                AND o.outcome_date <= k.end_date
        ) d
    ) r
    WHERE rn <= {int(max_cases)}
)"""


def _case_eras_sql(era_type: str, source: EraSource, case_table: str, rule: str) -> str:
    """Eras of ``era_type`` from ``source`` joined to the cases' persons under ``rule``."""
    return f"""
SELECT DISTINCT '{era_type}' AS era_type, c.case_id, e.{source.concept} AS era_id,
    CAST(1 AS DOUBLE) AS era_value,
    {_days("c.observation_period_start_date", "e." + source.start)} AS era_start_day,
    {_days("c.observation_period_start_date", "e." + source.end)} AS era_end_day
FROM {source.relation} e
INNER JOIN {case_table} c ON e.{source.person} = c.person_id
WHERE {rule}"""


def exposure_eras_sql(source: EraSource, case_table: str, exposure_ids: Sequence[int]) -> str:
    """Exposure eras of the cases (CreateEras.sql, 'rx'): eras overlapping [period start, end]."""
    rule = (f"e.{source.start} <= c.end_date AND e.{source.end} >= "
            "c.observation_period_start_date")
    if exposure_ids:
        rule += f" AND e.{source.concept} IN ({_in_list(exposure_ids)})"
    return _case_eras_sql("rx", source, case_table, rule)


def custom_eras_sql(source: EraSource, era_type: str, case_table: str,
                    ids: Sequence[int]) -> str:
    """Custom covariate eras of the cases (CreateEras.sql, ``'cst'`` from a cohort table or
    ``'dx'`` from ``condition_era``): records *starting* in [period start, end] (exposure eras
    need only overlap), of the ids asked (all records when ``ids`` is empty)."""
    rule = (f"e.{source.start} <= c.end_date AND e.{source.start} >= "
            "c.observation_period_start_date")
    if ids:
        rule += f" AND e.{source.concept} IN ({_in_list(ids)})"
    return _case_eras_sql(era_type, source, case_table, rule)


def outcome_eras_sql(case_table: str) -> str:
    """Outcome eras of the cases (CreateEras.sql, 'hoi'): one-day eras in [period start, end]."""
    return f"""
SELECT DISTINCT 'hoi' AS era_type, c.case_id, o.outcome_id AS era_id,
    CAST(1 AS DOUBLE) AS era_value,
    {_days("c.observation_period_start_date", "o.outcome_date")} AS era_start_day,
    {_days("c.observation_period_start_date", "o.outcome_date")} AS era_end_day
FROM outcomes o
INNER JOIN {case_table} c
    ON o.person_id = c.person_id AND o.outcome_date <= c.end_date
    AND o.outcome_date >= c.observation_period_start_date"""


def era_ref_sql(era_type: str, source: EraSource, concept: str | None) -> str:
    """``#era_ref`` rows of one era type: name, first and last date of each id in its table.

    Names come from ``source.label`` + id (cohort tables) or from ``concept``: a LEFT JOIN for
    exposures and custom covariates, an INNER JOIN for outcomes, as OHDSI (an outcome concept
    missing from ``concept`` has no reference row).
    """
    span = (
        f"SELECT {source.concept} AS id, MIN({source.start}) AS min_observed_date, "
        f"MAX({source.end}) AS max_observed_date FROM {source.relation} "
        f"WHERE {source.concept} IN (SELECT era_id FROM eras_all WHERE era_type = '{era_type}') "
        f"GROUP BY {source.concept}"
    )
    ids = f"(SELECT DISTINCT era_id FROM eras_all WHERE era_type = '{era_type}') e"
    if source.label is not None:
        name, join = f"'{source.label}' || CAST(e.era_id AS VARCHAR)", ""
    else:
        kind = "INNER" if era_type == "hoi" else "LEFT"
        name = "con.concept_name"
        join = f"{kind} JOIN {concept} con ON e.era_id = con.concept_id"
    return (
        f"SELECT '{era_type}' AS era_type, e.era_id, {name} AS era_name, "
        f"s.min_observed_date, s.max_observed_date FROM {ids} {join} "
        f"INNER JOIN ({span}) s ON e.era_id = s.id"
    )


def eras_sql(delete_covariates_small_count: int) -> str:
    """Final eras (CreateEras.sql's deletions): no era id 0, no id with fewer eras than asked.

    As OHDSI, the count is over all eras of an id (exposure and outcome alike) in all cases.
    """
    where = "era_id <> 0"
    if delete_covariates_small_count:
        where += (
            " AND era_id NOT IN (SELECT era_id FROM eras_all WHERE era_id <> 0 GROUP BY era_id "
            f"HAVING COUNT(*) < {int(delete_covariates_small_count)})"
        )
    return f"SELECT * FROM eras_all WHERE {where}"


def fetch_cases_sql(case_table: str) -> str:
    """QueryCases.sql: the cases, days relative to the observation period start."""
    return f"""
SELECT observation_period_id, case_id, person_id, noninformative_end_censor,
    observation_period_start_date,
    {_days("observation_period_start_date", "start_date")} AS start_day,
    {_days("observation_period_start_date", "end_date")} AS end_day,
    {_days("date_of_birth", "observation_period_start_date")} AS age_at_obs_start,
    gender_concept_id
FROM {case_table}
ORDER BY case_id"""


def fetch_eras_sql() -> str:
    """QueryEras.sql: the eras, in a total order (OHDSI orders by case only)."""
    return (
        "SELECT era_type, case_id, era_id, era_value, era_start_day, era_end_day FROM eras "
        "ORDER BY case_id, era_type, era_id, era_start_day, era_end_day"
    )
