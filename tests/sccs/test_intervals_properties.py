"""Property tests (hypothesis) of analysis.sccs.intervals against per-day reference implementations.

The references below work day by day with boolean / integer arrays, one individual at a time: slow
and obvious, fine on small data, and written from the rules (data/README.md "Day counting"; R
SCCS's formatdata conventions in data/external/sccs-r/README.md), not from the builder's code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from analysis.sccs.intervals import (
    AgeGroups,
    EventWindow,
    Exposure,
    Season,
    StepCovariate,
    build_intervals,
)

IDS = ["a", "b", "c", "d"]


@st.composite
def cohorts(draw):
    n = draw(st.integers(1, 4))
    ids = IDS[:n]
    start = {i: draw(st.integers(0, 60)) for i in ids}
    end = {i: start[i] + draw(st.integers(0, 80)) for i in ids}
    observation = pd.DataFrame({"id": ids, "start": [start[i] for i in ids],
                                "end": [end[i] for i in ids]})
    known_or_not = st.sampled_from([*ids, "zz"])
    events = pd.DataFrame(draw(st.lists(st.tuples(known_or_not, st.integers(-10, 160)),
                                        max_size=15)), columns=["id", "day"])
    doses = pd.DataFrame(draw(st.lists(st.tuples(known_or_not, st.integers(-60, 160)),
                                       max_size=12)), columns=["id", "day"])
    marks = pd.DataFrame(draw(st.lists(st.tuples(known_or_not, st.integers(-40, 160)),
                                       max_size=6)), columns=["id", "day"])
    # one measurement per (id, day): the value on a day is then well defined
    meas = draw(st.dictionaries(st.tuples(known_or_not, st.integers(-40, 160)),
                                st.integers(0, 1000), max_size=8))
    measurements = pd.DataFrame([(i, d, float(v)) for (i, d), v in meas.items()],
                                columns=["id", "day", "value"])
    return observation, events, doses, marks, measurements


@st.composite
def window_specs(draw):
    """Risk windows (possibly with gaps, possibly starting before the exposure day), washout."""
    n = draw(st.integers(1, 3))
    first = draw(st.integers(-5, 5))
    windows = []
    for _ in range(n):
        last = first + draw(st.integers(0, 20))
        windows.append((first, last))
        first = last + 1 + draw(st.sampled_from([0, 0, 3]))
    washout = []
    w = 1 + draw(st.sampled_from([0, 0, 2]))
    for _ in range(draw(st.integers(0, 2))):
        last = w + draw(st.integers(0, 15))
        washout.append((w, last))
        w = last + 1
    return tuple(windows), tuple(washout)


def per_day(iv: pd.DataFrame, pid: str, column: str) -> np.ndarray:
    rows = iv[iv["id"] == pid]
    return np.repeat(rows[column].to_numpy(), rows["days"].to_numpy())


def reference_levels(days: np.ndarray, starts: list[int], windows, washout) -> np.ndarray:
    """R's rule read day by day: the exposure in charge of day d is the latest one whose first
    risk window has begun (start + first offset <= d); d's level is that of its window holding d
    (risk windows 1..m, washout windows m+1.., else 0)."""
    level = np.zeros(len(days), dtype=int)
    in_charge = np.full(len(days), -10**9)
    first = windows[0][0]
    for s in sorted(starts):
        in_charge = np.where(days >= s + first, s, in_charge)
    for s in set(starts):
        mine = in_charge == s
        for k, (a, b) in enumerate(windows, start=1):
            level[mine & (days >= s + a) & (days <= s + b)] = k
        e = s + windows[-1][1]
        for k, (a, b) in enumerate(washout, start=len(windows) + 1):
            level[mine & (days >= e + a) & (days <= e + b)] = k
    return level


def shuffled(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@given(cohorts(), st.integers(1, 45), st.integers(1, 40))
def test_single_window_is_the_union_of_windows_and_totals_are_conserved(data, length, w) -> None:
    """Contract: exposed days = union of [a, a + L - 1] clipped to observation; pre-window
    f-W .. f-1 (f = first exposure, even outside observation) where not exposed; person-days
    and in-observation events conserved."""
    observation, events, doses, marks, measurements = data
    ex = Exposure("x", doses, windows=((0, length - 1),), pre_window=w)
    initial = pd.DataFrame({"id": ["a", "zz"], "value": [-1.0, -2.0]})  # a baseline for "a"
    iv = build_intervals(observation, events, [ex],
                         [EventWindow("ev", marks, 7), StepCovariate("v", measurements, initial)])
    assert iv["days"].sum() == (observation["end"] - observation["start"] + 1).sum()
    assert (iv["days"] == iv["end"] - iv["start"] + 1).all()
    inside = events.merge(observation, on="id")
    inside = inside[(inside["day"] >= inside["start"]) & (inside["day"] <= inside["end"])]
    assert iv["events"].sum() == len(inside)
    assert iv.attrs["events_dropped"] == len(events) - len(inside)
    for pid, start, end in observation.itertuples(index=False):
        days = np.arange(start, end + 1)
        a = doses.loc[doses["id"] == pid, "day"].to_numpy()
        exposed = np.zeros(len(days), bool)
        for d in a:
            exposed |= (days >= d) & (days <= d + length - 1)
        assert ((per_day(iv, pid, "x") == 1) == exposed).all()
        assert (per_day(iv, pid, "x") <= 1).all()
        pre = np.zeros(len(days), bool)
        if len(a):
            pre = (days >= a.min() - w) & (days <= a.min() - 1) & ~exposed
        assert (per_day(iv, pid, "x_pre") == pre).all()
        # event window: p <= d <= p + 6 for some mark p
        p = marks.loc[marks["id"] == pid, "day"].to_numpy()
        win = np.zeros(len(days), bool)
        for d in p:
            win |= (days >= d) & (days <= d + 6)
        assert (per_day(iv, pid, "ev") == win).all()
        # step covariate: latest measurement on or before the day; before the first, the
        # baseline ("a" only), else NaN
        m = measurements[measurements["id"] == pid].sort_values("day")
        ref = np.full(len(days), -1.0 if pid == "a" else np.nan)
        for d, v in zip(m["day"], m["value"], strict=True):
            ref[days >= d] = v
        np.testing.assert_array_equal(per_day(iv, pid, "v"), ref)
        # events per day
        ev_days = inside.loc[inside["id"] == pid, "day"].to_numpy()
        rows = iv[iv["id"] == pid]
        for s, e, n in zip(rows["start"], rows["end"], rows["events"], strict=True):
            assert n == ((ev_days >= s) & (ev_days <= e)).sum()


@given(cohorts(), window_specs())
def test_several_windows_and_washout_follow_r_rule_day_by_day(data, spec) -> None:
    observation, events, doses, _, _ = data
    windows, washout = spec
    iv = build_intervals(observation, events, [Exposure("x", doses, windows, washout)])
    for pid, start, end in observation.itertuples(index=False):
        days = np.arange(start, end + 1)
        starts = doses.loc[doses["id"] == pid, "day"].tolist()
        expected = reference_levels(days, starts, windows, washout)
        np.testing.assert_array_equal(per_day(iv, pid, "x"), expected)


@given(cohorts(), window_specs(), st.integers(0, 10**6))
def test_invariant_to_row_order_and_merging_keeps_totals(data, spec, seed) -> None:
    observation, events, doses, marks, measurements = data
    windows, washout = spec

    def build(o, e, d, m, v, merge=False):
        return build_intervals(o, e, [Exposure("x", d, windows, washout, pre_window=10)],
                               [EventWindow("ev", m, 5), StepCovariate("v", v)], merge=merge)

    base = build(observation, events, doses, marks, measurements)
    other = build(*(shuffled(df, seed) for df in data))
    key = ["id", "start"]
    pd.testing.assert_frame_equal(
        base.sort_values(key).reset_index(drop=True), other.sort_values(key).reset_index(drop=True)
    )
    merged = build(observation, events, doses, marks, measurements, merge=True)
    assert merged["days"].sum() == base["days"].sum()
    assert merged["events"].sum() == base["events"].sum()
    for pid in observation["id"]:
        for col in ["x", "x_pre", "ev", "v"]:
            np.testing.assert_array_equal(per_day(merged, pid, col), per_day(base, pid, col))


@given(
    st.lists(st.tuples(st.integers(-800, 20000), st.integers(0, 900), st.integers(-400, 400)),
             min_size=1, max_size=3),
    st.lists(st.tuples(st.integers(1, 12), st.integers(1, 28)), min_size=1, max_size=4,
             unique=True),
    st.lists(st.integers(-100, 1200), max_size=5, unique=True),
)
def test_season_and_age_groups_day_by_day(periods, starts, agegrp) -> None:
    """Season of day d = the last season start (month, day) <= the calendar date of origin + d,
    else the last one (wrap); age group = 1 + #{g <= d - birth} (R's seasongrp / agegrp)."""
    ids = IDS[: len(periods)]
    observation = pd.DataFrame({"id": ids, "start": [p[0] for p in periods],
                                "end": [p[0] + p[1] for p in periods]})
    origin = pd.DataFrame({"id": ids, "day": [p[2] for p in periods]})
    iv = build_intervals(observation, pd.DataFrame(columns=["id", "day"]), covariates=[
        Season(tuple(starts), origin=origin), AgeGroups(tuple(agegrp), origin=origin)])
    ordered = sorted(starts)
    for (pid, start, end), (_, _, org) in zip(observation.itertuples(index=False), periods,
                                              strict=True):
        days = np.arange(start, end + 1)
        dates = pd.to_datetime(days + org, unit="D")
        md = list(zip(dates.month, dates.day, strict=True))
        season = [sum(1 for s in ordered if s <= x) or len(ordered) for x in md]
        np.testing.assert_array_equal(per_day(iv, pid, "season"), season)
        age = [1 + sum(1 for g in agegrp if g <= d - org) for d in days]
        np.testing.assert_array_equal(per_day(iv, pid, "age"), age)
