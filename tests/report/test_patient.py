"""Tests of analysis.report.patient: which patient illustrates the definitions, and the periods and
counts drawn for them, on a hand-made cohort whose every expected number is worked out below.

Every patient: dara 2019-01-01 .. 2019-03-01, so observation 2019-01-01 .. 2019-03-31 (90 days,
all in fall/winter: January to March). IVIG exposes the dose day and the 29 days after it; the long
pre-exposure window is the 60 days before the first dose.

- P1 (IVIG): dose 03-15 (day 74 of observation: 74 >= 60, the long window fits), one infection,
  progression, three IgG values: score 5 (every definition), one infection.
- P2 (IVIG): dose 01-20 (day 19: the window does not fit), two infections, one IgG value:
  score 2 (infection, IVIG).
- P3 (IVIG): as P1 with a second infection on 03-20 (on IVIG): score 5, two infections.
- P4 (IVIG): a copy of P3, later in the file: same score and infections, loses the tie on order.
- R (reference): five infections, never drawn (not an IVIG patient).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _helpers_study import day, make_cohort

from analysis import study
from analysis.report import patient

IVIG_PATIENT = {"group": "ivig"}


def rich(pid: str, infections: tuple[str, ...]) -> dict:
    """The rows of a patient who shows every definition (P1, P3, P4)."""
    return {
        "ivig": [(pid, "2019-03-15")],
        "infections": [(pid, d) for d in infections],
        "igg": [(pid, "2019-01-05", "800"), (pid, "2019-02-05", "600"), (pid, "2019-03-05", "350")],
        "progression": [(pid, "2019-02-01")],
    }


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory):
    parts = [rich("P1", ("2019-01-10",)), rich("P3", ("2019-01-10", "2019-03-20")),
             rich("P4", ("2019-01-10", "2019-03-20"))]
    rows = {key: [r for p in parts for r in p[key]] for key in parts[0]}
    rows["ivig"].append(("P2", "2019-01-20"))
    rows["infections"] += [("P2", "2019-01-05"), ("P2", "2019-02-05")]
    rows["infections"] += [("R", f"2019-0{m}-10") for m in (1, 2, 3)]
    rows["infections"] += [("R", "2019-01-20"), ("R", "2019-02-20")]
    rows["igg"].append(("P2", "2019-01-06", "900"))
    patients = [dict(patient_id=p, **IVIG_PATIENT) for p in ("P1", "P2", "P3", "P4")]
    patients.append(dict(patient_id="R", group="reference"))
    return make_cohort(tmp_path_factory.mktemp("patient"), patients, **rows)


def test_scores_count_the_definitions_each_patient_shows(cohort) -> None:
    s = patient.definition_scores(cohort)
    assert list(s.index) == ["P1", "P2", "P3", "P4"]
    assert s["infections"].tolist() == [1, 2, 2, 2]
    assert s["igg"].tolist() == [3, 1, 3, 3]
    assert s["ivig"].tolist() == [True, True, True, True]
    assert s["progression"].tolist() == [True, False, True, True]
    assert s["pre_window"].tolist() == [True, False, True, True]
    assert s["score"].tolist() == [5, 2, 5, 5]


def test_the_chosen_patient_shows_most_with_most_infections_then_comes_first(cohort) -> None:
    # P1, P3, P4 score 5; P3 and P4 have two infections; P3 comes first.
    assert patient.illustrative_patient(cohort) == "P3"


def test_timeline_counts_are_the_hand_counted_days_and_events(cohort) -> None:
    t = patient.patient_timeline(cohort, "P3")
    assert t.observation == (day("2019-01-01"), day("2019-03-31"))
    assert t.counts() == {
        "days_observed": 90,
        "days_on_ivig": 17,        # 03-15 .. 03-31 (the window runs to 04-13, past observation)
        "days_pre_long": 60,       # 01-14 .. 03-14
        "days_fall_winter": 90,
        "n_doses": 1,
        "n_infections": 2,
        "n_infections_on": 1,      # 03-20
        "n_infections_off": 1,     # 01-10
        "n_igg": 3,
    }
    assert t.on_ivig[["start", "end"]].values.tolist() == [[day("2019-03-15"), day("2019-03-31")]]
    windows = t.pre_windows.sort_values("window")[["window", "start", "end"]].values.tolist()
    assert windows == [[30, day("2019-02-13"), day("2019-03-14")],
                       [60, day("2019-01-14"), day("2019-03-14")]]
    assert t.progression[["start", "end"]].values.tolist()[0][0] == day("2019-02-01")
    assert t.infections["day"].tolist() == [day("2019-01-10"), day("2019-03-20")]
    assert t.ivig_doses.tolist() == [day("2019-03-15")]


def test_timeline_draws(cohort) -> None:
    fig = patient.patient_timeline(cohort, "P1").plot(title="P1")
    assert fig.axes


def test_a_reference_patient_cannot_be_drawn(cohort) -> None:
    with pytest.raises(study.StudyError, match="'R' is not an IVIG-group patient"):
        patient.patient_timeline(cohort, "R")


def test_no_ivig_patient_is_a_clear_error(tmp_path: Path) -> None:
    c = make_cohort(tmp_path / "c", [dict(patient_id="R", group="reference")],
                    infections=[("R", "2019-01-10")])
    with pytest.raises(study.StudyError, match="no IVIG-group patient"):
        patient.illustrative_patient(c)
