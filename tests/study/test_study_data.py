"""Tests of analysis.study.data.StudyData: a cohort's derived tables are built once and shared.

The counting test wraps the one implementation of the end of observation
(``analysis.study.cohort.observation_end``, as imported by ``analysis.study.data``) and checks
that a whole descriptive pass, the Cox data and the SCCS menu call it once per cohort.
"""

from __future__ import annotations

import pandas as pd
import pytest
from _helpers_study import make_cohort

from analysis import study
from analysis.study import data as sdata

SMALL = dict(
    patients=[{"patient_id": "A"}, {"patient_id": "B", "dara_last": "2019-05-01"},
              {"patient_id": "R", "group": "reference"}],
    ivig=[("A", "2019-01-20"), ("B", "2019-02-10")],
    infections=[("A", "2019-01-05"), ("A", "2019-02-01"), ("B", "2019-03-20"),
                ("R", "2019-02-02")],
    igg=[("A", "2018-12-20", "500"), ("B", "2019-01-05", "300")],
)


def test_observation_is_computed_once_per_cohort(tmp_path, monkeypatch):
    calls = []
    real = sdata.observation_end

    def counting(patients):
        calls.append(len(patients))
        return real(patients)

    monkeypatch.setattr(sdata, "observation_end", counting)
    cohort = make_cohort(tmp_path, **SMALL)
    from analysis.paper.values import descriptive_values
    from analysis.study import cox

    descriptive_values(cohort)
    cox.cox_data(cohort)
    study.sccs_menu(cohort)
    study.observation_periods(cohort, "ivig")
    assert calls == [3]
    other = make_cohort(tmp_path / "other", **SMALL)
    study.observation_periods(other)
    assert calls == [3, 3]  # a second cohort has its own tables


def test_one_study_data_per_cohort_and_readers_accept_it(tmp_path):
    cohort = make_cohort(tmp_path, **SMALL)
    data = study.study_data(cohort)
    assert study.study_data(cohort) is data and study.study_data(data) is data
    pd.testing.assert_frame_equal(study.observation_periods(data, "ivig"),
                                  study.observation_periods(cohort, "ivig"))
    pd.testing.assert_frame_equal(study.study_intervals(data, pre_window=30),
                                  study.study_intervals(cohort, pre_window=30))


@pytest.mark.parametrize("reader", [
    lambda c: study.observation_periods(c),
    lambda c: study.infections_in_observation(c),
    lambda c: study.outcome_events(c),
    lambda c: study.study_intervals(c),
    lambda c: study.igg_steps(c),
])
def test_readers_return_copies(tmp_path, reader):
    cohort = make_cohort(tmp_path, **SMALL)
    first = reader(cohort)
    expected = first.copy()
    first.iloc[:, -1] = 0  # a caller modifying its result
    first["extra"] = 1
    pd.testing.assert_frame_equal(reader(cohort), expected)


def test_study_intervals_extra_covariates_add_their_columns(tmp_path):
    from analysis.sccs.intervals import EventWindow

    cohort = make_cohort(tmp_path, **SMALL)
    probe = pd.DataFrame({"id": ["A"], "day": [study.to_day(pd.Series(
        pd.to_datetime(["2019-02-01"])))[0]]})
    iv = study.study_intervals(cohort, covariates=[EventWindow("probe", probe, length=10)])
    a = iv[iv["id"] == "A"]
    # the probe covers 2019-02-01 .. 2019-02-10: 10 days of A's observation
    assert int((a["days"] * a["probe"]).sum()) == 10
    base = study.study_intervals(cohort)
    assert iv["days"].sum() == base["days"].sum() and iv["events"].sum() == base["events"].sum()


def test_one_way_to_ask_for_season(tmp_path):
    cohort = make_cohort(tmp_path, **SMALL)
    with pytest.raises(TypeError):
        study.study_intervals(cohort, season=True)  # type: ignore[call-arg]
    assert "fall_winter" in study.study_intervals(cohort, adjust="season")
