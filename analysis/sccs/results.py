"""Results of SCCS fits: estimates, standard errors, confidence intervals, tests.

Every fitter of the library returns an :class:`Estimates` (or a subclass), in the shape of
statsmodels' results: ``params`` and ``bse`` (log relative incidences and their standard errors,
by term), ``pvalues``, ``conf_int(alpha, method)``, ``cov_params()``, ``summary``, ``loglik``,
``n_cases``, ``n_events``, ``aliased``, ``converged``. :meth:`analysis.sccs.SCCS.fit` returns an
:class:`SCCSResults` (profile-likelihood intervals, likelihood-ratio tests, JSON); the
extensions (semiparametric, event-dependent exposures and observation) and the smooth fits
return their own subclasses. Every summary is one :func:`wald_table`, columns
:data:`SUMMARY_COLUMNS`, with the alpha it was computed at in ``summary.attrs["alpha"]``. R's
column names (``exp(coef)``, ``lower .95``, ...) are :mod:`analysis.sccs.r`'s only.

One rule for aliased terms (a term that is zero for all the cases' person-time, does not vary
within any case, or is a linear combination of other terms within cases): every fitter reports
it with NaN ``params`` and ``bse``, lists it in ``aliased`` and raises an
:class:`~analysis.sccs.SCCSWarning` naming it; the other terms are estimated without it (R
prints NA).

The normal and chi-squared tail areas come from :mod:`analysis.sccs._stats` (no
:mod:`scipy.stats`, whose import alone takes about a second).

Examples
--------
>>> import pandas as pd
>>> from analysis.sccs import SCCS
>>> data = pd.DataFrame({"id": [1, 1, 2, 2], "exposed": [0, 1, 0, 1],
...                      "days": [100, 50, 80, 40], "events": [1, 2, 2, 1]})
>>> fit = SCCS().fit(data, ["exposed"])
>>> fit.summary.round(3)[["irr", "ci_low", "ci_high"]]
         irr  ci_low  ci_high
term
exposed  2.0   0.404    9.909
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.sccs._stats import chi2_sf, normal_quantile, normal_two_sided_p
from analysis.sccs.errors import SCCSError

if TYPE_CHECKING:
    from analysis.sccs._kernels import Cases

__all__ = ["SUMMARY_COLUMNS", "Estimates", "LRTest", "SCCSResults", "estimates", "wald_table"]

LRTest = namedtuple("LRTest", ["statistic", "df", "p"])
LRTest.__doc__ = """Likelihood-ratio test of a restricted model nested in a fuller one.

Fields: ``statistic`` (2 x log-likelihood gain), ``df`` (terms dropped), ``p`` (chi-squared
tail area).

Examples
--------
>>> from analysis.sccs import LRTest
>>> LRTest(3.84, 1, 0.05).df
1
"""

#: Columns of every summary of the library (:func:`wald_table`), in order: the incidence rate
#: ratio and its Wald limits at 1 - alpha, the two-sided Wald p-value, the log-IRR, its
#: standard error and z = log_irr / se.
SUMMARY_COLUMNS = ("irr", "ci_low", "ci_high", "p", "log_irr", "se", "z")


def wald_table(
    terms: Sequence[str],
    coef: np.ndarray | pd.Series,
    se: np.ndarray | pd.Series,
    *,
    alpha: float = 0.05,
    z_ci: float | None = None,
) -> pd.DataFrame:
    """The Wald summary table: one row per term, columns :data:`SUMMARY_COLUMNS`.

    ``z = log_irr / se``, ``p`` the two-sided normal tail area of ``z``, and the limits
    ``exp(log_irr -+ z_ci se)`` with ``z_ci = qnorm(1 - alpha / 2)`` (1.959963984540054 for
    the default alpha, what R's ``summary.coxph`` uses) unless ``z_ci`` is given (R's
    ``summary.sccs`` uses 1.96). A NaN coefficient (an aliased term) gives a NaN row, as R
    prints NA; an infinite one gives ``irr`` 0 or inf and NaN ``z``, ``p`` and limits when its
    ``se`` is NaN. The index is the terms, named ``term``; ``attrs["alpha"]`` is the alpha of
    the limits (``attrs["z_ci"]`` their multiplier).

    Examples
    --------
    >>> table = wald_table(["x", "y"], [0.693147, float("nan")], [0.5, float("nan")])
    >>> table.round(4)
          irr  ci_low  ci_high       p  log_irr   se       z
    term
    x     2.0  0.7506   5.3288  0.1657   0.6931  0.5  1.3863
    y     NaN     NaN      NaN     NaN      NaN  NaN     NaN
    >>> table.attrs["alpha"]
    0.05
    """
    coef = np.asarray(coef, dtype=float)
    se = np.asarray(se, dtype=float)
    zc = normal_quantile(1.0 - alpha / 2.0) if z_ci is None else float(z_ci)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        z = coef / se
        table = pd.DataFrame({
            "irr": np.exp(coef), "ci_low": np.exp(coef - zc * se),
            "ci_high": np.exp(coef + zc * se), "p": normal_two_sided_p(z), "log_irr": coef,
            "se": se, "z": z,
        }, index=pd.Index(list(terms), name="term"))
    table.attrs.update(alpha=float(alpha), z_ci=zc)
    return table


def _check_alpha(alpha: float) -> float:
    a = float(alpha)
    if not 0.0 < a < 1.0:
        raise SCCSError(f"alpha must be between 0 and 1, got {a}")
    return a


@dataclass(eq=False)
class Estimates:
    """The one results base of the library: log relative incidences with their covariance.

    Every fitter's result is one (:class:`SCCSResults`,
    :class:`~analysis.sccs.semiparametric.SemiparametricResult`,
    :class:`~analysis.sccs.eventdep_exposure.EventDepExposureResult`,
    :class:`~analysis.sccs.eventdep_observation.EventDepObservationResult`,
    :class:`~analysis.sccs.smooth.SmoothFit`); the subclasses add their own fields.

    Attributes
    ----------
    params, bse : pandas.Series
        Log-IRR estimates and standard errors indexed by term (named ``log_irr`` and ``se``).
        An aliased term is NaN in both and listed in ``aliased``; a term with an infinite
        estimate is -inf or +inf with NaN ``bse``.
    cov : pandas.DataFrame
        Their covariance (:meth:`cov_params`; NaN rows and columns for aliased and infinite
        terms).
    loglik : float
        Log-likelihood at the estimate (each fitter says which likelihood).
    alpha : float
        Default level of :meth:`conf_int` and :attr:`summary`.
    aliased : list of str
        Terms the data do not determine (NaN).
    converged, n_iter :
        Convergence of the fit.
    n_cases, n_events : int
        Cases and events the fit used.

    Examples
    --------
    >>> import numpy as np
    >>> est = estimates(["x", "z"], np.array([0.5]), np.array([[0.04]]), np.array([0]), -3.2,
    ...                 alpha=0.05, converged=True, n_iter=4)
    >>> est.aliased, est.bse.tolist()
    (['z'], [0.2, nan])
    >>> est.summary.round(3).loc["x", ["irr", "ci_low", "ci_high"]].tolist()
    [1.649, 1.114, 2.44]
    """

    params: pd.Series
    bse: pd.Series
    cov: pd.DataFrame
    loglik: float
    alpha: float = 0.05
    aliased: list[str] = field(default_factory=list)
    converged: bool = True
    n_iter: int = 0
    n_cases: int = 0
    n_events: int = 0

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided Wald p-values by term (NaN for aliased and infinite terms).

        Examples
        --------
        >>> import numpy as np
        >>> est = estimates(["x"], np.array([0.0]), np.array([[1.0]]), np.array([0]), -1.0,
        ...                 alpha=0.05, converged=True, n_iter=1)
        >>> est.pvalues.tolist()
        [1.0]
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            z = self.params.to_numpy(dtype=float) / self.bse.to_numpy(dtype=float)
        return pd.Series(normal_two_sided_p(z), index=self.params.index, name="p")

    def cov_params(self) -> pd.DataFrame:
        """Covariance matrix of the estimates (NaN rows and columns for aliased terms).

        Examples
        --------
        >>> import numpy as np
        >>> est = estimates(["x", "z"], np.array([0.5]), np.array([[0.04]]), np.array([0]),
        ...                 -3.2, alpha=0.05, converged=True, n_iter=4)
        >>> float(est.cov_params().loc["x", "x"])
        0.04
        """
        return self.cov

    def conf_int(self, alpha: float | None = None, method: str = "wald") -> pd.DataFrame:
        """Confidence intervals on the log scale, columns ``lower`` and ``upper``.

        Parameters
        ----------
        alpha : float, optional
            1 - confidence level (default: the fit's ``alpha``, 0.05).
        method : {"wald", "profile"}
            ``"wald"``: estimate +- z se with z = qnorm(1 - alpha/2). ``"profile"``:
            profile-likelihood limits, where the fitter supports them
            (:class:`SCCSResults`); elsewhere an :class:`~analysis.sccs.SCCSError` names the
            method and the result type.

        Examples
        --------
        >>> import numpy as np
        >>> est = estimates(["x"], np.array([0.0]), np.array([[1.0]]), np.array([0]), -1.0,
        ...                 alpha=0.05, converged=True, n_iter=1)
        >>> est.conf_int().round(3)
           lower  upper
        x  -1.96   1.96
        >>> try:
        ...     est.conf_int(method="profile")
        ... except SCCSError as err:
        ...     print(str(err)[:61])
        conf_int: method 'profile' is not available for Estimates (it
        """
        a = _check_alpha(self.alpha if alpha is None else alpha)
        if method == "profile":
            return self._profile_conf_int(a)
        if method != "wald":
            raise SCCSError(f"conf_int: method must be 'wald' or 'profile', got {method!r}")
        z = normal_quantile(1.0 - a / 2.0)  # qnorm(0.975) = 1.959963984540054 for alpha 0.05
        return pd.DataFrame({"lower": self.params - z * self.bse,
                             "upper": self.params + z * self.bse}, index=self.params.index)

    def _profile_conf_int(self, alpha: float) -> pd.DataFrame:
        raise SCCSError(
            f"conf_int: method 'profile' is not available for {type(self).__name__} (its "
            "likelihood is not the standard conditional one); use method='wald'"
        )

    @property
    def summary(self) -> pd.DataFrame:
        """One row per term, columns :data:`SUMMARY_COLUMNS` (``irr, ci_low, ci_high, p,
        log_irr, se, z``): :func:`wald_table` at the fit's ``alpha`` (in ``attrs["alpha"]``).

        Examples
        --------
        >>> import numpy as np
        >>> est = estimates(["x"], np.array([0.0]), np.array([[1.0]]), np.array([0]), -1.0,
        ...                 alpha=0.1, converged=True, n_iter=1)
        >>> est.summary.loc["x", ["z", "p"]].tolist(), est.summary.attrs["alpha"]
        ([0.0, 1.0], 0.1)
        """
        return wald_table(self.params.index, self.params, self.bse, alpha=self.alpha)


def estimates(
    names: list[str], theta: np.ndarray, cov: np.ndarray, keep: np.ndarray, loglik: float,
    *, alpha: float, converged: bool, n_iter: int, n_cases: int = 0, n_events: int = 0,
) -> Estimates:
    """Place the estimates of the kept parameters (``keep``: indices into ``names``) in the full
    list of names, NaN for the others (aliased).

    Examples
    --------
    >>> import numpy as np
    >>> estimates(["a", "b", "c"], np.array([1.0, 2.0]), np.eye(2), np.array([0, 2]), 0.0,
    ...           alpha=0.05, converged=True, n_iter=1).params.tolist()
    [1.0, nan, 2.0]
    """
    q = len(names)
    full = np.full(q, np.nan)
    full[keep] = theta
    c = np.full((q, q), np.nan)
    c[np.ix_(keep, keep)] = cov
    aliased = [names[j] for j in sorted(set(range(q)) - set(int(k) for k in keep))]
    return Estimates(
        pd.Series(full, index=names, name="log_irr"),
        pd.Series(np.sqrt(np.diag(c)), index=names, name="se"),
        pd.DataFrame(c, index=names, columns=names), loglik, alpha, aliased, converged, n_iter,
        n_cases, n_events,
    )


@dataclass
class _FitData:
    """What a results object keeps of the fitted data, for profile likelihoods and LR tests.

    ``cases``: the sorted, compressed case arrays with every term that is not aliased (before
    any term was set to an infinite limit), ``columns`` their names; ``loglik_shift``: the
    constant that restores the log-likelihood of the uncompressed rows; ``fingerprint``: case
    ids, events and observed days per case.
    """

    cases: Cases
    loglik_shift: float
    fingerprint: tuple[np.ndarray, np.ndarray, np.ndarray]
    columns: list[str] = field(default_factory=list)


class SCCSResults(Estimates):
    """A fitted SCCS model: what :meth:`analysis.sccs.SCCS.fit` returns.

    An :class:`Estimates` (``params``, ``bse``, ``pvalues``, ``conf_int()``, ``cov_params()``,
    ``summary``, ``loglik``, ``n_cases``, ``n_events``, ``aliased``, ``converged``) with
    profile-likelihood intervals, likelihood-ratio tests (:meth:`lr_test`) and
    :meth:`to_dict`.

    Attributes
    ----------
    model : SCCS
        The model that was fitted (its ``tol``, ``max_iter``, ``alpha``); typed ``Any`` here
        because :mod:`analysis.sccs.model` imports this module.
    terms : list of str
        The model terms, in order (aliased ones included).
    loglik_null : float
        Log-likelihood at b = 0; with ``loglik``, in R's convention (the ``log d`` of each
        event's interval included), so they equal R clogit's values on R's intervals.
    max_abs_gradient : float
        Largest absolute score at the estimate.
    n_intervals : int
        The cases' interval rows in the input.
    boundary_terms : dict
        ``{term: message}`` for terms with an infinite estimate.
    warnings : list of str
        The messages of every :class:`~analysis.sccs.SCCSWarning` the fit raised.
    cov_type : str
        ``"model"`` or ``"robust"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs import SCCS
    >>> data = pd.DataFrame({"id": [1, 1], "exposed": [1, 0], "days": [40, 200],
    ...                      "events": [2, 3]})
    >>> fit = SCCS().fit(data, ["exposed"])
    >>> round(float(fit.params["exposed"]), 6), fit.n_cases, fit.converged
    (1.203973, 1, True)

    Wald intervals as R's ``standardsccs`` prints them, and profile-likelihood ones (the
    values where 2 (loglik - profile loglik) equals the chi-squared(1) quantile, profiling out
    the other terms: :func:`analysis.sccs.profile.profile_conf_int`; better in small studies,
    one-sided when a level has no events):

    >>> fit.conf_int().round(4)
              lower   upper
    exposed -0.5852  2.9932
    >>> fit.conf_int(method="profile").round(4)
             lower   upper
    exposed -0.823  3.0013
    """

    def __init__(
        self,
        *,
        model: Any,
        terms: list[str],
        beta: np.ndarray,
        cov: np.ndarray,
        loglik: float,
        loglik_null: float,
        converged: bool,
        n_iter: int,
        max_abs_gradient: float,
        counts: tuple[int, int, int],
        boundary_terms: dict[str, str],
        warnings: list[str],
        cov_type: str,
        data: _FitData,
        aliased: list[str] | None = None,
    ) -> None:
        super().__init__(
            params=pd.Series(beta, index=terms, name="log_irr", dtype=float),
            bse=pd.Series(np.sqrt(np.diag(cov)), index=terms, name="se", dtype=float),
            cov=pd.DataFrame(cov, index=terms, columns=terms), loglik=loglik,
            alpha=model.alpha, aliased=list(aliased or []), converged=converged,
            n_iter=n_iter, n_cases=counts[0], n_events=counts[1],
        )
        self.model = model
        self.terms = terms
        self.loglik_null = loglik_null
        self.max_abs_gradient = max_abs_gradient
        self.n_intervals = counts[2]
        self.boundary_terms = boundary_terms
        self.warnings = warnings
        self.cov_type = cov_type
        self._data = data
        self._fingerprint = data.fingerprint

    def _profile_conf_int(self, alpha: float) -> pd.DataFrame:
        from analysis.sccs.profile import profile_conf_int

        return profile_conf_int(self, alpha)

    # ---- tests ------------------------------------------------------------------------------

    def lr_test(self, restricted: SCCSResults) -> LRTest:
        """Likelihood-ratio test of ``restricted`` (nested) against this model.

        Nesting is checked as far as the data allow: the restricted model's terms must be a
        strict subset of this model's (by name), and both must be fitted to the same cases with
        the same events and the same total observed days per case (the interval cut points may
        differ, as in R's ``lrtsccs`` examples). The statistic is
        2[(loglik - loglik_null) - (loglik_r - loglik_null_r)], which equals
        2(loglik - loglik_r) when the intervals are the same and, like R's ``lrtsccs``, does not
        depend on how the observation periods were cut.

        Examples
        --------
        >>> import pandas as pd
        >>> from analysis.sccs import SCCS
        >>> data = pd.DataFrame({"id": [1, 1], "x": [1, 0], "days": [40, 200], "events": [2, 3]})
        >>> test = SCCS().fit(data, ["x"]).lr_test(SCCS().fit(data, []))
        >>> round(test.statistic, 4), test.df, round(test.p, 4)
        (1.5309, 1, 0.216)
        """
        extra = [t for t in restricted.terms if t not in self.terms]
        if extra:
            raise SCCSError(f"not nested: restricted model has terms {extra} not in this model")
        df = (len(self.terms) - len(self.aliased)) - (
            len(restricted.terms) - len(restricted.aliased))
        if df <= 0:
            raise SCCSError("not nested: the restricted model must have fewer estimated (not "
                            "aliased) terms")
        if not _same_cases(self._fingerprint, restricted._fingerprint):
            raise SCCSError(
                "not nested: the two models were fitted to different data (cases, events per "
                "case or observed days per case differ)"
            )
        gain = self.loglik - self.loglik_null
        stat = 2.0 * (gain - (restricted.loglik - restricted.loglik_null))
        if stat < -1e-6 * (1.0 + abs(self.loglik)):
            raise SCCSError(
                f"not nested: the restricted model fits better (LR statistic {stat:.6g} < 0)"
            )
        stat = max(stat, 0.0)
        return LRTest(stat, df, chi2_sf(stat, df))

    # ---- export -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready results (non-finite numbers become None).

        Examples
        --------
        >>> import pandas as pd
        >>> from analysis.sccs import SCCS
        >>> data = pd.DataFrame({"id": [1, 1], "x": [1, 0], "days": [40, 200], "events": [2, 3]})
        >>> d = SCCS().fit(data, ["x"]).to_dict()
        >>> d["n_cases"], d["terms"][0]["term"], round(d["terms"][0]["irr"], 4)
        (1, 'x', 3.3333)
        """

        def num(v: float) -> float | None:
            v = float(v)
            return v if math.isfinite(v) else None

        s = self.summary.to_dict(orient="index")
        return {
            "n_cases": int(self.n_cases),
            "n_events": int(self.n_events),
            "n_intervals": int(self.n_intervals),
            "loglik": num(self.loglik),
            "loglik_null": num(self.loglik_null),
            "converged": bool(self.converged),
            "n_iter": int(self.n_iter),
            "cov_type": self.cov_type,
            "alpha": float(self.alpha),
            "aliased": list(self.aliased),
            "warnings": list(self.warnings),
            "terms": [
                {
                    "term": t,
                    "irr": num(s[t]["irr"]),
                    "ci_low": num(s[t]["ci_low"]),
                    "ci_high": num(s[t]["ci_high"]),
                    "p": num(s[t]["p"]),
                    "log_irr": num(s[t]["log_irr"]),
                    "se": num(s[t]["se"]),
                }
                for t in self.terms
            ],
        }

    def __repr__(self) -> str:
        return (
            f"SCCSResults(terms={self.terms}, n_cases={self.n_cases}, n_events={self.n_events}, "
            f"loglik={self.loglik:.6f}, converged={self.converged})"
        )


def _same_cases(
    a: tuple[np.ndarray, np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> bool:
    """Same case ids with the same events and total observed days (in any row order)."""
    if len(a[0]) != len(b[0]):
        return False
    fa = pd.DataFrame({"n": a[1], "d": a[2]}, index=pd.Index(a[0]))
    fb = pd.DataFrame({"n": b[1], "d": b[2]}, index=pd.Index(b[0]))
    try:
        fb = fb.reindex(fa.index)
    except (TypeError, ValueError):
        return False
    if fb.isna().to_numpy().any():
        return False
    return bool(
        np.array_equal(fa["n"].to_numpy(), fb["n"].to_numpy())
        and np.allclose(fa["d"].to_numpy(), fb["d"].to_numpy(), rtol=0, atol=1e-9)
    )
