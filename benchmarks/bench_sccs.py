"""Speed of the SCCS fit: ours vs the fixed-effects Poisson GLM and R's clogit.

Usage::

    .venv/bin/python benchmarks/bench_sccs.py --sizes 1k,10k,100k,1M
    .venv/bin/python benchmarks/bench_sccs.py --sizes 1k --stages fit,glm,clogit
    .venv/bin/python benchmarks/bench_sccs.py --sizes 1k --stages e2e --e2e-cohort data/synthetic

Stages (each a function, run per size; results printed and written as JSON):

* ``fit``: :class:`analysis.sccs.SCCS` on ready-made intervals (one row per person-interval),
  run in a fresh process so that its peak resident memory (``ru_maxrss``) is the fit's own;
* ``glm``: statsmodels Poisson GLM with one dummy per person and offset log(days): the textbook
  equivalent, dense, so only where it fits in memory and time (skipped above ``--glm-max``);
* ``clogit``: R ``survival::clogit(event ~ on_ivig + pre_ivig + strata(stratum) +
  offset(log(days)))`` with one stratum per event holding a copy of the person's intervals, which
  is what R SCCS's ``standardsccs`` runs; needs ``Rscript`` with survival (skipped otherwise).
  Timed inside R around the ``clogit`` call only (reading the CSV is reported separately);
* ``e2e``: cohort CSV -> intervals -> fit on a cohort folder given with ``--e2e-cohort DIR``
  (run once, not per size): pandas reading the CSVs (the yardstick), ``load_cohort``,
  ``study_intervals`` and the fit, each timed.

Data: IVIG-like intervals generated directly with numpy (no interval builder involved):
observation 300-1,000 days; 60% of people treated with 20 doses, 21-56 days apart, each opening
a 30-day on-treatment window (windows that touch merge); a 30-day pre-treatment window before the
first dose; recurrent events from a Poisson process with a gamma frailty, true IRR 0.57 on
treatment and 1.8 before it. Only people with at least one event are kept, so n = cases.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TERMS = ["on_ivig", "pre_ivig"]
TRUE_LOG_IRR = {"on_ivig": np.log(0.57), "pre_ivig": np.log(1.8)}
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1M": 1_000_000}


# ------------------------------------------------------------------------------------- data


def simulate_intervals(n_cases: int, seed: int = 1) -> pd.DataFrame:
    """IVIG-like SCCS intervals for ``n_cases`` cases (columns id, lower, upper, days, events,
    on_ivig, pre_ivig), fully vectorised.

    Cuts per person: observation start/end, each merged on-treatment run's first and last day,
    and the pre-treatment window's first day; an interval's status is read off its first day.
    """
    rng = np.random.default_rng(seed)
    n = int(n_cases * 1.4) + 100                     # ~20% have no events: drop them
    T = rng.integers(300, 1001, n)                   # observation: days 0 .. T-1
    treated = rng.random(n) < 0.6
    tid = np.flatnonzero(treated)
    n_doses = 20
    gaps = rng.choice(np.array([21, 28, 28, 28, 35, 42, 56]), size=(len(tid), n_doses))
    gaps[:, 0] = rng.integers(31, 200, len(tid))     # first dose after a pre-window
    dose = np.cumsum(gaps, axis=1)                   # (treated, doses)
    pid = np.repeat(tid, n_doses)
    dose = dose.ravel()
    keep = dose < T[pid]
    pid, dose = pid[keep], dose[keep]
    win_end = dose + 29
    first = np.r_[True, pid[1:] != pid[:-1]]
    new_run = first | (dose > np.r_[-10, win_end[:-1]] + 1)
    run_id = np.cumsum(new_run) - 1
    run_pid = pid[new_run]
    run_start = dose[new_run]
    run_end = np.minimum(np.maximum.reduceat(win_end, np.flatnonzero(new_run)), T[run_pid] - 1)
    del run_id
    first_dose = dose[first]
    first_pid = pid[first]
    pre_start = np.maximum(first_dose - 30, 0)

    big = np.int64(2048)
    cuts = np.concatenate([
        np.arange(n) * big + 0,                      # key = person*big + (cut + 1)
        np.arange(n) * big + T,
        run_pid * big + run_start,
        run_pid * big + run_end + 1,
        first_pid * big + pre_start,
    ])
    cuts = np.unique(cuts)
    person = cuts // big
    cut = cuts % big - 1                             # interval (prev_cut+1 .. cut)
    same = person[1:] == person[:-1]
    lower = (cut[:-1] + 1)[same]
    upper = cut[1:][same]
    ids = person[1:][same]
    days = upper - lower + 1

    # status from the interval's first day
    rk = run_pid * big + run_start
    idx = np.searchsorted(rk, ids * big + lower, side="right") - 1
    ok = idx >= 0
    on = np.zeros(len(ids), dtype=np.int8)
    on[ok] = (run_pid[idx[ok]] == ids[ok]) & (lower[ok] <= run_end[idx[ok]])
    has_pre = np.zeros(n, dtype=bool)
    has_pre[first_pid] = True
    ps = np.zeros(n, dtype=np.int64)
    ps[first_pid] = pre_start
    fd = np.zeros(n, dtype=np.int64)
    fd[first_pid] = first_dose
    pre = (has_pre[ids] & (lower >= ps[ids]) & (upper < fd[ids])).astype(np.int8)

    frailty = rng.gamma(2.0, 0.5, n)
    rate = 0.004 * frailty[ids] * np.exp(TRUE_LOG_IRR["on_ivig"] * on
                                         + TRUE_LOG_IRR["pre_ivig"] * pre)
    events = rng.poisson(rate * days)
    n_i = np.bincount(ids, weights=events, minlength=n)
    case_ids = np.flatnonzero(n_i > 0)[:n_cases]
    if len(case_ids) < n_cases:
        raise RuntimeError("simulation produced too few cases; raise the oversampling")
    sel = np.isin(ids, case_ids)
    return pd.DataFrame({"id": ids[sel], "lower": lower[sel], "upper": upper[sel],
                         "days": days[sel], "events": events[sel], "on_ivig": on[sel],
                         "pre_ivig": pre[sel]})


def save(d: pd.DataFrame, path: Path) -> None:
    np.savez(path, **{c: d[c].to_numpy() for c in d.columns})


def load(path: Path) -> pd.DataFrame:
    with np.load(path) as z:
        return pd.DataFrame({k: z[k] for k in z.files})


def ensure_data(workdir: Path, label: str) -> Path:
    """Generate (once) and cache the intervals for one size (numpy .npz)."""
    path = workdir / f"intervals_{label}.npz"
    if not path.exists():
        save(simulate_intervals(SIZES[label]), path)
    return path


# ----------------------------------------------------------------------------------- stages


def stage_fit(path: Path, repeats: int = 3) -> dict:
    """Our fit, in a fresh process: load, fit ``repeats`` times; best wall and CPU time, and the
    process's peak resident memory (VmHWM: the high-water mark of this process alone)."""
    code = f"""
import json, sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from bench_sccs import load, peak_rss_mb
from analysis.sccs import SCCS
d = load({str(path)!r})
rss0 = peak_rss_mb()
walls, cpus = [], []
for _ in range({repeats}):
    t, c = time.perf_counter(), time.process_time()
    m = SCCS().fit(d, {TERMS!r})
    walls.append(time.perf_counter() - t)
    cpus.append(time.process_time() - c)
print(json.dumps({{"seconds": min(walls), "cpu_seconds": min(cpus), "all_wall": walls,
                  "peak_rss_after_load_mb": rss0, "peak_rss_mb": peak_rss_mb(),
                  "n_cases": m.n_cases, "n_events": m.n_events, "n_intervals": m.n_intervals,
                  "n_iter": m.n_iter, "params": m.params.to_dict(), "se": m.bse.to_dict()}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (VmHWM; ru_maxrss as a fallback, which on
    Linux also counts a parent's peak inherited across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage_glm(path: Path, max_cases: int) -> dict:
    """statsmodels Poisson GLM with person fixed effects (dense design)."""
    import statsmodels.api as sm

    d = load(path)
    n_cases = d["id"].nunique()
    if n_cases > max_cases:
        return {"skipped": f"{n_cases} cases > --glm-max {max_cases} (dense design of "
                f"{len(d)} x {n_cases} = {len(d) * n_cases * 8 / 1e9:.0f} GB)"}
    t, c = time.perf_counter(), time.process_time()
    fe = pd.get_dummies(d["id"], prefix="id", dtype=float)
    exog = pd.concat([d[TERMS].astype(float), fe], axis=1)
    res = sm.GLM(d["events"].astype(float), exog, family=sm.families.Poisson(),
                 offset=np.log(d["days"].astype(float))).fit(tol=1e-12)
    el = time.perf_counter() - t
    return {"seconds": el, "cpu_seconds": time.process_time() - c,
            "params": res.params[TERMS].to_dict(), "se": res.bse[TERMS].to_dict()}


R_SCRIPT = r"""
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
t0 <- proc.time()
d <- read.csv(args[1])
t1 <- proc.time()
fit <- clogit(event ~ on_ivig + pre_ivig + strata(stratum) + offset(log(days)), data = d)
t2 <- proc.time()
s <- summary(fit)$coefficients
cpu <- (t2 - t1)[["user.self"]] + (t2 - t1)[["sys.self"]]
cat(sprintf('{"read_seconds": %.3f, "seconds": %.3f, "cpu_seconds": %.3f, "rows": %d,
 "on_ivig": %.12g, "pre_ivig": %.12g, "se_on_ivig": %.12g, "se_pre_ivig": %.12g,
 "loglik": %.12g}\n',
 (t1 - t0)[["elapsed"]], (t2 - t1)[["elapsed"]], cpu, nrow(d), s["on_ivig", "coef"],
 s["pre_ivig", "coef"],
 s["on_ivig", "se(coef)"], s["pre_ivig", "se(coef)"], fit$loglik[2]))
"""


def per_event_strata(d: pd.DataFrame) -> pd.DataFrame:
    """R SCCS layout: each event its own stratum holding a copy of the person's intervals,
    with event = 1 in the interval that holds it (an interval with k events appears in k
    strata with event = 1 once each)."""
    d = d.sort_values(["id", "lower"], kind="stable").reset_index(drop=True)
    codes, _ = pd.factorize(d["id"])
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    size = np.diff(np.r_[starts, len(d)])
    n_i = np.add.reduceat(d["events"].to_numpy(), starts)
    # one stratum per event: which person, which row holds the event
    ev_row = np.repeat(np.arange(len(d)), d["events"].to_numpy())
    ev_person = codes[ev_row]
    # rows of stratum s: starts[p] .. starts[p]+size[p]-1
    rep = size[ev_person]
    stratum = np.repeat(np.arange(len(ev_row)), rep)
    offs = np.arange(rep.sum()) - np.repeat(np.cumsum(rep) - rep, rep)
    rows = np.repeat(starts[ev_person], rep) + offs
    out = d.iloc[rows][["days", *TERMS]].reset_index(drop=True)
    out.insert(0, "stratum", stratum + 1)
    out["event"] = (rows == np.repeat(ev_row, rep)).astype(np.int8)
    assert out["event"].sum() == n_i.sum()
    return out


def stage_clogit(path: Path, workdir: Path, label: str) -> dict:
    """R survival::clogit on the same intervals, one stratum per event."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return {"skipped": "Rscript not found (R absent)"}
    check = subprocess.run([rscript, "-e", "library(survival)"], capture_output=True)
    if check.returncode != 0:
        return {"skipped": "R present but package survival missing"}
    csv = workdir / f"strata_{label}.csv"
    if not csv.exists():
        per_event_strata(load(path)).to_csv(csv, index=False)
    script = workdir / "clogit.R"
    script.write_text(R_SCRIPT)
    try:
        out = subprocess.run([rscript, str(script), str(csv)], capture_output=True, text=True,
                             timeout=3600)
    except subprocess.TimeoutExpired:
        return {"skipped": "R clogit did not finish within 3600 s"}
    if out.returncode != 0:
        return {"skipped": f"R failed: {out.stderr.strip()[-300:]}"}
    return json.loads(out.stdout[out.stdout.index("{"):])


def stage_e2e(cohort_dir: Path | None) -> dict:
    """Cohort folder -> intervals -> fit, stage by stage (the command line's path).

    Times (1) merely reading the folder's CSV files with pandas (the yardstick of issue 3: the
    command line should take at most 5x that), (2) ``analysis.study.cohort.load_cohort`` (read and
    validate), (3) ``analysis.study.study_intervals`` (all-grade infections, 30-day pre-IVIG
    window, cases only) and (4) the fit. Needs a cohort folder in the data contract's layout,
    e.g. written by ``python -m analysis simulate``; skipped without one.
    """
    if cohort_dir is None:
        return {"skipped": "pass --e2e-cohort DIR (a cohort folder, e.g. from "
                "`python -m analysis simulate`) to time cohort CSV -> intervals -> fit"}
    from analysis.sccs import SCCS
    from analysis.study import model_terms, study_intervals
    from analysis.study.cohort import load_cohort

    out: dict = {"cohort": str(cohort_dir)}
    t = time.perf_counter()
    for f in sorted(Path(cohort_dir).glob("*.csv")):
        pd.read_csv(f)
    out["read_csv_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    cohort = load_cohort(cohort_dir)
    out["load_cohort_seconds"] = time.perf_counter() - t
    terms = model_terms(pre_window=30)
    t = time.perf_counter()
    data = study_intervals(cohort, "all", pre_window=30, cases_only=True)
    out["intervals_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    fit = SCCS().fit(data, terms)
    out["fit_seconds"] = time.perf_counter() - t
    out["seconds"] = out["load_cohort_seconds"] + out["intervals_seconds"] + out["fit_seconds"]
    out["ratio_to_read_csv"] = out["seconds"] / out["read_csv_seconds"]
    out.update(n_cases=fit.n_cases, n_events=fit.n_events, n_intervals=fit.n_intervals,
               params=fit.params.to_dict(), peak_rss_mb=peak_rss_mb())
    return out


# ------------------------------------------------------------------------------------- main


def machine() -> dict:
    info = {"nproc": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "pandas": pd.__version__, "platform": platform.platform()}
    with contextlib.suppress(OSError):
        info["lscpu"] = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1k,10k,100k,1M",
                    help="comma-separated case counts among 1k, 10k, 100k, 1M")
    ap.add_argument("--stages", default="fit,glm,clogit,e2e", help="fit, glm, clogit, e2e")
    ap.add_argument("--glm-max", type=int, default=1_000,
                    help="largest case count for the dense GLM (default 1000)")
    ap.add_argument("--clogit-max", type=int, default=100_000,
                    help="largest case count for R clogit (default 100000)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "sccs_bench")
    ap.add_argument("--e2e-cohort", type=Path, default=None,
                    help="cohort folder for the end-to-end stage (run once, not per size)")
    ap.add_argument("--out", type=Path, default=None, help="write results as JSON here")
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    stages = args.stages.split(",")
    results: dict = {"machine": machine(), "sizes": {}}
    for label in args.sizes.split(","):
        if label not in SIZES:
            ap.error(f"unknown size {label!r}; choose among {list(SIZES)}")
        t = time.perf_counter()
        path = ensure_data(args.workdir, label)
        res: dict = {"generate_seconds": time.perf_counter() - t}
        if "fit" in stages:
            res["fit"] = stage_fit(path)
        if "glm" in stages:
            res["glm"] = stage_glm(path, args.glm_max)
        if "clogit" in stages:
            res["clogit"] = (stage_clogit(path, args.workdir, label)
                             if SIZES[label] <= args.clogit_max
                             else {"skipped": f"> --clogit-max {args.clogit_max}"})
        fit = res.get("fit", {})
        for ref in ("glm", "clogit"):
            r = res.get(ref, {})
            if "seconds" in r and "seconds" in fit:
                r["ratio_vs_ours"] = r["seconds"] / fit["seconds"]
                r["cpu_ratio_vs_ours"] = r["cpu_seconds"] / fit["cpu_seconds"]
                ours = fit["params"]
                theirs = r["params"] if "params" in r else {k: r[k] for k in TERMS}
                r["max_abs_coef_diff"] = max(abs(ours[k] - theirs[k]) for k in TERMS)
        results["sizes"][label] = res
        print(label, json.dumps(res, indent=1, default=float), flush=True)
    if "e2e" in stages:
        results["e2e"] = stage_e2e(args.e2e_cohort)
        print("e2e", json.dumps(results["e2e"], indent=1, default=float), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
