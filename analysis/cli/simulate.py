"""``python -m analysis simulate [--seed N] [--n-ivig N] [--n-reference N] [--true-irr X]
[--true-irr-grade34 Y] [--negative-controls] [--omop DB] --out DIR``.

``--omop DB`` also writes the cohort as an OMOP CDM in the DuckDB file DB (the synthetic OMOP twin,
:mod:`analysis.omop.ivig_twin`), with the concept ids of ``data/omop/ivig-concepts.yaml``: both the
folder and the file are written, or neither (a failure leaves no partial output).

Writes a synthetic cohort (five CSV files, ``cohort.yaml`` and ``truth.json``, the parameters it was
drawn from) into ``DIR``; ``--true-irr`` and ``--true-irr-grade34`` set the true on-IVIG rate
ratios (all grades, grade 3-4) instead of the defaults read from the paper. The same seed always
gives byte-identical files, and the default seed gives the committed ``data/synthetic/``. Refuses to
write into a non-empty folder that is not a previous simulator output (exit code 2).
``--negative-controls`` also writes ``negative_controls.csv`` (events of outcomes IVIG does not
affect, :mod:`analysis.synthetic.negative_controls`) and records them in ``truth.json``; without it
nothing of them is written. pandas and numpy are imported only when the command runs, so
``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``simulate`` subcommand."""
    p = subparsers.add_parser(
        "simulate",
        help="generate a synthetic cohort from a stated truth",
        description=(
            "Generate a synthetic cohort (patients, ivig, infections, igg, progression CSV files, "
            "cohort.yaml and truth.json) drawn from stated parameters, with marginal counts "
            "calibrated to Lancman et al. 2026. Deterministic: the same seed and options give "
            "byte-identical files. The default seed reproduces data/synthetic/."
        ),
    )
    p.add_argument("--seed", type=int, default=None, metavar="S",
                   help="random seed (default: the canonical seed of data/synthetic/)")
    p.add_argument("--n-ivig", type=int, default=None, metavar="N",
                   help="IVIG patients (default 43)")
    p.add_argument("--n-reference", type=int, default=None, metavar="N",
                   help="reference patients (default 100)")
    p.add_argument("--true-irr", type=float, default=None, metavar="X",
                   help="true on-IVIG rate ratio of all infections (default: the paper's 0.57)")
    p.add_argument("--true-irr-grade34", type=float, default=None, metavar="Y",
                   help="true on-IVIG rate ratio of grade 3-4 infections (default: the paper's "
                        "0.30)")
    p.add_argument("--negative-controls", action="store_true",
                   help="also write negative_controls.csv: outcomes IVIG does not affect (true "
                        "IRR 1), recorded in truth.json")
    p.add_argument("--omop", default=None, metavar="DB",
                   help="also write the cohort as an OMOP CDM in this DuckDB file (the synthetic "
                        "OMOP twin, with the concept ids of data/omop/ivig-concepts.yaml); a "
                        "previous twin there is replaced, any other file refused")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="output folder: new, empty, or a previous simulator output")
    p.set_defaults(func=run)
    return p


def _write_with_twin(tables: Any, out: Path, db: Path) -> None:
    """The cohort folder ``out`` and its OMOP twin ``db``, both or neither.

    The twin is written first into a temporary folder beside ``db`` (a folder that cannot be
    written fails here, before ``out`` is touched), then the cohort (atomically), then the twin
    is renamed into place; if that rename fails, a cohort folder this call created is removed.
    """
    import os
    import shutil
    import tempfile

    from analysis.omop.ivig_twin import write_twin
    from analysis.study.cohort import load_cohort
    from analysis.synthetic.simulate import write_cohort

    db.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{db.name}.stage-", dir=db.parent) as stage:
        staged = write_twin(load_cohort(write_cohort(tables, Path(stage) / "cohort")),
                            Path(stage) / db.name)
        existed = out.exists()
        write_cohort(tables, out)
        try:
            os.replace(staged, db)
        except OSError:
            if not existed:
                shutil.rmtree(out, ignore_errors=True)
            raise


def run(args: argparse.Namespace) -> int:
    """Simulate and write; 0 on success, 2 on refusal or bad arguments."""
    from analysis.sccs.errors import SCCSError
    from analysis.synthetic.events import TruthParameters
    from analysis.synthetic.simulate import (
        CANONICAL_SEED,
        SimulateError,
        is_simulator_output,
        simulate_cohort,
        write_cohort,
    )

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"simulate: {out} exists and is not a folder; refusing to overwrite it",
              file=sys.stderr)
        return 2
    if out.is_dir() and any(out.iterdir()) and not is_simulator_output(out):
        print(f"simulate: {out} is not empty and is not a previous simulator output (no "
              "cohort.yaml with 'synthetic: true'); refusing to overwrite it. Choose an empty or "
              "new folder.", file=sys.stderr)
        return 2
    for name in ("n_ivig", "n_reference"):
        v = getattr(args, name)
        if v is not None and v < (1 if name == "n_ivig" else 0):
            print(f"simulate: --{name.replace('_', '-')} must be "
                  f"{'>= 1' if name == 'n_ivig' else '>= 0'}, got {v}", file=sys.stderr)
            return 2
    seed = CANONICAL_SEED if args.seed is None else args.seed
    if seed < 0:
        print(f"simulate: --seed must be >= 0, got {seed}", file=sys.stderr)
        return 2
    for name in ("true_irr", "true_irr_grade34"):
        v = getattr(args, name)
        if v is not None and not (0 < v < float("inf")):
            print(f"simulate: --{name.replace('_', '-')} must be a positive number, got {v}",
                  file=sys.stderr)
            return 2
    over = {k: v for k, v in (("irr_on_ivig", args.true_irr),
                              ("irr_on_ivig_grade34", args.true_irr_grade34)) if v is not None}
    try:
        if args.omop:  # before anything is written: a file that is not a previous twin is refused
            from analysis.omop.ivig_twin import check_twin_path

            check_twin_path(args.omop)
        truth = TruthParameters(**over)
        tables = simulate_cohort(seed, n_ivig=args.n_ivig, n_reference=args.n_reference,
                                 truth=truth)
        if args.omop:
            _write_with_twin(tables, out, Path(args.omop))
        else:
            write_cohort(tables, out)
        if args.negative_controls:
            from analysis.synthetic.negative_controls import write_negative_controls

            write_negative_controls(tables, out)
    except (SimulateError, SCCSError, OSError) as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    p = tables["patients"]
    print(f"wrote {out}: {int((p['group'] == 'ivig').sum())} IVIG and "
          f"{int((p['group'] == 'reference').sum())} reference patients, "
          f"{len(tables['infections'])} infections, {len(tables['ivig'])} IVIG doses, "
          f"{len(tables['igg'])} IgG measurements (seed {seed}; true on-IVIG rate ratio "
          f"{truth.irr_on_ivig:g}, grade 3-4 {truth.irr_on_ivig_grade34:g}; see truth.json)")
    return 0
