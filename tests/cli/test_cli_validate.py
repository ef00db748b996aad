"""Tests of ``python -m analysis validate`` run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _helpers_cohort import EXPECTED_SUMMARY, drop_column, set_cell, write_cohort


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m analysis *args`` and capture its output."""
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture
def cohort_dir(tmp_path: Path) -> Path:
    return write_cohort(tmp_path / "cohort")


def test_valid_cohort_prints_summary_and_exits_0(cohort_dir: Path) -> None:
    result = run("validate", str(cohort_dir))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "patients:            5 (ivig 3, reference 2)" in out
    assert "IVIG doses:          7 in 3 patients" in out
    assert "infections:          6 (ivig 3, reference 3) in 4 patients" in out
    assert "IgG measurements:    4" in out
    assert "progression events:  2" in out
    assert ("outside observation: 6 (kept, not analysed): 2 IVIG doses, 2 infections, "
            "1 IgG measurements, 1 progression events") in out
    assert "daratumumab start:   2016-01-04 to 2019-03-01" in out
    assert result.stderr == ""


def test_json_summary(cohort_dir: Path) -> None:
    result = run("validate", "--json", str(cohort_dir))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    for key, expected in EXPECTED_SUMMARY.items():
        assert summary[key] == expected, key


def test_invalid_cohort_lists_problems_on_stderr_and_exits_2(cohort_dir: Path) -> None:
    set_cell(cohort_dir, "patients.csv", 3, "dara_last", "2017-01-01")
    set_cell(cohort_dir, "infections.csv", 4, "organism", "parasite")
    drop_column(cohort_dir, "igg.csv", "igg_mg_dl")
    result = run("validate", str(cohort_dir))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"{cohort_dir}: 3 problems"
    assert "patients.csv, row 3, column dara_last: before dara_start (2017-01-01 < 2017-06-01)" \
        in lines[1]
    assert "infections.csv, row 4, column organism: expected one of" in lines[2]
    assert "igg.csv, column igg_mg_dl: required column missing" in lines[3]
    assert "Traceback" not in result.stderr


def test_max_problems_caps_the_listing(cohort_dir: Path) -> None:
    for row in range(2, 8):
        set_cell(cohort_dir, "ivig.csv", row, "date", "soon")
    result = run("validate", "--max-problems", "2", str(cohort_dir))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"{cohort_dir}: 6 problems" and len(lines) == 4
    assert lines[-1].strip() == "... and 4 more"


@pytest.mark.parametrize("kind", ["missing", "file", "bytes"])
def test_unusable_path_or_file_never_tracebacks(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "nowhere"
    if kind == "file":
        path.write_text("x\n", encoding="utf-8")
    elif kind == "bytes":
        write_cohort(path)
        (path / "patients.csv").write_bytes(b"\xff\xfe\x00p\x00a")
    result = run("validate", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"{path}: 1 problem")
    assert "Traceback" not in result.stderr


def test_module_does_not_import_pandas() -> None:
    code = ("import sys, analysis.cli.validate; "
            "print(sorted(m for m in ('pandas', 'pandera', 'numpy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]"
