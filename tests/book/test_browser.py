"""The built book, read in a real browser (headless Debian chromium driven by playwright).

What and why: a strict Sphinx build proves the sources are consistent, not that a reader sees a
working page. These tests open every page of the session's strict build (``_book_build``) over a
local HTTP server and check what a reader meets: no console or script errors, no cell error or
traceback, every image decoded, every glued value rendered as a number (no leftover role, ``nan``
or ``np.float64``), both paper figures and every paper table on their chapters, every internal link
and anchor resolving, and math typeset by the locally served MathJax with no request leaving the
machine. A full-page screenshot of each page goes to ``_build/screenshots/``.

The browser is launched once per module and each page is visited once (fixture ``visits``); the
individual tests assert on the recorded reports, so one failure does not hide the others.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from _book_build import REPO, BuiltBook, shared_build
from _browser_helpers import (
    CHROMIUM,
    PageReport,
    bad_text,
    check_link,
    html_pages,
    inspect_page,
    is_local,
    launch,
    serve,
)

pytestmark = [pytest.mark.browser, pytest.mark.book]

SCREENSHOTS = REPO / "_build" / "screenshots"

#: The paper's two figures: HTML id (the MyST ``:name:``) -> (chapter page, caption words).
PAPER_FIGURES: dict[str, tuple[str, str]] = {
    "fig-forest": ("book/06-primary-analysis.html", "Figure 1"),
    "fig-swimmer": ("book/05-infections.html", "Figure 2"),
}

#: The paper's tables: caption prefix -> (chapter page, minimum rendered rows incl. header).
PAPER_TABLES: dict[str, tuple[str, int]] = {
    "Table 1.": ("book/04-baseline.html", 15),
    "Table 2.": ("book/09-hypogammaglobulinemia.html", 5),
    "Supplementary Table 1.": ("book/11-who-receives-ivig.html", 4),
}

#: Browsing every page must take less than this (the build is excluded).
BROWSE_BUDGET_S = 120.0


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> BuiltBook:
    """The session's strict build of the default cohort (shared with other test modules)."""
    book = shared_build(tmp_path_factory)
    assert book.ok, book.failure_report()
    return book


@pytest.fixture(scope="module")
def visits(built_book: BuiltBook) -> dict[str, PageReport]:
    """Visit every page once in chromium; return page path -> report (and save screenshots)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    pages = html_pages(built_book.html)
    assert pages, f"no HTML pages under {built_book.html}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):  # screenshots of this build only
        old.unlink()
    reports: dict[str, PageReport] = {}
    t0 = time.monotonic()
    with serve(built_book.html) as base_url, sync_playwright() as pw:
        browser = launch(pw)
        try:
            for rel in pages:
                shot = SCREENSHOTS / (str(rel.with_suffix("")).replace("/", "__") + ".png")
                reports[rel.as_posix()] = inspect_page(
                    browser, base_url + rel.as_posix(), base_url, screenshot=shot
                )
        finally:
            browser.close()
        # links are checked against the files on disk, relative to the page actually shown
        for report in reports.values():
            report.link_problems = [
                problem
                for href in report.hrefs
                if (problem := check_link(href, report.final_url, base_url, built_book.html))
            ]
    elapsed = time.monotonic() - t0
    assert elapsed < BROWSE_BUDGET_S, f"browsing {len(pages)} pages took {elapsed:.0f} s"
    return reports


def _fail_if(problems: dict[str, list[str]], what: str) -> None:
    """Fail listing every page's problems together (not only the first page's)."""
    problems = {page: items for page, items in problems.items() if items}
    if problems:
        lines = [f"{what}:"]
        for page, items in sorted(problems.items()):
            lines += [f"  {page}:"] + [f"    - {item}" for item in items[:20]]
        pytest.fail("\n".join(lines))


def _chapters(visits: dict[str, PageReport]) -> dict[str, PageReport]:
    """The book's own pages (Sphinx's genindex and search pages excluded)."""
    return {k: v for k, v in visits.items() if k not in {"genindex.html", "search.html"}}


def test_every_page_loads(visits: dict[str, PageReport]) -> None:
    _fail_if(
        {p: [f"HTTP {r.status}"] for p, r in visits.items() if r.status != 200}, "pages not served"
    )
    assert any(p.startswith("book/") for p in visits), sorted(visits)


def test_no_console_or_script_errors(visits: dict[str, PageReport]) -> None:
    _fail_if(
        {p: r.console_errors + r.page_errors for p, r in visits.items()},
        "console errors / uncaught exceptions",
    )


def test_no_request_leaves_the_machine(visits: dict[str, PageReport]) -> None:
    """Offline reading: every request (scripts, fonts, MathJax, images) is to the local server."""
    _fail_if(
        {p: [u for u in r.requests if not is_local(u, r.base_url)] for p, r in visits.items()},
        "requests to the network (the book must read offline)",
    )
    _fail_if(
        {
            p: [f for f in r.failed_requests if is_local(f.split(": ")[0], r.base_url)]
            for p, r in visits.items()
        },
        "local requests that failed (missing assets)",
    )


def test_no_cell_errors_or_tracebacks(visits: dict[str, PageReport]) -> None:
    _fail_if(
        {p: r.error_outputs + bad_text(r.text) for p, r in _chapters(visits).items()},
        "error outputs or broken text visible to a reader",
    )


def test_every_image_loads(visits: dict[str, PageReport]) -> None:
    _fail_if(
        {
            p: [
                f"{img['src']} (naturalWidth={img['naturalWidth']})"
                for img in r.images
                if not img["complete"] or img["naturalWidth"] <= 0
            ]
            for p, r in visits.items()
        },
        "images that did not load",
    )


def test_every_glued_value_rendered(visits: dict[str, PageReport]) -> None:
    problems: dict[str, list[str]] = {}
    for page, report in _chapters(visits).items():
        items = []
        for value in report.glued:
            text = value.strip()
            if not text:
                items.append("empty glued value")
            elif bad_text(text) or re.search(r"\bglue\b", text):
                items.append(f"glued value renders as {text!r}")
        problems[page] = items
    _fail_if(problems, "glued values not rendered")
    assert sum(len(r.glued) for r in visits.values()) >= 20, "the book glues almost nothing"


def test_math_typeset_by_local_mathjax(visits: dict[str, PageReport]) -> None:
    _fail_if(
        {
            p: [f"{r.math_typeset} of {r.math_total} math elements typeset (no mjx-container)"]
            for p, r in visits.items()
            if r.math_typeset < r.math_total
        },
        "math not typeset",
    )
    assert sum(r.math_total for r in visits.values()) > 0, "no page has any math"
    mathjax = {u for r in visits.values() for u in r.requests if "tex-" in u or "mathjax" in u}
    assert mathjax and all(is_local(u, next(iter(visits.values())).base_url) for u in mathjax)


def test_internal_links_resolve(visits: dict[str, PageReport]) -> None:
    _fail_if({p: r.link_problems for p, r in visits.items()}, "broken internal links/anchors")


def test_paper_figures_present(visits: dict[str, PageReport]) -> None:
    problems = []
    for fid, (page, words) in PAPER_FIGURES.items():
        report = visits.get(page)
        if report is None or fid not in report.figures:
            seen = sorted(report.figures) if report else "page missing"
            problems.append(f"#{fid} not on {page} (figures there: {seen})")
            continue
        fig = report.figures[fid]
        if fig["img"] <= 0:
            problems.append(f"#{fid} on {page}: image not loaded")
        if words.lower() not in fig["caption"].lower():
            problems.append(f"#{fid} on {page}: caption lacks {words!r}: {fig['caption'][:80]!r}")
    assert not problems, "\n".join(problems)


def test_paper_tables_present(visits: dict[str, PageReport]) -> None:
    problems = []
    for prefix, (page, min_rows) in PAPER_TABLES.items():
        report = visits.get(page)
        tables = [t for t in (report.tables if report else []) if t["caption"].startswith(prefix)]
        if not tables:
            problems.append(f"no table captioned {prefix!r} on {page}")
        elif max(t["rows"] for t in tables) < min_rows:
            problems.append(f"{prefix!r} on {page} has only {tables[0]['rows']} rows")
    assert not problems, "\n".join(problems)


def _chapter_sources(html: Path) -> dict[str, str]:
    """Page path -> MyST source of every chapter, as Sphinx copied it into the site at build
    time (``_sources/``), so the expectations match the build even while chapters are edited."""
    return {
        f"book/{Path(md.stem).stem}.html": md.read_text(encoding="utf-8")
        for md in sorted((html / "_sources" / "book").glob("*.md*"))
    }


def test_every_figure_of_every_chapter_is_shown(
    visits: dict[str, PageReport], built_book: BuiltBook
) -> None:
    """Each ``{glue:figure}`` with a ``:name:`` in a chapter is on its page, image loaded."""
    problems = []
    sources = _chapter_sources(built_book.html)
    assert sources, "no chapter sources in the site's _sources/"
    for page, source in sources.items():
        if page not in visits:
            continue
        for fid in re.findall(r"^:name:\s*(fig-[\w-]+)", source, flags=re.MULTILINE):
            fig = visits[page].figures.get(fid)
            if fig is None:
                problems.append(f"{page}: figure #{fid} missing")
            elif fig["img"] <= 0:
                problems.append(f"{page}: figure #{fid} has no loaded image")
    assert not problems, "\n".join(problems)


def test_every_published_table_is_shown(
    visits: dict[str, PageReport], built_book: BuiltBook
) -> None:
    """Each ``book.publish_table(...)`` of a chapter renders a captioned table on its page; a
    literal caption in the source is found (by its first words) on the page."""
    problems = []
    for page, source in _chapter_sources(built_book.html).items():
        if page not in visits:
            continue
        calls = source.count("publish_table(")
        captions = [t["caption"] for t in visits[page].tables if t["rows"] >= 2]
        if len(captions) < calls:
            problems.append(f"{page}: {calls} tables published, {len(captions)} shown")
        for literal in re.findall(r"caption=\s*f?\"([^\"{]{12,})", source):
            start = literal[:30]
            if not any(start in c for c in captions):
                problems.append(f"{page}: no table captioned {start!r}...")
    assert not problems, "\n".join(problems)


def test_screenshots_saved(visits: dict[str, PageReport]) -> None:
    shots = sorted(SCREENSHOTS.glob("*.png"))
    assert len(shots) >= len(visits), f"{len(shots)} screenshots for {len(visits)} pages"
    assert all(s.stat().st_size > 1000 for s in shots)


def test_tables_linked_as_csv(visits: dict[str, PageReport], built_book: BuiltBook) -> None:
    """Every table is also written as CSV into the site and linked (issue 4): the links work."""
    csv_links = {
        (p, h) for p, r in visits.items() for h in r.hrefs if h.split("#")[0].endswith(".csv")
    }
    assert csv_links, "no page links a CSV table"
    for page, href in csv_links:
        target = (built_book.html / Path(page).parent / href.split("#")[0]).resolve()
        assert target.is_file() and target.stat().st_size > 0, f"{page}: {href}"


# --------------------------------------------------------------------------- the harness itself
_BROKEN_PAGE = """<!DOCTYPE html><html><head><title>broken</title>
<script src="https://cdn.example.invalid/mathjax.js"></script>
<script>console.error("boom"); undefinedFunction();</script></head>
<body><main>
<p>Value: <span class="pasted-text">{glue:text}`x`</span> and
<span class="pasted-text">nan</span>.</p>
<p>np.float64(0.57) and a <a href="missing.html">dead link</a> and
<a href="#nowhere">anchor</a>.</p>
<span class="math notranslate nohighlight">\\(x^2\\)</span>
<img src="missing.png" alt="gone">
<figure id="fig-forest"><img src="missing.png"><figcaption>Figure 1</figcaption></figure>
<div class="output traceback">Traceback (most recent call last): KeyError</div>
</main></body></html>"""


def test_harness_detects_every_kind_of_problem(tmp_path: Path) -> None:
    """The detectors above are only worth something if they fire: a page with one problem of
    each kind must be caught by each (no network is used: the external script is aborted)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    (tmp_path / "index.html").write_text(_BROKEN_PAGE, encoding="utf-8")
    with serve(tmp_path) as base_url, sync_playwright() as pw:
        browser = launch(pw)
        try:
            r = inspect_page(browser, base_url + "index.html", base_url)
        finally:
            browser.close()
    assert any("boom" in e for e in r.console_errors)
    assert any("undefinedFunction" in e for e in r.page_errors)
    assert [u for u in r.requests if not is_local(u, base_url)] == [
        "https://cdn.example.invalid/mathjax.js"
    ]
    assert any(img["naturalWidth"] == 0 for img in r.images)
    assert r.figures["fig-forest"]["img"] == 0
    assert r.math_total == 1 and r.math_typeset == 0
    assert r.error_outputs
    found = {problem.split(":")[0] for problem in bad_text(r.text)}
    assert {"leftover glue role", "numpy scalar repr", "nan", "traceback"} <= found
    problems = [check_link(h, r.final_url, base_url, tmp_path) for h in r.hrefs]
    assert sum(p is not None for p in problems) == 2
