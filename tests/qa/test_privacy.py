"""Privacy: a user's own cohort stays on the user's machine and out of the shareable book.

What and why: the book is meant to be run on an institution's real patients (``IVIG_COHORT``).
A built book is a folder of HTML that people share, and a repository is something people push.
These tests play the user: a hospital's OMOP CDM, the synthetic OMOP twin of ``simulate --seed 7``
in a folder *outside* the repository, where every person's ``person_source_value`` is a
distinctive medical-record-like id (``MRN-8841-xxxx``), as a hospital's CDM keeps its record
numbers; then build the whole book strictly from it through the project's concept mapping
(``IVIG_COHORT=omop:CDM?concepts=MAP``; one build, shared through ``_book_build``, which also
serves the book's "numbers follow the cohort" test) and check that

* nothing is written into the repository outside ``_build/`` and caches, and no file the build
  touched there holds a patient id;
* no raw patient id (nor the CDM's folder, nor the converted cohort's) appears anywhere in the
  built site (HTML, CSV downloads, executed notebooks, search index);
* every figure drawn during the build shows pseudonymous labels only: an IPython startup file
  (``IPYTHONDIR``) records the text of every matplotlib figure as it is drawn in the kernels, and
  no recorded text contains a raw id;
* ``.gitignore`` keeps cohort folders other than ``data/synthetic`` and ``data/external`` out of
  the repository.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from _book_build import (
    ID_PREFIX,
    REPO,
    VOLATILE_DIRS,
    UserBuild,
    make_user_cdm,
    snapshot_diff,
    user_cohort_build,
)


@pytest.fixture(scope="session")
def user_build(tmp_path_factory) -> UserBuild:
    """The session's strict build on a user-like cohort (shared with tests/book/test_book.py)."""
    built = user_cohort_build(tmp_path_factory)
    assert REPO not in built.cohort.parents
    assert built.book.ok, built.book.failure_report()
    return built


def _outside_build(rel: str) -> bool:
    return not (set(Path(rel).parts) & VOLATILE_DIRS)


def _text_files(root: Path) -> list[Path]:
    skip = {".png", ".jpg", ".jpeg", ".gif", ".woff", ".woff2", ".ttf", ".eot", ".ico"}
    return [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() not in skip]


def _find_ids(paths: list[Path], ids: list[str]) -> dict[str, list[str]]:
    pattern = re.compile("|".join(re.escape(i) for i in ids) + f"|{re.escape(ID_PREFIX)}")
    hits: dict[str, list[str]] = {}
    for path in paths:
        text = path.read_bytes().decode("utf-8", errors="replace")
        found = sorted(set(pattern.findall(text)))
        if found:
            hits[str(path)] = found[:5]
    return hits


# --------------------------------------------------------------------------- .gitignore
@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("data/mycohort/patients.csv", True),
        ("data/hospital_2026/infections.csv", True),
        ("data/patients.csv", True),
        ("cohorts/site-a/patients.csv", True),
        ("private/export.csv", True),
        ("data/synthetic/patients.csv", False),
        ("data/external/sccs-r/data/itpdat.csv", False),
        ("data/README.md", False),
        ("data/paper/targets.yaml", False),
    ],
)
def test_gitignore_keeps_user_cohorts_out(path: str, ignored: bool) -> None:
    proc = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path],
        cwd=REPO, capture_output=True, text=True, timeout=30, check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert (proc.returncode == 0) == ignored, f"{path}: ignored={proc.returncode == 0}"


# --------------------------------------------------------------------------- the user build
def test_user_cohort_looks_like_a_user_export(tmp_path: Path) -> None:
    import duckdb

    from analysis.omop.book_cohort import prepare
    from analysis.study.cohort import load_cohort

    cdm, mapping = make_user_cdm(tmp_path)
    with duckdb.connect(str(cdm), read_only=True) as con:
        source = {r[0] for r in con.execute("SELECT person_source_value FROM person").fetchall()}
    assert source == set(mapping.values()) and all(i.startswith(ID_PREFIX) for i in source)

    cohort = load_cohort(prepare(f"omop:{cdm}", cache=tmp_path / "cache"))
    assert not cohort.synthetic and cohort.name == "OMOP CDM st-elsewhere-myeloma.duckdb"
    assert len(cohort.patients) == len(mapping)
    assert not set(cohort.patients["patient_id"]) & set(mapping.values())


@pytest.mark.book
def test_nothing_written_into_the_repository_outside_build(user_build: UserBuild) -> None:
    book, mapping = user_build.book, user_build.ids
    diff = snapshot_diff(book.repo_before, book.repo_after)
    touched = [f for f in diff["added"] + diff["modified"] if _outside_build(f)]
    # the strong rule: no file the build touched holds a patient id
    leaks = _find_ids([REPO / f for f in touched if (REPO / f).is_file()], list(mapping.values()))
    assert not leaks, f"patient ids written into the repository: {leaks}"
    # and nothing at all is added outside _build/ and caches
    added = [f for f in diff["added"] if _outside_build(f)]
    assert not added, f"files added to the repository by the build: {added}"


@pytest.mark.book
def test_tables_written_for_the_user_cohort_hold_no_ids(user_build: UserBuild) -> None:
    mapping = user_build.ids
    # the session's builds write their tables into their own output folder (IVIG_TABLES_DIR)
    tables = list((user_build.book.out / "tables").glob(f"{user_build.converted.name}-*/*.csv"))
    assert tables, "no CSV tables were written for the user's cohort"
    assert not _find_ids(tables, list(mapping.values()))


@pytest.mark.book
def test_no_patient_id_in_the_built_site(user_build: UserBuild) -> None:
    book, mapping = user_build.book, user_build.ids
    files = _text_files(book.html)
    assert any(p.suffix == ".html" for p in files)
    assert any(p.suffix == ".csv" for p in files), "no CSV downloads in the site"
    leaks = _find_ids(files, list(mapping.values()))
    assert not leaks, f"raw patient ids in the built site: {leaks}"
    assert user_build.converted.is_dir(), "the build did not convert the CDM into the cache"
    for folder in (user_build.cohort.parent, user_build.converted):
        path_leaks = [str(p) for p in files if str(folder) in p.read_text(errors="replace")]
        assert not path_leaks, f"the absolute path {folder} appears in: {path_leaks}"


@pytest.mark.book
def test_the_built_site_names_the_users_cohort(user_build: UserBuild) -> None:
    """The banner says which cohort was used (and that it is not the synthetic one)."""
    pages = list((user_build.book.html / "book").glob("*.html"))
    results = [p for p in pages if "cohort-banner" in p.read_text(encoding="utf-8")]
    assert results, "no page carries the cohort banner"
    yours = 0
    for page in results:
        text = page.read_text(encoding="utf-8")
        at = text.index("cohort-banner")
        banner = text[at : at + 1500]  # the admonition: its title and first paragraph
        assert user_build.cohort.name in banner, f"{page.name}: banner does not name the cohort"
        assert "Synthetic" not in banner, f"{page.name}: banner calls the user's cohort synthetic"
        if "Your cohort" in banner:  # the book's banner (the OMOP chapter's own says it is not)
            yours += 1
            assert "ivig-concepts.yaml" in banner, f"{page.name}: banner does not name the mapping"
    assert yours, "no page carries the book's cohort banner"


@pytest.mark.book
def test_figures_show_pseudonymous_ids_only(user_build: UserBuild) -> None:
    texts_file, mapping = user_build.figure_texts, user_build.ids
    assert texts_file.exists(), "the figure recorder did not run in the kernels"
    errors = Path(str(texts_file) + ".errors")
    assert not errors.exists(), errors.read_text()
    records = [json.loads(line) for line in texts_file.read_text(encoding="utf-8").splitlines()]
    assert len(records) >= 5, f"only {len(records)} figures were drawn"
    raw = set(mapping.values())
    leaks = sorted({t for r in records for t in r["texts"] if t in raw or ID_PREFIX in t})
    assert not leaks, f"figures print raw patient ids: {leaks[:10]}"
    assert not os.environ.get("IVIG_COHORT"), "the test process itself must not point at it"
