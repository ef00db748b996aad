"""Tests of ``python -m analysis sccs`` through a subprocess, as a user runs it.

Expected numbers are worked out by hand (see tests/study/test_study.py for the same one-patient
cohort): on IVIG 2 events / 30 days, observation 3 / 60 -> IRR 4/3; with a 30-day pre-window
pre 1/19, on 2/30, off 2/41.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from _helpers_study import write_cohort

ONE = dict(
    patients=[{"patient_id": "A"}],
    ivig=[("A", "2019-01-20")],
    infections=[("A", d) for d in
                ("2019-01-05", "2019-01-20", "2019-02-18", "2019-02-19", "2019-03-31")],
)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", "sccs", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(write_cohort(tmp_path_factory.mktemp("cli_one"), **ONE))


def test_json_exact_schema_and_values(folder):
    r = run(folder, "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert list(doc) == ["outcome", "n_cases", "n_events", "loglik", "terms"]
    assert doc["outcome"] == "all" and doc["n_cases"] == 1 and doc["n_events"] == 5
    (t,) = doc["terms"]
    assert list(t) == ["term", "irr", "ci_low", "ci_high", "p", "log_irr", "se"]
    assert t["term"] == "on_ivig"
    assert t["irr"] == pytest.approx(4 / 3)
    assert t["se"] == pytest.approx(math.sqrt(1 / 2 + 1 / 3))


def test_pre_window_json(folder):
    doc = json.loads(run(folder, "--pre-window", "30", "--format", "json").stdout)
    irr = {t["term"]: t["irr"] for t in doc["terms"]}
    assert irr["on_ivig"] == pytest.approx(41 / 30)
    assert irr["pre_ivig"] == pytest.approx(41 / 38)


def test_table_and_csv(folder):
    r = run(folder)
    assert r.returncode == 0 and "on_ivig" in r.stdout and "1.33" in r.stdout
    r = run(folder, "--format", "csv")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("outcome,term,irr,ci_low,ci_high,p,log_irr,se")
    assert lines[1].startswith("all,on_ivig,1.333")


@pytest.mark.parametrize("args, message", [
    (["--outcome", "fungal"], "invalid choice"),
    (["--hgg", "500"], "invalid choice"),
    (["--pre-window", "0"], "at least 1 day"),
    (["--pre-window", "x"], "whole number"),
    (["--adjust", "age"], "invalid choice"),
    (["--outcome", "viral"], "no cases"),
])
def test_bad_options_exit_2_without_traceback(folder, args, message):
    r = run(folder, *args)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_invalid_cohort_lists_problems(tmp_path):
    bad = write_cohort(tmp_path, [{"patient_id": "A", "dara_last": "2018-01-01"}])
    r = run(str(bad))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "patients.csv" in r.stderr and "dara_last" in r.stderr
    r = run(str(tmp_path / "missing"))
    assert r.returncode == 2 and "no such folder" in r.stderr


def test_help_explains_options():
    r = subprocess.run([sys.executable, "-m", "analysis", "sccs", "--help"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    for word in ("--outcome", "--pre-window", "--adjust", "--hgg", "--format", "examples:",
                 "fall/winter", "functional IgG", "grade 3-4"):
        assert word in r.stdout


def test_startup_does_not_import_heavy_libraries():
    """Building the sccs parser (what --help does) must not load pandas & co. (Only this module
    is checked: the other subcommands belong to other owners.)"""
    code = ("import argparse, sys\n"
            "import analysis.cli.sccs as m\n"
            "m.add_parser(argparse.ArgumentParser().add_subparsers())\n"
            "heavy = [x for x in ('pandas', 'numpy', 'scipy', 'statsmodels', 'lifelines')"
            " if x in sys.modules]\n"
            "print(','.join(heavy))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""
