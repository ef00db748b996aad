"""The book on an OMOP CDM (``IVIG_COHORT=omop:PATH?concepts=MAP``, issue 20) and the small gaps
of the twin: converted once into a private cohort folder that records the CDM and the mapping
(names and SHA-256, computed here independently), refusals that name what is wrong, concept sets
with descendants through ``concept_ancestor``, ``simulate --omop`` leaving both outputs or
neither, and the twin's contents deterministic (its file's bytes cannot be: see
``analysis.omop.ivig_twin``)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pytest
import yaml
from _helpers_doctest import failed_examples, missing_examples

from analysis.cli.main import main
from analysis.omop.book_cohort import cache_folder, parse_source, prepare
from analysis.omop.concepts import DEFAULT_CONCEPTS, load_concepts
from analysis.omop.errors import OmopError
from analysis.omop.ivig_cohort import extract_cohort
from analysis.omop.ivig_twin import twin_digest, write_twin
from analysis.report import book
from analysis.sccs.errors import SCCSError
from analysis.study import load_cohort

MODULES = ["analysis.omop.book_cohort", "analysis.cli.book_env"]


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The OMOP twin of a small simulated cohort (seed 11: used by no other OMOP test)."""
    tmp = tmp_path_factory.mktemp("twin")
    assert main(["simulate", "--seed", "11", "--n-ivig", "20", "--n-reference", "8",
                 "--out", str(tmp / "cohort"), "--omop", str(tmp / "hospital-cdm.duckdb")]) == 0
    return tmp / "hospital-cdm.duckdb"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- IVIG_COHORT=omop:
@pytest.mark.parametrize(("value", "message"), [
    ("omop:", "no CDM path after 'omop:'"),
    ("omop:{cdm}?concept=x.yaml", "unknown option 'concept'"),
    ("omop:{cdm}?concepts=", "unknown option 'concepts'"),
    ("omop:{cdm}x", "the CDM {cdm}x does not exist"),
    ("omop:{cdm}?concepts=nope.yaml", "the concept mapping nope.yaml is not a file"),
])
def test_a_bad_omop_value_names_ivig_cohort_and_the_rule(twin, value, message) -> None:
    value = value.format(cdm=twin)
    with pytest.raises(OmopError) as err:
        parse_source(value)
    assert str(err.value).startswith(f"IVIG_COHORT={value}: ")
    assert message.format(cdm=twin) in str(err.value)


def test_the_cdm_is_converted_once_with_its_provenance(twin, tmp_path) -> None:
    folder = prepare(f"omop:{twin}", cache=tmp_path)
    assert folder.parent == tmp_path and folder.name.startswith("omop-cohort-")
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]  # no staging left
    meta = yaml.safe_load((folder / "cohort.yaml").read_text(encoding="utf-8"))
    assert meta["omop"] == {"cdm": twin.name, "cdm_sha256": _sha256(twin),
                            "concepts": DEFAULT_CONCEPTS.name,
                            "concepts_sha256": _sha256(DEFAULT_CONCEPTS)}
    assert str(twin.parent) not in (folder / "cohort.yaml").read_text(encoding="utf-8")
    # the same cohort as omop cohort writes, and the same SCCS estimates as from the CDM
    cohort = load_cohort(folder)
    assert cohort.name == f"OMOP CDM {twin.name}" and not cohort.synthetic
    direct = extract_cohort(twin).tables["infections"]
    assert len(cohort.infections) == len(direct) > 0
    stamp = (folder / "patients.csv").stat().st_mtime_ns
    assert prepare(f"omop:{twin}", cache=tmp_path) == folder  # read again, not rewritten
    assert (folder / "patients.csv").stat().st_mtime_ns == stamp


def test_another_mapping_is_another_cohort_folder(twin, tmp_path) -> None:
    edited = tmp_path / "my-concepts.yaml"
    edited.write_text(DEFAULT_CONCEPTS.read_text(encoding="utf-8") + "# checked in Athena\n",
                      encoding="utf-8")
    ours = cache_folder(parse_source(f"omop:{twin}"), tmp_path)
    theirs = cache_folder(parse_source(f"omop:{twin}?concepts={edited}"), tmp_path)
    assert ours != theirs
    folder = prepare(f"omop:{twin}?concepts={edited}", cache=tmp_path)
    assert folder == theirs
    assert load_cohort(folder).metadata["omop"]["concepts"] == "my-concepts.yaml"


def test_a_refused_cdm_leaves_no_cohort_folder(twin, tmp_path) -> None:
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(twin.read_bytes())
    with duckdb.connect(str(broken)) as con:
        con.execute("DROP TABLE death")
    cache = tmp_path / "cache"
    with pytest.raises(OmopError, match="table 'death' is missing"):
        prepare(f"omop:{broken}", cache=cache)
    assert not cache.exists() or not any(cache.iterdir())


def test_the_report_layer_refuses_an_unconverted_omop_value(monkeypatch, twin) -> None:
    monkeypatch.setenv("IVIG_COHORT", f"omop:{twin}")
    with pytest.raises(SCCSError, match=r"IVIG_COHORT=omop:.*python -m analysis omop cohort"):
        book.cohort_path()
    book.absolute_cohort_env()  # leaves an omop: value for the converter
    assert os.environ["IVIG_COHORT"] == f"omop:{twin}"


def test_the_book_entry_converts_and_points_the_kernels_at_the_folder(
        monkeypatch, twin, tmp_path) -> None:
    from analysis.cli.book_env import resolve_cohort_env

    monkeypatch.setenv("IVIG_OMOP_CACHE", str(tmp_path))
    monkeypatch.setenv("IVIG_COHORT", f"omop:{twin}?concepts={DEFAULT_CONCEPTS}")
    said = resolve_cohort_env()
    folder = Path(os.environ["IVIG_COHORT"])
    assert folder.parent == tmp_path and (folder / "patients.csv").is_file()
    assert twin.name in said and DEFAULT_CONCEPTS.name in said
    assert book.cohort_path() == folder


def test_the_book_entry_exits_2_on_a_bad_cdm(monkeypatch, tmp_path, capsys) -> None:
    from analysis.cli.book_env import main as book_env

    monkeypatch.setenv("IVIG_OMOP_CACHE", str(tmp_path))
    monkeypatch.setenv("IVIG_COHORT", f"omop:{tmp_path}")  # a folder without CDM tables
    assert book_env(["jbbuild", "build", "--all", "."]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "table 'person' is missing" in err
    assert "Traceback" not in err
    assert book_env(["nope"]) == 2


def test_the_banner_names_the_cdm_and_the_mapping_not_their_paths(twin, tmp_path) -> None:
    cohort = load_cohort(prepare(f"omop:{twin}", cache=tmp_path))
    banner = book.banner_markdown(cohort)
    assert f"OMOP CDM **{twin.name}** (SHA-256 `{_sha256(twin)[:12]}`)" in banner
    assert (f"concept mapping **{DEFAULT_CONCEPTS.name}** "
            f"(SHA-256 `{_sha256(DEFAULT_CONCEPTS)[:12]}`)") in banner
    assert str(twin.parent) not in banner and str(tmp_path) not in banner
    assert "Synthetic" not in banner
    text = book.banner_text(cohort)
    assert twin.name in text and str(twin.parent) not in text


# --------------------------------------------------------------------------- descendants
def _mapping(tmp_path: Path, descendants: bool) -> Path:
    doc = yaml.safe_load(DEFAULT_CONCEPTS.read_text(encoding="utf-8"))
    doc["sets"]["infection_urinary"]["include_descendants"] = descendants
    path = tmp_path / f"map-{descendants}.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_descendants_are_found_through_concept_ancestor(twin, tmp_path) -> None:
    """A CDM that records some urinary infections under a child concept (as a real vocabulary
    has, e.g. cystitis under urinary tract infection): found with ``include_descendants``
    only, and then the cohort is the twin's own."""
    parent = load_concepts().ids("infection_urinary")[0]
    child = 2_100_000_001
    cdm = tmp_path / "child.duckdb"
    cdm.write_bytes(twin.read_bytes())
    with duckdb.connect(str(cdm)) as con:
        con.execute(f"INSERT INTO concept VALUES ({child}, 'cystitis (child concept)')")
        con.execute(f"INSERT INTO concept_ancestor VALUES ({parent}, {child}, 1, 1), "
                    f"({child}, {child}, 0, 0)")
        moved = con.execute(
            f"UPDATE condition_occurrence SET condition_concept_id = {child} WHERE "
            f"condition_concept_id = {parent} AND person_id % 2 = 0").fetchone()[0]
    assert moved > 0
    listed = extract_cohort(cdm, _mapping(tmp_path, False))
    expanded = extract_cohort(cdm, _mapping(tmp_path, True))
    original = extract_cohort(twin)
    urinary = original.counts["infection_urinary"]
    assert listed.counts["infection_urinary"] == urinary - moved
    assert expanded.counts["infection_urinary"] == urinary
    for name, frame in original.tables.items():
        assert expanded.tables[name].equals(frame), name
    assert not listed.tables["infections"].equals(original.tables["infections"])


def test_descendants_need_concept_ancestor(twin, tmp_path) -> None:
    cdm = tmp_path / "no-ancestors.duckdb"
    cdm.write_bytes(twin.read_bytes())
    with duckdb.connect(str(cdm)) as con:
        con.execute("DROP TABLE concept_ancestor")
    with pytest.raises(OmopError, match="table 'concept_ancestor' is missing"):
        extract_cohort(cdm, _mapping(tmp_path, True))
    assert extract_cohort(cdm, _mapping(tmp_path, False)).counts["infection_urinary"] > 0


def test_include_descendants_must_be_true_or_false(tmp_path) -> None:
    doc = yaml.safe_load(DEFAULT_CONCEPTS.read_text(encoding="utf-8"))
    doc["sets"]["igg"]["include_descendants"] = "yes"
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(OmopError, match=r"sets\.igg\.include_descendants: must be true or false"):
        load_concepts(path)


# --------------------------------------------------------------------------- simulate --omop
def _simulate(out: Path, db: Path) -> int:
    return main(["simulate", "--seed", "11", "--n-ivig", "20", "--n-reference", "8",
                 "--out", str(out), "--omop", str(db)])


def test_simulate_leaves_nothing_when_the_twin_fails(tmp_path, monkeypatch, capsys) -> None:
    import analysis.omop.ivig_twin as ivig_twin

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ivig_twin, "twin_tables", disk_full)  # after the DuckDB file is opened
    out, cdm = tmp_path / "cohort", tmp_path / "omop" / "twin.duckdb"
    assert _simulate(out, cdm) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert not out.exists() and list((tmp_path / "omop").iterdir()) == []


def test_simulate_leaves_nothing_when_the_twin_cannot_be_placed(tmp_path, capsys) -> None:
    out, cdm = tmp_path / "cohort", tmp_path / "taken"
    (cdm / "inside").mkdir(parents=True)  # a folder where the file should go: the rename fails
    assert _simulate(out, cdm) == 2
    assert "simulate: " in capsys.readouterr().err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_the_twin_contents_are_deterministic(twin, tmp_path) -> None:
    again = tmp_path / "again.duckdb"
    assert _simulate(tmp_path / "cohort", again) == 0
    assert twin_digest(again) == twin_digest(twin)
    with duckdb.connect(str(again)) as con:  # the digest sees a one-year change
        con.execute("UPDATE person SET year_of_birth = year_of_birth + 1 WHERE person_id = 1")
    assert twin_digest(again) != twin_digest(twin)


def test_the_twin_digest_ignores_row_order(tmp_path) -> None:
    cohort = load_cohort("data/synthetic")
    one = write_twin(cohort, tmp_path / "one.duckdb")
    two = tmp_path / "two.duckdb"
    with duckdb.connect(str(two)) as con:
        con.execute(f"ATTACH '{one}' AS src (READ_ONLY)")
        for (name,) in con.execute("SELECT table_name FROM information_schema.tables WHERE "
                                   "table_catalog = 'src'").fetchall():
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM src."{name}" ORDER BY random()')
    assert twin_digest(two) == twin_digest(one)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    assert failed_examples(name) is None


def test_every_public_function_has_examples() -> None:
    assert missing_examples(MODULES) == []
