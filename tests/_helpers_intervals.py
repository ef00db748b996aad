"""Translate the R SCCS reference examples (data/external/sccs-r) into build_intervals calls."""

from __future__ import annotations

import json
import re
from functools import cache

import numpy as np
import pandas as pd

from analysis import DATA_DIR
from analysis.intervals import AgeGroups, Exposure, Season, build_intervals, to_event_strata

R_DIR = DATA_DIR / "external" / "sccs-r"


@cache
def reference() -> dict:
    return json.loads((R_DIR / "reference.json").read_text())


def _aedrug(data: pd.DataFrame, expr: str) -> tuple[str, int]:
    m = re.fullmatch(r"\s*(\w+)\s*(?:\+\s*(\d+))?\s*", expr)
    assert m, expr
    return m.group(1), int(m.group(2) or 0)


def r_example(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(our per-event layout, R's interval file) for one example of reference.json."""
    ex = reference()["examples"][name]
    a = ex["arguments"]
    data = pd.read_csv(R_DIR / "data" / f"{ex['dataset']}.csv", dtype={"dob": str})
    obs = data[[a["indiv"], a["astart"], a["aend"]]].drop_duplicates()
    obs.columns = ["id", "start", "end"]
    events = data[[a["indiv"], a["aevent"]]].set_axis(["id", "day"], axis=1)
    exposures = []
    for e in a["exposures"]:
        parts = []
        for k, (col, expr) in enumerate(zip(e["adrug"], e["aedrug"], strict=True)):
            ecol, off = _aedrug(data, expr)
            part = pd.DataFrame({"id": data[a["indiv"]], "day": data[col],
                                 "end": data[ecol] + off})
            if a["dataformat"] == "multi":
                part["dose"] = k + 1
            parts.append(part)
        edata = pd.concat(parts, ignore_index=True).drop_duplicates()
        if a["dataformat"] == "stack":
            edata = edata.dropna(subset=["day"])
        # a fixed risk length when aedrug = adrug + k for every dose column, else the end column
        same = all(_aedrug(data, x)[0] == c for c, x in zip(e["adrug"], e["aedrug"], strict=True))
        offs = {_aedrug(data, x)[1] for x in e["aedrug"]}
        end_offset = offs.pop() if same and len(offs) == 1 else None
        exposures.append(Exposure.from_r(
            e["name"], edata, expogrp=e["expogrp"], end_offset=end_offset,
            washout=e["washout"], sameexpopar=e["sameexpopar"]))
    covariates = []
    if a["seasongrp"] is not None:
        dob = pd.to_datetime(data[a["dob"]].str.zfill(8), format="%d%m%Y")
        origin = pd.DataFrame({"id": data[a["indiv"]],
                               "day": dob.to_numpy().astype("datetime64[D]").astype(np.int64)})
        starts = tuple((int(s[2:]), int(s[:2])) for s in a["seasongrp"])
        covariates.append(Season(starts, origin=origin.drop_duplicates(), name="season"))
    agegrp = a["agegrp"]
    if isinstance(agegrp, str):
        agegrp = next(iter(ex["resolved_setup"].values()))
    elif isinstance(agegrp, int):
        agegrp = [agegrp]
    covariates.append(AgeGroups(tuple(agegrp or ())))
    iv = build_intervals(obs, events, exposures, covariates)
    ours = to_event_strata(iv, events)
    theirs = pd.read_csv(R_DIR / "intervals" / f"{name}.csv.gz")
    return ours, theirs
