"""The book on an OMOP CDM: ``IVIG_COHORT=omop:PATH?concepts=MAP`` as a cohort folder.

:func:`parse_source` reads the value (``PATH`` a DuckDB file or a folder of CDM tables, ``MAP`` a
concept mapping, default ``data/omop/ivig-concepts.yaml``; relative paths from the working
directory). :func:`prepare` converts the CDM once (:func:`~analysis.omop.ivig_cohort.extract_cohort`
then :func:`~analysis.omop.ivig_cohort.write_extracted`, the code of ``omop cohort``) into the
folder ``<cache>/omop-cohort-<key>/``, where ``<key>`` hashes the CDM's contents, the mapping's and
the OMOP layer's code, and ``<cache>`` is ``$IVIG_OMOP_CACHE`` or the project's ``_build/cache``
(git-ignored; never copied into the HTML). A later call with the same CDM, mapping and code reads
the folder again. The folder holds patient-level rows (with the CDM's ``person_id``): it stays
on the machine, like the CDM.

Examples
--------
>>> src = parse_source("omop:data/omop?concepts=data/omop/ivig-concepts.yaml")
>>> src.cdm.name, src.concepts.name
('omop', 'ivig-concepts.yaml')
>>> parse_source("omop:data/omop?concept=x")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
analysis.omop.errors.OmopError: IVIG_COHORT=omop:...: unknown option 'concept' (the only one ...)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from analysis import PROJECT_ROOT
from analysis.omop.concepts import DEFAULT_CONCEPTS
from analysis.omop.errors import OmopError
from analysis.omop.ivig_cohort import content_sha256, extract_cohort, write_extracted
from analysis.report.book import COHORT_ENV, OMOP_SCHEME

__all__ = ["CACHE_ENV", "OmopSource", "cache_folder", "parse_source", "prepare"]

#: Environment variable naming the folder converted CDMs are kept in (default ``_build/cache``).
CACHE_ENV = "IVIG_OMOP_CACHE"
_OMOP_CODE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class OmopSource:
    """A CDM and the concept mapping to read it through (absolute paths).

    Examples
    --------
    >>> OmopSource(Path("/c.duckdb"), Path("/m.yaml")).cdm.name
    'c.duckdb'
    """

    cdm: Path
    concepts: Path


def parse_source(text: str) -> OmopSource:
    """``omop:PATH[?concepts=MAP]`` as an :class:`OmopSource`; a bad value raises
    :class:`OmopError` naming ``IVIG_COHORT`` and the rule.

    Examples
    --------
    >>> parse_source("omop:data/omop").concepts.name  # the project's mapping by default
    'ivig-concepts.yaml'
    >>> parse_source("omop:no/such.duckdb")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analysis.omop.errors.OmopError: IVIG_COHORT=omop:no/such.duckdb: the CDM ... does not exist ...
    """
    where = f"{COHORT_ENV}={text}"
    if not text.startswith(OMOP_SCHEME):
        raise OmopError(f"{where}: must start with {OMOP_SCHEME!r}")
    path, _, query = text[len(OMOP_SCHEME):].partition("?")
    options: dict[str, str] = {}
    for item in filter(None, query.split("&")):
        key, sep, value = item.partition("=")
        if key != "concepts" or not sep or not value:
            raise OmopError(f"{where}: unknown option {key!r} (the only one is 'concepts=MAP')")
        options[key] = value
    if not path:
        raise OmopError(f"{where}: no CDM path after {OMOP_SCHEME!r}")
    cdm = Path(path).expanduser().resolve()
    concepts = Path(options.get("concepts", DEFAULT_CONCEPTS)).expanduser().resolve()
    if not cdm.exists():
        raise OmopError(f"{where}: the CDM {path} does not exist (a DuckDB file or a folder of "
                        "CDM tables)")
    if not concepts.is_file():
        raise OmopError(f"{where}: the concept mapping {options.get('concepts', concepts)} is "
                        "not a file")
    return OmopSource(cdm, concepts)


def _code_sha256() -> str:
    """SHA-256 of the OMOP layer's source: a new extraction rule makes a new cohort."""
    h = hashlib.sha256()
    for f in sorted(_OMOP_CODE.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def cache_folder(source: OmopSource, cache: str | Path | None = None) -> Path:
    """``<cache>/omop-cohort-<key>``: the cohort folder of ``source`` (see the module docstring).

    Examples
    --------
    >>> src = parse_source("omop:data/omop/ivig-concepts.yaml")
    >>> cache_folder(src, "/tmp/c").name.startswith("omop-cohort-")
    True
    """
    root = cache or os.environ.get(CACHE_ENV, "").strip() or PROJECT_ROOT / "_build" / "cache"
    key = hashlib.sha256(" ".join((content_sha256(source.cdm), content_sha256(source.concepts),
                                   _code_sha256())).encode()).hexdigest()[:16]
    return Path(root).expanduser().resolve() / f"omop-cohort-{key}"


def prepare(text: str, cache: str | Path | None = None) -> Path:
    """The cohort folder of ``IVIG_COHORT=text``, converted now if it is not there yet.

    Converted into a temporary sibling and renamed into place, so a folder that exists is
    complete; two processes converting at once both end with the same folder. A CDM the
    extraction refuses raises its :class:`OmopError` and leaves nothing behind.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from analysis.omop.ivig_twin import write_twin
    >>> from analysis.study import load_cohort
    >>> cdm = pathlib.Path(tempfile.mkdtemp()) / "twin.duckdb"
    >>> folder = prepare(f"omop:{write_twin(load_cohort('data/synthetic'), cdm)}",
    ...                  cache=cdm.parent / "cache")
    >>> load_cohort(folder).name, prepare(f"omop:{cdm}", cache=cdm.parent / "cache") == folder
    ('OMOP CDM twin.duckdb', True)
    """
    source = parse_source(text)
    folder = cache_folder(source, cache)
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        staged = write_extracted(extract_cohort(source.cdm, source.concepts), staging / "cohort")
        try:
            os.rename(staged, folder)
        except OSError:
            if not folder.is_dir():  # not another process's finished conversion
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
