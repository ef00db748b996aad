"""Smooth time effects (analysis.sccs.smooth) against independent references.

* the unpenalised fit equals a fixed-effects Poisson GLM (statsmodels, one dummy per individual,
  offset log(days)) on the same basis columns;
* the penalised fit equals a direct numerical maximisation (scipy BFGS) of
  conditional_loglik - penalty / 2 |gamma|^2, and tends to the unpenalised fit as penalty -> 0;
* the cyclic season basis is periodic (value and slope) and the gathered design equals patsy
  evaluated row by row at each interval's own segment midpoint.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import patsy
import pytest
import statsmodels.api as sm
from scipy import optimize

from analysis.sccs import Exposure, SCCSError, build_intervals, conditional_loglik
from analysis.sccs.smooth import age, calendar_time, fit_smooth, month_starts, season

DAY0 = int(np.datetime64("2016-01-01", "D").astype(np.int64))


def _cohort(n: int = 60, seed: int = 4):
    """Calendar-day cohort: 1-2 years of observation, one exposure, seasonal events."""
    rng = np.random.default_rng(seed)
    start = DAY0 + rng.integers(0, 200, n)
    end = start + rng.integers(365, 730, n)
    obs = pd.DataFrame({"id": np.arange(n), "start": start, "end": end})
    rows = []
    for i in range(n):  # small test data: a loop over 60 people is fine here
        days = np.arange(start[i], end[i] + 1)
        month = (days.astype("datetime64[D]").astype("datetime64[M]").astype(int) % 12) + 1
        rate = 0.004 * np.exp(0.6 * np.cos(2 * np.pi * (month - 1) / 12))
        k = rng.poisson(rate)
        rows.append(np.repeat(days, k))
    ev = pd.DataFrame({"id": np.repeat(np.arange(n), [len(r) for r in rows]),
                       "day": np.concatenate(rows)})
    dose = pd.DataFrame({"id": np.arange(n), "day": start + rng.integers(30, 300, n)})
    return obs, ev, Exposure("x", dose, windows=((0, 59),))


def _glm(data: pd.DataFrame, cols: list[str]) -> pd.Series:
    cases = data[data.groupby("id")["events"].transform("sum") > 0]
    ids = pd.get_dummies(cases["id"].astype(str), dtype=float)
    X = pd.concat([cases[cols].reset_index(drop=True), ids.reset_index(drop=True)], axis=1)
    res = sm.GLM(cases["events"].to_numpy(float), X, family=sm.families.Poisson(),
                 offset=np.log(cases["days"].to_numpy(float))).fit(tol=1e-13, maxiter=200)
    return res.params[cols]


def _design(iv: pd.DataFrame, smooth) -> pd.DataFrame:
    out = iv.copy()
    for s in smooth:
        d = s.design(iv[s.name].to_numpy())
        for c in d.columns:
            out[c] = d[c].to_numpy()
    return out


@pytest.fixture(scope="module")
def setup():
    obs, ev, expo = _cohort()
    s = season(df=4)
    c = calendar_time(int(obs["start"].min()), int(obs["end"].max()), knots=2)
    iv = build_intervals(obs, ev, [expo], [s.covariate, c.covariate])
    iv["x"] = (iv["x"] > 0).astype(int)
    return iv, [s, c]


def test_unpenalised_equals_fixed_effects_poisson_glm(setup):
    iv, smooth = setup
    fit = fit_smooth(iv, ["x"], smooth)
    data = _design(iv, smooth)
    cols = ["x", *smooth[0].columns, *smooth[1].columns]
    ref = _glm(data, cols)
    assert np.max(np.abs(fit.params[cols].to_numpy() - ref.to_numpy())) < 1e-6
    table = fit.summary
    assert np.allclose(table[["irr", "ci_low", "ci_high"]].to_numpy(),
                       fit.sccs.summary[["irr", "ci_low", "ci_high"]].to_numpy(), rtol=1e-12)


def test_penalty_to_zero_gives_unpenalised_fit(setup):
    iv, smooth = setup
    ml = fit_smooth(iv, ["x"], smooth)
    tiny = fit_smooth(iv, ["x"], smooth, penalty=1e-9)
    assert np.max(np.abs(tiny.params - ml.params)) < 1e-6
    assert abs(tiny.loglik - ml.loglik) < 1e-6
    # the structured Hessian of the penalised fit gives the model's standard errors
    assert np.max(np.abs(tiny.bse / ml.bse - 1)) < 1e-6


def test_penalised_fit_equals_direct_maximisation(setup):
    iv, smooth = setup
    lam = 5.0
    fit = fit_smooth(iv, ["x"], smooth, penalty=lam)
    data = _design(iv, smooth)
    data = data[data.groupby("id")["events"].transform("sum") > 0]
    cols = ["x", *smooth[0].columns, *smooth[1].columns]
    X = data[cols].to_numpy(float)
    pen = np.r_[0.0, np.full(len(cols) - 1, lam)]

    def neg(b):
        return -(conditional_loglik(b, X, data["days"], data["events"], data["id"])
                 - 0.5 * pen @ b**2)

    ref = optimize.minimize(neg, np.zeros(len(cols)), method="BFGS", options={"gtol": 1e-9})
    assert np.max(np.abs(fit.params[cols].to_numpy() - ref.x)) < 1e-4
    assert abs(-ref.fun - (fit.loglik - 0.5 * pen @ fit.params[cols].to_numpy() ** 2)) < 1e-8
    ml = fit_smooth(iv, ["x"], smooth)
    assert np.abs(fit.params[cols[1:]]).sum() < np.abs(ml.params[cols[1:]]).sum()


def test_cyclic_season_basis_is_periodic():
    s = season(df=5)
    b0, b12 = s.basis([0.0]), s.basis([12.0])
    assert np.allclose(b0, b12, atol=1e-12)
    h = 1e-5
    slope0 = (s.basis([h]) - b0) / h
    slope12 = (b12 - s.basis([12.0 - h])) / h
    assert np.allclose(slope0, slope12, atol=1e-3)
    assert len(s.columns) == 5


def test_design_equals_patsy_row_by_row(setup):
    iv, (s, c) = setup
    # every interval lies in one calendar month (the splitter cut at each month start)
    m0 = iv["start"].to_numpy().astype("datetime64[D]").astype("datetime64[M]")
    m1 = iv["end"].to_numpy().astype("datetime64[D]").astype("datetime64[M]")
    assert (m0 == m1).all()
    # calendar: the midpoint of each row's own month, evaluated directly by patsy
    first = m0.astype("datetime64[D]").astype(float)
    last = (m0 + 1).astype("datetime64[D]").astype(float) - 1
    mids = (first + last) / 2
    starts = month_starts(int(iv["start"].min()), int(iv["end"].max())).astype(float)
    seg = (starts[:-1] + starts[1:] - 1) / 2
    direct = np.asarray(patsy.dmatrix(
        f"bs(x, knots={tuple(np.linspace(seg[0], seg[-1], 4)[1:-1])!r}, lower_bound={seg[0]!r}, "
        f"upper_bound={seg[-1]!r}, degree=3) - 1", {"x": mids}))
    assert np.allclose(c.design(iv["calendar"]).to_numpy(), direct, atol=1e-12)
    # season: month of year minus one half on the circle [0, 12)
    moy = (m0.astype(int) % 12) + 1
    assert np.allclose(s.design(iv["season"]).to_numpy(), s.basis(moy - 0.5), atol=1e-12)


def test_age_effect_on_an_age_axis():
    rng = np.random.default_rng(2)
    n = 80
    obs = pd.DataFrame({"id": np.arange(n), "start": 366, "end": 730})
    ev = pd.DataFrame({"id": rng.integers(0, n, 300), "day": rng.integers(366, 731, 300)})
    a = age(np.arange(366, 762, 30), knots=2)
    iv = build_intervals(obs, ev, covariates=[a.covariate])
    fit = fit_smooth(iv, [], [a])
    ref = _glm(_design(iv, [a]), a.columns)
    assert np.max(np.abs(fit.params.to_numpy() - ref.to_numpy())) < 1e-6
    curve = fit.curve("age")
    assert abs(curve["log_rr"].mean()) < 1e-12


def test_calendar_and_season_on_an_age_axis():
    """R-style data: the time axis is age in days, each person with a birth date (origin)."""
    dob = pd.DataFrame({"id": [1, 2], "day": [DAY0 - 400, DAY0 - 1000]})
    obs = pd.DataFrame({"id": [1, 2], "start": [380, 990], "end": [700, 1300]})
    c = calendar_time(DAY0 - 30, DAY0 + 400, knots=2, origin=dob)
    s = season(origin=dob)
    iv = build_intervals(obs, pd.DataFrame({"id": [1, 2], "day": [500, 1000]}),
                         covariates=[c.covariate, s.covariate])
    cal_start = iv["start"].to_numpy() + dob.set_index("id").loc[iv["id"], "day"].to_numpy()
    cal_end = iv["end"].to_numpy() + dob.set_index("id").loc[iv["id"], "day"].to_numpy()
    m0 = cal_start.astype("datetime64[D]").astype("datetime64[M]")
    m1 = cal_end.astype("datetime64[D]").astype("datetime64[M]")
    assert (m0 == m1).all()                                   # split at calendar months
    assert ((m0.astype(int) % 12) + 1 == iv["season"]).all()  # month of year
    first = month_starts(DAY0 - 30, DAY0 + 400)
    # calendar code g covers first[g - 2] .. first[g - 1] - 1
    code = iv["calendar"].to_numpy()
    assert (first[code - 2] <= cal_start).all() and (cal_end < first[code - 1]).all()


def test_age_outside_the_cuts_is_a_clear_error():
    obs = pd.DataFrame({"id": [1, 2], "start": [100, 400], "end": [500, 900]})
    ev = pd.DataFrame({"id": [1, 2], "day": [200, 600]})
    a = age(np.arange(100, 701, 50), knots=1)     # the second person is observed past 700
    iv = build_intervals(obs, ev, covariates=[a.covariate])
    bad = int(np.flatnonzero(iv["end"].to_numpy() > 699)[0]) + 2   # header = row 1
    for penalty in (0.0, 1.0):
        with pytest.raises(SCCSError, match=rf"interval row {bad}, column age: segment code"):
            fit_smooth(iv, [], [a], penalty=penalty)


def test_missing_segment_column_is_a_clear_error(setup):
    iv, smooth = setup
    with pytest.raises(SCCSError, match="no segment column"):
        fit_smooth(iv.drop(columns="season"), ["x"], smooth)
    with pytest.raises(SCCSError, match="penalty"):
        fit_smooth(iv, ["x"], smooth, penalty=-1)
