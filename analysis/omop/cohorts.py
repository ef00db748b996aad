"""Cohorts: from the CDM's cohort table, or defined from concept sets over CDM tables.

A :class:`CohortDefinition` selects the records of one CDM table (``drug_era``,
``drug_exposure``, ``condition_occurrence``, ``condition_era``) whose concept is in a concept set,
optionally with its descendants through ``concept_ancestor``, optionally the first record per
person only. :func:`cohort_relation` materialises the definitions as a work table in the
shape of an OMOP ``cohort`` table (``cohort_definition_id``, ``subject_id``,
``cohort_start_date``, ``cohort_end_date``); the CDM's own cohort table, when present, supplies
every other cohort id.

:data:`EUNOMIA_COHORTS` are the four cohorts of Eunomia's ``createCohorts`` (OHDSI/Eunomia
``inst/sql/CreateCohortTable.sql``, used by OHDSI SelfControlledCaseSeries' own tests):
1 celecoxib and 2 diclofenac (drug eras), 3 gastrointestinal haemorrhage (condition occurrences
of 192671 and descendants, end = start + 1 day when missing), 4 NSAIDs (first exposure to
celecoxib or diclofenac or their descendants).

Examples
--------
>>> from analysis.omop.cohorts import cohort_definitions_from_spec
>>> defs = cohort_definitions_from_spec(
...     [{"cohort_id": 1, "source": "drug_era", "concept_ids": [1118084]}])
>>> defs[0].include_descendants
False
>>> cohort_definitions_from_spec([{"cohort_id": 1, "source": "visit", "concept_ids": [1]}])
... # doctest: +ELLIPSIS
Traceback (most recent call last):
...
analysis.omop.errors.OmopError: cohort_definitions[0].source: must be one of ..., got 'visit'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analysis.omop.cdm import Cdm
from analysis.omop.errors import OmopError

__all__ = [
    "EUNOMIA_COHORTS",
    "CohortDefinition",
    "cohort_definitions_from_spec",
    "cohort_relation",
]

#: concept column, start column, end expression (a missing end is start + 1 day) per source table.
_SOURCES: dict[str, tuple[str, str, str]] = {
    "condition_era": ("condition_concept_id", "condition_era_start_date", "condition_era_end_date"),
    "condition_occurrence": (
        "condition_concept_id",
        "condition_start_date",
        "COALESCE(condition_end_date, condition_start_date + 1)",
    ),
    "drug_era": ("drug_concept_id", "drug_era_start_date", "drug_era_end_date"),
    "drug_exposure": (
        "drug_concept_id",
        "drug_exposure_start_date",
        "COALESCE(drug_exposure_end_date, drug_exposure_start_date + 1)",
    ),
}
_WORK_COHORT = "work_cohort"


def concept_set_sql(cdm: Cdm, table: str, column: str, ids: Sequence[int],
                    include_descendants: bool = False) -> str:
    """The SQL set ``(...)`` of a concept set's ids, for ``column IN <set>`` on ``table``.

    With ``include_descendants``, OHDSI's concept-set semantics: the ids and every descendant of
    them in ``concept_ancestor`` (a concept is its own descendant there; a listed id missing from
    ``concept_ancestor``, a local concept for example, still counts).

    Examples
    --------
    >>> concept_set_sql(None, "drug_exposure", "drug_concept_id", [3, 1])
    '(3, 1)'
    """
    listed = ", ".join(str(int(i)) for i in ids)
    if not include_descendants:
        return f"({listed})"
    return (f"(SELECT descendant_concept_id FROM {cdm.table('concept_ancestor')} "
            f"WHERE ancestor_concept_id IN ({listed}) UNION SELECT {column} FROM "
            f"{cdm.table(table)} WHERE {column} IN ({listed}))")


@dataclass(frozen=True)
class CohortDefinition:
    """One cohort defined from a concept set over a CDM table.

    Attributes
    ----------
    cohort_id : int
        The ``cohort_definition_id`` it gets.
    source : {'drug_era', 'drug_exposure', 'condition_occurrence', 'condition_era'}
        The CDM table whose records enter the cohort (start and end dates of each record).
    concept_ids : tuple of int
        The concept set.
    include_descendants : bool
        Also the concepts' descendants (``concept_ancestor``; a concept is its own descendant).
    first_occurrence_only : bool
        One entry per person: the earliest start and the earliest end date of the records (the
        rule of Eunomia's NSAIDs cohort).

    Examples
    --------
    >>> from analysis.omop.cohorts import CohortDefinition
    >>> CohortDefinition(9, "drug_era", (1,)).first_occurrence_only
    False
    """

    cohort_id: int
    source: str
    concept_ids: tuple[int, ...]
    include_descendants: bool = False
    first_occurrence_only: bool = False

    def select_sql(self, cdm: Cdm) -> str:
        """SELECT of this cohort's rows in the cohort-table shape (DuckDB dialect)."""
        concept, start, end = _SOURCES[self.source]
        concepts = concept_set_sql(cdm, self.source, concept, self.concept_ids,
                                   self.include_descendants)
        rows = (
            f"SELECT person_id, {start} AS start_date, {end} AS end_date "
            f"FROM {cdm.table(self.source)} WHERE {concept} IN {concepts}"
        )
        if self.first_occurrence_only:
            rows = (
                "SELECT person_id, MIN(start_date) AS start_date, MIN(end_date) AS end_date "
                f"FROM ({rows}) r GROUP BY person_id"
            )
        return (
            f"SELECT CAST({int(self.cohort_id)} AS BIGINT) AS cohort_definition_id, "
            "person_id AS subject_id, start_date AS cohort_start_date, "
            f"end_date AS cohort_end_date FROM ({rows}) c"
        )


EUNOMIA_COHORTS: tuple[CohortDefinition, ...] = (
    CohortDefinition(1, "drug_era", (1118084,)),
    CohortDefinition(2, "drug_era", (1124300,)),
    CohortDefinition(3, "condition_occurrence", (192671,), include_descendants=True),
    CohortDefinition(
        4,
        "drug_exposure",
        (1118084, 1124300),
        include_descendants=True,
        first_occurrence_only=True,
    ),
)


def cohort_relation(cdm: Cdm, definitions: Sequence[CohortDefinition]) -> str:
    """The relation to read cohorts from: the definitions plus the CDM's other cohorts.

    Without definitions it is the CDM's ``cohort`` table (an error if missing). With
    definitions, a work table holds their rows and, when the CDM has a cohort table, its rows
    for every other cohort id. Nothing is written into the CDM.

    Raises
    ------
    OmopError
        When no definition is given and the CDM has no cohort table, or when two definitions
        share an id.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from analysis.omop.cdm import open_cdm
    >>> from analysis.omop.cohorts import CohortDefinition, cohort_relation
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"person_id": [1, 1, 2], "drug_concept_id": [7, 7, 8],
    ...               "drug_era_start_date": ["2020-01-01", "2020-03-01", "2020-01-05"],
    ...               "drug_era_end_date": ["2020-01-31", "2020-03-31", "2020-02-04"]}
    ...              ).to_csv(folder / "drug_era.csv", index=False)
    >>> with open_cdm(folder) as cdm:
    ...     table = cohort_relation(cdm, [CohortDefinition(1, "drug_era", (7,))])
    ...     cdm.fetch(f"SELECT subject_id, cohort_start_date FROM {table} ORDER BY 2").shape
    (2, 2)
    """
    if not definitions:
        return cdm.table("cohort")
    ids = [d.cohort_id for d in definitions]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise OmopError(f"cohort_definitions: cohort_id {dup[0]} is defined more than once")
    parts = [d.select_sql(cdm) for d in definitions]
    if cdm.has_table("cohort"):
        listed = ", ".join(str(int(i)) for i in ids)
        parts.append(
            "SELECT cohort_definition_id, subject_id, cohort_start_date, cohort_end_date "
            f"FROM {cdm.table('cohort')} WHERE cohort_definition_id NOT IN ({listed})"
        )
    cdm.engine.materialize(_WORK_COHORT, " UNION ALL ".join(parts))
    return _WORK_COHORT


def _require_ints(value: Any, key: str) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise OmopError(f"{key}: must be a non-empty list of integers")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise OmopError(f"{key}: must be a non-empty list of integers, got {value!r}")
    return tuple(value)


def _definition(entry: Any, key: str) -> CohortDefinition:
    if not isinstance(entry, dict):
        raise OmopError(f"{key}: must be a mapping with cohort_id, source, concept_ids")
    allowed = {"cohort_id", "source", "concept_ids", "include_descendants", "first_occurrence_only"}
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise OmopError(f"{key}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})")
    cohort_id = entry.get("cohort_id")
    if not isinstance(cohort_id, int) or isinstance(cohort_id, bool):
        raise OmopError(f"{key}.cohort_id: must be an integer, got {cohort_id!r}")
    source = entry.get("source")
    if source not in _SOURCES:
        raise OmopError(
            f"{key}.source: must be one of {', '.join(sorted(_SOURCES))}, got {source!r}"
        )
    flags = {}
    for flag in ("include_descendants", "first_occurrence_only"):
        flags[flag] = entry.get(flag, False)
        if not isinstance(flags[flag], bool):
            raise OmopError(f"{key}.{flag}: must be true or false, got {flags[flag]!r}")
    concepts = _require_ints(entry.get("concept_ids"), f"{key}.concept_ids")
    return CohortDefinition(cohort_id, source, concepts, **flags)


def cohort_definitions_from_spec(
    entries: Any, key: str = "cohort_definitions"
) -> tuple[CohortDefinition, ...]:
    """Cohort definitions from a specification's list of mappings (errors name the key path).

    Each mapping has ``cohort_id``, ``source``, ``concept_ids`` and optionally
    ``include_descendants`` and ``first_occurrence_only`` (default false).

    Raises
    ------
    OmopError
        Naming the key path and the rule, e.g. ``cohort_definitions[2].concept_ids: ...``.

    Examples
    --------
    >>> from analysis.omop.cohorts import cohort_definitions_from_spec
    >>> cohort_definitions_from_spec([{"cohort_id": 4, "source": "drug_exposure",
    ...     "concept_ids": [1118084, 1124300], "include_descendants": True,
    ...     "first_occurrence_only": True}])[0].concept_ids
    (1118084, 1124300)
    >>> cohort_definitions_from_spec([{"cohort_id": 1, "source": "drug_era", "concept_ids": []}],
    ...                              key="cohorts")
    Traceback (most recent call last):
    ...
    analysis.omop.errors.OmopError: cohorts[0].concept_ids: must be a non-empty list of integers
    """
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise OmopError(f"{key}: must be a list of cohort definitions")
    return tuple(_definition(e, f"{key}[{i}]") for i, e in enumerate(entries))
