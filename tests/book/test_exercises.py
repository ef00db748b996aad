"""``make exercises`` (issue 13): student notebooks without solutions, solutions notebooks apart.

The solutions are found here independently of the code under test: straight from each chapter's
Markdown, as the admonitions marked ``:class: dropdown`` (the book's hidden toggle). Their text is
cut into runs of six words; a run that also occurs elsewhere in the chapter is not evidence and is
set aside. Every other run must be absent from the student notebook and present in the solutions
notebook. Every exercise title must be in both.

Execution: the cheapest teaching chapter is built for real (executed once in a kernel to fill in
its glued values); its student notebook is then run to the end in a fresh kernel, and its
solutions notebook carries the outputs of a complete run without error.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

from analysis.report import exercises

REPO = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((REPO / "book").glob("t[0-9]*.md"))
#: The teaching chapter that runs fastest (about 20 s as a script on the project's machine).
CHEAPEST = REPO / "book" / "t2-classic-examples.md"

_FENCED = re.compile(r"^(`{3,})\{admonition\}[ \t]*(.*)\n((?:.*\n)*?)\1[ \t]*$", re.MULTILINE)


def _admonitions(text: str) -> list[tuple[str, str]]:
    """(title, body) of each fenced admonition of a chapter."""
    return [(m.group(2).strip(), m.group(3)) for m in _FENCED.finditer(text)]


_ROLE = re.compile(r"\{[\w:-]+\}`([^`<]*?)(?::[^`:<]*)?(?:\s*<[^`]*>)?`")


def _words(text: str) -> list[str]:
    """Lower-case words of a text, MyST markup removed (a role keeps its text, not its name,
    format or target; directive option lines go)."""
    text = re.sub(r"^:\w+:.*$", "", text, flags=re.MULTILINE)
    return re.findall(r"[a-z]+", _ROLE.sub(r"\1", text).lower())


#: A cross-reference or citation: the notebooks show the target's title or author-year instead
#: of the role's text.
_XREF = re.compile(r"\{(?:ref|doc|numref|cite(?::\w+)?)\}`[^`]*`")


def _runs(text: str, n: int = 6) -> set[tuple[str, ...]]:
    """Runs of ``n`` words; no run spans a cross-reference or citation (shown as other text)."""
    runs = set()
    for piece in _XREF.split(text):
        w = _words(piece)
        runs |= {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}
    return runs


def _notebook_text(nb) -> str:
    return "\n".join(c.source for c in nb.cells)


def test_every_teaching_chapter_has_exercises_and_hidden_solutions() -> None:
    assert len(CHAPTERS) >= 6
    for chapter in CHAPTERS:
        blocks = _admonitions(chapter.read_text())
        assert any(t.startswith("Exercise") for t, _ in blocks), chapter.name
        assert any(":class: dropdown" in b for _, b in blocks), chapter.name


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Student and solutions notebooks of every teaching chapter, not executed."""
    out = tmp_path_factory.mktemp("exercises")
    for chapter in CHAPTERS:
        exercises.write_exercises(chapter, out, run=False)
    return out


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_no_solution_text_reaches_the_student_notebook(chapter: Path, built: Path) -> None:
    text = chapter.read_text()
    blocks = _admonitions(text)
    solutions = [b for _, b in blocks if ":class: dropdown" in b]
    rest = _FENCED.sub(lambda m: "" if ":class: dropdown" in m.group(3) else m.group(0), text)
    evidence = set().union(*(_runs(s) for s in solutions)) - _runs(rest)
    assert len(evidence) > 20, "too little distinctive solution text to test"
    student = nbformat.read(built / f"{chapter.stem}-exercises.ipynb", 4)
    teacher = nbformat.read(built / f"{chapter.stem}-solutions.ipynb", 4)
    leaked = evidence & _runs(_notebook_text(student))
    assert not leaked, f"solution text in the student notebook: {sorted(leaked)[:5]}"
    missing = evidence - _runs(_notebook_text(teacher))
    assert not missing, f"solution text missing from the solutions notebook: {sorted(missing)[:5]}"
    for title, _ in blocks:
        if title.startswith("Exercise"):
            assert title in _notebook_text(student) and title in _notebook_text(teacher)
    assert "dropdown" not in _notebook_text(student)
    # same code, cell for cell, in both notebooks and in the chapter
    code = [c.source for c in student.cells if c.cell_type == "code"]
    assert code == [c.source for c in teacher.cells if c.cell_type == "code"]
    assert len(code) >= 3


@pytest.mark.book
def test_exercise_notebooks_of_the_cheapest_chapter_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MPLBACKEND", raising=False)  # kernels render figures as in the book
    monkeypatch.setenv("IVIG_TABLES_DIR", str(tmp_path / "tables"))
    monkeypatch.setenv("PYTHONPATH", str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    student_path, teacher_path = exercises.write_exercises(CHEAPEST, tmp_path / "out")
    teacher = nbformat.read(teacher_path, 4)
    code = [c for c in teacher.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "the solutions notebook is from a complete run"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    student = nbformat.read(student_path, 4)
    assert not [o for c in student.cells if c.cell_type == "code" for o in c.outputs]
    # glued values are filled in: no glue name of the chapter's prose is left in the notebooks
    names = set(re.findall(r"\{glue:text\}`([a-z0-9_]+)", CHEAPEST.read_text()))
    assert names
    for nb in (student, teacher):
        text = _notebook_text(nb)
        assert "{glue" not in text
        assert not [n for n in names if f"`{n}`" in text]
    # the student notebook runs to the end in a fresh kernel, from anywhere
    exercises.execute(student, tmp_path)
    errors = [o for c in student.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
