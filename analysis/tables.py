"""Formatting of the book's tables: numbers printed as the paper prints them, the paper beside us.

Why a module: every table of the book shows "paper" and "this book" side by side with the same
number formats (a median with its range, n (%), an IRR with its 95% CI, p-values the way the paper
prints them). The functions here turn computed numbers into those strings and a pandas ``Styler``;
they compute nothing about patients.
"""

from __future__ import annotations

import math
import numbers
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd
    from pandas.io.formats.style import Styler

#: Text shown for a missing value (the paper prints unknowns as empty cells; a dash reads better).
MISSING = "–"


def _is_missing(x: Any) -> bool:
    if x is None:
        return True
    if isinstance(x, numbers.Real):
        return math.isnan(float(x))
    try:
        import pandas as pd

        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def fmt_num(x: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals (integers without decimals); missing -> en dash."""
    if _is_missing(x):
        return MISSING
    if isinstance(x, str):
        return x
    if isinstance(x, numbers.Integral):
        return f"{int(x):,}"
    return f"{float(x):,.{digits}f}"


def fmt_p(p: Any) -> str:
    """A p-value as the paper prints it: ``<0.001`` below 0.001, else three significant decimals.

    Strings (the paper's printed p, e.g. ``"<0.0001"``) pass through unchanged.
    """
    if _is_missing(p):
        return MISSING
    if isinstance(p, str):
        return p
    p = float(p)
    if p < 0.001:
        return "<0.001"
    if p < 0.01:
        return f"{p:.4f}"
    return f"{p:.3f}"


def fmt_ci(est: Any, low: Any, high: Any, digits: int = 2) -> str:
    """``0.57 (0.40–0.83)``: an estimate with its 95% confidence interval."""
    if _is_missing(est):
        return MISSING
    if _is_missing(low) or _is_missing(high):
        return fmt_num(est, digits)
    return f"{fmt_num(est, digits)} ({fmt_num(low, digits)}–{fmt_num(high, digits)})"


def fmt_median_range(median: Any, low: Any, high: Any, digits: int = 1) -> str:
    """``21.1 (1.0–60.2)``: a median with its range (minimum–maximum)."""
    return fmt_ci(median, low, high, digits)


def fmt_n_pct(n: Any, total: Any, digits: int = 0) -> str:
    """``19 (44%)``: a count with its percentage of ``total`` (the denominator)."""
    if _is_missing(n):
        return MISSING
    if _is_missing(total) or float(total) == 0:
        return f"{int(n)}"
    return f"{int(n)} ({100.0 * float(n) / float(total):.{digits}f}%)"


def fmt_pct(x: Any, digits: int = 0) -> str:
    """``44%`` from a value on the 0-100 scale."""
    if _is_missing(x):
        return MISSING
    return f"{float(x):.{digits}f}%"


@dataclass(frozen=True)
class Row:
    """One row of a paper-versus-book table.

    ``ours`` is our computed value (number or preformatted string), ``paper_ids`` the
    ``targets.yaml`` ids whose printed values form the paper's cell (``"id.field"`` reads another
    field of an entry, e.g. ``"sccs_allgrade_irr.ci_low"``), and ``fmt`` the formatter applied to
    both sides (called with the values in order; e.g. :func:`fmt_ci` with three).
    """

    label: str
    ours: Any | Sequence[Any]
    paper_ids: Sequence[str] = ()
    fmt: Callable[..., str] = fmt_num
    note: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


def _apply(fmt: Callable[..., str], values: Any) -> str:
    if isinstance(values, str):
        return values
    if isinstance(values, Sequence):
        return fmt(*values)
    return fmt(values)


def compare(rows: Iterable[Row], *, ours_label: str = "This book", paper_label: str = "Paper",
            label_header: str = "Quantity") -> pd.DataFrame:
    """Build a table with one row per :class:`Row`: label, the paper's cell, our cell, notes.

    The paper's values are read from ``targets.yaml`` through :func:`analysis.book.paper`, never
    typed. A row without ``paper_ids`` shows an empty paper cell (the paper does not print it).
    """
    import pandas as pd

    from analysis.book import paper

    records = []
    for row in rows:
        values = [paper(*t.split(".", 1)) for t in row.paper_ids]
        paper_cell = _apply(row.fmt, values) if row.paper_ids else ""
        records.append(
            {label_header: row.label, paper_label: paper_cell, ours_label: _apply(row.fmt, row.ours),
             **dict(row.extra), "Note": row.note}
        )
    out = pd.DataFrame.from_records(records)
    if not out["Note"].astype(bool).any():
        out = out.drop(columns="Note")
    return out


def style_table(
    df: pd.DataFrame,
    *,
    caption: str | None = None,
    formats: Mapping[str, str | Callable[[Any], str]] | None = None,
    index: bool = False,
    uuid: str | None = None,
) -> Styler:
    """The book's table look: formatted numbers, no index, left-aligned labels, stable HTML ids.

    Numeric columns without an explicit format get :func:`fmt_num` (integers plain, floats with
    two decimals); ``formats`` maps a column to a format spec (``"{:.1f}"``) or a callable.
    """
    import pandas as pd

    formats = dict(formats or {})
    for col in df.columns:
        if col not in formats and pd.api.types.is_numeric_dtype(df[col]):
            formats[col] = fmt_num
    styler = df.style.format(formats, na_rep=MISSING)
    if not index:
        styler = styler.hide(axis="index")
    if caption:
        styler = styler.set_caption(caption)
    # A fixed uuid keeps the HTML identical from build to build (pandas picks a random one).
    if uuid is None:
        uuid = f"t{zlib.crc32('|'.join(map(str, df.columns)).encode()):08x}"
    styler = styler.set_uuid(uuid)
    styler = styler.set_table_styles(
        [
            {"selector": "th", "props": [("text-align", "left")]},
            {"selector": "td", "props": [("text-align", "left")]},
            {"selector": "caption", "props": [("caption-side", "top"), ("font-weight", "bold")]},
        ]
    )
    return styler
