"""Speed of the regularised SCCS fit (analysis.sccs.regularized): Cyclops' prior, as OHDSI.

Usage::

    .venv/bin/python benchmarks/bench_regularized.py --cases 1000,10000 [--covariates 20]

Data (numpy): every case has 6 intervals of 20-200 days; one exposure (true IRR 2, in interval
1) and ``--covariates`` binary time-varying covariates, the first three with log-IRR 0.3, -0.3,
0.2 and the rest 0; events Poisson, only cases kept. Model: the exposure unpenalised, every
covariate under a Laplace prior. Stages: one fit at variance 0.1; the fit with the variance
cross-validated as OHDSI's default control does (auto-search from 0.1, ten folds by case,
seed 1). Reported: wall and CPU seconds, the variances the search tried, the chosen variance,
the covariates at exactly 0, the Newton steps of the final fit, and the process's peak resident
memory. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

import numpy as np
import pandas as pd

from analysis.sccs.regularized import Prior, fit_regularized


def simulate(n_cases: int, n_cov: int, seed: int = 1) -> tuple[pd.DataFrame, list[str]]:
    """Interval table (cases only) and the covariate names."""
    rng = np.random.default_rng(seed)
    k = 6
    n = int(n_cases * 1.6)  # people; about 60% have an event
    names = [f"c{j}" for j in range(n_cov)]
    truth = np.zeros(n_cov)
    truth[:3] = [0.3, -0.3, 0.2][:n_cov]
    X = rng.integers(0, 2, (n * k, n_cov)).astype(float)
    exposed = np.tile(np.r_[0.0, 1.0, np.zeros(k - 2)], n)
    days = rng.integers(20, 201, n * k).astype(float)
    rate = days / 365.25 * 0.8 * np.exp(np.log(2.0) * exposed + X @ truth)
    frame = pd.DataFrame(X, columns=names).assign(
        id=np.repeat(np.arange(n), k), days=days, exposed=exposed, events=rng.poisson(rate))
    frame = frame[frame.groupby("id")["events"].transform("sum") > 0].reset_index(drop=True)
    return frame, names


def timed(fn, *args):
    """(result, wall seconds, CPU seconds) of ``fn(*args)``."""
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="1000,10000")
    ap.add_argument("--covariates", type=int, default=20)
    args = ap.parse_args()
    runs = []
    for n_cases in (int(x) for x in args.cases.split(",")):
        data, names = simulate(n_cases, args.covariates)
        terms = ["exposed", *names]
        fixed = Prior("laplace", variance=0.1, exclude=("exposed",))
        cv = Prior("laplace", exclude=("exposed",), use_cross_validation=True)
        one, w1, c1 = timed(fit_regularized, data, terms, fixed)
        best, w2, c2 = timed(fit_regularized, data, terms, cv)
        runs.append({
            "cases": int(data["id"].nunique()), "rows": len(data),
            "events": int(data["events"].sum()), "terms": len(terms),
            "fixed_wall_s": round(w1, 3), "fixed_cpu_s": round(c1, 3),
            "fixed_newton_steps": one.n_iter,
            "cv_wall_s": round(w2, 2), "cv_cpu_s": round(c2, 2),
            "cv_variances_tried": [float(f"{v:.4g}") for v in best.cv["variance"]],
            "cv_variance": float(f"{best.variance:.4g}"),
            "cv_zeros": int((best.params[names] == 0).sum()),
            "cv_exposed_irr": round(float(np.exp(best.params["exposed"])), 4),
        })
        print(json.dumps(runs[-1]), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"python": platform.python_version(), "numpy": np.__version__,
                      "peak_rss_mb": round(peak)}))


if __name__ == "__main__":
    main()
