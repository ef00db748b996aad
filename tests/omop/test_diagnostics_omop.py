"""OHDSI's diagnostics per estimate: the observed/expected outcomes per month worked out by hand,
the pre-exposure and end-of-observation checks, MDRR inputs, and the unblinding rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.omop.diagnostics import outcome_rate_per_month, p_values, row_diagnostics
from analysis.omop.population import StudyPopulation
from analysis.omop.spec import SccsDiagnosticThresholds


def _pop(prevalence: float | None = 0.01, first: bool = False) -> StudyPopulation:
    # case A: 2020-01-17 .. 2020-03-10, outcomes on Jan 22 and Feb 26;
    # case B: 2020-02-01 .. 2020-02-20, outcome on Feb 4
    cases = pd.DataFrame({"case_id": [1, 2], "observation_period_start_date":
                          pd.to_datetime(["2020-01-17", "2020-02-01"]),
                          "start_day": [0, 0], "end_day": [53, 19]})
    outcomes = pd.DataFrame({"case_id": [1, 1, 2], "outcome_day": [5, 40, 3]})
    return StudyPopulation(cases, outcomes, pd.DataFrame(), 3,
                           {"outcome_proportion": prevalence, "first_outcome_only": first})


def test_outcome_rate_per_month_by_hand() -> None:
    # OHDSI's 31-day months: A's first month weighs (31 - 17 + 1) / 31 = 15/31, its last 10/31,
    # rate 2 / (2 + 25/31) = 62/87 per month; B starts and ends in February: weight 31/31 = 1,
    # rate 1 / (0 + 1 + 20/31) = 31/51
    r = outcome_rate_per_month(_pop())
    assert r["month"].tolist() == [2020 * 12, 2020 * 12 + 1, 2020 * 12 + 2]
    assert r["observed_count"].tolist() == [1, 2, 0]
    np.testing.assert_allclose(r["expected_count"], [30 / 87, 62 / 87 + 31 / 51, 20 / 87])
    np.testing.assert_allclose(r["observation_period_count"], [15 / 31, 2, 10 / 31])
    np.testing.assert_allclose(r["adjusted_expected_count"], r["expected_count"])


def test_adjusted_expected_by_hand() -> None:
    # relative rate 2 in February: A's correction (15/31 + 2 + 10/31) / (15/31 + 1 + 10/31)
    # = 87/56, B's 2; adjusted expected = rr(month) x weight x rate / correction
    r = outcome_rate_per_month(_pop(), lambda m: np.log(np.where(m % 12 == 1, 2.0, 1.0)))
    a = 62 / 87 * 56 / 87
    np.testing.assert_allclose(r["adjusted_expected_count"],
                               [15 / 31 * a, 2 * (a + 31 / 51 / 2), 10 / 31 * a])


def _estimates(eoo: tuple[float, float], pre: tuple[float, float]) -> pd.DataFrame:
    return pd.DataFrame({"log_rr": [0.1, 0.2, 0.0], "log_lb95": [math.log(eoo[0]),
                         math.log(pre[0]), -0.5], "log_ub95": [math.log(eoo[1]),
                         math.log(pre[1]), 0.5]}, index=pd.Index([99, 1001, 1000]))


STATS = pd.Series({"day_count": 1_000, "observed_day_count": 10_000,
                   "observed_outcome_count": 100})


@pytest.mark.parametrize("eoo, pre, prev, first, expected", [
    # CIs intersecting the null bounds (0.5-2 and 0.8-1.25): all pass, unblind
    ((1.5, 3.0), (0.9, 1.1), 0.01, False, ("PASS", "PASS", "PASS", 1, 1)),
    # end-of-observation CI above 2: FAIL, no unblinding
    ((2.1, 3.0), (0.9, 1.1), 0.01, False, ("FAIL", "PASS", "PASS", 0, 0)),
    # pre-exposure CI below 0.8: FAIL
    ((1.5, 3.0), (0.5, 0.79), 0.01, False, ("PASS", "FAIL", "PASS", 0, 0)),
    # prevalence 0.2 with first outcomes only: rare outcome FAIL
    ((1.5, 3.0), (0.9, 1.1), 0.2, True, ("PASS", "PASS", "FAIL", 0, 0)),
    # prevalence 0.2, all outcomes used: the assumption is not needed
    ((1.5, 3.0), (0.9, 1.1), 0.2, False, ("PASS", "PASS", "PASS", 1, 1)),
])
def test_checks_and_unblinding(eoo, pre, prev, first, expected) -> None:
    d = row_diagnostics(_pop(prev, first), _estimates(eoo, pre), [1001], [99], STATS,
                        SccsDiagnosticThresholds())
    got = (d["event_observation_diagnostic"], d["event_exposure_diagnostic"],
           d["rare_outcome_diagnostic"], d["unblind_for_evidence_synthesis"], d["unblind"])
    assert got == expected
    assert d["ease_diagnostic"] == "NOT EVALUATED"
    assert d["event_observation_ub"] == pytest.approx(eoo[1])  # not the lower bound
    # MDRR from r = 1000 / 10000 and n = 100 (2.196, below OHDSI's threshold of 10)
    assert d["mdrr"] == pytest.approx(2.196, abs=1e-3) and d["mdrr_diagnostic"] == "PASS"


def test_mdrr_failure_blocks_unblind_only() -> None:
    few = pd.Series({"day_count": 10, "observed_day_count": 10_000,
                     "observed_outcome_count": 5})
    d = row_diagnostics(_pop(), _estimates((1.5, 3.0), (0.9, 1.1)), [1001], [99], few,
                        SccsDiagnosticThresholds())
    assert d["mdrr_diagnostic"] == "FAIL"
    assert (d["unblind_for_evidence_synthesis"], d["unblind"]) == (1, 0)


def test_traditional_p_values() -> None:
    # EmpiricalCalibration's computeTraditionalP: z = 1 -> two-sided 0.3173, upper 0.1587
    p, one = p_values(0.5, 0.5)
    assert (round(p, 4), round(one, 4)) == (0.3173, 0.1587)
