"""analysis.sccs.intervals against the interval tables R SCCS 1.7's ``formatdata`` built.

Source: data/external/sccs-r (README.md there: the R package SCCS 1.7 by
Ghebremichael-Weldeselassie, Whitaker and Farrington, GPL >= 2; every documented
``standardsccs``/``lrtsccs`` example, with the interval data set that went into ``clogit``). Each
example is rebuilt from the package dataset with our builder, converted to R's per-event layout,
and compared row for row.
"""

from __future__ import annotations

import pandas as pd
import pytest
from _helpers_intervals import R_DIR, r_example, reference

from analysis.sccs.intervals import AgeGroups, Exposure, build_intervals, to_event_strata

EXAMPLES = sorted(reference()["examples"])


@pytest.mark.parametrize("name", EXAMPLES)
def test_r_interval_table_reproduced_row_for_row(name: str) -> None:
    ours, theirs = r_example(name)
    assert list(ours.columns[:7]) == list(theirs.columns[:7])
    assert set(ours.columns) == set(theirs.columns)
    assert len(ours) == len(theirs) == reference()["examples"][name]["n_intervals"]
    pd.testing.assert_frame_equal(
        ours[list(theirs.columns)].astype("int64"), theirs.astype("int64"), check_dtype=False
    )


def test_r_examples_cover_the_required_conventions() -> None:
    """The brief's list: age groups, washout, per-dose levels, two types, stack, seasons."""
    required = {"standardsccs_itp.mod1", "standardsccs_itp.mod2", "standardsccs_itp.mod3",
                "standardsccs_hip.mod1", "standardsccs_dtp.mod2", "standardsccs_con.mod",
                "standardsccs_gi.mod1", "standardsccs_int.mod"}
    assert required <= set(EXAMPLES)


def test_toy_example_from_the_reference_readme() -> None:
    """The worked 2-person example of the README (expogrp = c(0, 5), aedrug = ex + 10,
    agegrp = 50), including an age cut that coincides with a risk-level boundary."""
    toy = pd.read_csv(R_DIR / "intervals" / "toy_input.csv")
    expected = pd.read_csv(R_DIR / "intervals" / "toy_intervals.csv")
    obs = toy[["case", "sta", "end"]].drop_duplicates().set_axis(["id", "start", "end"], axis=1)
    events = toy[["case", "ev"]].set_axis(["id", "day"], axis=1)
    ex = toy[["case", "ex"]].drop_duplicates().set_axis(["id", "day"], axis=1)
    iv = build_intervals(obs, events, [Exposure.from_r("ex", ex, expogrp=(0, 5), end_offset=10)],
                         [AgeGroups((50,))])
    ours = to_event_strata(iv, events)
    pd.testing.assert_frame_equal(ours[list(expected.columns)], expected, check_dtype=False)
    # per individual (not per event): person 1 has 5 intervals, 2 events
    assert iv["id"].tolist() == [1] * 5 + [2] * 4
    assert iv.loc[iv["id"] == 1, "events"].tolist() == [0, 0, 1, 0, 1]
    assert iv.loc[iv["id"] == 2, "events"].tolist() == [0, 0, 1, 0]
