"""One results API and one error family across the library's fitters (issue 17, section 4).

Every fitter's result answers statsmodels' questions (``params``, ``bse``, ``pvalues``,
``conf_int()``, ``cov_params()``, ``summary``, ``loglik``, ``n_cases``, ``n_events``,
``aliased``, ``converged``) with the same summary columns, and reports a term the data do not
determine the same way: NaN, listed in ``aliased``, with an SCCSWarning. The expected numbers
are not the code's own: the summary is checked against the Wald formulas computed here from
``params`` and ``bse`` with scipy.stats, and an aliased fit against the fit of the model
without the aliased term. The hierarchy test reads the source with ``ast``, so a new exception
class or a bare warning anywhere in ``analysis/sccs`` fails it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import analysis.sccs as package
from analysis import DATA_DIR
from analysis.sccs import (
    SCCS,
    SUMMARY_COLUMNS,
    Estimates,
    NotFittedError,
    SCCSError,
    SCCSWarning,
    build_intervals,
    fit_eventdep_exposure,
    fit_semiparametric,
    try_fit,
)
from analysis.sccs.eventdep_observation import fit_eventdep_observation
from analysis.sccs.intervals import Exposure, StepCovariate
from analysis.sccs.smooth import fit_smooth, season

N = 80


def cohort(seed: int = 3) -> dict[str, pd.DataFrame]:
    """Observation from age 0 to 719 days, one dose each, events more frequent in the 30 days
    after the dose, a fixed covariate ``sex`` (constant within each case: aliased)."""
    rng = np.random.default_rng(seed)
    dose = rng.integers(100, 600, N)
    rows = []
    for i in range(N):
        base = rng.integers(0, 720, rng.poisson(1.2))
        risk = dose[i] + rng.integers(0, 30, rng.poisson(0.6))
        rows += [(i, int(d)) for d in np.r_[base, risk] if d < 720]
    events = pd.DataFrame(rows, columns=["id", "day"]).drop_duplicates()
    obs = pd.DataFrame({"id": range(N), "start": 0, "end": 719})
    return {"observation": obs, "events": events,
            "doses": pd.DataFrame({"id": range(N), "day": dose, "dose": 1}),
            "sex": pd.DataFrame({"id": range(N), "sex": np.arange(N) % 2})}


def intervals(c: dict[str, pd.DataFrame], **kw) -> pd.DataFrame:
    ex = Exposure("x", c["doses"][["id", "day"]], ((0, 29),))
    iv = build_intervals(c["observation"], c["events"], [ex], **kw)
    iv["x1"] = (iv["x"] == 1).astype(float)
    return iv.merge(c["sex"], on="id")


def standard(c: dict, terms: list[str]) -> Estimates:
    return SCCS().fit(intervals(c), terms)


def semiparametric(c: dict, terms: list[str]) -> Estimates:
    return fit_semiparametric(intervals(c), c["events"], terms)


def smooth_ml(c: dict, terms: list[str], penalty: float = 0.0) -> Estimates:
    s = season(df=3)
    return fit_smooth(intervals(c, covariates=[s.covariate]), terms, [s], penalty=penalty)


def smooth_ridge(c: dict, terms: list[str]) -> Estimates:
    return smooth_ml(c, terms, penalty=10.0)


def fixed_sex(c: dict, terms: list[str]) -> list[StepCovariate]:
    """``sex`` as a covariate of the interval builder (a value from day 0 on), if asked for."""
    sex = c["sex"].assign(day=0).rename(columns={"sex": "value"})
    return [StepCovariate("sex", sex)] if "sex" in terms else []


def eventdep_exposure(c: dict, terms: list[str]) -> Estimates:
    """On R's rotdat (the simulated cohort above has too few exposed cases for the 2009
    estimator); ``sex`` a fixed covariate alternating by case."""
    d = pd.read_csv(DATA_DIR / "external" / "sccs-r-ext" / "data" / "rotdat.csv")
    obs = d[["case", "sta", "end"]].set_axis(["id", "start", "end"], axis=1)
    doses = pd.concat([pd.DataFrame({"id": d["case"], "day": d["rv"], "dose": 1}),
                       pd.DataFrame({"id": d["case"], "day": d["rvd2"], "dose": 2})])
    sex = pd.DataFrame({"id": d["case"], "sex": d["case"] % 2})
    return fit_eventdep_exposure(obs, d[["case", "intus"]].set_axis(["id", "day"], axis=1),
                                 doses, windows=((1, 21),), name="x",
                                 covariates=fixed_sex({"sex": sex}, terms))


def eventdep_observation(c: dict, terms: list[str]) -> Estimates:
    first = c["events"].groupby("id", as_index=False)["day"].min()
    obs = c["observation"][c["observation"]["id"].isin(first["id"])].copy()
    day = obs["id"].map(first.set_index("id")["day"])
    cens = (obs["id"] % 3 == 0) & (day + 60 < 719)  # a third end early, after their event
    obs["end"] = np.where(cens, day + 60, obs["end"])
    obs["censored"] = cens.astype(int)
    ex = Exposure("x", c["doses"][["id", "day"]], ((0, 29),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the optimiser's trial points
        res = fit_eventdep_observation(obs[["id", "start", "end", "censored"]], first, [ex],
                                       fixed_sex(c, terms))
    return res


FITTERS: dict[str, Callable[[dict, list[str]], Estimates]] = {
    "SCCS.fit": standard, "fit_semiparametric": semiparametric, "fit_smooth": smooth_ml,
    "fit_smooth(penalty)": smooth_ridge, "fit_eventdep_exposure": eventdep_exposure,
    "fit_eventdep_observation": eventdep_observation,
}
#: The exposure term each fitter names (eventdep_exposure numbers its windows from 1).
EXPOSURE = {"fit_eventdep_exposure": "x1"}


def fitted(name: str, terms: list[str]) -> tuple[Estimates, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = FITTERS[name](cohort(), terms)
    return fit, [w for w in caught if w.category is not RuntimeWarning]


@pytest.mark.parametrize("name", FITTERS)
def test_every_fitter_answers_the_results_api(name: str) -> None:
    fit, _ = fitted(name, ["x1"])
    assert isinstance(fit, Estimates)
    term = EXPOSURE.get(name, "x1")
    assert term in fit.params.index and fit.converged and fit.aliased == []
    assert fit.n_cases > 0 and fit.n_events >= fit.n_cases and np.isfinite(fit.loglik)
    b, se = fit.params, fit.bse
    cov = fit.cov_params()
    np.testing.assert_allclose(np.sqrt(np.diag(cov.to_numpy())), se.to_numpy(), rtol=1e-12)
    # the Wald numbers, recomputed here with scipy.stats
    z = b / se
    np.testing.assert_allclose(fit.pvalues, 2 * stats.norm.sf(np.abs(z)), rtol=1e-10)
    for alpha in (0.05, 0.1):
        q = stats.norm.ppf(1 - alpha / 2)
        ci = fit.conf_int(alpha)
        assert list(ci.columns) == ["lower", "upper"]
        np.testing.assert_allclose(ci["lower"], b - q * se, rtol=1e-12)
        np.testing.assert_allclose(ci["upper"], b + q * se, rtol=1e-12)
    s = fit.summary
    assert tuple(s.columns) == SUMMARY_COLUMNS and s.attrs["alpha"] == fit.alpha == 0.05
    q = stats.norm.ppf(0.975)
    np.testing.assert_allclose(s["irr"], np.exp(b), rtol=1e-12)
    np.testing.assert_allclose(s["ci_low"], np.exp(b - q * se), rtol=1e-12)
    np.testing.assert_allclose(s["ci_high"], np.exp(b + q * se), rtol=1e-12)
    np.testing.assert_allclose(s["p"], fit.pvalues, rtol=1e-12)
    np.testing.assert_allclose(s[["log_irr", "se", "z"]], np.c_[b, se, z], rtol=1e-12)


@pytest.mark.parametrize("name", FITTERS)
def test_conf_int_methods(name: str) -> None:
    fit, _ = fitted(name, ["x1"])
    with pytest.raises(SCCSError, match=r"method must be 'wald' or 'profile'.*'exact'"):
        fit.conf_int(method="exact")
    if name == "SCCS.fit":
        prof = fit.conf_int(method="profile")
        assert (prof["lower"] < fit.params).all() and (fit.params < prof["upper"]).all()
    else:
        with pytest.raises(SCCSError, match=f"'profile' is not available for {type(fit).__name__}"):
            fit.conf_int(method="profile")


@pytest.mark.parametrize("name", FITTERS)
def test_aliased_term_is_nan_listed_and_warned_in_every_fitter(name: str) -> None:
    """One rule: a covariate constant within every case (sex) is NaN with an SCCSWarning
    naming it, and the other estimates are those of the model without it."""
    fit, caught = fitted(name, ["x1", "sex"])
    alone, _ = fitted(name, ["x1"])
    sex = [t for t in fit.params.index if t.startswith("sex")]  # sex, or the dummy sex1.0
    assert len(sex) == 1 and fit.aliased == sex
    assert np.isnan(fit.params[sex[0]]) and np.isnan(fit.bse[sex[0]])
    assert fit.summary.loc[sex[0]].isna().all() and np.isnan(fit.pvalues[sex[0]])
    assert fit.cov_params().loc[sex[0]].isna().all()
    assert any(w.category is SCCSWarning and sex[0] in str(w.message) and "NaN" in str(w.message)
               for w in caught)
    kept = alone.params.index
    np.testing.assert_allclose(fit.params[kept], alone.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.bse[kept], alone.bse, rtol=1e-8)
    assert tuple(fit.summary.columns) == SUMMARY_COLUMNS


# ---- the error and warning family ------------------------------------------------------------


def _library_modules() -> list[str]:
    return ["analysis.sccs", *sorted(m.name for m in pkgutil.walk_packages(
        package.__path__, "analysis.sccs."))]


def test_every_exception_class_is_an_sccs_error() -> None:
    found = []
    for name in _library_modules():
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if (inspect.isclass(obj) and obj.__module__ == name
                    and issubclass(obj, BaseException)):
                found.append(obj)
                if issubclass(obj, Warning):
                    assert issubclass(obj, SCCSWarning), obj
                else:
                    assert issubclass(obj, SCCSError) and issubclass(obj, ValueError), obj
    assert len(found) >= 9  # SCCSError, NotFittedError, IntervalError, PowerError, ...


def _warn_categories(tree: ast.AST) -> list[tuple[int, str | None]]:
    """(line, category source) of every ``warnings.warn(...)`` call; None when bare."""
    out = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "warn" and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "warnings"):
            cat = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "category"), None)
            out.append((node.lineno, None if cat is None else ast.unparse(cat)))
    return out


def test_every_warning_the_library_emits_is_an_sccs_warning() -> None:
    root = Path(package.__file__).parent
    seen = 0
    for path in sorted(root.rglob("*.py")):
        name = ".".join(path.relative_to(root.parent.parent).with_suffix("").parts)
        module = importlib.import_module(name.removesuffix(".__init__"))
        for line, cat in _warn_categories(ast.parse(path.read_text(encoding="utf-8"))):
            seen += 1
            assert cat is not None, f"{path.name}:{line}: warnings.warn without a category"
            obj = eval(cat, vars(module))  # a name from the library's own source
            assert issubclass(obj, SCCSWarning), f"{path.name}:{line}: category {cat}"
    assert seen >= 10


def test_the_source_scan_catches_a_bare_warning() -> None:
    tree = ast.parse("import warnings\nwarnings.warn('x')\nwarnings.warn('y', UserWarning)\n")
    assert _warn_categories(tree) == [(2, None), (3, "UserWarning")]


def test_unfitted_model_has_no_fitted_attributes() -> None:
    for name in ("params", "bse", "pvalues", "aliased", "summary", "conf_int", "n_cases"):
        assert hasattr(SCCS(), name) is False, name
    with pytest.raises(NotFittedError, match="fit\\(\\) returns the results"):
        SCCS().params  # noqa: B018
    assert issubclass(NotFittedError, AttributeError) and issubclass(NotFittedError, SCCSError)
    with pytest.raises(AttributeError):
        SCCS().no_such_thing  # noqa: B018


def test_a_singular_matrix_in_a_fit_is_an_sccs_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """numpy's LinAlgError from the covariance inversion surfaces as an SCCSError."""
    import analysis.sccs.model as model

    def singular(a: np.ndarray) -> np.ndarray:
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(model.np.linalg, "inv", singular)
    with pytest.raises(SCCSError, match=r"SCCS.fit \(covariance\): a matrix of the fit is"):
        standard(cohort(), ["x1"])


# ---- try_fit ---------------------------------------------------------------------------------


def test_try_fit_returns_the_fit_and_its_warnings() -> None:
    iv = intervals(cohort())
    fit, reason, caught = try_fit(SCCS().fit, iv, ["x1", "sex"])
    assert reason is None and fit.aliased == ["sex"]
    assert len(caught) == 1 and "['sex'] do not vary within any case" in caught[0]


def test_try_fit_says_why_not_in_one_line() -> None:
    iv = intervals(cohort()).assign(events=0)
    fit, reason, caught = try_fit(SCCS().fit, iv, ["x1"])
    assert fit is None and caught == ()
    assert reason == "no events: column 'events' is 0 in every row, so there are no cases"
    # a subclass (here the interval builder's) is caught too, with its first line only
    fit, reason, _ = try_fit(build_intervals, pd.DataFrame({"id": [1], "start": [0]}),
                             pd.DataFrame())
    assert fit is None and reason.startswith("observation: missing column(s) end")
    assert "\n" not in reason


def test_try_fit_lets_bugs_through() -> None:
    def broken() -> None:
        raise KeyError("a bug, not a model the data cannot support")

    with pytest.raises(KeyError):
        try_fit(broken)
    with pytest.raises(TypeError):
        try_fit(SCCS().fit)  # missing arguments: the caller's bug


def test_try_fit_catches_every_library_error() -> None:
    from analysis.sccs.power import PowerError, sample_size

    fit, reason, _ = try_fit(sample_size, 1.0, 21, 366, 730, 0.5)
    assert fit is None and reason == "relative_incidence must be > 0 and != 1; got 1.0"
    assert issubclass(PowerError, SCCSError)
