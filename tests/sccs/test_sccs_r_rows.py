"""R's semantics of an event's own rows in :mod:`analysis.sccs.r` (issue 17, sections 2 and 3).

* R's ``febdat`` (64+ cases whose event rows carry different MMR ages) against R SCCS 1.7's own
  numbers (``data/external/sccs-r-ext/febdat-reference.json``, see its README and PROVENANCE):
  R 1.7 gives the event on a case's k-th row the case's k-th earliest exposure
  (``pairing="r"``); ``pairing="row"`` gives each event its own row's, checked against the
  fit where every row is a case of its own (R's one stratum per event, built independently).
* ``sameexpopar=FALSE`` in the stack format (R ignores it), ``eventdepenexp`` with two exposure
  types in the stack format, an empty first age group (R's factor keeps it as the reference and
  aliases the last group), per-event observation periods, and bad arguments.

Tolerances: R's coefficients to 1e-6 absolute (the issue's criterion; R's ``coxph`` converges
to about 1e-9 on the log-likelihood, so 1e-6 on a coefficient is what both fits can promise);
reparametrisations of one fit to 1e-8 (two Newton solutions of the same likelihood, each
converged to about 1e-10).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.sccs import SCCS, SCCSWarning, dummies, r

ROOT = Path(__file__).resolve().parents[2]
EXT = ROOT / "data" / "external" / "sccs-r-ext"
FEB = pd.read_csv(EXT / "data" / "febdat.csv")
FEB_REF = json.loads((EXT / "febdat-reference.json").read_text())
ITP = pd.read_csv(ROOT / "data" / "external" / "sccs-r" / "data" / "itpdat.csv")
FEB_ARGS = dict(indiv="case", astart="sta", aend="end", aevent="conv", adrug="mmr",
                aedrug="mmr+14", expogrp=[0, 6])
ITP_ARGS = dict(indiv="case", astart="sta", aend="end", aevent="itp", adrug="mmr",
                aedrug="mmr+42", expogrp=[0, 15, 29])


def quiet(fn, *args, **kwargs):
    """Call ``fn``, returning (result, the warnings' messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [(w.category, str(w.message)) for w in caught]


FEB_CALLS = {  # reference key: (formula, extra arguments), as in the key's "call"
    "standardsccs_feb.age": ("event ~ mmr + age", dict(agegrp=[456, 548, 640])),
    "standardsccs_feb.multi": ("event ~ mmr", dict(dataformat="multi")),
}


@pytest.mark.parametrize("key", sorted(FEB_CALLS))
def test_febdat_equals_r_and_warns_naming_the_cases(key: str) -> None:
    formula, extra = FEB_CALLS[key]
    fit, caught = quiet(r.standardsccs, formula, **FEB_ARGS, **extra, data=FEB)
    ref = FEB_REF[key]
    assert list(fit.summary.index) == ref["term"]
    np.testing.assert_allclose(fit.summary["coef"], ref["coef"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(fit.summary["se"], ref["se"], rtol=0, atol=1e-6)
    mine = [m for c, m in caught if issubclass(c, SCCSWarning) and "disagree" in m]
    assert len(mine) == 1
    assert "65 cases' event rows disagree on adrug/aedrug (mmr)" in mine[0]
    assert "(cases 14, 40, 44, 45, 95 and 60 more)" in mine[0]
    assert "differs from the rows' own for 38 of them" in mine[0]


def test_febdat_pairing_row_is_one_stratum_per_row() -> None:
    """pairing='row': each event its own row's exposures, i.e. the fit where every row is a
    case of its own (the R layout without any grouping), which is not R 1.7's number."""
    fit, caught = quiet(r.standardsccs, "event ~ mmr + age", **FEB_ARGS, agegrp=[456, 548, 640],
                        data=FEB, pairing="row")
    per_row = FEB.assign(row=np.arange(len(FEB)))
    alone, _ = quiet(r.standardsccs, "event ~ mmr + age", **{**FEB_ARGS, "indiv": "row"},
                     agegrp=[456, 548, 640], data=per_row)
    np.testing.assert_allclose(fit.summary["coef"], alone.summary["coef"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(fit.summary["se"], alone.summary["se"], rtol=0, atol=1e-8)
    r_mmr1 = FEB_REF["standardsccs_feb.age"]["coef"][0]
    assert abs(fit.summary.loc["mmr1", "coef"] - r_mmr1) > 1e-3  # -0.3218 against R's -0.3242
    assert any("pairing='row'" in m for _, m in caught)


def test_febdat_formatdata_pairs_as_r_and_keeps_the_case_id() -> None:
    # case 14: the event on day 532 is on the row with MMR age 381, the one on 549 on 380
    fd, _ = quiet(r.formatdata, **FEB_ARGS, data=FEB)
    own, _ = quiet(r.formatdata, **FEB_ARGS, data=FEB, pairing="row")
    for table, first_exposed in ((fd, {532: 380, 549: 381}), (own, {532: 381, 549: 380})):
        case = table[table["indiv"] == 14]
        assert sorted(case["aevent"].unique()) == [532, 549]
        for day, mmr in first_exposed.items():
            rows = case[(case["aevent"] == day) & (case["mmr"] == 1)]
            assert rows["lower"].min() == mmr
        assert case["indivL"].nunique() == 2
    assert fd["indivL"].nunique() == len(FEB)  # one stratum per event, as R


def test_rows_that_agree_give_the_same_fit_either_way_and_no_warning() -> None:
    fits = []
    for pairing in ("r", "row"):
        fit, caught = quiet(r.standardsccs, "event ~ mmr + age", **ITP_ARGS,
                            agegrp=[427, 488, 549, 610, 671], data=ITP, pairing=pairing)
        assert not any("disagree" in m for _, m in caught)
        fits.append(fit.summary)
    pd.testing.assert_frame_equal(fits[0], fits[1])


@pytest.mark.parametrize("dataformat, value", [("stack", "min"), ("multi", "first")])
def test_eventdepenexp_uses_each_case_first_row(dataformat: str, value: str) -> None:
    """R 1.7's eventdepenexp uses each case's earliest event with the exposures of its first
    row: in the stack format those adrug_matrix sorted (the case's earliest MMR age), in the
    multi format the row's own (its dose rows are not sorted there)."""
    args = {**FEB_ARGS, "expogrp": 0, "dataformat": dataformat}
    fit, _ = quiet(r.eventdepenexp, **args, data=FEB)
    agree = FEB.assign(mmr=FEB.groupby("case")["mmr"].transform(value))
    same, caught = quiet(r.eventdepenexp, **args, data=agree)
    assert not any("disagree" in m for _, m in caught)
    pd.testing.assert_frame_equal(fit.summary, same.summary)


def test_observation_period_per_event_follows_r_with_a_warning() -> None:
    """R reads astart/aend per event: a case whose events carry different ends gets one
    stratum per end, as if each were a case of its own."""
    d = ITP.copy()
    two = d["case"].duplicated(keep=False)
    k = int(np.flatnonzero(two.to_numpy())[1])  # the second row of a case with two events
    d.loc[k, "end"] = d.loc[k, "end"] - 1
    fit, caught = quiet(r.standardsccs, "event ~ mmr", **ITP_ARGS, data=d)
    assert any("disagree on aend (end)" in m for _, m in caught)
    alone, _ = quiet(r.standardsccs, "event ~ mmr", **{**ITP_ARGS, "indiv": "row"},
                     data=d.assign(row=np.arange(len(d))))
    np.testing.assert_allclose(fit.summary["coef"], alone.summary["coef"], rtol=0, atol=1e-8)


def test_observation_period_must_agree_within_an_event() -> None:
    d = pd.concat([ITP.iloc[:3], ITP.iloc[[2]].assign(end=700)], ignore_index=True)
    with pytest.raises(r.RError, match=r"row 5, column 'end' \(aend\): differs from an earlier "
                                       r"row of the same event"):
        quiet(r.standardsccs, "event ~ mmr", **ITP_ARGS, data=d)


# --- section 3: sameexpopar in the stack format, eventdepenexp with two types -----------------

def test_sameexpopar_false_in_the_stack_format_is_ignored_as_r_does() -> None:
    """R's formatdata reads sameexpopar only in the multi format (its stack branch builds the
    levels rep(c(1, ..., 0), times = episodes) whatever sameexpopar says)."""
    rot = pd.read_csv(EXT / "data" / "rotdat.csv")
    stack = rot.melt(id_vars=["case", "sta", "end", "intus"], value_vars=["rv", "rvd2"],
                     value_name="rvday").drop(columns="variable")
    args = dict(indiv="case", astart="sta", aend="end", aevent="intus", adrug="rvday",
                aedrug="rvday+21", expogrp=[0, 8, 15], data=stack)
    fit, caught = quiet(r.standardsccs, "event ~ rvday", **args, sameexpopar=False)
    plain, none = quiet(r.standardsccs, "event ~ rvday", **args)
    pd.testing.assert_frame_equal(fit.summary, plain.summary)
    said = [m for c, m in caught if issubclass(c, SCCSWarning) and m.startswith("sameexpopar")]
    assert len(said) == 1 and "stack format" in said[0] and "dataformat='multi'" in said[0]
    assert not any(m.startswith("sameexpopar") for _, m in none)
    multi, caught = quiet(r.standardsccs, "event ~ rv", **{**args, "adrug": ["rv", "rvd2"],
                          "aedrug": ["rv+21", "rvd2+21"], "data": rot}, dataformat="multi",
                          sameexpopar=False)
    assert "rv4" in multi.summary.index  # the second dose's own levels
    assert not any(m.startswith("sameexpopar") for _, m in caught)


def test_eventdepenexp_two_types_in_the_stack_format_names_adrug() -> None:
    d = ITP.assign(flu=ITP["mmr"] + 30)
    with pytest.raises(r.RError, match=r"^adrug: eventdepenexp supports one exposure type, got 2 "
                                       r"\(mmr, flu\); in the stack format"):
        r.eventdepenexp(indiv="case", astart="sta", aend="end", aevent="itp",
                        adrug=["mmr", "flu"], aedrug=["mmr+42", "flu+42"], expogrp=[0, 15],
                        data=d)


# --- section 3: an empty first age group ------------------------------------------------------

def _python_fit(agegrp: list[int]):
    """The Python API's fit of the same model: per-case intervals, the lowest age group with
    time as the reference (its own parametrisation)."""
    iv, _ = quiet(r.intervals, **ITP_ARGS, agegrp=agegrp, data=ITP)
    parts = [dummies(iv, "mmr", 0), dummies(iv, "age", int(iv["age"].min()))]
    data = iv.join(parts)
    return SCCS().fit(data, [c for p in parts for c in p.columns])


def test_empty_first_age_group_reported_as_r_does() -> None:
    """agegrp=c(250,457,548,639) on itpdat (every astart >= 366): R's factor has the levels
    1..5 with level 1 empty, so its column of zeros leaves age2..age5 summing to one within
    every case: coxph aliases age5 (NA) and reports age2..age4 relative to age5."""
    cuts = [250, 457, 548, 639]
    fit, _ = quiet(r.standardsccs, "event ~ mmr + age", **ITP_ARGS, agegrp=cuts, data=ITP)
    s = fit.summary
    assert list(s.index) == ["mmr1", "mmr2", "mmr3", "age2", "age3", "age4", "age5"]
    assert s.loc["age5"].isna().all()
    py = _python_fit(cuts)  # reference age2: params age3..age5
    beta = pd.Series(0.0, index=["age2", "age3", "age4", "age5"])
    beta[py.params.index[3:]] = py.params.iloc[3:].to_numpy()
    cov = py.cov_params()
    for k in ("age2", "age3", "age4"):
        assert s.loc[k, "coef"] == pytest.approx(beta[k] - beta["age5"], abs=1e-8)
        var = cov.loc["age5", "age5"] + (0.0 if k == "age2" else
                                         cov.loc[k, k] - 2 * cov.loc[k, "age5"])
        assert s.loc[k, "se"] == pytest.approx(np.sqrt(var), rel=1e-8)
    for k in ("mmr1", "mmr2", "mmr3"):
        assert s.loc[k, "coef"] == pytest.approx(py.params[k], abs=1e-8)
        assert s.loc[k, "se"] == pytest.approx(py.bse[k], rel=1e-8)
    usual, _ = quiet(r.standardsccs, "event ~ mmr + age", **ITP_ARGS, agegrp=cuts[1:], data=ITP)
    pd.testing.assert_frame_equal(s.loc[["mmr1", "mmr2", "mmr3"]],
                                  usual.summary.loc[["mmr1", "mmr2", "mmr3"]], atol=1e-8)


def test_age_group_after_every_aend_is_na_as_in_r() -> None:
    cuts = [457, 548, 639]
    fit, _ = quiet(r.standardsccs, "event ~ mmr + age", **ITP_ARGS, agegrp=[*cuts, 800],
                   data=ITP)
    usual, _ = quiet(r.standardsccs, "event ~ mmr + age", **ITP_ARGS, agegrp=cuts, data=ITP)
    assert fit.summary.loc["age5"].isna().all()
    pd.testing.assert_frame_equal(fit.summary.drop(index="age5"), usual.summary, atol=1e-8)


# --- every bad argument names itself ----------------------------------------------------------

BAD = [  # (arguments replacing the defaults, the message's start)
    (dict(expogrp=[0, "a"]), "expogrp: 'a' is not a whole number"),
    (dict(expogrp=[0, float("nan")]), "expogrp: nan is not a whole number"),
    (dict(expogrp=[0, 1.5]), "expogrp: 1.5 is not a whole number"),
    (dict(expogrp=[15, 0]), "expogrp: [15, 0] must be increasing"),
    (dict(agegrp="x"), "agegrp: 'x' is not a whole number"),
    (dict(agegrp=[400.5]), "agegrp: 400.5 is not a whole number"),
    (dict(agegrp=[400, 400]), "agegrp: [400, 400] repeats a value"),
    (dict(agegrp={"a": 1}), "agegrp: {'a': 1} is not a whole number"),
    (dict(washout=[10, 5]), "washout: [10, 5] must be increasing"),
    (dict(washout=[0, 5]), "washout: [0, 5] needs at least 2 values, the first >= 1"),
    (dict(washout=[1, "b"]), "washout: 'b' is not a whole number"),
    (dict(seasongrp=["x"], dob="sta"), "seasongrp: 'x' is not a whole number"),
    (dict(adrug=None), "adrug: expected a column name"),
    (dict(aedrug=None), "aedrug: expected a column name"),
    (dict(adrug=[[]], aedrug=[[]]), "adrug: an empty list of columns"),
    (dict(pairing="x"), "pairing: 'r' or 'row'"),
]


@pytest.mark.parametrize("change, message", BAD)
def test_bad_argument_is_named(change: dict, message: str) -> None:
    with pytest.raises(r.RError) as err:
        quiet(r.standardsccs, "event ~ mmr", **{**ITP_ARGS, **change, "data": ITP})
    assert str(err.value).startswith(message), str(err.value)


@pytest.mark.parametrize("call, message", [
    (lambda: r.formatdata(**ITP_ARGS, data=ITP, cov=5), "cov: expected column names"),
    (lambda: r.standardsccs("event ~ mmr", **ITP_ARGS, data=ITP.assign(itp=ITP["end"] + 5)),
     "aevent: no event lies within its observation period"),
    (lambda: r.standardsccs("event ~ mmr + season", **ITP_ARGS, data=ITP),
     "formula 'event ~ mmr + season': season needs seasongrp"),
    (lambda: r.eventdepenexp(**{**ITP_ARGS, "expogrp": [-5, 0]}, data=ITP),
     "expogrp: [-5, 0] starts before the exposure"),
    (lambda: r.eventdepenexp(**ITP_ARGS, data=ITP, tolerance="a"), "tolerance: expected a number"),
    (lambda: r.eventdepenexp(**ITP_ARGS, data=ITP, itermax=2.5), "itermax: 2.5 is not a whole"),
    (lambda: r.eventdepenobs("event ~ mmr", **ITP_ARGS, censor="cen", initval=[0.1],
                             data=ITP.assign(cen=0)), "initval: expected 4 starting values"),
    (lambda: r.eventdepenobs("event ~ mmr", **ITP_ARGS, censor="cen", data=ITP.assign(cen=0),
                             initval=[0.1, 0.1, "x", 0.1]), "initval: expected a number"),
    (lambda: r.samplesize(eexpo="a", risk=21, astart=366, aend=730, p=0.75),
     "eexpo: expected a number"),
    (lambda: r.samplesize(eexpo=2.5, risk=-21, astart=366, aend=730, p=0.75),
     "risk: expected a number between 1"),
    (lambda: r.samplesize(eexpo=2.5, risk=21, astart=366, aend=730, p=1.5),
     "p: expected a number between 0 and 1"),
    (lambda: r.samplesize(eexpo=2.5, risk=21, astart=366, aend=730, p=[0.5, "x"]),
     "p: expected a number"),
    (lambda: r.samplesize(eexpo=2.5, risk=21, astart=366, aend=730, p=0.5, alpha=2),
     "alpha: expected a number between 0 and 1"),
    (lambda: r.samplesize(eexpo=2.5, risk=21, astart=730, aend=366, p=0.5),
     "astart, aend: [730, 366] must be increasing"),
])
def test_bad_extension_argument_is_named(call, message: str) -> None:
    with pytest.raises(r.RError) as err:
        quiet(call)
    assert str(err.value).startswith(message), str(err.value)


def test_bad_season_start_is_named() -> None:
    with pytest.raises(r.RError, match=r"^seasongrp: 3201 is not a day written ddmm"):
        quiet(r.standardsccs, "event ~ mmr", **ITP_ARGS, seasongrp=[101, 3201], dob="sta",
              data=ITP)


def test_intervals_of_a_case_with_disagreeing_rows_are_per_unit() -> None:
    """r.intervals (one copy per unit, for the diagnostics): a case whose rows disagree has one
    unit per distinct set of values; attrs['indiv'] maps the unit numbers to the cases."""
    iv, _ = quiet(r.intervals, **FEB_ARGS, data=FEB)
    cases = pd.Series(iv.attrs["indiv"])
    assert cases.nunique() == FEB["case"].nunique()
    assert (cases == 14).sum() == 2 and (cases == 1).sum() == 1
    assert int(iv["events"].sum()) == len(FEB) - 1  # the event after its aend is dropped
    first = iv.groupby("id")["start"].min().reindex(cases.index)
    np.testing.assert_array_equal(first.to_numpy(),
                                  FEB.groupby("case")["sta"].first().reindex(cases).to_numpy())


@pytest.mark.parametrize("seed", range(5))
def test_event_set_ids_equal_exactly_when_the_sets_are_equal(seed: int) -> None:
    """The vectorised grouping of events by their sets of exposure entries against Python
    frozensets (duplicates and missing days ignored, as for the intervals)."""
    from analysis.sccs.r._units import _set_ids

    rng = np.random.default_rng(seed)
    n = 400
    entries = pd.DataFrame({"event": rng.integers(0, 60, n), "type": rng.integers(0, 2, n),
                            "dose": rng.integers(0, 2, n),
                            "day": rng.choice([1.0, 2.0, 3.0, np.nan], n),
                            "end": rng.choice([5.0, 6.0], n)})
    ids = _set_ids(entries, 61)
    sets = [frozenset() for _ in range(61)]
    for row in entries.dropna(subset=["day"]).itertuples():
        sets[row.event] = sets[row.event] | {(row.type, row.dose, row.day, row.end)}
    for i in range(61):
        for j in range(61):
            assert (ids[i] == ids[j]) == (sets[i] == sets[j])
