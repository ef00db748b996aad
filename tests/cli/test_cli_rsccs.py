"""``python -m analysis rsccs`` through a subprocess, as a user runs it (the many bad-input
cases run in this process through ``analysis.cli.main.main``, which ``python -m analysis`` calls).

The models of tests/sccs/test_sccs_rapi.py run from the command line give R's numbers (read from the
R reference suites data/external/sccs-r and data/external/sccs-r-ext, which are R's output), and
the same numbers as the Python API; CSV and Parquet input give identical results; bad input exits
2 naming the file, row, column and rule, with nothing on stdout and no file written.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
R_DIR = ROOT / "data" / "external" / "sccs-r"
REF = json.loads((R_DIR / "reference.json").read_text())["examples"]
EXT = json.loads((ROOT / "data" / "external" / "sccs-r-ext" / "reference.json").read_text())
ITP = str(R_DIR / "data" / "itpdat.csv")
ITP_ARGS = ["--indiv", "case", "--astart", "sta", "--aend", "end", "--aevent", "itp",
            "--adrug", "mmr", "--aedrug", "mmr+42"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", "rsccs", *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def run_here(capsys, *args: str) -> subprocess.CompletedProcess:
    """The command in this process (``analysis.cli.main.main``, what ``python -m analysis``
    calls), for the many bad-input cases: same exit code and output, no interpreter start-up."""
    from analysis.cli.main import main

    try:
        code = main(["rsccs", *args])
    except SystemExit as exc:  # argparse rejects an option value
        code = exc.code
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def run_json(*args: str) -> dict:
    r = run(*args, "--format", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def terms(doc: dict) -> pd.DataFrame:
    return pd.DataFrame(doc["terms"]).set_index("term").astype(float)


def assert_matches_r(doc: dict, example: str) -> None:
    """coef abs/rel 1e-6, se and CI rel 1e-5, loglik abs 1e-6 (data/external/sccs-r/README)."""
    ex = REF[example]
    ref = pd.DataFrame(ex["coefficients"]).set_index("term")
    t = terms(doc)
    assert list(t.index) == list(ref.index)
    coef = ref["coef"].to_numpy()
    assert np.all(np.abs(t["coef"].to_numpy() - coef) <= np.minimum(1e-6, 1e-6 * np.abs(coef)))
    for col in ("se", "exp_coef", "lower95", "upper95", "z"):
        np.testing.assert_allclose(t[col], ref[col], rtol=1e-5, err_msg=col)
    assert doc["loglik"] == pytest.approx(ex["loglik"]["model"], abs=1e-6)
    assert doc["loglik_null"] == pytest.approx(ex["loglik"]["null"], abs=1e-6)
    assert doc["n_events"] == ex["n_events"] and doc["n_cases"] == ex["n_cases"]


def test_itp_mod3_json_matches_r_and_the_api() -> None:
    # R: standardsccs(event~mmr+age, indiv=case, astart=sta, aend=end, aevent=itp, adrug=mmr,
    #      aedrug=mmr+42, expogrp=c(0,15,29), agegrp=c(427,488,549,610,671), data=itpdat)
    doc = run_json(ITP, *ITP_ARGS, "--expogrp", "0,15,29", "--agegrp", "427,488,549,610,671")
    assert_matches_r(doc, "standardsccs_itp.mod3")
    assert set(doc["terms"][0]) == {"term", "coef", "exp_coef", "se", "z", "p", "lower95",
                                    "upper95"}
    from analysis.sccs import r

    api = r.standardsccs("event ~ mmr + age", indiv="case", astart="sta", aend="end",
                         aevent="itp", adrug="mmr", aedrug="mmr+42", expogrp=[0, 15, 29],
                         agegrp=[427, 488, 549, 610, 671], data=pd.read_csv(ITP))
    np.testing.assert_allclose(terms(doc)["coef"], api.summary["coef"], rtol=1e-12)
    # R's headline (README): mmr2 RI 5.9540, 95% CI 2.5192-14.0717
    assert terms(doc).loc["mmr2", "exp_coef"] == pytest.approx(5.9540, abs=5e-5)


def test_table_csv_and_parquet(tmp_path: Path) -> None:
    table = run(ITP, *ITP_ARGS)
    assert table.returncode == 0 and "mmr1" in table.stdout and "exp(coef)" in table.stdout
    assert "4.525" in table.stdout  # R: exp(coef) 4.5248 (README, itp.mod1)
    csv = run(ITP, *ITP_ARGS, "--format", "csv")
    lines = csv.stdout.splitlines()
    assert lines[0] == "term,coef,exp_coef,se,z,p,lower95,upper95"
    assert lines[1].startswith("mmr1,1.5095634")
    pq = tmp_path / "itpdat.parquet"
    pd.read_csv(ITP).to_parquet(pq)
    assert run_json(str(pq), *ITP_ARGS) == run_json(ITP, *ITP_ARGS)


def test_several_exposure_types_multi_format() -> None:
    # R: standardsccs(event~dtp+hib+age, indiv=case, astart=sta, aend=end, aevent=conv,
    #      adrug=list(cbind(dtp,dtpd2,dtpd3), cbind(hib,hibd2,hibd3)),
    #      aedrug=list(cbind(dtp+14,dtpd2+14,dtpd3+14), cbind(hib+14,hibd2+14,hibd3+14)),
    #      expogrp=list(c(0,4,8),c(0,8)), agegrp=ageg, dataformat="multi", data=hibdat)
    doc = run_json(str(R_DIR / "data" / "hibdat.csv"), "--indiv", "case", "--astart", "sta",
                   "--aend", "end", "--aevent", "conv",
                   "--adrug", "dtp,dtpd2,dtpd3;hib,hibd2,hibd3",
                   "--aedrug", "dtp+14,dtpd2+14,dtpd3+14;hib+14,hibd2+14,hibd3+14",
                   "--expogrp", "0,4,8;0,8",
                   "--agegrp", "57,85,113,141,169,197,225,253,281,309,337",
                   "--dataformat", "multi")
    assert_matches_r(doc, "standardsccs_hib.mod1")


def test_seasons_and_relevel_formula() -> None:
    # R: standardsccs(event~opv+age+season, ..., adrug=cbind(opv,opvd2),
    #      aedrug=cbind(opv+42,opvd2+42), expogrp=c(0,15,29), agegrp=seq(30,330,30),
    #      seasongrp=month, dob=dob, dataformat="multi", data=intdat)
    doc = run_json(str(R_DIR / "data" / "intdat.csv"), "--indiv", "case", "--astart", "sta",
                   "--aend", "end", "--aevent", "intus", "--adrug", "opv,opvd2",
                   "--aedrug", "opv+42,opvd2+42", "--expogrp", "0,15,29",
                   "--agegrp", ",".join(str(a) for a in range(30, 331, 30)),
                   "--seasongrp", "0101,0102,0103,0104,0105,0106,0107,0108,0109,0110,0111,0112",
                   "--dob", "dob", "--dataformat", "multi")
    assert_matches_r(doc, "standardsccs_int.mod")
    # R: standardsccs(event~ns+relevel(age,ref=21), ..., adrug=ns, aedrug=endns, agegrp=ageq,
    #      dataformat="stack", data=gidat)   (ageq: reference.json resolved_setup)
    ageq = REF["standardsccs_gi.mod1"]["resolved_setup"]["ageq"]
    doc = run_json(str(R_DIR / "data" / "gidat.csv"), "--indiv", "case", "--astart", "sta",
                   "--aend", "end", "--aevent", "bleed", "--adrug", "ns", "--aedrug", "endns",
                   "--agegrp", ",".join(map(str, ageq)),
                   "--formula", "event ~ ns + relevel(age, ref=21)")
    assert_matches_r(doc, "standardsccs_gi.mod1")


def test_semisccs_with_an_aliased_term() -> None:
    # R: semisccs(event~factor(sex)*mmr, indiv=case, astart=sta, aend=end, aevent=itp,
    #      adrug=mmr, aedrug=mmr+42, expogrp=c(0,15,29), data=itpdat)
    doc = run_json(ITP, *ITP_ARGS, "--expogrp", "0,15,29", "--model", "semi",
                   "--formula", "event~factor(sex)*mmr")
    ref = EXT["semisccs_itp.mod2"]
    assert [t["term"] for t in doc["terms"]] == ref["term"]
    assert doc["terms"][0]["coef"] is None  # factor(sex)2: NA in R
    coef = pd.to_numeric(pd.Series(ref["coef"]), errors="coerce").to_numpy()
    ours = terms(doc)["coef"].to_numpy()
    np.testing.assert_allclose(ours[1:], coef[1:], rtol=1e-6)


EXT_DATA = ROOT / "data" / "external" / "sccs-r-ext" / "data"


def test_eventdepenexp_and_eventdepenobs() -> None:
    """README of sccs-r-ext: eventdepenexp about 1e-6; eventdepenobs 1e-3 on coefficients and
    1e-4 on the four log-likelihoods (R's nlm optimum)."""
    # R: eventdepenexp(indiv=case, astart=sta, aend=end, aevent=intus, adrug=cbind(rv,rvd2),
    #      aedrug=cbind(rv+21,rvd2+21), expogrp=c(1,8), agegrp=seq(56,168,14),
    #      dataformat='multi', data=rotdat)
    doc = run_json(str(EXT_DATA / "rotdat.csv"), "--indiv", "case", "--astart", "sta",
                   "--aend", "end", "--aevent", "intus", "--adrug", "rv,rvd2",
                   "--aedrug", "rv+21,rvd2+21", "--expogrp", "1,8",
                   "--agegrp", ",".join(str(a) for a in range(56, 169, 14)),
                   "--dataformat", "multi", "--model", "eventdepenexp")
    ref = EXT["eventdepenexp_rot.mod2"]
    t = terms(doc)
    assert list(t.index) == ref["term"] and doc["loglik"] is None
    np.testing.assert_allclose(t["coef"], ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(t["se"], ref["se"], rtol=1e-6)
    # R: eventdepenobs(event~nrt, indiv=case, astart=nrt, aend=act, aevent=mi, adrug=nrt,
    #      aedrug=nrt+28, censor=cen, expogrp=c(0,8,15,22), agegrp=NULL, data=nrtdat)
    doc = run_json(str(EXT_DATA / "nrtdat.csv"), "--indiv", "case", "--astart", "nrt",
                   "--aend", "act", "--aevent", "mi", "--adrug", "nrt", "--aedrug", "nrt+28",
                   "--censor", "cen", "--expogrp", "0,8,15,22", "--model", "eventdepenobs")
    ref = EXT["eventdepenobs_nrt.mod"]
    t = terms(doc)
    assert list(t.index) == ref["term"]
    # at least R's nlm optima (higher for EWI, EGA, EGI: issue 17), so not R's coefficients
    loglik = np.array([doc["modelfit"][m]["Loglik"] for m in ref["modelfit"]["models"]])
    r_ll = np.array(ref["modelfit"]["loglik"])
    assert (loglik >= r_ll - 1e-9 * np.abs(r_ll)).all()


BAD_ROWS = [  # (row index in the data to spoil, column, new value, expected message parts)
    (4, "sta", "", ["row 6", "'sta' (astart)", "missing value"]),
    (6, "itp", "700.5", ["row 8", "'itp' (aevent)", "not a whole number"]),
    (2, "mmr", "abc", ["row 4", "'mmr' (adrug)", "not a number"]),
    # (an observation period that differs between the events of a case is R's per-event
    # reading, with a warning: tests/sccs/test_sccs_r_rows.py and test_febdat_* below)
    (3, "end", "100", ["row 5", "'end' (aend)", "before its start"]),
]


@pytest.mark.parametrize("row, column, value, parts", BAD_ROWS)
def test_bad_data_exit_2_naming_row_column_rule(tmp_path: Path, capsys, row: int,
                                                column: str, value: str,
                                                parts: list[str]) -> None:
    d = pd.read_csv(ITP, dtype=str, keep_default_na=False)
    d.loc[row, column] = value
    bad = tmp_path / "bad.csv"
    d.to_csv(bad, index=False)
    before = sorted(tmp_path.iterdir())
    r = run_here(capsys, str(bad), *ITP_ARGS, "--format", "json")
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert str(bad) in r.stderr
    for part in parts:
        assert part in r.stderr, r.stderr
    assert sorted(tmp_path.iterdir()) == before  # nothing written


@pytest.mark.parametrize("args, message", [
    (["--aevent", "itpx"], "no column 'itpx'"),
    (["--aedrug", "mmx+42"], "no column 'mmx'"),
    (["--formula", "event ~ mmr + foo"], "['foo'] are neither exposures"),
    (["--expogrp", "0,x"], "whole numbers"),
    (["--model", "semi", "--agegrp", "500"], "no agegrp argument"),
    (["--model", "eventdepenobs"], "needs --censor"),
    (["--dataformat", "wide"], "invalid choice"),
])
def test_bad_options_exit_2(capsys, args: list[str], message: str) -> None:
    base = dict(zip(ITP_ARGS[::2], ITP_ARGS[1::2], strict=True))
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    r = run_here(capsys, ITP, *[x for kv in base.items() for x in kv])
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert message in r.stderr, r.stderr


def test_unreadable_files(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "data.xlsx").write_text("x")
    for name, message in (("empty.csv", "cannot read the file"), ("missing.csv", "no such file"),
                          ("data.xlsx", "expected a .csv or .parquet file")):
        r = run_here(capsys, str(tmp_path / name), *ITP_ARGS)
        assert r.returncode == 2 and r.stdout == "" and message in r.stderr
        assert "Traceback" not in r.stderr


def test_diagnostics_flag() -> None:
    """Verdicts when analysis.sccs.diagnostics.run_all exists, else a clear exit 2 (run as a
    user runs it)."""
    r = run(ITP, *ITP_ARGS, "--diagnostics", "--format", "json")
    try:
        available = hasattr(importlib.import_module("analysis.sccs.diagnostics"), "run_all")
    except ImportError:
        available = False
    if available:
        assert r.returncode == 0, r.stderr
        verdicts = json.loads(r.stdout)["diagnostics"]
        assert {"name", "verdict"} <= set(verdicts[0])
    else:
        assert r.returncode == 2 and r.stdout == ""
        assert "diagnostics not available" in r.stderr


def test_help_explains_options_in_rs_terms() -> None:
    r = subprocess.run([sys.executable, "-m", "analysis", "rsccs", "--help"],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0
    for word in ("--indiv", "--astart", "--aend", "--aevent", "--adrug", "--aedrug",
                 "--expogrp", "--washout", "--sameexpopar", "--agegrp", "--seasongrp", "--dob",
                 "--dataformat", "--formula", "--model", "--censor", "--diagnostics",
                 "--format", "cbind", "standardsccs(", "semisccs", "eventdepenobs"):
        assert word in r.stdout, word


def test_startup_does_not_import_heavy_libraries() -> None:
    code = ("import argparse, sys\n"
            "import analysis.cli.rsccs as m\n"
            "m.add_parser(argparse.ArgumentParser().add_subparsers())\n"
            "heavy = [x for x in ('pandas', 'numpy', 'scipy', 'statsmodels', 'patsy')"
            " if x in sys.modules]\n"
            "print(','.join(heavy))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""


def test_diagnostic_windows_in_process() -> None:
    """The models behind --diagnostics: itpdat has no event in the 30 days before MMR (counted
    here from the raw rows), so that window is reported as not estimable; the probe of the last
    30 days of observation is fitted."""
    from analysis.cli.rsccs import DIAGNOSTIC_DAYS, _diagnostic_fit
    from analysis.sccs import r

    itp = pd.read_csv(ITP)
    before = (itp["itp"] >= itp["mmr"] - DIAGNOSTIC_DAYS) & (itp["itp"] <= itp["mmr"] - 1)
    assert not before.any()
    iv = r.intervals("case", "sta", "end", "itp", "mmr", "mmr+42", data=itp,
                     pre_window=DIAGNOSTIC_DAYS, end_probe=DIAGNOSTIC_DAYS)
    pre, end = _diagnostic_fit(iv, "mmr")
    assert isinstance(pre, str) and "no event" in pre
    fit, term = end
    assert term == "end_probe" and term in fit.params.index
    # the probe covers the last 30 days of each observation period
    last = iv[iv["end_probe"] == 1]
    ends = itp.drop_duplicates("case").set_index("case")["end"]
    assert (last["end"].to_numpy() <= ends[last["id"]].to_numpy()).all()
    assert (last["start"].to_numpy() >= ends[last["id"]].to_numpy() - 29).all()


# --- the extensions on awkward data: R's answer or exit 2 with a message, never numpy's ------
NRT_ARGS = ["--indiv", "case", "--astart", "nrt", "--aend", "act", "--aevent", "mi",
            "--adrug", "nrt", "--aedrug", "nrt+28", "--censor", "cen", "--expogrp", "0,8,15,22",
            "--model", "eventdepenobs", "--format", "json"]


def test_eventdepenobs_repeated_events_warn_and_use_first_events(tmp_path: Path,
                                                                  capsys) -> None:
    """nrtdat with a second event (on the last day) for three cases: a warning, and the fit of
    the first events, i.e. of nrtdat itself."""
    d = pd.read_csv(EXT_DATA / "nrtdat.csv")
    later = d.iloc[[0, 5, 9]].assign(mi=lambda x: x["act"])
    assert (later["mi"] > d.iloc[[0, 5, 9]]["mi"]).all()
    f = tmp_path / "nrt_repeated.csv"
    pd.concat([d, later]).sort_values("case", kind="stable").to_csv(f, index=False)
    ref = run_here(capsys, str(EXT_DATA / "nrtdat.csv"), *NRT_ARGS)
    got = run_here(capsys, str(f), *NRT_ARGS)
    assert ref.returncode == 0 and got.returncode == 0, got.stderr
    assert "3 events after each individual's first are not used" in got.stderr
    a, b = terms(json.loads(got.stdout)), terms(json.loads(ref.stdout))
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-7)


def test_eventdepenobs_negative_age_exit_2(tmp_path: Path, capsys) -> None:
    d = pd.read_csv(EXT_DATA / "nrtdat.csv")
    d["sta"] = d["nrt"]
    d.loc[3, "sta"] = -5
    f = tmp_path / "nrt_negative.csv"
    d.to_csv(f, index=False)
    args = [a if a != "nrt" else "sta" for a in NRT_ARGS[:4]] + NRT_ARGS[4:]
    r = run_here(capsys, str(f), *args)
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert "row 5, column 'sta' (astart): -5 is negative" in r.stderr, r.stderr


def test_eventdepenexp_without_dose_before_the_event_exit_2(tmp_path: Path, capsys) -> None:
    f = tmp_path / "late_doses.csv"
    pd.DataFrame({"case": range(1, 5), "sta": 1, "end": 100, "ev": [15, 40, 20, 12],
                  "vac": [30, 50, 60, 80]}).to_csv(f, index=False)
    r = run_here(capsys, str(f), "--indiv", "case", "--astart", "sta", "--aend", "end",
                 "--aevent", "ev", "--adrug", "vac", "--aedrug", "vac+14", "--expogrp", "1",
                 "--model", "eventdepenexp")
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert "no case has a dose on or before its first event" in r.stderr, r.stderr
    assert "zero-size array" not in r.stderr


def test_semisccs_unlinked_age_step_is_na_as_in_r(tmp_path: Path, capsys) -> None:
    """Two groups of cases observed on days 1-100 and 201-300: R's clogit reports the last age
    step of the second group NA (tests/sccs/test_sccs_ext_errors.py has its numbers)."""
    rng = np.random.default_rng(3)
    n = 40
    start = np.where(np.arange(n) % 2 == 0, 1, 201)
    f = tmp_path / "two_groups.csv"
    pd.DataFrame({"case": range(1, n + 1), "sta": start, "end": start + 99,
                  "ev": start + rng.choice([10, 40, 70], n),
                  "vac": start + rng.integers(0, 90, n)}).to_csv(f, index=False)
    r = run_here(capsys, str(f), "--indiv", "case", "--astart", "sta", "--aend", "end",
                 "--aevent", "ev", "--adrug", "vac", "--aedrug", "vac+19", "--model", "semi",
                 "--format", "json")
    assert r.returncode == 0, r.stderr
    t = terms(json.loads(r.stdout))
    assert np.isnan(t.loc["factor(age)271", "coef"])
    assert t.loc["vac1", "coef"] == pytest.approx(0.5840139, rel=1e-6)  # R clogit


FEB = EXT_DATA / "febdat.csv"
FEB_REF = json.loads((ROOT / "data" / "external" / "sccs-r-ext" / "febdat-reference.json")
                     .read_text())
FEB_ARGS = ["--indiv", "case", "--astart", "sta", "--aend", "end", "--aevent", "conv",
            "--adrug", "mmr", "--aedrug", "mmr+14", "--expogrp", "0,6"]


@pytest.mark.parametrize("key, extra", [
    # R: standardsccs(event~mmr+age, indiv=case, astart=sta, aend=end, aevent=conv, adrug=mmr,
    #      aedrug=mmr+14, expogrp=c(0,6), agegrp=c(456,548,640), data=febdat)
    ("standardsccs_feb.age", ["--agegrp", "456,548,640"]),
    # R: the same without agegrp, dataformat="multi"
    ("standardsccs_feb.multi", ["--dataformat", "multi"]),
])
def test_febdat_equals_r_and_warns_naming_the_cases(key: str, extra: list[str]) -> None:
    """R's febdat: 65 cases whose event rows carry different MMR ages; R 1.7 pairs the event on
    a case's k-th row with the case's k-th earliest exposure (issue 17, section 2)."""
    r = run(str(FEB), *FEB_ARGS, *extra, "--format", "json")
    assert r.returncode == 0, r.stderr
    t = terms(json.loads(r.stdout))
    ref = FEB_REF[key]
    assert list(t.index) == ref["term"]
    np.testing.assert_allclose(t["coef"], ref["coef"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(t["se"], ref["se"], rtol=0, atol=1e-6)
    assert "warning: 65 cases' event rows disagree on adrug/aedrug (mmr) (cases 14, 40" in r.stderr


def test_febdat_pairing_row_gives_each_event_its_own_row(capsys) -> None:
    r = run_here(capsys, str(FEB), *FEB_ARGS, "--dataformat", "multi", "--pairing", "row",
                 "--format", "json")
    assert r.returncode == 0, r.stderr
    mmr1 = terms(json.loads(r.stdout)).loc["mmr1", "coef"]
    assert abs(mmr1 - FEB_REF["standardsccs_feb.multi"]["coef"][0]) > 1e-3
    assert "pairing='row'" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--agegrp", "400,400"], "agegrp: [400, 400] repeats a value"),
    (["--expogrp", "15,0"], "expogrp: [15, 0] must be increasing"),
    (["--washout", "0,5"], "washout: [0, 5] needs at least 2 values, the first >= 1"),
])
def test_bad_r_argument_exit_2_naming_it(capsys, args: list[str], message: str) -> None:
    r = run_here(capsys, ITP, *ITP_ARGS, *args)
    assert r.returncode == 2 and r.stdout == "" and message in r.stderr, r.stderr
