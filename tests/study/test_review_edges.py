"""Edge cases found in the correctness review of analysis/study.py against the data contract.

Every expected number is worked out by hand in the comments (contract day counting: whole days,
both ends inclusive; observation ``dara_start .. dara_last + 30``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _helpers_study import day, make_cohort

from analysis import study
from analysis.study import cox

# One IgA patient (functional IgG = IgG), dara 2019-01-01 .. 2019-03-01 -> observation
# 2019-01-01 .. 2019-03-31 = 31 + 28 + 31 = 90 days. One infection on 2019-01-02, before any IgG
# measurement. Two IgG measurements on the same day, 2019-01-04 (dara_start + 3, inside the
# baseline window -90 .. +10): 800 and 300 mg/dL.
SAME_DAY_ROWS = [("P", "2019-01-04", "800"), ("P", "2019-01-04", "300")]


@pytest.mark.parametrize("rows", [SAME_DAY_ROWS, SAME_DAY_ROWS[::-1]], ids=["800-first",
                                                                          "300-first"])
def test_baseline_is_the_same_day_trough_whatever_the_row_order(tmp_path: Path, rows):
    # Same-day measurements count as the day's trough, 300 (igg_measurements: "the lowest
    # functional value counts"). The baseline is the first measurement day in the window, so it
    # must be the same trough, 300 -- not whichever row comes first in igg.csv.
    c = make_cohort(tmp_path / "c", [dict(patient_id="P")],
                    infections=[("P", "2019-01-02")], igg=rows)
    base = study.baseline_igg(c)
    assert base["baseline_day"].tolist() == [day("2019-01-04")]
    assert base["baseline_igg"].tolist() == [300.0]
    # Days 2019-01-01 .. 01-03 are before the first measurement and take the baseline (300);
    # from 01-04 on the latest measurement day's trough (300). So all 90 days are < 400 and
    # the HGG<400 table is one interval of 90 days holding the single event.
    t = study.study_intervals(c, "all", hgg=400)
    assert t[["days", "events", "igg_below_400"]].values.tolist() == [[90, 1, 1]]
    # Table 1's baseline HGG flags read the same value.
    d = cox.cox_data(c)
    assert d["baseline_igg"].tolist() == [300.0]
    assert d["hgg400_baseline"].tolist() == ["yes"]
    # and the "IgG level on a day" used for descriptives agrees on 2019-01-02
    level = study.igg_on_days(c, np.array(["P"]), np.array([day("2019-01-02")]))
    assert level.tolist() == [300.0]


def test_contract_edges_in_one_patient(tmp_path: Path):
    # Regression cover for edges the review checked (these pass; kept so they stay true).
    # IgA patient A, dara 2019-01-01 .. 03-01 -> observation 01-01 .. 03-31 (90 days).
    c = make_cohort(
        tmp_path / "c", [dict(patient_id="A")],
        ivig=[("A", "2018-12-20"), ("A", "2019-02-01")],
        infections=[dict(patient_id="A", date="2019-03-31", grade="5"),   # last observed day
                    dict(patient_id="A", date="2019-04-01", grade="3"),   # day after: out
                    dict(patient_id="A", date="2019-02-10", grade="2")],  # IgG measured that day
        igg=[("A", "2019-01-05", "700"),   # start + 4: the baseline, exactly 700 -> not < 700
             ("A", "2019-02-10", "650")],  # same day as an infection: that day is already 650
        progression=[("A", "2019-01-10"), ("A", "2019-01-25")],
    )
    t = study.study_intervals(c, "all", pre_window=30, adjust=("progression",))
    assert t["days"].sum() == 90
    assert t["events"].sum() == 2  # 02-10 and 03-31; 04-01 is outside observation
    # on IVIG: the 2018-12-20 dose exposes 12-20 .. 01-18, observed 01-01 .. 01-18 = 18 days;
    # the 02-01 dose 02-01 .. 03-02 = 28 + 2 = 30 days -> 48.
    assert t.loc[t["on_ivig"] == 1, "days"].sum() == 48
    # pre-window: f = 2018-12-20 (before dara_start) -> 11-20 .. 12-19, all before observation.
    assert t["pre_ivig"].sum() == 0
    # progressions 01-10 (-> 02-08) and 01-25 (-> 02-23) overlap: union 01-10 .. 02-23
    # = 22 + 23 = 45 days.
    assert t.loc[t["progression"] == 1, "days"].sum() == 45
    # grade 3-4 outcome = grade >= 3: the grade-5 infection on 03-31 counts, 04-01 does not.
    assert study.study_intervals(c, "grade3")["events"].sum() == 1
    # HGG < 700: 01-01 .. 01-04 take the baseline (700, dated after dara_start), 01-05 .. 02-09
    # 700 -> 40 days at or above; 02-10 .. 03-31 (19 + 31 = 50 days) 650 -> below, holding both
    # events (the 02-10 infection takes the 02-10 measurement: latest on or before the day).
    h = study.study_intervals(c, "all", hgg=700)
    by = h.groupby("igg_below_700")[["days", "events"]].sum()
    assert by.loc[0].tolist() == [40, 0] and by.loc[1].tolist() == [50, 2]
    # Cox: the 2018-12-20 dose is not in observation; the event is the 02-01 dose, time = day
    # 32 counting dara_start as day 1.
    d = cox.cox_data(c)
    assert d[["time", "event"]].values.tolist() == [[32.0, 1]]
