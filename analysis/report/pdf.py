"""The whole book as one PDF (``make pdf``): the single-page HTML build, printed by chromium.

What: ``jupyter-book build --all . --builder singlehtml`` (strict: ``-W -n --keep-going``, every
chapter executed as for the HTML book) writes ``<build>/_build/singlehtml/index.html``; Debian's
headless ``chromium`` prints it to ``_build/pdf/book.pdf``.

Why this way: no LaTeX and no downloaded browser; the PDF shows exactly what the HTML shows (same
tables, SVG figures, MathJax). The print rules live in ``book/_static/print.css`` (figures and
tables shrink to the page width, long cells wrap, no figure or table split across pages, every
part and chapter on a new page). Before printing, :func:`for_print` moves the chapters out of the
root page's table-of-contents wrappers into one flat sequence (headings: part ``h1``, chapter
``h2``), adds a heading page for each part of ``_toc.yml`` and cuts tables longer than
:data:`MAX_ROWS` rows. :func:`print_pdf` drives chromium through playwright: it waits until
MathJax has typeset the page, then prints with chromium's own page-number footer
(:data:`FOOTER`) and a document outline (bookmarks) built from the headings.

Examples
--------
::

    python -m analysis.report.pdf                         # _build/pdf/book.pdf
    python -m analysis.report.pdf --out /tmp/book.pdf --build-dir /tmp/pdf-build
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from analysis import PROJECT_ROOT

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

OUT = PROJECT_ROOT / "_build" / "pdf" / "book.pdf"
#: A table longer than this is cut to half as many rows in the PDF (the HTML and CSV have it all).
MAX_ROWS = 40
#: Offline, quiet, headless chromium (driven by playwright, which the browser tests use too).
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
    "--disable-extensions",
)
#: The page number at the foot of every page: chromium's own footer (``Page.printToPDF``'s
#: ``footerTemplate``) fills ``pageNumber``; CSS page-margin boxes left pages unnumbered.
FOOTER = ('<div style="width:100%; text-align:center; font-size:9pt; color:#444; '
          'font-family:sans-serif;"><span class="pageNumber"></span></div>')
#: Resolves once the page is ready to print: MathJax has typeset every formula, fonts are loaded.
READY_JS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  return true;
}"""


class PDFError(RuntimeError):
    """The single-page build or the printing failed (the message says which and why)."""


def chromium() -> str:
    """Path of the chromium executable (``$CHROMIUM``, else ``chromium`` on PATH)."""
    exe = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        raise PDFError("chromium not found: install Debian's chromium (apt-get install chromium), "
                       "or set CHROMIUM=/path/to/chromium")
    return exe


def build_singlehtml(build_dir: Path | None = None, *, execute: bool = True) -> Path:
    """Strict single-page build of the book; return the path of the page to print.

    ``execute=False`` leaves out ``--all``: Sphinx then reuses the environment an HTML build left
    in ``build_dir`` (its executed chapters) and re-reads only what changed since, so the
    single page shows that build's results without executing every chapter again. ``make pdf``
    always executes.
    """
    args = [sys.executable, "-m", "analysis.report.jbbuild", "build",
            *(["--all"] if execute else []), str(PROJECT_ROOT),
            "--builder", "singlehtml", "-W", "-n", "--keep-going"]
    if build_dir is not None:
        args += ["--path-output", str(build_dir)]
    proc = subprocess.run(args, cwd=PROJECT_ROOT, check=False)
    index = (build_dir or PROJECT_ROOT) / "_build" / "singlehtml" / "index.html"
    if proc.returncode != 0 or not index.is_file():
        raise PDFError(f"the single-page build failed (exit {proc.returncode}); see above")
    return printable_page(index)


def printable_page(index: Path) -> Path:
    """The single page to print, placed where its links resolve.

    The book's root document is ``book/index``, so the single-page builder writes the book to
    ``book/index.html`` (and a redirecting ``index.html``) but writes every link of that page
    (``_static/``, ``_images/``) relative to the output root: opened where it lies, the page has
    no styles, no figures and no MathJax. A copy at the root (``book.html``) resolves them all.
    """
    text = index.read_text(encoding="utf-8")
    match = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', text, re.IGNORECASE)
    if match is None:
        return index
    page = index.parent / match.group(1)
    printable = index.parent / "book.html"
    printable.write_text(for_print(page.read_text(encoding="utf-8"), toc_parts()),
                         encoding="utf-8")
    return printable


def toc_parts(toc: Path = PROJECT_ROOT / "_toc.yml") -> list[tuple[str, str]]:
    """``(caption, first file)`` of each part of the table of contents."""
    import yaml

    doc = yaml.safe_load(toc.read_text(encoding="utf-8"))
    return [(p["caption"], p["chapters"][0]["file"]) for p in doc.get("parts", [])
            if p.get("caption") and p.get("chapters")]


def for_print(html: str, parts: Sequence[tuple[str, str]], max_rows: int = MAX_ROWS) -> str:
    """The single page made ready to print.

    * The chapters move out of the root page's table-of-contents wrappers into one flat sequence
      in the article, their headings one level up per nesting (a chapter's title an ``<h2>``),
      so the PDF outline (built from the headings) reads part > chapter > section and every
      chapter anchor is a block in the normal flow, where ``break-before: page`` works.
    * A title page for each part (an ``<h1>``) before its first chapter.
    * Tables longer than ``max_rows`` rows are cut to their first rows with a line saying where
      the full table is (the HTML book and the CSV linked under it).

    Examples
    --------
    >>> page = ('<article class="bd-article"><section><h1>Book</h1>'
    ...         '<div class="toctree-wrapper"><span id="document-book/t1"></span>'
    ...         '<section><h3>T1</h3><h4>Part of T1</h4><table><tbody>'
    ...         + "<tr><td>1</td></tr>" * 6 + "</tbody></table></section></div>"
    ...         "</section></article>")
    >>> out = for_print(page, [("Teaching", "book/t1")], max_rows=4)
    >>> "pdf-part" in out, "toctree-wrapper" in out, "<h2>T1</h2>" in out, "<h3>Part of T1" in out
    (True, False, True, True)
    >>> out.count("<tr>"), "4 more rows" in out
    (2, True)
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    _unhead_print_toc(soup)
    _flatten_chapters(soup)
    _add_part_pages(soup, parts)
    _cut_long_tables(soup, max_rows)
    return str(soup)


def _unhead_print_toc(soup: BeautifulSoup) -> None:
    """The contents list jupyter-book prints on the first page keeps its look but is no
    heading: its "Contents" and part captions would otherwise open the PDF outline, all on page
    one, before the parts themselves."""
    toc = soup.find(id="jb-print-toc")
    if toc is None:
        return
    for heading in toc.find_all(re.compile(r"^h[1-6]$")):
        heading.name = "p"
        heading["class"] = ["pdf-contents-title"]
    for caption in toc.find_all(attrs={"role": "heading"}):
        del caption["role"]
        if caption.has_attr("aria-level"):
            del caption["aria-level"]


def _flatten_chapters(soup: BeautifulSoup) -> None:
    """Move each chapter (its ``document-`` anchor and its section) to the end of the article,
    in order, and lift its headings so the chapter title is an ``<h2>``; drop the emptied
    table-of-contents wrappers. A page without the theme's article is left as it is."""
    article = soup.find("article", class_="bd-article")
    if article is None:
        return
    tail = article.find("script", recursive=False)  # the theme's scripts stay last
    for anchor in soup.find_all("span", id=re.compile(r"^document-")):
        section = anchor.find_next_sibling("section")
        if section is None:
            continue
        _lift_headings(section)
        for node in (anchor.extract(), section.extract()):
            if tail is None:
                article.append(node)
            else:
                tail.insert_before(node)
    for wrapper in article.find_all("div", class_="toctree-wrapper"):
        if not wrapper.get_text(strip=True):
            wrapper.decompose()


def _lift_headings(section: Tag) -> None:
    """Renumber the headings of a chapter's section so its title is an ``<h2>``."""
    headings = section.find_all(re.compile(r"^h[1-6]$"))
    if not headings:
        return
    lift = int(headings[0].name[1]) - 2
    for heading in headings:
        heading.name = f"h{min(max(int(heading.name[1]) - lift, 1), 6)}"


def _add_part_pages(soup: BeautifulSoup, parts: Sequence[tuple[str, str]]) -> None:
    """A title page (an ``<h1>``) for each part, before the anchor of its first chapter."""
    for caption, first in parts:
        anchor = soup.find("span", id=f"document-{first}")
        if anchor is None:
            continue
        part = soup.new_tag("section", attrs={"class": "pdf-part"})
        title = soup.new_tag("h1")
        title.string = caption
        part.append(title)
        anchor.insert_before(part)


def _cut_long_tables(soup: BeautifulSoup, max_rows: int) -> None:
    """Cut each table longer than ``max_rows`` rows to half that, with a line saying where the
    full table is."""
    for table in soup.find_all("table"):
        body = table.find("tbody") or table
        rows = body.find_all("tr", recursive=False)
        if len(rows) <= max_rows:
            continue
        keep = max_rows // 2
        for row in rows[keep:]:
            row.decompose()
        note = soup.new_tag("tr", attrs={"class": "pdf-cut"})
        cell = soup.new_tag("td", attrs={"colspan": str(max(len(rows[0].find_all(["td", "th"])),
                                                            1))})
        cell.string = (f"… {len(rows) - keep} more rows: the full table is in the HTML book "
                       "and in its CSV file.")
        note.append(cell)
        body.append(note)


def print_pdf(index: Path, out: Path, timeout: int = 600) -> Path:
    """Print ``index`` (an HTML file) to ``out`` with headless chromium; nothing partial is left.

    Playwright drives Debian's chromium: the page is loaded, MathJax finishes typesetting, then
    ``Page.printToPDF`` prints it with the CSS page size and margins (``print.css``), a page
    number in the footer of every page (:data:`FOOTER`) and a document outline (bookmarks) built
    from the headings (``outline`` needs the tagged, accessible PDF).
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.unlink(missing_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium(), args=list(CHROMIUM_ARGS),
                                         headless=True, timeout=timeout * 1000)
            try:
                page = browser.new_page()
                page.set_default_timeout(timeout * 1000)
                page.goto(index.resolve().as_uri(), wait_until="load")
                page.evaluate(READY_JS)
                page.pdf(path=str(tmp), prefer_css_page_size=True, print_background=True,
                         display_header_footer=True, header_template="<span></span>",
                         footer_template=FOOTER, outline=True, tagged=True)
            finally:
                browser.close()
    except PlaywrightError as exc:
        tmp.unlink(missing_ok=True)
        raise PDFError(f"chromium could not print {index}: {str(exc)[-800:]}") from None
    if not tmp.is_file() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        raise PDFError(f"chromium printed nothing for {index}")
    tmp.replace(out)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Build the single-page book and print it; exit 0, or 1 with a message."""
    ap = argparse.ArgumentParser(prog="python -m analysis.report.pdf",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help=f"the PDF to write (default {OUT})")
    ap.add_argument("--build-dir", type=Path,
                    help="jupyter-book --path-output for the single-page build (default: here)")
    ap.add_argument("--html", type=Path,
                    help="print this already built singlehtml/index.html instead of building")
    args = ap.parse_args(argv)
    from analysis.report.book import absolute_cohort_env

    absolute_cohort_env()  # the build runs from the project root: resolve IVIG_COHORT from here
    try:
        index = printable_page(args.html) if args.html else build_singlehtml(args.build_dir)
        out = print_pdf(index, args.out)
    except PDFError as exc:
        print(f"make pdf: {exc}", file=sys.stderr)
        return 1
    print(f"PDF: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
