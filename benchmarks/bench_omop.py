"""OMOP extraction at registry scale: a synthetic CDM as Parquet, extracted on DuckDB and Spark.

Usage::

    .venv/bin/python benchmarks/bench_omop.py --persons 1000000 --drug-eras 10000000 \\
        --engines duckdb,spark --out benchmarks/omop.json

Steps:

1. ``generate``: a synthetic OMOP CDM (``person``, ``observation_period``, ``drug_era``,
   ``condition_occurrence``, ``concept``) written as one Parquet file per table in
   ``--workdir`` (default ``/tmp/omop_bench``), vectorised with numpy and pyarrow from one seed
   (the same seed gives byte-identical files); kept and reused while its parameters match.
2. For each engine, a fresh Python process runs :func:`analysis.omop.extract_sccs_data` on that
   folder (exposures: three drug concepts from ``drug_era``; outcome: one condition concept from
   ``condition_occurrence``; a study period). The parent measures the child's wall time and samples
   the resident memory of the child's whole process tree every 0.1 s (Spark's JVM is a
   grandchild), keeping the peak; the child reports the extraction's own time and the sizes.

Data: persons born 1930-2010, one observation period each, starting 2005-2015 and lasting
1-15 years, cut at the database end 2020-12-31; drug eras spread over persons (Poisson, mean
``drug_eras / persons``) and 60 drug concepts (Zipf-like frequencies), 1-90 days each, mostly
inside observation; 12% of persons have 1-3 occurrences of the outcome condition, plus
background conditions (2 per person on average, 40 concepts).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
EPOCH = np.datetime64("1970-01-01", "D")
DATABASE_END = np.datetime64("2020-12-31", "D")
OUTCOME = 192671
DRUGS = np.arange(1_100_000, 1_100_060)
EXPOSURES = [int(DRUGS[0]), int(DRUGS[5]), int(DRUGS[30])]
CONDITIONS = np.arange(4_000_000, 4_000_040)
#: The extractions timed (OHDSI getDbSccsData arguments): three exposures, and all exposures.
COMMON = dict(
    outcome_ids=[OUTCOME],
    exposure_table="drug_era",
    outcome_table="condition_occurrence",
    study_start_dates=["20100101"],
    study_end_dates=["20201231"],
)
SETTINGS = {
    "3 exposures": dict(exposure_ids=EXPOSURES, **COMMON),
    "all exposures": dict(exposure_ids=[], **COMMON),
}


def _days(values: np.ndarray) -> pa.Array:
    """int day numbers (since 1970-01-01) as an Arrow date32 array."""
    return pa.array(values.astype(np.int32), type=pa.date32())


def _write(folder: Path, name: str, columns: dict[str, pa.Array | np.ndarray]) -> int:
    table = pa.table(columns)
    pq.write_table(table, folder / f"{name}.parquet", row_group_size=1_000_000)
    return table.num_rows


def generate(folder: Path, persons: int, drug_eras: int, seed: int) -> dict[str, int]:
    """Write the synthetic CDM; returns the row count of each table."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ids = np.arange(1, persons + 1, dtype=np.int64)
    born = rng.integers(
        (np.datetime64("1930-01-01") - EPOCH).astype(int),
        (np.datetime64("2010-12-31") - EPOCH).astype(int),
        persons,
    )
    born_dates = EPOCH + born.astype("timedelta64[D]")
    rows = {
        "person": _write(
            folder,
            "person",
            {
                "person_id": ids,
                "gender_concept_id": rng.choice(np.array([8507, 8532], dtype=np.int64), persons),
                "year_of_birth": born_dates.astype("datetime64[Y]").astype(int) + 1970,
                "month_of_birth": born_dates.astype("datetime64[M]").astype(int) % 12 + 1,
                "day_of_birth": (born_dates - born_dates.astype("datetime64[M]")).astype(int) + 1,
            },
        )
    }
    lo = (np.datetime64("2005-01-01") - EPOCH).astype(int)
    start = np.maximum(rng.integers(lo, lo + 11 * 365, persons), born)
    end = np.minimum(
        start + rng.integers(365, 15 * 365, persons), (DATABASE_END - EPOCH).astype(int)
    )
    rows["observation_period"] = _write(
        folder,
        "observation_period",
        {
            "observation_period_id": ids,
            "person_id": ids,
            "observation_period_start_date": _days(start),
            "observation_period_end_date": _days(end),
            "period_type_concept_id": np.full(persons, 44814724, dtype=np.int64),
        },
    )
    rows["drug_era"] = _drug_eras(folder, rng, ids, start, end, drug_eras)
    rows["condition_occurrence"] = _conditions(folder, rng, ids, start, end)
    concepts = np.concatenate([DRUGS, CONDITIONS, [OUTCOME]]).astype(np.int64)
    rows["concept"] = _write(
        folder,
        "concept",
        {
            "concept_id": concepts,
            "concept_name": pa.array([f"Concept {c}" for c in concepts]),
        },
    )
    return rows


def _events(rng: np.random.Generator, start: np.ndarray, end: np.ndarray, counts: np.ndarray):
    """Owner index and a day inside [start - 30, end] for ``counts[i]`` events of person i."""
    owner = np.repeat(np.arange(len(start)), counts)
    span = end[owner] - start[owner] + 31
    return owner, start[owner] - 30 + (rng.random(len(owner)) * span).astype(np.int64)


def _drug_eras(folder, rng, ids, start, end, total: int) -> int:
    counts = rng.poisson(total / len(ids), len(ids))
    owner, day = _events(rng, start, end, counts)
    weights = 1.0 / np.arange(1, len(DRUGS) + 1)
    concept = rng.choice(DRUGS, len(owner), p=weights / weights.sum())
    length = rng.integers(1, 90, len(owner))
    return _write(
        folder,
        "drug_era",
        {
            "drug_era_id": np.arange(1, len(owner) + 1, dtype=np.int64),
            "person_id": ids[owner],
            "drug_concept_id": concept.astype(np.int64),
            "drug_era_start_date": _days(day),
            "drug_era_end_date": _days(day + length),
            "drug_exposure_count": np.ones(len(owner), dtype=np.int64),
            "gap_days": np.zeros(len(owner), dtype=np.int64),
        },
    )


def _conditions(folder, rng, ids, start, end) -> int:
    outcome_counts = np.where(rng.random(len(ids)) < 0.12, rng.integers(1, 4, len(ids)), 0)
    background = rng.poisson(2.0, len(ids))
    owner_o, day_o = _events(rng, start, end, outcome_counts)
    owner_b, day_b = _events(rng, start, end, background)
    owner = np.concatenate([owner_o, owner_b])
    day = np.concatenate([day_o, day_b])
    concept = np.concatenate(
        [
            np.full(len(owner_o), OUTCOME, dtype=np.int64),
            rng.choice(CONDITIONS, len(owner_b)).astype(np.int64),
        ]
    )
    return _write(
        folder,
        "condition_occurrence",
        {
            "condition_occurrence_id": np.arange(1, len(owner) + 1, dtype=np.int64),
            "person_id": ids[owner],
            "condition_concept_id": concept,
            "condition_start_date": _days(day),
            "condition_end_date": _days(day + 1),
        },
    )


def run_child(cdm: str, engine: str, setting: str) -> None:
    """In the child: import, extract, print a JSON line of times and sizes."""
    began = time.perf_counter()
    from analysis.omop.extract import extract_sccs_data

    imported = time.perf_counter()
    data = extract_sccs_data(cdm, engine=engine, **SETTINGS[setting])
    digest = hashlib.sha256()
    for frame in (data.cases, data.eras, data.era_ref, data.metadata["attrition"]):
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "import_s": imported - began,
                "extract_s": done - imported,
                "cases": data.n_cases,
                "eras": len(data.eras),
                "era_ref": len(data.era_ref),
                "digest": digest.hexdigest()[:16],
            }
        )
    )


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (0 once gone)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def measure(cdm: Path, engine: str, setting: str) -> dict:
    """Run one extraction in a fresh process; wall time, peak tree RSS, child's report."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1"}
    cmd = [sys.executable, __file__, "--child", str(cdm), "--engine-child", engine]
    cmd += ["--setting-child", setting]
    began = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    while child.poll() is None:
        peak = max(peak, tree_rss(child.pid))
        time.sleep(0.1)
    wall = time.perf_counter() - began
    out, err = child.communicate()
    if child.returncode:
        raise SystemExit(f"{engine} run failed:\n{err.decode()[-3000:]}")
    report = json.loads(out.decode().strip().splitlines()[-1])
    return {
        "engine": engine,
        "setting": setting,
        "load_avg_1min": round(os.getloadavg()[0], 1),
        "wall_s": round(wall, 2),
        "peak_rss_gb": round(peak / 1e9, 2),
        **{k: round(v, 2) if isinstance(v, float) else v for k, v in report.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--drug-eras", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/omop_bench"))
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--engine-child", help=argparse.SUPPRESS)
    parser.add_argument("--setting-child", help=argparse.SUPPRESS)
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated")
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.engine_child, args.setting_child)
        return
    folder = args.workdir / f"cdm_{args.persons}_{args.drug_eras}_{args.seed}"
    stamp = folder / "rows.json"
    if not stamp.exists():
        began = time.perf_counter()
        rows = generate(folder, args.persons, args.drug_eras, args.seed)
        rows["generate_s"] = round(time.perf_counter() - began, 1)
        stamp.write_text(json.dumps(rows))
    rows = json.loads(stamp.read_text())
    print("CDM:", rows, flush=True)
    runs = []
    for _ in range(args.repeat):
        for setting in args.settings.split(","):
            for engine in args.engines.split(","):
                runs.append(measure(folder, engine, setting))
                print(runs[-1], flush=True)
    digests = {}
    for run in runs:
        digests.setdefault(run["setting"], set()).add(run["digest"])
    same = all(len(d) == 1 for d in digests.values())
    print("same cases, eras, era_ref and attrition on every engine:", same)
    if args.out:
        machine = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}"
        args.out.write_text(
            json.dumps(
                {
                    "date": time.strftime("%Y-%m-%d"),
                    "machine": machine,
                    "python": platform.python_version(),
                    "cdm": rows,
                    "settings": SETTINGS,
                    "runs": runs,
                    "same_result_on_every_engine": same,
                },
                indent=1,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
