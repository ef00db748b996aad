"""Sphinx extension: every chapter page links its notebook (``.ipynb``) and its script (``.py``).

Why: readers who want to re-run a chapter should not need the repository. The notebook is the one
myst-nb executed for this very build (``_build/jupyter_execute/<doc>.ipynb``), so it carries the
outputs the page shows; the script is the chapter's py-percent twin. Both are copied into the
HTML output (``_chapters/``), so the links work in a zipped copy of ``_build/html/`` too.

What the notebook holds: every code cell (so it re-runs), and the outputs the page shows. Outputs
of cells the page hides (tags ``remove-cell``, ``remove-output``) are dropped, so the download
shows no more of a cohort than the page does. Jupyter does not read MyST, so the Markdown reads
as the page does (:mod:`analysis.report.jupyter_md`, shared with the exercise notebooks): glued
values as text, figures embedded, admonitions as quotes, cross-references as linked titles,
citations as author-year.

Only the ``html`` builder adds links and copies files (the single-page build for the PDF does
not). A paired chapter whose executed notebook is missing is a build warning (an error under
``-W``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.util import logging

from analysis.report import jupyter_md

LOG = logging.getLogger(__name__)
#: Folder of the HTML output that holds the downloads.
FOLDER = "_chapters"
HIDDEN_OUTPUT_TAGS = frozenset({"remove-cell", "remove-output"})


def _pair(srcdir: Path, outdir: Path, docname: str) -> tuple[Path, Path] | None:
    """(executed notebook, py twin) of a paired chapter, or None for a page without code."""
    py = Path(srcdir, docname + ".py")
    if not py.is_file() or not Path(srcdir, docname + ".md").is_file():
        return None
    return Path(outdir).parent / "jupyter_execute" / (docname + ".ipynb"), py


def _links(app: Any, doctree: nodes.document, docname: str) -> None:
    """Insert the download line under the chapter's title."""
    if app.builder.name != "html" or _pair(app.srcdir, app.outdir, docname) is None:
        return
    up = "../" * docname.count("/")
    stem = Path(docname).name
    html = (
        '<p class="chapter-downloads">Download this chapter: '
        f'<a href="{up}{FOLDER}/{stem}.ipynb" download>notebook (.ipynb, with outputs)</a> · '
        f'<a href="{up}{FOLDER}/{stem}.py" download>script (.py)</a></p>'
    )
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    title = next(iter(section.findall(nodes.title)), None)
    position = section.index(title) + 1 if title is not None else 0
    section.insert(position, nodes.raw("", html, format="html"))


def downloadable(notebook: dict, page: str = "", glue: dict | None = None) -> dict:
    """The executed notebook as offered for download: Markdown as Jupyter reads it (``glue``:
    the records myst-nb wrote to ``<doc>.glue.json``), outputs of hidden cells dropped, and no
    pairing metadata (a downloaded notebook stands alone: Jupyter must not write .md/.py twins
    beside it)."""
    records = list((glue or {}).values())
    notebook = jupyter_md.convert_notebook(notebook, jupyter_md.context(notebook, page,
                                                                        glue_records=records))
    for cell in notebook.get("cells", []):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.get("cell_type") == "code" and tags & HIDDEN_OUTPUT_TAGS:
            cell["outputs"] = []
    for key in ("jupytext", "source_map"):
        notebook.get("metadata", {}).pop(key, None)
    return notebook


def write_downloads(srcdir: Path, outdir: Path, docnames: Iterable[str]) -> list[str]:
    """Write each paired chapter's notebook and script into ``outdir/_chapters``; return the
    chapters whose executed notebook is missing."""
    target = Path(outdir, FOLDER)
    target.mkdir(exist_ok=True)
    missing = []
    for docname in sorted(docnames):
        pair = _pair(srcdir, outdir, docname)
        if pair is None:
            continue
        executed, py = pair
        stem = Path(docname).name
        if not executed.is_file():
            missing.append(docname)
            continue
        glue_file = executed.with_name(f"{stem}.glue.json")
        glue = json.loads(glue_file.read_text(encoding="utf-8")) if glue_file.is_file() else {}
        notebook = downloadable(json.loads(executed.read_text(encoding="utf-8")), stem, glue)
        (target / f"{stem}.ipynb").write_text(
            json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
            encoding="utf-8")
        shutil.copyfile(py, target / f"{stem}.py")
    return missing


def _copy(app: Any, exception: Exception | None) -> None:
    """Copy each chapter's executed notebook and script into the HTML output."""
    if exception is not None or app.builder.name != "html":
        return
    for docname in write_downloads(Path(app.srcdir), Path(app.outdir), app.env.found_docs):
        LOG.warning("chapter_downloads: no executed notebook for %s", docname)


def setup(app: Any) -> dict[str, bool]:
    app.connect("doctree-resolved", _links)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
