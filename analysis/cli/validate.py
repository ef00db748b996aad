"""``python -m analysis validate PATH``: check a cohort folder against the data contract.

On success prints a summary (patients per group, IVIG doses, infections, IgG measurements,
progression events, items outside observation windows, date ranges) and exits 0; with ``--json``
the summary is printed as JSON. On failure prints ``PATH: N problems`` and the problems (file,
spreadsheet row, column, rule) on stderr and exits 2. pandas is imported inside the
handler so that ``python -m analysis --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

#: Exit code for a cohort that breaks the contract.
EXIT_INVALID = 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``validate`` subcommand on ``subparsers``."""
    parser = subparsers.add_parser(
        "validate",
        help="check a cohort folder against the data contract and summarise it",
        description=(
            "Check a cohort folder (patients.csv, ivig.csv, infections.csv, igg.csv, "
            "progression.csv; see data/README.md) and print a summary. Exit 0 if valid; "
            "otherwise list every problem (file, row as a spreadsheet shows it, column, rule) "
            "on stderr and exit 2."
        ),
    )
    parser.add_argument("path", help="cohort folder")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--max-problems", type=int, default=50, metavar="N",
        help="list at most N problems (default 50; 0 lists all)")
    parser.set_defaults(func=run)
    return parser


def format_summary(summary: dict[str, Any]) -> str:
    """Human-readable text of :meth:`analysis.study.cohort.Cohort.summary`."""
    def by_group(counts: dict[str, int]) -> str:
        return ", ".join(f"{g} {n}" for g, n in counts.items()) or "none"

    out = summary["outside_observation"]
    outside = sum(out.values())
    kind = " (synthetic)" if summary["synthetic"] else ""
    lines = [
        f"Cohort {summary['name']}{kind}: {summary['path']}",
        f"  patients:            {summary['patients']} ({by_group(summary['patients_by_group'])})",
        f"  IVIG doses:          {summary['ivig_doses']} in {summary['patients_with_ivig']} "
        "patients",
        f"  infections:          {summary['infections']} "
        f"({by_group(summary['infections_by_group'])}) in "
        f"{summary['patients_with_infection']} patients",
        f"  IgG measurements:    {summary['igg_measurements']}",
        f"  progression events:  {summary['progression_events']}",
        f"  outside observation: {outside} (kept, not analysed): "
        f"{out['ivig_doses']} IVIG doses, {out['infections']} infections, "
        f"{out['igg_measurements']} IgG measurements, "
        f"{out['progression_events']} progression events",
        "  daratumumab start:   {} to {}".format(*summary["dara_start_range"]),
        "  observation:         {} to {}".format(*summary["observation_range"]),
        "  event dates:         {} to {}".format(*summary["event_date_range"]),
        "OK: the cohort follows the data contract.",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Validate ``args.path``; print the summary (exit 0) or the problems (exit 2)."""
    from analysis.study.cohort import CohortError, load_cohort

    try:
        cohort = load_cohort(args.path)
        summary = cohort.summary()
    except CohortError as exc:
        print(exc.format(limit=args.max_problems), file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # a bug, not bad data; still no traceback for the user
        print(f"{args.path}: unexpected error while validating ({type(exc).__name__}: {exc}); "
              "please report it", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary))
    return 0
