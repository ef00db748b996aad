"""Chapter downloads (issue 13): every chapter page links its notebook (.ipynb) and script (.py).

Checked on the session's strict build (``tests/_book_build.py``; or the build named by
``IVIG_TEST_BOOK_HTML``), from the outside:

* every page of ``_toc.yml`` whose chapter has a ``.py`` twin links ``_chapters/<name>.ipynb``
  and ``_chapters/<name>.py``, and both files exist in the HTML output;
* the script is the chapter's twin, byte for byte;
* the notebook is valid, carries the chapter's code cell for cell (it was made from the pair),
  includes outputs, drops the outputs of the cells the page hides (``remove-cell``,
  ``remove-output``), and has no pairing metadata (Jupyter must not write twins beside it).
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from _book_build import REPO, BuiltBook, shared_build

pytestmark = pytest.mark.book

HIDDEN = {"remove-cell", "remove-output"}


def _paired_chapters() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for p in toc.get("parts", []) for c in p["chapters"]]
    return [f for f in files if (REPO / f"{f}.py").is_file()]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> BuiltBook:
    book = shared_build(tmp_path_factory)
    assert book.ok, book.failure_report()
    return book


def test_every_chapter_page_links_its_notebook_and_script(built: BuiltBook) -> None:
    chapters = _paired_chapters()
    assert len(chapters) >= 17
    for doc in chapters:
        stem = Path(doc).name
        page = (built.html / f"{doc}.html").read_text(encoding="utf-8")
        for ext in (".ipynb", ".py"):
            assert re.search(rf'href="(\.\./)*_chapters/{re.escape(stem)}{ext}"', page), (doc, ext)
            assert (built.html / "_chapters" / f"{stem}{ext}").is_file(), (doc, ext)


@pytest.mark.parametrize("doc", _paired_chapters(), ids=lambda d: Path(d).name)
def test_downloaded_notebook_is_the_executed_pair(built: BuiltBook, doc: str) -> None:
    stem = Path(doc).name
    folder = built.html / "_chapters"
    assert (folder / f"{stem}.py").read_bytes() == (REPO / f"{doc}.py").read_bytes()
    nb = nbformat.read(folder / f"{stem}.ipynb", 4)
    nbformat.validate(nb)
    source = jupytext.read(REPO / f"{doc}.md")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.source for c in code] == [c.source for c in source.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "not an executed notebook"
    assert "jupytext" not in nb.metadata
    for cell in code:
        if HIDDEN & set(cell.metadata.get("tags", [])):
            assert not cell.outputs, f"{stem}: outputs of a hidden cell offered for download"
    shown = [c for c in code if not HIDDEN & set(c.metadata.get("tags", []))]
    if any(not c.source.lstrip().startswith("#") for c in shown):
        assert any(c.outputs for c in shown), f"{stem}: a notebook without any output"
