"""Tests of analysis.report.prose: the phrases a chapter writes from its estimates, at and around
every boundary (an interval touching 1, touching intervals, the 'material' and 'less than 1%'
changes), and reading estimates from both kinds of results summary."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from analysis.report import prose
from analysis.report.tables import MISSING

NAN = {"irr": math.nan, "lo": math.nan, "hi": math.nan}


def e(irr: float, lo: float, hi: float) -> dict[str, float]:
    return {"irr": irr, "lo": lo, "hi": hi}


@pytest.mark.parametrize(("est", "phrase"), [
    (e(0.5, 0.3, 0.99), "excludes 1 (a lower rate on IVIG)"),
    (e(0.5, 0.3, 1.0), "includes 1 (no effect is excluded)"),     # touching 1 does not exclude it
    (e(2.0, 1.0, 3.0), "includes 1 (no effect is excluded)"),
    (e(2.0, 1.01, 3.0), "excludes 1 (a higher rate on IVIG)"),
    (NAN, "could not be estimated on this cohort"),
    (e(2.0, 1.5, math.inf), "could not be estimated on this cohort"),
])
def test_ci_phrase(est, phrase) -> None:
    assert prose.ci_phrase(est) == phrase


@pytest.mark.parametrize(("a", "b", "phrase"), [
    (e(1, 0.5, 0.8), e(1, 0.8, 1.2), "overlaps"),                # touching ends overlap
    (e(1, 0.5, 0.79), e(1, 0.8, 1.2), "does not overlap"),
    (e(1, 0.9, 1.3), e(1, 0.5, 0.89), "does not overlap"),       # either side
    (e(1, 0.1, 9.0), e(1, 0.5, 0.6), "overlaps"),                # one inside the other
    (NAN, e(1, 0.5, 0.6), "cannot be compared with"),
])
def test_overlap_phrase(a, b, phrase) -> None:
    assert prose.overlap_phrase(a, b) == phrase


@pytest.mark.parametrize(("irr", "phrase"), [
    (0.401, "barely (by less than 1%)"),     # +0.25%
    (0.42, "barely (+5%)"),
    (0.4399, "barely (+10%)"),               # +9.975%: below 10%, printed rounded
    (0.441, "materially (+10%)"),            # +10.25%
    (0.30, "materially (-25%)"),
])
def test_change_phrase(irr, phrase) -> None:
    assert prose.change_phrase(e(irr, 0.1, 1.0), e(0.40, 0.2, 0.8)) == phrase


def test_change_phrase_threshold_and_missing() -> None:
    assert prose.change_phrase(e(0.42, 0, 1), e(0.40, 0, 1), material=0.04) == "materially (+5%)"
    assert prose.change_phrase(NAN, e(0.40, 0, 1)) == "could not be compared"


def fit_with(summary: pd.DataFrame, **counts) -> SimpleNamespace:
    return SimpleNamespace(summary=summary, **counts)


def test_estimate_reads_the_library_summary() -> None:
    standard = pd.DataFrame({"irr": [0.4], "ci_low": [0.26], "ci_high": [0.6]}, index=["on_ivig"])
    assert prose.estimate(fit_with(standard)) == e(0.4, 0.26, 0.6)
    # a missing term or no fit: NaN, never an error
    assert all(math.isnan(v) for v in prose.estimate(fit_with(standard), "season").values())
    assert all(math.isnan(v) for v in prose.estimate(None).values())


def test_model_row() -> None:
    fit = SimpleNamespace(n_cases=43, n_events=155)
    row = prose.model_row("Primary", "-", e(0.4, 0.26, 0.6), fit, "sccs_allgrade_irr")
    # the paper prints 0.57 (0.40-0.83) for sccs_allgrade_irr (targets.yaml)
    assert row == {"Model": "Primary", "Assumption relaxed": "-",
                   "IRR on IVIG (95% CI)": "0.40 (0.26–0.60)", "Cases": 43, "Events": 155,
                   "Paper": "0.57 (0.40–0.83)"}
    row = prose.model_row("Not fitted", "x", NAN, None, None, events=7)
    assert (row["IRR on IVIG (95% CI)"], row["Cases"], row["Events"], row["Paper"]) == \
        (MISSING, "", 7, "")
