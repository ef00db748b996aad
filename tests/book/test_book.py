"""Tests of the book: its helpers (analysis.report.book), chapter/twin sync, chapter execution, one
strict
build, and a strict build on another cohort whose numbers must follow that cohort.

The slow tests (building the book, which executes every chapter) are marked ``book``; ``make
test-fast`` skips them. Every chapter executes once, in the shared strict build (shared with the
browser tests through ``tests/_book_build.py``); the per-chapter tests read its executed
notebooks, so a failing chapter is named without executing anything twice.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis import PROJECT_ROOT, SYNTHETIC_DIR
from analysis.report import book

BOOK = PROJECT_ROOT / "book"
TOC = PROJECT_ROOT / "_toc.yml"


# --------------------------------------------------------------------------------------------------
# the chapters listed in the table of contents
# --------------------------------------------------------------------------------------------------
def toc_files() -> list[Path]:
    """Every file the table of contents lists (root included), as paths to their .md files."""
    toc = yaml.safe_load(TOC.read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", []))
    walk(toc.get("chapters", []))
    return [PROJECT_ROOT / f"{f}.md" for f in files]


def is_notebook(md: Path) -> bool:
    """A chapter with code: MyST front matter naming jupytext (paired with a .py twin)."""
    text = md.read_text(encoding="utf-8")
    return text.startswith("---\n") and "jupytext:" in text.split("\n---\n", 1)[0]


NOTEBOOKS = [p for p in toc_files() if p.exists() and is_notebook(p)]


def test_every_toc_file_exists() -> None:
    missing = [str(p.relative_to(PROJECT_ROOT)) for p in toc_files() if not p.exists()]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"


def test_every_page_with_code_is_a_paired_notebook() -> None:
    for md in BOOK.glob("*.md"):
        text = md.read_text(encoding="utf-8")
        if "```{code-cell}" in text:
            assert is_notebook(md), f"{md.name} has code cells but no jupytext header"
            assert "formats: md:myst,py:percent" in text, f"{md.name} is not paired with a .py"


@pytest.mark.parametrize("md", sorted(BOOK.glob("*.md")), ids=lambda p: p.name)
def test_chapter_and_py_twin_in_sync(md: Path) -> None:
    """The .md chapter and its .py twin hold the same cells (what `jupytext --sync` keeps)."""
    import jupytext

    if not is_notebook(md):
        return  # a prose page (no code): nothing to pair
    twin = md.with_suffix(".py")
    assert twin.exists(), f"{md.name} has no .py twin: run `make sync`"

    def cells(path: Path) -> list[tuple[str, str, tuple[str, ...]]]:
        nb = jupytext.read(path)
        return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ())))
                for c in nb.cells]

    assert cells(md) == cells(twin), f"{md.name} and {twin.name} differ: run `make sync`"


# --------------------------------------------------------------------------------------------------
# analysis.report.book helpers (fast)
# --------------------------------------------------------------------------------------------------
def test_cohort_path_default_and_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("IVIG_COHORT", raising=False)
    assert book.cohort_path() == SYNTHETIC_DIR.resolve()
    monkeypatch.setenv("IVIG_COHORT", "data/other")  # relative: to where the user runs
    monkeypatch.chdir(tmp_path)
    assert book.cohort_path() == tmp_path / "data" / "other"
    book.absolute_cohort_env()  # what the build does before starting kernels in book/
    monkeypatch.chdir(PROJECT_ROOT / "book")
    assert book.cohort_path() == tmp_path / "data" / "other"
    monkeypatch.setenv("IVIG_COHORT", str(tmp_path))
    assert book.cohort_path() == tmp_path.resolve()


def test_paper_values_come_from_targets() -> None:
    # Numbers as printed in the paper's Results (independent of the code under test).
    assert book.paper("sccs_allgrade_irr") == pytest.approx(0.57)
    assert book.paper("sccs_allgrade_irr", "ci_low") == pytest.approx(0.40)
    assert book.paper("sccs_allgrade_irr", "p") == "0.0035"
    assert book.paper("res1_screened_n") == 1076
    assert book.paper("dp_on_ivig_window_days") == 30  # a design parameter
    with pytest.raises(KeyError, match="not an id"):
        book.paper("sccs_no_such_target")


@pytest.mark.parametrize(
    ("value", "expected", "kind"),
    [(np.float64(0.57), 0.57, float), (np.int64(43), 43, int), (np.bool_(True), True, bool),
     (7, 7, int), ("IgG", "IgG", str), (pd.NA, None, float), (None, None, float)],
)
def test_plain_converts_numpy_scalars(value: object, expected: object, kind: type) -> None:
    out = book.plain(value)
    assert type(out) is kind
    if expected is None:
        assert np.isnan(out)
    else:
        assert out == expected


def test_plain_refuses_containers() -> None:
    with pytest.raises(TypeError, match="glue a number"):
        book.plain([1, 2])


def test_glue_in_a_script_prints(capsys: pytest.CaptureFixture[str]) -> None:
    book.glue_value("cohort_n", np.int64(143))
    book.glue_paper("abs_reference_n")
    out = capsys.readouterr().out
    assert "cohort_n: 143" in out
    assert "paper_abs_reference_n: 100" in out
    with pytest.raises(ValueError, match="snake_case"):
        book.glue_value("Bad-Name", 1)


def test_script_line_uses_the_prose_format_and_words(tmp_path: Path) -> None:
    """A .py twin prints a value as its .md prose shows it, after the words that precede it."""
    (tmp_path / "ch.md").write_text(
        "On IVIG, patients had {glue:text}`x_rate:.2f` infections per year, and\n"
        "{glue:text}`x_n` of them ({glue:text}`x_share:.0%`) were cases.\n"
        "Units: {glue:text}`x_unit` {glue:text}`x_m`.\n")
    script = str(tmp_path / "ch.py")
    assert book.script_line("x_rate", 0.5734, script) == (
        "On IVIG, patients had 0.57  [x_rate]")
    assert book.script_line("x_share", 0.25, script) == "of them 25%  [x_share]"
    assert book.script_line("x_n", 12, script) == "infections per year, and 12  [x_n]"
    assert book.script_line("x_m", 3, script) == "x_m: 3"  # no words of its own before it
    assert book.script_line("x_other", 1 / 3, script) == "x_other: 0.3333"


def _fake_cohort(path: Path, name: str, synthetic: bool, seed: int | None = None):
    meta = {"seed": seed} if seed is not None else {}
    return SimpleNamespace(path=path, name=name, synthetic=synthetic, metadata=meta)


def test_banner_synthetic_canonical_links_to_method() -> None:
    text = book.banner_markdown(_fake_cohort(SYNTHETIC_DIR, "synthetic", True, seed=20260423))
    assert "Synthetic data" in text and "canonical" in text
    assert "{ref}`synthetic-method`" in text
    assert "seed 20260423" in text
    assert ":class: warning cohort-banner" in text


def test_banner_other_synthetic_and_user_cohort(tmp_path: Path) -> None:
    other = book.banner_markdown(_fake_cohort(tmp_path, "seed7", True, seed=7))
    assert "canonical" not in other and "seed 7" in other
    user = book.banner_markdown(_fake_cohort(tmp_path, "Hospital *A* [2024]", False))
    assert "Your cohort" in user and "Synthetic" not in user
    assert r"Hospital \*A\* \[2024\]" in user  # the name is shown literally, not as markup


def test_publish_table_writes_csv_and_links_it(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("IVIG_TABLES_DIR", str(tmp_path))
    monkeypatch.setenv("IVIG_COHORT", str(tmp_path / "mycohort"))
    df = pd.DataFrame({"Outcome": ["all", "grade 3-4"], "Paper": [0.57, 0.30],
                       "This book": [0.6123, 0.28]})
    table = book.publish_table(df, "sccs_primary", caption="Primary")
    assert table.csv_path.parent.parent == tmp_path.resolve()
    assert table.csv_path.parent.name.startswith("mycohort-")
    back = pd.read_csv(table.csv_path)
    pd.testing.assert_frame_equal(back, df)
    assert table.link_markdown.startswith("{download}`")
    assert table.link_markdown.endswith("sccs_primary.csv>`")
    assert "0.61" in table.styler.to_html()


def test_publish_table_refuses_patient_level_columns(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv("IVIG_TABLES_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="patient-level"):
        book.publish_table(pd.DataFrame({"patient_id": ["P1"], "n": [1]}), "leak")
    assert not list(tmp_path.rglob("*.csv"))


# --------------------------------------------------------------------------------------------------
# strict builds (slow)
# --------------------------------------------------------------------------------------------------
def glued_values(built_out: Path) -> dict[str, str]:
    """Every glued value of a build (``name -> text/plain``), read from myst-nb's glue files."""
    values: dict[str, str] = {}
    for path in sorted((built_out / "_build" / "jupyter_execute").rglob("*.glue.json")):
        for name, output in json.loads(path.read_text(encoding="utf-8")).items():
            text = output.get("data", {}).get("text/plain")
            if text is not None and not name.startswith("fig_"):
                values[f"{path.stem.removesuffix('.glue')}::{name}"] = text
    return values


def _check_html(html: Path) -> None:
    """Every page of the toc was built; results pages show the banner; CSV links resolve."""
    for md in toc_files():
        page = html / md.relative_to(PROJECT_ROOT).with_suffix(".html")
        assert page.is_file(), f"{page} was not built"
        text = page.read_text(encoding="utf-8")
        if "book.load()" in md.read_text(encoding="utf-8"):
            assert "cohort-banner" in text, f"{page.name}: no cohort banner"
        for href in re.findall(r'href="([^"#]+\.csv)"', text):
            assert (page.parent / href).resolve().is_file(), f"{page.name}: broken link {href}"
        assert "Traceback" not in text, f"{page.name} shows a traceback"


@pytest.fixture(scope="session")
def default_build(tmp_path_factory: pytest.TempPathFactory):
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from _book_build import shared_build

    return shared_build(tmp_path_factory)


#: Executor noise that is not a book problem (kernel shutdown races in jupyter_client/tornado).
#: Log lines that are not the book's problems: the kernels' transport chatter, and the notice
#: every JVM of Spark 4 prints to the inherited stderr when chapter 14 starts its local Spark
#: session ("WARNING: Using incubator modules: jdk.incubator.vector": Spark loads Java's vector
#: API module; nothing is wrong with the build or the chapter).
KERNEL_NOISE = ("Kernel is running over TCP", "ERROR:tornado.general", "ZMQStream",
                "WARNING: Using incubator modules: jdk.incubator.vector")


def build_problems(build) -> list[str]:
    """Log lines of a build that flag a warning or error, kernel noise excluded. (With ``-W`` a
    Sphinx warning already fails the build; this catches executor errors printed to the log.)"""
    return [line for line in build.warnings() if not any(n in line for n in KERNEL_NOISE)]


@pytest.mark.book
@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_executed_cleanly(md: Path, default_build) -> None:
    """Each chapter ran top to bottom in the strict build (one execution per chapter, shared with
    the build): no error output, and a page with results carries the cohort banner."""
    import nbformat

    assert default_build.ok, default_build.log[-5000:]
    executed = (default_build.out / "_build" / "jupyter_execute"
                / md.relative_to(PROJECT_ROOT).with_suffix(".ipynb"))
    assert executed.is_file(), f"{md.name} was not executed"
    nb = nbformat.read(executed, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    if "book.load()" in md.read_text(encoding="utf-8"):  # a page with results carries the banner
        banners = [o for o in outputs if "cohort-banner" in str(o.get("data", {}))]
        assert banners, f"{md.name} shows results but no cohort banner"


@pytest.mark.book
def test_strict_build_of_the_default_cohort(default_build) -> None:
    assert default_build.ok, default_build.log[-5000:]
    assert not build_problems(default_build), build_problems(default_build)
    _check_html(default_build.html)
    print(f"strict book build: {default_build.seconds:.0f} s")


@pytest.mark.book
def test_no_table_gets_a_random_html_id(default_build) -> None:
    """pandas gives a Styler a random 5-hex-digit id unless one is set: such a page changes from
    build to build with the same results. Every table goes through ``style_table`` (fixed ids)."""
    random_id = re.compile(r'<table id="T_[0-9a-f]{5}"')
    pages = sorted((default_build.html / "book").glob("*.html"))
    assert pages
    offenders = [p.name for p in pages if random_id.search(p.read_text(encoding="utf-8"))]
    assert not offenders, f"tables with a random id on: {offenders}"


@pytest.mark.book
def test_book_follows_another_cohort(default_build, tmp_path_factory: pytest.TempPathFactory
                                     ) -> None:
    """Pointed at another cohort, the book builds strictly and its numbers change.

    The other cohort is the user-like one of the privacy tests, read from an OMOP CDM through the
    project's concept mapping (``IVIG_COHORT=omop:CDM?concepts=MAP``; the CDM is the synthetic
    OMOP twin of ``simulate --seed 7`` with medical-record-like source ids): one strict build
    serves both, and proves the OMOP road.
    """
    from _book_build import user_cohort_build

    user = user_cohort_build(tmp_path_factory)
    other = user.book
    assert other.ok, other.log[-5000:]
    assert not build_problems(other), build_problems(other)
    _check_html(other.html)

    ours, theirs = glued_values(default_build.out), glued_values(other.out)
    # the same values on any cohort, except the primary-analysis page's truth section: a cohort
    # without a known truth (a user's) has no truth to glue, and its page says so instead (the
    # strict build above proves no prose asks for a value the user's cohort lacks)
    assert theirs.keys() <= ours.keys()
    truth_only = ours.keys() - theirs.keys()
    assert all(k.startswith("06-primary-analysis::sccs_truth_") for k in truth_only), truth_only
    ours = {k: v for k, v in ours.items() if k in theirs}
    paper = {k for k in ours if k.split("::")[1].startswith("paper_")}
    assert all(ours[k] == theirs[k] for k in paper)  # the paper does not change
    differ = [k for k in ours if ours[k] != theirs[k]]
    assert differ, "no glued value changed with the cohort"
    # cohort-dependent numbers of the cohort chapter follow the new cohort
    assert any(k.startswith("02-cohort::cohort_n_") for k in differ)
    page = (other.html / "book" / "02-cohort.html").read_text(encoding="utf-8")
    assert user.cohort.name in page  # the banner names the cohort the numbers come from
    # ... and the CDM and the mapping, by file name and hash prefix
    meta = yaml.safe_load((user.converted / "cohort.yaml").read_text(encoding="utf-8"))["omop"]
    concepts = PROJECT_ROOT / "data" / "omop" / "ivig-concepts.yaml"
    assert meta["cdm_sha256"] == hashlib.sha256(user.cohort.read_bytes()).hexdigest()
    assert meta["concepts_sha256"] == hashlib.sha256(concepts.read_bytes()).hexdigest()
    banner = page[page.index("cohort-banner"):][:2000]
    for shown in (user.cohort.name, meta["cdm_sha256"][:12], concepts.name,
                  meta["concepts_sha256"][:12]):
        assert shown in banner, f"the banner does not show {shown}"
    # no patient-level row reaches the site: no date of one patient's record appears, other
    # than the dates the book prints on any cohort (the data contract's examples, design dates)
    leaked = (_site_dates(other.html) & _cohort_dates(user.converted)) - _site_dates(
        default_build.html)
    assert not leaked, f"dates of individual records in the site: {sorted(leaked)[:10]}"


def _site_dates(html: Path) -> set[str]:
    """Every ISO date written in the site's text files (pages, CSVs, notebooks)."""
    found: set[str] = set()
    for p in html.rglob("*"):
        if p.is_file() and p.suffix in {".html", ".csv", ".ipynb", ".js", ".txt", ".py"}:
            found |= set(re.findall(r"\d{4}-\d{2}-\d{2}", p.read_text(errors="replace")))
    return found


def _cohort_dates(folder: Path) -> set[str]:
    """Every date of an individual record in a cohort folder (all five files)."""
    dates: set[str] = set()
    for name in ("patients", "ivig", "infections", "igg", "progression"):
        frame = pd.read_csv(folder / f"{name}.csv", dtype=str)
        for col in frame.columns:
            values = frame[col].dropna()
            dates |= set(values[values.str.fullmatch(r"\d{4}-\d{2}-\d{2}")])
    assert len(dates) > 100, "the cohort's dates were not read"
    return dates
