"""Build the interval table of an R SCCS example from its raw dataset.

The R package SCCS 1.7 documents its method with examples (``standardsccs``, ``lrtsccs``) on
datasets bundled with the package; ``data/external/sccs-r/`` holds those datasets, the arguments of
every example and the numbers R gives (``reference.json``), and the interval table R's
``formatdata`` built for each (``intervals/<example>.csv.gz``; provenance in the README there).

This module reads an example's ``formatdata`` arguments and translates them, through
:mod:`analysis.sccs.r` (the one translation of R's arguments), into
:func:`analysis.sccs.intervals.build_intervals` inputs, used by the teaching chapters
(:func:`analysis.teaching.r_example`) and by the tests that compare our intervals with R's files
and our estimates with R's numbers (the R files and numbers stay the independent reference):

* :func:`reference` -- ``reference.json``;
* :func:`example_inputs` -- observation, events, exposures and covariates of one example;
* :func:`example_intervals` -- our per-individual interval table of one example;
* :func:`r_interval_file` -- the interval table R built, as R wrote it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from analysis import DATA_DIR

#: Folder of the R SCCS reference suite.
R_DIR = DATA_DIR / "external" / "sccs-r"


@cache
def reference() -> dict:
    """The R SCCS 1.7 reference suite (``reference.json``; read once)."""
    return json.loads((R_DIR / "reference.json").read_text())


@dataclass
class ExampleInputs:
    """The :func:`analysis.sccs.intervals.build_intervals` arguments of one R example."""

    name: str
    observation: pd.DataFrame  # id, start, end
    events: pd.DataFrame  # id, day
    exposures: list[Any]  # analysis.sccs.intervals.Exposure
    covariates: list[Any]  # Season and AgeGroups
    reference: dict  # the example's entry in reference.json


def example_inputs(name: str) -> ExampleInputs:
    """Translate example ``name`` (a key of ``reference()["examples"]``) into builder inputs.

    The example's ``formatdata`` arguments (``reference.json``'s ``arguments``: ``indiv``,
    ``astart``, ``aend``, ``aevent``, per exposure type ``adrug``, ``aedrug``, ``expogrp``,
    ``washout``, ``sameexpopar``; ``agegrp`` given or computed by the example's setup code,
    ``seasongrp`` with ``dob``, ``dataformat``) go through the one translation of R's arguments,
    :mod:`analysis.sccs.r` (as ``r.formatdata`` would take them).
    """
    from analysis.sccs.r import inputs

    ex = reference()["examples"][name]
    a = ex["arguments"]
    data = pd.read_csv(R_DIR / "data" / f"{ex['dataset']}.csv", dtype={"dob": str})
    agegrp = a["agegrp"]
    if isinstance(agegrp, str):  # computed by the example's setup code
        agegrp = next(iter(ex["resolved_setup"].values()))
    expos = a["exposures"]
    x = inputs(data, a["indiv"], a["astart"], a["aend"], a["aevent"],
               [e["adrug"] for e in expos], [e["aedrug"] for e in expos],
               expogrp=[e["expogrp"] for e in expos], washout=[e["washout"] for e in expos],
               sameexpopar=[bool(e["sameexpopar"]) for e in expos], agegrp=agegrp,
               seasongrp=a["seasongrp"], dob=a["dob"], dataformat=a["dataformat"])
    return ExampleInputs(name, x.observation, x.events[["id", "day"]], x.exposures,
                         x.covariates, ex)


def example_intervals(name: str) -> pd.DataFrame:
    """Our per-individual interval table of R example ``name`` (see :func:`example_inputs`)."""
    from analysis.sccs.intervals import build_intervals

    x = example_inputs(name)
    return build_intervals(x.observation, x.events, x.exposures, x.covariates)


def r_interval_file(name: str) -> pd.DataFrame:
    """The interval table R's ``formatdata`` built for example ``name`` (one row per event and
    interval, R's layout), as stored in ``intervals/<name>.csv.gz``."""
    return pd.read_csv(R_DIR / "intervals" / f"{name}.csv.gz")


#: Folder of the R SCCS extension reference suite (semisccs, eventdepenexp, eventdepenobs,
#: samplesize).
EXT_DIR = DATA_DIR / "external" / "sccs-r-ext"


@cache
def ext_reference() -> dict:
    """The R SCCS 1.7 extension suite (``sccs-r-ext/reference.json``; read once)."""
    return json.loads((EXT_DIR / "reference.json").read_text())


def r_dataset(name: str) -> pd.DataFrame:
    """An R example dataset (``itpdat``, ``rotdat``, ...) as R's ``data()`` reads it: every
    column as stored, numeric where it is numeric (the extension suite's folder first)."""
    path = EXT_DIR / "data" / f"{name}.csv"
    return pd.read_csv(path if path.exists() else R_DIR / "data" / f"{name}.csv")


def r_call(example: str) -> str:
    """The R call of a documented example, as stored in its ``reference.json``."""
    base = reference()["examples"]
    return base[example]["call"] if example in base else ext_reference()[example]["call"]


def r_coefficients(example: str) -> pd.DataFrame:
    """R's estimates of a documented model example, indexed by R's term: ``coef``, ``se``.

    From ``sccs-r/reference.json`` (``standardsccs``, ``lrtsccs`` models) or
    ``sccs-r-ext/reference.json`` (``semisccs``, ``eventdepenexp``, ``eventdepenobs``); R's
    ``NA`` (an aliased term) is NaN.
    """
    base = reference()["examples"]
    if example in base:
        rows = base[example]["coefficients"]
        df = pd.DataFrame({"coef": [c["coef"] for c in rows], "se": [c["se"] for c in rows]},
                          index=[c["term"] for c in rows])
    else:
        e = ext_reference()[example]
        df = pd.DataFrame({"coef": e["coef"], "se": e["se"]}, index=e["term"])
    df.index.name = "term"
    return df.apply(pd.to_numeric, errors="coerce").astype(float)


def compare_with_r(example: str, summary: pd.DataFrame) -> pd.DataFrame:
    """R's and our estimates side by side, one row per R term.

    ``summary``: our table (:attr:`analysis.sccs.r.RFit.summary`, indexed by R's term names,
    columns ``coef`` and ``se``). Returns ``R coef, Python coef, R se, Python se,
    largest |difference|`` (of coef and se; NaN for a term both report as aliased: R's
    ``NA`` coefficient, whose standard error R stores as 0). A term missing on either side, or
    aliased on one side only, is an error, not a silent gap.
    """
    ref = r_coefficients(example)
    missing = sorted(set(ref.index) ^ set(summary.index))
    if missing:
        raise ValueError(f"{example}: terms not on both sides: {missing}")
    ours = summary.loc[ref.index, ["coef", "se"]].astype(float)
    aliased = ref["coef"].isna()  # R stores se 0 for an aliased term, we NaN
    if (ours["coef"].isna() != aliased).any():
        raise ValueError(f"{example}: a coefficient is NA on one side only")
    diff = np.maximum((ours["coef"] - ref["coef"]).abs(), (ours["se"] - ref["se"]).abs())
    diff[aliased] = np.nan
    return pd.DataFrame({"R coef": ref["coef"], "Python coef": ours["coef"], "R se": ref["se"],
                         "Python se": ours["se"], "largest |difference|": diff})
