"""Result objects of :mod:`analysis.sccs.r`: R's summary table, its printout and JSON.

Private to :mod:`analysis.sccs.r`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.sccs._stats import chi2_sf
from analysis.sccs.errors import SCCSError
from analysis.sccs.results import SUMMARY_COLUMNS

#: Columns of :attr:`RFit.summary`, in order: R's summary (``coef, exp(coef), se(coef), z,
#: Pr(>|z|)`` and the limits of ``exp(coef)``) in names a data frame can hold. These and R's
#: printed names live in :mod:`analysis.sccs.r` only; the rest of the library reports
#: :data:`analysis.sccs.results.SUMMARY_COLUMNS`.
COLUMNS = ("coef", "exp_coef", "se", "z", "p", "lower95", "upper95")
#: The library's summary columns (:func:`analysis.sccs.results.wald_table`) by R's names.
_FROM_LIBRARY = {"log_irr": "coef", "irr": "exp_coef", "se": "se", "z": "z", "p": "p",
                 "ci_low": "lower95", "ci_high": "upper95"}


def _num(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


@dataclass
class RFit:
    """What an :mod:`analysis.sccs.r` model function returns (R's ``summary`` object).

    R's object, by R's names; the engine's result, in ``fit``, is the library's
    :class:`~analysis.sccs.results.Estimates` (``params``, ``bse``, ``pvalues``,
    ``conf_int()``, ``summary`` in the library's columns).

    Attributes
    ----------
    summary:
        One row per coefficient, indexed by R's name (``mmr1``, ``age2``, ``factor(sex)2``,
        ``factor(sex)2:mmr1``), columns ``coef, exp_coef, se, z, p, lower95, upper95``; an
        aliased term is NaN throughout (R prints NA). Built from the library's
        :func:`~analysis.sccs.results.wald_table` (whose columns it renames).
    loglik, loglik_null:
        Log-likelihood at the estimate and at 0 (R's ``summary(fit)$loglik``); None where the R
        function reports none.
    n_cases, n_events:
        Cases and events used.
    model:
        ``"standardsccs"``, ``"semisccs"``, ``"eventdepenexp"`` or ``"eventdepenobs"``.
    modelfit:
        ``eventdepenobs`` only: rows ``Loglik`` and ``AIC``, columns ``EWA EWI EGA EGI``.
    fit:
        The engine's own result object (for everything R does not print).
    warnings:
        Messages of the warnings the engine raised.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs import r
    >>> d = pd.DataFrame({"case": [1, 2, 3], "sta": 1, "end": 100, "ev": [10, 60, 80],
    ...                   "vac": [5, 10, 70]})
    >>> fit = r.standardsccs("event ~ vac", indiv="case", astart="sta", aend="end", aevent="ev",
    ...                      adrug="vac", aedrug="vac+20", data=d)
    >>> print(fit)
    standardsccs: n = 3 cases, number of events = 3
    <BLANKLINE>
          coef  exp(coef)  se(coef)     z  Pr(>|z|)
    vac1 2.018      7.524     1.225 1.648    0.0994
    <BLANKLINE>
          exp(coef)  exp(-coef)  lower .95  upper .95
    vac1      7.524      0.1329     0.6822      82.97
    <BLANKLINE>
    log-likelihood = -2.0305; likelihood ratio test = 2.895 on 1 df, p = 0.0889
    >>> fit.df, [round(v, 4) for v in fit.logtest]
    (1, [2.895, 1, 0.0889])
    >>> fit.to_dict()["terms"][0]["term"]
    'vac1'
    """

    summary: pd.DataFrame
    n_cases: int
    n_events: int
    model: str
    loglik: float | None = None
    loglik_null: float | None = None
    modelfit: pd.DataFrame | None = None
    fit: Any = None
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if tuple(self.summary.columns) == SUMMARY_COLUMNS:
            table = self.summary.rename(columns=_FROM_LIBRARY)[list(COLUMNS)]
            table.attrs = dict(self.summary.attrs)
            self.summary = table
        elif tuple(self.summary.columns) != COLUMNS:
            raise SCCSError(f"RFit: summary columns must be {SUMMARY_COLUMNS} (the library's "
                            f"wald_table) or {COLUMNS}, got {list(self.summary.columns)}")

    @property
    def df(self) -> int:
        """Number of estimated (not aliased) coefficients."""
        return int(self.summary["coef"].notna().sum())

    @property
    def logtest(self) -> tuple[float, int, float] | None:
        """R's ``logtest``: likelihood-ratio test against all coefficients 0 (test, df, p)."""
        if self.loglik is None or self.loglik_null is None:
            return None
        test = 2.0 * (self.loglik - self.loglik_null)
        return test, self.df, chi2_sf(test, self.df)

    @property
    def coefficients(self) -> pd.DataFrame:
        """R's ``$coefficients`` (coef, exp(coef), se(coef), z, Pr(>|z|))."""
        s = self.summary
        return pd.DataFrame({"coef": s["coef"], "exp(coef)": s["exp_coef"],
                             "se(coef)": s["se"], "z": s["z"], "Pr(>|z|)": s["p"]})

    @property
    def conf_int(self) -> pd.DataFrame:
        """R's ``$conf.int`` (exp(coef), exp(-coef), lower .95, upper .95)."""
        s = self.summary
        return pd.DataFrame({"exp(coef)": s["exp_coef"], "exp(-coef)": np.exp(-s["coef"]),
                             "lower .95": s["lower95"], "upper .95": s["upper95"]})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: model, cases, events, log-likelihoods, terms (non-finite -> None)."""
        doc: dict[str, Any] = {
            "model": self.model, "n_cases": int(self.n_cases), "n_events": int(self.n_events),
            "loglik": None if self.loglik is None else _num(self.loglik),
            "loglik_null": None if self.loglik_null is None else _num(self.loglik_null),
            "terms": [{"term": t, **{c: _num(row[c]) for c in COLUMNS}}
                      for t, row in self.summary.iterrows()],
        }
        if self.modelfit is not None:
            doc["modelfit"] = {m: {r: _num(self.modelfit.loc[r, m]) for r in self.modelfit.index}
                               for m in self.modelfit.columns}
        return doc

    def __str__(self) -> str:
        def fmt(df: pd.DataFrame) -> str:
            return df.rename_axis(None).to_string(float_format=lambda v: f"{v:.4g}",
                                                  na_rep="NA")

        lines = [f"{self.model}: n = {self.n_cases} cases, number of events = {self.n_events}",
                 "", fmt(self.coefficients), "", fmt(self.conf_int)]
        if self.loglik is not None:
            lines += ["", f"log-likelihood = {self.loglik:.6g}"]
            lt = self.logtest
            if lt is not None:
                lines[-1] += f"; likelihood ratio test = {lt[0]:.4g} on {lt[1]} df, p = {lt[2]:.3g}"
        if self.modelfit is not None:
            lines += ["", "modelfit:", fmt(self.modelfit)]
        return "\n".join(lines)


@dataclass(frozen=True)
class RLRTest:
    """R's ``lrtsccs(model1, model2)``: ``test``, ``df``, ``pvalue`` as R prints them (4
    significant digits; R computes the p-value from the rounded statistic), and the unrounded
    ``test_exact`` and ``pvalue_exact``.

    Examples
    --------
    >>> RLRTest(1.639, 1, 0.2005, 1.63912, 0.20048).table
         test  df  pvalue
       1.639   1  0.2005
    """

    test: float
    df: int
    pvalue: float
    test_exact: float
    pvalue_exact: float

    @property
    def table(self) -> pd.DataFrame:
        """The one-row data frame R prints."""
        return pd.DataFrame({"test": [self.test], "df": [self.df], "pvalue": [self.pvalue]},
                            index=[" "])
