"""OHDSI's results data model, written as ``exportToCsv`` does (``R/Export.R``).

Table and column names, column order and types follow OHDSI's specification
(``data/external/ohdsi-sccs/resultsDataModelSpecification.csv``, SelfControlledCaseSeries 6.0.0),
deprecated columns included (empty, as OHDSI writes them). Missing values are written ``NA`` and
infinite ones ``Inf``/``-Inf``, as ``readr::write_csv``. Every column the specification marks
``min_cell_count`` is censored as ``enforceMinCellValue``: a count below ``min_cell_count``
other than 0 is written as ``-min_cell_count``. Nothing identifies a person: ids are OHDSI's
analysis, set, covariate and era ids; counts are aggregates.

Written: ``sccs_analysis``, ``sccs_covariate_analysis``, ``sccs_exposures_outcome_set``,
``sccs_exposure``, ``sccs_era``, ``sccs_covariate``, ``sccs_covariate_result``, ``sccs_result``,
``sccs_attrition``, ``sccs_diagnostics_summary``, ``sccs_likelihood_profile``,
``sccs_time_trend``, ``sccs_time_to_event``, ``sccs_age_spanning``,
``sccs_calendar_time_spanning`` (:mod:`analysis.omop.tables`), ``sccs_spline``,
``sccs_censor_model`` (the seven parameters of the chosen censoring model of analyses with
``event_dependent_observation``, :mod:`analysis.omop.eventdep`), and, empty, the deprecated
``sccs_event_dep_observation``. The ``calibrated_*`` columns of ``sccs_result``, and ``ease``,
``ease_diagnostic`` and the unblinding columns of ``sccs_diagnostics_summary``, come from the
run's empirical calibration (:func:`analysis.omop.calibration.calibrate_results`).

The folder is written to a temporary sibling and moved into place at the end, so an error leaves
no partial output (and an existing folder untouched). An existing folder is replaced only when it
holds nothing but a previous run's ``sccs_*.csv`` tables (:func:`check_out`): any other file in
it is the user's, and the run refuses before it starts.

Examples
--------
>>> import pandas as pd
>>> censor(pd.DataFrame({"n": [0, 3, 5, None]}), ["n"], 5)["n"].tolist()
[0.0, -5.0, 5.0, nan]
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import PROJECT_ROOT
from analysis.omop.calibration import KEY, calibrate_results
from analysis.omop.diagnostics import outcome_rate_per_month
from analysis.omop.errors import OmopError
from analysis.omop.run import PairResult
from analysis.omop.spec import SccsAnalysesSpecifications
from analysis.omop.tables import spans

__all__ = ["SPECIFICATION", "censor", "check_out", "results_tables", "specification",
           "write_results"]

#: OHDSI's results data model specification (copied with provenance).
SPECIFICATION = PROJECT_ROOT / "data" / "external" / "ohdsi-sccs" / (
    "resultsDataModelSpecification.csv")
WRITTEN = ("sccs_analysis", "sccs_covariate_analysis", "sccs_exposures_outcome_set",
           "sccs_exposure", "sccs_era", "sccs_covariate", "sccs_covariate_result", "sccs_result",
           "sccs_attrition", "sccs_diagnostics_summary", "sccs_likelihood_profile",
           "sccs_time_trend", "sccs_time_to_event", "sccs_age_spanning",
           "sccs_calendar_time_spanning", "sccs_spline", "sccs_censor_model",
           "sccs_event_dep_observation")


def specification() -> pd.DataFrame:
    """OHDSI's specification table (``table_name, column_name, data_type, min_cell_count``...)."""
    return pd.read_csv(SPECIFICATION, dtype=str, keep_default_na=False)


def censor(df: pd.DataFrame, columns: Iterable[str], min_cell_count: int) -> pd.DataFrame:
    """OHDSI's ``enforceMinCellValue`` on each of ``columns``."""
    out = df.copy()
    for c in columns:
        v = pd.to_numeric(out[c])
        hit = v.notna() & (v < min_cell_count) & (v != 0)
        out[c] = v.where(~hit, -min_cell_count)
    return out


def _covariate_analysis(spec: SccsAnalysesSpecifications) -> list[dict[str, Any]]:
    rows = [{"analysis_id": a.analysis_id, "covariate_analysis_id": i,
             "covariate_analysis_name": s.label,
             "variable_of_interest": int(s.exposure_of_interest),
             "pre_exposure": int(bool(s.pre_exposure)), "end_of_observation_period": 0}
            for a in spec.sccs_analysis_list
            for i, s in enumerate(a.interval_args.era_covariate_settings, start=1)]
    rows.append({"analysis_id": 99, "covariate_analysis_id": 99,
                 "covariate_analysis_name": "End of observation period",
                 "variable_of_interest": 0, "pre_exposure": 0, "end_of_observation_period": 1})
    return rows


def _pair_tables(r: PairResult, db: str, calibrated: dict[tuple[int, int, int], dict[str, Any]]
                 ) -> dict[str, list[dict[str, Any]]]:
    key = {"analysis_id": r.analysis.analysis_id, "exposures_outcome_set_id": r.set_id,
           "database_id": db}
    t: dict[str, list[dict[str, Any]]] = {k: [] for k in WRITTEN}
    ids = {e.exposure_id for e in r.eo.exposures} | {r.eo.outcome_id}
    era = r.era_ref[r.era_ref["era_id"].isin(ids)]
    t["sccs_era"] = [{**key, "era_type": et, "era_id": int(ei), "era_name": en}
                     for et, ei, en in zip(era["era_type"], era["era_id"], era["era_name"],
                                           strict=True)]
    est = r.model.estimates
    for c in r.data.covariate_ref.itertuples():
        cid = int(c.covariate_id)
        t["sccs_covariate"].append({
            **key, "covariate_id": cid, "covariate_name": c.covariate_name,
            "era_id": int(c.original_era_id), "covariate_analysis_id": c.covariate_analysis_id})
        e = est.loc[cid] if cid in est.index else None
        t["sccs_covariate_result"].append({**key, "covariate_id": cid, **_rr(e)})
    for cid, prof in r.model.profiles.items():
        t["sccs_likelihood_profile"] += [{**key, "covariate_id": cid, "log_rr": b,
                                          "log_likelihood": ll, "gradient": None}
                                         for b, ll in zip(prof["log_rr"], prof["log_likelihood"],
                                                          strict=True)]
    att = r.population.attrition
    for row in r.rows:
        row = {**row, **calibrated[(r.analysis.analysis_id, r.set_id, row["covariate_id"])]}
        base = [{**key, "covariate_id": row["covariate_id"], "sequence_number": i,
                 **{k: a[k] for k in ("description", "outcome_subjects", "outcome_events",
                                      "outcome_observation_periods", "observed_days")}}
                for i, a in enumerate(att.to_dict("records"), start=1)]
        st = row["statistics"]
        base.append({**key, "covariate_id": row["covariate_id"], "sequence_number": len(att) + 1,
                     "description": "Having the covariate of interest",
                     "outcome_subjects": 0 if st is None else int(st["person_count"]),
                     "outcome_events": 0 if st is None else int(st["observed_outcome_count"]),
                     "outcome_observation_periods": 0 if st is None else int(
                         st["observation_period_count"]),
                     "observed_days": 0 if st is None else int(st["observed_day_count"])})
        t["sccs_attrition"] += base
        t["sccs_result"].append({**key, **row, **_rr(row)})
        t["sccs_diagnostics_summary"].append({**key, **row, "time_trend_p": None,
                                              "pre_exposure_p": None,
                                              "time_trend_diagnostic": "NOT EVALUATED",
                                              "pre_exposure_diagnostic": "NOT EVALUATED"})
    if r.censor_model is not None:
        t["sccs_censor_model"] = [
            {**key, "parameter_id": i, "parameter_value": float(v),
             "model_type": r.censor_model.model_type}
            for i, v in enumerate(r.censor_model.p, start=1)]
    t["sccs_time_trend"] = _time_trend(r, key)
    t["sccs_spline"] = _splines(r, key)
    for era_id, tte in r.time_to_event.items():
        t["sccs_time_to_event"] += [
            {**key, "era_id": era_id, "week": w, "observed_subjects": n, "outcomes": a + b}
            for w, n, a, b in tte[["week", "observed_subjects", "events_exposed",
                                   "events_unexposed"]].itertuples(index=False)]
    t["sccs_age_spanning"] = [{**key, **x} for x in spans(r.population, "age").to_dict("records")]
    t["sccs_calendar_time_spanning"] = [{**key, **x} for x in
                                        spans(r.population, "time").to_dict("records")]
    return t


def _rr(e: Any) -> dict[str, float]:
    if e is None:
        return {"rr": np.nan, "ci_95_lb": np.nan, "ci_95_ub": np.nan}
    return {"rr": float(np.exp(e["log_rr"])), "ci_95_lb": float(np.exp(e["log_lb95"])),
            "ci_95_ub": float(np.exp(e["log_ub95"]))}


def _time_trend(r: PairResult, key: dict[str, Any]) -> list[dict[str, Any]]:
    m = r.rates if r.rates is not None else outcome_rate_per_month(r.population)
    return [{**key, "calendar_year": int(mo // 12), "calendar_month": int(mo % 12 + 1),
             "observed_subjects": round(w), "ratio": ra, "adjusted_ratio": ad}
            for mo, w, ra, ad in zip(m["month"], m["observation_period_count"], m["ratio"],
                                     m["adjusted_ratio"], strict=True)]


def _splines(r: PairResult, key: dict[str, Any]) -> list[dict[str, Any]]:
    """OHDSI's sccs_spline rows: knot i of age / season (inner knots, then month 1 at rr 1) /
    calendar time paired with spline component i (as exportGroup does)."""
    eff, est = r.data.time_effects, r.model.estimates["log_rr"]
    rows = []

    def add(kind: str, knots: Any, base: int) -> None:
        for i, k in enumerate(knots):
            cid = base + i
            rr = float(np.exp(est[cid])) if cid in est.index else None
            rows.append({**key, "spline_type": kind, "knot_month": float(k), "rr": rr})

    if eff.age_knots is not None:
        add("age", eff.age_knots, 100)
    if eff.season_knots is not None:
        add("season", eff.season_knots[1:-1], 200)
        rows.append({**key, "spline_type": "season", "knot_month": 1.0, "rr": 1.0})
    if eff.calendar_knots is not None:
        add("calendar time", [k for seg in eff.calendar_knots for k in seg], 300)
    return rows


def results_tables(spec: SccsAnalysesSpecifications, results: list[PairResult],
                   database_id: str, min_cell_count: int) -> dict[str, pd.DataFrame]:
    """Every written table as a DataFrame, in OHDSI's columns, censored (see module docstring)."""
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in WRITTEN}
    rows["sccs_analysis"] = [{"analysis_id": a.analysis_id, "description": a.description,
                              "definition": a.definition} for a in spec.sccs_analysis_list]
    rows["sccs_covariate_analysis"] = _covariate_analysis(spec)
    seen: dict[int, Any] = {}
    cal = calibrate_results(spec, results).columns
    calibrated = {tuple(int(x) for x in k): v for k, v in
                  cal.set_index(KEY).to_dict("index").items()}
    for r in results:
        seen.setdefault(r.set_id, r.eo)
        for k, v in _pair_tables(r, database_id, calibrated).items():
            rows[k] += v
    for set_id, eo in seen.items():
        rows["sccs_exposures_outcome_set"].append({"exposures_outcome_set_id": set_id,
                                                   "outcome_id": eo.outcome_id,
                                                   "nesting_cohort_id": eo.nesting_cohort_id})
        rows["sccs_exposure"] += [{"exposures_outcome_set_id": set_id, "era_id": e.exposure_id,
                                   "true_effect_size": e.true_effect_size} for e in eo.exposures]
    sp = specification()
    return {name: _typed(pd.DataFrame(rows[name]), sp[sp["table_name"] == name], min_cell_count)
            for name in WRITTEN}


_INT = {"int", "bigint"}


def _typed(df: pd.DataFrame, cols: pd.DataFrame, min_cell_count: int) -> pd.DataFrame:
    names = cols["column_name"].tolist()
    df = df.reindex(columns=names)
    df = censor(df, cols.loc[(cols["min_cell_count"] == "Yes")
                             & cols["data_type"].isin(_INT | {"float"}), "column_name"],
                min_cell_count)
    for name, kind in zip(names, cols["data_type"], strict=True):
        if kind in _INT:
            df[name] = pd.to_numeric(df[name]).round().astype("Int64")
        elif kind == "float":
            df[name] = pd.to_numeric(df[name]).astype(float)
        else:
            df[name] = df[name].astype(object)
    return df.drop_duplicates().reset_index(drop=True)


def _text(df: pd.DataFrame) -> pd.DataFrame:
    """Infinite values as R writes them (``Inf``, ``-Inf``); the rest unchanged."""
    out = df.copy()
    for c in out.select_dtypes(include=float).columns:
        v = out[c]
        if np.isinf(v).any():
            out[c] = v.astype(object).where(~np.isinf(v), np.where(v > 0, "Inf", "-Inf"))
    return out


def check_out(out: str | Path) -> Path:
    """The results folder ``out`` may be written: new (in an existing folder), empty, or holding
    only a previous run's ``sccs_*.csv`` tables, which the run replaces.

    Raises
    ------
    OmopError
        Naming ``--out`` and, for a folder with other content, one of its other files.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_out(folder / "results").name
    'results'
    >>> _ = (folder / "notes.txt").write_text("mine")
    >>> try:
    ...     check_out(folder)
    ... except OmopError as exc:
    ...     print(str(exc).split(": ")[1].split(",")[0])
    holds notes.txt
    """
    out = Path(out)
    parent = out.resolve().parent
    if not parent.is_dir():
        raise OmopError(f"--out {out}: the parent folder {parent} does not exist")
    if out.exists() and not out.is_dir():
        raise OmopError(f"--out {out}: exists and is not a folder; refusing to replace it")
    if out.is_dir():
        other = sorted(p.name for p in out.iterdir()
                       if not (p.is_file() and p.name.startswith("sccs_") and p.suffix == ".csv"))
        if other:
            raise OmopError(f"--out {out}: holds {other[0]}, not only a previous run's sccs_*.csv "
                            "tables; refusing to replace it (choose a new or empty folder)")
    return out


def write_results(tables: dict[str, pd.DataFrame], out: str | Path) -> Path:
    """Write the tables as ``<table>.csv`` into ``out``, atomically (see module docstring).

    The files are written in a temporary sibling folder; a new ``out`` is that folder renamed, an
    existing one (empty, or a previous run's, :func:`check_out`) receives the files by rename and
    loses its other ``sccs_*.csv`` tables, so ``--out .`` works too.
    """
    given = check_out(out)
    out = given.resolve()
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, df in tables.items():
            _text(df).to_csv(tmp / f"{name}.csv", index=False, na_rep="NA", lineterminator="\n")
        if not out.exists():
            os.replace(tmp, out)
            return given
        for stale in out.glob("sccs_*.csv"):
            if not (tmp / stale.name).exists():
                stale.unlink()
        for new in tmp.iterdir():
            os.replace(new, out / new.name)
        tmp.rmdir()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return given

