"""The book's figures, with one look: the paper's Figure 1 (forest) and Figure 2 (swimmer), one
patient's timeline for the Definitions chapter, and Kaplan-Meier curves.

Why a module: every chapter draws with the same palette (Okabe-Ito, safe for colour-blind readers),
the same fonts and the same meaning of each colour (on IVIG is always blue, observation grey, the
reference group green, pre-exposure orange, progression purple, infections by grade). The functions
take plain tidy DataFrames (columns documented on each) and return a ``matplotlib.figure.Figure``;
they compute nothing clinical -- the day rules live in :mod:`analysis.study`.

Privacy: figures never print a patient's id or calendar dates. The swimmer plot relabels patients
``1..n`` and the timeline shows days since the first daratumumab dose.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: What each colour means, the same in every figure of the book.
COLORS: dict[str, str] = {
    "on_ivig": OKABE_ITO["blue"],
    "observation": "#9E9E9E",
    "reference": OKABE_ITO["bluish_green"],
    "pre_ivig": OKABE_ITO["orange"],
    "progression": OKABE_ITO["reddish_purple"],
    "grade_low": OKABE_ITO["sky_blue"],
    "grade_high": OKABE_ITO["vermillion"],
    "grade_fatal": OKABE_ITO["black"],
    "igg": OKABE_ITO["black"],
    "season": "#EDEDED",
    "estimate": OKABE_ITO["black"],
}
#: Markers of infections by CTCAE grade band.
GRADE_BANDS: tuple[tuple[str, int, int, str, str], ...] = (
    # label, lowest grade, highest grade, marker, colour key
    ("Grade 1-2", 1, 2, "o", "grade_low"),
    ("Grade 3-4", 3, 4, "^", "grade_high"),
    ("Grade 5", 5, 5, "D", "grade_fatal"),  # not X: the swimmer plot marks death with X
)
#: Width of a figure that spans the page (inches): at ``figure.dpi`` 110 about the width of the
#: book's text column, so fonts show at their nominal size.
PAGE_WIDTH = 6.4

#: The book's matplotlib settings (used by :func:`style`).
RC: dict[str, Any] = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "figure.facecolor": "white",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "svg.hashsalt": "ivig-book",
    "path.simplify": True,
}
#: Colour cycle for lines without a fixed meaning (Okabe-Ito order).
CYCLE: tuple[str, ...] = tuple(
    OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "vermillion", "reddish_purple",
                           "sky_blue", "yellow", "black")
)


def _study():
    """The study module, imported on first use (keeps ``import analysis.report.figures`` cheap);
    figure
    labels that name a design constant read it from there, never a typed number."""
    from analysis import study

    return study


def _rc() -> dict[str, Any]:
    from cycler import cycler

    return {**RC, "axes.prop_cycle": cycler(color=list(CYCLE))}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context manager applying the book's look (:data:`RC`) to figures created inside it."""
    import matplotlib as mpl

    with mpl.rc_context(_rc()):
        yield


def apply_style() -> None:
    """Apply the book's look globally (chapters may call this once instead of :func:`style`)."""
    import matplotlib as mpl

    mpl.rcParams.update(_rc())


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _as_day(values: Any) -> np.ndarray:
    """Dates (datetime64, Timestamps) or integer day numbers -> float day numbers (NaN: missing).

    Dates go through the study's one day rule (:func:`analysis.study.to_day`)."""
    import pandas as pd

    from analysis.study import to_day

    s = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(s):
        missing = s.isna().to_numpy()
        out = np.full(len(s), np.nan)
        out[~missing] = to_day(s[~missing])
        return out
    return pd.to_numeric(s, errors="raise").to_numpy(dtype=float, na_value=np.nan)


def _log_ticks(ax: Axes, ticks: Sequence[float]) -> None:
    """Major ticks of a log x axis at ``ticks``, labelled plainly ("0.5", "2"), no minor labels."""
    from matplotlib.ticker import FixedLocator, NullFormatter

    ax.xaxis.set_major_locator(FixedLocator(list(ticks)))
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; has {list(df.columns)}")


def _grade_band(grades: np.ndarray) -> np.ndarray:
    """Index into :data:`GRADE_BANDS` for each grade (-1 when unknown)."""
    out = np.full(len(grades), -1)
    for i, (_, lo, hi, _, _) in enumerate(GRADE_BANDS):
        out[(grades >= lo) & (grades <= hi)] = i
    return out


def _grade_scatter(ax: Axes, x: np.ndarray, y: np.ndarray, grades: np.ndarray, size: float = 28,
                   gid: str = "infections", edgecolor: str = "white") -> None:
    """Infection markers, one scatter per grade band present, with legend labels (``edgecolor``:
    the markers' outline; black where they sit on dark bars)."""
    band = _grade_band(np.asarray(grades, dtype=float))
    for i, (label, _, _, marker, ckey) in enumerate(GRADE_BANDS):
        sel = band == i
        if sel.any():
            ax.scatter(x[sel], y[sel], s=size, marker=marker, color=COLORS[ckey],
                       edgecolor=edgecolor, linewidth=0.6, zorder=4, label=f"Infection, {label}",
                       gid=f"{gid}-{i}")


def flag_runs(intervals: pd.DataFrame, column: str, *, id_col: str = "id") -> pd.DataFrame:
    """Contiguous runs of days where ``intervals[column]`` is non-zero, per individual.

    ``intervals`` has columns ``id_col``, ``start``, ``end`` (inclusive day numbers, sorted by id
    and start, as :func:`analysis.study.study_intervals` returns them). Adjacent rows (``end + 1 ==
    next start``) that are both flagged join into one run. Returns ``id, start, end`` -- e.g. the
    on-IVIG windows to shade in a figure.
    """
    import pandas as pd

    _require(intervals, [id_col, "start", "end", column], "flag_runs intervals")
    iv = intervals[intervals[column].to_numpy() != 0]
    if iv.empty:
        return pd.DataFrame({"id": [], "start": [], "end": []}).astype(
            {"id": object, "start": "int64", "end": "int64"})
    ids = iv[id_col].astype(str).to_numpy()
    start = iv["start"].to_numpy("int64")
    end = iv["end"].to_numpy("int64")
    new_run = np.ones(len(iv), dtype=bool)
    new_run[1:] = (ids[1:] != ids[:-1]) | (start[1:] != end[:-1] + 1)
    run = np.cumsum(new_run) - 1
    out = pd.DataFrame({"id": ids, "start": start, "end": end, "run": run})
    out = out.groupby("run", sort=True).agg(id=("id", "first"), start=("start", "min"),
                                            end=("end", "max"))
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# Figure 1: forest plot
# --------------------------------------------------------------------------------------------------
#: Forest plot column widths in inches: labels, each rate column, the forest, the IRR text.
_FOREST_WIDTHS = {"label": 1.25, "rate": 0.78, "forest": 2.1, "irr": 1.35}
#: Candidate ticks of the forest's log axis, and the subset kept on a wide axis.
_FOREST_TICKS = (0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50)
_FOREST_TICKS_WIDE = (0.02, 0.1, 0.5, 1, 2, 10, 50)


def forest_plot(
    results: pd.DataFrame,
    reference_rates: pd.DataFrame | None = None,
    *,
    title: str | None = None,
    xlabel: str = "Incidence rate ratio, on IVIG vs observation (log scale)",
) -> Figure:
    """The paper's Figure 1: IRRs (95% CI) on a log axis, with each category's rates beside it.

    ``results``: one row per infection category, drawn top to bottom in order, with columns
    ``label``, ``irr``, ``ci_low``, ``ci_high`` and optionally ``rate_on`` and ``rate_off``
    (infections per patient-year on IVIG / in observation among IVIG patients). A non-finite IRR is
    listed as "not estimable" without a point.

    ``reference_rates``: optional, columns ``label`` and ``rate`` (infections per patient-year in
    the reference group, matched to ``results`` by label): shown for context only -- the reference
    group is not compared statistically, as in the paper.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"label": ["All"], "irr": [0.57], "ci_low": [0.4], "ci_high": [0.83]})
    >>> fig = forest_plot(rows)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    _require(results, ["label", "irr", "ci_low", "ci_high"], "forest_plot results")
    n = len(results)
    if n == 0:
        raise ValueError("forest_plot: no rows to draw")
    irr = results["irr"].to_numpy(float)
    lo = results["ci_low"].to_numpy(float)
    hi = results["ci_high"].to_numpy(float)
    y = np.arange(n)[::-1].astype(float)
    ok = np.isfinite(irr) & (irr > 0)
    columns = _forest_rate_columns(results, reference_rates)
    with style():
        fig, ax_t, ax, ax_r, widths = _forest_axes(plt, n, len(columns))
        header_y = n - 0.3 + 0.05
        _forest_labels(ax_t, results["label"].astype(str), y, columns, widths[0], header_y)
        _forest_estimates(ax, irr, lo, hi, y, ok)
        _forest_log_axis(ax, np.concatenate([lo[ok], hi[ok], irr[ok], [1.0]]), xlabel)
        _forest_irr_text(ax_r, irr, lo, hi, y, ok, header_y)
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
    return fig


def _forest_rate_columns(results: pd.DataFrame, reference_rates: pd.DataFrame | None
                         ) -> list[tuple[str, np.ndarray, str]]:
    """(header, rates per row, colour) of each rate column beside the forest."""
    columns: list[tuple[str, np.ndarray, str]] = []
    if "rate_on" in results:
        columns.append(("On IVIG", results["rate_on"].to_numpy(float), COLORS["on_ivig"]))
    if "rate_off" in results:
        columns.append(("Observation", results["rate_off"].to_numpy(float), "#555555"))
    if reference_rates is not None:
        _require(reference_rates, ["label", "rate"], "forest_plot reference_rates")
        ref = reference_rates.set_index("label")["rate"]
        columns.append(("Reference", results["label"].map(ref).to_numpy(float),
                        COLORS["reference"]))
    return columns


def _forest_axes(plt: Any, n: int, n_rates: int) -> tuple[Any, Any, Any, Any, list[float]]:
    """Figure with three panels sharing the rows: labels and rates, forest, IRR text."""
    w = _FOREST_WIDTHS
    widths = [w["label"] + w["rate"] * n_rates, w["forest"], w["irr"]]
    fig = plt.figure(figsize=(sum(widths) + 0.2, 1.3 + 0.38 * n), layout="constrained")
    gs = fig.add_gridspec(1, 3, width_ratios=widths, wspace=0.0)
    ax_t = fig.add_subplot(gs[0])
    ax = fig.add_subplot(gs[1], sharey=ax_t)
    ax_r = fig.add_subplot(gs[2], sharey=ax_t)
    for a in (ax_t, ax_r):
        a.axis("off")
    ax.set_ylim(-0.7, n - 0.3)
    return fig, ax_t, ax, ax_r, widths


def _forest_labels(ax_t: Any, labels: pd.Series, y: np.ndarray,
                   columns: list[tuple[str, np.ndarray, str]], panel_width: float,
                   header_y: float) -> None:
    """Left panel: category labels and the rate columns with their headers."""
    import matplotlib.transforms as mtransforms

    tt = mtransforms.blended_transform_factory(ax_t.transAxes, ax_t.transData)
    ax_t.text(0.0, header_y, "Infections", transform=tt, fontweight="bold", va="bottom")
    for label, yy in zip(labels, y, strict=True):
        ax_t.text(0.0, yy, label, transform=tt, va="center")
    if not columns:
        return
    label_w, rate_w = _FOREST_WIDTHS["label"], _FOREST_WIDTHS["rate"]
    centres = [(label_w + (j + 0.5) * rate_w) / panel_width for j in range(len(columns))]
    ax_t.text((centres[0] + centres[-1]) / 2, header_y + 0.55, "Rate per patient-year",
              transform=tt, fontsize=8.5, color="#333333", va="bottom", ha="center")
    for xx, (name, vals, colr) in zip(centres, columns, strict=True):
        ax_t.text(xx, header_y, name, transform=tt, ha="center", va="bottom",
                  fontweight="bold", color=colr, fontsize=8)
        for v, yy in zip(vals, y, strict=True):
            ax_t.text(xx, yy, "–" if not np.isfinite(v) else f"{v:.2f}", transform=tt,
                      ha="center", va="center", color=colr)


def _forest_estimates(ax: Any, irr: np.ndarray, lo: np.ndarray, hi: np.ndarray, y: np.ndarray,
                      ok: np.ndarray) -> None:
    """Middle panel: the null line, the confidence intervals and the point estimates."""
    from matplotlib.collections import LineCollection

    ax.axvline(1.0, color="#555555", linewidth=0.8, linestyle="--", zorder=1)
    seg = [((a, yy), (b, yy)) for a, b, yy in zip(lo[ok], hi[ok], y[ok], strict=True)
           if np.isfinite(a) and np.isfinite(b)]
    ax.add_collection(LineCollection(seg, colors=COLORS["estimate"], linewidths=1.4,
                                     zorder=2, gid="ci"))
    ax.scatter(irr[ok], y[ok], marker="s", s=36, color=COLORS["on_ivig"], zorder=3,
               gid="irr", label="IRR (95% CI)")


def _forest_log_axis(ax: Any, values: np.ndarray, xlabel: str) -> None:
    """The forest's log axis: limits around the finite values (cut at 0.02 and 50), ticks,
    label and the direction hints."""
    ax.set_xscale("log")
    finite = values[np.isfinite(values) & (values > 0)]
    xmin, xmax = finite.min() / 1.4, finite.max() * 1.4
    # wide intervals of sparse categories are cut at the axis (0.02 to 50)
    xmin, xmax = max(min(xmin, 0.5), 0.02), min(max(xmax, 2.0), 50.0)
    ax.set_xlim(xmin, xmax)
    ticks = [t for t in _FOREST_TICKS if xmin <= t <= xmax]
    if len(ticks) > 7:  # a wide axis: fewer labels
        ticks = [t for t in ticks if t in _FOREST_TICKS_WIDE]
    _log_ticks(ax, ticks)
    ax.tick_params(axis="y", left=False, labelleft=False)
    ax.spines["left"].set_visible(False)
    ax.set_xlabel(xlabel)
    ax.text(0.0, 1.0, "← fewer on IVIG", transform=ax.transAxes, ha="left", va="bottom",
            fontsize=8.5, color="#333333")
    ax.text(1.0, 1.0, "more on IVIG →", transform=ax.transAxes, ha="right", va="bottom",
            fontsize=8.5, color="#333333")


def _forest_irr_text(ax_r: Any, irr: np.ndarray, lo: np.ndarray, hi: np.ndarray, y: np.ndarray,
                     ok: np.ndarray, header_y: float) -> None:
    """Right panel: each row's IRR (95% CI) as text, or why there is none."""
    import matplotlib.transforms as mtransforms

    tr = mtransforms.blended_transform_factory(ax_r.transAxes, ax_r.transData)
    ax_r.text(0.05, header_y, "IRR (95% CI)", transform=tr, fontweight="bold", va="bottom")
    for e, a, b, yy, good in zip(irr, lo, hi, y, ok, strict=True):
        txt = ("not estimable" if not good else f"{e:.2f} ({a:.2f}–{b:.2f})"
               if np.isfinite(a) and np.isfinite(b) else f"{e:.2f} (no CI)")
        ax_r.text(0.05, yy, txt, transform=tr, va="center")


# --------------------------------------------------------------------------------------------------
# Figure 2: swimmer plot
# --------------------------------------------------------------------------------------------------
def swimmer_plot(
    spans: pd.DataFrame,
    on_ivig: pd.DataFrame,
    events: pd.DataFrame,
    *,
    title: str | None = None,
) -> Figure:
    """The paper's Figure 2: each IVIG patient's time on daratumumab, IVIG periods shaded,
    infections marked by grade.

    ``spans``: one row per patient, columns ``patient_id``, ``start``, ``end`` (the observation
    period; dates or integer day numbers, both ends inclusive). ``on_ivig``: ``patient_id``,
    ``start``, ``end`` (on-IVIG windows, already merged and clipped). ``events``: ``patient_id``,
    ``day`` (or ``date``), ``grade``. Time is shown in months since each patient's ``start``;
    patients are ordered by length of follow-up (longest at the top) and labelled ``1..n`` --
    never by their ids. An optional ``spans`` column ``end_reason`` (as in
    :func:`analysis.study.observation_periods`) marks observation that ends at ``"death"`` or
    ``"last contact"`` before ``dara_last + 30`` with a symbol at the end of the bar.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from analysis.study import DAYS_PER_MONTH

    _require(spans, ["patient_id", "start", "end"], "swimmer_plot spans")
    _require(on_ivig, ["patient_id", "start", "end"], "swimmer_plot on_ivig")
    day_col = "day" if "day" in events.columns else "date"
    _require(events, ["patient_id", day_col, "grade"], "swimmer_plot events")
    if spans["patient_id"].duplicated().any():
        raise ValueError("swimmer_plot spans: one row per patient expected")

    s_start = _as_day(spans["start"])
    s_end = _as_day(spans["end"])
    length = s_end - s_start + 1
    order = np.lexsort((spans["patient_id"].astype(str).to_numpy(), length))  # shortest first
    n = len(spans)
    row_of = dict(zip(spans["patient_id"].astype(str).to_numpy()[order], np.arange(n),
                      strict=True))
    start_of = dict(zip(spans["patient_id"].astype(str), s_start, strict=True))

    def rel(df: pd.DataFrame, col: str) -> tuple[np.ndarray, np.ndarray]:
        ids = df["patient_id"].astype(str)
        keep = ids.isin(row_of).to_numpy()
        rows = ids[keep].map(row_of).to_numpy(dtype=float)
        months = (_as_day(df[col])[keep] - ids[keep].map(start_of).to_numpy(float)) / DAYS_PER_MONTH
        return rows, months

    with style():
        # rows tall enough for 8-point labels at the page's width; markers outlined in black so
        # the light grade 1-2 dots stand out on the dark on-IVIG bars
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 1.4 + 0.2 * n), layout="constrained")
        ax.barh(np.arange(n), length[order] / DAYS_PER_MONTH, left=0.0, height=0.62,
                color=COLORS["observation"], alpha=0.45, linewidth=0, gid="observation")
        r, m0 = rel(on_ivig, "start")
        _, m1 = rel(on_ivig, "end")
        ax.barh(r, m1 - m0 + 1.0 / DAYS_PER_MONTH, left=m0, height=0.62,
                color=COLORS["on_ivig"], linewidth=0, gid="on_ivig")
        er, em = rel(events, day_col)
        grades = events.loc[events["patient_id"].astype(str).isin(row_of), "grade"]
        _grade_scatter(ax, em, er, grades.to_numpy(dtype=float, na_value=np.nan), size=30,
                       edgecolor="black")
        stops = _observation_stops(ax, spans, order, length)
        ax.set_yticks(np.arange(n))
        ax.set_yticklabels([str(n - i) for i in range(n)], fontsize=8)
        ax.set_ylim(-0.8, n - 0.2)
        ax.set_xlim(left=0)
        ax.set_xlabel("Months since first daratumumab dose")
        ax.set_ylabel("Patient (pseudonymous number, by follow-up)")
        handles = [
            Patch(color=COLORS["observation"], alpha=0.45, label="Observation (off IVIG)"),
            Patch(color=COLORS["on_ivig"],
                  label=f"On IVIG ({_study().ON_IVIG_DAYS} days from each dose)"),
        ] + [
            Line2D([], [], marker=mk, linestyle="", color=COLORS[ck], markeredgecolor="black",
                   markeredgewidth=0.6, markersize=7, label=f"Infection, {lab.lower()}")
            for lab, _, _, mk, ck in GRADE_BANDS
        ] + stops
        ax.legend(handles=handles, loc="lower right", ncols=1)
        if title:
            ax.set_title(title)
    return fig


# --------------------------------------------------------------------------------------------------
# One patient's timeline (Definitions chapter)
# --------------------------------------------------------------------------------------------------
def _fall_winter_spans(
    first: float, last: float, months: Sequence[int]
) -> list[tuple[float, float]]:
    """Day-number spans (inclusive) of fall/winter months between ``first`` and ``last``."""
    import pandas as pd

    days = pd.date_range(pd.Timestamp(int(first), unit="D"), pd.Timestamp(int(last), unit="D"))
    flag = np.isin(days.month, list(months))
    spans = []
    if flag.any():
        d = np.diff(np.concatenate([[0], flag.astype(int), [0]]))
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1
        base = int(first)
        spans = [(base + s, base + e) for s, e in zip(starts, ends, strict=True)]
    return spans


#: Symbols of the early ends of observation in :func:`swimmer_plot`: reason -> (marker, label).
_STOP_MARKERS: dict[str, tuple[str, str]] = {
    "death": ("X", "Observation ends at death"),
    "last contact": ("|", "Observation ends at last contact"),
}


def _observation_stops(ax: Any, spans: pd.DataFrame, order: np.ndarray, length: np.ndarray
                       ) -> list[Any]:
    """Mark bars that end at death or last contact; return legend handles (none if no such end,
    so a cohort without early ends draws exactly the paper's figure)."""
    from matplotlib.lines import Line2D

    from analysis.study import DAYS_PER_MONTH

    if "end_reason" not in spans:
        return []
    reason = spans["end_reason"].astype(str).to_numpy()[order]
    handles = []
    for key, (marker, label) in _STOP_MARKERS.items():
        rows = np.flatnonzero(reason == key)
        if rows.size:
            ax.plot(length[order][rows] / DAYS_PER_MONTH, rows, marker=marker, linestyle="",
                    color="#222222", markersize=6, zorder=4, gid=f"stop_{key.replace(' ', '_')}")
            handles.append(Line2D([], [], marker=marker, linestyle="", color="#222222",
                                  markersize=6, label=label))
    return handles


def timeline_plot(
    *,
    observation: tuple[Any, Any],
    on_ivig: pd.DataFrame,
    ivig_doses: Sequence[Any] = (),
    pre_windows: pd.DataFrame | None = None,
    igg: pd.DataFrame | None = None,
    progression: pd.DataFrame | None = None,
    infections: pd.DataFrame | None = None,
    hgg_thresholds: Sequence[float] = (700, 400, 200),
    fall_winter_months: Sequence[int] = (10, 11, 12, 1, 2, 3),
    title: str | None = None,
) -> Figure:
    """One patient's observation drawn with every definition of the study.

    All times are dates or integer day numbers; the figure shows days since ``observation[0]``.

    - ``observation``: ``(start, end)``, both inclusive.
    - ``on_ivig``: columns ``start``, ``end`` (on-IVIG windows, merged and clipped).
    - ``ivig_doses``: administration dates (ticks on the IVIG lane).
    - ``pre_windows``: columns ``window`` (days, e.g. 30, 60), ``start``, ``end``.
    - ``igg``: columns ``date`` (or ``day``) and ``igg`` (functional IgG, mg/dL), the step function
      "latest measurement on or before the day" is drawn with the measurements as dots.
    - ``progression``: columns ``start``, ``end`` (progression windows).
    - ``infections``: columns ``date`` (or ``day``) and ``grade``.
    - ``hgg_thresholds``: IgG cut-offs drawn as bands (any, moderate, severe HGG).
    - ``fall_winter_months``: shaded in both panels.
    """
    import matplotlib.pyplot as plt

    o0, o1 = (_as_day([observation[0]])[0], _as_day([observation[1]])[0])
    with style():
        fig, (ax_igg, ax) = plt.subplots(
            2, 1, figsize=(PAGE_WIDTH, 5.2), sharex=True, layout="constrained",
            height_ratios=[1.2, 1.0],
        )
        for a in (ax_igg, ax):
            for s, e in _fall_winter_spans(o0, o1, fall_winter_months):
                a.axvspan(s - o0, e - o0 + 1, color=COLORS["season"], zorder=0, linewidth=0)
        _igg_panel(ax_igg, igg, hgg_thresholds, o0, o1)
        lanes = _timeline_lanes()
        ypos = {k: len(lanes) - 1 - i for i, k in enumerate(lanes)}
        _exposure_lanes(ax, ypos, o0, o1, on_ivig, ivig_doses)
        _pre_window_lane(ax, ypos["Pre-IVIG windows"], o0, pre_windows)
        _event_lanes(ax, ypos, o0, progression, infections)
        _timeline_axis(ax, lanes, ypos, o0, o1)
        if title:  # wrapped to the axes' width, so a long title does not shrink the plot
            import textwrap

            ax_igg.set_title(textwrap.fill(title, 55))
    return fig


#: Height of a lane's bar in :func:`timeline_plot` (lanes are 1 apart).
_LANE_HEIGHT = 0.5


def _timeline_lanes() -> list[str]:
    """The lanes of :func:`timeline_plot`, top to bottom."""
    return ["Observation", "On IVIG", "Pre-IVIG windows",
            f"Progression (+{_study().PROGRESSION_DAYS} d)", "Infections"]


def _igg_panel(ax: Any, igg: pd.DataFrame | None, hgg_thresholds: Sequence[float], o0: int,
               o1: int) -> None:
    """Top panel: HGG bands and the functional IgG step function with its measurements."""
    th = sorted(float(t) for t in hgg_thresholds)
    band_colors = ["#F4CCCC", "#FBE3D6", "#FDF3E7"]
    ymax = 1.15 * max([th[-1] * 1.3] + ([float(igg["igg"].max())] if igg is not None
                                          and len(igg) else []))
    lower = 0.0
    names = ["severe HGG", "moderate HGG", "HGG"]
    for t, colr, nm in zip(th, band_colors, names, strict=False):
        ax.axhspan(lower, t, color=colr, zorder=0.5, linewidth=0)
        ax.text(0.995, (lower + t) / 2, f"{nm} (<{t:g})", transform=ax.get_yaxis_transform(),
                va="center", ha="right", fontsize=8, color="#555555", zorder=5,
                bbox={"facecolor": colr, "edgecolor": "none", "alpha": 0.85, "pad": 1.0})
        lower = t
    if igg is not None and len(igg):
        dcol = "day" if "day" in igg.columns else "date"
        x = _as_day(igg[dcol]) - o0
        v = igg["igg"].to_numpy(float)
        srt = np.argsort(x, kind="stable")
        x, v = x[srt], v[srt]
        xs = np.concatenate([x, [o1 - o0 + 1]])
        vs = np.concatenate([v, [v[-1]]])
        ax.step(xs, vs, where="post", color=COLORS["igg"], linewidth=1.2, zorder=3,
                label="Functional IgG (step: latest value)")
        ax.plot(x, v, "o", color=COLORS["igg"], markersize=3.5, zorder=4)
    ax.set_ylim(0, ymax)
    ax.set_ylabel("Functional IgG (mg/dL)")
    ax.legend(loc="upper left")


def _exposure_lanes(ax: Any, ypos: dict[str, int], o0: int, o1: int, on_ivig: pd.DataFrame,
                    ivig_doses: Sequence[Any]) -> None:
    """The observation bar, the on-IVIG windows and a tick for each IVIG dose."""
    h = _LANE_HEIGHT
    ax.broken_barh([(0, o1 - o0 + 1)], (ypos["Observation"] - h / 2, h),
                   color=COLORS["observation"], alpha=0.5)
    if len(on_ivig):
        s, e = _as_day(on_ivig["start"]) - o0, _as_day(on_ivig["end"]) - o0
        ax.broken_barh(list(zip(s, e - s + 1, strict=True)), (ypos["On IVIG"] - h / 2, h),
                       color=COLORS["on_ivig"])
    if len(ivig_doses):
        ax.plot(_as_day(list(ivig_doses)) - o0,
                np.full(len(ivig_doses), ypos["On IVIG"] + h / 2 + 0.12),
                "v", color=COLORS["on_ivig"], markersize=4, label="IVIG dose")


def _pre_window_lane(ax: Any, y: int, o0: int, pre_windows: pd.DataFrame | None) -> None:
    """The pre-IVIG windows, longest first, each labelled with its length."""
    if pre_windows is None or not len(pre_windows):
        return
    h = _LANE_HEIGHT
    pw = pre_windows.sort_values("window", ascending=False)
    for k, (_, row) in enumerate(pw.iterrows()):  # at most a few windows
        s, e = _as_day([row["start"]])[0] - o0, _as_day([row["end"]])[0] - o0
        ax.broken_barh([(s, e - s + 1)], (y - h / 2, h), color=COLORS["pre_ivig"],
                       alpha=0.45 + 0.3 * k)
        above = k % 2 == 0  # alternate above/below: nested windows start close together
        ax.text(s, y + (h / 2 + 0.05) * (1 if above else -1), f"{int(row['window'])} d",
                fontsize=7.5, va="bottom" if above else "top", ha="left", color="#444444")


def _event_lanes(ax: Any, ypos: dict[str, int], o0: int, progression: pd.DataFrame | None,
                 infections: pd.DataFrame | None) -> None:
    """The progression windows and the infections, marked by grade."""
    h = _LANE_HEIGHT
    prog_lane = _timeline_lanes()[3]
    if progression is not None and len(progression):
        s, e = _as_day(progression["start"]) - o0, _as_day(progression["end"]) - o0
        ax.broken_barh(list(zip(s, e - s + 1, strict=True)),
                       (ypos[prog_lane] - h / 2, h), color=COLORS["progression"])
    if infections is not None and len(infections):
        dcol = "day" if "day" in infections.columns else "date"
        x = _as_day(infections[dcol]) - o0
        _grade_scatter(ax, x, np.full(len(x), float(ypos["Infections"])),
                       infections["grade"].to_numpy(dtype=float, na_value=np.nan), size=40)


def _timeline_axis(ax: Any, lanes: list[str], ypos: dict[str, int], o0: int, o1: int) -> None:
    """Lane labels, limits, the day axis and the legend below the lanes."""
    from matplotlib.patches import Patch

    ax.set_yticks([ypos[k] for k in lanes])
    ax.set_yticklabels(lanes)
    ax.set_ylim(-0.7, len(lanes) - 0.3)
    ax.set_xlim(-0.02 * (o1 - o0), (o1 - o0 + 1) * 1.01)
    ax.set_xlabel("Days since first daratumumab dose")
    handles, _ = ax.get_legend_handles_labels()
    handles.append(Patch(color=COLORS["season"], label="Fall/winter (Oct-Mar)"))
    # two columns: four would make the legend wider than the axes and shrink the plot
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncols=2)


# --------------------------------------------------------------------------------------------------
# Kaplan-Meier curves
# --------------------------------------------------------------------------------------------------
def km_plot(
    curves: pd.DataFrame,
    *,
    time: str = "time_months",
    strata_labels: Mapping[str, str] | None = None,
    xlabel: str = "Months since first daratumumab dose",
    ylabel: str = "Probability of not yet having received IVIG",
    title: str | None = None,
    colors: Mapping[str, str] | None = None,
) -> Figure:
    """Kaplan-Meier step curves with 95% confidence bands, one per stratum.

    ``curves``: long table with columns ``stratum``, ``<time>``, ``survival`` and optionally
    ``ci_low``, ``ci_high`` and ``at_risk`` (the output of :func:`analysis.study.cox.kaplan_meier`).
    """
    import matplotlib.pyplot as plt

    _require(curves, ["stratum", time, "survival"], "km_plot curves")
    strata = list(dict.fromkeys(curves["stratum"].astype(str)))
    palette = [OKABE_ITO[k] for k in ("blue", "bluish_green", "orange", "vermillion",
                                      "reddish_purple", "sky_blue", "black")]
    with style():
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH * 0.8, 4.0), layout="constrained")
        for i, st in enumerate(strata):
            sub = curves[curves["stratum"].astype(str) == st].sort_values(time, kind="stable")
            colr = (colors or {}).get(st, palette[i % len(palette)])
            label = (strata_labels or {}).get(st, st)
            if "at_risk" in sub.columns and len(sub):
                label = f"{label} (n={int(sub['at_risk'].iloc[0])})"
            t = sub[time].to_numpy(float)
            ax.step(t, sub["survival"].to_numpy(float), where="post", color=colr, label=label,
                    linewidth=1.6, gid=f"km-{i}")
            if {"ci_low", "ci_high"} <= set(sub.columns):
                ax.fill_between(t, sub["ci_low"].to_numpy(float), sub["ci_high"].to_numpy(float),
                                step="post", color=colr, alpha=0.15, linewidth=0)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(loc="best")
        if title:
            ax.set_title(title)
    return fig


# --------------------------------------------------------------------------------------------------
# The paper's estimate beside ours (the chapters from the sensitivity analyses to who receives IVIG)
# --------------------------------------------------------------------------------------------------
#: How each source is drawn in :func:`paper_vs_book_plot`: (marker, colour, filled).
SOURCE_STYLE: dict[str, tuple[str, str, bool]] = {
    "Paper": ("D", OKABE_ITO["black"], False),
    "This book": ("s", OKABE_ITO["blue"], True),
}


def paper_vs_book_plot(
    estimates: pd.DataFrame,
    *,
    xlabel: str,
    title: str | None = None,
    null: float = 1.0,
) -> Figure:
    """Ratio estimates (IRR, HR) with 95% CIs on a log axis, the paper's beside this book's.

    ``estimates``: long table with columns ``label`` (one row of the plot, drawn top to bottom in
    order of first appearance), ``source`` (``"Paper"`` or ``"This book"``), ``est``, ``ci_low``,
    ``ci_high``. A source without a finite estimate for a label is written "not estimable" (this
    book) or left out (the paper prints none); a missing CI draws the point alone. The dashed
    line marks ``null`` (no difference).
    """
    import matplotlib.pyplot as plt
    import matplotlib.transforms as mtransforms
    from matplotlib.lines import Line2D

    _require(estimates, ["label", "source", "est", "ci_low", "ci_high"], "paper_vs_book_plot")
    labels = list(dict.fromkeys(estimates["label"].astype(str)))
    if not labels:
        raise ValueError("paper_vs_book_plot: no rows to draw")
    n = len(labels)
    ypos = {lab: float(n - 1 - i) for i, lab in enumerate(labels)}
    offsets = {"Paper": 0.14, "This book": -0.14}
    est = estimates["est"].to_numpy(float)
    lo = estimates["ci_low"].to_numpy(float)
    hi = estimates["ci_high"].to_numpy(float)
    vals = np.concatenate([est, lo, hi, [null]])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    xmin, xmax = min(vals.min() / 1.3, null / 2), max(vals.max() * 1.3, null * 2)
    with style():
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 1.2 + 0.55 * n), layout="constrained")
        ax.axvline(null, color="#555555", linewidth=0.8, linestyle="--", zorder=1)
        tr = mtransforms.blended_transform_factory(ax.transAxes, ax.transData)
        for source, (marker, colour, filled) in SOURCE_STYLE.items():
            sub = estimates[estimates["source"] == source]
            for _, r in sub.iterrows():
                y = ypos[str(r["label"])] + offsets[source]
                e, a, b = float(r["est"]), float(r["ci_low"]), float(r["ci_high"])
                if not (np.isfinite(e) and e > 0):
                    if source == "This book":
                        ax.text(0.5, y, "not estimable", transform=tr, ha="center",
                                va="center", fontsize=8.5, color=colour)
                    continue
                if np.isfinite(a) and np.isfinite(b) and a > 0:
                    ax.plot([max(a, xmin), min(b, xmax)], [y, y], color=colour, linewidth=1.4,
                            zorder=2)
                ax.scatter([e], [y], marker=marker, s=38, zorder=3, linewidths=1.3,
                           facecolors=colour if filled else "white", edgecolors=colour,
                           gid=f"{source.replace(' ', '-').lower()}-{ypos[str(r['label'])]:g}")
        ax.set_xscale("log")
        ax.set_xlim(xmin, xmax)
        _log_ticks(ax, [t for t in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50) if xmin <= t <= xmax])
        ax.set_yticks([ypos[lab] for lab in labels])
        ax.set_yticklabels(labels)
        ax.set_ylim(-0.7, n - 0.3)
        ax.set_xlabel(xlabel)
        handles = [Line2D([], [], marker=m, color=c, markerfacecolor=c if f else "white",
                          linestyle="-", linewidth=1.4, label=f"{s} (95% CI)")
                   for s, (m, c, f) in SOURCE_STYLE.items()]
        fig.legend(handles=handles, loc="outside lower center", ncols=2)
        if title:
            ax.set_title(title)
    return fig


#: Periods of :func:`rates_by_period_plot`, top to bottom within a category, with their colours.
PERIOD_STYLE: dict[str, tuple[str, str]] = {
    "on_ivig": ("IVIG group, on IVIG", "on_ivig"),
    "observation": ("IVIG group, observation", "observation"),
    "reference": ("Reference group", "reference"),
}


def rates_by_period_plot(rates: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Infection rates per patient-year by category, as grouped horizontal bars per period.

    ``rates``: columns ``label`` (the category, drawn top to bottom in order of first
    appearance), ``period`` (keys of :data:`PERIOD_STYLE`) and ``rate`` (infections per
    patient-year; NaN draws no bar). Colours follow the book's meaning of each period.
    """
    import matplotlib.pyplot as plt

    _require(rates, ["label", "period", "rate"], "rates_by_period_plot")
    labels = list(dict.fromkeys(rates["label"].astype(str)))
    if not labels:
        raise ValueError("rates_by_period_plot: no rows to draw")
    periods = [p for p in PERIOD_STYLE if p in set(rates["period"])]
    n, k = len(labels), max(len(periods), 1)
    height = 0.8 / k
    with style():
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 1.0 + 0.45 * n * k / 2), layout="constrained")
        for j, period in enumerate(periods):
            name, ckey = PERIOD_STYLE[period]
            sub = rates[rates["period"] == period]
            by_label = dict(zip(sub["label"].astype(str), sub["rate"].astype(float), strict=True))
            vals = np.array([by_label.get(lab, np.nan) for lab in labels])
            y = np.arange(n)[::-1] + 0.4 - height * (j + 0.5)
            ax.barh(y, np.nan_to_num(vals), height=height * 0.92, color=COLORS[ckey],
                    label=name, gid=f"bars-{period}")
        ax.set_yticks(np.arange(n)[::-1])
        ax.set_yticklabels(labels)
        ax.set_ylim(-0.6, n - 0.4)
        ax.set_xlabel("Infections per patient-year")
        fig.legend(loc="outside lower center", ncols=len(periods))
        if title:
            ax.set_title(title)
    return fig
