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


def test_print_rules() -> None:
    css = CSS.read_text(encoding="utf-8")
    assert "counter(page)" in css  # page numbers
    assert 'span[id^="document-"]' in css and "break-before: page" in css  # chapters
    assert ".pdf-part" in css  # parts
    assert "details.hide > summary" in css  # no "Show code cell source"


def test_chromium_writes_an_outline() -> None:
    assert "--generate-pdf-document-outline" in pdf.CHROMIUM_ARGS
