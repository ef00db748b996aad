"""Negative-control outcomes of the synthetic study (issue 22 §3).

Each control's true on-IVIG IRR is 1 by construction (its events do not depend on IVIG at all);
over many cohorts a control that shares the prompting estimates the design's systematic error of
the infections' on-IVIG IRR, a falls-type control estimates none; the calibrated coverage is
counted correctly on a case worked by hand.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis import SYNTHETIC_DIR
from analysis.synthetic import negative_controls as nc
from analysis.synthetic.events import TruthParameters
from analysis.synthetic.simulate import SimulateError, simulate_cohort, write_cohort

PROMPTING, HALF, MECHANISMS, FALLS = nc.CONTROLS


def test_controls_do_not_depend_on_ivig() -> None:
    """True IRR 1 by construction: the events are the same whatever IVIG's true effect."""
    for c in nc.CONTROLS:
        a = nc.control_events(simulate_cohort(5), c)
        b = nc.control_events(simulate_cohort(5, truth=TruthParameters(irr_on_ivig=0.2)), c)
        pd.testing.assert_frame_equal(a, b)
        assert len(a) > 0


def test_infections_do_depend_on_ivig() -> None:
    """The check above can fail: the infections of the same seeds differ."""
    a = simulate_cohort(5)["infections"]
    b = simulate_cohort(5, truth=TruthParameters(irr_on_ivig=0.2))["infections"]
    assert not a.equals(b)


def test_drawing_controls_leaves_the_cohort_unchanged(tmp_path) -> None:
    tables = simulate_cohort(0)
    before = {k: v.copy() for k, v in tables.items()}
    nc.control_events(tables, PROMPTING)
    for k, v in before.items():
        pd.testing.assert_frame_equal(tables[k], v)
    folder = write_cohort(tables, tmp_path / "c0")
    for f in ("patients", "ivig", "infections", "igg", "progression"):
        assert (folder / f"{f}.csv").read_bytes() == (SYNTHETIC_DIR / f"{f}.csv").read_bytes()
    assert (folder / "truth.json").read_bytes() == (SYNTHETIC_DIR / "truth.json").read_bytes()


def test_prompting_share_puts_the_prompting_event_before_ivig() -> None:
    """s = 1: every control event on a prompting day is one; s = 0 adds none."""
    tables = simulate_cohort(2)
    trig = tables.process["trigger_day"]
    prompted = np.flatnonzero(trig >= 0)
    full = replace(PROMPTING, rate_scale=1.0)
    none = replace(MECHANISMS, rate_scale=1.0)
    ids = tables.process["patient_id"]
    on_trigger = {(ids[p], np.datetime64(int(trig[p]), "D")) for p in prompted}

    def hits(c):
        ev = nc.control_events(tables, c)
        pairs = zip(ev["patient_id"], ev["date"].to_numpy().astype("datetime64[D]"), strict=True)
        return sum((p, d) in on_trigger for p, d in pairs)

    assert hits(full) >= prompted.size  # every prompting event is kept at s = 1, scale 1
    assert hits(none) < prompted.size / 2  # chance coincidences only


def test_controls_are_deterministic_and_replicates_differ() -> None:
    t = simulate_cohort(3)
    a = nc.control_events(t, HALF, replicate=0)
    pd.testing.assert_frame_equal(a, nc.control_events(simulate_cohort(3), HALF, replicate=0))
    assert not a.equals(nc.control_events(t, HALF, replicate=1))


@pytest.mark.parametrize("kw, word", [({"prompt_share": 1.5}, "prompt_share"),
                                      ({"rate_scale": 0.0}, "rate_scale"),
                                      ({"prompt_share": 0.5, "mechanisms": False}, "mechanisms")])
def test_bad_control_is_a_clear_error(kw, word) -> None:
    args = {"key": "x", "label": "x", "prompt_share": 0.0, **kw}
    with pytest.raises(SimulateError, match=word):
        nc.NegativeControl(**args)


def test_tables_without_their_process_are_refused() -> None:
    tables = simulate_cohort(1)
    plain = type(tables)(tables)
    with pytest.raises(SimulateError, match="simulate_cohort"):
        nc.control_events(plain, FALLS)


def test_write_negative_controls(tmp_path) -> None:
    tables = simulate_cohort(4)
    folder = write_cohort(tables, tmp_path / "c4")
    before = (folder / "infections.csv").read_bytes()
    path = nc.write_negative_controls(tables, folder)
    first = path.read_bytes()
    doc = json.loads((folder / "truth.json").read_text())
    assert [c["key"] for c in doc["negative_controls"]] == [c.key for c in nc.CONTROLS]
    assert all(c["true_irr"] == 1.0 for c in doc["negative_controls"])
    assert doc["parameters"]["irr_on_ivig"] == tables.truth.irr_on_ivig
    ev = pd.read_csv(path)
    assert list(ev.columns) == ["patient_id", "date", "control"]
    assert set(ev["control"]) == {c.key for c in nc.CONTROLS}
    assert (folder / "infections.csv").read_bytes() == before
    folder2 = write_cohort(simulate_cohort(4), tmp_path / "again")
    assert nc.write_negative_controls(simulate_cohort(4), folder2).read_bytes() == first
    with pytest.raises(SimulateError, match=r"truth\.json"):
        nc.write_negative_controls(tables, tmp_path / "nowhere")


# ------------------------------------------------------------------------------ calibration
def _hand_study() -> pd.DataFrame:
    """Two cohorts, truth 0.57. Each cohort's controls sit at -0.5 +- 0.1 with SE 0.2, so the
    null is N(-0.5, 0) (their spread is below their SE: the ML SD is 0). Cohort 0's estimate is
    0.5 below the truth (the null's shift), cohort 1's at the truth."""
    t = np.log(0.57)
    rows = [{"seed": 0, "outcome": "infections", "truth": 0.57, "log_rr": t - 0.5, "se": 0.2},
            {"seed": 1, "outcome": "infections", "truth": 0.57, "log_rr": t, "se": 0.2}]
    for seed in (0, 1):
        for y in (-0.6, -0.4, -0.5, -0.6, -0.4):
            rows.append({"seed": seed, "outcome": "prompting", "truth": 1.0, "log_rr": y,
                         "se": 0.2})
    rows.append({"seed": 0, "outcome": "prompting", "truth": 1.0, "log_rr": np.nan,
                 "se": np.nan})
    return pd.DataFrame(rows)


def test_calibrated_coverage_by_hand() -> None:
    per = nc.calibrated_coverage(_hand_study(), "prompting")
    t, z = np.log(0.57), 1.959964
    # uncalibrated: cohort 0 misses (0.5 > 1.96 x 0.2), cohort 1 covers
    assert per["covered"].tolist() == [False, True]
    # calibrated (shift by +0.5, width unchanged as the null's SD is 0): the reverse
    assert per["cal_covered"].tolist() == [True, False]
    np.testing.assert_allclose(per["null_mean"], -0.5, atol=1e-6)
    np.testing.assert_allclose(per["cal_lb"], [t - z * 0.2, t + 0.5 - z * 0.2], atol=1e-4)
    np.testing.assert_allclose(per["cal_ub"], [t + z * 0.2, t + 0.5 + z * 0.2], atol=1e-4)
    s = nc.coverage_summary(per)
    assert (s["coverage"], s["cal_coverage"], s["n"]) == (0.5, 0.5, 2.0)
    assert s["coverage_mcse"] == pytest.approx(0.5 / np.sqrt(2))


def test_calibrated_coverage_skips_cohorts_without_controls() -> None:
    d = _hand_study()
    d = d[~((d["seed"] == 1) & (d["outcome"] == "prompting"))]
    assert nc.calibrated_coverage(d, "prompting")["seed"].tolist() == [0]


def test_null_against_bias_by_hand() -> None:
    r = nc.null_against_bias(_hand_study()).set_index("outcome")
    assert r.loc["infections", "mean_error"] == pytest.approx(-0.25)
    assert r.loc["prompting", "mean_error"] == pytest.approx(-0.5)
    assert r.loc["prompting", "minus_bias"] == pytest.approx(-0.25)
    assert r.loc["prompting", "n"] == 10  # the missing estimate is left out
    assert r.loc["infections", "mcse"] == pytest.approx(0.25 * np.sqrt(2) / np.sqrt(2))


# ------------------------------------------------------------------------------ over many cohorts
@pytest.fixture(scope="module")
def study(tmp_path_factory) -> pd.DataFrame:
    return nc.control_study(range(N_SEEDS), controls=(PROMPTING, FALLS), replicates=3,
                            cache_dir=tmp_path_factory.mktemp("cache"))


N_SEEDS = 60


def test_controls_centre_on_the_design_bias_or_on_zero(study) -> None:
    """Over many seeds: the prompting-sharing control's mean error is the infections' bias, the
    falls-type control's is 0, each within 3 Monte Carlo SEs; and the bias is real (the test
    could fail: the two controls are told apart)."""
    r = nc.null_against_bias(study).set_index("outcome")
    inf, prompt, falls = r.loc["infections"], r.loc["prompting"], r.loc["falls"]
    assert inf["mean_error"] < -3 * inf["mcse"]  # the design is biased
    assert abs(prompt["minus_bias"]) < 3 * prompt["mcse_diff"]
    assert abs(falls["mean_error"]) < 3 * falls["mcse"]
    assert prompt["mean_error"] - falls["mean_error"] < -3 * np.hypot(prompt["mcse"],
                                                                       falls["mcse"])


def test_study_is_cached_and_deterministic(study, tmp_path) -> None:
    again = nc.control_study(range(2), controls=(PROMPTING, FALLS), replicates=3,
                             cache_dir=tmp_path)
    pd.testing.assert_frame_equal(again, study[study["seed"] < 2].reset_index(drop=True))
    assert len(list(tmp_path.glob("negative-controls-*.pkl"))) == 1


def test_cli_writes_controls_only_when_asked(tmp_path, capsys) -> None:
    from analysis.cli.main import main

    assert main(["simulate", "--seed", "4", "--out", str(tmp_path / "a")]) == 0
    assert main(["simulate", "--seed", "4", "--negative-controls",
                 "--out", str(tmp_path / "b")]) == 0
    assert not (tmp_path / "a" / "negative_controls.csv").exists()
    assert "negative_controls" not in json.loads((tmp_path / "a" / "truth.json").read_text())
    ev = pd.read_csv(tmp_path / "b" / "negative_controls.csv")
    assert set(ev["control"]) == {c.key for c in nc.CONTROLS}
    assert (tmp_path / "a" / "infections.csv").read_bytes() == \
        (tmp_path / "b" / "infections.csv").read_bytes()


def test_batched_estimates_equal_fit_sccs_one_outcome_at_a_time() -> None:
    """on_ivig_many (stacked cohort, fit_many) against the study's own fit_sccs per outcome."""
    from dataclasses import replace as dc_replace

    from analysis.study import fit_sccs
    from analysis.synthetic.simulate import to_cohort

    tables = simulate_cohort(6)
    cohort = to_cohort(tables)
    events = {"infections": cohort.infections[["patient_id", "date"]],
              "p": nc.control_events(tables, PROMPTING)[["patient_id", "date"]],
              "f": nc.control_events(tables, FALLS)[["patient_id", "date"]],
              "none": cohort.infections[["patient_id", "date"]].iloc[:0]}
    got = nc.on_ivig_many(cohort, events).set_index("name")
    for name in ("infections", "p", "f"):
        e = events[name]
        alone = dc_replace(cohort, infections=pd.DataFrame({
            "patient_id": e["patient_id"].to_numpy(object), "date": e["date"].to_numpy(),
            "grade": pd.array([2] * len(e), "Int64"), "site": np.nan, "organism": np.nan,
            "anc": np.nan, "alc": np.nan}))
        s = fit_sccs(alone if name != "infections" else cohort, "all").summary.loc["on_ivig"]
        assert got.loc[name, "log_rr"] == pytest.approx(np.log(s["irr"]), abs=1e-8)
        assert got.loc[name, "se"] == pytest.approx(s["se"], abs=1e-8)
    assert np.isnan(got.loc["none", "log_rr"])
