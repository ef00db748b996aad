"""Calibration table: how a cohort compares with every number the paper prints.

:func:`calibration_table` takes any valid cohort (a :class:`analysis.study.cohort.Cohort`, or the
dict of
tables :func:`analysis.synthetic.simulate.simulate_cohort` returns) and compares it with the
paper's numbers,
read by id from ``data/paper/targets.yaml`` (never retyped here). Nothing in it knows whether the
cohort is synthetic: on real data it is simply a side-by-side with the paper.

Columns: ``target_id``, ``description``, ``paper``, ``synthetic``, ``tolerance``, ``status``
(``pass`` / ``fail`` / ``info``), ``provenance``, ``note``. Tolerances:

* ``exact`` - equal (counts; range ends after rounding to the printed decimals);
* ``rounding`` - the cohort's value rounded to the printed decimals equals the printed value
  (medians, percentages);
* ``±x`` - absolute difference at most x (rates, rate ratios);
* ``> x`` - above x;
* ``info`` - shown, not judged (where the paper is ambiguous, contradicts itself, or the number is
  a by-product rather than a calibration target). Every estimate (the SCCS rate ratios, the crude
  on/off rate ratio) is ``info``: on a synthetic cohort it varies by chance around the truth in
  ``truth.json`` and is judged by the truth-recovery study, not by calibration.

Column ``provenance`` (:func:`provenance_map`): ``planted``, ``selected`` or ``emergent``, how the
synthetic generator could make the number agree.

Where the paper contradicts itself (``inconsistencies.md``), the row says which version is matched
and why. Every day-level quantity (observation periods, on-IVIG days, seasons, IgG level on a day,
rates, the SCCS estimates) comes from the project's one implementation of the contract's day
counting and SCCS likelihood (:mod:`analysis.study`, :mod:`analysis.study.descriptive`,
:mod:`analysis.study.models`, built on :mod:`analysis.sccs.intervals` and :mod:`analysis.sccs`), and
every per-patient quantity the book also reports (HGG during the study period, months on
daratumumab, time to first infection, IVIG doses and duration, IgG before the first IVIG) is read
from :func:`analysis.study.descriptive.patient_summary`, so the calibration table, the book's
tables and the reproduction audit agree. Where a row needs a different definition its note says
which and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.paper.targets import printed_decimals, rounds_to, targets
from analysis.study import DAYS_PER_YEAR
from analysis.study import to_day as day_number
from analysis.study.cox import baseline_characteristics
from analysis.synthetic.sampling import allocate

if TYPE_CHECKING:  # pragma: no cover
    from analysis.study.cohort import Cohort
COLUMNS = ["target_id", "description", "paper", "synthetic", "tolerance", "status", "provenance",
           "note"]
#: Note on the rows that are estimates (SCCS, crude rate ratio), not calibration targets.
ESTIMATE_NOTE = ("an estimate, not a calibration target: on a synthetic cohort it varies by chance "
                 "around the truth the cohort was drawn from (truth.json)")
#: Seeds on which :func:`provenance_map` looks for values fixed by construction.
INVARIANCE_SEEDS: tuple[int, ...] = (1, 2, 3, 4)
GK = {"ivig": "ivig", "ref": "reference"}


class _Table:
    """Collects rows and judges them."""

    def __init__(self, tdict: dict[str, dict]) -> None:
        self.t = tdict
        self.rows: list[dict] = []

    def add(self, tid: str, value: Any, tol: Any = "rounding", note: str = "",
            desc: str | None = None, paper: Any = None) -> None:
        entry = self.t.get(tid)
        if entry is None:
            raise KeyError(f"calibration refers to unknown target id {tid!r}")
        pv = entry["value"] if paper is None else paper
        description = desc or f"{entry['quantity']} ({_pop(entry['population'])})"
        status = "info"
        tol_text = "info"
        ok: bool | None = None
        v = value
        if isinstance(v, (np.floating, np.integer)):
            v = v.item()
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            ok = None if tol == "info" else False
        elif tol == "exact":
            tol_text = "exact"
            ok = rounds_to(v, pv)
        elif tol == "rounding":
            tol_text = f"rounding ({printed_decimals(pv)} dp)"
            ok = rounds_to(v, pv)
        elif isinstance(tol, tuple) and tol[0] == "gt":
            tol_text = f"> {tol[1]}"
            ok = float(v) > tol[1]
        elif isinstance(tol, tuple) and tol[0] == "check":
            tol_text = tol[1]
            ok = bool(tol[2])
        elif isinstance(tol, (int, float)):
            tol_text = f"±{tol}"
            ok = abs(float(v) - float(pv)) <= tol + 1e-9
        if tol != "info":
            status = "pass" if ok else "fail"
        if isinstance(v, float):
            v = round(v, 4)
        self.rows.append({"target_id": tid, "description": description, "paper": pv,
                          "synthetic": v, "tolerance": tol_text, "status": status,
                          "provenance": "", "note": note})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=COLUMNS)


def _pop(p: str) -> str:
    """Readable population name."""
    return {"ivig_group": "IVIG group", "reference": "reference group", "both": "both groups",
            "screened": "screened"}.get(p, p)


def _median(x) -> float:
    """Median of the finite values (NaN if none)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else float("nan")


def _ends(x) -> tuple[float, float]:
    """Minimum and maximum of the finite values (NaNs if none)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return (float(x.min()), float(x.max())) if x.size else (float("nan"), float("nan"))


def _km_at(time: np.ndarray, event: np.ndarray, at: float) -> float:
    """Kaplan-Meier survival at ``at`` (no ties handling needed beyond the usual product)."""
    o = np.argsort(time, kind="stable")
    time, event = time[o], event[o]
    s = 1.0
    uniq = np.unique(time[event & (time <= at)])
    for u in uniq:  # a handful of death times
        at_risk = np.sum(time >= u)
        d = np.sum((time == u) & event)
        s *= 1 - d / at_risk
    return s


@dataclass
class Facts:
    """What the calibration rows need of one cohort, from the shared study modules.

    Arrays are per patient in ``patients.csv`` order; ``summary`` is
    :func:`analysis.study.descriptive.patient_summary` (the per-patient quantities the book uses).
    """

    cohort: Cohort
    patients: pd.DataFrame
    group: np.ndarray
    start: np.ndarray  # first observed day (int day number)
    end: np.ndarray  # last observed day, dara_last + 30
    baseline: np.ndarray  # first functional IgG within dara_start-90..+10 (NaN: none)
    summary: pd.DataFrame  # analysis.study.descriptive.patient_summary, patients.csv order
    sccs_known: dict[str, float] = field(default_factory=dict)  # sccs_values already computed


def _as_cohort(cohort: Any) -> Cohort:
    """A loaded :class:`~analysis.study.cohort.Cohort` as is; the simulator's dict of tables through
    :func:`analysis.synthetic.simulate.as_cohort` (written and loaded exactly as a user would read
    it)."""
    if isinstance(cohort, Mapping):
        from analysis.synthetic.simulate import as_cohort

        return as_cohort(cohort)
    return cohort


def cohort_facts(cohort: Cohort) -> Facts:
    """Per-patient facts of a loaded cohort (observation periods, baseline IgG, patient summary)."""
    from analysis.study import observation_periods
    from analysis.study.descriptive import patient_summary

    obs = observation_periods(cohort)
    summary = patient_summary(cohort)
    return Facts(cohort, cohort.patients.reset_index(drop=True), obs["group"].to_numpy(),
                 obs["start_day"].to_numpy(), obs["end_day"].to_numpy(),
                 summary["baseline_igg"].to_numpy(float), summary)


def calibration_table(cohort: Any, targets_path: str | Path | None = None, *,
                      sccs_known: Mapping[str, float] | None = None,
                      provenance: bool = True) -> pd.DataFrame:
    """Compare ``cohort`` with every calibration target of the paper (see the module doc).

    ``provenance``: fill the ``provenance`` column from :func:`provenance_map` (``planted``,
    ``selected`` or ``emergent``: how the synthetic generator could make this number agree; every
    row ``emergent`` for a cohort that is not synthetic); False leaves it empty (the map itself is
    built from such tables).

    ``cohort`` is a loaded :class:`~analysis.study.cohort.Cohort` or the dict of tables
    :func:`analysis.synthetic.simulate.simulate_cohort` returns (converted by :func:`_as_cohort`).
    ``sccs_known``: SCCS values (by target id, from :func:`sccs_values` on the same cohort)
    already computed by the caller; only the missing models are fitted (the seed search).
    """
    tdict = targets(targets_path)
    cohort = _as_cohort(cohort)
    f = cohort_facts(cohort)
    f.sccs_known = dict(sccs_known or {})
    tab = _Table(tdict)
    _table1(tab, f)
    _results(tab, f)
    _infections(tab, f)
    _table2(tab, f)
    _sccs(tab, f)
    out = tab.frame()
    if provenance:  # a cohort the generator did not make: nothing planted, all emergent
        pm = provenance_map() if cohort.synthetic else {}
        out["provenance"] = [pm.get(t, "emergent") for t in out["target_id"]]
    return out


def _printed(value: Any, paper_value: Any) -> Any:
    """``value`` rounded to the decimals printed for ``paper_value`` (None if not a number)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(v) or isinstance(paper_value, (str, bool)) or paper_value is None:
        return None
    return round(v + 1e-12, printed_decimals(paper_value))


@lru_cache(maxsize=1)
def provenance_map() -> dict[str, str]:
    """How a synthetic cohort's number could come to agree with the paper, by target id.

    * ``planted``: the generator reads this target (recorded by
      :func:`analysis.synthetic.registry.planted` while the canonical cohort is drawn), or the
      cohort reproduces it at the printed precision on every seed of :data:`INVARIANCE_SEEDS`
      (fixed by construction: a percentage of a planted count, a typed assumption that equals the
      printed value);
    * ``selected``: the seed search judges it
      (:data:`analysis.synthetic.registry.SELECTION_TARGETS`) and it is not planted;

    ids not listed are ``emergent``. Derived from the code at run time (about two seconds, once
    per process), so it cannot drift from what the generator does.
    """
    from analysis.synthetic.events import TruthParameters
    from analysis.synthetic.registry import SELECTION_TARGETS, recording
    from analysis.synthetic.simulate import CANONICAL_SEED, simulate_cohort

    with recording() as read:
        TruthParameters()
        simulate_cohort(CANONICAL_SEED)
    nan = dict.fromkeys(SCCS_TARGETS, float("nan"))
    printed = {tid: e["value"] for tid, e in targets().items()}  # the printed text, not a float
    seen: dict[str, set] = {}
    for seed in INVARIANCE_SEEDS:
        cal = calibration_table(simulate_cohort(seed), sccs_known=nan, provenance=False)
        for tid, v in zip(cal["target_id"], cal["synthetic"], strict=True):
            seen.setdefault(tid, set()).add(_printed(v, printed[tid]))
    fixed = {t for t, vals in seen.items() if len(vals) == 1 and None not in vals}
    out = dict.fromkeys(sorted(read | fixed), "planted")
    out.update({t: "selected" for t in SELECTION_TARGETS if t not in out})
    return out


# --------------------------------------------------------------------------- Table 1
def _table1(tab: _Table, f: Facts) -> None:
    """Table 1 rows for both groups: counts, percentages, medians and ranges.

    The counts are :func:`analysis.study.cox.baseline_characteristics` (the one place Table 1 is
    counted); this function only judges them.
    """
    base = baseline_characteristics(f.cohort)
    t = tab.t
    for gk, g in GK.items():
        b = base[base["group"] == g]
        n = int(b.loc[b["covariate"] == "patients", "n"].iloc[0])
        tab.add(f"t1_n_{gk}", n, "exact")
        levels = b[b["level"].notna()]
        for _, r in levels[~levels["covariate"].isin(
                ["prior_infections_cat", "hgg700_baseline", "hgg400_baseline"])].iterrows():
            c, known = int(r["n"]), int(r["n_recorded"])
            note = ""
            if r["covariate"] in ("iss", "riss", "high_risk_cyto"):
                note = (f"available-case denominator {known} (unknown = empty cell), as the "
                        "paper's percentages (inconsistencies.md item 10)")
            tab.add(r["target_n"], c, "exact", note)
            if r["target_pct"] in t:
                tab.add(r["target_pct"], 100 * c / known if known else float("nan"), "rounding",
                        note)
        # baseline HGG (functional IgG, -90..+10 days around dara start)
        for col in ("hgg700_baseline", "hgg400_baseline"):
            for lv in ("yes", "no"):
                r = levels[(levels["covariate"] == col) & (levels["level"] == lv)].iloc[0]
                tab.add(r["target_n"], int(r["n"]), "exact",
                        "first functional IgG within -90..+10 days of the first daratumumab dose")
                tab.add(r["target_pct"], 100 * int(r["n"]) / max(int(r["n_recorded"]), 1),
                        "rounding")
        # prior-year infections in categories: paper denominators 40/94, contract needs all known
        printed = [t[f"t1_prior_inf_{c}_{gk}_n"]["value"] for c in ("0", "1", "2", "3", "4plus")]
        expect = allocate(n, printed) if n else np.zeros(5, int)
        cats = levels[levels["covariate"] == "prior_infections_cat"]
        for i, (c, level) in enumerate(zip(("0", "1", "2", "3", "4plus"),
                                           ("0", "1", "2", "3", "4+"), strict=True)):
            cnt = int(cats.loc[cats["level"] == level, "n"].iloc[0])
            tab.add(f"t1_prior_inf_{c}_{gk}_n", cnt, ("check", f"= {expect[i]} (scaled to N)",
                                                      cnt == expect[i]),
                    f"paper counts cover {sum(printed)} patients (unknowns not disclosed, "
                    f"inconsistencies.md item 9); the contract requires a count for every patient, "
                    f"so the printed categories scaled to the whole group (largest remainder) are "
                    f"matched: {expect[i]} of {n}")
            tab.add(f"t1_prior_inf_{c}_{gk}_pct", 100 * cnt / max(n, 1), "info",
                    f"percent of all {n} (the paper's percent is of {sum(printed)})")
        # median (range) rows
        for _, r in b[b["target_median"].notna()].iterrows():
            name = str(r["target_median"]).removeprefix("t1_").removesuffix(f"_{gk}_median")
            note = ("months = (dara_last - dara_start) days / 30.4375" if name == "months_on_dara"
                    else "years = (dara_start - diagnosis_date) days / 365.25"
                    if name == "years_dx_to_dara" else "")
            tab.add(f"t1_{name}_{gk}_median", float(r["median"]), "rounding", note)
            tab.add(f"t1_{name}_{gk}_min", float(r["min"]), "exact", note)
            tab.add(f"t1_{name}_{gk}_max", float(r["max"]), "exact", note)


# --------------------------------------------------------------------------- Results, part one/two
def _results(tab: _Table, f: Facts) -> None:
    """Numbers quoted in the Results text (patient characteristics, response, survival)."""
    p = f.patients
    iv = f.group == "ivig"
    rf = f.group == "reference"
    n_iv = int(iv.sum())
    pi = p[iv]

    def pct(mask_series) -> float:
        return 100 * float(np.mean(mask_series)) if n_iv else float("nan")

    tab.add("res1_ivig_n", n_iv, "exact")
    tab.add("res2_reference_n", int(rf.sum()), "exact")
    tab.add("res1_female_pct", pct(pi["sex"].astype(str) == "F"))
    start = f.start
    age = pd.to_numeric(pi["age_at_dara"], errors="coerce").to_numpy(float)
    tab.add("res1_age_median", _median(age))
    tab.add("res1_age_min", _ends(age)[0], "exact")
    tab.add("res1_age_max", _ends(age)[1], "exact")
    tab.add("res1_igg_myeloma_pct", pct(pi["heavy_chain"].astype(str) == "IgG"))
    tab.add("res1_light_chain_only_pct", pct(pi["heavy_chain"].astype(str) == "none"))
    lines = pd.to_numeric(pi["lines_of_therapy"], errors="coerce").to_numpy(float)
    tab.add("res1_prior_lines_median", _median(lines))
    tab.add("res1_prior_lines_min", _ends(lines)[0], "exact")
    tab.add("res1_prior_lines_max", _ends(lines)[1], "exact")
    ydx = (start[iv] - day_number(pi["diagnosis_date"])) / DAYS_PER_YEAR
    conflict = ("CONFLICT: the Results text quotes the reference column of Table 1; the Table 1 "
                "IVIG column (4.1, 0.3-14.8) is matched instead (inconsistencies.md item 4)")
    tab.add("res1_years_dx_to_dara_median", _median(ydx), "info", conflict)
    tab.add("res1_years_dx_to_dara_min", _ends(ydx)[0], "info", conflict)
    tab.add("res1_years_dx_to_dara_max", _ends(ydx)[1], "info", conflict)
    cyto = pi["high_risk_cyto"].astype("string")
    tab.add("res1_high_risk_cyto_pct",
            100 * float((cyto == "yes").sum()) / max(int(cyto.notna().sum()), 1), "rounding",
            "of patients with known cytogenetics")
    asct = pi["prior_asct"].astype("string")
    tab.add("res1_prior_asct_pct",
            100 * float((asct == "yes").sum()) / max(int(asct.notna().sum()), 1))
    months = f.summary["months_on_dara"].to_numpy(float)
    tab.add("res1_months_on_dara_median", _median(months[iv]))
    tab.add("res2_months_on_dara_median_ref", _median(months[rf]))
    prior = pd.to_numeric(p["prior_infections_12m"], errors="coerce").to_numpy(float)
    tab.add("res1_prior_year_infections_median", _median(prior[iv]))
    tab.add("res2_prior_infections_median_ivig", _median(prior[iv]))
    tab.add("res2_prior_infections_median_ref", _median(prior[rf]))
    for kind in ("antiviral", "antibacterial", "antifungal"):
        col = pi[f"{kind}_ppx"].astype("string")
        c = int((col == "yes").sum())
        tab.add(f"res1_{kind}_ppx_n", c, "exact")
        tab.add(f"res1_{kind}_ppx_pct", 100 * c / max(n_iv, 1))
    resp = pi["best_response"].astype("string")
    orr = resp.isin(["sCR", "CR", "VGPR", "PR"]).sum() / max(int(resp.notna().sum()), 1)
    tab.add("res1_orr_pct", 100 * float(orr), "rounding", "PR or better among known responses")
    death = day_number(pi["death_date"])
    last = day_number(pi["last_contact"]) if "last_contact" in pi else np.full(n_iv, -1)
    dead = pd.to_datetime(pi["death_date"], errors="coerce").notna().to_numpy()
    end = np.where(dead, death, np.where(pd.to_datetime(pi["last_contact"], errors="coerce")
                                         .notna().to_numpy(), last, f.end[iv]))
    os5 = _km_at((end - start[iv]).astype(float), dead, 5 * DAYS_PER_YEAR)
    tab.add("res1_os_5yr_pct", 100 * os5, "info",
            "Kaplan-Meier from the first daratumumab dose, censored at last contact")


# --------------------------------------------------------------------------- infections
def _rate(rates: pd.DataFrame, period: str, season: str, stat: str = "rate_pooled") -> float:
    """One cell of :func:`analysis.study.descriptive.infection_rates` (NaN: no person-time)."""
    hit = rates[(rates["period"] == period) & (rates["season"] == season)]
    return float(hit[stat].iloc[0]) if len(hit) else float("nan")


def _infections(tab: _Table, f: Facts) -> None:
    """Infection counts, sites, organisms, rates, seasons and progression."""
    from analysis.study.descriptive import (
        infection_rates,
        infection_summary,
        ivig_share_by_season,
        sites_and_organisms,
    )

    rates = infection_rates(f.cohort)
    summary = infection_summary(f.cohort).set_index(["group", "quantity"])["value"]
    so = sites_and_organisms(f.cohort).set_index(["group", "category"])
    for pre, g in (("res1", "ivig"), ("res2", "reference")):
        def q(name: str, g: str = g) -> float:
            return float(summary[(g, name)])

        tab.add(f"{pre}_infections_total", int(q("infections")), "exact",
                "infections in the observation period")
        tab.add(f"{pre}_patients_with_infection_n", int(q("patients_with_infection")), "exact")
        tab.add(f"{pre}_patients_with_infection_pct", q("pct_patients_with_infection"))
        tab.add(f"{pre}_g34_patients_n", int(q("patients_with_g34")), "exact")
        tab.add(f"{pre}_g34_patients_pct", q("pct_patients_with_g34"))
        tab.add(f"{pre}_fatal_infections_n", int(q("fatal_infections")), "exact")
        for site in ("respiratory", "lower_respiratory"):
            tab.add(f"{pre}_site_{site}_pct", float(so["pct"].get((g, site), np.nan)))
        n_conf = int(sum(so["n"].get((g, o), 0) for o in ("bacterial", "viral", "fungal")))
        for org in ("bacterial", "viral", "fungal"):
            tab.add(f"{pre}_micro_{org}_pct", float(so["pct"].get((g, org), np.nan)),
                    "rounding", f"of {n_conf} microbiologically confirmed infections "
                    "(denominator not printed in the paper)")
        if pre == "res2":
            tab.add("res2_rate_allgrade", _rate(rates, "reference", "all"), 0.03,
                    "pooled: infections / patient-years (observation = dara_start..dara_last+30)")
            tab.add("res2_rate_g34", _rate(infection_rates(f.cohort, "grade3"), "reference", "all"),
                    0.03, "pooled grade 3-4 infections per patient-year")
    # IVIG group: time to first infection, rates on/off, seasons, progression
    ttf = f.summary.loc[f.group == "ivig", "time_to_first_infection_months"].to_numpy(float)
    tab.add("res1_time_to_first_infection_median", _median(ttf), "info",
            "months from the first daratumumab dose, patients with an infection")
    r_on, r_off = _rate(rates, "on_ivig", "all"), _rate(rates, "observation", "all")
    m_on = _rate(rates, "on_ivig", "all", "rate_mean")
    m_off = _rate(rates, "observation", "all", "rate_mean")
    note_rate = ("pooled rate, so that it is consistent with the matched on/off rate ratio "
                 "(drv_rate_ratio_on_off); the paper's 1.78/3.10 cannot be pooled rates together "
                 "with its seasonal rates (inconsistencies.md item 1), so the book shows the mean "
                 "of per-patient rates first: {:.2f} here")
    tab.add("res1_rate_on_ivig", r_on, "info", note_rate.format(m_on))
    tab.add("res1_rate_observation", r_off, "info", note_rate.format(m_off))
    tab.add("drv_rate_ratio_on_off", r_on / r_off, "info",
            "crude pooled on/off-IVIG rate ratio of the IVIG group (paper: 1.78/3.10 = 0.574); "
            + ESTIMATE_NOTE)
    share = ivig_share_by_season(f.cohort).set_index("season")["share"]
    for name in ("fall_winter", "spring_summer"):
        tab.add(f"res1_rate_{name}", _rate(rates, "ivig_all", name), "info",
                "pooled; the matched version is the on/off ratio (inconsistencies.md item 1)")
        tab.add(f"res1_on_ivig_share_{name}_pct", 100 * float(share.get(name, np.nan)), "info")
    tab.add("res1_infections_at_progression_pct",
            summary[("ivig", "pct_infections_at_progression")], "info",
            "infections within 30 days from a progression date")


# --------------------------------------------------------------------------- Table 2 and HGG
def _ivig_doses(f: Facts) -> pd.DataFrame:
    """Every IVIG dose in ``ivig.csv`` with its patient's ``group``, ``day`` and ``start``."""
    iv = f.cohort.ivig[f.cohort.ivig["date"].notna()]
    pos = pd.Index(f.patients["patient_id"]).get_indexer(iv["patient_id"])
    return pd.DataFrame({"patient_id": iv["patient_id"].to_numpy(), "group": f.group[pos],
                         "day": day_number(iv["date"]), "start": f.start[pos],
                         "dose": iv["dose_g_per_kg"].to_numpy(float)})


def _table2(tab: _Table, f: Facts) -> None:
    """Table 2 and HGG rows: IgG levels, IVIG use, ANC/ALC at infection."""
    from analysis.study.descriptive import labs_at_infection

    base = f.baseline
    hgg = f.summary  # patient_summary carries the hgg_by_patient columns, patients.csv order
    lowest = hgg["min_igg"].to_numpy(float)  # lowest functional IgG measured in observation
    for pre, g in (("t2", "ivig"), ("res2", "reference")):
        pids = np.flatnonzero(f.group == g)
        # lowest functional IgG measured during the study period, per patient
        low = lowest[pids]
        if pre == "t2":
            for thr in (700, 400, 200):
                c = int(np.sum(low < thr))
                tab.add(f"t2_hgg_lt{thr}_n", c, "exact",
                        "patients whose lowest functional IgG measured during observation is "
                        "below the threshold (the Table 2 counts; the Abstract/Discussion "
                        "100%/81%/21% probably come from an earlier data cut, "
                        "inconsistencies.md item 6)")
                tab.add(f"t2_hgg_lt{thr}_pct", 100 * c / max(pids.size, 1))
            tab.add("res1_hgg_any_pct", 100 * np.mean(low < 700))
            tab.add("res1_hgg_moderate_or_worse_pct", 100 * np.mean(low < 400))
            tab.add("res1_hgg_severe_pct", 100 * np.mean(low < 200))
            tab.add("abs_hgg_any_pct", 100 * np.mean(low < 700), "info",
                    "CONFLICT with Table 2 98%; Table 2 matched (inconsistencies.md item 6)")
            tab.add("abs_hgg_moderate_pct", 100 * np.mean(low < 400), "info",
                    "CONFLICT with Table 2 79%; Table 2 matched (inconsistencies.md item 6)")
            b = base[pids]
            tab.add("t2_igg_pre_dara_median", _median(b), "rounding")
            tab.add("t2_igg_pre_dara_min", _ends(b)[0], "exact")
            tab.add("t2_igg_pre_dara_max", _ends(b)[1], "exact")
            tab.add("res1_igg_pre_dara_median", _median(b), "rounding")
            ps = f.summary.iloc[pids]  # analysis.study.descriptive.patient_summary
            at_iv = ps["igg_before_first_ivig"].to_numpy(float)
            tab.add("t2_igg_pre_ivig_median", _median(at_iv), "info",
                    "functional IgG level on the day of the first IVIG in observation (latest "
                    "measurement on or before it, else the baseline)")
            tab.add("t2_igg_pre_ivig_min", _ends(at_iv)[0], "info")
            tab.add("t2_igg_pre_ivig_max", _ends(at_iv)[1], "info")
            tab.add("res1_igg_at_ivig_start_median", _median(at_iv), "info")
            share = 100 * ps["prop_days_on_ivig"].to_numpy(float)
            tab.add("t2_on_ivig_days_prop_median", _median(share), "info",
                    "per patient: observed days on IVIG / observed days")
            tab.add("t2_on_ivig_days_prop_min", _ends(share)[0], "info")
            tab.add("t2_on_ivig_days_prop_max", _ends(share)[1], "info")
            for col, tid, note in (
                ("time_to_first_ivig_months", "res1_time_to_first_ivig",
                 "months from the first daratumumab dose to the first IVIG in observation"),
                ("n_ivig_doses", "res1_ivig_doses", "doses dated in observation"),
                ("ivig_months", "res1_ivig_duration",
                 "months from the first to the last IVIG dose in observation plus the last "
                 "dose's 30-day on-IVIG window"),
            ):
                x = ps[col].to_numpy(float)
                for stat, v in (("median", _median(x)), ("min", _ends(x)[0]),
                                ("max", _ends(x)[1])):
                    tab.add(f"{tid}_{stat}", v, "info", note)
            ivd = _ivig_doses(f)
            ivd = ivd[ivd["group"] == g]
            dose = ivd["dose"].to_numpy(float)
            tab.add("res1_ivig_dose_low", _ends(dose)[0], "exact")
            tab.add("res1_ivig_dose_high", _ends(dose)[1], "exact")
            tshare = hgg.loc[hgg["group"] == g, "share_below_700"] * 100
            tab.add("res1_time_with_hgg_pct", _median(tshare), "info",
                    "median per-patient share of observed days with functional IgG < 700")
        else:
            tab.add("res2_hgg_any_pct_ref", 100 * np.mean(low < 700), "rounding")
            tab.add("res2_hgg_moderate_or_worse_n", int(np.sum(low < 400)), "exact")
            tab.add("res2_hgg_moderate_or_worse_pct", 100 * np.mean(low < 400))
            tab.add("res2_hgg_severe_n", int(np.sum(low < 200)), "exact")
            tab.add("res2_hgg_severe_pct", 100 * np.mean(low < 200))
            tshare = hgg.loc[hgg["group"] == g, "share_below_700"] * 100
            tab.add("res2_time_with_hgg_pct_ref", _median(tshare), "info",
                    "median per-patient share of observed days with functional IgG < 700")
    # ANC / ALC at infection (analysis.study.descriptive.labs_at_infection)
    for g, pre in (("ivig", "t2"), ("reference", "res2")):
        labs = labs_at_infection(f.cohort, g)
        dist = labs[labs["threshold"].isna()].set_index(["lab", "grade_group"])
        below = labs[labs["threshold"].notna()].set_index(["lab", "grade_group", "threshold"])[
            "pct_below"]
        for lab in ("anc", "alc"):
            d = dist.loc[(lab, "all")]
            mid = "res1_alc_at_infection_median" if (g == "ivig" and lab == "alc") else \
                f"{pre}_{lab}_at_infection_median"
            note = "Table 2 prints 29.0 (typo); the text's 1.0 is matched (inconsistencies.md " \
                   "item 8)" if mid == "res1_alc_at_infection_median" else ""
            tab.add(mid, float(d["median"]), 0.3, note)
            tab.add(f"{pre}_{lab}_at_infection_min", float(d["min"]), "exact")
            tab.add(f"{pre}_{lab}_at_infection_max", float(d["max"]), "exact")
        if g == "ivig":
            for lab, thr, name in (("anc", 0.5, "anc_lt05"), ("anc", 1.0, "anc_lt10"),
                                   ("alc", 0.5, "alc_lt05"), ("alc", 1.0, "alc_lt10")):
                for gg, code in (("1-2", "g12"), ("3-4", "g34")):
                    tab.add(f"t2_{name}_{code}_pct", float(below.get((lab, gg, thr), np.nan)),
                            "info", "share of infections with a value, below the threshold "
                            "(<, as in Table 2)")
        else:
            for lab, tid in (("anc", "res2_g4_neutropenia_in_g34_pct"),
                             ("alc", "res2_alc_lt05_in_g34_pct")):
                tab.add(tid, float(below.get((lab, "3-4", 0.5), np.nan)), "info")


# --------------------------------------------------------------------------- SCCS
#: Target ids of the SCCS rows (the models are :data:`analysis.study.models.PAPER_MODELS`).
SCCS_TARGETS: tuple[str, ...] = (
    "sccs_allgrade_irr", "sccs_g34_irr", "sccs_pre60_irr", "sccs_allgrade_irr_adj_pre60",
    "sccs_pre30_irr", "sccs_allgrade_irr_adj_pre30", "sccs_hgg_any_irr", "sccs_hgg_moderate_irr",
    "sccs_hgg_severe_irr", "sccs_allgrade_irr_adj_season", "sccs_allgrade_irr_adj_progression",
    "sccs_bacterial_reduction_pct", "sccs_viral_reduction_pct",
)


def sccs_values(cohort: Cohort, target_ids: tuple[str, ...] = SCCS_TARGETS) -> dict[str, float]:
    """The paper's SCCS numbers on ``cohort``, by target id, from :func:`analysis.study.fit_sccs`.

    Fits only the models of :data:`analysis.study.models.PAPER_MODELS` that report one of
    ``target_ids``; values are on the paper's scale (IRR, or ``100 (1 - IRR)`` for the
    ``reduction_pct`` rows); NaN where a model cannot be fitted.
    """
    from analysis.study.models import PAPER_MODELS, sccs_menu

    wanted = set(target_ids)
    models = [m for m in PAPER_MODELS if any(t[1] in wanted for t in m.targets)]
    menu = sccs_menu(cohort, models)
    menu = menu[menu["target_id"].isin(wanted)].drop_duplicates("target_id")
    irr = menu["irr"].to_numpy(float)
    value = np.where(menu["target_scale"] == "reduction_pct", 100 * (1 - irr), irr)
    found = dict(zip(menu["target_id"], value, strict=True))
    return {t: float(found.get(t, np.nan)) for t in target_ids}


def _sccs(tab: _Table, f: Facts) -> None:
    """Self-controlled case series rows (the book's engine, IVIG-group cases), all ``info``.

    They are estimates, not calibration targets: on a synthetic cohort they vary by chance around
    the truth it was drawn from (``truth.json``); the truth-recovery chapter judges them.
    """
    note = ("analysis.study.fit_sccs (IVIG-group cases, contract day counting), as in the "
            "book's SCCS chapters; " + ESTIMATE_NOTE)
    missing = tuple(t for t in SCCS_TARGETS if t not in f.sccs_known)
    v = {**f.sccs_known, **(sccs_values(f.cohort, missing) if missing else {})}
    for tid in SCCS_TARGETS:
        tab.add(tid, v[tid], "info", note)
