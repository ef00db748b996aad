"""fit_many against the single fit (analysis.sccs.SCCS), replicate by replicate.

The reference is the engine itself, run on each replicate's rows alone: fit_many must give the
same estimates, standard errors, log-likelihoods, infinite estimates (same sign, same rule for
the other terms), warnings and errors. Plus a hand-worked closed form.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.sccs import SCCS, SCCSError, SCCSWarning, fit_many
from analysis.sccs.results import SUMMARY_COLUMNS


def stacked(n_reps: int = 12, n: int = 25, seed: int = 1) -> pd.DataFrame:
    """Replicates of small SCCS data sets with three 0/1 terms and one continuous term."""
    rng = np.random.default_rng(seed)
    frames = []
    for r in range(n_reps):
        k = rng.integers(2, 6, n)
        ids = np.repeat(np.arange(n), k)
        m = len(ids)
        x = rng.integers(0, 2, (m, 3))
        c = rng.normal(size=m)
        days = rng.integers(5, 90, m).astype(float)
        lp = 0.4 * x[:, 0] - 0.6 * x[:, 1] + 0.2 * x[:, 2] + 0.3 * c + rng.normal(0, .5, n)[ids]
        frames.append(pd.DataFrame({"rep": r, "id": ids, "days": days, "x0": x[:, 0],
                                    "x1": x[:, 1], "x2": x[:, 2], "c": c,
                                    "events": rng.poisson(0.02 * np.exp(lp) * days)}))
    data = pd.concat(frames, ignore_index=True)
    # replicate 1: no events where x2 = 1 (-inf); replicate 2: all events where x1 = 1 (+inf)
    # and none where x2 = 1 (two terms at their limit); replicate 3: x0 constant within cases
    # (aliased: NaN, as the single fit reports it); replicate 4: no events at all
    data.loc[(data["rep"] == 1) & (data["x2"] == 1), "events"] = 0
    data.loc[(data["rep"] == 2) & ((data["x1"] == 0) | (data["x2"] == 1)), "events"] = 0
    r3 = data["rep"] == 3
    data.loc[r3, "x0"] = data.loc[r3, "id"] % 2
    data.loc[data["rep"] == 4, "events"] = 0
    return data


@pytest.mark.parametrize("terms", [["x0", "x1", "x2"], ["x0", "c"], ["x2"]])
def test_fit_many_equals_single_fit(terms: list[str]) -> None:
    data = stacked()
    many = fit_many(data, terms)
    assert list(many.reps) == list(range(12))
    for r in range(12):
        rows = data[data["rep"] == r]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                one = SCCS().fit(rows, terms)
            except SCCSError as e:
                assert many.errors[r] == str(e)
                assert np.isnan(many.coef[r]).all() and not many.converged[r]
                continue
        assert many.errors[r] is None
        assert many.aliased[r] == one.aliased
        assert many.notes[r] == [str(w.message) for w in caught if w.category is SCCSWarning]
        np.testing.assert_array_equal(np.isinf(many.coef[r]), np.isinf(one.params))
        fin = np.isfinite(one.params.to_numpy())
        np.testing.assert_array_equal(many.finite[r], fin)
        np.testing.assert_allclose(many.coef[r], one.params.to_numpy(), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(many.se[r][fin], one.bse.to_numpy()[fin], rtol=1e-7)
        assert many.loglik[r] == pytest.approx(one.loglik, abs=1e-8)
        assert many.loglik_null[r] == pytest.approx(one.loglik_null, abs=1e-8)
        assert many.n_cases[r] == one.n_cases and many.n_events[r] == one.n_events
        assert many.converged[r] == one.converged and many.n_iter[r] == one.n_iter
        f = many.frame(terms[0]).iloc[r]
        s = one.summary.iloc[0]
        np.testing.assert_allclose(f[list(SUMMARY_COLUMNS)].to_numpy(dtype=float),
                                   s[list(SUMMARY_COLUMNS)].to_numpy(dtype=float), rtol=1e-6)


def test_fit_many_rules_on_the_planted_replicates() -> None:
    many = fit_many(stacked(), ["x0", "x1", "x2"])
    assert many.coef[1, 2] == -np.inf and many.finite[1, :2].all()
    assert many.coef[2, 1] == np.inf and many.coef[2, 2] == -np.inf
    assert many.errors[3] is None and many.aliased[3] == ["x0"]
    assert np.isnan(many.coef[3, 0]) and np.isfinite(many.coef[3, 1:]).all()
    assert any("do not vary within any case" in n for n in many.notes[3])
    assert many.errors[4].startswith("no events") and many.n_cases[4] == 0


def test_fit_many_hand_worked() -> None:
    """One case: closed form (a/x)/(b/u), binomial information n p (1 - p), p = 2/5."""
    data = pd.DataFrame({"rep": [0, 0], "id": [1, 1], "days": [40, 200], "events": [2, 3],
                         "exposed": [1, 0]})
    fit = fit_many(data, ["exposed"])
    assert math.exp(fit.coef[0, 0]) == pytest.approx((2 / 40) / (3 / 200), rel=1e-12)
    assert fit.se[0, 0] == pytest.approx(1 / math.sqrt(5 * 0.4 * 0.6), rel=1e-10)


def test_fit_many_bad_input_names_column_and_rows() -> None:
    data = stacked(2)
    with pytest.raises(SCCSError, match="missing column"):
        fit_many(data.drop(columns="rep"), ["x0"])
    bad = data.copy()
    bad.loc[3, "days"] = 0
    with pytest.raises(SCCSError, match=r"'days'.*row 5"):
        fit_many(bad, ["x0"])
    with pytest.raises(SCCSError, match="no events"):
        fit_many(data.assign(events=0), ["x0"])
