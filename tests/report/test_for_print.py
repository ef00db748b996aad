"""The single page prepared for printing (issue 21 §3), checked without a browser: part pages,
long tables cut with a pointer to the full table, and the print rules that number pages, start
chapters on new pages and hide the code toggles (``book/_static/print.css``)."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup

from analysis.report import pdf

CSS = Path(__file__).resolve().parents[2] / "book" / "_static" / "print.css"

PAGE = (
    '<span id="document-book/index"></span><section><h1>Book</h1></section>'
    '<span id="document-book/01-a"></span><section><h1>A</h1>'
    "<table><thead><tr><th>id</th><th>value</th></tr></thead><tbody>"
    + "".join(f"<tr><td>r{i}</td><td>{i}</td></tr>" for i in range(50))
    + "</tbody></table></section>"
    '<span id="document-book/t1-x"></span><section><h1>T1</h1>'
    "<table><tbody>" + "<tr><td>short</td></tr>" * 3 + "</tbody></table></section>"
)


def test_a_heading_page_before_the_first_chapter_of_each_part() -> None:
    soup = BeautifulSoup(pdf.for_print(PAGE, [("Re-analysis", "book/01-a"),
                                              ("Teaching", "book/t1-x"),
                                              ("Missing", "book/none")]), "html.parser")
    parts = soup.find_all("section", class_="pdf-part")
    assert [p.h1.get_text() for p in parts] == ["Re-analysis", "Teaching"]
    assert parts[0].find_next("span")["id"] == "document-book/01-a"
    assert parts[1].find_next("span")["id"] == "document-book/t1-x"


def test_long_tables_are_cut_and_say_where_the_rest_is() -> None:
    soup = BeautifulSoup(pdf.for_print(PAGE, [], max_rows=40), "html.parser")
    long, short = soup.find_all("table")
    rows = long.tbody.find_all("tr")
    assert [r.td.get_text() for r in rows[:20]] == [f"r{i}" for i in range(20)]
    assert len(rows) == 21  # 20 kept + the note
    assert rows[-1]["class"] == ["pdf-cut"] and rows[-1].td["colspan"] == "2"
    assert "30 more rows" in rows[-1].get_text() and "CSV" in rows[-1].get_text()
    assert len(long.thead.find_all("tr")) == 1  # the header stays
    assert len(short.find_all("tr")) == 3  # short tables are untouched


#: The single-page build's shape: jupyter-book's print-only contents list, then the root page,
#: whose table-of-contents wrappers hold every chapter (anchor + section, title an <h3>).
BOOK = (
    '<div id="jb-print-toc"><div><h2> Contents </h2></div><nav>'
    '<p aria-level="2" class="caption" role="heading">Part A</p></nav></div>'
    '<article class="bd-article"><section><h1>Book</h1><section><h2>Two commands</h2>'
    '<div class="toctree-wrapper compound">'
    '<span id="document-book/01-a"></span><section><h3>1. A</h3><section><h4>1.1. A.1</h4>'
    "<p>text</p></section></section>"
    '<span id="document-book/02-b"></span><section><span id="b"></span><h3>2. B</h3></section>'
    "</div></section></section><script>ok()</script></article>"
)


def test_chapters_leave_the_toctree_wrappers_with_their_headings_lifted() -> None:
    soup = BeautifulSoup(pdf.for_print(BOOK, [("Part A", "book/01-a")]), "html.parser")
    article = soup.find("article")
    assert not soup.find_all("div", class_="toctree-wrapper")
    top = [(c.name, c.get("id"), c.get("class")) for c in article.children]
    assert top == [("section", None, None), ("section", None, ["pdf-part"]),
                   ("span", "document-book/01-a", None), ("section", None, None),
                   ("span", "document-book/02-b", None), ("section", None, None),
                   ("script", None, None)]
    assert [h.name for h in article.find_all(["h1", "h2", "h3", "h4"])] == \
        ["h1", "h2", "h1", "h2", "h3", "h2"]  # root, its section, part, A, A.1, B
    assert article.find("h3").get_text() == "1.1. A.1"


def test_the_printed_contents_list_is_no_heading() -> None:
    """Its "Contents" and part captions would open the PDF outline, all on page one."""
    toc = BeautifulSoup(pdf.for_print(BOOK, []), "html.parser").find(id="jb-print-toc")
    assert not toc.find_all(["h1", "h2", "h3"]) and not toc.find_all(attrs={"role": "heading"})
    assert "Contents" in toc.get_text() and "Part A" in toc.get_text()


def test_print_rules() -> None:
    css = CSS.read_text(encoding="utf-8")
    assert 'class="pageNumber"' in pdf.FOOTER  # chromium fills in each page's number
    assert 'span[id^="document-"]' in css and "break-before: page" in css  # chapters
    assert ".pdf-part h1 { display: block !important" in css  # parts (the theme hides them)
    assert ".bd-article-container,\n  .bd-article, .bd-page-width { display: block" in css
    assert "details.hide > summary" in css  # no "Show code cell source"
