"""Downloaded and exercise notebooks read like the page (issue 21 §1), and teaching chapters show
the method, not plumbing (§2).

Jupyter renders plain Markdown, not MyST. The converter (:mod:`analysis.report.jupyter_md`) is
checked here on small inputs whose expected output is written by hand (the title of a chapter is
the ``# `` heading of its file; the author-year of a citation is read off ``references.bib`` by
eye), then on every chapter and on the built book's downloads, which are scanned for raw MyST
independently of the converter's own list (:data:`RAW`).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import jupytext
import nbformat
import pytest
from _book_build import REPO, BuiltBook, shared_build

from analysis.report import exercises, jupyter_md

BOOK = REPO / "book"
#: Raw MyST that Jupyter would show as typed: roles, directive fences, directive options.
RAW = re.compile(r"\{(?:glue|doc|numref|ref|cite|math|download)[\w:-]*\}`|^[`:]{3,}\{|^:class:",
                 re.MULTILINE)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HIDDEN = {"remove-cell", "hide-input", "remove-input", "hide-cell"}


def _raw(text: str) -> list[str]:
    return RAW.findall(text)


def _markdown(nb) -> list[str]:
    """Every Markdown cell's text and every Markdown output of a notebook."""
    out = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            md = o.get("data", {}).get("text/markdown")
            if md:
                out.append("".join(md) if isinstance(md, list) else md)
    return out


# --------------------------------------------------------------------------------------------------
# the converter, on inputs with hand-written answers
# --------------------------------------------------------------------------------------------------
def test_glued_values_take_the_page_format() -> None:
    ctx = jupyter_md.Context({"irr": "0.57341", "n": "1234", "word": "'lower'"})
    got = jupyter_md.convert_markdown(
        "IRR {glue:text}`irr:.2f`, {glue:text}`n:,` cases, {glue:text}`word`.", ctx)
    assert got == "IRR 0.57, 1,234 cases, lower."


def test_admonition_becomes_a_titled_quote() -> None:
    text = "```{admonition} Synthetic data\n:class: warning cohort-banner\n\nSimulated.\n```"
    assert jupyter_md.convert_markdown(text, jupyter_md.Context()) == (
        "> **Synthetic data**\n>\n> Simulated.")


def test_cross_references_become_linked_titles() -> None:
    ctx = jupyter_md.Context(pages="https://example.org/book/")
    got = jupyter_md.convert_markdown(
        "See {doc}`t1-likelihood` and {ref}`the next chapter <t5-event-dependent>`.", ctx)
    assert got == ("See [*The SCCS likelihood from first principles*]"
                   "(https://example.org/book/t1-likelihood.html) "
                   "and [the next chapter]"
                   "(https://example.org/book/t5-event-dependent.html#t5-event-dependent).")


def test_citations_become_author_year() -> None:
    ctx = jupyter_md.Context()
    assert jupyter_md.convert_markdown("daratumumab {cite:p}`lancman2026`.", ctx) == (
        "daratumumab (Lancman et al. 2026).")
    assert jupyter_md.convert_markdown("{cite:t}`lancman2026` found", ctx) == (
        "Lancman et al. (2026) found")


def test_glued_figure_is_embedded_as_png() -> None:
    png = PNG_MAGIC + b"0" * 10
    ctx = jupyter_md.Context(figures={"fig_a": {"image/png": base64.b64encode(png).decode()}})
    attachments: dict = {}
    text = "```{glue:figure} fig_a\n:name: fig-a\n\nThe caption.\n```"
    got = jupyter_md.convert_markdown(text, ctx, attachments=attachments)
    assert got == "![fig_a](attachment:fig_a.png)\n\n*Figure: The caption.*"
    assert base64.b64decode(attachments["fig_a.png"]["image/png"]) == png


@pytest.mark.parametrize("md", sorted(BOOK.glob("*.md")), ids=lambda p: p.stem)
def test_every_chapter_converts_to_plain_markdown(md: Path) -> None:
    """Unexecuted, so glued values show as their names: no MyST is left in any case."""
    nb = jupyter_md.convert_notebook(jupytext.read(md), jupyter_md.Context(page=md.stem))
    raw = {i: _raw(t) for i, t in enumerate(_markdown(nb)) if _raw(t)}
    assert not raw, f"{md.name}: raw MyST in Markdown cells {raw}"


# --------------------------------------------------------------------------------------------------
# teaching chapters: glue in hidden cells
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("md", sorted(BOOK.glob("t[0-9]*.md")), ids=lambda p: p.stem)
def test_teaching_chapters_glue_in_hidden_cells(md: Path) -> None:
    visible = [c.source for c in jupytext.read(md).cells if c.cell_type == "code"
               and not HIDDEN & set(c.metadata.get("tags", []))]
    glue = [line.strip() for src in visible for line in src.splitlines()
            if re.match(r"\s*(book\.glue|glue_diagnostic\()", line)]
    assert not glue, f"{md.name}: glue calls in cells the page shows: {glue[:3]}"
    assert "progress_file=" not in md.read_text(encoding="utf-8"), "a progress bar on the page"


# --------------------------------------------------------------------------------------------------
# the exercise notebooks (not executed) and the built book's downloads
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("chapter", exercises.teaching_chapters(), ids=lambda p: p.stem)
def test_exercise_notebooks_have_no_raw_myst(chapter: Path, tmp_path: Path) -> None:
    for path in exercises.write_exercises(chapter, tmp_path, run=False):
        nb = nbformat.read(path, 4)
        raw = [r for t in _markdown(nb) for r in _raw(t)]
        assert not raw, f"{path.name}: raw MyST {raw[:5]}"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> BuiltBook:
    book = shared_build(tmp_path_factory)
    assert book.ok, book.failure_report()
    return book


@pytest.mark.book
def test_downloaded_notebooks_read_like_the_page(built: BuiltBook) -> None:
    notebooks = sorted((built.html / "_chapters").glob("*.ipynb"))
    assert len(notebooks) >= 17
    for path in notebooks:
        nb = nbformat.read(path, 4)
        raw = [r for t in _markdown(nb) for r in _raw(t)]
        assert not raw, f"{path.name}: raw MyST {raw[:5]}"
        # every glued value of the prose was filled in: no glue name is left in backticks
        source = (BOOK / f"{path.stem}.md").read_text(encoding="utf-8")
        names = set(re.findall(r"\{glue:text\}`([a-z0-9_]+)", source))
        text = "\n".join(_markdown(nb))
        assert not [n for n in names if f"`{n}`" in text], path.name
        # every glued figure is embedded as a PNG
        figures = re.findall(r"^`{3,}\{glue:figure\}\s*(\S+)", source, re.MULTILINE)
        attached = {k: v for c in nb.cells for k, v in c.get("attachments", {}).items()}
        for name in figures:
            data = attached[f"{name}.png"]["image/png"]
            assert base64.b64decode(data).startswith(PNG_MAGIC), (path.name, name)


def test_exercise_notebooks_embed_the_glued_figures() -> None:
    """Student and solutions notebooks show a chapter's figure (not "see the book")."""
    png = base64.b64encode(PNG_MAGIC + b"1" * 8).decode()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("fig", outputs=[nbformat.v4.new_output(
            "display_data", data={jupyter_md.GLUE_PREFIX + "image/png": png},
            metadata={"scrapbook": {"name": "fig_x", "mime_prefix": jupyter_md.GLUE_PREFIX}})]),
        nbformat.v4.new_markdown_cell("```{glue:figure} fig_x\n:name: fig-x\n\nCaption.\n```"),
    ])
    for book_nb in exercises.make_notebooks(nb, jupyter_md.context(nb)):
        md = book_nb.cells[1]
        assert md.source.startswith("![fig_x](attachment:fig_x.png)")
        assert md.attachments["fig_x.png"]["image/png"] == png
        nbformat.validate(book_nb)
