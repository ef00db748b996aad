"""Build the interval table of an R SCCS example from its raw dataset.

The R package SCCS 1.7 documents its method with examples (``standardsccs``, ``lrtsccs``) on
datasets bundled with the package; ``data/external/sccs-r/`` holds those datasets, the arguments of
every example and the numbers R gives (``reference.json``), and the interval table R's
``formatdata`` built for each (``intervals/<example>.csv.gz``; provenance in the README there).

This module is the one translation of an example's ``formatdata`` arguments into
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
import re
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


def r_end_expr(expr: str) -> tuple[str, int]:
    """Split an R ``aedrug`` expression ``column`` or ``column+k`` into ``(column, k)``."""
    m = re.fullmatch(r"\s*(\w+)\s*(?:\+\s*(\d+))?\s*", expr)
    if m is None:
        raise ValueError(f"unsupported aedrug expression {expr!r}")
    return m.group(1), int(m.group(2) or 0)


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

    One for one with ``formatdata``'s arguments: observation ``astart .. aend``; events
    ``aevent``, one per row, with a case's repeated (id, day) rows collapsed as R does (in the
    ``stack`` format every exposure row repeats the case's events); each exposure type with
    :meth:`analysis.sccs.intervals.Exposure.from_r` (``expogrp``, ``washout``, ``sameexpopar``;
    ``aedrug`` = ``adrug + k`` gives a fixed risk length, an end column the dose's own end);
    ``seasongrp`` with ``dob`` as :class:`analysis.sccs.intervals.Season`; ``agegrp`` (given, or
    computed by the example's setup code) as :class:`analysis.sccs.intervals.AgeGroups`.
    """
    from analysis.sccs.intervals import AgeGroups, Exposure, Season

    ex = reference()["examples"][name]
    a = ex["arguments"]
    data = pd.read_csv(R_DIR / "data" / f"{ex['dataset']}.csv", dtype={"dob": str})
    ind = a["indiv"]
    obs = data[[ind, a["astart"], a["aend"]]].drop_duplicates().set_axis(
        ["id", "start", "end"], axis=1)
    events = data[[ind, a["aevent"]]].drop_duplicates().set_axis(["id", "day"], axis=1)
    exposures = []
    for e in a["exposures"]:
        parts = []
        for k, (col, expr) in enumerate(zip(e["adrug"], e["aedrug"], strict=True)):
            ecol, off = r_end_expr(expr)
            part = pd.DataFrame({"id": data[ind], "day": data[col], "end": data[ecol] + off})
            if a["dataformat"] == "multi":
                part["dose"] = k + 1
            parts.append(part)
        edata = pd.concat(parts, ignore_index=True).drop_duplicates()
        if a["dataformat"] == "stack":
            edata = edata.dropna(subset=["day"])
        ends = [r_end_expr(x) for x in e["aedrug"]]
        fixed = all(c == ec for c, (ec, _) in zip(e["adrug"], ends, strict=True))
        offsets = {off for _, off in ends}
        end_offset = offsets.pop() if fixed and len(offsets) == 1 else None
        exposures.append(Exposure.from_r(
            e["name"], edata, expogrp=e["expogrp"], end_offset=end_offset,
            washout=e["washout"], sameexpopar=e["sameexpopar"]))
    covariates: list[Any] = []
    if a["seasongrp"] is not None:
        dob = pd.to_datetime(data[a["dob"]].str.zfill(8), format="%d%m%Y")
        origin = pd.DataFrame(
            {"id": data[ind], "day": dob.to_numpy().astype("datetime64[D]").astype(np.int64)}
        ).drop_duplicates()
        starts = tuple((int(s[2:]), int(s[:2])) for s in a["seasongrp"])
        covariates.append(Season(starts, origin=origin, name="season"))
    agegrp = a["agegrp"]
    if isinstance(agegrp, str):  # computed by the example's setup code
        agegrp = next(iter(ex["resolved_setup"].values()))
    elif isinstance(agegrp, int | float):
        agegrp = [int(agegrp)]
    covariates.append(AgeGroups(tuple(agegrp or ())))
    return ExampleInputs(name, obs, events, exposures, covariates, ex)


def example_intervals(name: str) -> pd.DataFrame:
    """Our per-individual interval table of R example ``name`` (see :func:`example_inputs`)."""
    from analysis.sccs.intervals import build_intervals

    x = example_inputs(name)
    return build_intervals(x.observation, x.events, x.exposures, x.covariates)


def r_interval_file(name: str) -> pd.DataFrame:
    """The interval table R's ``formatdata`` built for example ``name`` (one row per event and
    interval, R's layout), as stored in ``intervals/<name>.csv.gz``."""
    return pd.read_csv(R_DIR / "intervals" / f"{name}.csv.gz")
