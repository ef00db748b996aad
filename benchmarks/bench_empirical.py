"""Speed of empirical calibration (analysis.sccs.empirical) at the sizes a study meets.

Usage::

    .venv/bin/python benchmarks/bench_empirical.py [--repeats 5] [--out benchmarks/empirical.json]

Data (numpy): negative controls from a known null N(0.2, 0.15^2) with SEs uniform in
0.05-0.4 plus that random error; for the systematic error model the same with true effects
log(1), log(2), log(4) in equal shares and the error's SD rising with |true effect|. Times
(fastest and median of ``--repeats`` runs after one warm-up): ``fit_null`` on 50, 500 and
5,000 controls; ``fit_systematic_error_model`` on 150 and 1,500; ``calibrate_p`` and
``calibrate_ci`` on 1,000 and 100,000 estimates (one Monte Carlo study of 200 cohorts
calibrates a few hundred).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from collections.abc import Callable

import numpy as np

from analysis.sccs.empirical import (
    calibrate_ci,
    calibrate_p,
    fit_null,
    fit_systematic_error_model,
)


def controls(n: int, seed: int = 1, with_positives: bool = False):
    """``n`` controls' (log_rr, se, true_log_rr)."""
    rng = np.random.default_rng(seed)
    true = np.tile(np.log([1.0, 2.0, 4.0]), n // 3 + 1)[:n] if with_positives else np.zeros(n)
    se = rng.uniform(0.05, 0.4, n)
    error_sd = 0.15 + 0.05 * np.abs(true)
    return 0.2 + true + rng.normal(0.0, error_sd) + rng.normal(0.0, se), se, true


def timed(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Fastest and median wall time (seconds) of ``call`` over ``repeats`` runs after one
    warm-up (on a shared machine the fastest is the code's cost, the median includes waiting)."""
    call()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return float(np.min(times)), float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    warnings.simplefilter("error")
    rows = []
    for n in (50, 500, 5000):
        y, se, _ = controls(n)
        rows.append(("fit_null", n, timed(lambda y=y, se=se: fit_null(y, se), args.repeats)))
    for n in (150, 1500):
        y, se, t = controls(n, with_positives=True)
        rows.append(("fit_systematic_error_model", n,
                     timed(lambda y=y, se=se, t=t: fit_systematic_error_model(y, se, t),
                           args.repeats)))
    y, se, t = controls(150, with_positives=True)
    model = fit_systematic_error_model(y, se, t)
    null = fit_null(*controls(50)[:2])
    for n in (1000, 100_000):
        y, se, _ = controls(n, seed=2)
        rows.append(("calibrate_p", n, timed(lambda y=y, se=se: calibrate_p(null, y, se),
                                             args.repeats)))
        rows.append(("calibrate_ci", n, timed(lambda y=y, se=se: calibrate_ci(y, se, model),
                                              args.repeats)))
    for name, n, (fast, median) in rows:
        print(f"{name:28s} n={n:>7,d}  fastest {fast * 1e3:9.2f} ms  median {median * 1e3:9.2f} ms")
    if args.out:
        meta = {"python": platform.python_version(), "numpy": np.__version__,
                "cpus": os.cpu_count(), "repeats": args.repeats}
        out = {"meta": meta, "load_average": os.getloadavg(),
               "rows": [{"function": a, "n": b, "fastest_s": c[0], "median_s": c[1]}
                        for a, b, c in rows]}
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)
            fh.write("\n")


if __name__ == "__main__":
    main()
