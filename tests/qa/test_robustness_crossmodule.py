"""Cross-module properties on the canonical synthetic cohort: every path to a number agrees.

What and why: the same quantity reaches the reader by several routes -- the engine, the study
API, the command line, the model menu the book tabulates, the descriptive rates. A mismatch
between routes is a bug in one of them, whichever. And the engine's answer is checked against an
independent method: the SCCS conditional likelihood equals an ordinary Poisson regression with one
fixed effect per case and ``log(days)`` as offset (Farrington & Whitaker 2006; the case effects are
the nuisance parameters the conditioning removes), so statsmodels' GLM must give the same
coefficients and standard errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis import SYNTHETIC_DIR
from analysis.study import fit_sccs, sccs_menu, study_intervals
from analysis.study.cohort import load_cohort
from analysis.study.descriptive import infection_rates


@pytest.fixture(scope="module")
def cohort():
    return load_cohort(SYNTHETIC_DIR)


def _poisson_fixed_effects(data: pd.DataFrame, terms: list[str]) -> tuple[pd.Series, pd.Series]:
    """Unconditional Poisson GLM with a dummy per case and offset log(days) (statsmodels)."""
    import statsmodels.api as sm

    cases = data.groupby("id")["events"].transform("sum") > 0
    d = data[cases].reset_index(drop=True)
    fe = pd.get_dummies(d["id"], prefix="case", dtype=float)
    X = pd.concat([d[terms].astype(float), fe], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(
            d["events"].astype(float), X, family=sm.families.Poisson(),
            offset=np.log(d["days"].astype(float)),
        ).fit(tol=1e-12, maxiter=200)
    return res.params[terms], res.bse[terms]


@pytest.mark.parametrize(
    "options",
    [{}, {"outcome": "grade3"}, {"pre_window": 60, "adjust": ("season", "progression")}],
    ids=["primary", "grade3", "pre60+season+progression"],
)
def test_sccs_equals_poisson_with_case_fixed_effects(cohort, options: dict) -> None:
    fit = fit_sccs(cohort, **options)
    outcome = options.get("outcome", "all")
    rest = {k: v for k, v in options.items() if k != "outcome"}
    data = study_intervals(cohort, outcome, cases_only=True, **rest)
    params, bse = _poisson_fixed_effects(data, list(fit.params.index))
    np.testing.assert_allclose(fit.params.to_numpy(), params.to_numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fit.bse.to_numpy(), bse.to_numpy(), rtol=1e-5)


@pytest.mark.parametrize(
    ("args", "options"),
    [
        ([], {}),
        (["--outcome", "grade3", "--pre-window", "30", "--adjust", "season"],
         {"outcome": "grade3", "pre_window": 30, "adjust": ("season",)}),
    ],
    ids=["primary", "grade3-pre30-season"],
)
def test_cli_json_equals_the_study_api(cohort, args: list[str], options: dict) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "sccs", str(SYNTHETIC_DIR), "--format", "json", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    fit = fit_sccs(cohort, **options)
    assert (out["n_cases"], out["n_events"]) == (fit.n_cases, fit.n_events)
    assert out["loglik"] == pytest.approx(fit.loglik, rel=1e-12)
    summary = fit.summary
    assert [t["term"] for t in out["terms"]] == list(summary.index)
    for t in out["terms"]:
        for col in ("irr", "ci_low", "ci_high", "p", "log_irr", "se"):
            assert t[col] == pytest.approx(summary.loc[t["term"], col], rel=1e-12), (t, col)


def test_model_menu_equals_individual_fits(cohort) -> None:
    """The table the book prints (sccs_menu) holds exactly what fit_sccs returns."""
    menu = sccs_menu(cohort)
    primary = menu[(menu["model"] == "primary_all") & (menu["term"] == "on_ivig")]
    assert len(primary) == 1
    fit = fit_sccs(cohort)
    row = primary.iloc[0]
    assert row["irr"] == pytest.approx(fit.summary.loc["on_ivig", "irr"], rel=1e-12)
    assert row["ci_low"] == pytest.approx(fit.summary.loc["on_ivig", "ci_low"], rel=1e-12)
    assert (row["n_cases"], row["n_events"]) == (fit.n_cases, fit.n_events)


def test_rates_person_time_and_events_match_the_raw_tables(cohort) -> None:
    """Descriptive rates (study_descriptive) vs a direct count from the cohort's tables."""
    p = cohort.patients
    start = p["dara_start"]
    # the contract: observation ends at the earliest of dara_last + 30, death and last contact
    end = p["dara_last"] + pd.Timedelta(days=30)
    for column in ("death_date", "last_contact"):
        if column in p:
            end = end.where(p[column].isna() | (p[column] >= end), p[column])
    days = (end - start).dt.days + 1
    inf = cohort.infections.merge(
        pd.DataFrame({"patient_id": p["patient_id"], "group": p["group"], "s": start, "e": end}),
        on="patient_id",
    )
    inf = inf[(inf["date"] >= inf["s"]) & (inf["date"] <= inf["e"])]
    rates = infection_rates(cohort).set_index(["period", "season"])
    for group, period in (("ivig", "ivig_all"), ("reference", "reference")):
        row = rates.loc[(period, "all")]
        assert row["days"] == days[p["group"] == group].sum()
        assert row["events"] == (inf["group"] == group).sum()
        assert row["n_patients"] == (p["group"] == group).sum()
    on, off = rates.loc[("on_ivig", "all")], rates.loc[("observation", "all")]
    assert on["days"] + off["days"] == rates.loc[("ivig_all", "all"), "days"]
    assert on["events"] + off["events"] == rates.loc[("ivig_all", "all"), "events"]
    seasons = rates.loc[[("ivig_all", "fall_winter"), ("ivig_all", "spring_summer")], "days"]
    assert seasons.sum() == rates.loc[("ivig_all", "all"), "days"]
