"""The synthetic OMOP twin: a contract cohort written as an OMOP CDM in DuckDB.

:func:`write_twin` turns a loaded :class:`~analysis.study.cohort.Cohort` into the CDM tables
``person``, ``observation_period``, ``drug_exposure``, ``condition_occurrence``, ``measurement``,
``visit_occurrence``, ``death``, ``concept`` and ``concept_ancestor`` (the mapping's concepts only,
each its own descendant) and ``cdm_source``, using
the FIRST concept id of each set of the mapping (:mod:`analysis.omop.concepts`), so that
:func:`analysis.omop.ivig_cohort.extract_cohort` reads it back through the same mapping. The
inverse of every proxy of ``data/omop/ivig-concepts.yaml`` is applied here: a grade 3 infection
gets a one-day inpatient visit on its onset day, grade 4-5 an ICU visit, grade 1-2 an outpatient
visit; a bacterial, viral or fungal infection gets an organism condition record on the same day.
Person ids are 1..n in the order of ``patient_id``; ``person_source_value`` keeps the cohort's
``patient_id`` (where a hospital's CDM keeps its record number; the extraction never reads it).
The database is built next to ``path`` and renamed into place (no partial file); rows are
inserted in a fixed order, so the same cohort gives the same table contents
(:func:`twin_digest`). The file itself is not byte-identical from run to run, and cannot be made
so: DuckDB writes a random database identifier into the file's headers when it creates a
database (with duckdb 2.0.0, 75 bytes of two writes of the same cohort differ: the identifier,
the header checksums and block headers that carry it), and offers no option to fix it.
The contents are what is deterministic, and what the tests compare.
An existing file is replaced only when it is a previous twin (a DuckDB database holding no
table but the twin's, :func:`check_twin_path`): a user's CDM given by mistake is refused, not
overwritten.

Examples
--------
>>> import tempfile, pathlib
>>> from analysis.study import load_cohort
>>> from analysis.omop.ivig_twin import write_twin
>>> db = pathlib.Path(tempfile.mkdtemp()) / "twin.duckdb"
>>> write_twin(load_cohort("data/synthetic"), db).name
'twin.duckdb'
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analysis.omop.concepts import DEFAULT_CONCEPTS, ConceptMap, load_concepts
from analysis.omop.errors import OmopError
from analysis.study.cohort import Cohort

__all__ = ["TWIN_TABLES", "check_twin_path", "twin_digest", "twin_tables", "write_twin"]

#: The CDM tables of the twin (:func:`twin_tables`).
TWIN_TABLES = ("person", "observation_period", "drug_exposure", "condition_occurrence",
               "measurement", "visit_occurrence", "death", "concept", "concept_ancestor",
               "cdm_source")

_GRADE_VISIT = {1: "visit_outpatient", 2: "visit_outpatient", 3: "visit_inpatient",
                4: "visit_icu", 5: "visit_icu"}


def _first(cmap: ConceptMap, name: str) -> int:
    return cmap.ids(name)[0]


def _rows(pid: pd.Series, dates: pd.Series, concept: int | pd.Series,
          prefix: str, end: pd.Series | None = None) -> pd.DataFrame:
    """Rows of a CDM event table: ``prefix``'s first word + ``_concept_id``, and
    ``prefix_start_date``/``prefix_end_date`` (with ``end``) or ``prefix_date``."""
    concepts = np.broadcast_to(np.asarray(concept, np.int64), (len(pid),)).copy()
    out = pd.DataFrame({"person_id": pid.to_numpy(np.int64),
                        f"{prefix.split('_')[0]}_concept_id": concepts})
    if end is None:
        out[f"{prefix}_date"] = dates.dt.date.to_numpy()
    else:
        out[f"{prefix}_start_date"] = dates.dt.date.to_numpy()
        out[f"{prefix}_end_date"] = end.dt.date.to_numpy()
    return out


def _person(cohort: Cohort, cmap: ConceptMap, ids: pd.Series) -> pd.DataFrame:
    p = cohort.patients
    age_days = np.round(p["age_at_dara"].to_numpy(float) * 365.25)
    birth = p["dara_start"] - pd.to_timedelta(np.nan_to_num(age_days), unit="D")
    known = np.isfinite(age_days)
    gender = p["sex"].map(cmap.gender).fillna(0).astype(np.int64)
    return pd.DataFrame({
        "person_id": ids.to_numpy(np.int64), "gender_concept_id": gender.to_numpy(),
        "person_source_value": p["patient_id"].astype(str).to_numpy(),
        "year_of_birth": np.where(known, birth.dt.year, 1900).astype(np.int64),
        "month_of_birth": pd.array(np.where(known, birth.dt.month, 0), "Int64"),
        "day_of_birth": pd.array(np.where(known, birth.dt.day, 0), "Int64"),
    }).replace({"month_of_birth": {0: pd.NA}, "day_of_birth": {0: pd.NA}})


def _observation(cohort: Cohort, ids: pd.Series) -> pd.DataFrame:
    """One period per person: earliest record to last contact (or the latest date known)."""
    p = cohort.patients.set_index("patient_id")
    dates = [cohort.ivig, cohort.infections, cohort.igg, cohort.progression]
    stacked = pd.concat([d[["patient_id", "date"]] for d in dates])
    first = stacked.groupby("patient_id")["date"].min().reindex(p.index)
    last = stacked.groupby("patient_id")["date"].max().reindex(p.index)
    start = pd.concat([p["diagnosis_date"], p["dara_start"], first], axis=1).min(axis=1)
    latest = pd.concat([p["dara_last"] + pd.Timedelta(days=30), p["death_date"], last],
                       axis=1).max(axis=1)
    end = p["last_contact"].fillna(latest)
    return pd.DataFrame({"observation_period_id": ids.to_numpy(np.int64),
                         "person_id": ids.to_numpy(np.int64),
                         "observation_period_start_date": start.dt.date.to_numpy(),
                         "observation_period_end_date": end.dt.date.to_numpy()})


def _drugs(cohort: Cohort, cmap: ConceptMap, pid: dict[str, int]) -> pd.DataFrame:
    p = cohort.patients
    dara = pd.concat([p[["patient_id", "dara_start"]].rename(columns={"dara_start": "date"}),
                      p[["patient_id", "dara_last"]].rename(columns={"dara_last": "date"})])
    dara = dara.drop_duplicates()
    parts = [(dara, _first(cmap, "daratumumab")), (cohort.ivig, _first(cmap, "ivig"))]
    out = pd.concat([_rows(d["patient_id"].map(pid), d["date"], c, "drug_exposure",
                           end=d["date"]) for d, c in parts])
    return out


def _conditions(cohort: Cohort, cmap: ConceptMap, pid: dict[str, int]) -> pd.DataFrame:
    p, inf = cohort.patients, cohort.infections
    site_set = {s: n for n, s in reversed(list(cmap.by_kind("site").items()))}
    org_set = {o: n for n, o in reversed(list(cmap.by_kind("organism").items()))}
    site_ids = inf["site"].map(lambda s: _first(cmap, site_set[s]))
    orgs = inf[inf["organism"].isin(list(org_set))]
    org_ids = orgs["organism"].map(lambda o: _first(cmap, org_set[o]))
    diag = p[p["diagnosis_date"].notna()]
    heavy_set = {h: n for n, h in reversed(list(cmap.by_kind("heavy_chain").items()))}
    typed = diag[diag["heavy_chain"].isin(list(heavy_set))]
    heavy_ids = typed["heavy_chain"].map(lambda h: _first(cmap, heavy_set[h]))
    parts = [
        _rows(typed["patient_id"].map(pid), typed["diagnosis_date"], heavy_ids, "condition",
              end=typed["diagnosis_date"]),
        _rows(diag["patient_id"].map(pid), diag["diagnosis_date"], _first(cmap, "myeloma"),
              "condition", end=diag["diagnosis_date"]),
        _rows(cohort.progression["patient_id"].map(pid), cohort.progression["date"],
              _first(cmap, "progression"), "condition", end=cohort.progression["date"]),
        _rows(inf["patient_id"].map(pid), inf["date"], site_ids, "condition", end=inf["date"]),
        _rows(orgs["patient_id"].map(pid), orgs["date"], org_ids, "condition", end=orgs["date"]),
    ]
    return pd.concat(parts)


def _visits(cohort: Cohort, cmap: ConceptMap, pid: dict[str, int]) -> pd.DataFrame:
    inf = cohort.infections
    concept = inf["grade"].astype(int).map(lambda g: _first(cmap, _GRADE_VISIT[g]))
    return _rows(inf["patient_id"].map(pid), inf["date"], concept, "visit", end=inf["date"])


def _measurements(cohort: Cohort, cmap: ConceptMap, pid: dict[str, int]) -> pd.DataFrame:
    igg = cohort.igg
    spike = igg[igg["m_spike_g_dl"].notna()]
    parts = []
    for frame, name, column in ((igg, "igg", "igg_mg_dl"), (spike, "m_spike", "m_spike_g_dl")):
        rows = _rows(frame["patient_id"].map(pid), frame["date"], _first(cmap, name),
                     "measurement")
        rows["value_as_number"] = frame[column].to_numpy(float)
        parts.append(rows)
    return pd.concat(parts)


def _concepts(cmap: ConceptMap) -> pd.DataFrame:
    names = {int(c["id"]): str(c["name"]) for s in cmap.sets.values() for c in s.concepts}
    names.update({i: k for k, i in cmap.gender.items()})
    ids = sorted(names)
    return pd.DataFrame({"concept_id": np.asarray(ids, np.int64),
                         "concept_name": [names[i] for i in ids]})


def _ancestors(concepts: pd.DataFrame) -> pd.DataFrame:
    """``concept_ancestor`` of the twin: each concept is its own descendant (levels 0), as in an
    OMOP vocabulary, so a set with ``include_descendants`` finds the twin's records."""
    ids = concepts["concept_id"].to_numpy(np.int64)
    zero = np.zeros(len(ids), np.int64)
    return pd.DataFrame({"ancestor_concept_id": ids, "descendant_concept_id": ids,
                         "min_levels_of_separation": zero, "max_levels_of_separation": zero})


def twin_tables(cohort: Cohort, cmap: ConceptMap) -> dict[str, pd.DataFrame]:
    """The CDM tables of the twin, as DataFrames (rows in a fixed order).

    Examples
    --------
    >>> from analysis.study import load_cohort
    >>> from analysis.omop.concepts import load_concepts
    >>> t = twin_tables(load_cohort("data/synthetic"), load_concepts())
    >>> len(t["person"]), list(t["death"].columns)
    (143, ['person_id', 'death_date'])
    """
    ids = pd.Series(np.arange(1, len(cohort.patients) + 1), index=cohort.patients.index)
    pid = dict(zip(cohort.patients["patient_id"], ids.to_numpy(), strict=True))
    p = cohort.patients
    dead = p[p["death_date"].notna()]
    tables = {
        "person": _person(cohort, cmap, ids),
        "observation_period": _observation(cohort, ids),
        "drug_exposure": _drugs(cohort, cmap, pid),
        "condition_occurrence": _conditions(cohort, cmap, pid),
        "measurement": _measurements(cohort, cmap, pid),
        "visit_occurrence": _visits(cohort, cmap, pid),
        "death": pd.DataFrame({"person_id": dead["patient_id"].map(pid).to_numpy(np.int64),
                               "death_date": dead["death_date"].dt.date.to_numpy()}),
        "concept": _concepts(cmap),
        "concept_ancestor": _ancestors(_concepts(cmap)),
        "cdm_source": pd.DataFrame({"cdm_version": ["v5.4"]}),
    }
    for name, frame in tables.items():
        keys = [c for c in frame.columns if c != "value_as_number"]
        tables[name] = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    return tables


def check_twin_path(path: str | Path) -> Path:
    """``path`` may receive the twin: it does not exist, or it is a previous twin (a DuckDB file
    with no table but :data:`TWIN_TABLES`), which is replaced.

    Raises
    ------
    OmopError
        Naming ``--omop`` and why: not a file, not a DuckDB database, or a table the twin has not.

    Examples
    --------
    >>> import tempfile, pathlib, duckdb
    >>> db = pathlib.Path(tempfile.mkdtemp()) / "cdm.duckdb"
    >>> check_twin_path(db).name
    'cdm.duckdb'
    >>> with duckdb.connect(str(db)) as con:
    ...     _ = con.execute("CREATE TABLE drug_era (x INTEGER)")
    >>> try:
    ...     check_twin_path(db)
    ... except OmopError as exc:
    ...     print(str(exc).split(": ")[1].split(",")[0])
    holds table drug_era
    """
    path = Path(path)
    if not path.exists():
        return path
    refuse = f"--omop {path}: " + "{}; refusing to replace it (choose a new file)"
    if not path.is_file():
        raise OmopError(refuse.format("exists and is not a file"))
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            names = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables").fetchall()}
    except duckdb.Error as exc:
        reason = str(exc).splitlines()[0]
        raise OmopError(refuse.format(f"exists and cannot be read as DuckDB ({reason})")) from None
    other = sorted(names - set(TWIN_TABLES))
    if other:
        raise OmopError(refuse.format(f"holds table {other[0]}, not only a synthetic twin's"))
    return path


def twin_digest(path: str | Path) -> str:
    """SHA-256 of a DuckDB database's contents: every table (by name) with its column names and
    types and its rows sorted, as text; independent of the file's bytes (see the module
    docstring).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from analysis.study import load_cohort
    >>> tmp, cohort = pathlib.Path(tempfile.mkdtemp()), load_cohort("data/synthetic")
    >>> a, b = write_twin(cohort, tmp / "a.db"), write_twin(cohort, tmp / "b.db")
    >>> twin_digest(a) == twin_digest(b)
    True
    """
    import hashlib

    h = hashlib.sha256()
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables ORDER BY table_name").fetchall()]
        for name in names:
            cols = con.execute(f'DESCRIBE "{name}"').fetchall()
            h.update(repr((name, [(c[0], c[1]) for c in cols])).encode())
            for row in con.execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall():
                h.update(repr(row).encode())
    return h.hexdigest()


def write_twin(cohort: Cohort, path: str | Path,
               concepts: str | Path | ConceptMap = DEFAULT_CONCEPTS) -> Path:
    """Write ``cohort`` as an OMOP CDM DuckDB file at ``path`` (a previous twin there is
    replaced; any other existing file is refused, :func:`check_twin_path`).

    Parameters
    ----------
    cohort : Cohort
        A loaded cohort (:func:`analysis.study.load_cohort`).
    path : str or Path
        The DuckDB file to write.
    concepts : str, Path or ConceptMap
        The concept mapping whose first id of each set is written.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, pathlib, duckdb
    >>> from analysis.study import load_cohort
    >>> db = write_twin(load_cohort("data/synthetic"), pathlib.Path(tempfile.mkdtemp()) / "t.db")
    >>> with duckdb.connect(str(db), read_only=True) as con:
    ...     con.execute("SELECT count(*) FROM person").fetchone()
    (143,)
    """
    cmap = concepts if isinstance(concepts, ConceptMap) else load_concepts(concepts)
    path = check_twin_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    os.close(fd)
    os.unlink(tmp_name)
    try:
        con = duckdb.connect(tmp_name)
        try:
            for name, frame in twin_tables(cohort, cmap).items():
                con.register("frame", frame)
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM frame')
                con.unregister("frame")
        finally:
            con.close()
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path
