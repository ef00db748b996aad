"""Tests of analysis.report.figures.paper_vs_book_plot (the chapters from the sensitivity analyses
to who receives IVIG): it renders, uses a log axis with a labelled unit, draws one marker per finite
estimate, and says "not estimable" instead of failing."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest

from analysis.report import figures

matplotlib.use("Agg")


@pytest.fixture
def estimates() -> pd.DataFrame:
    return pd.DataFrame({
        "label": ["IgG < 700", "IgG < 700", "IgG < 400", "IgG < 400", "IgG < 200"],
        "source": ["Paper", "This book", "Paper", "This book", "This book"],
        "est": [1.56, 1.7, 1.67, 1.9, np.nan],
        "ci_low": [0.99, 0.9, 1.14, np.nan, np.nan],
        "ci_high": [2.44, 3.2, 2.46, np.nan, np.nan],
    })


def test_paper_vs_book_plot_renders(estimates: pd.DataFrame) -> None:
    fig = figures.paper_vs_book_plot(estimates, xlabel="Incidence rate ratio (log scale)")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "Incidence rate ratio (log scale)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["IgG < 700", "IgG < 400", "IgG < 200"]
    markers = [c for c in ax.collections if c.get_gid()]
    assert len(markers) == 4  # four finite estimates; the NaN one is text
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["not estimable"]
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"
    matplotlib.pyplot.close(fig)


def test_paper_vs_book_plot_refuses_empty_and_bad_columns() -> None:
    with pytest.raises(ValueError, match="no rows"):
        figures.paper_vs_book_plot(
            pd.DataFrame(columns=["label", "source", "est", "ci_low", "ci_high"]), xlabel="x")
    with pytest.raises(ValueError, match="missing column"):
        figures.paper_vs_book_plot(pd.DataFrame({"label": ["a"]}), xlabel="x")


def test_rates_by_period_plot_bars_per_period() -> None:
    rates = pd.DataFrame({
        "label": ["All", "All", "All", "Fungal", "Fungal"],
        "period": ["on_ivig", "observation", "reference", "observation", "reference"],
        "rate": [1.78, 3.10, 0.94, 0.05, np.nan],
    })
    fig = figures.rates_by_period_plot(rates)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Infections per patient-year"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["All", "Fungal"]
    bars: dict[str, list[float]] = {}
    for patch in ax.patches:
        bars.setdefault(patch.get_gid(), []).append(patch.get_width())
    assert set(bars) == {"bars-on_ivig", "bars-observation", "bars-reference"}
    assert bars["bars-observation"] == pytest.approx([3.10, 0.05])
    assert bars["bars-on_ivig"] == pytest.approx([1.78, 0.0])  # no rate: no bar drawn
    matplotlib.pyplot.close(fig)
