"""The paper layer names the study's quantities by targets.yaml ids (analysis.paper.values: the
Cox models' terms by UNIVARIABLE_IDS and MULTIVARIABLE_IDS, Table 1's cells by table1_ids, the
descriptive quantities by descriptive_values, the SCCS models' terms by SCCS_MODEL_IDS); the
study layer computes quantities only and names no paper id (an AST scan of analysis/study).

Expected sets are read from data/paper/targets.yaml (the paper's list), never from the maps under
test: every Table 1 HR (``t1_*_hr``), every Supplementary Table 1 HR (``s1_*``) and every Table 1
cell (the other ``t1_*`` ids but the group sizes) must be reachable, and nothing else.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis import PROJECT_ROOT, SYNTHETIC_DIR, TARGETS_PATH
from analysis.paper import values
from analysis.study import cox
from analysis.study import models as study_models
from analysis.study.cohort import load_cohort

PAPER_IDS = frozenset(x["id"] for x in yaml.safe_load(TARGETS_PATH.read_text())["targets"])
ID_COLUMNS = ("target_n", "target_pct", "target_median", "target_min", "target_max")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return cox.cox_data(load_cohort(SYNTHETIC_DIR))


def test_univariable_terms_reach_every_table1_hr(data) -> None:
    t = values.cox_ids(cox.univariable_cox(data), "univariable")
    assert set(t["target_id"].dropna()) == {x for x in PAPER_IDS
                                            if x.startswith("t1_") and x.endswith("_hr")}
    # reference levels have no paper id; a term nobody has (IgE) keeps its row without one
    assert t.loc[t["reference"], "target_id"].isna().all()
    assert set(values.UNIVARIABLE_IDS) <= set(t["term"])


def test_multivariable_terms_reach_every_supplementary_hr(data) -> None:
    t = values.cox_ids(cox.multivariable_cox(data), "multivariable")
    assert set(t["target_id"].dropna()) == {x for x in PAPER_IDS if x.startswith("s1_")}
    assert set(values.MULTIVARIABLE_IDS) <= set(t["term"])


def test_sccs_rows_reach_every_sccs_id() -> None:
    # every SCCS figure of the paper is mapped (the two "reduction" restatements of the primary
    # IRRs excepted: they are 100 * (1 - IRR) of sccs_allgrade_irr / sccs_g34_irr), each to a
    # model of PAPER_MODELS and a term that model has
    ids = {tid for cells in values.SCCS_MODEL_IDS.values() for _, tid, _ in cells}
    assert ids == {x for x in PAPER_IDS if x.startswith("sccs_")} - {
        "sccs_allgrade_reduction_pct", "sccs_g34_reduction_pct"}
    models = {m.model: m for m in study_models.PAPER_MODELS}
    assert set(values.SCCS_MODEL_IDS) == set(models)
    for name, cells in values.SCCS_MODEL_IDS.items():
        m = models[name]
        terms = study_models.model_terms(m.pre_window, m.adjust, m.hgg)
        assert {term for term, _, _ in cells} <= set(terms), name
    menu = pd.DataFrame({"model": ["bacterial", "pre60_all", "pre60_all", "season_all"],
                         "term": ["on_ivig", "pre_ivig", "on_ivig", "fall_winter"]})
    got = values.sccs_ids(menu)[["target_id", "target_scale"]].to_numpy().tolist()
    assert got == [["sccs_bacterial_reduction_pct", "reduction_pct"], ["sccs_pre60_irr", "irr"],
                   ["sccs_allgrade_irr_adj_pre60", "irr"], [None, None]]


def test_table1_cells_reach_every_table1_id(data) -> None:
    b = values.table1_ids(cox.baseline_characteristics(data))
    used = set().union(*(set(b[c].dropna()) for c in ID_COLUMNS))
    expected = {x for x in PAPER_IDS if x.startswith("t1_") and not x.endswith("_hr")}
    assert used == expected - {"t1_n_ivig", "t1_n_ref"}
    # one id per cell: no two rows claim the same id
    ids = pd.concat([b[c] for c in ID_COLUMNS]).dropna()
    assert ids.is_unique


def test_table1_ids_by_hand() -> None:
    b = pd.DataFrame({"covariate": ["patients", "years_dx", "prior_infections_cat", "iss"],
                      "level": [None, None, "4+", "III"], "group": ["ivig", "reference",
                                                                    "ivig", "reference"]})
    got = values.table1_ids(b)[list(ID_COLUMNS)].to_numpy().tolist()
    assert got == [[None] * 5,
                   [None, None, "t1_years_dx_to_dara_ref_median", "t1_years_dx_to_dara_ref_min",
                    "t1_years_dx_to_dara_ref_max"],
                   ["t1_prior_inf_4plus_ivig_n", "t1_prior_inf_4plus_ivig_pct", None, None, None],
                   ["t1_iss_3_ref_n", "t1_iss_3_ref_pct", None, None, None]]


def test_the_paper_codes_cover_the_study_levels() -> None:
    assert set(values.T1_NUMERIC_CODES) == set(cox.T1_NUMERIC)
    assert set(values.T1_GROUP_CODES) == set(cox.T1_GROUPS)
    assert {c: tuple(lv) for c, (_, lv) in values.T1_LEVEL_CODES.items()} == cox.T1_LEVELS


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="model 'cox'"):
        values.cox_ids(pd.DataFrame({"term": []}), "cox")


def _paper_ids_in(path: Path) -> list[str]:
    """String constants (and literal parts of f-strings) of a module that are, or start, a paper
    id: ``"t1_age_hr"``, ``f"t1_{code}_..."``."""
    prefixes = {x.split("_", 1)[0] + "_" for x in PAPER_IDS}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if text in PAPER_IDS or (any(text.startswith(p) for p in prefixes)
                                     and any(i.startswith(text) for i in PAPER_IDS)):
                found.append(text)
    return found


STUDY = PROJECT_ROOT / "analysis" / "study"


@pytest.mark.parametrize("name", [p.name for p in sorted(STUDY.glob("*.py"))])
def test_the_study_layer_names_no_paper_id(name: str) -> None:
    assert _paper_ids_in(STUDY / name) == []
