"""Privacy: a user's own cohort stays on the user's machine and out of the shareable book.

What and why: the book is meant to be run on an institution's real patients (``IVIG_COHORT``).
A built book is a folder of HTML that people share, and a repository is something people push.
These tests play the user: simulate a cohort into a folder *outside* the repository, give every
patient a distinctive medical-record-like id (``MRN-8841-xxxx``, rewritten consistently across all
five files) and drop ``cohort.yaml`` so it looks like a real export; then build the whole book
strictly from it (one build, shared through ``_book_build``) and check that

* nothing is written into the repository outside ``_build/`` and caches, and no file the build
  touched there holds a patient id;
* no raw patient id (nor the cohort's absolute path) appears anywhere in the built site (HTML,
  CSV downloads, executed notebooks, search index);
* every figure drawn during the build shows pseudonymous labels only: an IPython startup file
  (``IPYTHONDIR``) records the text of every matplotlib figure as it is drawn in the kernels, and
  no recorded text contains a raw id;
* ``.gitignore`` keeps cohort folders other than ``data/synthetic`` and ``data/external`` out of
  the repository.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _book_build import REPO, VOLATILE_DIRS, BuiltBook, shared_build, snapshot_diff

pytestmark = pytest.mark.book

ID_PREFIX = "MRN-8841-"
COHORT_FILES = ("patients.csv", "ivig.csv", "infections.csv", "igg.csv", "progression.csv")

#: Records the text of every figure drawn in a kernel (loaded by IPython at kernel start).
_RECORD_FIGURES = r'''
import json, os
import matplotlib.figure
from matplotlib.text import Text

_draw = matplotlib.figure.Figure.draw


def _recording_draw(self, renderer):
    result = _draw(self, renderer)
    try:
        texts = [t.get_text() for t in self.findobj(Text) if t.get_text()]
        texts += [str(ax.get_title()) for ax in self.axes]
        with open(os.environ["QA_FIGURE_TEXTS"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"axes": len(self.axes), "texts": texts}) + "\n")
    except Exception as exc:  # recording must never change the build
        with open(os.environ["QA_FIGURE_TEXTS"] + ".errors", "a", encoding="utf-8") as fh:
            fh.write(repr(exc) + "\n")
    return result


matplotlib.figure.Figure.draw = _recording_draw
'''


def make_user_cohort(folder: Path, seed: int = 7) -> dict[str, str]:
    """Simulate a cohort into ``folder`` and make it look like a user's export.

    Every ``patient_id`` becomes ``MRN-8841-<4 digits>`` (a consistent mapping across the five
    files) and ``cohort.yaml`` is removed (no name, not flagged synthetic). Returns the mapping.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "simulate", "--seed", str(seed), "--out", str(folder)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (folder / "cohort.yaml").unlink(missing_ok=True)
    with (folder / "patients.csv").open(encoding="utf-8", newline="") as fh:
        ids = [row["patient_id"] for row in csv.DictReader(fh)]
    # distinctive, non-sequential numbers (deterministic)
    mapping = {old: f"{ID_PREFIX}{(7919 * (k + 13)) % 10_000:04d}" for k, old in enumerate(ids)}
    assert len(set(mapping.values())) == len(mapping)
    for name in COHORT_FILES:
        path = folder / name
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        col = rows[0].index("patient_id")
        for row in rows[1:]:
            if row:
                row[col] = mapping[row[col]]
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)
    return mapping


@pytest.fixture(scope="session")
def user_cohort(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("outside-repo") / "st-elsewhere-myeloma"
    assert REPO not in folder.parents
    return folder, make_user_cohort(folder)


@pytest.fixture(scope="session")
def figure_log(tmp_path_factory) -> Path:
    ipython = tmp_path_factory.mktemp("ipython")
    startup = ipython / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-qa-record-figures.py").write_text(_RECORD_FIGURES, encoding="utf-8")
    return ipython


@pytest.fixture(scope="session")
def user_build(tmp_path_factory, user_cohort, figure_log) -> tuple[BuiltBook, Path]:
    folder, _ = user_cohort
    texts = figure_log / "figure-texts.jsonl"
    book = shared_build(
        tmp_path_factory,
        cohort=folder,
        env_extra={"IPYTHONDIR": str(figure_log), "QA_FIGURE_TEXTS": str(texts)},
    )
    assert book.ok, f"strict build on a user's cohort failed:\n{book.log[-4000:]}"
    return book, texts


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
def test_user_cohort_looks_like_a_user_export(user_cohort) -> None:
    folder, mapping = user_cohort
    from analysis.cohort import load_cohort

    cohort = load_cohort(folder)
    assert not cohort.synthetic and cohort.name == "st-elsewhere-myeloma"
    assert set(cohort.patients["patient_id"]) == set(mapping.values())


def test_nothing_written_into_the_repository_outside_build(user_build, user_cohort) -> None:
    book, _ = user_build
    _, mapping = user_cohort
    diff = snapshot_diff(book.repo_before, book.repo_after)
    touched = [f for f in diff["added"] + diff["modified"] if _outside_build(f)]
    # the strong rule: no file the build touched holds a patient id
    leaks = _find_ids([REPO / f for f in touched if (REPO / f).is_file()], list(mapping.values()))
    assert not leaks, f"patient ids written into the repository: {leaks}"
    # and nothing at all is added outside _build/ and caches
    added = [f for f in diff["added"] if _outside_build(f)]
    assert not added, f"files added to the repository by the build: {added}"


def test_tables_written_for_the_user_cohort_hold_no_ids(user_build, user_cohort) -> None:
    _, mapping = user_cohort
    tables = [p for p in (REPO / "_build" / "tables").glob("st-elsewhere-myeloma-*/*.csv")]
    assert tables, "no CSV tables were written for the user's cohort"
    assert not _find_ids(tables, list(mapping.values()))


def test_no_patient_id_in_the_built_site(user_build, user_cohort) -> None:
    book, _ = user_build
    folder, mapping = user_cohort
    files = _text_files(book.html)
    assert any(p.suffix == ".html" for p in files)
    assert any(p.suffix == ".csv" for p in files), "no CSV downloads in the site"
    leaks = _find_ids(files, list(mapping.values()))
    assert not leaks, f"raw patient ids in the built site: {leaks}"
    path_leaks = [str(p) for p in files if str(folder) in p.read_text(errors="replace")]
    assert not path_leaks, f"the cohort's absolute path appears in: {path_leaks}"


def test_the_built_site_names_the_users_cohort(user_build) -> None:
    """The banner says which cohort was used (and that it is not the synthetic one)."""
    book, _ = user_build
    pages = [p for p in (book.html / "book").glob("*.html")]
    results = [p for p in pages if "cohort-banner" in p.read_text(encoding="utf-8")]
    assert results, "no page carries the cohort banner"
    for page in results:
        text = page.read_text(encoding="utf-8")
        assert "st-elsewhere-myeloma" in text, page.name


def test_figures_show_pseudonymous_ids_only(user_build, user_cohort) -> None:
    _, texts_file = user_build
    _, mapping = user_cohort
    assert texts_file.exists(), "the figure recorder did not run in the kernels"
    errors = Path(str(texts_file) + ".errors")
    assert not errors.exists(), errors.read_text()
    records = [json.loads(line) for line in texts_file.read_text(encoding="utf-8").splitlines()]
    assert len(records) >= 5, f"only {len(records)} figures were drawn"
    raw = set(mapping.values())
    leaks = sorted({t for r in records for t in r["texts"] if t in raw or ID_PREFIX in t})
    assert not leaks, f"figures print raw patient ids: {leaks[:10]}"
    assert not os.environ.get("IVIG_COHORT"), "the test process itself must not point at it"
