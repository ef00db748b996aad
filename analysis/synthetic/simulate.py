"""Synthetic cohort drawn from a stated truth (:class:`TruthParameters`): generate and write it.

The patient data of Lancman et al. (Haematologica 2026) are not public, so the book runs on
synthetic patients who look, statistically, like the paper's. :func:`simulate_cohort` draws all
five contract tables from a seed and a :class:`~analysis.synthetic.events.TruthParameters`;
:func:`write_cohort` writes them deterministically (same seed, same bytes) with ``truth.json``, the
parameters the cohort was drawn from; :func:`to_cohort` hands them to the analyses in memory. The
method is described, with every number glued from the code, in the book's chapter "Does the
pipeline recover the truth?" (``book/13-truth-recovery.md``).

Examples
--------
>>> from analysis.synthetic.simulate import simulate_cohort
>>> tables = simulate_cohort(3)
>>> sorted(tables), round(tables.truth.irr_on_ivig, 2)
(['igg', 'infections', 'ivig', 'patients', 'progression'], 0.57)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.study import DAYS_PER_YEAR, OBS_TAIL_DAYS
from analysis.synthetic.baseline import Baseline, frailty_from_prior, simulate_baseline
from analysis.synthetic.events import (
    IgGSeries,
    TruthParameters,
    enforce_nadir,
    ivig_increment,
    ivig_schedule,
    simulate_igg_schedule,
    simulate_progression,
)
from analysis.synthetic.infections import (
    RateState,
    expected_counts,
    fill_patients,
    prompted_start,
    thin_to_counts,
    uniform_days,
)
from analysis.synthetic.outcomes import grade34_draw, grade_numbers, labs, organisms, sites
from analysis.synthetic.registry import planted

if TYPE_CHECKING:  # pragma: no cover
    from analysis.study.cohort import Cohort

__version__ = "2.0"
#: Seed of the committed cohort in ``data/synthetic/``: the first seed from 0 whose exact-count
#: step reaches every marginal target (:func:`analysis.synthetic.seed_search.calibrate_seed`).
CANONICAL_SEED: int = 0
#: File names and column order of the written cohort (data contract).
COLUMNS: dict[str, list[str]] = {
    "patients": [
        "patient_id", "group", "sex", "age_at_dara", "diagnosis_date", "dara_start", "dara_last",
        "heavy_chain", "light_chain", "lines_of_therapy", "prior_infections_12m", "iss", "riss",
        "high_risk_cyto", "prior_asct", "antiviral_ppx", "antibacterial_ppx", "antifungal_ppx",
        "best_response", "death_date", "last_contact",
    ],
    "ivig": ["patient_id", "date", "dose_g_per_kg"],
    "infections": ["patient_id", "date", "grade", "site", "organism", "anc", "alc"],
    "igg": ["patient_id", "date", "igg_mg_dl", "m_spike_g_dl"],
    "progression": ["patient_id", "date"],
}
#: Decimals written for float columns (everything else is an integer, a date or text).
DECIMALS: dict[str, int] = {"age_at_dara": 1, "dose_g_per_kg": 2, "anc": 2, "alc": 2,
                            "m_spike_g_dl": 2}
DATE_COLUMNS = {"diagnosis_date", "dara_start", "dara_last", "death_date", "last_contact", "date"}
#: Share of patients with an infection recorded after their observation period (kept in the
#: data, outside the analysis; assumption).
LATE_INFECTION_SHARE = 0.12

class SimulateError(Exception):
    """The simulator cannot do what was asked (for example, write over a foreign folder)."""


class CohortTables(dict):
    """The five tables (``patients``, ``ivig``, ``infections``, ``igg``, ``progression``).

    Attributes: ``seed``, ``n_ivig``, ``n_reference``, ``truth`` (the
    :class:`TruthParameters` drawn from), ``shortfall`` (per exact-count target, how many
    events or patients the draw lacked; all 0 when every marginal count was reached) and
    ``process`` (the infection process without IVIG, read by
    :mod:`analysis.synthetic.negative_controls`: ``state``, the
    :class:`~analysis.synthetic.infections.RateState` without doses; ``lmax``, its thinning
    bound per patient; ``trigger_day``, per patient the day of the infection that prompted IVIG,
    -1 when none did; ``patient_id``).
    """

    seed: int
    n_ivig: int
    n_reference: int
    truth: TruthParameters
    shortfall: dict[str, int]
    process: dict[str, Any]


@dataclass
class Drawn:
    """Every table the generator draws, as arrays keyed by patient index, before formatting.

    ``end`` is the last observed day (the earliest of ``dara_last + 30``, death and last contact,
    as the data contract says); nothing is drawn after it except the few infections recorded after
    the observation period (``late_*``), which still precede last contact and death.
    """

    baseline: Baseline
    end: np.ndarray
    death: np.ndarray  # day number, -1 alive at the data cut
    last_contact: np.ndarray
    igg: IgGSeries
    igg_value: np.ndarray  # functional IgG as measured (with the IgG IVIG adds)
    igg_keep: np.ndarray  # measurement on or before death
    prog: tuple[np.ndarray, np.ndarray]
    dose: tuple[np.ndarray, np.ndarray, np.ndarray]
    inf: dict[str, np.ndarray]  # pid, day, grade, site, organism, anc, alc
    late: dict[str, np.ndarray]  # the same, for infections recorded after observation
    shortfall: dict[str, int] = field(default_factory=dict)
    process: dict[str, Any] = field(default_factory=dict)


def _scaled(target_id: str, n: int, paper_n_id: str) -> int:
    """A printed count scaled from the paper's group size to ``n``."""
    return round(planted(target_id) * n / planted(paper_n_id))


def _deaths(rng: np.random.Generator, start: np.ndarray, last: np.ndarray,
            truth: TruthParameters) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Death day (-1: alive at the data cut), last contact and the last observed day.

    Survival from the first daratumumab dose is exponential with the truth's 5-year OS. The course
    lengths are Table 1's, so a death that falls before the end of observation is taken to end the
    course: it is placed 1-30 days after the last dose, inside the ``dara_last + 30`` tail, and
    observation ends there.
    """
    n = start.size
    end_obs = last + OBS_TAIL_DAYS
    h = -np.log(truth.os_5yr_pct / 100) / (5 * DAYS_PER_YEAR)
    death = start + rng.exponential(1 / h, size=n).astype(np.int64)
    in_tail = last + rng.integers(1, OBS_TAIL_DAYS + 1, size=n)
    death = np.where(death <= end_obs, in_tail, death)
    cut = np.datetime64(truth.data_cut).astype(np.int64)
    alive = death > cut
    contact = np.where(alive, np.maximum(cut - rng.integers(0, 91, size=n), end_obs + 1), death)
    return np.where(alive, -1, death), contact, np.minimum(end_obs, contact)


def simulate_cohort(
    seed: int = CANONICAL_SEED,
    *,
    n_ivig: int | None = None,
    n_reference: int | None = None,
    truth: TruthParameters | None = None,
    match: bool = True,
) -> CohortTables:
    """Draw a synthetic cohort (all five contract tables) from ``seed`` and ``truth``.

    ``n_ivig`` / ``n_reference`` default to the paper's 43 and 100; other sizes scale every count
    proportionally (for benchmarks). ``truth`` defaults to :class:`TruthParameters` ().
    ``match=False`` skips the exact-count step (the raw process).
    """
    truth = truth or TruthParameters()
    n_iv = int(planted("t1_n_ivig") if n_ivig is None else n_ivig)
    n_rf = int(planted("t1_n_ref") if n_reference is None else n_reference)
    if n_iv < 1 or n_rf < 0:
        raise SimulateError("need at least one IVIG patient and a non-negative reference group")
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(16)]
    drawn = _draw(rngs, truth, n_iv, n_rf, match)
    tables = _assemble(drawn)
    tables.seed, tables.n_ivig, tables.n_reference = int(seed), n_iv, n_rf
    tables.truth, tables.shortfall = truth, drawn.shortfall
    tables.process = drawn.process
    return tables


def _draw(rngs: list[np.random.Generator], truth: TruthParameters, n_iv: int, n_rf: int,
          match: bool) -> Drawn:
    """Baseline, course, deaths, IgG, IVIG and infections (see :class:`TruthParameters`)."""
    b = simulate_baseline(rngs[0], n_iv, n_rf)
    n = n_iv + n_rf
    start, last = b.start, b.last
    death, contact, end = _deaths(rngs[15], start, last, truth)
    is_ivig = b.group == "ivig"
    heavy = b.cols["heavy_chain"].astype(str)
    responder = np.isin(b.cols["best_response"].astype(str), ["sCR", "CR", "VGPR", "PR"])
    prior = b.cols["prior_infections_12m"].astype(np.int64)
    frailty = frailty_from_prior(rngs[1], prior.astype(float), truth.frailty_shape,
                                 truth.frailty_prior_rho)
    prog_pid, prog_day = simulate_progression(rngs[2], start, last, responder)
    end_obs = last + OBS_TAIL_DAYS
    ser = simulate_igg_schedule(rngs[3], start, end_obs, b.baseline_igg, b.nadir_band, heavy,
                                responder, prog_pid, prog_day)
    own = enforce_nadir(ser.pid, ser.day, ser.latent, start, end, b.nadir_band, rngs[4])
    want = {"ivig": (_scaled("res1_patients_with_infection_n", n_iv, "t1_n_ivig"),
                     _scaled("res1_infections_total", n_iv, "t1_n_ivig")),
            "reference": (_scaled("res2_patients_with_infection_n", n_rf, "t1_n_ref"),
                          _scaled("res2_infections_total", n_rf, "t1_n_ref"))}
    groups = {"ivig": np.flatnonzero(is_ivig), "reference": np.flatnonzero(~is_ivig)}

    # base rates: expected infections = overshoot x the paper's count (reserve days estimate it)
    rpid, rday = uniform_days(rngs[5], start, end, np.full(n, 24))
    unit = RateState.build(truth, start, end, frailty, np.ones(n), ser.pid, ser.day, own,
                           prog_pid, prog_day)
    lam = expected_counts(unit, rpid, rday)
    base = np.ones(n)
    for g, idx in groups.items():
        if idx.size:
            shrink = 0.8 if g == "ivig" else 1.0  # IVIG will remove some of them
            base[idx] = truth.overshoot * want[g][1] / max(lam[idx].sum() * shrink, 1e-9)
    pre = RateState.build(truth, start, end, frailty, base.copy(), ser.pid, ser.day, own,
                          prog_pid, prog_day)  # a copy: fin rescales its base in place
    headroom = 1.6
    lmax = pre.max_rate() * headroom
    cpid, cday = uniform_days(rngs[6], start, end, rngs[6].poisson(lmax * (end - start + 1)))
    u = rngs[7].uniform(size=cpid.size)
    ccov = pre.covariates(cpid, cday)
    a1 = np.flatnonzero(u < pre.rate(cpid, cday, ccov) / lmax[cpid])
    ivig_start, trig = prompted_start(rngs[8], cpid[a1], cday[a1], ccov["band"][a1], is_ivig,
                                      prior, b.baseline_igg < 400, start, last, truth)
    dose_pid, dose_day, dose_amt = ivig_schedule(rngs[9], ivig_start, last, truth)
    alive_at = (death[dose_pid] < 0) | (dose_day <= death[dose_pid])
    dose_pid, dose_day, dose_amt = dose_pid[alive_at], dose_day[alive_at], dose_amt[alive_at]
    boost = rngs[9].uniform(0.7, 1.3, size=n)
    inc = ivig_increment(ser.pid, ser.day, dose_pid, dose_day,
                         dose_amt / 0.4 * truth.increment_per_04g * boost[dose_pid], truth)
    measured = enforce_nadir(ser.pid, ser.day, ser.latent + inc, start, end, b.nadir_band,
                             rngs[4])
    # the process with IVIG in place (same random numbers); the IVIG group's base is rescaled to
    # its expected count; infections that prompted IVIG happened
    fin = RateState.build(truth, start, end, frailty, base, ser.pid, ser.day, own,
                          prog_pid, prog_day, dose_pid, dose_day)
    lam = expected_counts(fin, rpid, rday)
    idx = groups["ivig"]
    fin.base[idx] *= min(truth.overshoot * want["ivig"][1] / max(lam[idx].sum(), 1e-9), headroom)
    acc = u < fin.rate(cpid, cday) / lmax[cpid]
    acc[a1[trig[trig >= 0]]] = True
    pid, day = cpid[acc], cday[acc]
    if match:
        for g, idx in groups.items():
            pid, day = fill_patients(rngs[10], fin, lmax, pid, day, idx, want[g][0])
    o = np.lexsort((day, pid))
    pid, day = pid[o], day[o]
    keep = np.ones(pid.size, bool)
    shortfall: dict[str, int] = {}
    if match:
        for g, pre_id in (("ivig", "res1"), ("reference", "res2")):
            keep, short = thin_to_counts(rngs[10], pid, keep, groups[g], *want[g])
            shortfall[f"{pre_id}_infections"] = short
    pid, day = pid[keep], day[keep]
    cov = fin.covariates(pid, day)
    inf = _marks(rngs, truth, pid, cov, is_ivig, start, end, n_iv, n_rf, match, shortfall)
    inf.update(pid=pid, day=day)
    igg_keep = (death < 0)[ser.pid] | (ser.day <= death[ser.pid])
    late = _late_infections(rngs[15], last, contact)
    trigger_day = np.where(trig >= 0, cday[a1[np.maximum(trig, 0)]], -1)
    process = {"state": pre, "lmax": lmax, "trigger_day": trigger_day,
               "patient_id": b.cols["patient_id"].astype(str)}
    return Drawn(b, end, death, contact, ser, measured, igg_keep, (prog_pid, prog_day),
                 (dose_pid, dose_day, dose_amt), inf, late, shortfall, process)


def _marks(rngs, truth: TruthParameters, pid: np.ndarray, cov: dict[str, np.ndarray],
           is_ivig: np.ndarray, start: np.ndarray, end: np.ndarray, n_iv: int, n_rf: int,
           match: bool, shortfall: dict[str, int]) -> dict[str, np.ndarray]:
    """Grade, site, organism, ANC and ALC of each infection (group by group)."""
    m = pid.size
    base_p = np.where(is_ivig[pid], truth.g34_prob_ivig, truth.g34_prob_reference)
    g34 = grade34_draw(rngs[11], cov, base_p, truth)
    site = np.full(m, "other", dtype=object)
    org = np.full(m, "unconfirmed", dtype=object)
    anc, alc = np.full(m, np.nan), np.full(m, np.nan)
    for g, ivg, pre in (("ivig", True, "res1"), ("reference", False, "res2")):
        members = np.flatnonzero(is_ivig == ivg)
        if members.size == 0:
            continue
        mask = np.isin(pid, members)
        if match:
            n_grp = n_iv if ivg else n_rf
            k_pat = _scaled(f"{pre}_g34_patients_n", n_grp, "t1_n_ivig" if ivg else "t1_n_ref")
            n34 = None
            if not ivg:  # the reference group's grade 3-4 rate per patient-year is printed
                py = float((end - start + 1)[members].sum()) / DAYS_PER_YEAR
                n34 = max(round(planted("res2_rate_g34") * py), k_pat)
            g34, short = thin_to_counts(rngs[10], pid, g34, members, k_pat, n34)
            shortfall[f"{pre}_g34"] = short
        st = sites(rngs[12], g34, mask, planted(f"{pre}_site_respiratory_pct"),
                   planted(f"{pre}_site_lower_respiratory_pct"))
        site[mask] = st[mask]
        og = organisms(rngs[13], g34, site, mask,
                       [planted(f"{pre}_micro_{k}_pct") for k in ("bacterial", "viral", "fungal")])
        org[mask] = og[mask]
        a, l_ = labs(rngs[14], g34, mask, g)
        anc[mask], alc[mask] = a[mask], l_[mask]
    return {"grade": grade_numbers(rngs[11], g34), "site": site, "organism": org, "anc": anc,
            "alc": alc}


def _late_infections(rng: np.random.Generator, last: np.ndarray,
                     contact: np.ndarray) -> dict[str, np.ndarray]:
    """A few infections recorded after the observation period, before last contact."""
    n = last.size
    end_obs = last + OBS_TAIL_DAYS
    late = (rng.uniform(size=n) < LATE_INFECTION_SHARE) & (contact - end_obs > 30)
    lp = np.flatnonzero(late)
    span = contact[lp] - end_obs[lp] - 1
    return {
        "pid": lp, "day": end_obs[lp] + 1 + (rng.uniform(size=lp.size) * span).astype(np.int64),
        "grade": np.where(rng.uniform(size=lp.size) < 0.2, 3, 2),
        "site": np.array(["upper_respiratory", "lower_respiratory", "urinary"], dtype=object)[
            rng.integers(0, 3, size=lp.size)],
        "organism": np.full(lp.size, "unconfirmed", dtype=object),
        "anc": np.full(lp.size, np.nan), "alc": np.full(lp.size, np.nan),
    }


def _frame(cols: Mapping[str, np.ndarray], name: str) -> pd.DataFrame:
    """One contract table: columns in order, dates as Timestamps (-1 = unknown), rows sorted by
    patient and date (stable)."""
    ids = np.asarray(cols["patient_id"]).astype(str)
    order = (np.lexsort((np.asarray(cols["date"], np.int64), ids)) if "date" in cols
             else np.argsort(ids, kind="stable"))
    data: dict[str, Any] = {}
    for c in COLUMNS[name]:
        v = np.asarray(cols[c])[order]
        if c in DATE_COLUMNS:
            d = v.astype(np.int64)
            day = d.astype("datetime64[D]")
            day[d < 0] = np.datetime64("NaT")
            v = day.astype("datetime64[ns]")
        data[c] = v
    return pd.DataFrame(data)


def _assemble(d: Drawn) -> CohortTables:
    """The five DataFrames of the data contract from the drawn arrays."""
    ids = d.baseline.cols["patient_id"].astype(str)
    late = d.late
    inf = {k: np.r_[d.inf[k], late[k]] for k in ("day", "grade", "site", "organism", "anc",
                                                  "alc")}
    inf["patient_id"] = ids[np.r_[d.inf["pid"], late["pid"]]]
    inf["date"] = inf.pop("day")
    patients = {**d.baseline.cols, "death_date": d.death, "last_contact": d.last_contact}
    ser, k = d.igg, d.igg_keep
    ms = ser.mspike[k]
    total = d.igg_value[k].copy()
    igm = ser.is_igg_myeloma[k] & np.isfinite(ms)
    total[igm] = total[igm] + np.round(1000 * ms[igm])
    igg = {"patient_id": ids[ser.pid[k]], "date": ser.day[k],
           "igg_mg_dl": total.astype(np.int64), "m_spike_g_dl": ms}
    dp, dd, da = d.dose
    ivig = {"patient_id": ids[dp], "date": dd, "dose_g_per_kg": da}
    prog = {"patient_id": ids[d.prog[0]], "date": d.prog[1]}
    out = CohortTables()
    for name, cols in (("patients", patients), ("ivig", ivig), ("infections", inf),
                       ("igg", igg), ("progression", prog)):
        out[name] = _frame(cols, name)
    return out


# --------------------------------------------------------------------------- writing
def _format(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell as fixed text: ISO dates, fixed decimals, whole numbers, empty = unknown."""
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.dt.strftime("%Y-%m-%d").fillna("")
        elif c in DECIMALS:
            v = pd.to_numeric(s, errors="coerce").to_numpy(float)
            out[c] = [("" if np.isnan(x) else f"{x:.{DECIMALS[c]}f}") for x in v]
        elif pd.api.types.is_numeric_dtype(s):
            v = pd.to_numeric(s, errors="coerce")
            out[c] = ["" if pd.isna(x) else str(int(x)) for x in v]
        else:
            out[c] = ["" if (x is None or (isinstance(x, float) and np.isnan(x))) else str(x)
                      for x in s]
    return out


def cohort_yaml(seed: int, n_ivig: int, n_reference: int) -> str:
    """The ``cohort.yaml`` text written next to the tables (fixed key order)."""
    return (
        'name: "Synthetic cohort (calibrated to Lancman et al. 2026)"\n'
        "synthetic: true\n"
        f"seed: {int(seed)}\n"
        f'generator: "analysis.simulate {__version__}"\n'
        f"description: \"{n_ivig} IVIG and {n_reference} reference patients drawn from the stated "
        "truth in truth.json, with marginal counts calibrated to Lancman et al., Haematologica "
        '2026; not real patients."\n'
    )


def truth_json(tables: CohortTables) -> str:
    """The ``truth.json`` text: the parameters the cohort was drawn from (fixed key order).

    Keys: ``seed``, ``generator``, ``n_ivig``, ``n_reference``, ``parameters``
    (:meth:`TruthParameters.as_dict`) and ``shortfall`` (see :class:`CohortTables`).
    """
    truth = getattr(tables, "truth", None) or TruthParameters()
    doc = {"seed": int(getattr(tables, "seed", CANONICAL_SEED)),
           "generator": f"analysis.simulate {__version__}",
           "n_ivig": int((tables["patients"]["group"] == "ivig").sum()),
           "n_reference": int((tables["patients"]["group"] == "reference").sum()),
           "parameters": truth.as_dict(),
           "shortfall": dict(getattr(tables, "shortfall", {}) or {})}
    return json.dumps(doc, indent=2) + "\n"


def read_truth(folder: str | Path) -> dict[str, Any]:
    """The ``truth.json`` of a simulated cohort folder, as a dict (``parameters`` inside)."""
    path = Path(folder) / "truth.json"
    if not path.is_file():
        raise SimulateError(f"{path} does not exist: the folder is not a simulated cohort with a "
                            "stated truth (write one with `python -m analysis simulate`)")
    return json.loads(path.read_text(encoding="utf-8"))


def is_simulator_output(path: Path) -> bool:
    """True if ``path`` holds a ``cohort.yaml`` with ``synthetic: true`` (a previous output)."""
    meta = path / "cohort.yaml"
    if not meta.is_file():
        return False
    try:
        import yaml

        doc = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
    except Exception:
        return False
    return isinstance(doc, dict) and doc.get("synthetic") is True


def write_cohort(tables: CohortTables | dict[str, pd.DataFrame], out_dir: str | Path, *,
                 seed: int | None = None) -> Path:
    """Write the five CSV files, ``cohort.yaml`` and ``truth.json`` into ``out_dir``, atomically.

    Files are byte-deterministic: fixed column order, rows sorted by patient and date, fixed
    decimals, ISO dates, empty cells for unknown, ``\\n`` line ends. The folder is built in a
    temporary sibling and renamed into place, so no partial output is ever left. An existing
    ``out_dir`` is replaced only if it is empty or a previous simulator output (``cohort.yaml`` with
    ``synthetic: true``); anything else raises :class:`SimulateError`.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SimulateError(f"{out} exists and is not a folder; refusing to overwrite it")
    if out.is_dir() and any(out.iterdir()) and not is_simulator_output(out):
        raise SimulateError(
            f"{out} is not empty and is not a previous simulator output (no cohort.yaml with "
            "'synthetic: true'); refusing to overwrite it. Choose an empty or new folder.")
    if seed is None:
        seed = int(getattr(tables, "seed", CANONICAL_SEED))
    n_iv = int((tables["patients"]["group"] == "ivig").sum())
    n_rf = int((tables["patients"]["group"] == "reference").sum())
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    try:
        for name, cols in COLUMNS.items():
            df = _format(tables[name][cols])
            df.to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n")
        (tmp / "cohort.yaml").write_text(cohort_yaml(seed, n_iv, n_rf), encoding="utf-8",
                                         newline="\n")
        if isinstance(tables, CohortTables):
            (tmp / "truth.json").write_text(truth_json(tables), encoding="utf-8", newline="\n")
        os.chmod(tmp, 0o755)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.rmdir(old)
            os.rename(out, old)
        os.rename(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out



def as_cohort(tables: CohortTables | dict[str, pd.DataFrame] | Cohort) -> Cohort:
    """The simulator's tables as a loaded :class:`~analysis.study.cohort.Cohort` (a Cohort as is).

    The one adapter between the generator and the analyses: the tables are written by
    :func:`write_cohort` to a temporary folder and read back by
    :func:`analysis.study.cohort.load_cohort`, so every analysis sees exactly what a user of
    the written cohort sees (validated, typed, values rounded as in the CSV files), and the
    calibration of a simulated cohort equals that of its files. It costs about 0.07 s for the
    paper-sized cohort
    (most of it validation); the returned Cohort's ``path`` no longer exists.
    """
    if not isinstance(tables, Mapping):
        return tables
    from analysis.study.cohort import load_cohort

    with tempfile.TemporaryDirectory(prefix="simulated-cohort-") as tmp:
        folder = write_cohort(tables, Path(tmp) / "cohort")
        return load_cohort(folder)


def to_cohort(tables: CohortTables | dict[str, pd.DataFrame], name: str = "simulated"
              ) -> Cohort:
    """The simulator's tables as a :class:`~analysis.study.cohort.Cohort`, in memory.

    The fast path for studies that draw hundreds of cohorts (truth recovery): no CSV files, no
    validation. Each column gets the type :func:`analysis.study.cohort.load_cohort` gives it and
    floats are rounded to the decimals :func:`write_cohort` writes, so every analysis sees the
    values a reader of the written files sees (``tests/synthetic/test_simulate.py`` checks the two
    paths
    agree). Use :func:`as_cohort` to go through the files and the validator instead.

    Examples
    --------
    >>> c = to_cohort(simulate_cohort(3))
    >>> c.synthetic, len(c.patients)
    (True, 143)
    """
    from analysis.study.cohort import Cohort
    from analysis.study.contract import CONTRACT

    typed: dict[str, pd.DataFrame] = {}
    for file, specs in CONTRACT.items():
        key = file.removesuffix(".csv")
        df = tables[key]
        cols: dict[str, pd.Series] = {}
        for spec in specs:
            col = df[spec.name] if spec.name in df else pd.Series(np.nan, index=df.index)
            if spec.kind == "date":
                cols[spec.name] = pd.to_datetime(col).astype("datetime64[ns]")
            elif spec.kind == "int":
                cols[spec.name] = pd.to_numeric(col).astype("Int64")
            elif spec.kind == "float":
                v = pd.to_numeric(col).astype("float64")
                cols[spec.name] = v.round(DECIMALS[spec.name]) if spec.name in DECIMALS else v
            else:
                cols[spec.name] = col.astype(object).where(col.notna(), np.nan)
        typed[key] = pd.DataFrame(cols, index=df.index).reset_index(drop=True)
    meta = {"name": name, "synthetic": True, "seed": int(getattr(tables, "seed", -1))}
    return Cohort(path=Path(name), name=name, synthetic=True, metadata=meta, **typed)
