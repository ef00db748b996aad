"""MyST -> the Markdown Jupyter shows: one converter for the chapter downloads and the exercises.

What: a chapter's Markdown cells are MyST (``{glue:text}``, ``{doc}``, ``{numref}``, ``{cite:p}``,
fenced directives). Jupyter renders plain Markdown only, so a downloaded notebook would show the
raw markup and no numbers. :func:`convert_notebook` rewrites every Markdown cell (and every
Markdown output, e.g. the cohort banner) of an executed notebook:

* ``{glue:text}`name:fmt``` -> the value the execution glued, formatted as the page formats it;
* ``{glue:figure}`` blocks -> the glued figure, embedded as a PNG attachment of the cell, with its
  caption;
* admonitions -> block quotes with a bold title;
* ``{doc}``/``{ref}``/``{numref}`` -> the chapter (section, figure) title, linked to its page;
* ``{cite:p}``/``{cite:t}`` -> author-year, from ``book/references.bib``;
* ``{math}`` roles / ``{math}`` blocks -> ``$...$`` / ``$$...$$``; labels ``(name)=`` are dropped.

Why one module: :mod:`analysis.report.exercises` (student and solutions notebooks) and the
chapter downloads (``book/_ext/chapter_downloads.py``) must read the same way; a rule fixed here
is fixed in both.

Examples
--------
>>> ctx = Context({"rate": "0.5"})
>>> convert_markdown("Rate {glue:text}`rate:.2f` {cite:p}`lancman2026`.", ctx)
'Rate 0.50 (Lancman et al. 2026).'
"""

from __future__ import annotations

import ast
import base64
import copy
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis import PROJECT_ROOT

BOOK = PROJECT_ROOT / "book"
#: Where a converted notebook's links point: the pages of the built HTML book, relative to the
#: notebook (downloads sit in ``_build/html/_chapters/``, beside ``_build/html/book/``).
PAGES = "../book/"
#: The prefix myst-nb's ``glue`` gives the mime types of a hidden glued output.
GLUE_PREFIX = "application/papermill.record/"
#: MyST that must not reach a converted notebook (the tests scan for it).
RAW_MYST = ("{glue", "{doc}", "{numref}", "{ref}", "{cite", "```{", ":::{", ":class:")

_OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}\s*(?P<arg>.*)$")
_ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<text>[^`]*)`")
_LABEL = re.compile(r"^\((?P<label>[\w-]+)\)=\s*$", re.MULTILINE)
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)
_MD_LINK = re.compile(r"\]\((?P<page>[\w.-]+)\.md(?P<anchor>#[\w-]+)?\)")
_ADMONITIONS = ("admonition", "note", "tip", "warning", "important", "caution", "seealso",
                "attention", "hint", "danger", "error")


# ---------------------------------------------------------------------------------- the book


@dataclass(frozen=True)
class Target:
    """What a cross-reference points to: its page (file stem), anchor and title."""

    page: str
    anchor: str
    title: str


def _heading(lines: list[str], start: int) -> str | None:
    for line in lines[start:start + 3]:
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return None


def _caption(lines: list[str], start: int) -> str:
    """First sentence of the caption of the figure whose ``:name:`` line is ``lines[start]``."""
    body = []
    for line in lines[start + 1:]:
        if line.startswith(("```", ":::")):
            break
        if not line.startswith(":"):
            body.append(line)
    text = " ".join(" ".join(body).split())
    first = re.split(r"(?<=[.:])\s", text, maxsplit=1)[0].rstrip(".:")
    cut = first.split("{", 1)[0]  # a glued value of another page is not known here
    words = cut.split()
    return " ".join(words[:10]) + ("…" if len(words) > 10 or cut != first else "")


@functools.lru_cache(maxsize=4)
def book_targets(book: Path = BOOK) -> dict[str, Target]:
    """Every page (``doc:<stem>``) and label of the book's ``.md`` files, with its title.

    A label before a heading names that section; a figure's ``:name:`` names the figure (its
    caption's first sentence, prefixed ``Figure:``).
    """
    targets: dict[str, Target] = {}
    for md in sorted(book.glob("*.md")):
        lines = md.read_text(encoding="utf-8").splitlines()
        title = next((ln[2:].strip() for ln in lines if ln.startswith("# ")), md.stem)
        targets[f"doc:{md.stem}"] = Target(md.stem, "", title)
        for i, line in enumerate(lines):
            label = _LABEL.match(line)
            if label:
                heading = _heading(lines, i + 1) or title
                targets[label["label"]] = Target(md.stem, label["label"], heading)
            elif line.startswith(":name:"):
                name = line.partition(":name:")[2].strip()
                targets[name] = Target(md.stem, name, "Figure: " + _caption(lines, i))
    return targets


def _author(entry: Any) -> str:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [" ".join(p.last_names).replace("{", "").replace("}", "") for p in people]
    if not names:
        return str(entry.fields.get("organization", entry.key)).strip("{}")
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


@functools.lru_cache(maxsize=4)
def bibliography(bib: Path = BOOK / "references.bib") -> dict[str, tuple[str, str]]:
    """``key -> (authors, year)`` of every entry of the book's BibTeX file."""
    from pybtex.database import parse_file

    data = parse_file(str(bib), bib_format="bibtex")
    return {key: (_author(e), str(e.fields.get("year", "n.d."))) for key, e in data.entries.items()}


# ---------------------------------------------------------------------------------- context


@dataclass(frozen=True)
class Context:
    """What a conversion needs: the glued values (``name -> text/plain``), the glued figures
    (``name -> mimebundle``), the page the text belongs to, and where pages are linked."""

    glue: Mapping[str, str] = field(default_factory=dict)
    figures: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    page: str = ""
    pages: str = PAGES
    targets: Mapping[str, Target] | None = None

    def target(self, label: str) -> Target | None:
        return (self.targets if self.targets is not None else book_targets()).get(label)

    def url(self, target: Target) -> str:
        anchor = f"#{target.anchor}" if target.anchor else ""
        return f"{self.pages}{target.page}.html{anchor}"


# ---------------------------------------------------------------------------------- inline


def format_glue(name: str, glue: Mapping[str, str]) -> str:
    """``name[:format]`` of a ``{glue:text}`` role -> the glued value as the page shows it."""
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


def _cite(role: str, keys: str) -> str:
    bib = bibliography()
    found = [bib.get(k.strip(), (k.strip(), "")) for k in keys.split(",")]
    if role == "cite:t":
        return "; ".join(f"{a} ({y})" for a, y in found)
    return "(" + "; ".join(f"{a} {y}".strip() for a, y in found) + ")"


def _xref(role: str, text: str, ctx: Context) -> str:
    explicit = _EXPLICIT.match(text)
    label = (explicit["target"] if explicit else text).strip()
    target = ctx.target(f"doc:{label}" if role == "doc" else label)
    if target is None:
        return explicit["text"] if explicit else label
    shown = explicit["text"] if explicit and "%s" not in explicit["text"] else target.title
    if role == "doc" and not explicit:
        shown = f"*{target.title}*"
    return f"[{shown}]({ctx.url(target)})"


def _role(m: re.Match[str], ctx: Context) -> str:
    role, text = m["role"], m["text"]
    if role.startswith("glue"):
        return format_glue(text, ctx.glue)
    if role.startswith("cite"):
        return _cite(role, text)
    if role == "math":
        return f"${text}$"
    if role in ("doc", "ref", "numref"):
        return _xref(role, text, ctx)
    explicit = _EXPLICIT.match(text)
    return explicit["text"] if explicit else text


def convert_inline(text: str, ctx: Context) -> str:
    """MyST roles, labels and ``.md`` links -> plain Markdown."""
    text = _LABEL.sub("", _ROLE.sub(lambda m: _role(m, ctx), text))
    return _MD_LINK.sub(lambda m: f"]({ctx.pages}{m['page']}.html{m['anchor'] or ''})", text)


# ---------------------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Block:
    """A piece of MyST Markdown: ``kind`` is ``"text"`` or the directive's name."""

    kind: str
    title: str
    options: Mapping[str, str]
    body: str


def blocks(text: str) -> list[Block]:
    """Split Markdown into text and directives; a directive runs to the line that repeats its
    opening fence."""
    lines = text.split("\n")
    out: list[Block] = []
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
            out.append(Block("text", "", {}, "\n".join(plain)))
            plain = []
        out.append(Block(m["name"], m["arg"].strip(), options, "\n".join(body).strip("\n")))
        i = end + 1
    if plain:
        out.append(Block("text", "", {}, "\n".join(plain)))
    return out


def quote(title: str, body: str) -> str:
    """A titled block quote (what an admonition becomes)."""
    lines = [f"**{title}**", "", *body.split("\n")]
    return "\n".join(("> " + line).rstrip() for line in lines)


def _figure(block: Block, ctx: Context, attachments: dict[str, dict[str, str]]) -> str:
    name = block.title
    caption = " ".join(block.body.split())
    bundle = ctx.figures.get(name, {})
    png = bundle.get("image/png")
    if png is None:
        return f"*Figure (shown in the book): {caption}*"
    data = png if isinstance(png, str) else base64.b64encode(png).decode("ascii")
    attachments[f"{name}.png"] = {"image/png": data.replace("\n", "")}
    return f"![{name}](attachment:{name}.png)\n\n*Figure: {caption}*"


def convert_block(block: Block, ctx: Context, attachments: dict[str, dict[str, str]]) -> str:
    """One block -> plain Markdown (figures add their PNG to ``attachments``)."""
    if block.kind == "text":
        return block.body
    if block.kind in _ADMONITIONS:
        return quote(block.title or block.kind.capitalize(),
                     _convert_blocks(block.body, ctx, lambda b: True, attachments))
    if block.kind == "math":
        return f"$$\n{block.body}\n$$"
    if block.kind in ("glue:figure", "figure"):
        return _figure(block, ctx, attachments)
    if block.kind in ("tableofcontents", "bibliography"):
        return ""
    return f"```\n{block.body}\n```"


def convert_markdown(text: str, ctx: Context, *,
                     keep: Callable[[Block], bool] = lambda b: True,
                     attachments: dict[str, dict[str, str]] | None = None) -> str:
    """MyST Markdown -> Jupyter Markdown; blocks for which ``keep`` is false are left out."""
    attachments = {} if attachments is None else attachments
    return convert_inline(_convert_blocks(text, ctx, keep, attachments), ctx)


def _convert_blocks(text: str, ctx: Context, keep: Callable[[Block], bool],
                    attachments: dict[str, dict[str, str]]) -> str:
    parts = [convert_block(b, ctx, attachments) for b in blocks(text) if keep(b)]
    return "\n\n".join(p.strip("\n") for p in parts if p.strip())


# ---------------------------------------------------------------------------------- notebooks


def glued(outputs: Iterable[Mapping[str, Any]]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """``(values, figures)`` of glue records (myst-nb ``glue`` outputs): ``name -> text/plain``
    of every glued value, ``name -> mimebundle`` (prefix removed) of every glued output."""
    values: dict[str, str] = {}
    bundles: dict[str, dict[str, Any]] = {}
    for out in outputs:
        name = out.get("metadata", {}).get("scrapbook", {}).get("name")
        if not name:
            continue
        bundle = {k.removeprefix(GLUE_PREFIX): v for k, v in out.get("data", {}).items()}
        bundles[name] = bundle
        if "text/plain" in bundle:
            values[name] = bundle["text/plain"]
    return values, bundles


def context(nb: Mapping[str, Any], page: str = "", pages: str = PAGES,
            glue_records: Iterable[Mapping[str, Any]] = ()) -> Context:
    """The conversion context of an executed notebook: the glue records among its outputs (a
    kernel's run) plus ``glue_records`` (myst-nb moves them out of the notebook it writes, into
    ``<doc>.glue.json``)."""
    outputs = [o for cell in nb.get("cells", []) for o in cell.get("outputs", [])]
    values, bundles = glued([*outputs, *glue_records])
    return Context(values, bundles, page, pages)


def _source(cell: Mapping[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def convert_notebook(nb: Any, ctx: Context | None = None, *,
                     keep: Callable[[Block], bool] = lambda b: True) -> Any:
    """A copy of ``nb`` whose Markdown cells and Markdown outputs read as plain Markdown."""
    ctx = context(nb) if ctx is None else ctx
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            attachments: dict[str, dict[str, str]] = {}
            cell["source"] = convert_markdown(_source(cell), ctx, keep=keep,
                                              attachments=attachments)
            if attachments:
                cell["attachments"] = attachments
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/markdown" in data:
                md = data["text/markdown"]
                data["text/markdown"] = convert_markdown("".join(md) if isinstance(md, list)
                                                         else md, ctx)
    return nb


def raw_myst(text: str) -> list[str]:
    """The pieces of raw MyST in ``text`` (empty when it reads as plain Markdown)."""
    return [token for token in RAW_MYST if token in text]
