"""``python -m analysis omop run --cdm PATH --spec SPEC --out DIR``: SCCS studies on an OMOP CDM.

Runs every exposures-outcome set under every analysis of an OHDSI-style specification
(:mod:`analysis.omop.spec`) and writes OHDSI's results model into DIR
(:mod:`analysis.omop.export`). The specification is checked before anything is read or written; a
bad specification, a missing CDM or a CDM table without a required column prints one line on stderr
naming the key or table and exits 2, and DIR is not created (results are written to a temporary
folder and moved into place at the end). Heavy imports happen inside the handler so that
``python -m analysis --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

#: Exit code for bad input (specification, CDM, option).
EXIT_BAD_INPUT = 2
#: CDM tables every extraction reads (:mod:`analysis.omop.extract`), checked before the run.
REQUIRED_TABLES = ("observation_period", "person")

DESCRIPTION = """\
Self-controlled case series (SCCS) and self-controlled risk interval (SCRI) studies on an OMOP
Common Data Model, as OHDSI SelfControlledCaseSeries runs them: the specification (YAML or JSON)
uses OHDSI's argument names in snake_case (see data/omop/eunomia-ohdsi-test.yaml), and DIR
receives OHDSI's results tables (sccs_result.csv, sccs_diagnostics_summary.csv, ...), with every
count below --min-cell-count (other than 0) written as minus that count."""

GROUP_DESCRIPTION = """\
SCCS on an OMOP Common Data Model (a DuckDB file, opened read-only, or a folder of Parquet or CSV
tables): 'run' runs an OHDSI SelfControlledCaseSeries specification and writes OHDSI's results
tables; 'cohort' writes the IVIG study's five-file cohort through a concept mapping. 'python -m
analysis omop ACTION --help' explains each."""

COHORT_DESCRIPTION = """\
Write the IVIG study's cohort (patients, ivig, infections, igg, progression CSV files and
cohort.yaml; data/README.md) from an OMOP CDM through a concept mapping whose proxies are
documented in the mapping file. Prints the records found per concept set and the mapping's
concept ids absent from the CDM's concept table. A missing CDM table exits 2 naming it and
writes nothing."""


def cohort(args: argparse.Namespace) -> int:
    """Extract the IVIG cohort from the CDM and write it; exit 0, or 2."""
    from analysis.omop.concepts import DEFAULT_CONCEPTS
    from analysis.omop.ivig_cohort import extract_cohort, write_extracted
    from analysis.sccs import SCCSError

    concepts = args.concepts or DEFAULT_CONCEPTS
    try:
        found = extract_cohort(args.cdm, concepts)
        write_extracted(found, args.out)
    except SCCSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print("records per concept set:")
    for name, n in found.counts.items():
        print(f"  {name}: {n}")
    absent = ", ".join(map(str, found.absent_ids)) or "none"
    print(f"concept ids absent from the CDM's concept table: {absent}")
    print(f"wrote {args.out}: {len(found.tables['patients'])} patients, "
          f"{len(found.tables['infections'])} infections")
    return 0


def _non_negative(text: str) -> int:
    """argparse type: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``omop`` subcommand (with its ``run`` action) on ``subparsers``."""
    parser = subparsers.add_parser("omop", help="SCCS studies on an OMOP CDM (OHDSI's design)",
                                   description=GROUP_DESCRIPTION)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run_p = actions.add_parser("run", help="run a specification and write OHDSI's results tables",
                               description=DESCRIPTION,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    run_p.add_argument("--cdm", required=True, metavar="PATH",
                       help="DuckDB file (opened read-only) or folder of Parquet/CSV CDM tables")
    run_p.add_argument("--spec", required=True, metavar="SPEC",
                       help="analysis specification, YAML or JSON")
    run_p.add_argument("--out", required=True, metavar="DIR",
                       help="results folder: new, empty, or a previous run's (replaced); a "
                            "folder holding other files is refused")
    run_p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                       help="engine that runs the extraction (default duckdb)")
    run_p.add_argument("--database-id", default="1", metavar="NAME",
                       help="database_id written in every table (default 1, as OHDSI)")
    run_p.add_argument("--min-cell-count", type=_non_negative, default=5, metavar="N",
                       help="write counts below N (other than 0) as -N (default 5, as OHDSI)")
    run_p.add_argument("--seed", type=_non_negative, default=0, metavar="N",
                       help="seed of the case sample of max_cases_per_outcome (default 0): the "
                            "same seed draws the same cases on every engine and run")
    run_p.set_defaults(func=run)
    cohort_p = actions.add_parser(
        "cohort", help="write the IVIG study's five-file cohort from a CDM",
        description=COHORT_DESCRIPTION)
    cohort_p.add_argument("--cdm", required=True, metavar="PATH",
                          help="DuckDB file (opened read-only) or folder of Parquet/CSV tables")
    cohort_p.add_argument("--concepts", default=None, metavar="MAP",
                          help="concept mapping (default data/omop/ivig-concepts.yaml)")
    cohort_p.add_argument("--out", required=True, metavar="DIR",
                          help="new or empty folder for the cohort")
    cohort_p.set_defaults(func=cohort)
    return parser


def _fetch(cdm: Any, spec: Any, seed: int = 0) -> Any:
    """OHDSI's ``getDbSccsData`` for one exposures-outcome set (:mod:`analysis.omop.extract`)."""
    from analysis.omop.extract import extract_sccs_data

    def fetch(exposure_ids: tuple[int, ...], outcome_id: int, nesting: int | None,
              db: Any) -> Any:
        return extract_sccs_data(
            cdm, exposure_ids=list(exposure_ids), outcome_ids=[outcome_id],
            nesting_cohort_id=nesting, study_start_dates=list(db.study_start_dates),
            study_end_dates=list(db.study_end_dates),
            delete_covariates_small_count=db.delete_covariates_small_count,
            max_cases_per_outcome=db.max_cases_per_outcome, seed=seed,
            exposure_table=spec.exposure_table, outcome_table=spec.outcome_table,
            cohort_definitions=spec.cohort_definitions,
            custom_covariate_ids=list(db.custom_covariate_ids),
            custom_covariate_table=spec.custom_covariate_table)

    return fetch


def run(args: argparse.Namespace) -> int:
    """Check the specification, run it on the CDM, write the results; exit 0, or 2."""
    from tqdm import tqdm

    from analysis.omop.cdm import open_cdm
    from analysis.omop.export import check_out, results_tables, write_results
    from analysis.omop.run import run_analyses
    from analysis.omop.spec import load_specification
    from analysis.sccs import SCCSError, SCCSWarning

    try:
        spec = load_specification(args.spec)
        check_out(args.out)  # before the run: a folder holding the user's files is refused
        cdm = open_cdm(args.cdm, engine=args.engine)
        try:
            for name in REQUIRED_TABLES:  # a missing one is named before the progress bar starts
                cdm.table(name)
            pairs = spec.pairs()
            results = list(tqdm(run_analyses(spec, _fetch(cdm, spec, args.seed)),
                                total=len(pairs),
                                unit="pair", desc="exposures-outcome sets x analyses",
                                file=sys.stderr))
        finally:
            cdm.close()
        with warnings.catch_warnings(record=True) as caught:  # the calibration's, one line each
            warnings.simplefilter("always", SCCSWarning)
            tables = results_tables(spec, results, args.database_id, args.min_cell_count)
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
        write_results(tables, args.out)
    except SCCSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {len(tables)} tables to {args.out}", file=sys.stderr)
    return 0
