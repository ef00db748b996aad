"""Results of the SCCS extensions: estimates, covariance and R's summary table (private)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm


@dataclass
class Estimates:
    """Log relative incidences with their covariance, as the extensions report them.

    ``params`` and ``bse`` are Series indexed by term; an aliased term is NaN in both (R prints
    NA). ``summary`` has R's columns: ``coef, exp_coef, se, z, p, lower95, upper95`` (Wald, with
    ``qnorm(1 - alpha / 2)``)."""

    params: pd.Series
    bse: pd.Series
    cov: pd.DataFrame
    loglik: float
    alpha: float = 0.05
    aliased: list[str] = field(default_factory=list)
    converged: bool = True
    n_iter: int = 0

    @property
    def summary(self) -> pd.DataFrame:
        """One row per term: coef, exp_coef, se, z, p, lower95, upper95 (R's table)."""
        z = float(norm.ppf(1.0 - self.alpha / 2.0))
        b, se = self.params, self.bse
        with np.errstate(over="ignore", invalid="ignore"):
            out = pd.DataFrame({
                "coef": b, "exp_coef": np.exp(b), "se": se, "z": b / se,
                "p": 2.0 * norm.sf(np.abs(b / se)),
                "lower95": np.exp(b - z * se), "upper95": np.exp(b + z * se),
            })
        out.index.name = "term"
        return out

    def cov_params(self) -> pd.DataFrame:
        """Covariance matrix of the estimates (NaN rows and columns for aliased terms)."""
        return self.cov


def estimates(
    names: list[str], theta: np.ndarray, cov: np.ndarray, keep: np.ndarray, loglik: float,
    *, alpha: float, converged: bool, n_iter: int,
) -> Estimates:
    """Place the estimates of the kept parameters (``keep``: indices into ``names``) in the full
    list of names, NaN for the others (aliased)."""
    q = len(names)
    full = np.full(q, np.nan)
    full[keep] = theta
    c = np.full((q, q), np.nan)
    c[np.ix_(keep, keep)] = cov
    aliased = [names[j] for j in sorted(set(range(q)) - set(int(k) for k in keep))]
    return Estimates(
        pd.Series(full, index=names, name="coef"),
        pd.Series(np.sqrt(np.diag(c)), index=names, name="se"),
        pd.DataFrame(c, index=names, columns=names), loglik, alpha, aliased, converged, n_iter,
    )
