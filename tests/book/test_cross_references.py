"""Chapter numbers are never typed: pages cross-reference with ``{doc}``/``{ref}``/``{numref}``, and
a chapter's file name carries the number the book renders for it.

A typed "chapter 9" goes stale the day a chapter is inserted before it (it did once: a chapter
inserted after the sensitivity analyses left "chapter 9", "chapter 11" and "chapters 6 to 8"
pointing one chapter too early). These tests read the sources only; nothing is built.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from analysis import PROJECT_ROOT

BOOK = PROJECT_ROOT / "book"
TOC = PROJECT_ROOT / "_toc.yml"

#: "chapter 9", "Chapters 6 to 8", "chapter t7", "ch. 11": a chapter named by a typed number.
TYPED_CHAPTER = re.compile(r"\b(?:[Cc]hapters?|[Cc]h\.)\s+t?\d")
#: A ``{doc}`` target: ``{doc}`name``` or ``{doc}`text <name>```.
DOC_ROLE = re.compile(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`")
#: A Markdown link to another page of the book: ``[text](name.md)``.
MD_LINK = re.compile(r"\]\(([\w.-]+)\.md(?:#[\w-]+)?\)")


def typed_chapter_numbers(text: str) -> list[tuple[int, str]]:
    """``(line number, line)`` of every line of ``text`` that names a chapter by a typed number."""
    return [(i, line.strip()) for i, line in enumerate(text.splitlines(), start=1)
            if TYPED_CHAPTER.search(line)]


def numbered_chapters() -> list[tuple[str, int, int]]:
    """``(file stem, rendered number, position in its part)`` of every chapter of a numbered part.

    With ``use_multitoc_numbering`` (the default, kept in ``_config.yml``) numbering continues
    from one numbered part to the next.
    """
    toc = yaml.safe_load(TOC.read_text(encoding="utf-8"))
    out, number = [], 0
    for part in toc["parts"]:
        if not part.get("numbered"):
            continue
        for position, chapter in enumerate(part["chapters"], start=1):
            number += 1
            out.append((Path(chapter["file"]).name, number, position))
    return out


# --------------------------------------------------------------------------------------------------
# the detector itself
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["as in chapter 9,", "Chapter 11 lists", "chapters 6 to 8",
                                  "(chapter t7)", "see ch. 4"])
def test_detector_flags_typed_chapter_numbers(text: str) -> None:
    assert typed_chapter_numbers(text) == [(1, text)]


@pytest.mark.parametrize("text", ["chapter {doc}`07-sensitivity`", "the next chapter",
                                  "{ref}`next chapter <t4-reference-group>`",
                                  "Figure 1 of the paper", "Table 2.", "a chaptered book 9"])
def test_detector_passes_cross_references(text: str) -> None:
    assert typed_chapter_numbers(text) == []


# --------------------------------------------------------------------------------------------------
# the book and the package
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("md", sorted(BOOK.glob("*.md")), ids=lambda p: p.name)
def test_no_typed_chapter_numbers_in_the_book(md: Path) -> None:
    """Prose, captions and the code shown on pages (the .md holds all three)."""
    found = typed_chapter_numbers(md.read_text(encoding="utf-8"))
    assert not found, f"{md.name}: chapter named by a typed number (use {{doc}}/{{ref}}): {found}"


def test_no_typed_chapter_numbers_in_the_package() -> None:
    """Strings of ``analysis/`` can be rendered into pages; comments and docstrings go stale too."""
    found = {str(p.relative_to(PROJECT_ROOT)): hits
             for p in sorted((PROJECT_ROOT / "analysis").rglob("*.py"))
             if (hits := typed_chapter_numbers(p.read_text(encoding="utf-8")))}
    assert not found, f"chapters named by a typed number: {found}"


def test_file_prefix_is_the_rendered_chapter_number() -> None:
    """``08-beyond-the-paper`` renders as chapter 8; a teaching chapter ``t<k>`` is the k-th of its
    part."""
    wrong = []
    for stem, number, position in numbered_chapters():
        prefix = re.match(r"(t?)(\d+)-", stem)
        if prefix is None:
            wrong.append((stem, "no number prefix"))
        elif int(prefix[2]) != (position if prefix[1] else number):
            wrong.append((stem, position if prefix[1] else number))
    assert not wrong, f"file name and rendered number differ (file, rendered): {wrong}"


def test_every_cross_reference_names_a_page_of_the_book() -> None:
    """``{doc}`` targets and ``[..](x.md)`` links name files the table of contents builds."""
    pages = {p.stem for p in BOOK.glob("*.md")}
    broken = [(md.name, target) for md in sorted(BOOK.glob("*.md"))
              for pattern in (DOC_ROLE, MD_LINK)
              for target in pattern.findall(md.read_text(encoding="utf-8"))
              if target.strip() not in pages]
    assert not broken, f"links to pages that do not exist: {broken}"
