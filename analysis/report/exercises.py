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
can leak. The notebooks are made for Jupyter, which does not read MyST: admonitions become block
quotes, ``{glue:text}`` references become the values the chapter computed (so the chapter is
executed once, in a kernel, from its folder), cross-references and citations become their text.
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
import ast
import copy
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis import PROJECT_ROOT

BOOK = PROJECT_ROOT / "book"
OUT = PROJECT_ROOT / "_build" / "exercises"

_OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}\s*(?P<arg>.*)$")
_ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<text>[^`]*)`")
_LABEL = re.compile(r"^\([\w-]+\)=\s*$", re.MULTILINE)
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)


def teaching_chapters(book: Path = BOOK) -> list[Path]:
    """The teaching chapters (``book/t*.md``), in order."""
    return sorted(book.glob("t[0-9]*.md"))


# ---------------------------------------------------------------------------------- markdown


def _blocks(text: str) -> list[tuple[str, str, dict[str, str], str]]:
    """Split Markdown into ``(kind, title, options, body)`` pieces.

    kind is ``"text"`` for ordinary Markdown, otherwise the directive's name (``admonition``,
    ``glue:figure``, ...); a directive runs to the line that repeats its opening fence.
    """
    lines = text.split("\n")
    out: list[tuple[str, str, dict[str, str], str]] = []
    plain: list[str] = []
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if not m:
            plain.append(lines[i])
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == m["fence"]),
                   len(lines))
        body = lines[i + 1:end]
        options = {}
        while body and body[0].startswith(":") and ":" in body[0][1:]:
            key, _, value = body.pop(0)[1:].partition(":")
            options[key.strip()] = value.strip()
        if plain:
            out.append(("text", "", {}, "\n".join(plain)))
            plain = []
        out.append((m["name"], m["arg"].strip(), options, "\n".join(body).strip("\n")))
        i = end + 1
    if plain:
        out.append(("text", "", {}, "\n".join(plain)))
    return out


def is_solution(kind: str, options: Mapping[str, str]) -> bool:
    """A solution is any admonition hidden behind a toggle (``:class: dropdown``)."""
    return kind == "admonition" and "dropdown" in options.get("class", "").split()


def _format_glue(name: str, glue: Mapping[str, str]) -> str:
    key, _, spec = name.partition(":")
    if key not in glue:
        return f"`{key}`"
    raw = glue[key]
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw.strip("'\"")
    try:
        return format(value, spec) if spec else str(value)
    except (TypeError, ValueError):
        return str(value)


def _role(m: re.Match[str], glue: Mapping[str, str]) -> str:
    role, text = m["role"], m["text"]
    if role.startswith("glue"):
        return _format_glue(text, glue)
    if role.startswith("cite"):
        return "(" + ", ".join(k.strip() for k in text.split(",")) + ")"
    if role in ("math",):
        return f"${text}$"
    explicit = _EXPLICIT.match(text)
    return explicit["text"] if explicit else text


def to_jupyter(text: str, glue: Mapping[str, str]) -> str:
    """MyST inline markup -> what Jupyter's Markdown shows (values, link texts, citations)."""
    return _LABEL.sub("", _ROLE.sub(lambda m: _role(m, glue), text))


def _quote(title: str, body: str) -> str:
    lines = [f"**{title}**", "", *body.split("\n")]
    return "\n".join(("> " + line).rstrip() for line in lines)


def convert_markdown(text: str, glue: Mapping[str, str], *, solutions: bool) -> str:
    """One Markdown cell of a chapter for the student (``solutions=False``) or teacher notebook."""
    parts = []
    for kind, title, options, body in _blocks(text):
        if kind == "text":
            parts.append(body)
        elif is_solution(kind, options):
            if solutions:
                parts.append(_quote(title or "Solution", body))
        elif kind == "admonition" or kind in ("note", "tip", "warning", "important", "caution"):
            parts.append(_quote(title or kind.capitalize(), body))
        elif kind in ("math",):
            parts.append(f"$$\n{body}\n$$")
        elif kind in ("glue:figure", "glue", "figure"):
            parts.append(f"*(Figure `{title}`: see the book.)*")
        else:
            parts.append(f"```\n{body}\n```")
    return to_jupyter("\n\n".join(p.strip("\n") for p in parts if p.strip()), glue)


def split_chapter(text: str, glue: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Markdown of a chapter as (student version, solutions version)."""
    glue = glue or {}
    return (convert_markdown(text, glue, solutions=False),
            convert_markdown(text, glue, solutions=True))


# ---------------------------------------------------------------------------------- notebooks


def glued_values(nb: Any) -> dict[str, str]:
    """``name -> text/plain`` of every value an executed notebook glued (myst-nb ``glue``)."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            # glue stores its mime types under a prefix (application/papermill.record/text/plain)
            text = next((v for k, v in out.get("data", {}).items() if k.endswith("text/plain")),
                        None)
            if name and text is not None:
                values[name] = text
    return values


def _is_glue(output: Mapping[str, Any]) -> bool:
    return bool(output.get("metadata", {}).get("scrapbook"))


def make_notebooks(nb: Any, glue: Mapping[str, str]) -> tuple[Any, Any]:
    """(student, solutions) notebooks from a chapter notebook (executed or not).

    Student: solutions removed, no outputs. Solutions: every solution shown, the outputs of the
    execution kept except the hidden glue records (shown by the book, not by Jupyter).
    """
    student, solutions = copy.deepcopy(nb), copy.deepcopy(nb)
    for s_cell, t_cell in zip(student.cells, solutions.cells, strict=True):
        if s_cell.cell_type == "markdown":
            s_cell.source, t_cell.source = split_chapter(s_cell.source, glue)
        elif s_cell.cell_type == "code":
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
    student, solutions = make_notebooks(nb, glued_values(nb) if run else {})
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
    for chapter in args.chapters or teaching_chapters():
        for path in write_exercises(chapter.resolve(), args.out, run=not args.no_run):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
