"""Observation ends at death and last contact (data contract): the SCCS command against a
day-level computation written independently here.

The cohort below has IVIG patients who die, or are last seen, inside ``dara_last + 30`` days
(some of them inside an on-IVIG window, one before the first IVIG dose, one with infections after
the last contact, which are allowed but not observed). The reference expands every patient to one
row per observed day straight from the contract's wording (``dara_start`` through the earliest of
``dara_last + 30``, ``death_date`` and ``last_contact``), marks exposure, counts events, and fits a
Poisson GLM with one fixed effect per patient (statsmodels); that model's estimate and standard
error of a within-patient effect equal the SCCS conditional likelihood's. ``python -m analysis
sccs`` must agree to 1e-6; a version of the reference that ignores death and last contact must
not, so the test can fail.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from _helpers_study import write_cohort

EPOCH = pd.Timestamp("1970-01-01")


def _iso(day: int) -> str:
    return (EPOCH + pd.Timedelta(days=int(day))).strftime("%Y-%m-%d")


def _draw() -> dict:
    """A seeded cohort of 16 IVIG patients (8 dying or lost early) and 4 reference patients."""
    rng = np.random.default_rng(20261129)
    patients, ivig, infections = [], [], []
    for i in range(20):
        pid = f"P{i:02d}"
        start = 17900 + int(rng.integers(0, 300))  # 2019-01-04 + ...
        last = start + int(rng.integers(120, 400))
        tail = last + 30
        row = {"patient_id": pid, "dara_start": _iso(start), "dara_last": _iso(last),
               "group": "ivig" if i < 16 else "reference"}
        stop = tail
        if i % 4 == 1:  # dies inside dara_last + 30
            stop = last - int(rng.integers(-25, 60))
            row["death_date"] = _iso(stop)
        elif i % 4 == 2:  # last seen inside dara_last + 30; infections after it are allowed
            stop = last - int(rng.integers(-25, 90))
            row["last_contact"] = _iso(stop)
        elif i % 4 == 3:  # dies after the tail: observation unchanged
            row["death_date"] = _iso(tail + int(rng.integers(1, 200)))
        patients.append(row)
        first = start + int(rng.integers(-20, 150))
        for k in range(int(rng.integers(1, 6))):
            a = first + 28 * k * int(rng.integers(1, 3))
            if "death_date" not in row or a <= stop:
                ivig.append((pid, _iso(a)))
        hi = stop if "death_date" in row else tail + 20
        for d in rng.integers(start - 10, hi + 1, size=int(rng.integers(2, 9))):
            infections.append((pid, _iso(int(d))))
    return {"patients": patients, "ivig": ivig, "infections": infections}


COHORT = _draw()


def _day(text: str) -> int:
    return int((pd.Timestamp(text) - EPOCH).days)


def day_level(stop_early: bool = True, pre_window: int | None = None) -> pd.DataFrame:
    """One row per observed day of each IVIG-group case: id, day, on_ivig, pre_ivig, events."""
    rows = []
    for p in COHORT["patients"]:
        if p["group"] != "ivig":
            continue
        pid, start = p["patient_id"], _day(p["dara_start"])
        end = _day(p["dara_last"]) + 30
        if stop_early:
            for col in ("death_date", "last_contact"):
                if p.get(col):
                    end = min(end, _day(p[col]))
        days = np.arange(start, end + 1)
        doses = np.array([_day(d) for i, d in COHORT["ivig"] if i == pid], dtype=np.int64)
        on = np.zeros(days.size, dtype=bool)
        for a in doses:
            on |= (days >= a) & (days <= a + 29)
        pre = np.zeros(days.size, dtype=bool)
        if pre_window and doses.size:
            f = doses.min()
            pre = (days >= f - pre_window) & (days <= f - 1) & ~on
        onsets = [_day(d) for i, d in COHORT["infections"] if i == pid]
        events = np.array([onsets.count(int(d)) for d in days])
        rows.append(pd.DataFrame({"id": pid, "day": days, "on_ivig": on.astype(int),
                                  "pre_ivig": pre.astype(int), "events": events}))
    data = pd.concat(rows, ignore_index=True)
    cases = data.groupby("id")["events"].transform("sum") > 0
    return data[cases.to_numpy()]


def glm_fit(data: pd.DataFrame, terms: list[str]) -> pd.DataFrame:
    """Poisson GLM with a fixed effect per patient: log IRR and SE of each term."""
    import statsmodels.formula.api as smf
    from statsmodels.genmod.families import Poisson

    fit = smf.glm(f"events ~ {' + '.join(terms)} + C(id)", data, family=Poisson()).fit(
        tol=1e-13, maxiter=200)
    return pd.DataFrame({"log_irr": fit.params[terms], "se": fit.bse[terms]})


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(write_cohort(tmp_path_factory.mktemp("death"), **COHORT))


def run_sccs(folder: str, *args: str) -> dict:
    r = subprocess.run([sys.executable, "-m", "analysis", "sccs", folder, "--format", "json",
                        *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_the_cohort_has_early_ends_that_matter():
    early = day_level(True)
    late = day_level(False)
    assert len(late) - len(early) > 200  # observed days the early ends remove among cases
    assert late["events"].sum() > early["events"].sum()  # infections after last contact


@pytest.mark.parametrize("pre_window", [None, 30])
def test_cli_sccs_equals_day_level_glm(folder, pre_window):
    args = ["--pre-window", str(pre_window)] if pre_window else []
    doc = run_sccs(folder, *args)
    terms = ["on_ivig", "pre_ivig"] if pre_window else ["on_ivig"]
    data = day_level(True, pre_window)
    ref = glm_fit(data, terms)
    got = {t["term"]: t for t in doc["terms"]}
    assert doc["n_cases"] == data["id"].nunique()
    assert doc["n_events"] == int(data["events"].sum())
    for term in terms:
        assert got[term]["log_irr"] == pytest.approx(ref.loc[term, "log_irr"], abs=1e-6)
        assert got[term]["se"] == pytest.approx(ref.loc[term, "se"], abs=1e-6)
    ignoring = glm_fit(day_level(False, pre_window), terms)
    assert abs(ignoring.loc["on_ivig", "log_irr"] - got["on_ivig"]["log_irr"]) > 1e-3


# --- hand-worked: periods, what the rule removes, Cox censoring ---------------------------------
HAND = dict(
    patients=[
        # A: dara 2019-01-01 .. 2019-03-01 (tail end 2019-03-31); dies 2019-02-10 -> 41 days
        {"patient_id": "A", "death_date": "2019-02-10"},
        # B: last seen 2019-03-10 (tail end 2019-03-31) -> 69 days, 21 removed
        {"patient_id": "B", "last_contact": "2019-03-10"},
        # C: dies after the tail end: 90 days, nothing removed
        {"patient_id": "C", "death_date": "2019-06-01"},
        # D (reference): last contact 2019-03-31 = tail end: the tail ends it (tie), 0 removed
        {"patient_id": "D", "group": "reference", "last_contact": "2019-03-31"},
    ],
    # A's first IVIG would be 2019-02-11 (after death: not allowed); give it to B after last
    # contact (allowed, outside observation) and to C inside
    ivig=[("B", "2019-03-20"), ("C", "2019-02-01")],
)


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    from analysis.study import load_cohort

    return load_cohort(write_cohort(tmp_path_factory.mktemp("hand"), **HAND))


def test_observation_periods_stop_at_death_and_last_contact(hand):
    from analysis import study

    obs = study.observation_periods(hand).set_index("patient_id")
    assert obs["days"].to_dict() == {"A": 41, "B": 69, "C": 90, "D": 90}
    assert obs.loc["A", "end"] == pd.Timestamp("2019-02-10")
    assert obs["end_reason"].to_dict() == {"A": "death", "B": "last contact",
                                           "C": "dara_last + 30", "D": "dara_last + 30"}
    stops = study.observation_stops(hand).set_index(["group", "end_reason"])
    assert stops.loc[("ivig", "death"), ["patients", "days_removed"]].tolist() == [1, 49]
    assert stops.loc[("ivig", "last contact"), ["patients", "days_removed"]].tolist() == [1, 21]
    assert stops.loc[("all", "any"), ["patients", "days_removed"]].tolist() == [2, 70]
    assert stops.loc[("reference", "any"), "patients"] == 0


def test_cox_censors_at_death_and_last_contact(hand):
    from analysis.study.cox import cox_data

    d = cox_data(hand).set_index("patient_id")
    # A: no IVIG, censored at death (41 days); B: its dose after last contact is not observed,
    # censored at 69 days; C: event on day 2019-02-01 - 2019-01-01 + 1 = 32
    assert d.loc["A", ["time", "event"]].tolist() == [41, 0]
    assert d.loc["B", ["time", "event"]].tolist() == [69, 0]
    assert d.loc["C", ["time", "event"]].tolist() == [32, 1]
