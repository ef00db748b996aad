"""Tiny hand-made cohorts for the study / Cox / sccs-CLI tests (H-study).

``write_cohort`` writes contract CSV files into a folder (every required patient column gets a
harmless default, so a test only spells out what it is about) and ``make_cohort`` loads it with
the real :func:`analysis.study.cohort.load_cohort`, so the tests go through the same typed tables
as the
book. ``day_level_reference`` is an independent, deliberately naive reference of the day counting
(one row per patient-day, built with ``np.repeat``), used to check the interval tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

PATIENT_DEFAULTS: dict[str, str] = {
    "group": "ivig", "sex": "M", "age_at_dara": "65", "diagnosis_date": "2015-01-01",
    "dara_start": "2019-01-01", "dara_last": "2019-03-01", "heavy_chain": "IgA",
    "light_chain": "kappa", "lines_of_therapy": "2", "prior_infections_12m": "1",
}
COLUMNS = {
    "patients": ["patient_id", *PATIENT_DEFAULTS, "iss", "riss", "high_risk_cyto", "death_date",
                 "last_contact"],
    "ivig": ["patient_id", "date", "dose_g_per_kg"],
    "infections": ["patient_id", "date", "grade", "site", "organism", "anc", "alc"],
    "igg": ["patient_id", "date", "igg_mg_dl", "m_spike_g_dl"],
    "progression": ["patient_id", "date"],
}
INFECTION_DEFAULTS = {"grade": "2", "site": "upper_respiratory", "organism": "unconfirmed",
                      "anc": "", "alc": ""}


def write_cohort(
    folder: Path,
    patients: Sequence[dict],
    ivig: Sequence[tuple] = (),
    infections: Sequence[dict | tuple] = (),
    igg: Sequence[tuple] = (),
    progression: Sequence[tuple] = (),
) -> Path:
    """Write a contract cohort into ``folder``.

    ``patients``: dicts overriding :data:`PATIENT_DEFAULTS` (``patient_id`` required);
    ``ivig``: (id, date); ``infections``: (id, date) or dicts with more columns;
    ``igg``: (id, date, igg) or (id, date, igg, m_spike); ``progression``: (id, date).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows = {
        "patients": [{**PATIENT_DEFAULTS, **p} for p in patients],
        "ivig": [{"patient_id": i, "date": d, "dose_g_per_kg": "0.4"} for i, d in ivig],
        "infections": [
            {**INFECTION_DEFAULTS, **(x if isinstance(x, dict) else
                                      {"patient_id": x[0], "date": x[1]})}
            for x in infections
        ],
        "igg": [
            {"patient_id": r[0], "date": r[1], "igg_mg_dl": r[2],
             "m_spike_g_dl": r[3] if len(r) > 3 else ""}
            for r in igg
        ],
        "progression": [{"patient_id": i, "date": d} for i, d in progression],
    }
    for name, cols in COLUMNS.items():
        pd.DataFrame(rows[name], columns=cols).to_csv(folder / f"{name}.csv", index=False)
    return folder


def make_cohort(folder: Path, *args, **kwargs):
    """:func:`write_cohort` then load it with the real loader."""
    from analysis.study.cohort import load_cohort

    return load_cohort(write_cohort(folder, *args, **kwargs))


def day(s: str) -> int:
    """ISO date -> day number (days since 1970-01-01), computed independently of the code."""
    return int((pd.Timestamp(s) - pd.Timestamp("1970-01-01")).days)


def day_level_reference(cohort, outcome_mask=None, group: str = "ivig",
                        pre_window: int | None = None, hgg: int | None = None) -> pd.DataFrame:
    """Naive per-day table (one row per patient-day) straight from the contract's wording.

    Columns: id, d, on_ivig, pre_ivig, fall_winter, progression, igg_level (NaN if unknown),
    events. Deliberately written differently from the module under test (explicit broadcasting
    over every day; fine for tiny cohorts).
    """
    p = cohort.patients[cohort.patients["group"] == group]
    start = (p["dara_start"] - pd.Timestamp("1970-01-01")).dt.days.to_numpy()
    end = (p["dara_last"] - pd.Timestamp("1970-01-01")).dt.days.to_numpy() + 30
    n = end - start + 1
    ids = np.repeat(p["patient_id"].to_numpy(), n)
    d = np.concatenate([np.arange(s, e + 1) for s, e in zip(start, end, strict=True)])
    out = pd.DataFrame({"id": ids, "d": d})

    def near(table: pd.DataFrame, lo: int, hi: int) -> np.ndarray:
        """Day d is flagged when some table date a of the same patient has lo <= d - a <= hi."""
        flag = np.zeros(len(out), dtype=bool)
        for pid, date in zip(table["patient_id"], table["date"], strict=True):
            a = (date - pd.Timestamp("1970-01-01")).days
            flag |= (out["id"].to_numpy() == pid) & (out["d"] - a >= lo).to_numpy() & (
                out["d"] - a <= hi).to_numpy()
        return flag

    out["on_ivig"] = near(cohort.ivig, 0, 29).astype(int)
    out["progression"] = near(cohort.progression, 0, 29).astype(int)
    out["pre_ivig"] = 0
    if pre_window:
        first = cohort.ivig.groupby("patient_id")["date"].min()
        firsts = pd.DataFrame({"patient_id": first.index, "date": first.to_numpy()})
        out["pre_ivig"] = (near(firsts, -pre_window, -1) & (out["on_ivig"] == 0)).astype(int)
    months = pd.to_datetime(out["d"], unit="D").dt.month
    out["fall_winter"] = months.isin([10, 11, 12, 1, 2, 3]).astype(int).to_numpy()
    inf = cohort.infections
    if outcome_mask is not None:
        inf = inf[outcome_mask(inf)]
    key = inf["patient_id"] + "|" + ((inf["date"] - pd.Timestamp("1970-01-01")).dt.days).astype(str)
    counts = key.value_counts()
    out["events"] = (out["id"] + "|" + out["d"].astype(str)).map(counts).fillna(0).astype(int)
    return out
