"""Speed of the event-dependent observation model: one large data set (apdat-sized) and the
Monte Carlo of teaching chapter t6 (many small studies), batched and one by one.

Usage::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_many_ext.py --stage apdat
    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_many_ext.py --stage t6 \
        --studies 200 --single 20

``apdat``: a simulated data set of the size and layout of R SCCS's ``apdat`` (antipsychotics
and stroke: 2,000 cases aged 35-95, about 6.3 exposure episodes each, about half of the
observation periods censored), fitted by
:func:`analysis.sccs.eventdep_observation.fit_eventdep_observation` with one risk period per
episode (R: ``eventdepenobs(event ~ ap, ..., adrug = ap, aedrug = endap, expogrp = 0,
censor = cen, data = apdat)``). R's ``apdat`` itself is not in this repository (see
``benchmarks/README.md``), so the comparison with R's time is by size, not on the same rows.

``t6``: the studies of chapter t6 (3,000 individuals, hazard ratio 20 of the end of observation
after the event) fitted with :func:`analysis.sccs.batched_ext.fit_many_eventdep_observation`
(all studies at once) and, for ``--single`` of them, one
:func:`~analysis.sccs.eventdep_observation.fit_eventdep_observation` each; the largest
difference between the two is printed. Wall-clock seconds, one run.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from analysis import teaching as T
from analysis.sccs.batched_ext import fit_many_eventdep_observation
from analysis.sccs.eventdep_observation import fit_eventdep_observation
from analysis.sccs.intervals import Exposure

AGE = int(65 * T.DAYS_PER_YEAR)


def apdat_like(seed: int = 1, n: int = 2000) -> dict:
    """Observation, events and episode exposures of the size and layout of R's apdat."""
    rng = np.random.default_rng(seed)
    start = rng.integers(12_800, 34_000, n)
    end = start + rng.integers(200, 4_500, n)
    event = start + (rng.random(n) * (end - start)).astype(int)
    cen = rng.random(n) < 0.5
    end = np.where(cen, np.minimum(end, event + rng.exponential(400, n).astype(int) + 1), end)
    k = rng.poisson(5.3, n) + 1
    owner = np.repeat(np.arange(n), k)
    first = start[owner] + (rng.random(len(owner)) * (end - start)[owner]).astype(int)
    length = np.where(rng.random(len(owner)) < 0.8, 28, rng.integers(5, 400, len(owner)))
    expo = pd.DataFrame({"id": owner, "day": first, "end": first + length})
    expo = expo.sort_values(["id", "day"]).drop_duplicates(["id", "day"])
    expo = expo[expo["end"] < expo.groupby("id")["day"].shift(-1).fillna(np.inf)]
    obs = pd.DataFrame({"id": np.arange(n), "start": start, "end": end,
                        "censored": cen.astype(int)})
    return {"observation": obs, "events": pd.DataFrame({"id": np.arange(n), "day": event}),
            "exposures": [Exposure("ap", expo, windows=((0, None),))]}


def t6_studies(n: int, seed: int = 20260427) -> list[dict]:
    sc = T.Scenario(n_individuals=3000, irr=0.6, rate_per_year=0.05, frailty_shape=None,
                    obs_days=(365, 1095), exposure_days=(180, 720), end_rate_per_year=0.1,
                    end_hr_after_event=20)
    c = T.first_events_only(T.simulate_cohorts(sc, n, seed=seed))
    return T.eventdep_observation_datasets(c, offset_days=AGE)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", choices=["apdat", "t6"], default="apdat")
    ap.add_argument("--studies", type=int, default=200)
    ap.add_argument("--single", type=int, default=20)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    if args.stage == "apdat":
        d = apdat_like()
        t0 = time.perf_counter()
        fit = fit_eventdep_observation(d["observation"], d["events"], d["exposures"])
        t1 = time.perf_counter()
        print(f"apdat-sized: {len(d['observation'])} cases, {len(fit.intervals):,} intervals, "
              f"{len(d['exposures'][0].data):,} episodes: {t1 - t0:.2f} s")
        print(fit.modelfit.round(3).to_string(), "\nchosen", fit.chosen,
              {m: c.start for m, c in fit.censoring.items()})
        return
    data = t6_studies(args.studies)
    t0 = time.perf_counter()
    many = fit_many_eventdep_observation(data, terms=["exposed1"])
    t1 = time.perf_counter()
    single = []
    for d in data[:args.single]:
        single.append(fit_eventdep_observation(d["observation"], d["events"], d["exposures"]))
    t2 = time.perf_counter()
    diff = max(abs(float(s.params.iloc[0]) - many.coef[r, 0]) for r, s in enumerate(single))
    per_one = (t2 - t1) / max(args.single, 1)
    print(f"t6, {args.studies} studies, {int(many.n_cases.sum()):,} cases: batched "
          f"{t1 - t0:.1f} s ({(t1 - t0) / args.studies:.3f} s per study); one by one "
          f"{per_one:.3f} s per study ({args.single} timed), so {per_one * args.studies:.0f} s "
          f"for all; max |coef difference| {diff:.1e}")


if __name__ == "__main__":
    main()
