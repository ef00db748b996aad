"""Start-up of the command line, measured side by side with pandas in one run.

Usage::

    .venv/bin/python benchmarks/bench_startup.py                     # synthetic cohort only
    .venv/bin/python -m analysis simulate --seed 3 --n-ivig 100000 --n-reference 0 --out /tmp/c100k
    .venv/bin/python benchmarks/bench_startup.py --large /tmp/c100k --out benchmarks/startup.json

What is timed (each a fresh process, wall clock and CPU time of the child; the commands are
interleaved round by round so that a busy machine slows all of them alike; medians reported):

* ``pandas``: ``python -c "import pandas"``, the yardstick of issue 13 for the small cohort;
* ``sccs``: ``python -m analysis sccs data/synthetic`` (start-up, load and validate, intervals,
  fit, output);
* ``sccs, normal CDF without scipy.stats``: the same command with ``scipy.stats`` replaced by a
  ten-line stand-in (``norm.ppf``/``norm.sf``/``chi2.sf`` from :mod:`math` and
  :class:`statistics.NormalDist`) before ``analysis`` is imported. ``analysis.sccs.model`` imports
  ``scipy.stats`` only for the normal distribution, which costs about 0.6-0.8 s; this row shows
  the start-up once that import is gone (a change to ``analysis/sccs/model.py`` made separately);
* with ``--large DIR``: ``read_csv`` (a Python process that imports pandas and reads the five CSV
  files of ``DIR`` with default options, the yardstick for the 100k-patient cohort), and both
  variants of ``python -m analysis sccs DIR``.

Ratios: median wall time of the command over median wall time of its yardstick (issue 13's
targets: at most 2x for the synthetic cohort, at most 3x on 100k patients), and the same with
CPU time (user + system of the child), steadier on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = ("patients.csv", "ivig.csv", "infections.csv", "igg.csv", "progression.csv")

#: Run ``python -m analysis ARGS`` with a stand-in for ``scipy.stats`` (normal and chi-squared
#: tails from the standard library), to measure the start-up without that import.
NO_SCIPY_STATS = r"""
import math, runpy, sys, types
from statistics import NormalDist
import numpy as np
stats = types.ModuleType("scipy.stats")
_erfc = np.frompyfunc(math.erfc, 1, 1)
class norm:
    ppf = staticmethod(lambda q: NormalDist().inv_cdf(float(q)))
    sf = staticmethod(lambda x: _erfc(np.asarray(x, dtype=float) / math.sqrt(2)).astype(float) / 2)
class chi2:
    sf = staticmethod(lambda x, df: math.exp(-x / 2) if df == 2 else float("nan"))
stats.norm, stats.chi2 = norm, chi2
sys.modules["scipy.stats"] = stats
sys.argv = ["analysis", *sys.argv[1:]]
runpy.run_module("analysis", run_name="__main__", alter_sys=True)
"""

READ_CSV = (
    "import sys, pandas as pd\n"
    "for f in sys.argv[2:]: pd.read_csv(sys.argv[1] + '/' + f)\n"
)


def run(args: list[str]) -> tuple[float, float]:
    """Run one command from the repository root; return (wall seconds, child CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(args, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def commands(large: Path | None) -> dict[str, list[str]]:
    """The commands to time, by name."""
    py = sys.executable
    cmds = {
        "pandas": [py, "-c", "import pandas"],
        "sccs": [py, "-m", "analysis", "sccs", "data/synthetic"],
        "sccs, without scipy.stats": [py, "-c", NO_SCIPY_STATS, "sccs", "data/synthetic"],
    }
    if large is not None:
        cmds |= {
            "read_csv large": [py, "-c", READ_CSV, str(large), *FILES],
            "sccs large": [py, "-m", "analysis", "sccs", str(large)],
            "sccs large, without scipy.stats": [py, "-c", NO_SCIPY_STATS, "sccs", str(large)],
        }
    return cmds


def measure(cmds: dict[str, list[str]], repeats: int) -> dict[str, dict[str, float]]:
    """Median wall and CPU seconds per command, the commands interleaved round by round."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    for args in cmds.values():  # warm the file cache and the bytecode once
        run(args)
    for _ in range(repeats):
        for name, args in cmds.items():
            times[name].append(run(args))
    return {name: {"wall_median": statistics.median(w for w, _ in t),
                   "wall_min": min(w for w, _ in t),
                   "cpu_median": statistics.median(c for _, c in t)}
            for name, t in times.items()}


def ratios(res: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each command over its yardstick, on median wall and median CPU time."""
    pairs = {"sccs": "pandas", "sccs, without scipy.stats": "pandas",
             "sccs large": "read_csv large", "sccs large, without scipy.stats": "read_csv large"}
    return {f"{cmd} / {base}": {k: res[cmd][k] / res[base][k] for k in ("wall_median",
                                                                         "cpu_median")}
            for cmd, base in pairs.items() if cmd in res}


def main(argv: list[str] | None = None) -> int:
    """Time the commands, print a table and the ratios, optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--large", type=Path, help="a large cohort folder (e.g. 100k patients)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    args = ap.parse_args(argv)
    res = measure(commands(args.large), args.repeats)
    for name, r in res.items():
        print(f"{name:<34} wall median {r['wall_median']:6.2f} s (min {r['wall_min']:.2f})"
              f"  CPU {r['cpu_median']:6.2f} s")
    rat = ratios(res)
    for name, r in rat.items():
        print(f"{name:<46} wall {r['wall_median']:.2f}x  CPU {r['cpu_median']:.2f}x")
    if args.out:
        doc = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "repeats": args.repeats,
               "python": platform.python_version(), "load_average": os.getloadavg(),
               "nproc": os.cpu_count(), "times": res, "ratios": rat}
        args.out.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
