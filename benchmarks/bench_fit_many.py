"""Speed of analysis.sccs.fit_many against one SCCS().fit per replicate.

Usage::

    .venv/bin/python benchmarks/bench_fit_many.py --reps 1000 --individuals 100

Data: the teaching chapters' cohorts (``analysis.teaching.simulate_cohorts``, about 80% of
individuals are cases), intervals from ``analysis.teaching.to_intervals`` (which calls
``build_intervals``), model ``exposed + pre`` (30-day pre-exposure window). Prints wall times
and the largest difference between the two sets of estimates.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from analysis import teaching as T
from analysis.sccs import SCCS, SCCSWarning, fit_many


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--individuals", type=int, default=100)
    args = parser.parse_args()
    cohorts = T.simulate_cohorts(T.Scenario(n_individuals=args.individuals, trigger_prob=0.3),
                                 n_reps=args.reps, seed=1)
    t0 = time.perf_counter()
    iv = T.to_intervals(cohorts, pre_window=30)
    t1 = time.perf_counter()
    many = fit_many(iv, ["exposed", "pre"])
    t2 = time.perf_counter()
    coef = np.full_like(many.coef, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SCCSWarning)
        for r, rows in iv.groupby("rep", sort=True):
            coef[r] = SCCS().fit(rows, ["exposed", "pre"]).params.to_numpy()
    t3 = time.perf_counter()
    ok = np.isfinite(coef) & np.isfinite(many.coef)
    print(f"{args.reps} replicates, {len(iv):,} interval rows, {int(many.n_cases.sum()):,} cases")
    print(f"intervals (build_intervals): {t1 - t0:.2f} s")
    print(f"fit_many: {t2 - t1:.2f} s; one SCCS().fit per replicate: {t3 - t2:.2f} s "
          f"({(t3 - t2) / (t2 - t1):.0f}x)")
    print(f"max |difference| of finite estimates: {np.max(np.abs(coef[ok] - many.coef[ok])):.1e}; "
          f"same infinite estimates: {np.array_equal(np.isinf(coef), np.isinf(many.coef))}")


if __name__ == "__main__":
    main()
