"""``python -m analysis sccs COHORT_DIR``: the paper's self-controlled case series on any cohort.

Fits one SCCS model of Lancman et al. (Haematologica 2026) to a cohort folder that follows the data
contract (``data/README.md``) and prints the incidence rate ratios as a table, JSON or CSV. The
day counting, windows and outcomes are those of :mod:`analysis.study`. Bad input (a folder that
breaks the contract, an outcome without cases, a bad option value) prints a message on stderr
and exits 2, never a traceback. pandas, statsmodels and friends are imported inside the handler
so that ``python -m analysis --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

#: Exit code for bad input (invalid cohort, no cases, bad option).
EXIT_BAD_INPUT = 2
#: Kept in step with analysis.study (not imported here: that would load pandas at start-up).
OUTCOMES = ("all", "grade3", "bacterial", "viral")
HGG_THRESHOLDS = (700, 400, 200)
ADJUST_CHOICES = ("season", "progression", "ivig")

DESCRIPTION = """\
Self-controlled case series (SCCS) of infections during IVIG, as in Lancman et al.
(Haematologica 2026). Each case (an IVIG-group patient with at least one infection of the
chosen outcome during observation) is compared with itself: infection rates on days 'on IVIG'
(the administration day and the 29 days after it, windows of successive doses merged) against
the rest of the observation period (first daratumumab dose through 30 days after the last).
Patients of the reference group and IVIG patients without an event carry no information in the
conditional likelihood. The result is an incidence rate ratio (IRR) with a Wald 95% CI and
p-value for each term: on_ivig, pre_ivig, fall_winter, progression, igg_below_<T>."""

EPILOG = """\
examples:
  python -m analysis sccs data/synthetic                    # primary: all grades, on vs off
  python -m analysis sccs data/synthetic --outcome grade3   # grade 3-4 infections
  python -m analysis sccs my_cohort --pre-window 60 --format json
  python -m analysis sccs my_cohort --adjust season --adjust progression
  python -m analysis sccs my_cohort --hgg 400               # IgG < 400 vs >= 400 days

The cohort folder needs patients.csv, ivig.csv, infections.csv, igg.csv and progression.csv
(data/README.md); check it first with: python -m analysis validate COHORT_DIR"""


def _pre_window(text: str) -> int:
    """argparse type: a whole number of days >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 day, got {value}")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``sccs`` subcommand on ``subparsers``."""
    parser = subparsers.add_parser(
        "sccs",
        help="fit the paper's self-controlled case series (IRR of infections on vs off IVIG)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("cohort_dir", metavar="COHORT_DIR",
                        help="cohort folder following the data contract (data/README.md)")
    parser.add_argument(
        "--outcome", choices=OUTCOMES, default="all",
        help="which infections are events: all = every grade (primary endpoint); grade3 = CTCAE "
             "grade 3-4 (grade >= 3; co-primary); bacterial / viral = microbiologically "
             "confirmed organism (default: all)")
    parser.add_argument(
        "--pre-window", type=_pre_window, metavar="DAYS",
        help="indication-bias diagnostic: add a pre-exposure risk period of DAYS days before "
             "each patient's first IVIG dose (term pre_ivig; the paper used 30 and 60). The "
             "on-IVIG IRR is then adjusted for it")
    parser.add_argument(
        "--adjust", action="append", choices=ADJUST_CHOICES, default=[],
        help="add a time-varying covariate (repeatable): season = fall/winter (1 Oct - 31 Mar) "
             "vs spring/summer (term fall_winter); progression = the 30 days from each IMWG "
             "progression date (term progression); ivig = keep on_ivig in an --hgg model "
             "(the paper's HGG models are unadjusted)")
    parser.add_argument(
        "--hgg", type=int, choices=HGG_THRESHOLDS, metavar="{700,400,200}",
        help="hypogammaglobulinemia model: days with functional IgG below the threshold vs at "
             "or above it (term igg_below_<T>; 700 = any HGG, 400 = moderate or worse, 200 = "
             "severe). Functional IgG subtracts the M-spike in IgG myeloma; the level of a day "
             "is the latest measurement, before the first one the baseline (dara start -90 to "
             "+10 days); days with an unknown level leave the model")
    parser.add_argument(
        "--format", choices=("table", "json", "csv"), default="table",
        help="output: a readable table (default), JSON {outcome, n_cases, n_events, loglik, "
             "terms: [{term, irr, ci_low, ci_high, p, log_irr, se}]}, or CSV, one row per term")
    parser.set_defaults(func=run)
    return parser


def _num(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def result_dict(fit: Any, outcome: str) -> dict[str, Any]:
    """The JSON document of one fit (non-finite numbers become null)."""
    s = fit.summary
    return {
        "outcome": outcome,
        "n_cases": int(fit.n_cases),
        "n_events": int(fit.n_events),
        "loglik": _num(fit.loglik),
        "terms": [
            {"term": t, "irr": _num(s.loc[t, "irr"]), "ci_low": _num(s.loc[t, "ci_low"]),
             "ci_high": _num(s.loc[t, "ci_high"]), "p": _num(s.loc[t, "p"]),
             "log_irr": _num(s.loc[t, "log_irr"]), "se": _num(s.loc[t, "se"])}
            for t in s.index
        ],
    }


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "NA" if value is None else format(value, spec)


def _fmt_p(p: float | None) -> str:
    if p is None:
        return "NA"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def format_table(doc: dict[str, Any], cohort_name: str, synthetic: bool, model: str) -> str:
    """Readable text of one fit."""
    kind = " [synthetic]" if synthetic and "synthetic" not in cohort_name.lower() else ""
    lines = [
        f"SCCS on {cohort_name}{kind}: {model}",
        f"cases: {doc['n_cases']}  events: {doc['n_events']}  "
        f"log-likelihood: {_fmt(doc['loglik'], '.4f')}",
        "",
        f"{'term':<16}{'IRR':>8}  {'95% CI':<16}{'p':>8}",
    ]
    for t in doc["terms"]:
        ci = f"{_fmt(t['ci_low'])}-{_fmt(t['ci_high'])}"
        lines.append(f"{t['term']:<16}{_fmt(t['irr']):>8}  {ci:<16}{_fmt_p(t['p']):>8}")
    return "\n".join(lines)


def format_csv(doc: dict[str, Any]) -> str:
    """One CSV row per term, with the model's outcome, cases, events and log-likelihood."""
    import csv
    import io

    buf = io.StringIO()
    cols = ["outcome", "term", "irr", "ci_low", "ci_high", "p", "log_irr", "se", "n_cases",
            "n_events", "loglik"]
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for t in doc["terms"]:
        w.writerow({"outcome": doc["outcome"], **t, "n_cases": doc["n_cases"],
                    "n_events": doc["n_events"], "loglik": doc["loglik"]})
    return buf.getvalue().rstrip("\n")


def _describe(args: argparse.Namespace, terms: list[str]) -> str:
    from analysis.study import OUTCOME_LABELS

    return f"{OUTCOME_LABELS[args.outcome]}; terms {', '.join(terms)}"


def run(args: argparse.Namespace) -> int:
    """Load the cohort, fit the requested model and print it; exit 0, or 2 on bad input."""
    from analysis.sccs import try_fit
    from analysis.study import fit_sccs, model_terms
    from analysis.study.cohort import CohortError, load_cohort

    adjust = [a for a in args.adjust if a != "ivig"]
    ivig = True if "ivig" in args.adjust else None
    try:
        cohort = load_cohort(args.cohort_dir)
    except CohortError as exc:
        print(exc.format(), file=sys.stderr)
        return EXIT_BAD_INPUT
    fit, reason, caught = try_fit(fit_sccs, cohort, args.outcome, pre_window=args.pre_window,
                                  adjust=adjust, hgg=args.hgg, ivig=ivig)
    if fit is None:
        print(f"{args.cohort_dir}: {reason}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for message in caught:
        print(f"warning: {message}", file=sys.stderr)
    doc = result_dict(fit, args.outcome)
    if args.format == "json":
        print(json.dumps(doc, indent=2))
    elif args.format == "csv":
        print(format_csv(doc))
    else:
        terms = model_terms(args.pre_window, adjust, args.hgg, ivig)
        print(format_table(doc, cohort.name, cohort.synthetic, _describe(args, terms)))
    return 0
