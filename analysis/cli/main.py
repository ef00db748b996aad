"""Command-line entry point: ``python -m analysis {validate,simulate,sccs,rsccs,omop} ...``.

Each subcommand lives in its own small module (``analysis/cli/<name>.py``) exposing
``add_parser(subparsers)``; that function registers the options and sets ``func`` to a handler
``(args) -> int``. The modules import pandas, numpy and friends inside the handler only, so that
``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Subcommand modules, in the order ``--help`` lists them.
SUBCOMMANDS: tuple[str, ...] = ("validate", "simulate", "sccs", "rsccs", "omop")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one subparser per available subcommand module."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description=(
            "Re-analysis of Lancman et al. (Haematologica 2026), IVIG and infections under "
            "daratumumab, on any cohort folder that follows the data contract (data/README.md); "
            "SCCS of any data set in the R package SCCS's format (rsccs) and SCCS studies on an "
            "OMOP CDM as OHDSI runs them (omop). 'python -m analysis COMMAND --help' explains "
            "each command."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(f"analysis.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
