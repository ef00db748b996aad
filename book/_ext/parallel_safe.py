"""Sphinx extension: declare two of Jupyter Book's extensions safe for parallel reading.

Why: the book executes every chapter while Sphinx reads it, and reading in parallel
(``python -m analysis.report.jbbuild``, Sphinx's ``-j``) runs the chapters side by side. Sphinx
falls back to a serial read, with a warning that the strict build turns into an error, when any
loaded extension leaves ``parallel_read_safe`` undeclared. Two of the extensions Jupyter Book 1.x
loads leave it undeclared, and neither keeps per-document state in the build environment, which
is what parallel reading has to merge:

- ``sphinx_multitoc_numbering`` replaces the table-of-contents collector's numbering step, which
  Sphinx runs once in the main process after every document is read;
- ``sphinx_jupyterbook_latex`` only acts for the LaTeX builders (its ``builder-inited`` handler
  returns at once for the others, and its transforms read state that handler sets).

So both are declared safe for the HTML builders (``html``, ``dirhtml``, ``singlehtml``); for any
other builder nothing is declared and Sphinx decides as before.
"""

from __future__ import annotations

from typing import Any

#: Extensions declared parallel-read-safe here, with the reason in the module docstring.
UNDECLARED_BUT_SAFE = ("sphinx_multitoc_numbering", "sphinx_jupyterbook_latex")
HTML_BUILDERS = frozenset({"html", "dirhtml", "singlehtml"})


def _declare(app: Any) -> None:
    if app.builder.name not in HTML_BUILDERS:
        return
    for name in UNDECLARED_BUT_SAFE:
        ext = app.extensions.get(name)
        if ext is not None and ext.parallel_read_safe is None:
            ext.parallel_read_safe = True


def setup(app: Any) -> dict[str, bool]:
    app.connect("builder-inited", _declare)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
