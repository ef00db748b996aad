"""``python -m analysis rsccs DATA``: an SCCS of any data set in R's format, as R's SCCS package.

Reads a CSV or Parquet file laid out as the R package SCCS 1.7 expects (one row per event; in
the ``stack`` format one row per event and exposure episode), runs :mod:`analysis.sccs.r`'s
``standardsccs``, ``semisccs``, ``eventdepenexp`` or ``eventdepenobs`` with R's arguments, and
prints R's coefficient table (or JSON / CSV). Bad input (a missing column, a blank or fractional
day, a bad option) prints one message naming the file, the row as a spreadsheet shows it, the
column and the rule on stderr and exits 2, never a traceback, and prints nothing on stdout.
pandas and the engine are imported inside the handler so that ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

#: Exit code for bad input (unreadable file, bad data, bad option).
EXIT_BAD_INPUT = 2
MODELS = ("standard", "semi", "eventdepenexp", "eventdepenobs")

DESCRIPTION = """\
Self-controlled case series (SCCS) of any data set in the layout of the R package SCCS
(Farrington, Whitaker & Ghebremichael-Weldeselassie), with R's arguments: each option below is
the R argument of the same name, and the output is R's coefficient table (coef = log relative
incidence, exp(coef) = relative incidence, se, z, p, 95% CI). Ages/days are whole numbers;
observation runs from astart to aend, both days included."""

EPILOG = """\
R to command line (R's itpdat, as in ?standardsccs):
  R:   standardsccs(event~mmr+age, indiv=case, astart=sta, aend=end, aevent=itp, adrug=mmr,
                    aedrug=mmr+42, expogrp=c(0,15,29), agegrp=c(427,488,549,610,671),
                    data=itpdat)
  CLI: python -m analysis rsccs itpdat.csv --indiv case --astart sta --aend end --aevent itp \\
         --adrug mmr --aedrug "mmr+42" --expogrp 0,15,29 --agegrp 427,488,549,610,671

more:
  ... --model semi --formula "event ~ factor(sex)*mmr"      # semisccs
  ... --adrug rv,rvd2 --aedrug rv+21,rvd2+21 --dataformat multi --model eventdepenexp
  ... --model eventdepenobs --censor cen                     # event-dependent observation
  ... --adrug "dtp,dtpd2,dtpd3;hib,hibd2,hibd3" --expogrp "0,4,8;0,8"   # R's list(cbind(..))
  ... --format json                                          # {"terms": [...], "loglik": ...}

Lists: a comma separates R's c(...)/cbind(...) items, a semicolon separates the elements of R's
list(...) (one per exposure type)."""


def _ints(text: str) -> list[int] | list[list[int]]:
    """argparse type: ``0,15,29`` (R's c(0,15,29)) or ``0,8;0,8`` (R's list(c(0,8), c(0,8)))."""
    try:
        groups = [[int(v) for v in g.split(",") if v.strip()] for g in text.split(";")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers separated by commas, got {text!r}") from None
    if any(not g for g in groups):
        raise argparse.ArgumentTypeError(f"empty group in {text!r}")
    return groups[0] if len(groups) == 1 else groups


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}"
                                         ) from None


def _columns(text: str) -> str | list[str] | list[list[str]]:
    """``mmr`` / ``rv,rvd2`` (R's cbind) / ``a,b;c,d`` (R's list(cbind(a,b), cbind(c,d)))."""
    groups = [[v.strip() for v in g.split(",") if v.strip()] for g in text.split(";")]
    if any(not g for g in groups):
        raise argparse.ArgumentTypeError(f"empty column list in {text!r}")
    if len(groups) > 1:
        return groups
    return groups[0][0] if len(groups[0]) == 1 else groups[0]


def _logicals(text: str) -> bool | list[bool]:
    values = {"true": True, "t": True, "false": False, "f": False}
    try:
        out = [values[v.strip().lower()] for v in text.split(",")]
    except KeyError:
        raise argparse.ArgumentTypeError(f"expected TRUE/FALSE values, got {text!r}") from None
    return out[0] if len(out) == 1 else out


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``rsccs`` subcommand on ``subparsers``."""
    p = subparsers.add_parser(
        "rsccs", help="SCCS of any data set in R's SCCS-package format, with R's arguments",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", metavar="DATA", help="CSV or Parquet file (R's data=): one row per "
                   "event (multi format) or per event and exposure episode (stack format)")
    req = p.add_argument_group("R's column arguments (a column name or an expression on the "
                               "columns, such as mmr+42)")
    req.add_argument("--indiv", required=True, help="indiv: case identifier")
    req.add_argument("--astart", required=True, help="astart: first day (age) of observation")
    req.add_argument("--aend", required=True, help="aend: last day (age) of observation")
    req.add_argument("--aevent", required=True, help="aevent: day (age) of the event")
    req.add_argument("--adrug", required=True, type=_columns,
                     help="adrug: first day of exposure; several columns 'rv,rvd2' = R's "
                          "cbind(rv,rvd2) (doses of one exposure in the multi format, separate "
                          "exposures in stack); 'a,b;c,d' = R's list(cbind(a,b), cbind(c,d))")
    req.add_argument("--aedrug", required=True, type=_columns,
                     help="aedrug: last day of the risk period, e.g. 'mmr+42' (same shape as "
                          "--adrug)")
    opt = p.add_argument_group("R's model arguments")
    opt.add_argument("--formula", help="R's formula as a string, e.g. 'event ~ mmr + age' or "
                     "'event ~ factor(sex)*mmr' (default: event ~ the exposures, + age with "
                     "--agegrp, + season with --seasongrp)")
    opt.add_argument("--expogrp", type=_ints, help="expogrp: first day of each risk period "
                     "counted from adrug, e.g. 0,15,29 (R's c(0,15,29)); default 0")
    opt.add_argument("--washout", type=_ints, help="washout: first days of washout periods "
                     "after aedrug and the last day of the last one, e.g. 1,92,182")
    opt.add_argument("--sameexpopar", type=_logicals, help="sameexpopar: TRUE (default) = all "
                     "doses share the risk parameters; FALSE = one set per dose; one per "
                     "exposure type as FALSE,TRUE")
    opt.add_argument("--agegrp", type=_ints, help="agegrp: first day (age) of each age group "
                     "after the first, e.g. 427,488,549,610,671")
    opt.add_argument("--seasongrp", type=_ints, help="seasongrp: first day of each season as "
                     "ddmm, e.g. 0101,0104,0107,0110 (needs --dob)")
    opt.add_argument("--dob", help="dob: date of birth as ddmmyyyy (for --seasongrp)")
    opt.add_argument("--dataformat", choices=("stack", "multi"), default="stack",
                     help="dataformat: 'multi' = one row per event with doses in columns; "
                          "'stack' (default) = one row per event and exposure episode")
    opt.add_argument("--pairing", choices=("r", "row"), default="r",
                     help="beyond R: where a case's event rows disagree on the exposures "
                          "(a warning names the cases), r (default) pairs them as R 1.7 does "
                          "(the event on a case's k-th row takes the case's k-th earliest "
                          "exposure), row gives each event its own row's")
    opt.add_argument("--model", choices=MODELS, default="standard",
                     help="standard = standardsccs (default); semi = semisccs, age left "
                          "unspecified; eventdepenexp = event-dependent exposures; "
                          "eventdepenobs = event-dependent observation periods (needs --censor)")
    opt.add_argument("--censor", help="censor: 1 if observation ended early (possibly "
                     "because of the event), 0 if it ended as planned (eventdepenobs)")
    opt.add_argument("--covariates", help="covariates: column(s), comma separated, of the "
                     "censoring models (eventdepenobs)")
    opt.add_argument("--initval", type=_floats, help="initval: starting values of the "
                     "censoring models (eventdepenobs; R's default 0.1 each)")
    out = p.add_argument_group("output")
    out.add_argument("--diagnostics", action="store_true",
                     help="add the diagnostics of analysis.sccs.diagnostics (verdicts with "
                          "OHDSI's thresholds), where available: pre-exposure gain (30-day "
                          "window before the first exposure) and end-of-observation probe "
                          "(last 30 days), each in its own model of the exposure and age; "
                          "MDRR; rare outcome with --population")
    out.add_argument("--population", type=int, metavar="N",
                     help="size of the population the cases come from (rare-outcome "
                          "diagnostic)")
    out.add_argument("--format", choices=("table", "json", "csv"), default="table",
                     help="table (R's printout, default), json {model, n_cases, n_events, "
                          "loglik, loglik_null, terms: [{term, coef, exp_coef, se, z, p, "
                          "lower95, upper95}], modelfit?, diagnostics?}, or csv (one row per "
                          "term)")
    p.set_defaults(func=run)
    return p


class _BadInput(Exception):
    """Bad input found by the handler (message printed as is)."""


def read_data(path: str) -> Any:
    """The data file as a DataFrame (CSV: blanks and NA are missing; Parquet via pyarrow)."""
    from pathlib import Path

    import pandas as pd

    f = Path(path)
    if not f.is_file():
        raise _BadInput(f"{path}: no such file")
    suffix = f.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(f)
        if suffix in (".csv", ".txt", ".gz"):
            return pd.read_csv(f)
    except ImportError as exc:
        raise _BadInput(f"{path}: reading Parquet needs pyarrow ({exc})") from None
    except Exception as exc:  # pandas/pyarrow parser errors of many types
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _BadInput(f"{path}: cannot read the file ({first})") from None
    raise _BadInput(f"{path}: expected a .csv or .parquet file")


def _formula(args: argparse.Namespace) -> str:
    if args.formula:
        return args.formula
    from analysis.sccs.r._args import exposure_groups, first_name

    aedrug = args.aedrug
    names = [first_name(g[0][0]) for g in exposure_groups(args.adrug, aedrug, args.dataformat)]
    if args.agegrp and args.model in ("standard", "eventdepenobs"):
        names.append("age")
    if args.seasongrp and args.model == "standard":
        names.append("season")
    return "event ~ " + " + ".join(names)


def fit_model(args: argparse.Namespace, data: Any) -> Any:
    """Run the chosen R function with the options as its arguments."""
    from analysis.sccs import r

    common = dict(indiv=args.indiv, astart=args.astart, aend=args.aend, aevent=args.aevent,
                  adrug=args.adrug, aedrug=args.aedrug,
                  expogrp=args.expogrp, sameexpopar=args.sameexpopar,
                  dataformat=args.dataformat, data=data, pairing=args.pairing)
    unused = {"standard": [], "semi": ["agegrp", "seasongrp", "censor", "covariates",
                                       "initval"],
              "eventdepenexp": ["formula", "washout", "seasongrp", "censor", "covariates",
                                "initval"],
              "eventdepenobs": ["seasongrp"]}[args.model]
    if args.model == "standard":
        unused += ["censor", "covariates", "initval"]
    given = [u for u in unused if getattr(args, u) is not None]
    if given:
        raise _BadInput(f"--model {args.model}: R's function has no {', '.join(given)} "
                        f"argument (drop --{' --'.join(given)})")
    if args.model == "standard":
        return r.standardsccs(_formula(args), washout=args.washout, agegrp=args.agegrp,
                              seasongrp=args.seasongrp, dob=args.dob, **common)
    if args.model == "semi":
        return r.semisccs(_formula(args), washout=args.washout, **common)
    if args.model == "eventdepenexp":
        return r.eventdepenexp(agegrp=args.agegrp, **common)
    if args.censor is None:
        raise _BadInput("--model eventdepenobs needs --censor (R's censor argument)")
    extra: dict[str, Any] = {}
    if args.covariates:
        extra["covariates"] = [c.strip() for c in args.covariates.split(",")]
    if args.initval:
        extra["initval"] = args.initval
    return r.eventdepenobs(_formula(args), censor=args.censor, washout=args.washout,
                           agegrp=args.agegrp, **common, **extra)


#: Days of the pre-exposure window and of the end-of-observation probe (OHDSI's defaults: a
#: 30-day pre-exposure era, ``endOfObservationEraLength = 30``).
DIAGNOSTIC_DAYS = 30


def _diagnostic_fit(iv: Any, exposure: str) -> list[tuple[Any, str] | str]:
    """The diagnostic models: exposure levels and age groups plus the pre-exposure window, and
    plus the end-of-observation probe, fitted by the library's SCCS. For each window the
    ``(fit, term)`` that ``run_all`` takes, or why it cannot be estimated."""
    import warnings

    from analysis.sccs import SCCS, SCCSError, dummies

    parts = [dummies(iv, exposure, 0)]
    if (iv["age"] != iv["age"].iloc[0]).any():
        parts.append(dummies(iv, "age", iv["age"].min()))
    data = iv.join(parts)
    base = [c for p in parts for c in p.columns]
    out: list[tuple[Any, str] | str] = []
    for term, what in ((f"{exposure}_pre", f"{DIAGNOSTIC_DAYS}-day pre-exposure window"),
                       ("end_probe", f"last {DIAGNOSTIC_DAYS} days of observation")):
        events = int(data.loc[data[term] > 0, "events"].sum())
        if events == 0:
            out.append(f"not evaluated: no event in the {what}, so its IRR cannot be estimated")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = SCCS().fit(data, [*base, term])
        except SCCSError as exc:
            out.append(f"not evaluated: the {what} cannot be estimated ({exc})")
            continue
        out.append((fit, term))
    return out


def diagnostics(args: argparse.Namespace, data: Any) -> list[dict[str, Any]]:
    """Verdicts of :func:`analysis.sccs.diagnostics.run_all` on the per-case intervals."""
    import importlib

    try:
        diag = importlib.import_module("analysis.sccs.diagnostics")
    except ImportError:
        diag = None
    if diag is None or not hasattr(diag, "run_all"):
        raise _BadInput("--diagnostics: diagnostics not available (analysis.sccs.diagnostics."
                        "run_all is not installed in this version)")
    from analysis.sccs import r

    iv = r.intervals(args.indiv, args.astart, args.aend, args.aevent, args.adrug, args.aedrug,
                     expogrp=args.expogrp, washout=args.washout, sameexpopar=args.sameexpopar,
                     agegrp=args.agegrp, dataformat=args.dataformat, data=data,
                     pre_window=DIAGNOSTIC_DAYS, end_probe=DIAGNOSTIC_DAYS,
                     pairing=args.pairing)
    exposure = iv.attrs["exposures"][0]
    windows = _diagnostic_fit(iv, exposure)
    pre, end = (w if isinstance(w, tuple) else None for w in windows)
    table = diag.run_all(iv, exposure, pre=pre, end=end, n_population=args.population)
    rows = json.loads(table.to_json(orient="records"))
    for k, w in enumerate(windows):  # run_all lists the two windows first, in this order
        if isinstance(w, str) and k < len(rows) and rows[k]["verdict"] == "not evaluated":
            rows[k]["explanation"] = w
    return rows


def run(args: argparse.Namespace) -> int:
    """Read the data, fit, print; exit 0, or 2 on bad input (nothing on stdout)."""
    import warnings

    try:
        data = read_data(args.data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = fit_model(args, data)
            diag = diagnostics(args, data) if args.diagnostics else None
    except _BadInput as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as exc:  # RError, SCCSError, IntervalError and the engines' errors
        print(f"{args.data}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # a bug, not bad data: still no traceback for the user
        print(f"{args.data}: unexpected error ({type(exc).__name__}: {exc}); please report it",
              file=sys.stderr)
        return 1
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(render(fit, diag, args.format))
    return 0


def render(fit: Any, diag: list[dict[str, Any]] | None, fmt: str) -> str:
    """The fit as R's table, JSON or CSV."""
    if fmt == "json":
        doc = fit.to_dict()
        if diag is not None:
            doc["diagnostics"] = diag
        return json.dumps(doc, indent=2)
    if fmt == "csv":
        import io

        buf = io.StringIO()
        fit.summary.to_csv(buf, float_format="%.12g", lineterminator="\n")
        text = buf.getvalue().rstrip("\n")
        if diag is not None:
            import pandas as pd

            text += "\n\n" + pd.DataFrame(diag).to_csv(index=False).rstrip("\n")
        return text
    text = str(fit)
    if diag is not None:
        lines = ["", "", "diagnostics:"]
        for d in diag:
            why = d["explanation"]
            lines.append(f"  {d['name']}: {why}" if why.startswith(d["verdict"])
                         else f"  {d['name']}: {d['verdict']} ({why})")
        text += "\n".join(lines)
    return text
