"""The IVIG study's concept sets on an OMOP CDM (``data/omop/ivig-concepts.yaml``).

:func:`load_concepts` reads and checks the mapping: every set the study needs, each with its CDM
table and a list of concepts (``id``, ``source``, ``name``, ``status``), the infection sets with a
``site`` of the data contract and the organism sets with an ``organism``; a set with
``include_descendants: true`` also selects every descendant of its concepts through the CDM's
``concept_ancestor`` (OHDSI's concept-set semantics; default false). A bad mapping raises
:class:`~analysis.omop.errors.OmopError` naming the file and the key.

Examples
--------
>>> from analysis.omop.concepts import load_concepts
>>> m = load_concepts("data/omop/ivig-concepts.yaml")
>>> m.ids("ivig")[0] == m.sets["ivig"].concepts[0]["id"], m.site_of("infection_urinary")
(True, 'urinary')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from analysis.omop.errors import OmopError
from analysis.study.definitions import ORGANISMS, SITES

__all__ = ["DEFAULT_CONCEPTS", "HEAVY_CHAINS", "REQUIRED_SETS", "ConceptMap", "ConceptSet",
           "load_concepts"]

#: The mapping shipped with the project.
DEFAULT_CONCEPTS = Path(__file__).resolve().parents[2] / "data" / "omop" / "ivig-concepts.yaml"
#: Sets every mapping must define, with their CDM table.
REQUIRED_SETS: dict[str, str] = {
    "daratumumab": "drug_exposure", "ivig": "drug_exposure", "myeloma": "condition_occurrence",
    "progression": "condition_occurrence", "igg": "measurement", "m_spike": "measurement",
    "visit_icu": "visit_occurrence", "visit_inpatient": "visit_occurrence",
}
_TABLES = ("drug_exposure", "condition_occurrence", "measurement", "visit_occurrence")
_CONCEPT_KEYS = ("id", "source", "name", "status")
HEAVY_CHAINS = ("IgG", "IgA", "IgD", "IgE", "IgM", "none")


@dataclass(frozen=True)
class ConceptSet:
    """One concept set: its CDM table, concepts and (infection sets) site or organism.

    Examples
    --------
    >>> from analysis.omop.concepts import load_concepts
    >>> s = load_concepts().sets["infection_bloodstream"]
    >>> s.table, s.site, s.organism
    ('condition_occurrence', 'bloodstream', None)
    """

    name: str
    table: str
    concepts: tuple[dict[str, Any], ...]
    site: str | None = None
    organism: str | None = None
    heavy_chain: str | None = None
    include_descendants: bool = False


@dataclass(frozen=True)
class ConceptMap:
    """The checked mapping: concept sets by name and the gender concepts (``M``, ``F``).

    Examples
    --------
    >>> from analysis.omop.concepts import load_concepts
    >>> m = load_concepts()
    >>> m.gender["F"], m.by_kind("organism")["organism_viral"]
    (8532, 'viral')
    """

    path: Path
    sets: dict[str, ConceptSet]
    gender: dict[str, int]

    def ids(self, name: str) -> list[int]:
        """The concept ids of set ``name``, in file order."""
        return [int(c["id"]) for c in self.sets[name].concepts]

    def site_of(self, name: str) -> str | None:
        """The contract site of an infection set (None for other sets)."""
        return self.sets[name].site

    def by_kind(self, kind: str) -> dict[str, str]:
        """``{set name: value}`` of the sets with ``kind`` (``site``, ``organism``,
        ``heavy_chain``)."""
        return {n: getattr(s, kind) for n, s in self.sets.items() if getattr(s, kind)}

    def all_ids(self) -> list[int]:
        """Every concept id of the mapping (sets and gender), sorted, once each."""
        ids = {int(c["id"]) for s in self.sets.values() for c in s.concepts}
        return sorted(ids | set(self.gender.values()))


def _fail(path: Path, key: str, rule: str) -> OmopError:
    return OmopError(f"{path}: {key}: {rule}")


def _concept(path: Path, key: str, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _fail(path, key, "must be a mapping with id, source, name, status")
    missing = [k for k in _CONCEPT_KEYS if k not in item]
    if missing:
        raise _fail(path, key, f"missing {', '.join(missing)}")
    if isinstance(item["id"], bool) or not isinstance(item["id"], int) or item["id"] <= 0:
        raise _fail(path, f"{key}.id", f"must be a positive whole number, got {item['id']!r}")
    return dict(item)


def _set(path: Path, name: str, doc: Any) -> ConceptSet:
    key = f"sets.{name}"
    if not isinstance(doc, dict):
        raise _fail(path, key, "must be a mapping with table and concepts")
    table = doc.get("table")
    if table not in _TABLES:
        raise _fail(path, f"{key}.table", f"must be one of {', '.join(_TABLES)}, got {table!r}")
    if name in REQUIRED_SETS and table != REQUIRED_SETS[name]:
        raise _fail(path, f"{key}.table", f"must be {REQUIRED_SETS[name]}, got {table!r}")
    items = doc.get("concepts")
    if not isinstance(items, list) or not items:
        raise _fail(path, f"{key}.concepts", "must be a non-empty list")
    concepts = tuple(_concept(path, f"{key}.concepts[{i}]", c) for i, c in enumerate(items))
    site, organism, heavy = doc.get("site"), doc.get("organism"), doc.get("heavy_chain")
    if heavy is not None and heavy not in HEAVY_CHAINS:
        raise _fail(path, f"{key}.heavy_chain",
                    f"must be one of {', '.join(HEAVY_CHAINS)}, got {heavy!r}")
    if site is not None and site not in SITES:
        raise _fail(path, f"{key}.site", f"must be one of {', '.join(SITES)}, got {site!r}")
    if organism is not None and organism not in ORGANISMS:
        raise _fail(path, f"{key}.organism",
                    f"must be one of {', '.join(ORGANISMS)}, got {organism!r}")
    if (site or organism or heavy) and table != "condition_occurrence":
        raise _fail(path, f"{key}.table",
                    "an infection, organism or heavy-chain set reads condition_occurrence")
    descendants = doc.get("include_descendants", False)
    if not isinstance(descendants, bool):
        raise _fail(path, f"{key}.include_descendants",
                    f"must be true or false, got {descendants!r}")
    return ConceptSet(name, table, concepts, site, organism, heavy, descendants)


def load_concepts(path: str | Path = DEFAULT_CONCEPTS) -> ConceptMap:
    """Read and check a concept mapping (see the module docstring).

    Raises
    ------
    OmopError
        When the file is missing or not YAML, or a key breaks a rule (the message names it).

    Examples
    --------
    >>> from analysis.omop.concepts import load_concepts
    >>> load_concepts("nope.yaml")
    Traceback (most recent call last):
    ...
    analysis.omop.errors.OmopError: --concepts nope.yaml: no such file
    """
    path = Path(path)
    if not path.is_file():
        raise OmopError(f"--concepts {path}: no such file")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise OmopError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("sets"), dict):
        raise _fail(path, "sets", "required mapping of concept sets is missing")
    sets = {str(n): _set(path, str(n), d) for n, d in doc["sets"].items()}
    for name in REQUIRED_SETS:
        if name not in sets:
            raise _fail(path, f"sets.{name}", "required concept set is missing")
    if not any(s.site for s in sets.values()):
        raise _fail(path, "sets", "no infection set (a set with a 'site')")
    gender = doc.get("gender")
    if not isinstance(gender, dict) or set(gender) != {"M", "F"}:
        raise _fail(path, "gender", "must map exactly M and F to a concept")
    ids = {k: int(_concept(path, f"gender.{k}", v)["id"]) for k, v in gender.items()}
    return ConceptMap(path, sets, ids)
