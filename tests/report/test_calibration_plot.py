"""analysis.report.calibration: the calibration plot draws the null's region, the calibrated and
uncalibrated boundaries, and one point per finite estimate coloured by calibrated p (Agg)."""

from __future__ import annotations

import io
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from analysis.report.calibration import P_COLORS, calibration_plot
from analysis.sccs.empirical import EmpiricalNull, calibrate_p

matplotlib.use("Agg")

NULL = EmpiricalNull(0.2, 0.15, math.nan, 6, 0)


@pytest.fixture
def estimates() -> pd.DataFrame:
    return pd.DataFrame({
        "log_rr": [0.1, 0.3, -0.2, 0.25, 0.05, 1.2, np.inf, 0.9],
        "se_log_rr": [0.1, 0.2, 0.15, 0.3, 0.12, 0.1, 0.2, 0.05],
        "kind": ["Negative control"] * 7 + ["Positive control"],
    })


def _by_gid(fig, prefix: str) -> list:
    return [a for a in fig.axes[0].get_children() if (a.get_gid() or "").startswith(prefix)]


def test_draws_region_boundaries_and_one_point_per_finite_estimate(estimates) -> None:
    fig = calibration_plot(estimates, NULL, title="Negative controls")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylim()[0] == 0.0
    assert len(_by_gid(fig, "null-region")) == 1
    assert len(_by_gid(fig, "calibrated-")) == 2 and len(_by_gid(fig, "uncalibrated-")) == 2
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    offsets = np.concatenate([c.get_offsets() for c in points])
    assert len(offsets) == 7  # the infinite estimate is left out
    # the region's boundary at se = 0.3 is exp(mean +- 1.96 sqrt(sd^2 + 0.3^2)), read off the line
    upper = _by_gid(fig, "calibrated-upper")[0]
    xs, ys = upper.get_xdata(), upper.get_ydata()
    expected = math.exp(0.2 + 1.959963984540054 * math.sqrt(0.15**2 + 0.3**2))
    assert np.interp(0.3, ys, xs) == pytest.approx(expected, rel=1e-3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"
    matplotlib.pyplot.close(fig)


def test_points_are_coloured_by_calibrated_p(estimates) -> None:
    fig = calibration_plot(estimates, NULL)
    finite = estimates[np.isfinite(estimates["log_rr"])]
    p = calibrate_p(NULL, finite["log_rr"], finite["se_log_rr"])
    for flag in (False, True):
        colour = matplotlib.colors.to_rgba(P_COLORS[flag])
        drawn = sum(len(c.get_offsets()) for c in fig.axes[0].collections
                    if isinstance(c, PathCollection)
                    and np.allclose(c.get_facecolor()[0], colour))
        assert drawn == int(np.sum((p < 0.05) == flag))
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "Positive control, calibrated p < 0.05" in labels
    assert any("Null's 95% region" in t for t in labels)
    matplotlib.pyplot.close(fig)


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"calibration_plot: missing column\(s\) \['se_log_rr'\]"):
        calibration_plot(pd.DataFrame({"log_rr": [0.1]}), NULL)
    with pytest.raises(ValueError, match="no estimate with a finite"):
        calibration_plot(pd.DataFrame({"log_rr": [np.nan], "se_log_rr": [0.1]}), NULL)
