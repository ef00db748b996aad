"""Exercise sets of the teaching chapters: a student notebook and a separate solutions notebook.

What: for each teaching chapter ``book/tN-name.md`` (``make exercises``)::

    _build/exercises/tN-name-exercises.ipynb   the chapter with its exercises, without solutions
    _build/exercises/tN-name-solutions.ipynb   the same chapter with every solution shown

Why: in the book a solution sits right under its exercise, behind a toggle; a teacher handing out
the chapter needs the exercises without the solutions, and the solutions apart.

How the chapters mark them (the structure used here): an exercise is a MyST admonition whose
title starts with ``Exercise`` (``:class: tip``); its solution is the admonition that follows,
with ``:class: dropdown`` (the hidden toggle). Every ``dropdown`` admonition is treated as a
solution and removed from the student notebook, whatever its title, so nothing hidden in the book
can leak. The notebooks are made for Jupyter, which does not read MyST:
:mod:`analysis.report.jupyter_md` (the converter the chapter downloads use too) turns
admonitions into block quotes, ``{glue:text}`` references into the values the chapter computed
(so the chapter is executed once, in a kernel, from its folder), figures into embedded PNGs,
cross-references into linked titles (to the pages of the HTML book, ``_build/html``) and
citations into author-year.
The student notebook has no outputs (students run it); the solutions notebook keeps the outputs
of that execution.

Examples
--------
>>> text = ("```{admonition} Exercise 1\\n:class: tip\\n\\nWhy?\\n```\\n"
...         "```{admonition} Solution\\n:class: dropdown\\n\\nBecause.\\n```")
>>> student, solutions = split_chapter(text)
>>> "Because" in student, "Because" in solutions
(False, True)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis import PROJECT_ROOT
from analysis.report import jupyter_md

BOOK = PROJECT_ROOT / "book"
OUT = PROJECT_ROOT / "_build" / "exercises"

def teaching_chapters(book: Path = BOOK) -> list[Path]:
    """The teaching chapters (``book/t*.md``), in order."""
    return sorted(book.glob("t[0-9]*.md"))


# ---------------------------------------------------------------------------------- markdown


def is_solution(block: jupyter_md.Block) -> bool:
    """A solution is any admonition hidden behind a toggle (``:class: dropdown``)."""
    return block.kind == "admonition" and "dropdown" in block.options.get("class", "").split()


def split_chapter(text: str, ctx: jupyter_md.Context | None = None) -> tuple[str, str]:
    """Markdown of a chapter as (student version, solutions version)."""
    ctx = ctx or jupyter_md.Context()
    return (jupyter_md.convert_markdown(text, ctx, keep=lambda b: not is_solution(b)),
            jupyter_md.convert_markdown(text, ctx))


# ---------------------------------------------------------------------------------- notebooks


def _is_glue(output: Mapping[str, Any]) -> bool:
    return bool(output.get("metadata", {}).get("scrapbook"))


def make_notebooks(nb: Any, ctx: jupyter_md.Context) -> tuple[Any, Any]:
    """(student, solutions) notebooks from a chapter notebook (executed or not).

    Both read as plain Markdown (:mod:`analysis.report.jupyter_md`: values, figures, titles,
    author-year). Student: solutions removed, no outputs. Solutions: every solution shown, the
    outputs of the execution kept except the hidden glue records (shown by the book, not by
    Jupyter).
    """
    student = jupyter_md.convert_notebook(nb, ctx, keep=lambda b: not is_solution(b))
    solutions = jupyter_md.convert_notebook(nb, ctx)
    for s_cell, t_cell in zip(student.cells, solutions.cells, strict=True):
        if s_cell.cell_type == "code":
            s_cell.outputs, s_cell.execution_count = [], None
            t_cell.outputs = [o for o in t_cell.get("outputs", []) if not _is_glue(o)]
    for book_nb, kind in ((student, "exercises"), (solutions, "solutions")):
        book_nb.metadata.pop("jupytext", None)  # a stand-alone notebook, not paired
        book_nb.metadata["ivig_exercises"] = kind
    return student, solutions


def execute(nb: Any, folder: Path, timeout: int = 1200) -> Any:
    """Run every cell of ``nb`` in a fresh kernel started in ``folder``; return ``nb``."""
    import nbclient

    nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def write_exercises(chapter: Path, out: Path = OUT, *, run: bool = True) -> tuple[Path, Path]:
    """Write the student and solutions notebooks of one teaching chapter; return their paths.

    ``run=False`` skips the execution: ``{glue:text}`` references then show the glue names.
    """
    import jupytext
    import nbformat

    nb = jupytext.read(chapter)
    if run:
        execute(nb, chapter.parent)
    pages = os.path.relpath(PROJECT_ROOT / "_build" / "html" / "book", out.resolve()) + "/"
    ctx = jupyter_md.context(nb, chapter.stem, pages) if run else jupyter_md.Context(
        page=chapter.stem, pages=pages)
    student, solutions = make_notebooks(nb, ctx)
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / f"{chapter.stem}-exercises.ipynb", out / f"{chapter.stem}-solutions.ipynb")
    for path, book_nb in zip(paths, (student, solutions), strict=True):
        nbformat.validate(book_nb)
        tmp = path.with_suffix(".tmp")
        nbformat.write(book_nb, tmp)
        tmp.replace(path)  # nothing partial is left on failure
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analysis.report.exercises [--out DIR] [--no-run] [CHAPTER ...]``."""
    ap = argparse.ArgumentParser(prog="python -m analysis.report.exercises",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("chapters", nargs="*", type=Path,
                    help="teaching chapters (.md); default: every book/t*.md")
    ap.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    ap.add_argument("--no-run", action="store_true",
                    help="do not execute the chapters (glued values are then not filled in)")
    args = ap.parse_args(argv)
    from analysis.report.book import absolute_cohort_env

    absolute_cohort_env()  # the chapters run in book/: a relative IVIG_COHORT is from here
    for chapter in args.chapters or teaching_chapters():
        for path in write_exercises(chapter.resolve(), args.out, run=not args.no_run):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
