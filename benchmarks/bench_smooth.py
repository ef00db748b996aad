"""Speed and memory of smooth time effects (analysis.sccs.smooth) at 100k cases.

Usage::

    .venv/bin/python benchmarks/bench_smooth.py --cases 100000 [--penalty 10]

Data (numpy, vectorised): observation 1-3 years of calendar time from 2015-2019, 2-8 doses
of one exposure with 30-day risk windows, events with a seasonal rate (winter peak, true
log-amplitude 0.4) and IRR 0.6 in the risk windows, only cases kept. The intervals are built
with :func:`analysis.sccs.build_intervals` (exposure + season splitter + calendar-month
splitter) and fitted with :func:`analysis.sccs.smooth.fit_smooth` (exposure, cyclic season
spline with 4 df, calendar B-spline with 5 interior knots). Each stage is timed; the process's
peak resident memory (``ru_maxrss``) is reported at the end. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time

import numpy as np
import pandas as pd

from analysis.sccs import Exposure, build_intervals
from analysis.sccs.smooth import calendar_time, fit_smooth, season

DAY0 = int(np.datetime64("2015-01-01", "D").astype(np.int64))


def simulate(n_cases: int, seed: int = 1):
    """Observation, events and exposure tables for about ``n_cases`` cases."""
    rng = np.random.default_rng(seed)
    n = int(n_cases)
    start = DAY0 + rng.integers(0, 730, n)
    end = start + rng.integers(365, 1096, n)
    obs = pd.DataFrame({"id": np.arange(n), "start": start, "end": end})
    k = rng.integers(2, 9, n)
    pid = np.repeat(np.arange(n), k)
    first = start + rng.integers(0, 200, n)
    gap = rng.integers(20, 90, k.sum())
    csum = np.cumsum(gap)
    offs = csum - np.repeat(csum[np.cumsum(k) - k], k)
    doses = pd.DataFrame({"id": pid, "day": np.repeat(first, k) + offs})
    doses = doses[doses["day"].to_numpy() <= end[pid]]
    # candidate events: uniform days, thinned by season (winter peak); exposure effect by
    # thinning events that fall within 30 days after a dose
    m = rng.poisson(6.0, n) + 1
    eid = np.repeat(np.arange(n), m)
    day = start[eid] + (rng.random(m.sum()) * (end[eid] - start[eid] + 1)).astype(np.int64)
    month = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
    keep = rng.random(len(day)) < np.exp(0.4 * (np.cos(2 * np.pi * month / 12) - 1))
    # exposure effect: keep events within 30 days after a dose with probability 0.6
    stride = int(end.max()) + 2
    dkey = np.sort(doses["id"].to_numpy() * stride + doses["day"].to_numpy())
    ekey = eid * stride + day
    pos = np.searchsorted(dkey, ekey, side="right") - 1
    last = np.where(pos >= 0, dkey[np.maximum(pos, 0)], -1)
    at_risk = (last // stride == eid) & (ekey - last < 30)
    keep &= ~at_risk | (rng.random(len(day)) < 0.6)
    ev = pd.DataFrame({"id": eid[keep], "day": day[keep]})
    return obs, ev, doses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--penalty", type=float, default=10.0)
    ap.add_argument("--fits", default="ml,penalised",
                    help="which fits to run (comma-separated: ml, penalised); run one per "
                         "process to attribute the peak memory")
    args = ap.parse_args()
    out: dict[str, object] = {"python": platform.python_version()}
    t = time.perf_counter()
    obs, ev, doses = simulate(args.cases)
    out["simulate_s"] = time.perf_counter() - t
    s = season(df=4)
    c = calendar_time(int(obs["start"].min()), int(obs["end"].max()), knots=5)
    expo = Exposure("x", doses, windows=((0, 29),))
    t, cpu = time.perf_counter(), time.process_time()
    iv = build_intervals(obs, ev, [expo], [s.covariate, c.covariate], merge=True)
    iv["x"] = (iv["x"] > 0).astype(np.int8)
    out["build_intervals_s"] = time.perf_counter() - t
    out["build_intervals_cpu_s"] = time.process_time() - cpu
    n_ev = iv.groupby("id")["events"].transform("sum")
    out["cases"] = int(iv.loc[n_ev > 0, "id"].nunique())
    out["events"] = int(iv["events"].sum())
    out["rows_cases"] = int((n_ev > 0).sum())
    out["rss_before_fits_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fits = args.fits.split(",")
    if "ml" in fits:
        t, cpu = time.perf_counter(), time.process_time()
        fit = fit_smooth(iv, ["x"], [s, c])
        out["fit_ml_s"] = time.perf_counter() - t
        out["fit_ml_cpu_s"] = time.process_time() - cpu
        out["n_terms"] = len(fit.params)
        out["irr_x_ml"] = fit.irr("x")
    if "penalised" in fits:
        t, cpu = time.perf_counter(), time.process_time()
        pfit = fit_smooth(iv, ["x"], [s, c], penalty=args.penalty)
        out["fit_penalised_s"] = time.perf_counter() - t
        out["fit_penalised_cpu_s"] = time.process_time() - cpu
        out["n_terms"] = len(pfit.params)
        out["irr_x_penalised"] = pfit.irr("x")
    out["load_average_1min"] = os.getloadavg()[0]
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
