"""``make pdf`` (issue 13): the whole book as one PDF, printed by headless chromium.

One strict single-page build (in the session's default strict build, reusing its executed
chapters) is printed with the same code ``make pdf`` runs (:mod:`analysis.report.pdf`); poppler's
``pdftotext``/``pdfinfo`` then read the PDF:

* every chapter's title (the first ``# `` heading of each file in ``_toc.yml``) is in its text;
* the page count is plausible: at least one page per chapter, and not absurdly many;
* math is typeset: no TeX source (``\\(``, ``\\frac``, ``\\hat``...) reaches the text;
* nothing runs off a page: every word's box lies within the page (``pdftotext -bbox``).

Needs poppler-utils (``.ci/run`` installs it with chromium); without it the tests fail, not skip.
"""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from _book_build import shared_build

from analysis.report import pdf

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.book,
    pytest.mark.browser,
]


def _toc_files() -> list[Path]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return [REPO / f"{f}.md" for f in files]


def _title(md: Path) -> str:
    return next(line[2:].strip() for line in md.read_text().splitlines() if line.startswith("# "))


def _squash(text: str) -> str:
    """Whitespace, hyphens (a title may be hyphenated at a line end) and typographic quotes
    (the book's smart quotes) normalised."""
    for curly, plain in (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(curly, plain)
    text = re.sub(r"[-\u00ad\u2010\u2011]", "", text)
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def book_pdf(tmp_path_factory) -> Path:
    """The PDF of the session's default strict build.

    The single-page build runs in that build's folder without ``--all``: it reuses the chapters
    the HTML build executed (Sphinx re-reads nothing when nothing changed) instead of executing
    every chapter a third time. When the HTML build was not made by this session
    (``IVIG_TEST_BOOK_HTML``), the single page is built and executed from scratch in a
    temporary folder, as ``make pdf`` does.
    """
    html = shared_build(tmp_path_factory)
    if html.log and html.ok:
        build, execute = html.out, False
    else:
        build, execute = tmp_path_factory.mktemp("pdf-build"), True
    index = pdf.build_singlehtml(build, execute=execute)
    return pdf.print_pdf(index, build / "book.pdf")


@pytest.fixture(scope="module")
def text(book_pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(book_pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


def test_every_chapter_title_is_in_the_pdf(text: str) -> None:
    flat = _squash(text)
    root, *chapters = _toc_files()
    assert _squash(_title(root)) in flat
    # each chapter's title is in the table of contents AND heads the chapter itself
    missing = [_title(f) for f in chapters if flat.count(_squash(_title(f))) < 2]
    assert not missing, f"chapters whose title is not in the PDF twice: {missing}"


def test_page_count_is_plausible(book_pdf: Path) -> None:
    info = subprocess.run(["pdfinfo", str(book_pdf)], check=True, capture_output=True,
                          text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    assert len(_toc_files()) <= pages <= 800, pages


def test_math_is_typeset(text: str) -> None:
    tex = [m for m in (r"\(", r"\[", r"\frac", r"\hat", r"\beta", r"\sum", "$$") if m in text]
    assert not tex, f"TeX source in the PDF (MathJax did not finish): {tex}"


def test_no_word_runs_off_the_page(book_pdf: Path, tmp_path: Path) -> None:
    out = tmp_path / "bbox.html"
    subprocess.run(["pdftotext", "-bbox", str(book_pdf), str(out)], check=True)
    doc = out.read_text(encoding="utf-8")
    off = []
    for page in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', doc,
                            re.DOTALL):
        width, height = float(page.group(1)), float(page.group(2))
        for w in re.finditer(r'<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" '
                             r'yMax="([-\d.]+)">(.*?)</word>', page.group(3)):
            x0, y0, x1, y1 = map(float, w.groups()[:4])
            if x0 < -0.5 or y0 < -0.5 or x1 > width + 0.5 or y1 > height + 0.5:
                off.append(html.unescape(w.group(5)))
    assert not off, f"{len(off)} words outside the page, e.g. {off[:10]}"


# --------------------------------------------------------------------------------------------------
# a PDF that reads like a book (issue 21 §3)
# --------------------------------------------------------------------------------------------------
def _toc_parts() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    return [p["caption"] for p in toc.get("parts", [])]


def test_every_page_is_numbered(book_pdf: Path) -> None:
    """The bottom margin of page i holds exactly its number i (chromium's footer).

    Only the margin is read (``pdftotext`` cropped to it): in the page's reading order the
    number can come before a table's last cells.
    """
    info = subprocess.run(["pdfinfo", str(book_pdf)], check=True, capture_output=True,
                          text=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    margin = 18 / 25.4 * 72  # the bottom margin of book/_static/print.css, 18 mm, in points
    feet = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-x", "0", "-y", str(int(height - margin)), "-W",
         str(int(width)), "-H", str(int(margin)), str(book_pdf), "-"],
        check=True, capture_output=True, text=True).stdout.split("\f")
    if not feet[-1].strip():
        feet = feet[:-1]
    assert len(feet) > 1
    wrong = [(i, foot.strip()) for i, foot in enumerate(feet, start=1) if foot.strip() != str(i)]
    assert not wrong, f"{len(wrong)} pages whose foot is not their number, e.g. {wrong[:5]}"


def _outline(book_pdf: Path, tmp_path: Path) -> list[tuple[str, list[str]]]:
    """The PDF outline's top level: ``(title, titles of its children)`` of each entry.

    Read from ``pdftohtml``'s HTML outline (nested lists); its ``-xml`` outline is not used:
    poppler 22.12 leaves out there every entry that has children, except the first of its level
    (the entries are in the PDF: ``/Title (2. The cohort)``).
    """
    from bs4 import BeautifulSoup

    subprocess.run(["pdftohtml", "-i", "-q", "-noframes", str(book_pdf), str(tmp_path / "out")],
                   check=True, capture_output=True)
    soup = BeautifulSoup((tmp_path / "out.html").read_text(encoding="utf-8"), "html.parser")
    heading = soup.find("h1", string="Document Outline")
    assert heading is not None, "the PDF has no document outline"

    def own_text(li) -> str:
        return _squash("".join(c.get_text() if c.name else str(c) for c in li.children
                               if c.name != "ul"))

    top = heading.find_next("ul")
    return [(own_text(li), [own_text(k) for k in (li.ul.find_all("li", recursive=False)
                                                  if li.ul else [])])
            for li in top.find_all("li", recursive=False)]


def test_outline_lists_parts_and_chapters(book_pdf: Path, tmp_path: Path) -> None:
    """Every part is an entry of the outline's top level, its chapters the entries under it.

    Titles are compared without spaces: chromium joins a heading's wrapped lines without one.
    """
    def key(title: str) -> str:
        return re.sub(r"\s", "", _squash(title)).lstrip("0123456789.")

    outline = {key(title): [key(c) for c in children]
               for title, children in _outline(book_pdf, tmp_path)}
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    missing = []
    for part in toc.get("parts", []):
        if key(part["caption"]) not in outline:
            missing.append(part["caption"])
        children = outline.get(key(part["caption"]), [])
        missing += [t for t in (_title(REPO / f"{c['file']}.md") for c in part["chapters"])
                    if key(t) not in children]
    assert not missing, f"not in the PDF outline where they belong: {missing}"


def test_no_interactive_leftovers(text: str) -> None:
    flat = _squash(text)
    for leftover in ("Show code cell", "Hide code cell", "Click to show", "click **Show"):
        assert leftover not in flat, leftover


def test_parts_and_chapters_start_on_a_new_page(text: str) -> None:
    """Each part's caption, and each chapter's title, is the first text of a page."""
    firsts = [_squash(page)[:200] for page in text.split("\f")]
    heads = _toc_parts() + [_title(f) for f in _toc_files()[1:]]
    late = [h for h in heads if not any(f.lstrip("0123456789. ").startswith(_squash(h))
                                        for f in firsts)]
    assert not late, f"not at the top of a page: {late}"
