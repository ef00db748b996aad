"""Tests of analysis.report.figures: each figure renders, is labelled, draws one mark per input
row, uses a
log axis for ratios, and never shows a patient's id (Agg backend, set in tests/conftest.py)."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection

from analysis.report import figures

matplotlib.use("Agg")


def _render(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    matplotlib.pyplot.close(fig)
    return buf.getvalue()


def _all_text(fig) -> str:
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    return "\n".join(texts)


@pytest.fixture
def forest_input() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": ["All grades", "Grade 3-4", "Bacterial", "Viral", "Fungal"],
            "irr": [0.57, 0.30, 0.40, 0.69, np.nan],
            "ci_low": [0.40, 0.12, 0.15, 0.35, np.nan],
            "ci_high": [0.83, 0.75, 1.10, 1.30, np.nan],
            "rate_on": [1.78, 0.20, 0.30, 0.50, 0.0],
            "rate_off": [3.10, 0.60, 0.70, 0.80, 0.05],
        }
    )


def test_forest_plot_log_axis_points_and_labels(forest_input: pd.DataFrame) -> None:
    ref = pd.DataFrame({"label": ["All grades", "Grade 3-4"], "rate": [0.94, 0.14]})
    fig = figures.forest_plot(forest_input, ref)
    forest = next(ax for ax in fig.axes if ax.get_xscale() == "log")
    assert "log scale" in forest.get_xlabel()
    points = [c for c in forest.collections if isinstance(c, PathCollection)]
    assert len(points) == 1
    assert len(points[0].get_offsets()) == 4  # one per estimable row; "Fungal" has no IRR
    cis = [c for c in forest.collections if isinstance(c, LineCollection)]
    assert len(cis[0].get_segments()) == 4
    text = _all_text(fig)
    for label in forest_input["label"]:
        assert label in text
    assert "0.57 (0.40–0.83)" in text
    assert "not estimable" in text
    assert "0.94" in text and "Reference" in text  # context rates drawn
    assert len(_render(fig)) > 1000


def test_forest_plot_requires_columns() -> None:
    with pytest.raises(ValueError, match="missing column"):
        figures.forest_plot(pd.DataFrame({"label": ["a"], "irr": [1.0]}))


def _swimmer_input(n: int = 6):
    rng = np.random.default_rng(3)
    ids = [f"MRN{1000 + i}" for i in range(n)]  # look like real identifiers
    start = rng.integers(16500, 17500, n)
    end = start + rng.integers(60, 900, n)
    spans = pd.DataFrame({"patient_id": ids, "start": start, "end": end})
    on = pd.DataFrame({"patient_id": ids, "start": start + 10, "end": start + 39})
    ev = pd.DataFrame({"patient_id": ids + ids[:2], "day": np.r_[start + 5, start[:2] + 50],
                       "grade": [1, 2, 3, 4, 1, 2, 3, 1]})
    return spans, on, ev


def test_swimmer_plot_one_bar_per_patient_and_pseudonymous_ids() -> None:
    spans, on, ev = _swimmer_input()
    fig = figures.swimmer_plot(spans, on, ev)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.patches) == len(spans) + len(on)  # one bar per patient + one per window
    n_points = sum(len(c.get_offsets()) for c in ax.collections
                   if isinstance(c, PathCollection))
    assert n_points == len(ev)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(labels, key=int) == [str(i) for i in range(1, len(spans) + 1)]
    text = _all_text(fig)
    assert not any(pid in text for pid in spans["patient_id"])
    assert len(_render(fig)) > 1000


def test_swimmer_plot_orders_by_follow_up() -> None:
    spans = pd.DataFrame({"patient_id": ["a", "b", "c"], "start": [0, 0, 0],
                          "end": [99, 299, 199]})
    empty = pd.DataFrame({"patient_id": [], "start": [], "end": []})
    ev = pd.DataFrame({"patient_id": [], "day": [], "grade": []})
    fig = figures.swimmer_plot(spans, empty, ev)
    ax = fig.axes[0]
    widths = [p.get_width() for p in ax.patches]  # bottom row first
    assert widths == sorted(widths)  # shortest at the bottom, longest on top
    assert ax.get_yticklabels()[-1].get_text() == "1"  # the longest is patient 1


def test_swimmer_plot_accepts_dates() -> None:
    spans = pd.DataFrame({"patient_id": ["x"], "start": pd.to_datetime(["2017-01-01"]),
                          "end": pd.to_datetime(["2017-12-31"])})
    on = pd.DataFrame({"patient_id": ["x"], "start": pd.to_datetime(["2017-02-01"]),
                       "end": pd.to_datetime(["2017-03-02"])})
    ev = pd.DataFrame({"patient_id": ["x"], "date": pd.to_datetime(["2017-02-10"]), "grade": [3]})
    fig = figures.swimmer_plot(spans, on, ev)
    pts = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    # 2017-02-10 is day 40 after 2017-01-01: 40 / 30.4375 months
    assert pts[0].get_offsets()[0][0] == pytest.approx(40 / 30.4375)
    _render(fig)


def test_timeline_plot_shows_relative_days_and_labels() -> None:
    t = pd.Timestamp
    fig = figures.timeline_plot(
        observation=(t("2017-03-10"), t("2018-03-09")),
        on_ivig=pd.DataFrame({"start": [t("2017-08-01")], "end": [t("2017-09-29")]}),
        ivig_doses=[t("2017-08-01"), t("2017-08-29")],
        pre_windows=pd.DataFrame({"window": [60, 30], "start": [t("2017-06-02"), t("2017-07-02")],
                                  "end": [t("2017-07-31"), t("2017-07-31")]}),
        igg=pd.DataFrame({"date": [t("2017-03-01"), t("2017-06-01")], "igg": [650.0, 180.0]}),
        progression=pd.DataFrame({"start": [t("2018-01-01")], "end": [t("2018-01-30")]}),
        infections=pd.DataFrame({"date": [t("2017-07-15"), t("2017-12-01")], "grade": [2, 3]}),
    )
    ax_igg, ax = fig.axes
    assert "mg/dL" in ax_igg.get_ylabel()
    assert "Days since" in ax.get_xlabel()
    lo, hi = ax.get_xlim()
    assert lo < 0 < 364 < hi  # relative days, not calendar dates
    text = _all_text(fig)
    assert "2017" not in text
    n_points = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    assert n_points == 2
    _render(fig)


def test_km_plot_one_curve_per_stratum() -> None:
    km = pd.DataFrame({"stratum": ["ivig"] * 3 + ["reference"] * 2,
                       "time_months": [0, 5, 10, 0, 12], "survival": [1, 0.6, 0.3, 1, 0.9],
                       "ci_low": [1, 0.5, 0.2, 1, 0.8], "ci_high": [1, 0.7, 0.4, 1, 0.95],
                       "at_risk": [43, 20, 10, 100, 50]})
    fig = figures.km_plot(km)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel()
    curves = [ln for ln in ax.get_lines() if str(ln.get_gid()).startswith("km-")]
    assert len(curves) == 2
    assert any("n=43" in t.get_text() for t in ax.get_legend().get_texts())
    _render(fig)


def test_flag_runs_joins_adjacent_flagged_intervals() -> None:
    iv = pd.DataFrame({"id": ["a", "a", "a", "a", "b", "b"],
                       "start": [0, 10, 20, 30, 0, 5], "end": [9, 19, 29, 39, 4, 9],
                       "on": [0, 1, 1, 0, 1, 1]})
    runs = figures.flag_runs(iv, "on")
    assert runs.to_dict("list") == {"id": ["a", "b"], "start": [10, 0], "end": [29, 9]}
    assert figures.flag_runs(iv.assign(on=0), "on").empty


def test_style_uses_okabe_ito() -> None:
    with figures.style():
        cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    assert cycle[0].upper() == figures.OKABE_ITO["blue"]


def test_swimmer_plot_marks_death_and_last_contact() -> None:
    # b's observation (61 days) ends at death, c's (31 days) at last contact; a's at the usual end
    spans = pd.DataFrame({"patient_id": ["a", "b", "c"], "start": [0, 0, 0], "end": [90, 60, 30],
                          "end_reason": ["dara_last + 30", "death", "last contact"]})
    none = pd.DataFrame(columns=["patient_id", "start", "end"])
    events = pd.DataFrame(columns=["patient_id", "day", "grade"])
    fig = figures.swimmer_plot(spans, none, events)
    ax = fig.axes[0]
    death = [ln for ln in ax.get_lines() if ln.get_gid() == "stop_death"]
    contact = [ln for ln in ax.get_lines() if ln.get_gid() == "stop_last_contact"]
    assert len(death) == 1 and len(contact) == 1
    # rows are ordered by follow-up, shortest first: c = row 0, b = row 1; x in months
    assert death[0].get_xdata().tolist() == pytest.approx([61 / 30.4375])
    assert death[0].get_ydata().tolist() == [1]
    assert contact[0].get_xdata().tolist() == pytest.approx([31 / 30.4375])
    text = _all_text(fig)
    assert "Observation ends at death" in text and "Observation ends at last contact" in text
    plain = figures.swimmer_plot(spans.drop(columns="end_reason"), none, events)
    assert not [ln for ln in plain.axes[0].get_lines() if str(ln.get_gid()).startswith("stop")]
    assert "Observation ends" not in _all_text(plain)
