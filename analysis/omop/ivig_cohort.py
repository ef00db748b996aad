"""The IVIG study's five-file cohort (``data/README.md``) from an OMOP CDM.

:func:`extract_cohort` opens the CDM (:func:`analysis.omop.cdm.open_cdm`), checks that every table
it needs exists (a missing one is an :class:`~analysis.omop.errors.OmopError` naming it, before
anything is read), selects each concept set's records in the engine and applies the proxies of the
mapping (``data/omop/ivig-concepts.yaml``: grade from overlapping visits, organism from same-day
records, group from any IVIG). :func:`write_extracted` writes the tables, ``cohort.yaml`` and
nothing else, atomically. Patients are the persons with a daratumumab record; ``patient_id`` is the
CDM's ``person_id`` (pseudonymous).

Examples
--------
>>> import tempfile, pathlib
>>> from analysis.study import load_cohort
>>> from analysis.omop.ivig_twin import write_twin
>>> from analysis.omop.ivig_cohort import extract_cohort
>>> db = write_twin(load_cohort("data/synthetic"), pathlib.Path(tempfile.mkdtemp()) / "t.duckdb")
>>> found = extract_cohort(db)
>>> len(found.tables["patients"]), found.absent_ids
(143, [])
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from analysis.omop.cdm import Cdm, open_cdm
from analysis.omop.cohorts import concept_set_sql
from analysis.omop.concepts import DEFAULT_CONCEPTS, ConceptMap, load_concepts
from analysis.omop.errors import OmopError

__all__ = ["NEEDED_TABLES", "Extracted", "cohort_yaml", "content_sha256", "extract_cohort",
           "write_extracted"]

#: The CDM tables the extraction reads.
NEEDED_TABLES = ("person", "observation_period", "drug_exposure", "condition_occurrence",
                 "measurement", "visit_occurrence", "death", "concept")
_DATE = {"drug_exposure": "drug_exposure_start_date", "condition_occurrence":
         "condition_start_date", "measurement": "measurement_date",
         "visit_occurrence": "visit_start_date"}
_END = {"visit_occurrence": "visit_end_date"}
_CONCEPT = {"drug_exposure": "drug_concept_id", "condition_occurrence": "condition_concept_id",
            "measurement": "measurement_concept_id", "visit_occurrence": "visit_concept_id"}
_PATIENT_COLUMNS = ["patient_id", "group", "sex", "age_at_dara", "diagnosis_date", "dara_start",
                    "dara_last", "heavy_chain", "light_chain", "lines_of_therapy",
                    "prior_infections_12m", "death_date", "last_contact"]


@dataclass
class Extracted:
    """The contract tables, records found per concept set and ids absent from ``concept``.

    Examples
    --------
    >>> import pandas as pd
    >>> found = Extracted({"patients": pd.DataFrame()}, {"ivig": 0}, [437233], "cdm.db", "m.yaml")
    >>> found.absent_ids
    [437233]
    """

    tables: dict[str, pd.DataFrame]
    counts: dict[str, int]
    absent_ids: list[int]
    cdm: str
    concepts: str


def _records(cdm: Cdm, cmap: ConceptMap, name: str) -> pd.DataFrame:
    """``person_id, date[, end_date][, value]`` of one concept set, selected in the engine."""
    table = cmap.sets[name].table
    ids = concept_set_sql(cdm, table, _CONCEPT[table], cmap.ids(name),
                          cmap.sets[name].include_descendants)
    cols = f"person_id, {_DATE[table]} AS date"
    if table in _END:
        cols += f", {_END[table]} AS end_date"
    if table == "measurement":
        cols += ", value_as_number AS value"
    frame = cdm.fetch(f"SELECT {cols} FROM {cdm.table(table)} WHERE {_CONCEPT[table]} IN {ids} "
                      f"ORDER BY person_id, date")
    for c in ("date", "end_date"):
        if c in frame:
            frame[c] = pd.to_datetime(frame[c])
    return frame


def _grades(inf: pd.DataFrame, visits: dict[str, pd.DataFrame]) -> np.ndarray:
    """The grade proxy: per person-day, ICU visits overlapping grade 4, inpatient 3, rest 2."""
    grade = np.full(len(inf), 2, dtype=np.int64)
    rank = inf.groupby(["person_id", "date"]).cumcount().to_numpy()
    taken = np.zeros(len(inf), dtype=np.int64)
    for level, name in ((4, "visit_icu"), (3, "visit_inpatient")):
        v = visits[name].rename(columns={"date": "visit_start"})
        days = inf[["person_id", "date"]].drop_duplicates().merge(v, on="person_id")
        hit = days[(days["visit_start"] <= days["date"]) & (days["end_date"] >= days["date"])]
        n = hit.groupby(["person_id", "date"]).size().rename("n").reset_index()
        n = inf[["person_id", "date"]].merge(n, how="left", on=["person_id", "date"])["n"]
        n = n.fillna(0).to_numpy(np.int64)
        pick = (rank >= taken) & (rank < taken + n)
        grade[pick & (grade == 2)] = level
        taken = taken + n
    return grade


def _infections(cmap: ConceptMap, rec: dict[str, pd.DataFrame]) -> pd.DataFrame:
    parts = [rec[n].assign(site=s) for n, s in cmap.by_kind("site").items()]
    inf = pd.concat(parts).sort_values(["person_id", "date", "site"], kind="stable")
    inf = inf.reset_index(drop=True)
    orgs = pd.concat([rec[n].assign(organism=o) for n, o in cmap.by_kind("organism").items()])
    orgs = orgs.sort_values(["person_id", "date", "organism"], kind="stable")
    orgs["k"] = orgs.groupby(["person_id", "date"]).cumcount()
    inf["k"] = inf.groupby(["person_id", "date"]).cumcount()
    inf = inf.merge(orgs[["person_id", "date", "k", "organism"]], how="left",
                    on=["person_id", "date", "k"])
    inf["organism"] = inf["organism"].fillna("unconfirmed")
    inf["grade"] = _grades(inf, rec)
    return inf[["person_id", "date", "grade", "site", "organism"]]


def _patients(cdm: Cdm, cmap: ConceptMap, rec: dict[str, pd.DataFrame],
              inf: pd.DataFrame) -> pd.DataFrame:
    dara = rec["daratumumab"].groupby("person_id")["date"].agg(["min", "max"])
    person = cdm.fetch(f"SELECT * FROM {cdm.table('person')}").set_index("person_id")
    person = person.reindex(dara.index)
    obs = cdm.fetch(f"SELECT person_id, MAX(observation_period_end_date) AS last_contact FROM "
                    f"{cdm.table('observation_period')} GROUP BY person_id").set_index("person_id")
    death = cdm.fetch(f"SELECT person_id, MIN(death_date) AS death_date FROM "
                      f"{cdm.table('death')} GROUP BY person_id").set_index("person_id")
    birth = pd.to_datetime(pd.DataFrame({
        "year": person["year_of_birth"], "month": person["month_of_birth"].fillna(1),
        "day": person["day_of_birth"].fillna(1)}), errors="coerce")
    sex = person["gender_concept_id"].map({v: k for k, v in cmap.gender.items()})
    start = dara["min"]
    prior = inf.merge(start.rename("start"), left_on="person_id", right_index=True)
    prior = prior[(prior["date"] < prior["start"])
                  & (prior["date"] >= prior["start"] - pd.Timedelta(days=365))]
    heavy = pd.concat([rec[n].assign(heavy_chain=h)
                       for n, h in cmap.by_kind("heavy_chain").items()] or [pd.DataFrame(
                           {"person_id": [], "date": [], "heavy_chain": []})])
    heavy = heavy.sort_values(["person_id", "date", "heavy_chain"], kind="stable")
    heavy = heavy.groupby("person_id")["heavy_chain"].first().reindex(dara.index)
    out = pd.DataFrame({
        "patient_id": dara.index.astype(str), "heavy_chain": heavy,
        "group": np.where(dara.index.isin(rec["ivig"]["person_id"]), "ivig", "reference"),
        "sex": sex.to_numpy(), "age_at_dara": ((start - birth).dt.days / 365.25).round(1),
        "diagnosis_date": rec["myeloma"].groupby("person_id")["date"].min().reindex(dara.index),
        "dara_start": start, "dara_last": dara["max"],
        "prior_infections_12m": prior.groupby("person_id").size().reindex(dara.index)
        .fillna(0).astype(int),
        "death_date": pd.to_datetime(death["death_date"]).reindex(dara.index),
        "last_contact": pd.to_datetime(obs["last_contact"]).reindex(dara.index),
    }, index=dara.index)
    return out.reindex(columns=_PATIENT_COLUMNS).reset_index(drop=True)


def _events(frame: pd.DataFrame, keep: pd.Index) -> pd.DataFrame:
    frame = frame[frame["person_id"].isin(keep)].copy()
    frame.insert(0, "patient_id", frame.pop("person_id").astype(str))
    return frame.reset_index(drop=True)


def extract_cohort(cdm_path: str | Path, concepts: str | Path = DEFAULT_CONCEPTS) -> Extracted:
    """Read the IVIG cohort out of the CDM at ``cdm_path`` through the mapping ``concepts``.

    Raises
    ------
    OmopError
        When the mapping is bad, the CDM is missing, or a needed table or column is missing
        (the message names it), or no person has a daratumumab record.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> empty = pathlib.Path(tempfile.mkdtemp())
    >>> extract_cohort(empty)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analysis.omop.errors.OmopError: CDM ...: table 'person' is missing (no person.parquet, ...)
    """
    cmap = load_concepts(concepts)
    with open_cdm(cdm_path) as cdm:
        descendants = any(s.include_descendants for s in cmap.sets.values())
        for table in NEEDED_TABLES + (("concept_ancestor",) if descendants else ()):
            cdm.table(table)
        try:
            rec = {name: _records(cdm, cmap, name) for name in cmap.sets}
            known = cdm.fetch(f"SELECT DISTINCT concept_id FROM {cdm.table('concept')} WHERE "
                              f"concept_id IN ({', '.join(map(str, cmap.all_ids()))})")
            if rec["daratumumab"].empty:
                raise OmopError(f"CDM {cdm_path}: no person has a record of the concept set "
                                "'daratumumab' (check its ids in the mapping)")
            inf = _infections(cmap, rec)
            patients = _patients(cdm, cmap, rec, inf)
        except OmopError:
            raise
        except Exception as exc:  # a value the engine cannot convert: name table and column
            raise cdm.query_error(exc) from None
        absent = sorted(set(cmap.all_ids()) - set(known["concept_id"].astype(int)))
    keep = rec["daratumumab"]["person_id"].unique()
    igg = rec["igg"].rename(columns={"value": "igg_mg_dl"})
    spike = rec["m_spike"].rename(columns={"value": "m_spike_g_dl"})
    for f in (igg, spike):
        f["k"] = f.groupby(["person_id", "date"]).cumcount()
    igg = igg.merge(spike, how="left", on=["person_id", "date", "k"]).drop(columns="k")
    tables = {"patients": patients,
              "ivig": _events(rec["ivig"][["person_id", "date"]], keep),
              "infections": _events(inf, keep), "igg": _events(igg, keep),
              "progression": _events(rec["progression"][["person_id", "date"]], keep)}
    counts = {name: len(frame) for name, frame in rec.items()}
    return Extracted(tables, counts, absent, str(cdm_path), str(concepts))


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
    return out


def content_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, or of a folder's files (relative names and bytes, sorted).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = f.write_bytes(b"abc")
    >>> content_sha256(f)[:12]
    'ba7816bf8f01'
    """
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        if path.is_dir():
            h.update(f.relative_to(path).as_posix().encode() + b"\0")
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def cohort_yaml(found: Extracted) -> str:
    """The ``cohort.yaml`` of an extracted cohort: its name (the CDM's file name), and under
    ``omop`` the file names and SHA-256 of the CDM and of the mapping (never their full paths,
    which may be private): the provenance the book's banner shows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (tmp / "cdm.duckdb").write_bytes(b"cdm"); _ = (tmp / "m.yaml").write_bytes(b"m")
    >>> print(cohort_yaml(Extracted({}, {}, [], str(tmp / "cdm.duckdb"), str(tmp / "m.yaml"))))
    ... # doctest: +ELLIPSIS
    name: OMOP CDM cdm.duckdb
    synthetic: false
    description: extracted by analysis omop cohort with m.yaml
    omop:
      cdm: cdm.duckdb
      cdm_sha256: ...
      concepts: m.yaml
      concepts_sha256: ...
    """
    cdm, concepts = Path(found.cdm), Path(found.concepts)
    doc = {"name": f"OMOP CDM {cdm.name}", "synthetic": False,
           "description": f"extracted by analysis omop cohort with {concepts.name}",
           "omop": {"cdm": cdm.name, "cdm_sha256": content_sha256(cdm),
                    "concepts": concepts.name, "concepts_sha256": content_sha256(concepts)}}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000)


def write_extracted(found: Extracted, out: str | Path) -> Path:
    """Write the five CSV files and ``cohort.yaml`` into the new or empty folder ``out``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from analysis.study import load_cohort
    >>> from analysis.omop.ivig_twin import write_twin
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> found = extract_cohort(write_twin(load_cohort("data/synthetic"), tmp / "t.duckdb"))
    >>> sorted(p.name for p in write_extracted(found, tmp / "cohort").iterdir())[:3]
    ['cohort.yaml', 'igg.csv', 'infections.csv']
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OmopError(f"--out {out}: exists and is not an empty folder; refusing to write")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        for name, frame in found.tables.items():
            _text(frame).to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n")
        (tmp / "cohort.yaml").write_text(cohort_yaml(found), encoding="utf-8", newline="\n")
        if out.exists():
            out.rmdir()
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
