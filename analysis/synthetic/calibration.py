"""Calibration table: how a cohort compares with every number the paper prints.

:func:`calibration_table` takes any valid cohort (a :class:`analysis.study.cohort.Cohort`, or the
dict of tables :func:`analysis.synthetic.simulate.simulate_cohort` returns) and compares it with
the paper's numbers, read by id from ``data/paper/targets.yaml`` (never retyped here). Nothing in
it knows whether the cohort is synthetic: on real data it is simply a side-by-side with the paper.

The cohort's value of every row is :func:`analysis.paper.values.our_values`, the one place that
computes our value per target id (the reproduction-audit chapter reads the same table).
This module adds only what a calibration needs: a tolerance per row, a note where the row reads
the paper in one of several ways (the paper contradicts itself, ``inconsistencies.md``), and the
provenance of each number on a synthetic cohort.

Columns: ``target_id``, ``description``, ``paper``, ``synthetic``, ``tolerance``, ``status``
(``pass`` / ``fail`` / ``info``), ``provenance``, ``note``. Tolerances:

* ``exact`` - equal (counts; range ends after rounding to the printed decimals);
* ``rounding`` - the cohort's value rounded to the printed decimals equals the printed value
  (medians, percentages);
* ``±x`` - absolute difference at most x (rates, rate ratios);
* ``= n (scaled to N)`` - equal to the paper's categories scaled to the group size;
* ``info`` - shown, not judged (where the paper is ambiguous, contradicts itself, or the number is
  a by-product rather than a calibration target). Every estimate (the SCCS rate ratios, the crude
  on/off rate ratio) is ``info``: on a synthetic cohort it varies by chance around the truth in
  ``truth.json`` and is judged by the truth-recovery study, not by calibration.

Column ``provenance`` (:func:`analysis.synthetic.provenance.provenance_map`): ``planted``,
``truth set``, ``tuned``, ``selected`` or ``emergent``, how the synthetic generator could make the
number agree.

``ids`` restricts the table to some rows; the SCCS models are then fitted only for the SCCS rows
asked for (the seed search and the provenance map judge marginal counts on many cohorts and
fit none). The Cox models are never fitted: the calibration has no hazard-ratio row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.paper.targets import printed_decimals, rounds_to, targets
from analysis.paper.values import (
    COX_IDS,
    SCCS_IDS,
    T1_LEVEL_CODES,
    T1_NUMERIC_CODES,
    our_values,
)
from analysis.synthetic.sampling import allocate

if TYPE_CHECKING:  # pragma: no cover
    from analysis.study.cohort import Cohort
COLUMNS = ["target_id", "description", "paper", "synthetic", "tolerance", "status", "provenance",
           "note"]
#: Note on the rows that are estimates (SCCS, crude rate ratio), not calibration targets.
ESTIMATE_NOTE = ("an estimate, not a calibration target: on a synthetic cohort it varies by chance "
                 "around the truth the cohort was drawn from (truth.json)")
GK = {"ivig": "ivig", "ref": "reference"}
#: Target ids of the SCCS rows (the models are :data:`analysis.study.models.PAPER_MODELS`).
SCCS_TARGETS: tuple[str, ...] = (
    "sccs_allgrade_irr", "sccs_g34_irr", "sccs_pre60_irr", "sccs_allgrade_irr_adj_pre60",
    "sccs_pre30_irr", "sccs_allgrade_irr_adj_pre30", "sccs_hgg_any_irr", "sccs_hgg_moderate_irr",
    "sccs_hgg_severe_irr", "sccs_allgrade_irr_adj_season", "sccs_allgrade_irr_adj_progression",
    "sccs_bacterial_reduction_pct", "sccs_viral_reduction_pct",
)
#: Prior-year infection categories of Table 1 (targets.yaml code).
_PRIOR_CATS: tuple[str, ...] = ("0", "1", "2", "3", "4plus")


class _Table:
    """Reads our value of each row from :func:`analysis.paper.values.our_values`, judges it and
    collects the rows (only those of ``ids`` when given)."""

    def __init__(self, tdict: dict[str, dict], values: pd.DataFrame,
                 ids: frozenset[str] | None = None) -> None:
        self.t = tdict
        self.v = values.set_index("target_id")
        self.ids = ids
        self.rows: list[dict] = []

    def value(self, tid: str, column: str = "value") -> Any:
        """Our ``column`` for ``tid`` (NaN where the cohort cannot answer it)."""
        return self.v[column].get(tid, np.nan)

    def add(self, tid: str, tol: Any = "rounding", note: str = "") -> None:
        """Judge our value of ``tid`` against the paper's under ``tol`` and keep the row."""
        entry = self.t.get(tid)
        if entry is None:
            raise KeyError(f"calibration refers to unknown target id {tid!r}")
        if self.ids is not None and tid not in self.ids:
            return
        pv = entry["value"]
        v = self.value(tid)
        if isinstance(v, (np.floating, np.integer)):
            v = v.item()
        ok = _judge(v, pv, tol)
        status = "info" if tol == "info" else ("pass" if ok else "fail")
        if isinstance(v, float):
            v = round(v, 4)
        self.rows.append({"target_id": tid,
                          "description": f"{entry['quantity']} ({_pop(entry['population'])})",
                          "paper": pv, "synthetic": v, "tolerance": _tolerance_text(tol, pv),
                          "status": status, "provenance": "", "note": note})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=COLUMNS)


def _judge(v: Any, pv: Any, tol: Any) -> bool | None:
    """Whether our value ``v`` agrees with the paper's ``pv`` under ``tol`` (None: not judged)."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return None if tol == "info" else False
    if tol in ("exact", "rounding"):
        return rounds_to(v, pv)
    if isinstance(tol, tuple) and tol[0] == "gt":
        return float(v) > tol[1]
    if isinstance(tol, tuple) and tol[0] == "check":
        return bool(tol[2])
    if isinstance(tol, (int, float)):
        return abs(float(v) - float(pv)) <= tol + 1e-9
    return None


def _tolerance_text(tol: Any, pv: Any) -> str:
    if tol == "exact":
        return "exact"
    if tol == "rounding":
        return f"rounding ({printed_decimals(pv)} dp)"
    if isinstance(tol, tuple):
        return f"> {tol[1]}" if tol[0] == "gt" else tol[1]
    if isinstance(tol, (int, float)):
        return f"±{tol}"
    return "info"


def _pop(p: str) -> str:
    """Readable population name."""
    return {"ivig_group": "IVIG group", "reference": "reference group", "both": "both groups",
            "screened": "screened"}.get(p, p)


def _as_cohort(cohort: Any) -> Cohort:
    """A loaded :class:`~analysis.study.cohort.Cohort` as is; the simulator's dict of tables through
    :func:`analysis.synthetic.simulate.as_cohort` (written and loaded exactly as a user would read
    it)."""
    if isinstance(cohort, Mapping):
        from analysis.synthetic.simulate import as_cohort

        return as_cohort(cohort)
    return cohort


def calibration_table(cohort: Any, targets_path: str | Path | None = None, *,
                      ids: Iterable[str] | None = None, provenance: bool = True) -> pd.DataFrame:
    """Compare ``cohort`` with every calibration target of the paper (see the module doc).

    ``cohort`` is a loaded :class:`~analysis.study.cohort.Cohort` or the dict of tables
    :func:`analysis.synthetic.simulate.simulate_cohort` returns (converted by :func:`_as_cohort`).
    ``ids``: only the rows of these target ids, in table order, with the values the whole table
    gives them; only the SCCS models behind the ``ids`` are fitted. ``provenance``: fill the
    ``provenance`` column from :func:`analysis.synthetic.provenance.provenance_map` (``planted``,
    ``truth set``, ``tuned``, ``selected`` or ``emergent``: how the synthetic generator could make
    this number agree; every row ``emergent`` for a cohort that is not synthetic); False leaves
    it empty.

    Examples
    --------
    >>> from analysis import SYNTHETIC_DIR
    >>> from analysis.study import load_cohort
    >>> cal = calibration_table(load_cohort(SYNTHETIC_DIR), ids=["t1_n_ivig", "res1_ivig_n"])
    >>> cal[["target_id", "synthetic", "tolerance", "status"]].to_numpy().tolist()
    [['t1_n_ivig', 43.0, 'exact', 'pass'], ['res1_ivig_n', 43.0, 'exact', 'pass']]
    """
    tdict = targets(targets_path)
    cohort = _as_cohort(cohort)
    want = None if ids is None else frozenset(ids)
    models = set(SCCS_TARGETS) if want is None else set(SCCS_TARGETS) & want
    values = our_values(cohort, ids=(set(tdict) - SCCS_IDS - COX_IDS) | models)
    tab = _Table(tdict, values, want)
    _table1(tab)
    _results(tab)
    _infections(tab)
    _table2(tab)
    _sccs(tab)
    out = tab.frame()
    if provenance:  # a cohort the generator did not make: nothing planted, all emergent
        from analysis.synthetic.provenance import provenance_map

        pm = provenance_map() if cohort.synthetic else {}
        out["provenance"] = [pm.get(t, "emergent") for t in out["target_id"]]
    return out


# --------------------------------------------------------------------------- Table 1
def _table1(tab: _Table) -> None:
    """Table 1 rows for both groups: counts, percentages, medians and ranges (the ids of
    :data:`analysis.paper.values.T1_LEVEL_CODES` and
    :data:`~analysis.paper.values.T1_NUMERIC_CODES`)."""
    t = tab.t
    for gk in GK:
        n = tab.value(f"t1_n_{gk}")
        n = int(n) if np.isfinite(n) else 0
        tab.add(f"t1_n_{gk}", "exact")
        for col, (code, levels) in T1_LEVEL_CODES.items():
            if col in ("prior_infections_cat", "hgg700_baseline", "hgg400_baseline"):
                continue
            for lcode in levels.values():
                pct = f"t1_{code}_{lcode}_{gk}_pct"
                note = ""
                if col in ("iss", "riss", "high_risk_cyto"):
                    known = tab.value(pct, "denominator")
                    note = (f"available-case denominator {known:.0f} (unknown = empty cell), as "
                            "the paper's percentages (inconsistencies.md item 10)")
                tab.add(f"t1_{code}_{lcode}_{gk}_n", "exact", note)
                if pct in t:
                    tab.add(pct, "rounding", note)
        # baseline HGG (functional IgG, -90..+10 days around dara start)
        for code in ("hgg700", "hgg400"):
            for lv in ("yes", "no"):
                tab.add(f"t1_{code}_{lv}_{gk}_n", "exact",
                        "first functional IgG within -90..+10 days of the first daratumumab dose")
                tab.add(f"t1_{code}_{lv}_{gk}_pct", "rounding")
        _prior_infection_rows(tab, gk, n)
        for code in T1_NUMERIC_CODES.values():
            note = ("months = (dara_last - dara_start) days / 30.4375" if code == "months_on_dara"
                    else "years = (dara_start - diagnosis_date) days / 365.25"
                    if code == "years_dx_to_dara" else "")
            tab.add(f"t1_{code}_{gk}_median", "rounding", note)
            tab.add(f"t1_{code}_{gk}_min", "exact", note)
            tab.add(f"t1_{code}_{gk}_max", "exact", note)


def _prior_infection_rows(tab: _Table, gk: str, n: int) -> None:
    """Prior-year infections in categories: the paper's counts cover 40/94 patients, the contract
    needs a count for every patient, so the categories scaled to the group size are matched."""
    printed = [tab.t[f"t1_prior_inf_{c}_{gk}_n"]["value"] for c in _PRIOR_CATS]
    expect = allocate(n, printed) if n else np.zeros(len(_PRIOR_CATS), int)
    for i, c in enumerate(_PRIOR_CATS):
        cnt = tab.value(f"t1_prior_inf_{c}_{gk}_n")
        tab.add(f"t1_prior_inf_{c}_{gk}_n",
                ("check", f"= {expect[i]} (scaled to N)", cnt == expect[i]),
                f"paper counts cover {sum(printed)} patients (unknowns not disclosed, "
                f"inconsistencies.md item 9); the contract requires a count for every patient, "
                f"so the printed categories scaled to the whole group (largest remainder) are "
                f"matched: {expect[i]} of {n}")
        tab.add(f"t1_prior_inf_{c}_{gk}_pct", "info",
                f"percent of all {n} (the paper's percent is of {sum(printed)})")


# --------------------------------------------------------------------------- Results, part one/two
def _results(tab: _Table) -> None:
    """Numbers quoted in the Results text (patient characteristics, response, survival)."""
    tab.add("res1_ivig_n", "exact")
    tab.add("res2_reference_n", "exact")
    tab.add("res1_female_pct")
    tab.add("res1_age_median")
    tab.add("res1_age_min", "exact")
    tab.add("res1_age_max", "exact")
    tab.add("res1_igg_myeloma_pct")
    tab.add("res1_light_chain_only_pct")
    tab.add("res1_prior_lines_median")
    tab.add("res1_prior_lines_min", "exact")
    tab.add("res1_prior_lines_max", "exact")
    conflict = ("CONFLICT: the Results text quotes the reference column of Table 1; the Table 1 "
                "IVIG column (4.1, 0.3-14.8) is matched instead (inconsistencies.md item 4)")
    for stat in ("median", "min", "max"):
        tab.add(f"res1_years_dx_to_dara_{stat}", "info", conflict)
    tab.add("res1_high_risk_cyto_pct", "rounding", "of patients with known cytogenetics")
    tab.add("res1_prior_asct_pct")
    tab.add("res1_months_on_dara_median")
    tab.add("res2_months_on_dara_median_ref")
    tab.add("res1_prior_year_infections_median")
    tab.add("res2_prior_infections_median_ivig")
    tab.add("res2_prior_infections_median_ref")
    for kind in ("antiviral", "antibacterial", "antifungal"):
        tab.add(f"res1_{kind}_ppx_n", "exact")
        tab.add(f"res1_{kind}_ppx_pct")
    tab.add("res1_orr_pct", "rounding", "PR or better among known responses")
    tab.add("res1_os_5yr_pct", "info",
            "Kaplan-Meier from the first daratumumab dose, censored at last contact")


# --------------------------------------------------------------------------- infections
def _infections(tab: _Table) -> None:
    """Infection counts, sites, organisms, rates, seasons and progression."""
    for pre in ("res1", "res2"):
        tab.add(f"{pre}_infections_total", "exact", "infections in the observation period")
        tab.add(f"{pre}_patients_with_infection_n", "exact")
        tab.add(f"{pre}_patients_with_infection_pct")
        tab.add(f"{pre}_g34_patients_n", "exact")
        tab.add(f"{pre}_g34_patients_pct")
        tab.add(f"{pre}_fatal_infections_n", "exact")
        for site in ("respiratory", "lower_respiratory"):
            tab.add(f"{pre}_site_{site}_pct")
        for org in ("bacterial", "viral", "fungal"):
            n_conf = tab.value(f"{pre}_micro_{org}_pct", "denominator")
            tab.add(f"{pre}_micro_{org}_pct", "rounding",
                    f"of {n_conf:.0f} microbiologically confirmed infections (denominator not "
                    "printed in the paper)")
        if pre == "res2":
            tab.add("res2_rate_allgrade", 0.03,
                    "pooled: infections / patient-years (observation = dara_start to the "
                    "earliest of dara_last + 30, death and last contact)")
            tab.add("res2_rate_g34", 0.03, "pooled grade 3-4 infections per patient-year")
    # IVIG group: time to first infection, rates on/off, seasons, progression
    tab.add("res1_time_to_first_infection_median", "info",
            "months from the first daratumumab dose, patients with an infection")
    on, off = tab.t["res1_rate_on_ivig"]["value"], tab.t["res1_rate_observation"]["value"]
    for tid in ("res1_rate_on_ivig", "res1_rate_observation"):
        tab.add(tid, "info",
                f"{tab.value(tid, 'definition')}: the paper's {on}/{off} cannot be pooled rates "
                "together with its seasonal rates (inconsistencies.md item 1), so the mean of "
                "per-patient rates is shown; the pooled rates' ratio is drv_rate_ratio_on_off")
    tab.add("drv_rate_ratio_on_off", "info",
            f"crude pooled on/off-IVIG rate ratio of the IVIG group (paper: {on}/{off} = "
            f"{tab.t['drv_rate_ratio_on_off']['value']}); " + ESTIMATE_NOTE)
    for name in ("fall_winter", "spring_summer"):
        tab.add(f"res1_rate_{name}", "info",
                "pooled; the matched version is the on/off ratio (inconsistencies.md item 1)")
        tab.add(f"res1_on_ivig_share_{name}_pct", "info")
    tab.add("res1_infections_at_progression_pct", "info",
            "infections within 30 days from a progression date")


# --------------------------------------------------------------------------- Table 2 and HGG
def _table2(tab: _Table) -> None:
    """Table 2 and HGG rows: IgG levels, IVIG use, ANC/ALC at infection."""
    _hgg_ivig(tab)
    _hgg_reference(tab)
    _labs(tab)


def _hgg_ivig(tab: _Table) -> None:
    """HGG, IgG and IVIG use of the IVIG group (Table 2, Results part one)."""
    for thr in (700, 400, 200):
        tab.add(f"t2_hgg_lt{thr}_n", "exact",
                "patients whose lowest functional IgG measured during observation is "
                "below the threshold (the Table 2 counts; the Abstract/Discussion "
                "100%/81%/21% probably come from an earlier data cut, "
                "inconsistencies.md item 6)")
        tab.add(f"t2_hgg_lt{thr}_pct")
    tab.add("res1_hgg_any_pct")
    tab.add("res1_hgg_moderate_or_worse_pct")
    tab.add("res1_hgg_severe_pct")
    tab.add("abs_hgg_any_pct", "info",
            "CONFLICT with Table 2 98%; Table 2 matched (inconsistencies.md item 6)")
    tab.add("abs_hgg_moderate_pct", "info",
            "CONFLICT with Table 2 79%; Table 2 matched (inconsistencies.md item 6)")
    tab.add("t2_igg_pre_dara_median", "rounding")
    tab.add("t2_igg_pre_dara_min", "exact")
    tab.add("t2_igg_pre_dara_max", "exact")
    tab.add("res1_igg_pre_dara_median", "rounding")
    tab.add("t2_igg_pre_ivig_median", "info",
            "functional IgG level on the day of the first IVIG in observation (latest "
            "measurement on or before it, else the baseline)")
    tab.add("t2_igg_pre_ivig_min", "info")
    tab.add("t2_igg_pre_ivig_max", "info")
    tab.add("res1_igg_at_ivig_start_median", "info")
    tab.add("t2_on_ivig_days_prop_median", "info",
            "per patient: observed days on IVIG / observed days")
    tab.add("t2_on_ivig_days_prop_min", "info")
    tab.add("t2_on_ivig_days_prop_max", "info")
    for tid, note in (
        ("res1_time_to_first_ivig",
         "months from the first daratumumab dose to the first IVIG in observation"),
        ("res1_ivig_doses", "doses dated in observation"),
        ("res1_ivig_duration",
         "months from the first to the last IVIG dose in observation plus the last "
         "dose's 30-day on-IVIG window"),
    ):
        for stat in ("median", "min", "max"):
            tab.add(f"{tid}_{stat}", "info", note)
    tab.add("res1_ivig_dose_low", "exact")
    tab.add("res1_ivig_dose_high", "exact")
    tab.add("res1_time_with_hgg_pct", "info",
            "median per-patient share of observed days with functional IgG < 700")


def _hgg_reference(tab: _Table) -> None:
    """HGG of the reference group (Results part two)."""
    tab.add("res2_hgg_any_pct_ref", "rounding")
    tab.add("res2_hgg_moderate_or_worse_n", "exact")
    tab.add("res2_hgg_moderate_or_worse_pct")
    tab.add("res2_hgg_severe_n", "exact")
    tab.add("res2_hgg_severe_pct")
    tab.add("res2_time_with_hgg_pct_ref", "info",
            "median per-patient share of observed days with functional IgG < 700")


def _labs(tab: _Table) -> None:
    """ANC / ALC at infection (Table 2 and the reference group's Results)."""
    for g, pre in (("ivig", "t2"), ("reference", "res2")):
        for lab in ("anc", "alc"):
            mid = "res1_alc_at_infection_median" if (g == "ivig" and lab == "alc") else \
                f"{pre}_{lab}_at_infection_median"
            note = "Table 2 prints 29.0 (typo); the text's 1.0 is matched (inconsistencies.md " \
                   "item 8)" if mid == "res1_alc_at_infection_median" else ""
            tab.add(mid, 0.3, note)
            tab.add(f"{pre}_{lab}_at_infection_min", "exact")
            tab.add(f"{pre}_{lab}_at_infection_max", "exact")
        if g == "ivig":
            for name in ("anc_lt05", "anc_lt10", "alc_lt05", "alc_lt10"):
                for code in ("g12", "g34"):
                    tab.add(f"t2_{name}_{code}_pct", "info",
                            "share of infections with a value, below the threshold "
                            "(<, as in Table 2)")
        else:
            tab.add("res2_g4_neutropenia_in_g34_pct", "info")
            tab.add("res2_alc_lt05_in_g34_pct", "info")


# --------------------------------------------------------------------------- SCCS
def _sccs(tab: _Table) -> None:
    """Self-controlled case series rows (the book's engine, IVIG-group cases), all ``info``.

    They are estimates, not calibration targets: on a synthetic cohort they vary by chance around
    the truth it was drawn from (``truth.json``); the truth-recovery chapter judges them.
    """
    note = ("analysis.study.fit_sccs (IVIG-group cases, contract day counting), as in the "
            "book's SCCS chapters; " + ESTIMATE_NOTE)
    for tid in SCCS_TARGETS:
        tab.add(tid, "info", note)
