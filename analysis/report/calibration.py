"""The empirical-calibration figure: control estimates against their standard error, with the
empirical null's region (after OHDSI EmpiricalCalibration's ``plotCalibrationEffect``).

Drawn with the book's look (:func:`analysis.report.figures.style`, the Okabe-Ito palette). The
numbers come from :mod:`analysis.sccs.empirical`; this module computes nothing but the region's
outline. Kept out of :mod:`analysis.report.figures` so that module stays about the paper's
figures.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from analysis.report.figures import OKABE_ITO, PAGE_WIDTH, _log_ticks, _require, style

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from analysis.sccs.empirical import EmpiricalNull

__all__ = ["calibration_plot"]

#: Colours of estimates by calibrated p-value.
P_COLORS: dict[bool, str] = {True: OKABE_ITO["vermillion"], False: OKABE_ITO["blue"]}
#: Markers of estimates by kind (first appearance order), cycled.
KIND_MARKERS: tuple[str, ...] = ("o", "D", "s", "^")
NULL_FILL = "#F6D7A7"


def _null_region(ax: Axes, null: EmpiricalNull, se_max: float, z: float) -> None:
    """Shade where a calibrated p >= alpha (the null's region widened by the random error), its
    boundary as a solid line, the uncalibrated boundary (|log RR| = z se) dashed."""
    se = np.linspace(0.0, se_max, 301)
    half = z * np.sqrt(null.sd**2 + se**2)
    lower, upper = np.exp(null.mean - half), np.exp(null.mean + half)
    ax.fill_betweenx(se, lower, upper, color=NULL_FILL, linewidth=0, zorder=1,
                     label="Null's 95% region (calibrated p ≥ 0.05)", gid="null-region")
    ax.plot(lower, se, color=OKABE_ITO["orange"], linewidth=1.4, zorder=2, gid="calibrated-lower")
    ax.plot(upper, se, color=OKABE_ITO["orange"], linewidth=1.4, zorder=2, gid="calibrated-upper",
            label="Calibrated boundary")
    ax.plot(np.exp(-z * se), se, color="#555555", linewidth=1.0, linestyle="--", zorder=2,
            gid="uncalibrated-lower")
    ax.plot(np.exp(z * se), se, color="#555555", linewidth=1.0, linestyle="--", zorder=2,
            gid="uncalibrated-upper", label="Uncalibrated boundary (p = 0.05)")


def _points(ax: Axes, estimates: pd.DataFrame, significant: np.ndarray) -> None:
    """One scatter per kind and verdict, coloured by calibrated p < alpha."""
    kinds = (estimates["kind"].astype(str) if "kind" in estimates.columns
             else np.full(len(estimates), "Negative control"))
    kinds = np.asarray(kinds)
    x = np.exp(estimates["log_rr"].to_numpy(float))
    y = estimates["se_log_rr"].to_numpy(float)
    for i, kind in enumerate(dict.fromkeys(kinds)):
        for flag in (False, True):
            sel = (kinds == kind) & (significant == flag)
            if sel.any():
                verdict = "calibrated p < 0.05" if flag else "calibrated p ≥ 0.05"
                ax.scatter(x[sel], y[sel], s=26, marker=KIND_MARKERS[i % len(KIND_MARKERS)],
                           color=P_COLORS[flag], edgecolor="white", linewidth=0.5, zorder=3,
                           label=f"{kind}, {verdict}", gid=f"estimates-{i}-{int(flag)}")


def calibration_plot(
    estimates: pd.DataFrame,
    null: EmpiricalNull,
    *,
    xlabel: str = "Relative risk (log scale)",
    title: str | None = None,
) -> Figure:
    """Control (or other) estimates against their standard error, on the empirical null.

    ``estimates``: columns ``log_rr`` and ``se_log_rr`` and optionally ``kind`` (e.g. "Negative
    control", "Positive control": one marker per kind). Estimates whose log RR or SE is not
    finite are left out. The shaded region is where an estimate's calibrated p-value is >= 0.05
    (:func:`analysis.sccs.empirical.calibrate_p`): log RR within the null's mean +- 1.96
    sqrt(sd^2 + se^2); the solid orange line is its boundary, the dashed grey line the
    uncalibrated one (|log RR| = 1.96 se). Points are coloured by calibrated p < 0.05. The
    x axis is logarithmic, the y axis the standard error (0 at the bottom, as OHDSI draws it).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs.empirical import fit_null
    >>> controls = pd.DataFrame({"log_rr": [0.1, 0.3, -0.2, 0.25, 0.05],
    ...                          "se_log_rr": [0.1, 0.2, 0.15, 0.3, 0.12]})
    >>> fig = calibration_plot(controls, fit_null(controls["log_rr"], controls["se_log_rr"]))
    >>> fig.axes[0].get_xscale()
    'log'
    """
    import matplotlib.pyplot as plt

    from analysis.sccs.empirical import calibrate_p

    _require(estimates, ["log_rr", "se_log_rr"], "calibration_plot")
    y, se = estimates["log_rr"].to_numpy(float), estimates["se_log_rr"].to_numpy(float)
    finite = np.isfinite(y) & np.isfinite(se)
    if not finite.any():
        raise ValueError("calibration_plot: no estimate with a finite log_rr and se_log_rr")
    shown = estimates[finite]
    significant = calibrate_p(null, y[finite], se[finite]) < 0.05
    z = NormalDist().inv_cdf(0.975)
    se_max = 1.1 * max(float(se[finite].max()), 0.5)
    with style():
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 4.2), layout="constrained")
        _null_region(ax, null, se_max, z)
        _points(ax, shown, significant)
        ax.axvline(1.0, color="black", linewidth=0.8, zorder=2)
        _axes(ax, y[finite], se_max, xlabel)
        fig.legend(loc="outside lower center", ncols=2)
        if title:
            ax.set_title(title)
    return fig


def _axes(ax: Axes, log_rr: np.ndarray, se_max: float, xlabel: str) -> None:
    """Log x axis spanning the estimates (at least 0.25-4), ticks at round ratios."""
    xmin = min(0.25, float(np.exp(log_rr.min())) / 1.2)
    xmax = max(4.0, float(np.exp(log_rr.max())) * 1.2)
    ax.set_xscale("log")
    ax.set_xlim(xmin, xmax)
    _log_ticks(ax, [t for t in (0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32) if xmin <= t <= xmax])
    ax.set_ylim(0.0, se_max)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Standard error of the log estimate")
