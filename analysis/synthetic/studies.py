"""Run the book's cached simulation studies once, before the chapters that read them.

The truth-recovery study (:func:`analysis.synthetic.recovery.recovery_study`), the models of the
"beyond the paper" chapter against their truth and the bias decomposition
(:mod:`analysis.synthetic.recovery_ext`), and the negative-control study
(:func:`analysis.synthetic.negative_controls.control_study`) are cached in ``_build/cache`` per
code version. Chapters executed in parallel would otherwise compute the same study twice, each
under the notebook cell's time limit; ``make book`` and ``make test`` run this module first
(``python -m analysis.synthetic.studies``), so every chapter reads a finished study.

Examples
--------
>>> from analysis.synthetic import studies
>>> callable(studies.precompute)
True
"""

from __future__ import annotations

import argparse
import time

from analysis.synthetic import negative_controls as nc
from analysis.synthetic import recovery
from analysis.synthetic import recovery_ext as rx
from analysis.synthetic.events import TruthParameters

__all__ = ["precompute"]

#: Negative-control replicates per cohort, as the negative-controls teaching chapter reads them.
CONTROL_REPLICATES = 5
#: Cohorts per scenario of the bias decomposition, as the truth-recovery chapter reads them.
DECOMPOSITION_COHORTS = 150


def precompute(workers: int = 2, truth: TruthParameters | None = None) -> dict[str, float]:
    """Fill the cache of every study the book reads for ``truth`` (default: the canonical
    cohort's); returns the seconds each took (about 0 when it was cached already)."""
    truth = truth or TruthParameters()
    seconds: dict[str, float] = {}
    steps = {
        "truth-recovery": lambda: recovery.recovery_study(recovery.STUDY_COHORTS, truth,
                                                          workers=workers),
        "extensions": lambda: rx.extension_study(truth=truth, workers=workers),
        "decomposition": lambda: rx.decomposition_study(DECOMPOSITION_COHORTS, truth,
                                                        workers=workers),
        "negative-controls": lambda: nc.control_study(range(recovery.STUDY_COHORTS), truth,
                                                      replicates=CONTROL_REPLICATES,
                                                      workers=workers),
    }
    for name, run in steps.items():
        t0 = time.monotonic()
        run()
        seconds[name] = time.monotonic() - t0
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m analysis.synthetic.studies [--workers N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    for name, s in precompute(args.workers).items():
        print(f"{name}: {s:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
