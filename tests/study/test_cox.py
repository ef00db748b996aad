"""Tests of analysis.study.cox against independent references.

* a three-subject partial likelihood solved by hand (closed form);
* a Breslow partial likelihood written out here and maximised with scipy (tied event times);
* lifelines' CoxPHFitter (Efron) on data without ties, where Efron and Breslow coincide;
* the proportional-hazards test against the Grambsch-Therneau statistic computed here from the
  Schoenfeld residuals (own Newton-Raphson fit, no ties);
* hand-worked times to first IVIG from the contract's definition.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _helpers_study import make_cohort

from analysis.study import cox


def test_three_subject_closed_form():
    # A: x=1, event at t=1; B: x=0, event at t=2; C: x=1, censored at t=3.
    # log PL = [b - log(2e^b + 1)] + [0 - log(1 + e^b)]; score 0 <=> u^2 = 1/2 (u = e^b),
    # so HR = 1/sqrt(2).
    x = pd.DataFrame({"x": [1, 0, 1]})
    res = cox.fit_breslow(np.array([1.0, 2, 3]), np.array([1, 1, 0]), x)
    assert math.exp(res.params[0]) == pytest.approx(1 / math.sqrt(2), rel=1e-6)


def _breslow_negloglik(beta, time, event, x):
    """Breslow partial likelihood written from its definition (loop over distinct event times)."""
    eta = x @ beta
    ll = 0.0
    for t in np.unique(time[event == 1]):
        d = (time == t) & (event == 1)
        risk = time >= t
        ll += eta[d].sum() - d.sum() * np.log(np.exp(eta[risk]).sum())
    return -ll


def test_breslow_ties_match_direct_maximisation():
    from scipy.optimize import minimize

    rng = np.random.default_rng(5)
    n = 60
    x = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n)]).astype(float)
    time = rng.integers(1, 12, n).astype(float)  # many ties
    event = (rng.random(n) < 0.7).astype(int)
    res = cox.fit_breslow(time, event, pd.DataFrame(x))
    opt = minimize(_breslow_negloglik, np.zeros(2), args=(time, event, x), method="BFGS",
                   options={"gtol": 1e-10})
    np.testing.assert_allclose(res.params, opt.x, atol=1e-5)


def test_no_ties_agrees_with_lifelines():
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(8)
    n = 80
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 2, n).astype(float)})
    df["time"] = rng.permutation(np.arange(1, n + 1)).astype(float)  # distinct times
    df["event"] = (rng.random(n) < 0.8).astype(int)
    res = cox.fit_breslow(df["time"], df["event"], df[["a", "b"]])
    cph = CoxPHFitter().fit(df, duration_col="time", event_col="event")
    np.testing.assert_allclose(res.params, cph.params_[["a", "b"]], rtol=1e-5)
    np.testing.assert_allclose(res.bse, cph.standard_errors_[["a", "b"]], rtol=1e-4)
    np.testing.assert_allclose(res.pvalues, cph.summary.loc[["a", "b"], "p"], rtol=1e-3)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    # I1: IVIG on 2019-01-10 = dara_start + 9 -> time 10 (day 1 = dara_start), event.
    # I2: IVIG only before dara_start (2018-12-01) -> censored at end: 2019-01-01 .. 03-31 = 90.
    # R1: reference, dara 2019-02-01 .. 2019-05-01 -> observation to 05-31: 28+31+30+31 = 120.
    # I3: IVIG 2018-12-20 (before) and 2019-03-31 (the last observed day) -> time 90, event.
    pts = [
        {"patient_id": "I1", "heavy_chain": "IgG", "prior_infections_12m": "5"},
        {"patient_id": "I2", "heavy_chain": "none", "prior_infections_12m": "0"},
        {"patient_id": "R1", "group": "reference", "dara_start": "2019-02-01",
         "dara_last": "2019-05-01", "heavy_chain": "IgA", "prior_infections_12m": "3"},
        {"patient_id": "I3", "heavy_chain": "none", "prior_infections_12m": "",
         "diagnosis_date": "2009-01-01"},
    ]
    return make_cohort(tmp_path_factory.mktemp("cox"), pts,
                       ivig=[("I1", "2019-01-10"), ("I2", "2018-12-01"), ("I3", "2018-12-20"),
                             ("I3", "2019-03-31")],
                       igg=[("I1", "2018-12-01", "1200", "0.6")])


def test_cox_data_hand(small):
    d = cox.cox_data(small).set_index("patient_id")
    assert d.loc["I1", "time"] == 10 and d.loc["I1", "event"] == 1
    assert d.loc["I2", "time"] == 90 and d.loc["I2", "event"] == 0
    assert d.loc["R1", "time"] == 120 and d.loc["R1", "event"] == 0
    assert d.loc["I3", "time"] == 90 and d.loc["I3", "event"] == 1
    assert d.loc["I1", "prior_infections_cat"] == "4+"
    assert d.loc["R1", "prior_infections_cat"] == "3"
    assert pd.isna(d.loc["I3", "prior_infections_cat"])
    # 2009-01-01 .. 2019-01-01 = 3652 days = 9.998... years -> per 5 y: 1.9996
    assert d.loc["I3", "years_dx_per_5y"] == pytest.approx(3652 / 365.25 / 5)
    # I1: IgG myeloma, 1200 - 600 = 600 at day -31 (inside -90..+10): < 700, not < 400
    assert d.loc["I1", "hgg700_baseline"] == "yes" and d.loc["I1", "hgg400_baseline"] == "no"
    assert pd.isna(d.loc["I2", "hgg700_baseline"])
    # (dara_last - dara_start) = 59 days -> 59 / 30.4375 months
    assert d.loc["I1", "months_on_dara"] == pytest.approx(59 / 30.4375)


def _table_cohort(seed: int = 2) -> pd.DataFrame:
    """A cox_data-like frame with real signal (prior infections raise the hazard)."""
    rng = np.random.default_rng(seed)
    n = 143
    prior = rng.integers(0, 6, n).astype(float)
    rate = 0.002 * np.exp(0.45 * prior)
    t_event = rng.exponential(1 / rate)
    t_cens = rng.integers(90, 1500, n)
    time = np.minimum(t_event, t_cens).round() + 1
    event = (t_event < t_cens).astype(int)
    d = pd.DataFrame({
        "patient_id": [f"P{i}" for i in range(n)], "group": np.where(event == 1, "ivig",
                                                                     "reference"),
        "time": time, "event": event, "age_per_5y": rng.normal(13, 2, n),
        "years_dx_per_5y": rng.exponential(0.8, n), "months_on_dara": time / 30.4375,
        "lines": rng.integers(0, 8, n).astype(float), "prior_infections": prior,
        "prior_infections_cat": pd.Series(np.minimum(prior, 4).astype(int).astype(str)).replace(
            "4", "4+").to_numpy(),
        "sex": rng.choice(["M", "F"], n), "heavy_chain": rng.choice(["none", "IgG", "IgA"], n),
        "light_chain": rng.choice(["kappa", "lambda"], n),
        "iss": rng.choice(["I", "II", "III", None], n), "riss": rng.choice(["I", "II", "III"], n),
        "high_risk_cyto": rng.choice(["yes", "no"], n),
        "hgg700_baseline": rng.choice(["yes", "no"], n), "hgg400_baseline": rng.choice(["yes",
                                                                                        "no"], n),
    })
    return d


def test_univariable_table_shape_and_reference():
    # which paper id each term estimates: tests/paper/test_cox_ids.py
    d = _table_cohort()
    t = cox.univariable_cox(d)
    assert list(t.columns) == cox.RESULT_COLUMNS
    ige = t[t["term"] == "heavy_chain[IgE]"].iloc[0]
    assert np.isnan(ige["hr"]) and not ige["reference"]
    ref = t[t["term"] == "heavy_chain[none]"].iloc[0]
    assert ref["reference"] and ref["hr"] == 1.0
    # ISS has missing values: that model uses the recorded patients only
    iss_n = t.loc[t["covariate"] == "iss", "n"].iloc[0]
    assert iss_n == d["iss"].notna().sum() < len(d)
    # an independent fit of the continuous prior-infections model
    res = cox.fit_breslow(d["time"], d["event"], d[["prior_infections"]])
    row = t[t["term"] == "prior_infections"].iloc[0]
    assert row["hr"] == pytest.approx(math.exp(res.params[0]))
    assert row["hr"] > 1.2 and row["p"] < 0.001
    assert "post-baseline" in t.loc[t["covariate"] == "months_on_dara", "note"].iloc[0]


def test_multivariable_complete_case():
    d = _table_cohort()
    t = cox.multivariable_cox(d)
    assert (t["n"] == d["iss"].notna().sum()).all()
    assert t.loc[t["term"] == "prior_infections", "hr"].iloc[0] > 1.2
    assert np.isnan(t.loc[t["term"] == "heavy_chain[IgM]", "hr"].iloc[0])


def test_separation_gives_na_with_note():
    d = _table_cohort()
    d.loc[d["event"] == 1, "sex"] = "F"  # every event female: no finite HR
    d.loc[(d["event"] == 0) & (d.index % 2 == 0), "sex"] = "M"
    t = cox.univariable_cox(d, [s for s in cox.TABLE1_COVARIATES if s.covariate == "sex"])
    row = t[t["term"] == "sex[F]"].iloc[0]
    assert np.isnan(row["hr"]) and "separation" in row["note"]


def test_ph_tests_and_kaplan_meier():
    d = _table_cohort()
    ph = cox.proportional_hazards_tests(d)
    assert {"covariate", "term", "statistic", "p", "ph_violated"} <= set(ph.columns)
    assert ph["p"].between(0, 1).all()
    km = cox.kaplan_meier(d, by="prior_infections_cat")
    assert set(km["stratum"]) == {"0", "1", "2", "3", "4+"}
    for _, s in km.groupby("stratum"):
        assert s["survival"].iloc[0] == 1.0
        assert (np.diff(s["survival"].to_numpy()) <= 1e-12).all()
    # KM by hand for one stratum without censoring before events: S(t) = product (1 - d/n)
    one = d[d["prior_infections_cat"] == "4+"]
    s = km[km["stratum"] == "4+"].set_index("time_days")["survival"]
    t0 = one.loc[one["event"] == 1, "time"].min()
    n_at_risk = (one["time"] >= t0).sum()
    d0 = ((one["time"] == t0) & (one["event"] == 1)).sum()
    assert s[t0] == pytest.approx(1 - d0 / n_at_risk)


def test_baseline_characteristics_hand(small):
    b = cox.baseline_characteristics(small)
    assert list(b.columns) == cox.BASELINE_COLUMNS
    row = b.set_index(["covariate", "level", "group"])
    # IVIG group: I1 IgG, I2 none, I3 none -> none 2 of 3
    assert row.loc[("heavy_chain", "none", "ivig"), "n"] == 2
    assert row.loc[("heavy_chain", "none", "ivig"), "pct"] == pytest.approx(200 / 3)
    # prior infections recorded for I1 (5 -> 4+) and I2 (0) only: 50% each (available cases)
    assert row.loc[("prior_infections_cat", "4+", "ivig"), "pct"] == 50
    assert row.loc[("prior_infections_cat", "4+", "ivig"), "n_recorded"] == 2
    num = b[b["level"].isna()].set_index(["covariate", "group"])
    assert num.loc[("prior_infections", "ivig"), "median"] == 2.5
    assert num.loc[("age", "ivig"), "median"] == 65  # the helper's default age
    assert num.loc[("patients", "ivig"), "n"] == 3  # I1, I2, I3


def _grambsch_therneau_rank(time: np.ndarray, event: np.ndarray, x: np.ndarray
                            ) -> tuple[float, float]:
    """The Grambsch-Therneau test of proportional hazards for one covariate, written out here
    (no ties): beta by Newton-Raphson on the partial likelihood, Schoenfeld residuals
    r_k = x_k - E[x | risk set at t_k], scaled s_k = beta + D var(beta) r_k, ranks g_k = 1..D of
    the event times, T = (sum (g_k - mean g) s_k)^2 / (D var(beta) sum (g_k - mean g)^2) ~ chi2(1)
    (Grambsch & Therneau 1994, Biometrika 81:515; the form of R's cox.zph before survival 3.0)."""
    from scipy.stats import chi2

    order = np.argsort(time)
    time, event, x = time[order], event[order].astype(bool), x[order].astype(float)
    beta = 0.0
    for _ in range(50):
        w = np.exp(beta * x)
        # risk set at t_k = subjects with time >= t_k: reverse cumulative sums
        s0 = np.cumsum(w[::-1])[::-1]
        s1 = np.cumsum((w * x)[::-1])[::-1]
        s2 = np.cumsum((w * x * x)[::-1])[::-1]
        mean, var = s1 / s0, s2 / s0 - (s1 / s0) ** 2
        score = np.sum((x - mean)[event])
        info = np.sum(var[event])
        step = score / info
        beta += step
        if abs(step) < 1e-13:
            break
    w = np.exp(beta * x)
    s0 = np.cumsum(w[::-1])[::-1]
    s1 = np.cumsum((w * x)[::-1])[::-1]
    s2 = np.cumsum((w * x * x)[::-1])[::-1]
    info = np.sum((s2 / s0 - (s1 / s0) ** 2)[event])
    d = int(event.sum())
    resid = (x - s1 / s0)[event]
    scaled = beta + d * resid / info
    g = np.arange(1, d + 1, dtype=float)
    g -= g.mean()
    stat = float(np.sum(g * scaled) ** 2 / (d * (1 / info) * np.sum(g * g)))
    return stat, float(chi2.sf(stat, 1))


def test_ph_test_equals_an_independent_grambsch_therneau_computation():
    rng = np.random.default_rng(20261129)
    n = 60
    lines = rng.integers(0, 7, size=n).astype(float)
    # a hazard ratio per line that grows with time (non-proportional), plus censoring
    t_event = rng.exponential(400.0, size=n) / np.exp(0.25 * lines) ** rng.uniform(0.2, 1.8, n)
    t_cens = rng.uniform(50, 900, size=n)
    time = np.minimum(t_event, t_cens)
    event = (t_event <= t_cens).astype(int)
    assert len(np.unique(time)) == n  # no ties: Efron (lifelines) = Breslow = the hand version
    data = pd.DataFrame({"time": time, "event": event, "lines": lines, "group": "x"})
    spec = [s for s in cox.TABLE1_COVARIATES if s.covariate == "lines"]
    got = cox.proportional_hazards_tests(data, spec).iloc[0]
    stat, p = _grambsch_therneau_rank(time, event, lines)
    assert got["statistic"] == pytest.approx(stat, rel=1e-5)
    assert got["p"] == pytest.approx(p, rel=1e-5)
    assert got["ph_violated"] == (p < 0.05)
