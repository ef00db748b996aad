"""Synthetic cohort calibrated to Lancman et al. (Haematologica 2026): generate and write it.

The patient data of the paper are not public, so the book runs on synthetic patients who look,
statistically, like the paper's. :func:`simulate_cohort` builds all five contract tables from a
seed; :func:`write_cohort` writes them deterministically (same seed, same bytes). The method is in
:data:`METHOD` (markdown; the book chapter "How the synthetic cohort was made" renders it).

Example::

    from analysis.synthetic.simulate import simulate_cohort, write_cohort
    tables = simulate_cohort()              # the canonical cohort (seed CANONICAL_SEED)
    write_cohort(tables, "out/cohort")
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.paper.targets import target
from analysis.study import OBS_TAIL_DAYS
from analysis.synthetic.baseline import frailty_from_prior, simulate_baseline
from analysis.synthetic.events import (
    RateModel,
    enforce_nadir,
    ivig_increment,
    ivig_schedule,
    simulate_igg_schedule,
    simulate_progression,
)
from analysis.synthetic.infections import (
    Events,
    RateState,
    balance_within,
    expected_counts,
    match_counts,
    on_days,
    prompted_start,
    uniform_days,
)
from analysis.synthetic.outcomes import grades, labs, organisms, sites

if TYPE_CHECKING:  # pragma: no cover
    from analysis.study.cohort import Cohort

__version__ = "1.0"
#: Seed of the committed cohort in ``data/synthetic/`` (chosen by :func:`calibrate_seed`).
CANONICAL_SEED: int = 65
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

#: Grade 3-4 base probability per infection by group (tuned so the IVIG group's count of grade
#: 3-4 infections is near the ~37 the paper's Table 2 implies; assumption).
G34_BASE = {"ivig": 0.20, "reference": 0.14}
#: Hazard multiplier compensating for deaths moved past the observation period (assumption).
OS_HAZARD_FACTOR = 1.0
#: Date of the data cut for survival (assumption).
DATA_CUT = "2025-06-30"

METHOD = r"""
### How the synthetic cohort was made

The synthetic cohort has the paper's two groups (43 IVIG and 100 reference patients, daratumumab
started 2015-2019) and follows the data contract. Every number taken from the paper is read from
`data/paper/targets.yaml` by its id; the other numbers below are the simulator's own assumptions.
It is built in five layers.

**1. Baseline (Table 1) by construction.** Categorical rows (sex, heavy and light chain, ISS, R-ISS,
high-risk cytogenetics, prior-year infections in categories, transplant, prophylaxis, response)
are the printed counts, split over the group by the largest-remainder rule and shuffled over
patients. Unknown ISS, R-ISS and cytogenetics are empty cells, in the paper's numbers (known for
38/67, 35/59 and 39/89 patients); R-ISS agrees with ISS and cytogenetics. Median-and-range rows
(age, months on daratumumab, years from diagnosis, prior lines, prior-year infections) are random
values whose minimum, median and maximum are pinned to the printed ones; the upper tail of months
on daratumumab is shaped so that each group's person-time is the one the paper's rates imply
(130.9 patient-years for the reference group = 123 infections / 0.94 per year; about 92 for the
IVIG group, from its seasonal rates). *Prior-year infections* are a required count in the
contract, so nobody can be "unknown": the categorised counts, printed for 40 of 43 and 94 of 100
patients, are scaled to the whole group (IVIG 7/9/11/7/9, reference 34/42/16/6/2 for 0/1/2/3/4+),
which keeps the printed medians (2 and 1) and ranges (0-6 and 0-4). Years from diagnosis follow
Table 1 (IVIG 4.1, 0.3-14.8), not the Results text, which repeats the reference column.

**2. Disease course.** Each patient has a frailty (gamma, mean 1, variance 0.5), rank-correlated
with the prior-year infections: patients prone to infection before stay prone. Progression ends most
courses of daratumumab and comes early for non-responders. Serum IgG is measured every 3-9 weeks,
with a baseline 1-60 days before the first dose. Functional IgG falls from its baseline towards a
patient-specific plateau; each IVIG dose adds about 230 mg/dL per 0.4 g/kg, decaying with a 25-day
half-life. In 60% of responders the polyclonal IgG recovers once the myeloma is controlled: from
0.9-1.9 decline times into treatment it climbs back, over 1-4 months, towards a level of 600-1000
mg/dL, so many patients spend part of their course at or above 700 mg/dL (the paper: HGG for 88% of
the time in the reference group and 80% in the IVIG group, summary statistic not stated). IgG
myeloma adds an M-spike that falls with response and rises after progression. The baseline bands
(<400, 400-700, >=700 mg/dL, Table 1) and each patient's lowest band during observation (Table 2:
42/34/8 of 43 below 700/400/200; reference 97/67/19 of 100) have the paper's counts.

**3. Infections as a recurrent-event process.** Patient $i$'s daily infection rate is

$$\lambda_i(d) = b_g \, u_i \, H(\mathrm{IgG}_i(d)) \, S(d) \, P_i(d) \, E_i(d) \, V_i(d)$$

with frailty $u_i$ and relative rates $H$ = 1.2, 1.45 and 3.0 for functional IgG 400-700, 200-400
and below 200 mg/dL (the latest measurement, as the analysis sees it); $S$ = 1.25 in fall/winter
(October-March); $P$ = 3.0 in the 30 days from a progression; $E$ = 1.8 in the first 90 days of
daratumumab (weekly doses, steroids); and $V$ = 0.66 while on IVIG (30 days from each dose; IVIG
also acts through the IgG it adds). Infections are simulated by thinning: candidate days are drawn
at an upper bound of the rate (a Poisson number per patient, placed uniformly) and each is kept with
probability rate / bound, vectorised over patients. The base rate $b_g$ of each group is set so the
expected number of infections is the paper's (155 and 123).

**IVIG is prompted by infections.** In the IVIG group each infection before IVIG prompts it with
probability 0.5 (0.7 at IgG below 400 mg/dL) and the first dose follows 3-11 weeks later; patients
with many prior-year infections or a baseline IgG below 400 may start within 60 days of their first
daratumumab dose, and anyone not prompted starts at a random time (everyone in the group receives
IVIG, by definition, no later than 25.4 months). Infections therefore crowd into the weeks before
the first dose: the bias the paper's pre-exposure diagnostic detects. The simulation is run twice
with the same random numbers, first without IVIG (to find when it is prompted), then with the IVIG
schedule in place. Doses come every 4 weeks (every 3 weeks for one patient in five, chosen at
random; the paper's 43 doses within at most 35 months imply some were dosed more often) at 0.40,
0.45 or 0.50 g/kg, in one or two courses of a median of about 7-8 doses; one patient in five stays
on IVIG until daratumumab ends (the paper's range: 1-43 doses, 1-35 months).

**4. Exact counts.** Chance makes the realised numbers differ a little from the paper's, so a
deterministic count-matching step follows (same seed, same result). Single infections are removed
(never a patient's last one, never one that prompted IVIG) or added (days drawn from a reserve of
random candidate days, with the model's rate as weight) until each group has exactly the paper's
number of infected patients (42 and 62) and of infections (155 and 123). In the IVIG group the
number of on-IVIG infections is chosen so the crude pooled on/off rate ratio is the paper's 0.57,
and off-IVIG infections are then moved between patients (from patients with much on-IVIG time to
patients with little, or back) until the self-controlled case series equation
$\sum_i n_i\,\rho T^{on}_i / (\rho T^{on}_i + T^{off}_i) = E^{on}$ holds at $\rho$ = 0.57 too, so
pooled and within-patient comparisons agree, as they do in the paper. Grades (CTCAE 1-4, none
fatal), sites, organisms and ANC/ALC are drawn per infection with mechanism weights (grade 3-4 about
half as likely on IVIG and more likely at very low IgG or at progression; lower respiratory and
bloodstream infections more often severe; bacterial infections reduced more by IVIG than viral ones;
lower ANC/ALC in grade 3-4 infections, drawn by stratified sampling from distributions with Table
2's shares below 0.5 and 1.0 per grade group) but in exactly the printed numbers: 23 and 16 patients
with a grade 3-4 infection, 0.14 grade 3-4 infections per patient-year in the reference group, the
printed site and organism percentages, the printed ANC/ALC medians and ranges. Grade 3-4 status is
swapped between a patient's own on- and off-IVIG infections until the same equation holds at the
paper's grade 3-4 IRR (0.30). Deaths follow an exponential survival scaled to the paper's 5-year
overall survival (61.6%); a death inside the observation period is moved after it.

**5. Seed.** `analysis.synthetic.simulate.calibrate_seed()` simulated seeds 0-149 and fitted the
self-controlled case series to each (the book's SCCS engine). It kept the seeds whose
all-grade IRR is within 0.03 of 0.57, grade 3-4 IRR within 0.05 of 0.30, 60-day pre-exposure IRR
above 1.5 and HGG IRRs above 1 and rising from <700 to <400 to <200, and whose calibration table
has no failed row. Among these it chose the one closest to the paper's seven estimates (sum of
squared log ratios). About 40% of the seeds qualify; every seed gives a valid cohort with the
same exact counts.
"""


class SimulateError(Exception):
    """The simulator cannot do what was asked (for example, write over a foreign folder)."""


class CohortTables(dict):
    """The five tables (``patients``, ``ivig``, ``infections``, ``igg``, ``progression``) + seed."""

    seed: int
    n_ivig: int
    n_reference: int


def _scaled(target_id: str, n: int, paper_n_id: str) -> int:
    """A printed count scaled from the paper's group size to ``n``."""
    return round(target(target_id) * n / target(paper_n_id))


def simulate_cohort(
    seed: int = CANONICAL_SEED,
    *,
    n_ivig: int | None = None,
    n_reference: int | None = None,
    model: RateModel | None = None,
    match: bool = True,
) -> CohortTables:
    """Generate a synthetic cohort (all five contract tables) from ``seed``.

    ``n_ivig`` / ``n_reference`` default to the paper's 43 and 100; other sizes scale every count
    proportionally (for benchmarks). ``match=False`` skips the count-matching step (raw process).
    """
    model = model or RateModel()
    n_iv = int(target("t1_n_ivig") if n_ivig is None else n_ivig)
    n_rf = int(target("t1_n_ref") if n_reference is None else n_reference)
    if n_iv < 1 or n_rf < 0:
        raise SimulateError("need at least one IVIG patient and a non-negative reference group")
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(16)]
    b = simulate_baseline(rngs[0], n_iv, n_rf)
    n = n_iv + n_rf
    start, last = b.start, b.last
    end_obs = last + OBS_TAIL_DAYS
    is_ivig = b.group == "ivig"
    heavy = b.cols["heavy_chain"].astype(str)
    responder = np.isin(b.cols["best_response"].astype(str), ["sCR", "CR", "VGPR", "PR"])
    prior = b.cols["prior_infections_12m"].astype(np.int64)
    frailty = frailty_from_prior(rngs[1], prior.astype(float), model.frailty_shape,
                                 model.frailty_prior_rho)
    prog_pid, prog_day = simulate_progression(rngs[2], start, last, responder)
    ser = simulate_igg_schedule(rngs[3], start, end_obs, b.baseline_igg, b.nadir_band, heavy,
                                responder, prog_pid, prog_day)
    f0 = enforce_nadir(ser.pid, ser.day, ser.latent, start, end_obs, b.nadir_band, rngs[4])

    # targets for this cohort size
    want = {
        "ivig": (_scaled("res1_patients_with_infection_n", n_iv, "t1_n_ivig"),
                 _scaled("res1_infections_total", n_iv, "t1_n_ivig")),
        "reference": (_scaled("res2_patients_with_infection_n", n_rf, "t1_n_ref"),
                      _scaled("res2_infections_total", n_rf, "t1_n_ref")),
    }
    grp_idx = {"ivig": np.flatnonzero(is_ivig), "reference": np.flatnonzero(~is_ivig)}

    # base rates: expected infections = the paper's count (estimated on reserve days)
    rpid, rday = uniform_days(rngs[5], start, end_obs, np.full(n, 24))
    unit = RateState.build(model, start, end_obs, frailty, np.ones(n), ser.pid, ser.day, f0,
                           prog_pid, prog_day)
    lam = expected_counts(unit, rpid, rday)
    base = np.ones(n)
    for g, idx in grp_idx.items():
        if idx.size:
            shrink = 0.8 if g == "ivig" else 1.0  # IVIG will remove some of them
            base[idx] = want[g][1] / max(lam[idx].sum() * shrink, 1e-9)
    pre = RateState.build(model, start, end_obs, frailty, base, ser.pid, ser.day, f0,
                          prog_pid, prog_day)
    headroom = 1.6
    lmax = pre.max_rate() * headroom
    cpid, cday = uniform_days(rngs[6], start, end_obs,
                              rngs[6].poisson(lmax * (end_obs - start + 1)))
    u = rngs[7].uniform(size=cpid.size)
    ccov = pre.covariates(cpid, cday)
    acc1 = u < pre.rate(cpid, cday, ccov) / lmax[cpid]
    a1 = np.flatnonzero(acc1)
    ivig_start, trig = prompted_start(rngs[8], cpid[a1], cday[a1], ccov["band"][a1], is_ivig,
                                      prior, b.baseline_igg < 400, start, last, model)
    trig_cand = a1[trig[trig >= 0]]
    dose_pid, dose_day, dose_amt = ivig_schedule(rngs[9], ivig_start, last, model)
    boost = rngs[9].uniform(0.7, 1.3, size=n)
    inc = ivig_increment(ser.pid, ser.day, dose_pid, dose_day,
                         dose_amt / 0.4 * model.increment_per_04g * boost[dose_pid], model)
    f1 = enforce_nadir(ser.pid, ser.day, ser.latent + inc, start, end_obs, b.nadir_band, rngs[4])
    # final process with IVIG in place; rescale the IVIG group's base to its expected count
    fin = RateState.build(model, start, end_obs, frailty, base, ser.pid, ser.day, f1,
                          prog_pid, prog_day, dose_pid, dose_day)
    lam = expected_counts(fin, rpid, rday)
    idx = grp_idx["ivig"]
    factor = min(want["ivig"][1] / max(lam[idx].sum(), 1e-9), headroom)
    fin.base[idx] *= factor
    acc2 = u < fin.rate(cpid, cday) / lmax[cpid]
    acc2[trig_cand] = True
    protected = np.zeros(cpid.size, bool)
    protected[trig_cand] = True
    ev = Events(cpid[acc2], cday[acc2], protected[acc2])
    if match:
        t_on = on_days(dose_pid, dose_day, start, end_obs)
        obs_days = end_obs - start + 1
        t1 = float(t_on[idx].sum())
        t0 = float(obs_days[idx].sum()) - t1
        r = float(target("sccs_allgrade_irr"))
        n_on = round(want["ivig"][1] * r * t1 / (r * t1 + t0))
        rng_m = rngs[10]
        used = np.zeros(rpid.size, bool)
        ev = match_counts(rng_m, ev, grp_idx["ivig"], fin, *want["ivig"], (rpid, rday),
                          on_target=n_on, used=used)
        ev = balance_within(rng_m, ev, grp_idx["ivig"], fin, (rpid, rday), used,
                            t_on.astype(float), r)
        ev = match_counts(rng_m, ev, grp_idx["reference"], fin, *want["reference"],
                          (rpid, rday), used=used)
    o = np.lexsort((ev.day, ev.pid))
    ev = ev.take(o)
    cov = fin.covariates(ev.pid, ev.day)
    tables = _assemble(rngs, b, model, ev, cov, is_ivig, start, last, end_obs, ser, f1,
                       prog_pid, prog_day, dose_pid, dose_day, dose_amt, n_iv, n_rf)
    tables.seed, tables.n_ivig, tables.n_reference = int(seed), n_iv, n_rf
    return tables


def _assemble(rngs, b, model, ev, cov, is_ivig, start, last, end_obs, ser, f1, prog_pid,
              prog_day, dose_pid, dose_day, dose_amt, n_iv, n_rf) -> CohortTables:
    """Grades, sites, organisms, labs, deaths; then the five DataFrames."""
    n = start.size
    ids = b.cols["patient_id"].astype(str)
    grade = np.zeros(ev.pid.size, np.int64)
    site = np.full(ev.pid.size, "other", dtype=object)
    org = np.full(ev.pid.size, "unconfirmed", dtype=object)
    anc = np.full(ev.pid.size, np.nan)
    alc = np.full(ev.pid.size, np.nan)
    for g, ivg in (("ivig", True), ("reference", False)):
        members = np.flatnonzero(is_ivig == ivg)
        if members.size == 0:
            continue
        mask = np.isin(ev.pid, members)
        share = None
        if g == "ivig":
            k_pat = _scaled("res1_g34_patients_n", n_iv, "t1_n_ivig")
            n34 = None
            pre = "res1"
            t_on = on_days(dose_pid, dose_day, start, end_obs).astype(float)
            t_off = (end_obs - start + 1) - t_on
            r34 = float(target("sccs_g34_irr"))
            share = r34 * t_on / np.maximum(r34 * t_on + t_off, 1e-9)
        else:
            k_pat = _scaled("res2_g34_patients_n", n_rf, "t1_n_ref")
            py = float((end_obs - start + 1)[members].sum()) / 365.25
            n34 = max(round(target("res2_rate_g34") * py), k_pat)
            pre = "res2"
        gr = grades(rngs[11], ev.pid, cov, members, k_pat, n34, G34_BASE[g], share)
        grade[mask] = gr[mask]
        g34 = grade >= 3
        st = sites(rngs[12], g34, mask, target(f"{pre}_site_respiratory_pct"),
                   target(f"{pre}_site_lower_respiratory_pct"))
        site[mask] = st[mask]
        og = organisms(rngs[13], g34, site, cov["on"], mask,
                       [target(f"{pre}_micro_{k}_pct") for k in ("bacterial", "viral", "fungal")])
        org[mask] = og[mask]
        a, l_ = labs(rngs[14], g34, mask, g)
        anc[mask], alc[mask] = a[mask], l_[mask]

    # deaths and last contact (exponential survival with the paper's 5-year OS)
    r = rngs[15]
    # deaths inside the observation period are moved after it (OS_SHIFT compensates)
    h = -np.log(target("res1_os_5yr_pct") / 100) / (5 * 365.25) * OS_HAZARD_FACTOR
    death = start + (r.exponential(1 / h, size=n)).astype(np.int64)
    death = np.where(death <= end_obs, end_obs + r.integers(1, 121, size=n), death)
    cut = np.datetime64(DATA_CUT).astype(np.int64)
    alive = death > cut
    last_contact = np.where(alive, np.maximum(cut - r.integers(0, 91, size=n), end_obs + 1), death)
    death_date = np.where(alive, -1, death)

    # a few infections after the observation window (kept in the data, outside the analysis)
    late = (r.uniform(size=n) < 0.12) & (last_contact - end_obs > 30)
    lp = np.flatnonzero(late)
    lday = end_obs[lp] + 1 + (r.uniform(size=lp.size) * (last_contact[lp] - end_obs[lp] - 1)
                              ).astype(np.int64)
    lgrade = np.where(r.uniform(size=lp.size) < 0.2, 3, 2)
    lsite = np.array(["upper_respiratory", "lower_respiratory", "urinary"], dtype=object)[
        r.integers(0, 3, size=lp.size)]

    patients = {k: v for k, v in b.cols.items()}
    patients["death_date"] = death_date
    patients["last_contact"] = last_contact
    inf = {
        "patient_id": np.r_[ids[ev.pid], ids[lp]],
        "date": np.r_[ev.day, lday],
        "grade": np.r_[grade, lgrade],
        "site": np.r_[site, lsite],
        "organism": np.r_[org, np.full(lp.size, "unconfirmed", dtype=object)],
        "anc": np.r_[anc, np.full(lp.size, np.nan)],
        "alc": np.r_[alc, np.full(lp.size, np.nan)],
    }
    igg_total = f1.copy()
    ms = ser.mspike
    igm = ser.is_igg_myeloma & np.isfinite(ms)
    igg_total[igm] = f1[igm] + np.round(1000 * ms[igm])
    igg = {"patient_id": ids[ser.pid], "date": ser.day, "igg_mg_dl": igg_total.astype(np.int64),
           "m_spike_g_dl": ms}
    ivig = {"patient_id": ids[dose_pid], "date": dose_day, "dose_g_per_kg": dose_amt}
    prog = {"patient_id": ids[prog_pid], "date": prog_day}
    out = CohortTables()
    for name, cols in (("patients", patients), ("ivig", ivig), ("infections", inf),
                       ("igg", igg), ("progression", prog)):
        df = pd.DataFrame({c: cols[c] for c in COLUMNS[name]})
        for c in df.columns:
            if c in DATE_COLUMNS:
                d = df[c].to_numpy(np.int64)
                df[c] = pd.to_datetime(np.where(d >= 0, d, 0).astype("datetime64[D]"))
                df.loc[d < 0, c] = pd.NaT
        sort_cols = ["patient_id"] + (["date"] if "date" in df.columns else [])
        df = df.sort_values(sort_cols, kind="stable").reset_index(drop=True)
        out[name] = df
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
        f"description: \"{n_ivig} IVIG and {n_reference} reference patients simulated to match "
        "the published marginals and mechanisms of Lancman et al., Haematologica 2026; not real "
        'patients."\n'
    )


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
    """Write the five CSV files and ``cohort.yaml`` into ``out_dir``, atomically.

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
    :func:`analysis.study.cohort.load_cohort`, so every analysis sees exactly what a user of the
    written
    cohort sees (validated, typed, values rounded as in the CSV files), and the calibration of a
    simulated cohort equals that of its files. It costs about 0.07 s for the paper-sized cohort
    (most of it pandera's validation); the returned Cohort's ``path`` no longer exists.
    """
    if not isinstance(tables, Mapping):
        return tables
    from analysis.study.cohort import load_cohort

    with tempfile.TemporaryDirectory(prefix="simulated-cohort-") as tmp:
        folder = write_cohort(tables, Path(tmp) / "cohort")
        return load_cohort(folder)
