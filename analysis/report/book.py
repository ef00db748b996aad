"""Helpers that every chapter of the book uses: which cohort, the banner, glue, the paper's numbers.

Why a module: the chapters (``book/NN-*.md``, executed at build time with ``cwd=book/``) must
agree on which cohort they read, how they label it, how they glue numbers into prose and where
they write the CSV copy of each table. Keeping that here keeps the chapters short and the
conventions in one place.

Conventions for chapter writers (see also ``book/index.md`` and the report in the project history):

* ``from analysis import book`` then ``cohort = book.load()`` and ``book.cohort_banner(cohort)`` as
  the first output of every page that shows results.
* Numbers in prose are glued: ``book.glue_value("cohort_n_ivig", n)`` then
  ``{glue:text}`cohort_n_ivig``` (or with a format spec, ``{glue:text}`sccs_irr:.2f```). Names are
  snake_case and start with the chapter's topic (``cohort_``, ``defs_``, ``inf_``, ``sccs_``, ...).
* The paper's numbers come from ``data/paper/targets.yaml`` through :func:`paper` /
  :func:`glue_paper` (glued as ``paper_<target_id>``), never retyped.
* Tables: ``book.publish_table(df, "name", caption=...)`` as the last expression of a cell shows the
  formatted table and a link to its CSV.
* Figures: ``book.glue_figure("fig_name", fig)`` then a ``{glue:figure}`` block with a ``:name:``.

Every helper also works when a chapter's ``.py`` twin runs as a plain script
(``python book/02-cohort.py``): glued values, banners and tables are then printed to stdout.
"""

from __future__ import annotations

import functools
import numbers
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis import PROJECT_ROOT, SYNTHETIC_DIR
from analysis.paper import targets as _targets
from analysis.report.tables import fmt_p

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd
    from matplotlib.figure import Figure
    from pandas.io.formats.style import Styler

    from analysis.sccs import SCCSResults
    from analysis.study.cohort import Cohort

#: Environment variable naming the cohort folder the book reads.
COHORT_ENV = "IVIG_COHORT"
#: Default cohort (relative to the project root): the synthetic cohort shipped with the project.
#: A relative ``$IVIG_COHORT`` is relative to the working directory (:func:`cohort_path`).
DEFAULT_COHORT = "data/synthetic"
#: ``$IVIG_COHORT`` of a cohort read from an OMOP CDM through a concept mapping:
#: ``omop:PATH?concepts=MAP``. The commands that start the book convert it once into a cohort
#: folder (``analysis/cli/book_env.py``, the layer above this one and the OMOP layer).
OMOP_SCHEME = "omop:"
#: Environment variable naming where table CSVs are written (default ``_build/tables``).
TABLES_ENV = "IVIG_TABLES_DIR"
#: Default folder for the CSV copies of the book's tables, relative to the project root. It lies
#: inside ``_build/`` (git-ignored, removed by ``make clean``), never in the source tree; Sphinx
#: copies each linked CSV into the built site (``_build/html/_downloads/``) through the
#: ``{download}`` role, so the site is self-contained.
DEFAULT_TABLES_DIR = "_build/tables"
#: Label of the section of the cohort chapter that explains how the synthetic cohort was made.
SYNTHETIC_METHOD_LABEL = "synthetic-method"

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


# --------------------------------------------------------------------------------------------------
# Where am I running?
# --------------------------------------------------------------------------------------------------
def in_notebook() -> bool:
    """True when running inside a Jupyter kernel (book build, nbclient), False in a plain script.

    The book's helpers display rich output (Markdown, styled tables, glue) in a kernel and print
    plain text otherwise, so each chapter's ``.py`` twin also runs as ``python book/NN-name.py``.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the book
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


# --------------------------------------------------------------------------------------------------
# The cohort
# --------------------------------------------------------------------------------------------------
def cohort_path() -> Path:
    """The cohort folder the book reads: ``$IVIG_COHORT``, default ``data/synthetic`` (of the
    project).

    A relative ``$IVIG_COHORT`` is resolved against the current working directory, where the
    user runs the command (``IVIG_COHORT=my-cohort python 06-primary-analysis.py``). The
    commands that start kernels in ``book/`` (the book build, ``make pdf``, ``make exercises``,
    ``make lab``) first make it absolute from where they were started (:func:`absolute_cohort_env`),
    so a kernel resolves it as the user meant.
    """
    raw = os.environ.get(COHORT_ENV, "").strip()
    if not raw:
        return (PROJECT_ROOT / DEFAULT_COHORT).resolve()
    if raw.startswith(OMOP_SCHEME):
        from analysis.sccs.errors import SCCSError

        raise SCCSError(
            f"{COHORT_ENV}={raw}: an OMOP CDM is converted into a cohort folder by the commands "
            "that start the book (make book, make pdf, make exercises, make lab); to run one "
            "chapter on its own, write the cohort once with `python -m analysis omop cohort "
            f"--cdm PATH --concepts MAP --out DIR` and set {COHORT_ENV}=DIR")
    return Path(raw).expanduser().resolve()


def absolute_cohort_env() -> None:
    """Make a relative ``$IVIG_COHORT`` absolute, from the current working directory, in this
    process's environment (inherited by the kernels it starts, which run in ``book/``). An
    ``omop:`` value is left as it is (:data:`OMOP_SCHEME`)."""
    raw = os.environ.get(COHORT_ENV, "").strip()
    if raw and not raw.startswith(OMOP_SCHEME):
        os.environ[COHORT_ENV] = str(cohort_path())


@functools.lru_cache(maxsize=4)
def _load_cached(path: Path) -> Cohort:
    from analysis.study.cohort import load_cohort

    return load_cohort(path)


def load() -> Cohort:
    """Load (once per process) and return the cohort named by :func:`cohort_path`.

    Validation errors propagate: a chapter must fail loudly on an invalid cohort.
    """
    return _load_cached(cohort_path())


def is_canonical(cohort: Cohort) -> bool:
    """True when ``cohort`` is the canonical synthetic cohort (``data/synthetic``)."""
    return Path(cohort.path).resolve() == SYNTHETIC_DIR.resolve()


def _md_escape(text: str) -> str:
    """Escape Markdown/MyST syntax in user-provided text (a cohort name) so it prints literally."""
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~$:])", r"\\\1", text)


#: The truth-recovery chapter (linked from the banner once it exists in the book).
TRUTH_RECOVERY_DOC = "13-truth-recovery"
#: The reproduction audit chapter (provenance of every number).
AUDIT_DOC = "12-reproduction-audit"


def doc_link(doc: str, text: str) -> str:
    """A ``{doc}`` link to ``book/<doc>.md`` if that page exists, else ``text`` alone (so a page
    that is not written yet cannot break a strict build)."""
    if (PROJECT_ROOT / "book" / f"{doc}.md").exists():
        return f"{text} ({{doc}}`{doc}`)"
    return text


#: The chapter that runs the study on an OMOP CDM (linked from an OMOP cohort's banner).
OMOP_DOC = "14-omop"
_OMOP_KEYS = ("cdm", "cdm_sha256", "concepts", "concepts_sha256")


def omop_provenance(cohort: Cohort) -> dict[str, str] | None:
    """The CDM and mapping a cohort was extracted from (``omop`` in its ``cohort.yaml``, written
    by ``python -m analysis omop cohort``: file names and SHA-256, never full paths), or None.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> omop_provenance(SimpleNamespace(metadata={"omop": {"cdm": "x.duckdb"}})) is None
    True
    """
    meta = cohort.metadata if isinstance(cohort.metadata, Mapping) else {}
    omop = meta.get("omop")
    if not isinstance(omop, Mapping) or not all(isinstance(omop.get(k), str) and omop.get(k)
                                                for k in _OMOP_KEYS):
        return None
    return {k: str(omop[k]) for k in _OMOP_KEYS}


def banner_markdown(cohort: Cohort) -> str:
    """The MyST source of the cohort banner for ``cohort`` (see :func:`cohort_banner`).

    On a synthetic cohort it says what agreement with the paper can and cannot show: the cohort
    was calibrated to the paper, so agreement on a calibrated number shows the calibration; the
    code is checked by the R references and by the truth-recovery study.
    """
    name = _md_escape(str(cohort.name))
    if cohort.synthetic:
        origin = (
            "the project's canonical synthetic cohort"
            if is_canonical(cohort)
            else "a synthetic cohort generated by this project's simulator"
        )
        seed = cohort.metadata.get("seed") if isinstance(cohort.metadata, Mapping) else None
        seed_txt = f" (seed {int(seed)})" if isinstance(seed, numbers.Integral) else ""
        audit = doc_link(AUDIT_DOC, "the reproduction audit")
        recovery = doc_link(TRUTH_RECOVERY_DOC, "the truth-recovery study")
        body = (
            f"Every number, table and figure on this page is computed from **{name}**, "
            f"{origin}{seed_txt}: simulated patients, not the study's patients. The cohort was "
            "calibrated to the paper: agreement with the paper on a calibrated number shows "
            "that the calibration worked, not that the code is right, and no agreement here "
            f"says anything about the paper's data. {audit[0].upper()}{audit[1:]} lists which "
            "numbers were calibrated. The code is checked against the R package SCCS and by "
            f"recovering known effects from simulated cohorts in {recovery}. "
            f"How the cohort was made: {{ref}}`{SYNTHETIC_METHOD_LABEL}`."
        )
        title, cls = "Synthetic data", "warning"
    else:
        omop = omop_provenance(cohort)
        source = (
            f"read from the OMOP CDM **{_md_escape(omop['cdm'])}** (SHA-256 "
            f"`{omop['cdm_sha256'][:12]}`) through the concept mapping "
            f"**{_md_escape(omop['concepts'])}** (SHA-256 `{omop['concepts_sha256'][:12]}`), "
            f"whose concept sets and proxies decide what is counted: "
            f"{doc_link(OMOP_DOC, 'the OMOP chapter')} says what to check"
            if omop else f"read from the folder named by `{COHORT_ENV}`"
        )
        body = (
            f"Every number, table and figure on this page is computed from the cohort "
            f"**{name}** ({source}). The \"paper\" columns still show the published values for "
            "comparison."
        )
        title, cls = f"Your cohort: {name}", "important"
    return f"```{{admonition}} {title}\n:class: {cls} cohort-banner\n\n{body}\n```\n"


def banner_text(cohort: Cohort) -> str:
    """A plain-text version of the banner, for scripts."""
    if cohort.synthetic:
        return (f"[SYNTHETIC cohort: {cohort.name} — {cohort.path}; calibrated to the paper, so "
                "agreement with it shows the calibration, not that the code is right]")
    omop = omop_provenance(cohort)
    if omop:
        return (f"[cohort: {cohort.name} — from the OMOP CDM {omop['cdm']} (sha256 "
                f"{omop['cdm_sha256'][:12]}) through {omop['concepts']} (sha256 "
                f"{omop['concepts_sha256'][:12]})]")
    return f"[cohort: {cohort.name} — {cohort.path}]"


def cohort_banner(cohort: Cohort | None = None) -> Any:
    """A visible note saying which cohort the page was computed from.

    In a notebook returns an ``IPython.display.Markdown`` object (parsed as MyST by the book, see
    ``nb_render_markdown_format`` in ``_config.yml``), so ``book.cohort_banner(cohort)`` as the last
    line of a cell shows the admonition. In a plain script, prints the plain-text note and returns
    ``None``.
    """
    cohort = load() if cohort is None else cohort
    if not in_notebook():
        print(banner_text(cohort))
        return None
    from IPython.display import Markdown

    return Markdown(banner_markdown(cohort))


def markdown(text: str) -> Any:
    """Show ``text`` as MyST Markdown in a notebook (return it as the cell's last line); print it
    in a plain script (returns ``None``)."""
    if not in_notebook():
        print(text)
        return None
    from IPython.display import Markdown

    return Markdown(text)


# --------------------------------------------------------------------------------------------------
# The paper's numbers
# --------------------------------------------------------------------------------------------------
paper = _targets.paper
paper_entry = _targets.entry
paper_targets = _targets.targets


# --------------------------------------------------------------------------------------------------
# Glue
# --------------------------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """Convert numpy/pandas scalars to plain ``int``/``float``/``str``/``bool`` (glue needs them).

    A numpy scalar's ``repr`` is ``np.float64(0.57)``, which the ``{glue:text}`` role cannot format.
    Missing values (``None``, NaN, ``pd.NA``) become ``float('nan')`` so the page shows ``nan``
    rather than failing to build; chapters should avoid gluing missing values.
    """
    if value is None:
        return float("nan")
    if isinstance(value, bool):
        return value
    try:  # numpy bool
        import numpy as np

        if isinstance(value, np.bool_):
            return bool(value)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return str(value)
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return float("nan")
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"glue a number or a string, not {type(value).__name__}: {value!r}")


def _check_name(name: str) -> None:
    if not _NAME_RE.match(name):
        raise ValueError(f"glue name {name!r}: use snake_case letters, digits and underscores")


@functools.lru_cache(maxsize=8)
def _prose_uses(script: str) -> dict[str, tuple[str, str]]:
    """``name -> (format spec, label)`` of each ``{glue:text}`` in the prose of the chapter whose
    ``.py`` twin is ``script``: the label is the few words the prose puts before the value."""
    md = Path(script).with_suffix(".md")
    if not md.is_file():
        return {}
    text = re.sub(r"\s+", " ", md.read_text(encoding="utf-8"))
    uses: dict[str, tuple[str, str]] = {}
    for m in re.finditer(r"\{glue:text\}`([a-z0-9_]+):?([^`]*)`", text):
        # the words since the previous value or the sentence's start
        before = re.split(r"`|\.\s|\n", text[max(0, m.start() - 200):m.start()])[-1]
        words = re.sub(r"[*_()\[\]{}]", "", before).split()[-7:]
        uses.setdefault(m[1], (m[2], " ".join(words).strip(" ,;:")))
    return uses


def script_line(name: str, value: Any, script: str | None = None) -> str:
    """The line a chapter's ``.py`` twin prints for a glued value: the value formatted as the
    prose formats it, the words the prose puts before it, and the glue name.

    Examples
    --------
    >>> script_line("sccs_irr", 0.5734, script="no-such-chapter.py")
    'sccs_irr: 0.5734'
    >>> script_line("sccs_p", 0.0123456, script="no-such-chapter.py")
    'sccs_p: 0.01235'
    """
    spec, label = _prose_uses(script or sys.argv[0]).get(name, ("", ""))
    try:
        shown = format(value, spec or (".4g" if isinstance(value, float) else ""))
    except (TypeError, ValueError):
        shown = str(value)
    return f"{label} {shown}  [{name}]" if len(label.split()) > 1 else f"{name}: {shown}"


def glue_value(name: str, value: Any) -> None:
    """Glue a number (or short string) under ``name`` for ``{glue:text}`` in the prose.

    In a plain script prints a readable line instead (:func:`script_line`: the ``.py`` twins
    print their key results as the prose shows them). Returns ``None``, so a glue call as a
    cell's last line shows nothing.
    """
    _check_name(name)
    value = plain(value)
    if in_notebook():
        from myst_nb import glue

        glue(name, value, display=False)
    else:
        print(script_line(name, value))


def glue_values(values: Mapping[str, Any], prefix: str = "") -> None:
    """Glue several values at once, each under ``prefix + key``."""
    for key, value in values.items():
        glue_value(prefix + key, value)


def glue_paper(*target_ids: str, field: str = "value") -> None:
    """Glue the paper's values as ``paper_<target_id>`` (``paper_<target_id>_<field>`` for others).

    Use in prose as ``{glue:text}`paper_sccs_allgrade_irr:.2f```.
    """
    for tid in target_ids:
        name = f"paper_{tid}" if field == "value" else f"paper_{tid}_{field}"
        glue_value(name, paper(tid, field))


def figure_svg(fig: Figure) -> str:
    """The figure as SVG text, byte-identical from run to run.

    Why SVG: it stays sharp at any zoom, on high-density screens, projected and in the PDF.
    Determinism: a fixed ``svg.hashsalt`` (clip-path and glyph ids), no ``Date`` metadata, text as
    paths (no dependence on the reader's fonts); each text is kept as an SVG comment, so a figure's
    labels remain searchable (the privacy tests read them).
    """
    import io

    import matplotlib as mpl

    buf = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": "ivig-book", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


def figure_png(fig: Figure, dpi: int = 150) -> bytes:
    """The figure as PNG bytes, byte-identical from run to run (no ``Software`` metadata).

    Why also PNG: the page shows the SVG, but a notebook's Markdown cell embeds a figure as an
    attachment, which Jupyter renders reliably as PNG (the downloads and exercise notebooks).
    """
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


@dataclass(frozen=True, repr=False)
class _Figure:
    """A glued figure: SVG for the page (myst-nb prefers it in HTML), PNG for notebooks."""

    svg: str
    png: bytes

    def __repr__(self) -> str:  # the glued text/plain: short, not the whole SVG
        return "<figure>"

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_png_(self) -> bytes:
        return self.png


def glue_fit(prefix: str, fit: SCCSResults | None, term: str = "on_ivig") -> None:
    """Glue one SCCS term in one call: ``<prefix>irr``, ``ci_low``, ``ci_high``, ``p`` (printed as
    the paper prints p-values), ``log_irr``, ``se``, ``change_pct`` (``|100 (1 - IRR)|``),
    ``direction`` ("lower"/"higher"), ``n_cases`` and ``n_events``.

    ``fit`` is a fitted :class:`analysis.sccs.SCCS`; None (a model the cohort cannot fit, e.g. no
    cases) glues NaN estimates and zero counts, so the page still builds and says so.

    Examples
    --------
    >>> intervals = study_intervals(cohort, outcome="all", cases_only=True)  # doctest: +SKIP
    >>> fit = SCCS().fit(intervals, ["on_ivig"])  # doctest: +SKIP
    >>> glue_fit("sccs_allgrade_", fit, "on_ivig")  # doctest: +SKIP
    sccs_allgrade_irr = 0.57
    ...
    """
    nan = float("nan")
    if fit is None:
        est = {"irr": nan, "ci_low": nan, "ci_high": nan, "p": nan, "log_irr": nan, "se": nan}
        n_cases, n_events = 0, 0
    else:
        row = fit.summary.loc[term]
        est = {k: float(row[k]) for k in ("irr", "ci_low", "ci_high", "p", "log_irr", "se")}
        n_cases, n_events = int(fit.n_cases), int(fit.n_events)
    irr = est["irr"]
    glue_values({
        "irr": irr, "ci_low": est["ci_low"], "ci_high": est["ci_high"], "p": fmt_p(est["p"]),
        "log_irr": est["log_irr"], "se": est["se"], "change_pct": abs(100 * (1 - irr)),
        "direction": "lower" if irr < 1 else "higher", "n_cases": n_cases, "n_events": n_events,
    }, prefix=prefix)


def glue_figure(name: str, fig: Figure) -> None:
    """Glue a matplotlib figure, as SVG and PNG, for a ``{glue:figure}`` block and close it.

    In a plain script the figure is closed and its name printed.
    """
    _check_name(name)
    import matplotlib.pyplot as plt

    if in_notebook():
        from myst_nb import glue

        glue(name, _Figure(figure_svg(fig), figure_png(fig)), display=False)
    else:
        print(f"{name}: figure with {len(fig.axes)} axes")
    plt.close(fig)


# --------------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------------
def tables_dir(cohort: Cohort | None = None) -> Path:
    """Where :func:`publish_table` writes CSVs: ``$IVIG_TABLES_DIR`` (default ``_build/tables``),
    in a sub-folder per cohort (``<name>-<hash of its path>``).

    Why there: chapters execute during the Sphinx read phase with ``cwd=book/``; files written into
    ``book/`` would land in the version-controlled tree, and the HTML output folder is not known to
    a notebook (``--path-output`` moves it). So the CSV goes to a git-ignored build folder and the
    page links it with MyST's ``{download}`` role, which makes Sphinx copy it into
    ``<output>/html/_downloads/<hash>/<name>.csv`` at the end of the build. The per-cohort
    sub-folder keeps two builds on different cohorts (e.g. the tests) from mixing their tables.
    With a user's own cohort nothing but these aggregate tables is written, and only there.
    """
    import hashlib

    raw = os.environ.get(TABLES_ENV, "").strip() or DEFAULT_TABLES_DIR
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    source = Path(cohort.path) if cohort is not None else cohort_path()
    digest = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:8]
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", source.name).strip("-.") or "cohort"
    return (path / f"{slug}-{digest}").resolve()


#: Column names that would reveal patient-level data; :func:`publish_table` refuses them.
PATIENT_LEVEL_COLUMNS = frozenset({"patient_id", "id", "date", "dara_start", "death_date"})


@dataclass
class PublishedTable:
    """A table written as CSV and ready to show: the styled DataFrame and a link to its CSV.

    As the last expression of a notebook cell it displays the table followed by the link; in a
    script it prints the table as text.
    """

    frame: pd.DataFrame
    styler: Styler
    csv_path: Path
    name: str

    @property
    def link_markdown(self) -> str:
        """MyST source of the download link (relative to ``book/``, where chapters live)."""
        rel = os.path.relpath(self.csv_path, PROJECT_ROOT / "book")
        return f"{{download}}`Download this table as CSV ({self.csv_path.name}) <{rel}>`"

    def _ipython_display_(self) -> None:
        from IPython.display import Markdown, display

        display(self.styler)
        display(Markdown(self.link_markdown))

    def __repr__(self) -> str:
        return f"{self.name} ({self.csv_path}):\n{self.frame.to_string(index=False)}"


def publish_table(
    df: pd.DataFrame,
    name: str,
    *,
    caption: str | None = None,
    formats: Mapping[str, str] | None = None,
    index: bool = False,
) -> PublishedTable:
    """Write ``df`` as ``<tables_dir>/<name>.csv`` and return it formatted for the page.

    ``df`` must hold aggregates only (counts, rates, estimates): columns that look patient-level
    (``patient_id``, dates of individuals) are refused. Numbers are formatted with
    :func:`analysis.report.tables.style_table` (``formats`` maps column -> format spec); the paper's
    column(s) should sit beside ours (build them with :func:`analysis.report.tables.compare`).
    """
    from analysis.report.tables import style_table

    _check_name(name)
    leaked = sorted(PATIENT_LEVEL_COLUMNS & {str(c).lower() for c in df.columns})
    if leaked:
        raise ValueError(
            f"table {name!r} has patient-level columns {leaked}; publish aggregates only"
        )
    out_dir = tables_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"{name}.csv"
    df.to_csv(csv_path, index=index, lineterminator="\n")
    styler = style_table(df, caption=caption, formats=formats, index=index, uuid=name)
    table = PublishedTable(frame=df, styler=styler, csv_path=csv_path, name=name)
    if not in_notebook():
        print(repr(table))
    return table
