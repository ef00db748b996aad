"""The contract path (``python -m analysis sccs COHORT``) against the time pandas needs to read it.

Usage::

    .venv/bin/python -m analysis simulate --seed 3 --n-ivig 100000 --n-reference 0 --out /tmp/c100k
    .venv/bin/python -m analysis simulate --seed 3 --n-ivig 1000000 --n-reference 0 --out /tmp/c1m
    .venv/bin/python benchmarks/bench_contract.py /tmp/c100k /tmp/c1m --runs 3 \
        --out benchmarks/contract.json
    # before/after: the code of another commit, timed in the same rounds as this tree's
    mkdir /tmp/before && git archive COMMIT analysis | tar -x -C /tmp/before
    .venv/bin/python benchmarks/bench_contract.py /tmp/c100k --code before=/tmp/before \
        --code after=.
    .venv/bin/python benchmarks/bench_contract.py /tmp/c1m --stages   # CPU seconds by stage

Every command is a fresh process run under ``/usr/bin/time -v`` (wall clock, user and system
CPU time, peak resident memory of the process), round by round so that a busy machine slows all
of them alike:

* ``read_c``: a Python process that imports pandas and reads the five CSV files of the cohort
  with ``pd.read_csv`` and default options (pandas' C parser);
* ``read_pyarrow``: the same with ``engine="pyarrow"`` (multi-threaded);
* ``sccs:LABEL``: ``python -m analysis sccs COHORT`` (start-up, read and validate, intervals,
  fit, output), once per ``--code LABEL=FOLDER`` (the folder holding the ``analysis`` package;
  default: this repository, labelled ``this``).

The read floor is the faster of the two reads in each round (the fastest plain read of the same
files); the ratios are each ``sccs`` over that floor, per round, by wall time and by CPU time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FILES = ("patients.csv", "ivig.csv", "infections.csv", "igg.csv", "progression.csv")

READ = (
    "import sys, pandas as pd\n"
    "kw = {} if sys.argv[1] == 'c' else {'engine': 'pyarrow'}\n"
    "for f in sys.argv[3:]: pd.read_csv(sys.argv[2] + '/' + f, **kw)\n"
)

#: ``--stages``: CPU seconds of the command's stages in one process (the validator's and the
#: interval builder's steps wrapped with a timer; the cohort path is argv[1]).
STAGES = r"""
import json, sys, time
T0 = time.process_time()
from analysis.sccs import SCCS
from analysis.sccs import intervals as I
from analysis.study import cohort as CO, contract as C
from analysis.study.models import study_intervals
t = {"imports": time.process_time() - T0}
def wrap(mod, name):
    f = getattr(mod, name)
    def timed(*a, **k):
        t0 = time.process_time()
        try:
            return f(*a, **k)
        finally:
            t[name] = t.get(name, 0.0) + time.process_time() - t0
    setattr(mod, name, timed)
for mod, names in ((C, ("read_table", "column_problems", "relation_problems")),
                   (CO, ("_typed",)), (I, ("_exposure_cuts", "_merge"))):
    for name in names:
        wrap(mod, name)
for name, fn in (("load_cohort", lambda: CO.load_cohort(sys.argv[1])),):
    t0 = time.process_time(); cohort = fn(); t[name] = time.process_time() - t0
t0 = time.process_time()
iv = study_intervals(cohort, "all", cases_only=True)
t["study_intervals"] = time.process_time() - t0
t0 = time.process_time(); SCCS().fit(iv, ["on_ivig"]).summary; t["fit"] = time.process_time() - t0
t["total"] = time.process_time() - T0
print(json.dumps({k: round(v, 2) for k, v in t.items()}))
"""

_FIELDS = {
    "wall": re.compile(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)"),
    "user": re.compile(r"User time \(seconds\): (\S+)"),
    "sys": re.compile(r"System time \(seconds\): (\S+)"),
    "rss_kb": re.compile(r"Maximum resident set size \(kbytes\): (\d+)"),
}


def _seconds(clock: str) -> float:
    """``h:mm:ss`` or ``m:ss.ss`` -> seconds."""
    total = 0.0
    for part in clock.split(":"):
        total = total * 60 + float(part)
    return total


def timed(args: list[str], code: Path) -> dict[str, Any]:
    """Run ``args`` under ``/usr/bin/time -v``; return wall, cpu (s), peak RSS (GB) and the
    first 16 hex digits of the SHA-256 of its output."""
    env = {**os.environ, "PYTHONPATH": str(code), "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1"}
    # cwd: `python -m` puts the working directory first on sys.path
    done = subprocess.run(["/usr/bin/time", "-v", *args], cwd=code, env=env, check=True,
                          capture_output=True, text=True)
    found = {k: rx.search(done.stderr) for k, rx in _FIELDS.items()}
    if not all(found.values()):
        raise SystemExit(f"cannot parse /usr/bin/time output:\n{done.stderr[-2000:]}")
    wall = _seconds(found["wall"].group(1))  # type: ignore[union-attr]
    cpu = float(found["user"].group(1)) + float(found["sys"].group(1))  # type: ignore[union-attr]
    rss = int(found["rss_kb"].group(1)) / 1024**2  # type: ignore[union-attr]
    out = hashlib.sha256(done.stdout.encode()).hexdigest()[:16]  # same output, same hash
    return {"wall": wall, "cpu": cpu, "rss_gb": round(rss, 3), "stdout_sha256": out}


def load() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def one_round(cohort: Path, codes: dict[str, Path]) -> dict[str, object]:
    """One round: both reads, then the command with each code tree, and the load average."""
    py = sys.executable
    row: dict[str, object] = {"load_before": round(load(), 2)}
    for engine in ("c", "pyarrow"):
        row[f"read_{engine}"] = timed([py, "-c", READ, engine, str(cohort), *FILES], REPO)
    floor = min(row["read_c"]["wall"], row["read_pyarrow"]["wall"])  # type: ignore[index]
    floor_cpu = min(row["read_c"]["cpu"], row["read_pyarrow"]["cpu"])  # type: ignore[index]
    for label, code in codes.items():
        got = timed([py, "-m", "analysis", "sccs", str(cohort)], code)
        got["ratio_wall"] = round(got["wall"] / floor, 2)
        got["ratio_cpu"] = round(got["cpu"] / floor_cpu, 2)
        row[f"sccs:{label}"] = got
    row["load_after"] = round(load(), 2)
    return row


def code_trees(specs: list[str]) -> dict[str, Path]:
    """``LABEL=FOLDER`` options -> {label: folder}; none: this repository."""
    if not specs:
        return {"this": REPO}
    trees = {}
    for spec in specs:
        label, _, folder = spec.rpartition("=")
        trees[label or folder] = Path(folder).resolve()
    return trees


def main(argv: list[str] | None = None) -> int:
    """Time every cohort ``--runs`` times; print one line per round; write ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cohorts", nargs="+", type=Path, help="cohort folders (data contract)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--code", action="append", default=[], metavar="LABEL=FOLDER",
                    help="a folder holding the `analysis` package to time (repeatable)")
    ap.add_argument("--out", type=Path, help="append the figures to this JSON file")
    ap.add_argument("--stages", action="store_true",
                    help="instead: CPU seconds by stage, one process per cohort and code tree")
    args = ap.parse_args(argv)
    codes = code_trees(args.code)
    args.cohorts = [c.resolve() for c in args.cohorts]  # the commands run in each code tree
    if args.stages:
        for cohort in args.cohorts:
            for label, code in codes.items():
                env = {**os.environ, "PYTHONPATH": str(code), "OPENBLAS_NUM_THREADS": "1"}
                done = subprocess.run([sys.executable, "-c", STAGES, str(cohort)], cwd=code,
                                      env=env, check=True, capture_output=True, text=True)
                print(json.dumps({"cohort": str(cohort), "code": label,
                                  **json.loads(done.stdout)}), flush=True)
        return 0
    results = []
    for cohort in args.cohorts:
        size = sum((cohort / f).stat().st_size for f in FILES)
        for i in range(args.runs):
            row = one_round(cohort, codes)
            row.update(cohort=str(cohort), csv_mb=round(size / 1e6, 1), run=i + 1)
            results.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        old = json.loads(args.out.read_text()) if args.out.exists() else {"runs": []}
        old["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform()}
        old["runs"] += results
        args.out.write_text(json.dumps(old, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
