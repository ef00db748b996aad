"""``python -m analysis omop run``: a bad specification or CDM exits 2 with one line naming the
key or path, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from analysis.cli.main import main

SPEC = Path("data/omop/eunomia-ohdsi-test.yaml")


def _run(tmp_path: Path, spec: Path, cdm: Path | None = None) -> int:
    cdm = cdm or tmp_path
    return main(["omop", "run", "--cdm", str(cdm), "--spec", str(spec),
                 "--out", str(tmp_path / "out")])


def test_bad_specification_exits_2_names_key_writes_nothing(tmp_path, capsys) -> None:
    data = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    data["sccs_analysis_list"][0]["create_study_population_args"]["naive_period"] = -5
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert _run(tmp_path, bad) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "sccs_analysis_list[0].create_study_population_args.naive_period: must be a " \
           "non-negative integer (got -5)" in err[0]
    assert not (tmp_path / "out").exists()


def test_missing_specification_file(tmp_path, capsys) -> None:
    assert _run(tmp_path, tmp_path / "nope.yaml") == 2
    assert "nope.yaml: cannot read the specification" in capsys.readouterr().err


def test_missing_cdm(tmp_path, capsys) -> None:
    assert _run(tmp_path, SPEC, cdm=tmp_path / "no-cdm.duckdb") == 2
    assert "no-cdm.duckdb: no such file or folder" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_missing_table_is_one_line_before_any_progress_bar(tmp_path, capsys) -> None:
    """A CDM folder without observation_period: one line naming it, no 0 % progress bar."""
    cdm = tmp_path / "cdm"
    cdm.mkdir()
    assert _run(tmp_path, SPEC, cdm=cdm) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "table 'observation_period' is missing" in err[0]
    assert not (tmp_path / "out").exists()


def test_bad_min_cell_count(tmp_path) -> None:
    with pytest.raises(SystemExit) as e:
        main(["omop", "run", "--cdm", str(tmp_path), "--spec", str(SPEC), "--out",
              str(tmp_path / "o"), "--min-cell-count", "-1"])
    assert e.value.code == 2
