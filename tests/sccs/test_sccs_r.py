"""The SCCS engine against R (package SCCS 1.7, ``standardsccs`` = ``survival::clogit``).

Reference: ``data/external/sccs-r/`` (see its README.md and PROVENANCE.md). For each documented
example R's ``formatdata()`` interval table (one clogit stratum per event, ``indivL``) is fitted
by our engine twice, once with ``indivL`` as the individual and once aggregated per person
(``indiv``), and compared with the numbers R printed, stored in ``reference.json``.

Tolerances (issue 3 and the reference README, the stricter of the two):

* log-RI: relative 1e-6 and absolute 1e-6, both (measured: at most 2.9e-7 relative and 1.4e-7
  absolute; the largest, dtp.mod2 ``dtp5``, is R stopping short of the maximum — see
  :func:`test_r_dtp5_is_short_of_the_maximum`);
* SE: relative 1e-5; log-likelihood (model and null): absolute 1e-6;
* LR tests: relative 1e-5.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.sccs import SCCS, conditional_loglik, dummies

REF_DIR = Path(__file__).resolve().parents[2] / "data" / "external" / "sccs-r"
REF = json.loads((REF_DIR / "reference.json").read_text())
EXAMPLES = sorted(
    k for k, v in REF["examples"].items() if (REF_DIR / v["intervals_file"]).exists()
)

# Headline numbers hard-coded from reference.json (the same rows as the README's "Headline
# results" table, data/external/sccs-r/README.md), so that a change of the JSON cannot pass
# silently: (example, term) -> (coef, se).
HEADLINE = {
    ("standardsccs_itp.mod1", "mmr1"): (1.50956347241, 0.351203940459),
    ("standardsccs_itp.mod2", "mmr1"): (1.17130231635, 0.379980234846),
    ("standardsccs_itp.mod3", "mmr2"): (1.784059, 0.438839),
    ("standardsccs_hip.mod1", "ad1"): (0.764402, 0.272329),
    ("standardsccs_hip.mod1", "ad5"): (0.026921, 0.169606),
    ("standardsccs_gi.mod1", "ns1"): (0.705401, 0.104536),
    ("standardsccs_dtp.mod2", "dtp5"): (-0.489673, 0.456318),
    ("standardsccs_con.mod", "mmr2"): (0.879648, 0.099510),
    ("standardsccs_hib.mod1", "hib2"): (-0.595239, 0.249073),
    ("standardsccs_hib.mod2", "hib1"): (0.098396, 0.167623),
    ("standardsccs_int.mod", "opv3"): (0.141619, 0.254289),
    ("extra_am.mod1", "mmr1"): (2.487975, 0.708488),
    ("extra_opv.mod1", "opv2"): (0.170494, 0.259811),
}
# README table: itp.mod1 loglik (reference.json examples.standardsccs_itp.mod1.loglik)
ITP_MOD1_LOGLIK = (-37.728353991, -30.0946970537)  # (null, model)
# lrtsccs examples (reference.json lrt_tests, unrounded; README: 13.434654 on 3 df, 4.86523712 on 2)
LRT = {
    "lrtsccs_ex1": ("lrtsccs_itp.mod1", "lrtsccs_itp.mod2", 13.434653969, 3, 0.0037849976301),
    "lrtsccs_ex2": ("lrtsccs_itp.mod3", "lrtsccs_itp.mod1", 4.86523712385, 2, 0.0878066042498),
}


def formula_factors(formula: str) -> list[tuple[str, str, int | None]]:
    """(column, coefficient-name prefix, reference or None) for each factor in a clogit formula.

    ``event ~ mmr + age + strata(indivL) + offset(log(interval))`` -> mmr, age;
    ``relevel(age, ref = 21)`` -> column age, reference 21, prefix as R prints it.
    """
    rhs = formula.split("~", 1)[1]
    out = []
    for tok in (t.strip() for t in rhs.split(" + ")):
        if tok.startswith(("strata(", "offset(")):
            continue
        m = re.fullmatch(r"relevel\((\w+), ref = (\d+)\)", tok)
        if m:
            out.append((m.group(1), tok, int(m.group(2))))
        else:
            out.append((tok, tok, None))
    return out


@cache
def design(example: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    """R's interval table for ``example`` plus dummy columns built as R's formula builds them.

    R's reference level is the first factor level: the lowest level (exposure level 0, age
    group 1, season 1), unless ``relevel`` names another. Returns (data, R's coefficient names,
    the dummy columns we built).
    """
    ex = REF["examples"][example]
    d = pd.read_csv(REF_DIR / ex["intervals_file"])
    built = [
        dummies(d, col, d[col].min() if ref is None else ref, prefix=prefix)
        for col, prefix, ref in formula_factors(ex["clogit_formula"])
    ]
    data = pd.concat([d, *built], axis=1)
    terms = [c["term"] for c in ex["coefficients"]]
    return data, terms, [c for b in built for c in b.columns]


def per_person(data: pd.DataFrame, terms: list[str]) -> pd.DataFrame:
    """Collapse R's one-copy-per-event table to one copy per person, summing events.

    Checks first that every stratum of a person holds each of the person's intervals exactly
    once (true for all reference models), so nothing is lost or double counted. An interval is
    identified by (indiv, lower, upper); its covariates (``terms``) must agree across copies.
    """
    key = ["indiv", "lower", "upper"]
    g = data.groupby(key, sort=True)
    n_strata = data.groupby("indiv")["indivL"].nunique()
    copies = g["indivL"].nunique()
    assert (g.size() == copies).all()
    assert (copies.to_numpy() == n_strata.loc[copies.index.get_level_values(0)].to_numpy()).all()
    cols = g[["interval", *terms]]
    assert (cols.max() == cols.min()).all().all()
    out = g[["interval", *terms]].first()
    out["event"] = g["event"].sum()
    return out.reset_index()


@cache
def fits(example: str) -> tuple[SCCS, SCCS]:
    """Our fit by event stratum (indivL) and by person (indiv) for one example."""
    data, terms, _ = design(example)
    by_event = SCCS().fit(data, terms, id_col="indivL", events_col="event", days_col="interval")
    agg = per_person(data, terms)
    by_person = SCCS().fit(agg, terms, id_col="indiv", events_col="event", days_col="interval")
    return by_event, by_person


def coef_tolerance(coef: np.ndarray) -> np.ndarray:
    """The stricter of relative 1e-6 (issue 3) and absolute 1e-6 (reference README)."""
    return np.minimum(1e-6, 1e-6 * np.abs(coef))


def test_examples_found() -> None:
    """All 15 models of the suite have their interval tables in the repository."""
    assert len(EXAMPLES) == 15


@pytest.mark.parametrize("example", EXAMPLES)
def test_term_names_match_r(example: str) -> None:
    """Our dummies reproduce R's coefficient names, in R's order, for the formula."""
    _, terms, built = design(example)
    assert built == terms


@pytest.mark.parametrize("example", EXAMPLES)
def test_coefficients_match_r(example: str) -> None:
    ex = REF["examples"][example]
    r = pd.DataFrame(ex["coefficients"]).set_index("term")
    for fit in fits(example):
        assert fit.converged
        coef = fit.params[r.index].to_numpy()
        assert np.all(np.abs(coef - r["coef"].to_numpy()) <= coef_tolerance(r["coef"].to_numpy()))
        np.testing.assert_allclose(fit.bse[r.index], r["se"], rtol=1e-5)
        s = fit.summary.loc[r.index]
        np.testing.assert_allclose(s["irr"], r["exp_coef"], rtol=1e-5)
        np.testing.assert_allclose(s["ci_low"], r["lower95"], rtol=1e-5)
        np.testing.assert_allclose(s["ci_high"], r["upper95"], rtol=1e-5)
        np.testing.assert_allclose(s["z"], r["z"], rtol=1e-5)
        # p-values: compare log(p) (README suggestion), tiny p-values included
        np.testing.assert_allclose(np.log(s["p"]), np.log(r["p"]), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("example", EXAMPLES)
def test_loglik_and_counts_match_r(example: str) -> None:
    ex = REF["examples"][example]
    by_event, by_person = fits(example)
    for fit in (by_event, by_person):
        assert fit.n_events == ex["n_events"]
        assert fit.loglik == pytest.approx(ex["loglik"]["model"], abs=1e-6)
        lr = ex["tests"]["likelihood_ratio"]
        stat = 2 * (fit.loglik - fit.loglik_null)
        assert stat == pytest.approx(lr["statistic"], rel=1e-5)
    # the null loglik is R's when the intervals are R's (one copy per event)
    assert by_event.loglik_null == pytest.approx(ex["loglik"]["null"], abs=1e-6)
    assert by_event.n_cases == ex["n_events"]  # one stratum per event
    assert by_person.n_cases == ex["n_cases"]
    assert by_event.n_intervals == ex["n_intervals"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_per_event_strata_equal_per_person(example: str) -> None:
    """R's one-stratum-per-event likelihood equals ours aggregated per person: same estimates."""
    a, b = fits(example)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-8)
    # the per-person loglik differs from the per-event one only by the null part:
    # sum_events log d_e is the same, and n_i log D_i = sum over the person's strata of log D_i
    assert a.loglik - a.loglik_null == pytest.approx(b.loglik - b.loglik_null, abs=1e-8)


@pytest.mark.parametrize("example", ["standardsccs_itp.mod3", "standardsccs_con.mod"])
def test_clogit_loglik_equals_aggregated_loglik(example: str) -> None:
    """The claim in :func:`conditional_loglik`: clogit with one stratum per event is the same
    function of beta as the per-person conditional Poisson likelihood (checked at R's estimate
    and at an arbitrary beta, by a direct per-stratum computation written independently here)."""
    data, terms, _ = design(example)
    r = np.array([c["coef"] for c in REF["examples"][example]["coefficients"]])
    rng = np.random.default_rng(1)
    X = data[terms].to_numpy(float)
    for beta in (r, r + rng.normal(0, 0.3, len(r))):
        # clogit, stratum by stratum: sum over strata of log(d_e e^{bx_e} / sum_j d_j e^{bx_j})
        w = data["interval"].to_numpy() * np.exp(X @ beta)
        denom = pd.Series(w).groupby(data["indivL"].to_numpy()).sum()
        ev = data["event"].to_numpy() == 1
        clogit_ll = np.sum(np.log(w[ev])) - np.sum(np.log(denom.to_numpy()))
        agg = per_person(data, terms)
        ours = conditional_loglik(beta, agg[terms].to_numpy(float), agg["interval"].to_numpy(),
                                  agg["event"].to_numpy(), agg["indiv"].to_numpy())
        assert ours == pytest.approx(clogit_ll, abs=1e-9)
        if beta is r:
            assert clogit_ll == pytest.approx(REF["examples"][example]["loglik"]["model"], abs=1e-6)


@pytest.mark.parametrize(("example", "term"), sorted(HEADLINE))
def test_headline_terms_hard_coded(example: str, term: str) -> None:
    coef, se = HEADLINE[(example, term)]
    fit = fits(example)[1]
    # the README rounds to 6 decimals; the first two rows carry 12 significant digits
    assert fit.params[term] == pytest.approx(coef, abs=1e-6 if coef != round(coef, 6) else 6e-7)
    assert fit.bse[term] == pytest.approx(se, abs=6e-7, rel=1e-5)


def test_itp_mod1_loglik_hard_coded() -> None:
    fit = fits("standardsccs_itp.mod1")[0]
    assert fit.loglik_null == pytest.approx(ITP_MOD1_LOGLIK[0], abs=1e-6)
    assert fit.loglik == pytest.approx(ITP_MOD1_LOGLIK[1], abs=1e-6)


@pytest.mark.parametrize("test_id", sorted(LRT))
def test_lrtsccs(test_id: str) -> None:
    """R's lrtsccs examples; ex2 compares models fitted on differently cut intervals."""
    full_id, restricted_id, stat, df, p = LRT[test_id]
    assert REF["lrt_tests"][test_id]["unrounded"]["test"] == stat
    for which in (0, 1):
        m1 = fits(full_id)[which]
        m2 = fits(restricted_id)[which]
        full, restricted = (m1, m2) if len(m1.terms) > len(m2.terms) else (m2, m1)
        res = full.lr_test(restricted)
        assert res.statistic == pytest.approx(stat, rel=1e-5)
        assert res.df == df
        assert res.p == pytest.approx(p, rel=1e-4)


def test_report_max_discrepancy() -> None:
    """Largest discrepancy from R over all examples (printed with -s; bounded by the tests)."""
    worst = {"coef_abs": 0.0, "coef_rel": 0.0, "se_rel": 0.0, "loglik_abs": 0.0}
    for example in EXAMPLES:
        r = pd.DataFrame(REF["examples"][example]["coefficients"]).set_index("term")
        for fit in fits(example):
            diff = np.abs(fit.params[r.index].to_numpy() - r["coef"].to_numpy())
            worst["coef_abs"] = max(worst["coef_abs"], diff.max())
            worst["coef_rel"] = max(worst["coef_rel"], (diff / np.abs(r["coef"])).max())
            worst["se_rel"] = max(worst["se_rel"],
                                  np.max(np.abs(fit.bse[r.index] / r["se"] - 1)))
            worst["loglik_abs"] = max(worst["loglik_abs"],
                                      abs(fit.loglik - REF["examples"][example]["loglik"]["model"]))
    print("max discrepancy vs R:", worst)
    assert worst["coef_abs"] < 1e-6 and worst["coef_rel"] < 1e-6
    assert worst["se_rel"] < 1e-5 and worst["loglik_abs"] < 1e-6


def test_r_dtp5_is_short_of_the_maximum() -> None:
    """Our largest difference from R (dtp.mod2 ``dtp5``, 1.4e-7) is R's, not ours.

    The score (gradient of clogit's log-likelihood), computed here stratum by stratum without
    the engine, is -7e-7 for ``dtp5`` at R's coefficients and zero at ours. The log-likelihood
    is so flat there (5 events in that level) that coxph's relative-loglik stopping rule cannot
    see the 1.4e-7 (it changes the log-likelihood by ~5e-14), even with eps = 1e-14.
    """
    ex = "standardsccs_dtp.mod2"
    data, terms, _ = design(ex)
    r = np.array([c["coef"] for c in REF["examples"][ex]["coefficients"]])
    X = data[terms].to_numpy(float)
    strata = data["indivL"].to_numpy()
    event = data["event"].to_numpy() == 1

    def score(beta: np.ndarray) -> np.ndarray:
        w = data["interval"].to_numpy() * np.exp(X @ beta)
        num = pd.DataFrame(X * w[:, None]).groupby(strata).sum().to_numpy()
        den = pd.Series(w).groupby(strata).sum().to_numpy()
        return X[event].sum(axis=0) - (num / den[:, None]).sum(axis=0)

    k = terms.index("dtp5")
    assert score(r)[k] == pytest.approx(-7.03e-7, rel=0.01)
    ours = fits(ex)[0].params.to_numpy()
    assert np.abs(score(ours)).max() < 1e-9
    assert abs(ours[k] - r[k]) == pytest.approx(1.41e-7, rel=0.01)
