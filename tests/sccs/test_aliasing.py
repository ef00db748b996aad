"""The library's one aliasing rule (analysis.sccs._aliasing) and its use by every fitter.

The reference for "which columns are aliased" is independent of the code under test: the rank
(numpy's SVD ``matrix_rank``) of the explicit design with one dummy per stratum, grown a
column at a time in formula order.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.sccs import SCCS, SCCSWarning, fit_many
from analysis.sccs._aliasing import R_TOL, detect
from analysis.sccs.r._formula import aliased as r_aliased

ROOT = Path(__file__).resolve().parents[2]


def _rank_reference(X: np.ndarray, stratum: np.ndarray) -> list[bool]:
    """Aliased columns by the rank of [stratum dummies, earlier kept columns, column]."""
    D = (stratum[:, None] == np.unique(stratum)[None, :]).astype(float)
    kept: list[np.ndarray] = []
    out = []
    for k in range(X.shape[1]):
        base = np.column_stack([D, *kept]) if kept else D
        grows = (np.linalg.matrix_rank(np.column_stack([base, X[:, k]]))
                 > np.linalg.matrix_rank(base))
        out.append(not grows)
        if grows:
            kept.append(X[:, k])
    return out


def test_planted_dependencies_match_the_rank_of_the_explicit_design() -> None:
    rng = np.random.default_rng(17)
    stratum = np.repeat(np.arange(40), 6)
    n = len(stratum)
    expo = rng.integers(0, 2, n).astype(float)
    age = rng.integers(0, 3, n).astype(float)
    sex = np.repeat(rng.integers(0, 2, 40), 6).astype(float)        # constant within case
    cases = np.column_stack([expo, age, sex, expo + 2 * age,        # combination
                             expo * sex + rng.normal(0, 1, n),      # genuine
                             sex * 3 - 1 + 0.5 * age])              # case constant + age
    found = detect(cases, stratum, rng.uniform(0.5, 2.0, n))
    assert found.aliased[0].tolist() == _rank_reference(cases, stratum)
    assert found.aliased[0].tolist() == [False, False, True, True, False, True]
    assert found.constant[0].tolist() == [False, False, True, False, False, False]


@pytest.mark.parametrize(("delta", "is_aliased"), [(1e-4, False), (1e-5, False), (1e-9, True)])
def test_nearly_aliased_is_not_aliased_and_rounding_level_is(delta: float,
                                                              is_aliased: bool) -> None:
    """x2 = x1 + delta * z: its estimable share is about delta, against the rule's
    tolerance R_TOL ~ 1.3e-6 (R's coxph: eps^(3/4) on the information)."""
    rng = np.random.default_rng(3)
    stratum = np.repeat(np.arange(200), 5)
    x1 = rng.normal(0, 1, len(stratum))
    X = np.column_stack([x1, x1 + delta * rng.normal(0, 1, len(stratum))])
    assert detect(X, stratum, np.ones(len(stratum))).dependent[0].tolist() == [False,
                                                                              is_aliased]
    assert (delta < R_TOL) == is_aliased


def test_a_column_constant_within_every_case_is_aliased_whatever_its_units() -> None:
    """Exactly constant, or varying at the level of rounding, with any offset and scale."""
    stratum = np.repeat(np.arange(30), 4)
    rng = np.random.default_rng(5)
    expo = rng.integers(0, 2, len(stratum)).astype(float)
    year = np.repeat(rng.integers(1990, 2020, 30), 4).astype(float) * 1e6
    noisy = year * (1 + rng.uniform(-1, 1, len(stratum)) * 4e-16)
    found = detect(np.column_stack([expo, year, noisy]), stratum, np.ones(len(stratum)))
    assert found.constant[0].tolist() == [False, True, True]
    # a genuine within-case variation of a column with a huge offset is not aliased
    days = 2e4 + np.tile(np.arange(4.0), 30)
    assert not detect(days[:, None], stratum, np.ones(len(stratum))).aliased.any()


def test_rows_without_weight_carry_no_information() -> None:
    """x varies only in the rows of weight 0 (e.g. strata without events): aliased."""
    stratum = np.array([0, 0, 1, 1])
    X = np.array([[1.0], [1.0], [0.0], [1.0]])
    assert detect(X, stratum, np.array([1.0, 2, 0, 0])).constant.tolist() == [[True]]
    assert detect(X, stratum, np.array([1.0, 2, 1, 1])).constant.tolist() == [[False]]


def test_blocks_are_judged_separately() -> None:
    """Block 1's second column equals its first; block 0's does not."""
    stratum = np.repeat(np.arange(4), 3)
    block = np.repeat([0, 0, 1, 1], 3)
    x1 = np.array([0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0], float)
    x2 = np.where(block == 1, x1, [0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    found = detect(np.column_stack([x1, x2]), stratum, np.ones(12), row_block=block,
                   n_blocks=2)
    assert found.dependent.tolist() == [[False, False], [False, True]]


def _standard_data() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n_cases = 60
    ids = np.repeat(np.arange(n_cases), 3)
    exposed = np.tile([0.0, 1.0, 0.0], n_cases)
    late = np.tile([0.0, 0.0, 1.0], n_cases)
    return pd.DataFrame({"id": ids, "exposed": exposed, "late": late,
                         "sex": np.repeat(rng.integers(0, 2, n_cases), 3).astype(float),
                         "days": np.tile([100.0, 30.0, 200.0], n_cases),
                         "events": rng.poisson([1.0, 0.6, 2.0] * n_cases)})


def test_every_fitter_applies_the_rule() -> None:
    """Constant within every case: the standard and batched fits and the R port report it NaN
    (R prints NA) with an SCCSWarning, the event-dependent exposure model too (the library's
    one reporting rule); nearly aliased is fitted."""
    data = _standard_data()
    data = data[data.groupby("id")["events"].transform("sum") > 0]
    with pytest.warns(SCCSWarning, match=r"\['sex'\] do not vary within any case"):
        fit = SCCS().fit(data, ["exposed", "sex"])
    assert fit.aliased == ["sex"] and np.isnan(fit.params["sex"])
    assert np.isfinite(fit.params["exposed"])
    both = pd.concat([data.assign(rep=1), data.assign(rep=2)])
    many = fit_many(both, ["exposed", "sex"])  # warnings are kept per replicate, not raised
    assert many.aliased == [["sex"], ["sex"]]
    assert np.isnan(many.coef[:, 1]).all() and np.isfinite(many.coef[:, 0]).all()
    assert all(any("['sex'] do not vary within any case" in n for n in notes)
               for notes in many.notes)
    X = data[["exposed", "sex"]].to_numpy()
    assert r_aliased(X, data["id"].to_numpy(), data["days"].to_numpy(),
                     data["events"].to_numpy()).tolist() == [False, True]
    # x2 differs from exposed by 1e-2 noise: estimated, with the large SEs that near-aliasing
    # implies (about 10 here), not reported aliased
    z = np.random.default_rng(2).normal(size=len(data))
    fit = SCCS().fit(data.assign(x2=data["exposed"] + 1e-2 * z), ["exposed", "x2"])
    assert np.isfinite(fit.params).all() and (fit.bse > 1).all() and (fit.bse < 100).all()


def test_eventdep_exposure_names_an_aliased_covariate() -> None:
    from test_sccs_ext import ROT_AGE, _rot

    from analysis.sccs.eventdep_exposure import fit_eventdep_exposure
    from analysis.sccs.intervals import StepCovariate

    obs, ev, doses = _rot()  # R's rotdat, with a covariate constant within each case
    ids = obs["id"].drop_duplicates()
    sex = StepCovariate("sex", pd.DataFrame({"id": ids, "day": obs.groupby("id")["start"].min()
                                             .loc[ids].to_numpy(), "value": 1 + ids % 2}))
    base = fit_eventdep_exposure(obs, ev, doses, windows=((1, 21),), covariates=[ROT_AGE])
    with pytest.warns(SCCSWarning, match="aliased"):
        fit = fit_eventdep_exposure(obs, ev, doses, windows=((1, 21),),
                                    covariates=[ROT_AGE, sex])
    assert fit.aliased == [t for t in fit.params.index if t.startswith("sex")]
    assert fit.aliased and all(np.isnan(fit.params[t]) for t in fit.aliased)
    # the other terms are the fit without it (to the fit's convergence tolerance)
    np.testing.assert_allclose(fit.params.drop(fit.aliased), base.params, rtol=1e-7)


SEMI_SCRIPT = """
import sys, numpy as np
sys.path.insert(0, "tests/sccs")
from test_sccs_ext import _itp
from analysis.sccs.semiparametric import fit_semiparametric
_, ev, iv = _itp()
terms = ["factor(sex)2", "mmr1", "mmr2", "mmr3",
         "factor(sex)2:mmr1", "factor(sex)2:mmr2", "factor(sex)2:mmr3"]
fit = fit_semiparametric(iv, ev, terms, age_prefix="factor(age)", unique_days=True)
print(fit.aliased, bool(np.isnan(fit.params["factor(sex)2"])))
"""


def test_semiparametric_aliasing_does_not_depend_on_the_blas_kernel() -> None:
    """R's itp model 2 with sex (constant within each case) is NA under OpenBLAS's Haswell
    kernel too (before the rule it came back as a coefficient above 20 there); the test in
    test_sccs_ext.py checks it under this process's kernel, and ``make test`` runs tests/sccs
    under both."""
    env = dict(os.environ, OPENBLAS_CORETYPE="Haswell")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    out = subprocess.run([sys.executable, "-c", SEMI_SCRIPT], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[0] == "['factor(sex)2'] True"


def test_batched_fit_names_collinear_terms_per_replicate() -> None:
    """Replicates where ``both`` = ``exposed`` + ``late`` report ``both`` aliased; the others
    fit."""
    data = _standard_data()
    data = data[data.groupby("id")["events"].transform("sum") > 0]
    reps = []
    for r in range(6):
        d = data.assign(rep=r, both=data["exposed"] + data["late"])
        if r % 2:
            d["both"] += np.random.default_rng(r).normal(0, 1, len(d))
        reps.append(d)
    many = fit_many(pd.concat(reps), ["exposed", "late", "both"])
    for r in range(6):
        if r % 2:
            assert many.errors[r] is None and np.isfinite(many.coef[r]).all()
        else:
            # the last of a collinear set is aliased (NaN), the others estimated
            assert many.errors[r] is None and many.aliased[r] == ["both"]
            assert np.isfinite(many.coef[r, :2]).all() and np.isnan(many.coef[r, 2])
