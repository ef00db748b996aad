"""Executable re-analysis of Lancman et al. (Haematologica 2026) and a generic SCCS engine.

The flow of the package follows the analysis:

* :mod:`analysis.study.cohort` loads and validates a cohort folder (the contract in
``data/README.md``);
* :mod:`analysis.study` holds the study's own definitions (windows, outcomes, day counting) and
  runs each analysis of the paper as one call;
* :mod:`analysis.sccs.intervals` turns dated exposures and covariates into day intervals (generic);
* :mod:`analysis.sccs` fits the self-controlled case series model (generic, knows nothing of IVIG);
* :mod:`analysis.study.cox` fits the Cox models of time to first IVIG;
* :mod:`analysis.report.tables` and :mod:`analysis.report.figures` present the results;
* :mod:`analysis.synthetic.simulate` generates the synthetic cohort calibrated to the paper.

Importing the package is cheap: submodules load heavy libraries only when they are used.
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

#: Root of the repository checkout (the package is installed in editable mode).
PROJECT_ROOT: Path = Path(__file__).resolve().parents[1]
#: Folder of data shipped with the project: the synthetic cohort, the paper's targets, R references.
DATA_DIR: Path = PROJECT_ROOT / "data"
#: The canonical synthetic cohort that the book runs on by default.
SYNTHETIC_DIR: Path = DATA_DIR / "synthetic"
#: The paper's reported figures (a copy of ``shared/paper/targets.yaml``).
TARGETS_PATH: Path = DATA_DIR / "paper" / "targets.yaml"

__all__ = ["DATA_DIR", "PROJECT_ROOT", "SYNTHETIC_DIR", "TARGETS_PATH", "__version__"]
