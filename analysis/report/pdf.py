"""The whole book as one PDF (``make pdf``): the single-page HTML build, printed by chromium.

What: ``jupyter-book build --all . --builder singlehtml`` (strict: ``-W -n --keep-going``, every
chapter executed as for the HTML book) writes ``<build>/_build/singlehtml/index.html``; Debian's
headless ``chromium`` prints it to ``_build/pdf/book.pdf``.

Why this way: no LaTeX and no downloaded browser; the PDF shows exactly what the HTML shows (same
tables, SVG figures, MathJax). The print rules live in ``book/_static/print.css`` (figures and
tables shrink to the page width, long cells wrap, no figure or table split across pages). MathJax
is served locally and typesets on page load; ``--run-all-compositor-stages-before-draw`` with a
virtual-time budget lets every script and timer finish before chromium prints. Before printing,
:func:`for_print` adds a heading page for each part of ``_toc.yml`` and cuts tables longer than
:data:`MAX_ROWS` rows; ``print.css`` starts every part and chapter on a new page and numbers the
pages; chromium writes the document outline (bookmarks) from the headings.

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

from analysis import PROJECT_ROOT

OUT = PROJECT_ROOT / "_build" / "pdf" / "book.pdf"
#: A table longer than this is cut to half as many rows in the PDF (the HTML and CSV have it all).
MAX_ROWS = 40
#: Offline, quiet, headless chromium; the virtual-time budget (ms) lets MathJax finish.
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-default-apps", "--disable-extensions",
    "--run-all-compositor-stages-before-draw", "--virtual-time-budget=120000",
    "--generate-pdf-document-outline",  # bookmarks from the headings: parts, chapters, sections
)


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
    """The single page made ready to print: a title page for each part (a heading, so the PDF
    outline lists it), and tables longer than ``max_rows`` rows cut to their first rows with a
    line saying where the full table is (the HTML book and the CSV linked under it).

    Examples
    --------
    >>> page = ('<span id="document-book/t1"></span><table><tbody>'
    ...         + "<tr><td>1</td></tr>" * 6 + "</tbody></table>")
    >>> out = for_print(page, [("Teaching", "book/t1")], max_rows=4)
    >>> "pdf-part" in out, out.count("<tr>"), "4 more rows" in out
    (True, 2, True)
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for caption, first in parts:
        anchor = soup.find("span", id=f"document-{first}")
        if anchor is None:
            continue
        part = soup.new_tag("section", attrs={"class": "pdf-part"})
        title = soup.new_tag("h1")
        title.string = caption
        part.append(title)
        anchor.insert_before(part)
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
    return str(soup)


def print_pdf(index: Path, out: Path, timeout: int = 600) -> Path:
    """Print ``index`` (an HTML file) to ``out`` with headless chromium; nothing partial is left."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.unlink(missing_ok=True)
    proc = subprocess.run(
        [chromium(), *CHROMIUM_ARGS, f"--print-to-pdf={tmp}", index.resolve().as_uri()],
        capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        raise PDFError(f"chromium could not print {index} (exit {proc.returncode}): "
                       f"{proc.stderr.strip()[-800:]}")
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
    except (PDFError, subprocess.TimeoutExpired) as exc:
        print(f"make pdf: {exc}", file=sys.stderr)
        return 1
    print(f"PDF: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
