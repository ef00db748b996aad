"""Query engines of the OMOP layer: DuckDB (embedded) and Spark (local or cluster).

Every query of the layer is written once, in DuckDB's SQL dialect (:mod:`analysis.omop._sql`);
:class:`SparkEngine` transpiles it to Spark SQL with sqlglot. An engine knows how to register a
raw source table (a DuckDB table, a Parquet or CSV file), create a view, materialise a work table
and fetch a result into pandas; nothing else differs between engines.

Work tables live in the engine's own session: DuckDB's in-memory database (a CDM in a DuckDB file
is attached read-only beside it) or Spark's temporary views (locally checkpointed). Nothing is
written into the user's CDM.

Examples
--------
>>> from analysis.omop.engine import DuckDBEngine
>>> engine = DuckDBEngine()
>>> engine.materialize("t", "SELECT 1 AS x UNION ALL SELECT 2")
>>> engine.fetch("SELECT COUNT(*) AS n FROM t")["n"].tolist()
[2]
>>> engine.close()
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.omop.errors import OmopError

__all__ = ["ENGINES", "DuckDBEngine", "SparkEngine", "make_engine", "spark_session", "to_spark"]

#: The engines ``--engine`` accepts.
ENGINES: tuple[str, ...] = ("duckdb", "spark")


def _quote(name: str) -> str:
    """A double-quoted SQL identifier (DuckDB dialect; sqlglot turns it into Spark's backticks)."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


class DuckDBEngine:
    """DuckDB in memory; a CDM database file is attached read-only as catalog ``cdm``.

    Parameters
    ----------
    database : str or Path, optional
        A DuckDB CDM file to attach read-only (nothing is written into it).

    Examples
    --------
    >>> from analysis.omop.engine import DuckDBEngine
    >>> DuckDBEngine().name
    'duckdb'
    """

    name = "duckdb"

    def __init__(self, database: str | Path | None = None) -> None:
        import duckdb

        self.con = duckdb.connect()
        if database is not None:
            self.con.execute(f"ATTACH {_literal(str(database))} AS cdm (READ_ONLY)")

    def execute(self, sql: str) -> None:
        """Run one statement (DuckDB dialect)."""
        self.con.execute(sql)

    def create_view(self, name: str, select_sql: str) -> None:
        """A (lazy) view ``name`` over ``select_sql``."""
        self.execute(f"CREATE OR REPLACE VIEW {_quote(name)} AS {select_sql}")

    def materialize(self, name: str, select_sql: str) -> None:
        """A work table ``name`` holding the result of ``select_sql``, computed once."""
        self.execute(f"CREATE OR REPLACE TABLE {_quote(name)} AS {select_sql}")

    def fetch(self, select_sql: str) -> pd.DataFrame:
        """The result of ``select_sql`` as a pandas DataFrame."""
        return self.con.execute(select_sql).df()

    def register_file(self, name: str, path: Path, fmt: str) -> list[str]:
        """View ``name`` over a Parquet file/folder or CSV file; returns its column names."""
        target = str(path / "*.parquet") if path.is_dir() else str(path)
        if fmt == "parquet":
            source = f"read_parquet({_literal(target)})"
        else:
            source = f"read_csv({_literal(target)}, header = true, all_varchar = true)"
        self.create_view(name, f"SELECT * FROM {source}")
        return self.columns(name)

    def columns(self, relation: str) -> list[str]:
        """Column names of a table or view (``relation`` already quoted if need be)."""
        return self.fetch(f"DESCRIBE SELECT * FROM {relation}")["column_name"].tolist()

    def close(self) -> None:
        """Close the connection (the in-memory work tables go with it)."""
        self.con.close()


@cache
def spark_session() -> Any:
    """The process's local Spark session (``local[2]``, UTC, Arrow transfers, no UI).

    A session configured elsewhere (a cluster through the usual Spark configuration:
    ``SPARK_REMOTE``, ``spark-defaults.conf``, ``PYSPARK_SUBMIT_ARGS``) is reused as it is by
    :class:`SparkEngine` when passed in; this helper only builds the default local one.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - pyspark is a pinned dependency
        raise OmopError("--engine spark: pyspark is not installed") from exc
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(os.environ.get("OMOP_SPARK_MASTER", "local[2]"))
        .appName("analysis-omop")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", os.environ.get("OMOP_SPARK_DRIVER_MEMORY", "4g"))
    )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # Java missing or broken: say so instead of a Py4J traceback
        message = f"--engine spark: cannot start Spark ({exc}); is Java 17 installed?"
        raise OmopError(message) from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def to_spark(sql: str) -> str:
    """Transpile one statement from DuckDB's dialect to Spark SQL (sqlglot).

    Examples
    --------
    >>> from analysis.omop.engine import to_spark
    >>> to_spark("SELECT DATE_DIFF('day', a, b) AS d FROM t")
    'SELECT DATEDIFF(DAY, a, b) AS d FROM t'
    """
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


class SparkEngine:
    """Spark SQL over temporary views; queries written for DuckDB are transpiled by sqlglot.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession, optional
        The session to use; default :func:`spark_session` (local mode).

    Examples
    --------
    >>> from analysis.omop.engine import SparkEngine
    >>> SparkEngine.name
    'spark'
    """

    name = "spark"

    def __init__(self, spark: Any = None) -> None:
        self.spark = spark if spark is not None else spark_session()
        self._views: list[str] = []

    def _df(self, select_sql: str) -> Any:
        return self.spark.sql(to_spark(select_sql))

    def execute(self, sql: str) -> None:
        """Run one statement (written in DuckDB's dialect)."""
        self._df(sql)

    def create_view(self, name: str, select_sql: str) -> None:
        """A (lazy) temporary view ``name`` over ``select_sql``."""
        self._df(select_sql).createOrReplaceTempView(name)
        self._views.append(name)

    def materialize(self, name: str, select_sql: str) -> None:
        """A temporary view computed once (local checkpoint), so later queries do not recompute."""
        self._df(select_sql).localCheckpoint(eager=True).createOrReplaceTempView(name)
        self._views.append(name)

    def fetch(self, select_sql: str) -> pd.DataFrame:
        """The result of ``select_sql`` as a pandas DataFrame (through Arrow)."""
        return self._df(select_sql).toPandas()

    def register_file(self, name: str, path: Path, fmt: str) -> list[str]:
        """Temporary view ``name`` over a Parquet file/folder or CSV file; returns its columns."""
        reader = self.spark.read
        frame = (
            reader.parquet(str(path))
            if fmt == "parquet"
            else reader.option("header", "true").csv(str(path))
        )
        frame.createOrReplaceTempView(name)
        self._views.append(name)
        return list(frame.columns)

    def columns(self, relation: str) -> list[str]:
        """Column names of a temporary view."""
        return list(self.spark.table(relation).columns)

    def close(self) -> None:
        """Drop this engine's temporary views (the shared session stays up)."""
        for name in dict.fromkeys(self._views):
            self.spark.catalog.dropTempView(name)
        self._views.clear()


def make_engine(engine: str, *, database: Path | None = None, spark: Any = None) -> Any:
    """The engine called ``engine`` (``'duckdb'`` or ``'spark'``).

    Raises
    ------
    OmopError
        For an unknown engine name, or Spark over a DuckDB database file.

    Examples
    --------
    >>> from analysis.omop.engine import make_engine
    >>> make_engine("sqlite")
    Traceback (most recent call last):
    ...
    analysis.omop.errors.OmopError: --engine 'sqlite': must be one of duckdb, spark
    """
    if engine not in ENGINES:
        raise OmopError(f"--engine {engine!r}: must be one of {', '.join(ENGINES)}")
    if engine == "duckdb":
        return DuckDBEngine(database)
    if database is not None:
        raise OmopError(
            f"--cdm {database}: --engine spark reads a folder of Parquet or CSV files, "
            "not a DuckDB database file"
        )
    return SparkEngine(spark)
