"""Tests of ``our_values(cohort, ids=...)`` (analysis.paper.values): the filter gives the same
values as the whole table and fits only the models behind the ids asked for.

References: the whole table of the same function (a filtered call must not change a value), the
models the paper's SCCS and Cox tables declare (analysis.study.models.PAPER_MODELS,
analysis.study.cox), and ``patients.csv`` / ``infections.csv`` read with pandas for the
denominators.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import SYNTHETIC_DIR
from analysis.paper import values
from analysis.study import cox, load_cohort
from analysis.study import models as study_models


@pytest.fixture(scope="module")
def whole() -> pd.DataFrame:
    return values.our_values(load_cohort(SYNTHETIC_DIR))


@pytest.fixture
def fits(monkeypatch) -> dict[str, list]:
    """Record every SCCS model and Cox model the code under test fits."""
    seen: dict[str, list] = {"sccs": [], "uni": [], "multi": 0}
    menu, uni, multi = study_models.sccs_menu, cox.univariable_cox, cox.multivariable_cox

    def sccs_menu(cohort, models=study_models.PAPER_MODELS):
        seen["sccs"] += [m.model for m in models]
        return menu(cohort, models)

    def univariable_cox(data, specs=cox.TABLE1_COVARIATES):
        seen["uni"] += [s.covariate for s in specs]
        return uni(data, specs)

    def multivariable_cox(data, *args):
        seen["multi"] += 1
        return multi(data, *args)

    import analysis.study as study

    monkeypatch.setattr(study, "sccs_menu", sccs_menu)
    monkeypatch.setattr(cox, "univariable_cox", univariable_cox)
    monkeypatch.setattr(cox, "multivariable_cox", multivariable_cox)
    return seen


def _subset(whole: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    return whole[whole["target_id"].isin(ids)].reset_index(drop=True)


def test_id_sets_name_the_declared_models() -> None:
    declared = {tid for ids in values.SCCS_MODEL_IDS.values() for _, tid, _ in ids}
    assert declared <= values.SCCS_IDS
    assert "abs_allgrade_reduction_pct" in values.SCCS_IDS  # restates sccs_allgrade_irr
    assert {"t1_age_hr", "s1_age_ahr", "text_hr_igg_subtype"} <= values.COX_IDS
    assert not values.SCCS_IDS & values.COX_IDS
    assert "res1_infections_total" not in values.SCCS_IDS | values.COX_IDS


def test_marginal_ids_fit_no_model(whole, fits) -> None:
    ids = [t for t in whole["target_id"] if t not in values.SCCS_IDS | values.COX_IDS]
    got = values.our_values(load_cohort(SYNTHETIC_DIR), ids=ids)
    assert fits == {"sccs": [], "uni": [], "multi": 0}
    pd.testing.assert_frame_equal(got, _subset(whole, ids))


@pytest.mark.parametrize(("ids", "sccs", "uni", "multi"), [
    (["sccs_pre30_irr"], ["pre30_all"], [], 0),
    (["abs_g34_reduction_pct", "res1_infections_total"], ["primary_grade3"], [], 0),
    (["sccs_g3plus_irr_adj_pre"], ["pre30_grade3", "pre60_grade3"], [], 0),
    (["text_hr_igg_subtype", "t1_iss_2_hr"], [], ["heavy_chain", "iss"], 0),
    (["s1_age_ahr", "t1_n_ivig"], [], [], 1),
])
def test_only_the_models_behind_the_ids(whole, fits, ids, sccs, uni, multi) -> None:
    got = values.our_values(load_cohort(SYNTHETIC_DIR), ids=ids)
    assert fits == {"sccs": sccs, "uni": uni, "multi": multi}
    pd.testing.assert_frame_equal(got, _subset(whole, ids))


def test_unknown_ids_are_left_out(whole) -> None:
    got = values.our_values(load_cohort(SYNTHETIC_DIR), ids=["no_such_id", "t1_n_ref"])
    assert got["target_id"].tolist() == ["t1_n_ref"]


def test_denominators_against_the_csv(whole) -> None:
    v = whole.set_index("target_id")
    p = pd.read_csv(SYNTHETIC_DIR / "patients.csv", dtype=str)
    iv = p[p["group"] == "ivig"]
    # Table 1 percentages are of the patients with the value recorded (an empty cell = unknown)
    assert v.loc["t1_iss_2_ivig_pct", "denominator"] == iv["iss"].notna().sum()
    assert v.loc["t1_sex_female_ivig_pct", "denominator"] == len(iv)
    # organism percentages are of the IVIG group's microbiologically confirmed infections inside
    # observation (contract: dara_start .. earliest of dara_last + 30, death_date, last_contact)
    day = {c: pd.to_datetime(iv[c]) for c in ("dara_start", "dara_last", "death_date",
                                              "last_contact")}
    end = pd.concat([day["dara_last"] + pd.Timedelta(days=30), day["death_date"],
                     day["last_contact"]], axis=1).min(axis=1)
    window = pd.DataFrame({"patient_id": iv["patient_id"], "start": day["dara_start"],
                           "end": end})
    inf = pd.read_csv(SYNTHETIC_DIR / "infections.csv", dtype=str).merge(window, on="patient_id")
    date = pd.to_datetime(inf["date"])
    inf = inf[(date >= inf["start"]) & (date <= inf["end"])]
    confirmed = inf["organism"].isin(["bacterial", "viral", "fungal"])
    assert v.loc["res1_micro_bacterial_pct", "denominator"] == confirmed.sum()
    assert v.loc["res1_micro_bacterial_pct", "value"] == pytest.approx(
        100 * (inf["organism"] == "bacterial").sum() / confirmed.sum())
    assert pd.isna(v.loc["res1_infections_total", "denominator"])
