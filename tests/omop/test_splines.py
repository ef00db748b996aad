"""OHDSI's spline covariates: bases against independent computations, knots and month splits by
hand, and the season reference component."""

from __future__ import annotations

import numpy as np
import pandas as pd
import patsy
import pytest

from analysis.omop.spec import SplineSettings, parse_specification
from analysis.omop.splines import (
    bs,
    calendar_knots,
    cyclic_design,
    multi_segment_design,
    observed_per_month,
)
from analysis.omop.time_effects import month_windows, setup


@pytest.mark.parametrize("degree, inner", [(2, [20.5, 77, 150]), (1, []), (3, [50, 100])])
def test_bs_equals_patsy_r_compatible_bs(degree: int, inner: list) -> None:
    # patsy's bs() reproduces R's splines::bs (its documentation); it is an independent code
    x = np.arange(3, 200.0)
    ref = patsy.bs(x, knots=inner, degree=degree, lower_bound=3, upper_bound=199)
    assert np.abs(bs(x, (3, 199), degree, inner) - ref).max() < 1e-12


def test_cyclic_design_by_hand() -> None:
    # knots 0.5, 3.5, ..., 12.5 (OHDSI's 5 season knots): uniform quadratic B-splines of spacing
    # 3; month 1 lies 0.5 past a knot, u = 1/6: pieces u^2/2, (-2u'^2 + 6u' - 3)/2 with
    # u' = 7/6, and (3 - u'')^2 / 2 with u'' = 13/6 -> 1/72, 23/36, 25/72. Periodic: month 1
    # uses the last basis wrapped around the year.
    d = cyclic_design(np.arange(1, 13), [0.5, 3.5, 6.5, 9.5, 12.5])
    assert d.shape == (12, 4)
    np.testing.assert_allclose(sorted(d[0][d[0] > 0]), [1 / 72, 25 / 72, 23 / 36], atol=1e-12)
    np.testing.assert_allclose(d.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(d[3], np.roll(d[0], 1), atol=1e-12)  # a 3-month shift


def test_calendar_knots_by_hand() -> None:
    # months as year * 12 + month - 1 (November 1970 = 1970 * 12 + 10); 100 cases observed
    # in Nov, 100 in Nov-Dec, 200 in Dec-Jan: counts per month 200, 300, 200 (cumulative 200,
    # 500, 700); 3 knots at 0.5%, 50%, 99.5% of 700 = 3.5, 350, 696.5 -> first month with
    # cumulative count >= each: Nov, Dec, Jan
    starts = pd.to_datetime(["1970-11-05"] * 100 + ["1970-11-05"] * 100 + ["1970-12-05"] * 200)
    ends = pd.to_datetime(["1970-11-20"] * 100 + ["1970-12-20"] * 100 + ["1971-01-20"] * 200)
    counts = observed_per_month(pd.Series(starts), pd.Series(ends))
    assert counts["observation_period_count"].tolist() == [200, 300, 200]
    assert calendar_knots(counts, 3) == [[1970 * 12 + 10, 1970 * 12 + 11, 1970 * 12 + 12]]
    # two segments: between them a month goes to the nearer segment's end row
    d = multi_segment_design(np.arange(0, 11), [[0, 2, 4], [8, 10]])
    assert d.shape == (11, 4)
    np.testing.assert_allclose(d[5], d[4])   # month 5: 1 after the first segment, 3 before
    np.testing.assert_allclose(d[7], d[8])   # month 7: 1 before the second segment


def test_months_split_observation() -> None:
    # observed 2020-01-20 .. 2020-03-05: Jan 20-31 (days 0-11), Feb (12-40), Mar 1-5 (41-45)
    cases = pd.DataFrame({"case_id": [1], "observation_period_start_date":
                          pd.to_datetime(["2020-01-20"]), "age_at_obs_start": [1000],
                          "start_day": [0], "end_day": [45]})
    eff = setup(cases, pd.DataFrame({"case_id": [1], "outcome_day": [5]}), None,
                SplineSettings(5), None)
    w = month_windows(cases, eff)
    assert sorted(set(zip(w["start"], w["end"], strict=True))) == [(0, 11), (12, 40),
                                                                    (41, 45)]
    jan = w[w["start"] == 0].sort_values("cov_id")["value"].to_numpy()
    np.testing.assert_allclose(jan, cyclic_design([1], eff.season_knots)[0])


def test_spline_specification_keys() -> None:
    base = {"exposures_outcome_list": [{"outcome_id": 3, "exposures": [{"exposure_id": 1}]}],
            "sccs_analysis_list": [{"create_sccs_interval_data_args": {
                "era_covariate_settings": [{"include_era_ids": ["exposureId"],
                                            "exposure_of_interest": True}],
                "seasonality_covariate_settings": {"season_knots": 1}}}]}
    with pytest.raises(Exception, match=r"seasonality_covariate_settings\.season_knots: must "
                                        r"be a number of knots >= 2"):
        parse_specification(base)
    base["sccs_analysis_list"][0]["create_sccs_interval_data_args"][
        "seasonality_covariate_settings"] = {"season_knots": 5}
    a = parse_specification(base).sccs_analysis_list[0]
    assert a.interval_args.season == SplineSettings(5, False)
