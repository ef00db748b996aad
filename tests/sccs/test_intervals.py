"""analysis.sccs.intervals: hand-worked cases of the data contract's day counting and of each
option.

Every expected value below is worked out by hand from the rule quoted in the test's docstring
(data/README.md, "Day counting", or R SCCS's formatdata conventions in data/external/sccs-r).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.sccs.intervals import (
    AgeGroups,
    EventWindow,
    Exposure,
    IntervalError,
    Season,
    StepCovariate,
    build_intervals,
    to_event_strata,
)


def obs(*periods: tuple) -> pd.DataFrame:
    return pd.DataFrame(periods, columns=["id", "start", "end"])


def dated(*rows: tuple, columns=("id", "day")) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(columns))


NO_EVENTS = dated()


def ivig(*days: int, pid="p", pre_window=None) -> Exposure:
    """The contract's on-IVIG rule: 30 days beginning on the administration day."""
    return Exposure("ivig", dated(*[(pid, d) for d in days]), windows=((0, 29),),
                    pre_window=pre_window)


def runs(iv: pd.DataFrame, column: str, value=1) -> list[tuple[int, int]]:
    """Maximal runs of days (first, last) on which ``column == value`` (rows merged)."""
    cols = zip(iv["start"], iv["end"], iv[column], strict=True)
    days = [(s, e) for s, e, v in cols if v == value]
    out: list[list[int]] = []
    for s, e in days:
        if out and out[-1][1] + 1 == s:
            out[-1][1] = e
        else:
            out.append([s, e])
    return [tuple(r) for r in out]


def check_partition(iv: pd.DataFrame, observation: pd.DataFrame) -> None:
    """Rows tile each observation period exactly, in time order, with days = end - start + 1."""
    assert (iv["days"] == iv["end"] - iv["start"] + 1).all()
    for pid, start, end in observation.itertuples(index=False):
        rows = iv[iv["id"] == pid]
        assert rows["start"].iloc[0] == start and rows["end"].iloc[-1] == end
        assert (rows["start"].to_numpy()[1:] == rows["end"].to_numpy()[:-1] + 1).all()


# --- the contract's on-IVIG rule -----------------------------------------------------------------


def test_windows_that_touch_merge() -> None:
    """a2 = a1 + 30: [a1, a1+29] and [a2, a2+29] touch, so days a1 .. a2+29 are one exposure."""
    o = obs(("p", 0, 199))
    iv = build_intervals(o, NO_EVENTS, [ivig(10, 40)], merge=True)
    assert runs(iv, "ivig") == [(10, 69)]
    assert iv[["start", "end", "ivig"]].to_numpy().tolist() == [
        [0, 9, 0], [10, 69, 1], [70, 199, 0]]
    check_partition(iv, o)


def test_windows_that_overlap_merge_and_a_gap_of_one_day_does_not() -> None:
    o = obs(("p", 0, 199))
    assert runs(build_intervals(o, NO_EVENTS, [ivig(10, 25)]), "ivig") == [(10, 54)]
    # a2 = a1 + 31: day a1 + 30 is unexposed
    assert runs(build_intervals(o, NO_EVENTS, [ivig(10, 41)]), "ivig") == [(10, 39), (41, 70)]


def test_nested_repeat_doses_extend_the_window_from_the_last_dose() -> None:
    o = obs(("p", 0, 199))
    iv = build_intervals(o, NO_EVENTS, [ivig(10, 12, 12, 20)])
    assert runs(iv, "ivig") == [(10, 49)]
    assert iv["days"].sum() == 200


def test_dose_before_start_exposes_only_its_remaining_days() -> None:
    o = obs(("p", 100, 300))
    iv = build_intervals(o, NO_EVENTS, [ivig(80)])
    assert runs(iv, "ivig") == [(100, 109)]
    check_partition(iv, o)


def test_dose_after_end_exposes_nothing_and_a_late_dose_is_clipped() -> None:
    o = obs(("p", 100, 300))
    iv = build_intervals(o, NO_EVENTS, [ivig(301)])
    assert iv[["start", "end", "ivig"]].to_numpy().tolist() == [[100, 300, 0]]
    assert runs(build_intervals(o, NO_EVENTS, [ivig(290)]), "ivig") == [(290, 300)]


def test_pre_window_clipped_at_start() -> None:
    """Pre-window f-W .. f-1 = 90 .. 119 with f = 120, W = 30; observation starts on day 100."""
    o = obs(("p", 100, 300))
    iv = build_intervals(o, NO_EVENTS, [ivig(120, 200, pre_window=30)])
    assert runs(iv, "ivig_pre") == [(100, 119)]
    assert runs(iv, "ivig") == [(120, 149), (200, 229)]


def test_pre_window_only_before_the_first_exposure() -> None:
    o = obs(("p", 0, 400))
    iv = build_intervals(o, NO_EVENTS, [ivig(100, 250, pre_window=60)])
    assert runs(iv, "ivig_pre") == [(40, 99)]


def test_exposure_takes_precedence_over_the_pre_window() -> None:
    """A risk window that begins 10 days before the exposure day overlaps the pre-window
    f-30 .. f-1; the overlap (f-10 .. f-1) is exposed, not pre-exposure."""
    o = obs(("p", 0, 300))
    ex = Exposure("x", dated(("p", 100)), windows=((-10, 29),), pre_window=30)
    iv = build_intervals(o, NO_EVENTS, [ex])
    assert runs(iv, "x") == [(90, 129)]
    assert runs(iv, "x_pre") == [(70, 89)]
    assert ((iv["x"] > 0) & (iv["x_pre"] == 1)).sum() == 0


def test_first_exposure_outside_observation_still_defines_the_pre_window() -> None:
    o = obs(("p", 100, 300))
    # f = 50 (before start): its pre-window 20..49 and exposure 50..79 are outside observation
    iv = build_intervals(o, NO_EVENTS, [ivig(50, 200, pre_window=30)])
    assert iv["ivig_pre"].sum() == 0
    assert runs(iv, "ivig") == [(200, 229)]
    # f = 320 (after end): the pre-window 290..319 is clipped to 290..300
    iv = build_intervals(o, NO_EVENTS, [ivig(320, pre_window=30)])
    assert runs(iv, "ivig_pre") == [(290, 300)]
    assert iv["ivig"].sum() == 0


def test_individual_without_exposure_has_no_pre_window() -> None:
    o = obs(("p", 0, 100), ("q", 0, 100))
    iv = build_intervals(o, NO_EVENTS, [ivig(50, pre_window=30)])
    q = iv[iv["id"] == "q"]
    assert q[["start", "end", "ivig", "ivig_pre"]].to_numpy().tolist() == [[0, 100, 0, 0]]


def test_one_day_observation_period() -> None:
    o = obs(("p", 5, 5))
    ev = dated(("p", 5), ("p", 5), ("p", 6))
    iv = build_intervals(o, ev, [ivig(5)])
    assert iv[["start", "end", "days", "events", "ivig"]].to_numpy().tolist() == [[5, 5, 1, 2, 1]]
    assert iv.attrs["events_dropped"] == 1


def test_several_events_on_one_day_count_several_times() -> None:
    o = obs(("p", 0, 99))
    ev = dated(("p", 30), ("p", 30), ("p", 30), ("p", 70))
    iv = build_intervals(o, ev, [ivig(20)], merge=True)
    assert iv[["start", "end", "events", "ivig"]].to_numpy().tolist() == [
        [0, 19, 0, 0], [20, 49, 3, 1], [50, 99, 1, 0]]


def test_events_outside_observation_are_dropped_and_counted() -> None:
    o = obs(("p", 10, 20), ("q", 0, 5))
    ev = dated(("p", 9), ("p", 10), ("p", 20), ("p", 21), ("q", 5), ("zz", 3))
    iv = build_intervals(o, ev)
    assert iv[["id", "start", "end", "days", "events"]].to_numpy().tolist() == [
        ["p", 10, 20, 11, 2], ["q", 0, 5, 6, 1]]
    assert iv.attrs["events_dropped"] == 3


def test_event_on_a_boundary_day_belongs_to_the_interval_containing_it() -> None:
    o = obs(("p", 0, 99))
    ev = dated(("p", 19), ("p", 20), ("p", 49), ("p", 50))
    iv = build_intervals(o, ev, [ivig(20)])
    assert iv[["start", "end", "events"]].to_numpy().tolist() == [
        [0, 19, 1], [20, 49, 2], [50, 99, 1]]


# --- R conventions: several windows, washout, doses -----------------------------------------------


def test_consecutive_risk_windows_and_a_delayed_first_window() -> None:
    """expogrp = c(0, 15, 29), aedrug = day + 42 gives levels 1, 2, 3 on days 0-14, 15-28, 29-42
    after the exposure day; expogrp = 15 leaves days 0-14 at level 0 (README items 3)."""
    o = obs(("p", 0, 199))
    ex = Exposure.from_r("m", dated(("p", 100)), expogrp=(0, 15, 29), end_offset=42)
    assert ex.windows == ((0, 14), (15, 28), (29, 42))
    iv = build_intervals(o, NO_EVENTS, [ex])
    assert iv[["start", "end", "m"]].to_numpy().tolist() == [
        [0, 99, 0], [100, 114, 1], [115, 128, 2], [129, 142, 3], [143, 199, 0]]
    ex = Exposure.from_r("m", dated(("p", 100)), expogrp=(15,), end_offset=35)
    assert runs(build_intervals(o, NO_EVENTS, [ex]), "m") == [(115, 135)]


def test_gap_between_windows_is_unexposed() -> None:
    o = obs(("p", 0, 99))
    ex = Exposure("m", dated(("p", 10)), windows=((0, 4), (10, 14)))
    iv = build_intervals(o, NO_EVENTS, [ex])
    assert iv[["start", "end", "m"]].to_numpy().tolist() == [
        [0, 9, 0], [10, 14, 1], [15, 19, 0], [20, 24, 2], [25, 99, 0]]


def test_washout_levels_follow_the_risk_levels() -> None:
    """R washout = c(1, 92, 182) after aedrug = the end column: levels m+1 on E+1..E+91 and m+2 on
    E+92..E+182 (README item 4)."""
    o = obs(("p", 0, 999))
    data = dated(("p", 100, 150), columns=("id", "day", "end"))
    ex = Exposure.from_r("ad", data, expogrp=(0, 15), washout=(1, 92, 182))
    assert ex.windows == ((0, 14), (15, None)) and ex.washout == ((1, 91), (92, 182))
    iv = build_intervals(o, NO_EVENTS, [ex])
    assert iv[["start", "end", "ad"]].to_numpy().tolist() == [
        [0, 99, 0], [100, 114, 1], [115, 150, 2], [151, 241, 3], [242, 332, 4], [333, 999, 0]]


def test_a_later_exposure_truncates_the_earlier_ones_windows() -> None:
    """R's neighbour-min rule: dose 2 on day 10 ends dose 1's windows (levels restart)."""
    o = obs(("p", 0, 99))
    ex = Exposure("m", dated(("p", 0), ("p", 10)), windows=((0, 14), (15, 29)))
    iv = build_intervals(o, NO_EVENTS, [ex], merge=True)
    assert iv[["start", "end", "m"]].to_numpy().tolist() == [
        [0, 24, 1], [25, 39, 2], [40, 99, 0]]


def test_dose_specific_levels() -> None:
    """sameexpopar = FALSE: dose k uses levels (k-1)*m+1 .. k*m, even when an earlier dose is
    missing (NaN day), as in dtp.mod2."""
    o = obs(("p", 0, 199))
    data = pd.DataFrame({"id": ["p"] * 3, "day": [np.nan, 50, 100], "dose": [1, 2, 3]})
    ex = Exposure.from_r("d", data, expogrp=(0, 4), end_offset=9, sameexpopar=False)
    iv = build_intervals(o, NO_EVENTS, [ex])
    assert iv[["start", "end", "d"]].to_numpy().tolist() == [
        [0, 49, 0], [50, 53, 3], [54, 59, 4], [60, 99, 0], [100, 103, 5], [104, 109, 6],
        [110, 199, 0]]


def test_exposure_end_column() -> None:
    o = obs(("p", 0, 99))
    data = dated(("p", 10, 19), ("p", 50, 50), columns=("id", "day", "end"))
    iv = build_intervals(o, NO_EVENTS, [Exposure("e", data, windows=((0, None),))])
    assert runs(iv, "e") == [(10, 19), (50, 50)]


def test_two_exposure_types_are_independent_columns() -> None:
    o = obs(("p", 0, 99))
    a = Exposure("a", dated(("p", 10)), windows=((0, 19),))
    b = Exposure("b", dated(("p", 20)), windows=((0, 19),))
    iv = build_intervals(o, NO_EVENTS, [a, b])
    assert iv[["start", "end", "a", "b"]].to_numpy().tolist() == [
        [0, 9, 0, 0], [10, 19, 1, 0], [20, 29, 1, 1], [30, 39, 0, 1], [40, 99, 0, 0]]


def test_exposures_of_unknown_ids_are_ignored() -> None:
    o = obs(("p", 0, 99))
    iv = build_intervals(o, NO_EVENTS, [Exposure("a", dated(("x", 10)))])
    assert iv["a"].tolist() == [0]


# --- covariates ---------------------------------------------------------------------------------


def test_step_covariate_with_baseline_unknown_and_thresholds() -> None:
    """IgG rule: latest measurement on or before the day; before the first one the baseline if
    given, else unknown (NaN)."""
    o = obs(("p", 0, 99), ("q", 0, 99), ("r", 0, 9))
    data = pd.DataFrame({"id": ["p", "p", "q", "p"], "day": [20, 60, 50, -5],
                         "value": [350.0, 800.0, 150.0, 650.0]})
    initial = pd.DataFrame({"id": ["q"], "value": [900.0]})
    cov = StepCovariate("igg", data, initial=initial, thresholds=(700, 400))
    iv = build_intervals(o, NO_EVENTS, covariates=[cov])
    p = iv[iv["id"] == "p"]
    assert p[["start", "end"]].to_numpy().tolist() == [[0, 19], [20, 59], [60, 99]]
    assert p["igg"].tolist() == [650.0, 350.0, 800.0]  # day -5 measurement carried in
    assert p["igg_below_700"].tolist() == [1.0, 1.0, 0.0]
    assert p["igg_below_400"].tolist() == [0.0, 1.0, 0.0]
    q = iv[iv["id"] == "q"]
    assert q["igg"].tolist() == [900.0, 150.0]
    r = iv[iv["id"] == "r"]
    assert np.isnan(r["igg"]).all() and np.isnan(r["igg_below_700"]).all()


def test_event_window_union() -> None:
    """Progression: p <= d <= p + 29 for any p; windows of 5 and 20 overlap -> one run."""
    o = obs(("p", 0, 99))
    iv = build_intervals(o, NO_EVENTS, covariates=[EventWindow("prog", dated(("p", 5), ("p", 20),
                                                                              ("p", 90)), 30)])
    assert runs(iv, "prog") == [(5, 49), (90, 99)]


def test_calendar_season_with_epoch_day_numbers() -> None:
    """Starts 1 April and 1 October: level 1 = spring/summer, level 2 = fall/winter (wraps)."""
    d = np.array(["2020-03-30", "2020-04-02", "2021-03-31"], dtype="datetime64[D]")
    start, mid, end = d.astype(np.int64)
    o = obs(("p", start, end))
    iv = build_intervals(o, NO_EVENTS, covariates=[Season(((10, 1), (4, 1)))])
    oct1 = np.datetime64("2020-10-01").astype(np.int64)
    apr1 = np.datetime64("2020-04-01").astype(np.int64)
    assert iv[["start", "end", "season"]].to_numpy().tolist() == [
        [start, apr1 - 1, 2], [apr1, oct1 - 1, 1], [oct1, end, 2]]
    assert mid > apr1


def test_season_and_age_groups_with_a_per_individual_origin() -> None:
    """Age axis: day = age in days; origin = the calendar day number of birth (R's dob)."""
    birth = int(np.datetime64("2000-12-20").astype(np.int64))
    o = obs(("p", 0, 30))
    origin = pd.DataFrame({"id": ["p"], "day": [birth]})
    iv = build_intervals(o, NO_EVENTS, covariates=[
        Season(((1, 1), (7, 1)), origin=origin), AgeGroups((5, 20, 100))])
    # 1 January 2001 is age 12 -> cut after day 11; age groups start at 5 and 20
    assert iv[["start", "end", "season", "age"]].to_numpy().tolist() == [
        [0, 4, 2, 1], [5, 11, 2, 2], [12, 19, 1, 2], [20, 30, 1, 3]]


def test_age_groups_with_birth_origin_on_a_calendar_axis() -> None:
    o = obs(("p", 1000, 1100))
    origin = pd.DataFrame({"id": ["p"], "day": [950]})
    iv = build_intervals(o, NO_EVENTS, covariates=[AgeGroups((100,), origin=origin)])
    assert iv[["start", "end", "age"]].to_numpy().tolist() == [[1000, 1049, 1], [1050, 1100, 2]]


# --- output layout --------------------------------------------------------------------------------


def test_output_columns_and_order() -> None:
    o = obs(("b", 0, 9), ("a", 0, 9))
    ev = dated(("a", 3))
    iv = build_intervals(o, ev, [ivig(2, pid="a", pre_window=2)],
                         [EventWindow("prog", dated(("b", 1))), AgeGroups(())])
    assert list(iv.columns) == ["id", "start", "end", "days", "events", "ivig", "ivig_pre",
                                "prog", "age"]
    assert iv["id"].tolist()[0] == "b"  # observation order
    assert iv["ivig"].dtype == np.int16 and iv["ivig_pre"].dtype == np.int8


def test_merge_keeps_totals_and_merges_only_equal_neighbours() -> None:
    o = obs(("p", 0, 199), ("q", 0, 50))
    ev = dated(("p", 5), ("p", 15), ("p", 150), ("q", 0))
    ex = ivig(10, 25, 27)
    split = build_intervals(o, ev, [ex])
    merged = build_intervals(o, ev, [ex], merge=True)
    assert len(split) > len(merged)
    assert merged[["id", "start", "end", "events", "ivig"]].to_numpy().tolist() == [
        ["p", 0, 9, 1, 0], ["p", 10, 56, 1, 1], ["p", 57, 199, 1, 0], ["q", 0, 50, 1, 0]]
    assert split["days"].sum() == merged["days"].sum() == 251
    assert merged.attrs["events_dropped"] == 0


def test_to_event_strata_one_stratum_per_event() -> None:
    o = obs((2, 0, 9), (1, 0, 9))
    ev = dated((2, 5), (1, 1), (1, 8), (1, 8))
    iv = build_intervals(o, ev, [Exposure("x", dated((1, 0)), windows=((0, 4),))])
    st = to_event_strata(iv, ev)
    assert st.columns.tolist() == ["indivL", "indiv", "eventday", "lower", "upper", "interval",
                                   "event", "x"]
    cols = ["indivL", "indiv", "eventday", "lower", "upper", "event", "x"]
    assert st[cols].to_numpy().tolist() == [
        [1, 1, 1, 0, 4, 1, 1], [1, 1, 1, 5, 9, 0, 0],
        [2, 1, 8, 0, 4, 0, 1], [2, 1, 8, 5, 9, 1, 0],
        [3, 2, 5, 0, 9, 1, 0]]
    assert len(to_event_strata(iv, ev, unique_days=False)) == 7


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observation", "message"),
    [
        (obs(("p", 0, 9), ("p", 0, 9)), "observation, row 3, column id: duplicate id 'p'"),
        (obs(("p", 0, 9), ("q", 9, 8)), "observation, row 3, column end: before start (8 < 9)"),
        (obs(("p", 0.5, 9)), "observation, row 2, column start: not a whole day number"),
        (obs(("p", None, 9)), "observation, row 2, column start: not a whole day number"),
        (pd.DataFrame({"id": ["p"], "start": [0]}), "observation: missing column(s) end"),
    ],
)
def test_bad_observation_is_a_clear_error(observation: pd.DataFrame, message: str) -> None:
    with pytest.raises(IntervalError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_intervals(observation, NO_EVENTS)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (Exposure("x", dated(("p", 1)), windows=()), "needs at least one risk window"),
        (Exposure("x", dated(("p", 1)), windows=((0, 9), (5, 20))), "must be increasing"),
        (Exposure("x", dated(("p", 1)), windows=((0, None),)), r"missing column\(s\) end"),
        (Exposure("x", dated(("p", 1)), windows=((0, None), (5, 9))), "only the last"),
        (Exposure("x", dated(("p", 1)), washout=((0, 9),)), "washout windows"),
        (Exposure("x", dated(("p", 1)), pre_window=0), "pre_window must be >= 1"),
        (Exposure("x", pd.DataFrame({"id": ["p"], "day": [1]}), dose_levels=True),
         r"missing column\(s\) dose"),
        (Exposure("x", pd.DataFrame({"id": ["p"], "day": ["soon"]})),
         "exposure 'x', row 2, column day: not a whole day number"),
    ],
)
def test_bad_exposure_is_a_clear_error(spec: Exposure, message: str) -> None:
    with pytest.raises(IntervalError, match=message):
        build_intervals(obs(("p", 0, 9)), NO_EVENTS, [spec])


def test_r_washout_needs_two_values() -> None:
    with pytest.raises(IntervalError, match="at least 2 values"):
        Exposure.from_r("x", dated(("p", 1)), washout=(5,))


def test_nested_episode_with_its_own_end_ends_the_exposure() -> None:
    """Documented R multi-format behaviour: 20-60 then 30-40 -> exposed 20..40 only."""
    data = dated(("p", 20, 60), ("p", 30, 40), columns=("id", "day", "end"))
    iv = build_intervals(obs(("p", 0, 99)), NO_EVENTS, [Exposure("e", data, ((0, None),))])
    assert runs(iv, "e") == [(20, 40)]


def test_duplicate_output_names_are_refused() -> None:
    with pytest.raises(IntervalError, match="distinct"):
        build_intervals(obs(("p", 0, 9)), NO_EVENTS, [ivig(1)],
                        [EventWindow("ivig", dated(("p", 1)))])


def test_empty_inputs() -> None:
    iv = build_intervals(obs(("p", 0, 9)), NO_EVENTS, [Exposure("x", dated())],
                         [StepCovariate("v", pd.DataFrame(columns=["id", "day", "value"])),
                          EventWindow("w", dated()), Season(((1, 1),))])
    assert iv[["start", "end", "x", "w", "season"]].to_numpy().tolist() == [[0, 9, 0, 0, 1]]
    assert np.isnan(iv["v"]).all()
    empty = build_intervals(obs(), NO_EVENTS, [ivig(1)])
    assert len(empty) == 0 and list(empty.columns[:5]) == ["id", "start", "end", "days", "events"]
