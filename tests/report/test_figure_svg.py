"""Sharp figures (issue 13): the book glues figures as SVG, byte-identical from run to run.

Checked from the outside: two fresh processes with different hash seeds, time zones and clock
times render the same figure (a clipped line, a scatter, a text label) to the same bytes; the SVG
carries no date, is vector (no embedded bitmap) and keeps its texts searchable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_RENDER = r"""
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from analysis.report import book, figures
with figures.style():
    fig, ax = plt.subplots(figsize=(figures.PAGE_WIDTH, 3))
    ax.plot(range(50), [x * x for x in range(50)], clip_on=True)
    ax.scatter([1, 2, 3], [4, 5, 6], marker="^")
    ax.set_ylim(0, 1000)
    ax.set_title("Patient 7, days since first dose")
sys.stdout.write(book.figure_svg(fig))
"""


def _render(env_extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env.update({"PYTHONPATH": str(REPO), **env_extra})
    proc = subprocess.run([sys.executable, "-c", _RENDER], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_figure_svg_is_byte_identical_across_processes() -> None:
    first = _render({"PYTHONHASHSEED": "0", "TZ": "UTC"})
    second = _render({"PYTHONHASHSEED": "4242", "TZ": "Pacific/Auckland"})
    assert first.startswith("<?xml") and "<svg" in first
    assert first == second


def test_figure_svg_has_no_date_no_bitmap_and_searchable_text() -> None:
    svg = _render({})
    assert "<dc:date>" not in svg
    assert "<image" not in svg  # vector only: stays sharp at any zoom
    assert "Patient 7, days since first dose" in svg  # texts kept (as comments beside paths)
    assert 'viewBox="' in svg
