"""Tests of analysis.report.book.glue_fit: one call glues a term's estimate, CI, p and counts.

The reference is the hand-worked one-patient cohort of tests/cli/test_cli_sccs.py: on IVIG 2 events
in
30 days, observation 3 in 60, so IRR = (2/30)/(3/60) = 4/3 and SE(log IRR) = sqrt(1/2 + 1/3).
"""

from __future__ import annotations

import math

import pytest
from _helpers_study import make_cohort

from analysis.report import book

ONE = dict(
    patients=[{"patient_id": "A"}],
    ivig=[("A", "2019-01-20")],
    infections=[("A", d) for d in
                ("2019-01-05", "2019-01-20", "2019-02-18", "2019-02-19", "2019-03-31")],
)


def glued(monkeypatch) -> dict[str, object]:
    """Every value glued from now on, by name, as glued (not as a script prints it)."""
    values: dict[str, object] = {}
    monkeypatch.setattr(book, "glue_value", lambda name, value: values.__setitem__(name, value))
    return values


def test_glue_fit_glues_every_number_of_a_term(tmp_path, monkeypatch):
    from analysis.sccs import SCCS
    from analysis.study import study_intervals

    cohort = make_cohort(tmp_path, **ONE)
    fit = SCCS().fit(study_intervals(cohort, outcome="all", cases_only=True), ["on_ivig"])
    g = glued(monkeypatch)
    book.glue_fit("x_", fit, "on_ivig")
    assert float(g["x_irr"]) == pytest.approx(4 / 3)
    assert float(g["x_se"]) == pytest.approx(math.sqrt(1 / 2 + 1 / 3))
    z = 1.959963984540054
    assert float(g["x_ci_low"]) == pytest.approx(4 / 3 * math.exp(-z * math.sqrt(5 / 6)))
    assert float(g["x_ci_high"]) == pytest.approx(4 / 3 * math.exp(z * math.sqrt(5 / 6)))
    assert g["x_direction"] == "higher"
    assert float(g["x_change_pct"]) == pytest.approx(100 / 3)
    assert (g["x_n_cases"], g["x_n_events"]) == (1, 5)
    assert g["x_p"] not in ("", "nan")


def test_glue_fit_without_a_fit_glues_nan_and_zero(monkeypatch):
    g = glued(monkeypatch)
    book.glue_fit("y_", None)
    assert math.isnan(g["y_irr"]) and g["y_n_cases"] == 0 and g["y_n_events"] == 0
