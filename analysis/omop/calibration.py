"""OHDSI's empirical calibration step of ``runSccsAnalyses`` (``calibrateEstimates`` and
``calibrateGroup`` in ``R/RunAnalyses.R`` of SelfControlledCaseSeries 6.0.0), over the library's
:mod:`analysis.sccs.empirical`.

The estimates of every (exposures-outcome set, analysis) pair are grouped as OHDSI groups them:
with ``control_type: outcome`` (the default: negative-control *outcomes* of one exposure) by
analysis, exposure era, covariate and nesting cohort; with ``control_type: exposure`` by analysis,
outcome and covariate. In each group,

* the **negative controls** are the estimates whose exposure has ``true_effect_size: 1``, the
  **positive controls** those with another true effect size; either counts only with a standard
  error (not missing) and when its diagnostics allow calibration (no FAIL among time stability,
  event-exposure, event-observation and rare outcome: OHDSI's ``unblindForCalibration``);
* with at least :data:`MIN_CONTROLS` negative controls, the empirical null is fitted to them
  (:func:`~analysis.sccs.empirical.fit_null`; infinite and extreme estimates are dropped there, with
  a warning naming the group), and every estimate of the group gets its calibrated p-values
  (two-sided, and one-sided for an effect above the null), its calibrated estimate, 95% CI and SE
  (:func:`~analysis.sccs.empirical.calibrate_ci`) under the systematic error model fitted to
  negative and positive controls when there are at least :data:`MIN_CONTROLS` positive controls
  (:func:`~analysis.sccs.empirical.fit_systematic_error_model`), else under the null alone
  (:meth:`~analysis.sccs.empirical.SystematicErrorModel.from_null`), and the group's expected
  absolute systematic error (EASE);
* with fewer, the calibrated columns and EASE stay empty and the EASE diagnostic is
  ``NOT EVALUATED``.

EASE's diagnostic is PASS when EASE < ``ease_threshold`` (0.25 by default), and the unblinding
columns follow (:func:`analysis.omop.diagnostics.unblind_columns`).

One deliberate difference: OHDSI 6.0.0 fits the null by Markov chain Monte Carlo
(``fitMcmcNull``, 100,000 random Metropolis steps) and reports medians over the chain; here the
null is the maximum likelihood fit of ``fitNull`` (the library's one implementation), so that the
same run gives the same numbers on every machine. The two agree closely when the controls are
many and precise, and can differ with a handful of imprecise ones.

Examples
--------
>>> import pandas as pd
>>> rows = pd.DataFrame({"analysis_id": 1, "exposures_outcome_set_id": range(6),
...     "covariate_id": 1000, "era_id": 1, "outcome_id": range(10, 16),
...     "nesting_cohort_id": None, "true_effect_size": [1.0] * 5 + [None],
...     "log_rr": [0.1, 0.3, -0.1, 0.2, 0.0, 1.0], "se_log_rr": [0.1] * 6,
...     "unblind_for_calibration": True})
>>> out = calibrate_estimates(rows, "outcome")
>>> round(out.groups[0].null.mean, 3), out.groups[0].n_negative
(0.1, 5)
>>> bool(out.columns["calibrated_p"].notna().all())
True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.omop.diagnostics import (
    CALIBRATION_DIAGNOSTICS,
    ease_diagnostic,
    unblind_columns,
    unblind_for_calibration,
)
from analysis.omop.spec import SccsAnalysesSpecifications
from analysis.sccs import empirical
from analysis.sccs.empirical import EmpiricalNull, SystematicErrorModel
from analysis.sccs.errors import SCCSError, SCCSWarning

__all__ = ["CALIBRATED_COLUMNS", "MIN_CONTROLS", "Calibration", "GroupCalibration",
           "calibrate_estimates", "calibrate_results"]

#: OHDSI's minimum number of negative controls for a null, and of positive controls for the
#: systematic error model (``calibrateGroup``).
MIN_CONTROLS = 5
#: ``sccs_result`` columns filled by the calibration (OHDSI's results data model names).
CALIBRATED_COLUMNS = ("calibrated_rr", "calibrated_ci_95_lb", "calibrated_ci_95_ub",
                      "calibrated_p", "calibrated_one_sided_p", "calibrated_log_rr",
                      "calibrated_se_log_rr")
#: the columns identifying one estimate
KEY = ["analysis_id", "exposures_outcome_set_id", "covariate_id"]
#: OHDSI's grouping per control type
GROUPS = {"outcome": ["analysis_id", "era_id", "covariate_id", "nesting_cohort_id"],
          "exposure": ["analysis_id", "outcome_id", "covariate_id"]}


@dataclass(frozen=True)
class GroupCalibration:
    """One calibration group: its key, controls, and fitted null and model (None below
    :data:`MIN_CONTROLS` negative controls).

    Attributes
    ----------
    key : dict
        The grouping columns and their values (see :data:`GROUPS`).
    n_negative, n_positive : int
        Negative and positive controls that count (standard error present, diagnostics pass).
    null : EmpiricalNull or None
    model : SystematicErrorModel or None
        Fitted to the controls, or made from the null alone (``model.log_likelihood`` is NaN).
    ease : float
        Expected absolute systematic error (NaN without a null).

    Examples
    --------
    >>> GroupCalibration({"analysis_id": 1, "era_id": 1}, 3, 0).null is None
    True
    """

    key: dict[str, Any]
    n_negative: int
    n_positive: int
    null: EmpiricalNull | None = None
    model: SystematicErrorModel | None = None
    ease: float = math.nan


@dataclass(frozen=True)
class Calibration:
    """The calibration of a run.

    Attributes
    ----------
    columns : DataFrame
        One row per estimate: :data:`KEY`, then :data:`CALIBRATED_COLUMNS` and ``ease``.
    groups : list of GroupCalibration

    Examples
    --------
    >>> Calibration(pd.DataFrame(columns=KEY), []).groups
    []
    """

    columns: pd.DataFrame
    groups: list[GroupCalibration]


def _label(key: dict[str, Any]) -> str:
    return ", ".join(f"{k} {'NA' if pd.isna(v) else int(v)}" for k, v in key.items())


def _fit_null(y: np.ndarray, se: np.ndarray, label: str) -> EmpiricalNull | None:
    """The null of a group's negative controls, or None (with a warning) if fewer than 2 are
    usable; the library's warning about dropped estimates is repeated with the group named."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SCCSWarning)
            null = empirical.fit_null(y, se)
    except SCCSError as exc:
        warnings.warn(f"calibration group ({label}): {exc}; its estimates are not calibrated",
                      SCCSWarning, stacklevel=4)
        return None
    for w in caught:
        warnings.warn(f"calibration group ({label}): {w.message}", SCCSWarning, stacklevel=4)
    return null


def _model(null: EmpiricalNull, y: np.ndarray, se: np.ndarray, true_rr: np.ndarray,
           n_positive: int, label: str) -> SystematicErrorModel:
    if n_positive < MIN_CONTROLS:
        return SystematicErrorModel.from_null(null)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SCCSWarning)  # drops already reported by the null
            return empirical.fit_systematic_error_model(y, se, np.log(true_rr))
    except SCCSError as exc:
        warnings.warn(f"calibration group ({label}): {exc}; the confidence intervals are "
                      "calibrated with the null alone", SCCSWarning, stacklevel=4)
        return SystematicErrorModel.from_null(null)


def _calibrate_group(g: pd.DataFrame, key: dict[str, Any]) -> tuple[pd.DataFrame,
                                                                      GroupCalibration]:
    counts = g["se_log_rr"].notna() & g["unblind_for_calibration"].astype(bool)
    true = pd.to_numeric(g["true_effect_size"]).to_numpy(dtype=float)
    neg = counts.to_numpy() & (true == 1.0)
    pos = counts.to_numpy() & np.isfinite(true) & (true != 1.0)
    out = pd.DataFrame(math.nan, index=g.index, columns=[*CALIBRATED_COLUMNS, "ease"])
    out[KEY] = g[KEY]
    info = GroupCalibration(key, int(neg.sum()), int(pos.sum()))
    y, se = g["log_rr"].to_numpy(dtype=float), g["se_log_rr"].to_numpy(dtype=float)
    null = None
    if info.n_negative >= MIN_CONTROLS:
        null = _fit_null(y[neg], se[neg], _label(key))
    if null is None:
        return out, info
    ctl = neg | pos
    model = _model(null, y[ctl], se[ctl], true[ctl], info.n_positive, _label(key))
    ci = empirical.calibrate_ci(y, se, model)
    out["calibrated_log_rr"] = ci["log_rr"].to_numpy()
    out["calibrated_se_log_rr"] = ci["se_log_rr"].to_numpy()
    out["calibrated_rr"] = np.exp(ci["log_rr"].to_numpy())
    out["calibrated_ci_95_lb"] = np.exp(ci["log_lb95"].to_numpy())
    out["calibrated_ci_95_ub"] = np.exp(ci["log_ub95"].to_numpy())
    out["calibrated_p"] = empirical.calibrate_p(null, y, se)
    out["calibrated_one_sided_p"] = empirical.calibrate_p(null, y, se, two_sided=False, upper=True)
    ease = empirical.expected_absolute_systematic_error(null)
    out["ease"] = ease
    return out, GroupCalibration(key, info.n_negative, info.n_positive, null, model, ease)


def calibrate_estimates(rows: pd.DataFrame, control_type: str = "outcome") -> Calibration:
    """Calibrate every group of estimates (see the module docstring).

    Parameters
    ----------
    rows : DataFrame
        One row per estimate: :data:`KEY`, ``era_id``, ``outcome_id``, ``nesting_cohort_id``,
        ``true_effect_size`` (NaN/None when not a control), ``log_rr``, ``se_log_rr`` and
        ``unblind_for_calibration`` (see :func:`analysis.omop.diagnostics.
        unblind_for_calibration`).
    control_type : {'outcome', 'exposure'}
        How OHDSI groups the estimates (the specification's ``control_type``).

    Returns
    -------
    Calibration

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"analysis_id": [1], "exposures_outcome_set_id": [7],
    ...     "covariate_id": [1000], "era_id": [1], "outcome_id": [3], "nesting_cohort_id": [None],
    ...     "true_effect_size": [None], "log_rr": [0.5], "se_log_rr": [0.2],
    ...     "unblind_for_calibration": [True]})
    >>> c = calibrate_estimates(rows)
    >>> c.groups[0].n_negative, c.columns["calibrated_p"].isna().all()
    (0, np.True_)
    """
    if control_type not in GROUPS:
        raise SCCSError(f"control_type: must be 'outcome' or 'exposure' (got {control_type!r})")
    cols = [*KEY, *CALIBRATED_COLUMNS, "ease"]
    if rows.empty:
        return Calibration(pd.DataFrame(columns=cols), [])
    by = GROUPS[control_type]
    parts, groups = [], []
    for values, g in rows.groupby(by, dropna=False, sort=True):
        out, info = _calibrate_group(g, dict(zip(by, values, strict=True)))
        parts.append(out)
        groups.append(info)
    columns = pd.concat(parts).loc[rows.index, cols].reset_index(drop=True)
    return Calibration(columns, groups)


def _estimate_rows(results: Sequence[Any]) -> pd.DataFrame:
    """One row per estimate of the run's :class:`~analysis.omop.run.PairResult` objects."""
    rows = [{"analysis_id": row["analysis_id"],
             "exposures_outcome_set_id": row["exposures_outcome_set_id"],
             "covariate_id": row["covariate_id"], "era_id": row["era_id"],
             "outcome_id": r.eo.outcome_id, "nesting_cohort_id": r.eo.nesting_cohort_id,
             "true_effect_size": row["true_effect_size"], "log_rr": row["log_rr"],
             "se_log_rr": row["se_log_rr"], "unblind_for_calibration": unblind_for_calibration(row),
             "mdrr_diagnostic": row["mdrr_diagnostic"],
             **{k: row[k] for k in CALIBRATION_DIAGNOSTICS}}
            for r in results for row in r.rows]
    return pd.DataFrame(rows, columns=[*KEY, "era_id", "outcome_id", "nesting_cohort_id",
                                       "true_effect_size", "log_rr", "se_log_rr",
                                       "unblind_for_calibration", "mdrr_diagnostic",
                                       *CALIBRATION_DIAGNOSTICS])


def calibrate_results(spec: SccsAnalysesSpecifications, results: Sequence[Any]) -> Calibration:
    """Calibrate a run (:func:`analysis.omop.run.run_analyses`'s results) as OHDSI's
    ``summarizeResults``: :func:`calibrate_estimates` with the specification's ``control_type``,
    then ``ease_diagnostic`` (against ``sccs_diagnostic_thresholds.ease_threshold``),
    ``unblind_for_evidence_synthesis`` and ``unblind`` added to :attr:`Calibration.columns`.

    Returns
    -------
    Calibration

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from analysis.omop.spec import parse_specification
    >>> spec = parse_specification({
    ...     "exposures_outcome_list": [{"outcome_id": 3, "exposures": [{"exposure_id": 1}]}],
    ...     "sccs_analysis_list": [{"create_sccs_interval_data_args": {"era_covariate_settings": [
    ...         {"include_era_ids": ["exposureId"], "exposure_of_interest": True}]}}]})
    >>> diagnostics = {**dict.fromkeys(CALIBRATION_DIAGNOSTICS, "PASS"), "mdrr_diagnostic": "PASS"}
    >>> rows = [{"analysis_id": 1, "exposures_outcome_set_id": i, "covariate_id": 1000,
    ...          "era_id": 1, "true_effect_size": 1.0, "log_rr": y, "se_log_rr": 0.1,
    ...          **diagnostics} for i, y in enumerate([0.1, 0.3, -0.1, 0.2, 0.0])]
    >>> pair = SimpleNamespace(eo=spec.exposures_outcome_list[0], rows=rows)
    >>> cols = calibrate_results(spec, [pair]).columns
    >>> print(round(float(cols["ease"][0]), 4), cols["ease_diagnostic"][0], cols["unblind"][0])
    0.1167 PASS 1
    """
    rows = _estimate_rows(results)
    cal = calibrate_estimates(rows, spec.control_type)
    cols = cal.columns
    th = spec.sccs_diagnostic_thresholds.ease_threshold
    cols["ease_diagnostic"] = [ease_diagnostic(float(e), th) for e in cols["ease"]]
    flags = [unblind_columns({**d, "ease_diagnostic": e})
             for d, e in zip(rows.to_dict("records"), cols["ease_diagnostic"], strict=True)]
    for name in ("unblind_for_evidence_synthesis", "unblind"):
        cols[name] = [f[name] for f in flags]
    return cal
