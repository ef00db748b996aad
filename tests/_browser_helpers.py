"""Helpers for the real-browser tests of the built book (``tests/book/test_browser.py``).

What and why: the book is read in a browser, so it is tested in one. These helpers

* serve a built ``_build/html`` folder over ``http://127.0.0.1:<random port>`` from a thread
  (``file://`` would hide missing assets behind the browser's file-access rules and cannot tell
  local requests from network ones as cleanly);
* launch Debian's ``/usr/bin/chromium`` through playwright (its own browser download does not
  work on this machine) with every phone-home feature switched off;
* open one page, record every request (anything not on the local server is aborted *and*
  recorded, so the test both proves "no network" and never touches the network), every console
  error and page error, wait for MathJax to finish, and return what the page looks like to a
  reader (images, glued values, math, figures, tables, links, error-looking text);
* check links offline against the files on disk (a link to ``page.html#anchor`` resolves when
  ``page.html`` exists and has an element with ``id="anchor"``).

Nothing here knows the book's chapters; ``tests/book/test_browser.py`` holds the expectations.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

CHROMIUM = Path("/usr/bin/chromium")

#: Flags for a quiet, offline, headless chromium (see design/toolchain-notes.md).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
]

#: Folders of a Sphinx build that hold assets, not pages.
ASSET_DIRS = {"_static", "_images", "_sources", "_downloads", ".doctrees", "_panels_static"}

#: Text a reader must never see: a leftover glue role, a numpy repr, a pandas missing marker,
#: a Python traceback or exception name printed by a failing cell.
BAD_TEXT_PATTERNS: dict[str, re.Pattern[str]] = {
    "leftover glue role": re.compile(r"\{glue(?::\w+)?\}"),
    "numpy scalar repr": re.compile(r"\bnp\.(?:float|int|bool|str)_?\d*\("),
    "nan": re.compile(r"(?<![\w-])(?:nan|NaN)(?![\w-])"),
    "pandas NA marker": re.compile(r"<NA>|\bNaT\b"),
    "figure rendered as text": re.compile(r"<Figure size \d"),
    "traceback": re.compile(r"Traceback \(most recent call last\)"),
    "python exception": re.compile(
        r"\b(?:KeyError|ValueError|TypeError|NameError|AttributeError|IndexError|"
        r"ZeroDivisionError|FileNotFoundError|ModuleNotFoundError|AssertionError)\b"
    ),
}


# --------------------------------------------------------------------------- local server
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static file handler that does not print one line per request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 at a free port from a daemon thread; yield the base URL.

    The server is shut down and its socket closed when the block ends.
    """
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="book-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def is_local(url: str, base_url: str) -> bool:
    """True when ``url`` is served by the local book server (or is an inline data/blob URL)."""
    scheme = urlsplit(url).scheme
    if scheme in {"data", "blob", "about"}:
        return True
    return urlsplit(url).netloc == urlsplit(base_url).netloc and scheme == "http"


# --------------------------------------------------------------------------- pages on disk
def html_pages(html_dir: Path) -> list[Path]:
    """Every HTML page of a built book, relative to ``html_dir``, sorted (assets excluded)."""
    pages = [
        p.relative_to(html_dir)
        for p in html_dir.rglob("*.html")
        if not (set(p.relative_to(html_dir).parts[:-1]) & ASSET_DIRS)
    ]
    return sorted(pages)


class _IdCollector(HTMLParser):
    """Collect every ``id`` and ``name`` attribute value of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in {"id", "name"} and value:
                self.ids.add(value)


@functools.lru_cache(maxsize=512)
def anchors_of(path: Path) -> frozenset[str]:
    """All element ids (and ``name`` attributes) in the HTML file at ``path``."""
    collector = _IdCollector()
    collector.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(collector.ids)


def check_link(href: str, page_url: str, base_url: str, html_dir: Path) -> str | None:
    """Resolve one ``href`` found on ``page_url``; return a problem description or None.

    External links (other hosts, ``mailto:``) are not followed: the book must read offline, and
    the test must not use the network. Internal links must point at an existing file under
    ``html_dir``; a fragment must name an element id in the target page.
    """
    absolute = urljoin(page_url, href)
    parts = urlsplit(absolute)
    if parts.scheme in {"mailto", "tel", "javascript", "data"}:
        return None
    if not is_local(absolute, base_url):
        return None
    no_frag, fragment = urldefrag(absolute)
    rel = unquote(urlsplit(no_frag).path).lstrip("/")
    target = html_dir / rel
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return f"{href!r}: no file {target.relative_to(html_dir)}"
    if fragment and target.suffix == ".html" and unquote(fragment) not in anchors_of(target):
        return f"{href!r}: no element with id {unquote(fragment)!r} in {rel or 'index.html'}"
    return None


# --------------------------------------------------------------------------- one page in chromium
@dataclass
class PageReport:
    """What one page looked like in the browser."""

    url: str
    final_url: str = ""  # after redirects (the root index.html redirects to the first chapter)
    base_url: str = ""
    link_problems: list[str] = field(default_factory=list)
    status: int | None = None
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    glued: list[str] = field(default_factory=list)
    math_total: int = 0
    math_typeset: int = 0
    figures: dict[str, dict] = field(default_factory=dict)
    tables: list[dict] = field(default_factory=list)
    hrefs: list[str] = field(default_factory=list)
    error_outputs: list[str] = field(default_factory=list)
    text: str = ""
    title: str = ""


#: JavaScript run in the page after load: a reader's-eye summary of the page.
_SUMMARY_JS = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const main = document.querySelector('main') || document.querySelector('article') || document.body;
  const imgs = Array.from(document.images).map(i => ({
      src: i.currentSrc || i.src, complete: i.complete, naturalWidth: i.naturalWidth,
      alt: i.alt || ''}));
  const glued = Array.from(document.querySelectorAll('.pasted-text, .pasted-inline'))
      .map(e => e.textContent);
  const mathEls = Array.from(document.querySelectorAll('.math'));
  const mathTypeset = mathEls.filter(e => e.querySelector('mjx-container') ||
      e.tagName.toLowerCase() === 'mjx-container').length;
  const figures = {};
  for (const f of document.querySelectorAll('figure[id], div.figure[id]')) {
    const img = f.querySelector('img');
    const cap = f.querySelector('figcaption, .caption');
    figures[f.id] = {caption: cap ? cap.textContent.trim() : '',
                     img: img ? (img.naturalWidth || 0) : -1};
  }
  const tables = Array.from(main.querySelectorAll('table')).map(t => {
    let cap = t.querySelector('caption');
    let container = t.closest('div.cell, div.table-wrapper, figure, div.pasted-block, section');
    return {id: t.id || (t.closest('[id]') ? t.closest('[id]').id : ''),
            caption: cap ? cap.textContent.trim() : '',
            rows: t.rows.length, classes: t.className};
  });
  const hrefs = Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'));
  const errs = Array.from(document.querySelectorAll(
      '.output.error, .output.traceback, .cell_output .error, div.stderr, .output.stderr'))
      .map(e => e.textContent.slice(0, 500));
  // the text a reader reads as results: prose and outputs, not the code of the cells
  const clone = main.cloneNode(true);
  clone.querySelectorAll('.cell_input').forEach(e => e.remove());
  clone.querySelectorAll('div[class*="highlight-"]').forEach(e => {
    if (!e.closest('.cell_output, .output')) e.remove();
  });
  document.body.appendChild(clone);  // innerText needs layout
  const text = clone.innerText;
  clone.remove();
  return {imgs, glued, mathTotal: mathEls.length, mathTypeset, figures, tables, hrefs,
          errs, text, title: document.title};
}
"""


def launch(playwright):  # -> playwright Browser
    """Launch Debian's chromium headless through playwright."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )


def inspect_page(
    browser, url: str, base_url: str, screenshot: Path | None = None, timeout_ms: int = 30_000
) -> PageReport:
    """Open ``url`` in a fresh context, record everything a reader would meet, return a report.

    Non-local requests are aborted (never sent) and recorded, so a page that would fetch MathJax
    or a font from a CDN fails the "offline" assertion instead of silently using the network.
    """
    report = PageReport(url=url, base_url=base_url)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        def route(route_obj) -> None:
            req_url = route_obj.request.url
            report.requests.append(req_url)
            if is_local(req_url, base_url):
                route_obj.continue_()
            else:
                route_obj.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on(
            "console",
            lambda msg: report.console_errors.append(
                f"{msg.text} @ {msg.location.get('url', '')}:{msg.location.get('lineNumber', '')}"
            )
            if msg.type == "error"
            else None,
        )
        page.on("pageerror", lambda exc: report.page_errors.append(str(exc)))
        page.on(
            "requestfailed",
            lambda req: report.failed_requests.append(f"{req.url}: {req.failure}"),
        )
        response = page.goto(url, wait_until="load", timeout=timeout_ms)
        report.status = response.status if response is not None else None
        page.wait_for_load_state("networkidle", timeout=timeout_ms)
        summary = page.evaluate(_SUMMARY_JS)
        report.final_url = page.url
        report.images = summary["imgs"]
        report.glued = summary["glued"]
        report.math_total = summary["mathTotal"]
        report.math_typeset = summary["mathTypeset"]
        report.figures = summary["figures"]
        report.tables = summary["tables"]
        report.hrefs = summary["hrefs"]
        report.error_outputs = summary["errs"]
        report.text = summary["text"]
        report.title = summary["title"]
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()
    return report


def bad_text(text: str) -> list[str]:
    """Names and snippets of every reader-visible text pattern that signals a broken output."""
    found = []
    for name, pattern in BAD_TEXT_PATTERNS.items():
        for match in pattern.finditer(text):
            lo, hi = max(0, match.start() - 40), min(len(text), match.end() + 40)
            found.append(f"{name}: …{text[lo:hi]!s}…".replace("\n", " "))
    return found
