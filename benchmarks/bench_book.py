"""Wall time of the strict book build, serial and with the chapters executed in parallel.

Usage::

    .venv/bin/python benchmarks/bench_book.py --jobs 1,2 --out benchmarks/book.json

Each setting runs ``python -m analysis.report.jbbuild build --all . -W -n --keep-going --jobs N``
(what ``make book`` runs, with the Makefile's one-BLAS-thread setting) into a fresh temporary
``--path-output``, so ``_build/`` is left alone. Reported per run: the wall time, the CPU time of
the build and everything it started (kernels included), and the sum of the chapters' own
execution times that myst-nb logs ("Executed notebook in X seconds"). Not part of the test
suite: one run takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXECUTED = re.compile(r"Executed notebook in ([0-9.]+) seconds")


def build(jobs: int) -> dict[str, float | int | bool]:
    """One strict build with ``jobs`` Sphinx processes; its timings and whether it succeeded."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("IVIG_COHORT", None)
    with tempfile.TemporaryDirectory(prefix="bench-book-") as out:
        env["IVIG_TABLES_DIR"] = str(Path(out) / "tables")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "analysis.report.jbbuild", "build", "--all", str(REPO),
             "--path-output", out, "-W", "-n", "--keep-going", "--jobs", str(jobs)],
            cwd=REPO, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    log = proc.stdout + proc.stderr
    chapters = [float(s) for s in EXECUTED.findall(log)]
    return {
        "jobs": jobs,
        "ok": proc.returncode == 0,
        "wall_s": round(wall, 1),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        "chapters": len(chapters),
        "chapter_seconds_sum": round(sum(chapters), 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", default="1,2", help="comma-separated Sphinx process counts")
    ap.add_argument("--out", type=Path, help="write the results (JSON) here")
    args = ap.parse_args()
    runs = []
    for jobs in (int(j) for j in args.jobs.split(",")):
        result = build(jobs)
        runs.append(result)
        print(json.dumps(result), flush=True)
    report = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "load_average_at_end": os.getloadavg()},
        "runs": runs,
    }
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
