"""Event-dependent exposures (Farrington, Whitaker & Hocine 2009), generic.

API for the R layer
-------------------
``fit_eventdep_exposure(observation, events, doses, *, windows=((0, 29),), covariates=(),
same_params=True, name="exposure", tol=1e-10, max_iter=100, alpha=0.05)
-> EventDepExposureResult``

* ``observation``: ``id, start, end`` (R's ``astart``, ``aend``); ``events``: ``id, day``
  (R's ``aevent``; only each individual's first event is used, as in R).
* ``doses``: ``id, day, dose`` (R's ``adrug=cbind(rv, rvd2)`` in ``"multi"`` format: column k is
  dose k; a missing day is a missing dose), optional ``end`` (R's ``aedrug``, used when the last
  window's last offset is ``None``).
* ``windows``: the risk windows as inclusive day offsets from the dose day, as
  :class:`analysis.sccs.intervals.Exposure` takes them; R's ``expogrp=c(1, 8)``,
  ``aedrug=rv+21`` is ``((1, 7), (8, 21))`` (use ``Exposure.from_r(...).windows``).
* ``covariates``: :class:`analysis.sccs.intervals.AgeGroups` etc. (R's ``agegrp``); each enters
  as dummies of its non-reference levels (the lowest level is the reference), named
  ``f"{cov.name}{level}"`` (R's ``age2``, ...).
* ``same_params``: R's ``sameexpopar`` (one set of risk parameters for all doses).
* Result: ``.params``, ``.bse`` (Series: ``f"{name}{j}"`` for the risk windows, then the
  covariate dummies), ``.summary`` (``coef, exp_coef, se, z, p, lower95, upper95``),
  ``.n_iter``, ``.converged``.

Method
------
When the event changes the chance of later exposure (a vaccine contraindicated after
intussusception, say), the standard SCCS is biased, because it conditions on exposure histories
that the event itself shaped. Farrington, Whitaker & Hocine (2009, Biostatistics 10:3) use only
exposure history up to the event: each dose ``i`` opens a new stratum running from the day of
dose ``i`` to the end of observation (stratum 0, the whole observation period, is used when
observation does not begin inside an exposure window). In stratum ``i`` only dose ``i``'s risk
windows count as exposed; later doses' windows are left unexposed, and an event falling in a
later dose's risk window ``k`` is down-weighted by ``exp(-beta_k)``, which removes the effect of
that exposure from the event's weight. The resulting estimating equations are those of a Poisson
model with a fixed effect per stratum, log interval length as offset and response
``w_r = event_r exp(-beta_{k_s})``::

    U(theta) = sum_s sum_{r in s} (w_r - n_s p_r(theta)) z_r = 0,   n_s = sum_{r in s} w_r,

(``z_r``: the exposure dummies of the stratum's own dose, then the covariate dummies). Only each
individual's first event is used, and doses after it are ignored. R's ``eventdepenexp`` solves
``U = 0`` by refitting the Poisson model with the weights of the previous iteration until the
coefficients stop changing; here Newton's method is applied to ``U`` itself, with the exact
Jacobian ``J = -I(theta) + A``, where ``I`` is the weighted Poisson information and
``A[:, k] = -sum_{s: k_s = k} sum_{r in s} (w_r - n_s p_r) z_r`` the derivative through the
weights. The variance is the sandwich ``J^-1 M J^-T`` with ``M`` the sum over individuals of the
outer products of their total score contributions (all strata of an individual together).

Examples
--------
>>> import pandas as pd
>>> from analysis.sccs.intervals import AgeGroups
>>> obs = pd.DataFrame({"id": range(1, 7), "start": 1, "end": 100})
>>> ev = pd.DataFrame({"id": range(1, 7), "day": [15, 40, 70, 12, 90, 55]})
>>> doses = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "day": [10, 30, 60, 5, 20, 50],
...                       "dose": 1})
>>> fit = fit_eventdep_exposure(obs, ev, doses, windows=((1, 14),), name="x")
>>> list(fit.params.index)
['x1']
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.sccs import _aliasing, _strata
from analysis.sccs.errors import SCCSError, SCCSWarning, linalg_guard
from analysis.sccs.intervals import Covariate, Exposure, Window, build_intervals
from analysis.sccs.model import dummies
from analysis.sccs.results import Estimates, estimates

__all__ = ["EventDepExposureError", "EventDepExposureResult", "fit_eventdep_exposure"]


class EventDepExposureError(SCCSError):
    """Bad input to :func:`fit_eventdep_exposure` (the message names the column and rule).

    Examples
    --------
    >>> import pandas as pd
    >>> obs = pd.DataFrame({"id": [1], "start": [1], "end": [100]})
    >>> try:
    ...     fit_eventdep_exposure(obs, pd.DataFrame({"id": [1], "date": [15]}),
    ...                           pd.DataFrame({"id": [1], "day": [10], "dose": [1]}))
    ... except EventDepExposureError as err:
    ...     print(err)
    events: missing column(s) ['day']
    """


class EventDepExposureResult(Estimates):
    """What :func:`fit_eventdep_exposure` returns: :class:`analysis.sccs.results.Estimates`
    (``params``, ``bse`` and ``cov_params()`` from the sandwich covariance, ``summary``,
    ``pvalues``, ``conf_int()``, ``converged``, ``n_iter``, ``n_cases`` and ``n_events`` (the
    cases' first events, one per case)) plus ``n_strata`` (per stack level 0, 1, ...) and
    ``doses_dropped`` (doses after the event).

    Examples
    --------
    Cases 7 and 8 are dosed after their event: their doses are dropped, and they contribute
    to stratum level 0 only.

    >>> import pandas as pd
    >>> obs = pd.DataFrame({"id": range(1, 9), "start": 1, "end": 100})
    >>> ev = pd.DataFrame({"id": range(1, 9), "day": [15, 40, 70, 12, 90, 55, 30, 62]})
    >>> doses = pd.DataFrame({"id": range(1, 9), "day": [10, 30, 60, 5, 20, 50, 45, 80],
    ...                       "dose": 1})
    >>> fit = fit_eventdep_exposure(obs, ev, doses, windows=((1, 14),), name="x")
    >>> fit.n_cases, fit.n_strata, fit.doses_dropped, fit.converged
    (8, [8, 6], 2, True)
    """

    n_strata: list[int]
    doses_dropped: int


def _first_events(observation: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Each individual's first event inside its observation period."""
    for what, df, cols in (("observation", observation, ("id", "start", "end")),
                           ("events", events, ("id", "day"))):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise EventDepExposureError(f"{what}: missing column(s) {missing}")
    info = observation.set_index("id")
    ev = events[events["id"].isin(info.index)]
    day = pd.to_numeric(ev["day"], errors="coerce")
    ok = (day >= ev["id"].map(info["start"])) & (day <= ev["id"].map(info["end"]))
    ev = ev[ok.to_numpy()]
    if len(ev) == 0:
        raise EventDepExposureError("events: no event inside an observation period")
    first = ev.groupby("id", sort=False)["day"].min().reset_index()
    if len(first) < len(ev):
        warnings.warn(f"event-dependent exposures: {len(ev) - len(first)} events after each "
                      "individual's first are not used (the method uses first events only)",
                      SCCSWarning, stacklevel=3)
    return first


def _stack(iv: pd.DataFrame, name: str, n_windows: int, offset_window: bool,
           same_params: bool, cov_cols: list[str]) -> dict:
    """The stacked strata (see the module docstring) as long arrays."""
    m_all = n_windows + offset_window  # windows per dose in the interval table
    level = iv[name].to_numpy(np.int64)
    dose = np.where(level > 0, (level - 1) // m_all + 1, 0)
    j = np.where(level > 0, level - (dose - 1) * m_all, 0) - offset_window
    j = np.maximum(j, 0)  # the day-0 window before a delayed risk window is unexposed
    k = np.where(j > 0, j if same_params else (dose - 1) * n_windows + j, 0)
    code = pd.factorize(iv["id"], sort=False)[0]
    first = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    n_ind = len(first)
    pos = np.arange(len(iv)) - first[code]
    ev = iv["events"].to_numpy() > 0
    ev_k = np.zeros(n_ind, np.int64)
    ev_k[code[ev]] = k[ev]
    ev_dose = np.zeros(n_ind, np.int64)
    ev_dose[code[ev]] = dose[ev]
    blocks = []
    # level 0: individuals whose observation does not begin inside an exposure window
    rows0 = np.flatnonzero(level[first][code] == 0)
    blocks.append((rows0, np.zeros(len(rows0), np.int64), ev_k[code[rows0]]))
    for i in range(1, int(dose.max()) + 1):
        start = np.full(n_ind, np.iinfo(np.int64).max)
        np.minimum.at(start, code[dose == i], pos[dose == i])
        rows = np.flatnonzero(pos >= start[code])
        expo = np.where(dose[rows] == i, k[rows], 0)
        c = code[rows]
        wk = np.where(ev_dose[c] > i, ev_k[c], 0)
        blocks.append((rows, expo, wk))
    n_exp = int(k.max()) if len(k) else 0
    out_rows, out_grp, out_expo, out_wk, out_case, sizes = [], [], [], [], [], []
    offset = 0
    for rows, expo, wk in blocks:
        c = code[rows]
        strata = pd.factorize(c, sort=False)[0]
        out_rows.append(rows)
        out_grp.append(strata + offset)
        out_expo.append(expo)
        out_wk.append(wk)
        out_case.append(c)
        n = int(strata.max()) + 1 if len(strata) else 0
        sizes.append(n)
        offset += n
    rows = np.concatenate(out_rows)
    expo = np.concatenate(out_expo)
    Xe = (expo[:, None] == np.arange(1, n_exp + 1)[None, :]).astype(float)
    Xc = iv[cov_cols].to_numpy(float)[rows] if cov_cols else np.zeros((len(rows), 0))
    return {
        "group": np.concatenate(out_grp), "X": np.asfortranarray(np.hstack([Xe, Xc])),
        "offset": np.log(iv["days"].to_numpy(float)[rows]),
        "y": iv["events"].to_numpy(float)[rows].clip(max=1.0),
        "wk": np.concatenate(out_wk), "case": np.concatenate(out_case), "n_exp": n_exp,
        "sizes": sizes,
    }


def _weights(y: np.ndarray, wk: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Event weights exp(-beta_k) of events in a later dose's risk window k."""
    w = y.copy()
    hit = (wk > 0) & (y > 0)
    w[hit] = y[hit] * np.exp(-theta[wk[hit] - 1])
    return w


def _equations(st: _strata.Strata, s: dict, theta: np.ndarray):
    """U(theta), its Jacobian J and the residuals (see the module docstring)."""
    w = _weights(s["y"], s["wk"], theta)
    _, prob = _strata.probabilities(st, theta, w)
    U, info, res = _strata.score_and_information(st, prob, w)
    A = np.zeros_like(info)
    k_row = s["wk_stratum"]
    for k in range(1, s["n_exp"] + 1):
        sel = k_row == k
        if sel.any():
            A[:, k - 1] = -(st.X[sel].T @ res[sel])
    return U, A - info, res


def _drop_aliased(st: _strata.Strata, s: dict, names: list[str]
                  ) -> tuple[_strata.Strata, np.ndarray]:
    """The strata without the terms the cases do not determine, and the indices of the terms
    kept. Detection is the library's one rule (:mod:`analysis.sccs._aliasing`, judged on the
    rows weighted by the information at the null); reporting is the library's one rule too: an
    aliased covariate is NaN, with an :class:`SCCSWarning`. An aliased exposure level is an
    error: the model is about it."""
    theta = np.zeros(st.X.shape[1])
    w = _weights(s["y"], s["wk"], theta)
    _, prob = _strata.probabilities(st, theta, w)
    n_s = np.bincount(st.group, weights=w, minlength=st.n_strata)
    bad = np.flatnonzero(_aliasing.detect(st.X, st.group, n_s[st.group] * prob).aliased[0])
    if (bad < s["n_exp"]).any():
        raise EventDepExposureError(
            f"exposure terms {[names[j] for j in bad if j < s['n_exp']]} cannot be estimated: "
            "no case has person-time both in and out of that risk window")
    if len(bad):
        warnings.warn(f"event-dependent exposures: covariate term(s) "
                      f"{[names[j] for j in bad]} are aliased (constant within every case, "
                      "or a combination of the terms before them within cases); reported as "
                      "NaN (R prints NA) and the other terms estimated without them",
                      SCCSWarning, stacklevel=3)
        st = _strata.Strata(st.group, np.asfortranarray(np.delete(st.X, bad, axis=1)),
                            st.level, st.n_levels, st.offset)
    return st, np.setdiff1d(np.arange(len(names)), bad)


def fit_eventdep_exposure(
    observation: pd.DataFrame,
    events: pd.DataFrame,
    doses: pd.DataFrame,
    *,
    windows: Sequence[Window] = ((0, 29),),
    covariates: Sequence[Covariate] = (),
    same_params: bool = True,
    name: str = "exposure",
    tol: float = 1e-10,
    max_iter: int = 100,
    alpha: float = 0.05,
) -> EventDepExposureResult:
    """SCCS with event-dependent exposures (Farrington, Whitaker & Hocine 2009).

    Parameters
    ----------
    observation:
        ``id, start, end``: one observation period per individual (inclusive days).
    events:
        ``id, day``: only each individual's first event inside observation is used.
    doses:
        ``id, day, dose`` (1, 2, ...): the doses; a missing day is a missing dose; doses after
        the individual's first event are ignored. Optional ``end`` (see
        :class:`analysis.sccs.intervals.Exposure`).
    windows:
        Risk windows as inclusive day offsets from the dose day, increasing, the first
        starting at day 0 or later (no pre-exposure window).
    covariates:
        Covariates for :func:`analysis.sccs.intervals.build_intervals` (age groups, seasons);
        each enters as dummies of its levels but the lowest, named ``f"{cov.name}{level}"``.
    same_params:
        One set of risk parameters for all doses (R's ``sameexpopar = TRUE``); else dose ``d``
        window ``j`` has the parameter ``f"{name}{(d - 1) * len(windows) + j}"``.
    name:
        Prefix of the exposure parameters.
    tol, max_iter:
        Newton's method on the estimating equations stops when the largest step is below
        ``tol``.
    alpha:
        Level of the Wald intervals of ``summary``.

    Returns
    -------
    EventDepExposureResult
        ``params``, ``bse`` (sandwich), ``summary``, ``n_strata``, ``doses_dropped``.

    Examples
    --------
    Six cases, one dose each; the risk window is days 1-14 after the dose:

    >>> import pandas as pd
    >>> obs = pd.DataFrame({"id": range(1, 7), "start": 1, "end": 100})
    >>> ev = pd.DataFrame({"id": range(1, 7), "day": [15, 40, 70, 12, 90, 55]})
    >>> doses = pd.DataFrame({"id": range(1, 7), "day": [10, 30, 60, 5, 20, 50], "dose": 1})
    >>> fit = fit_eventdep_exposure(obs, ev, doses, windows=((1, 14),), name="x")
    >>> fit.summary.round(4)
              irr  ci_low   ci_high       p  log_irr      se       z
    term
    x1    20.2228  2.3762  172.1105  0.0059   3.0068  1.0925  2.7521
    """
    windows = tuple((int(a), None if b is None else int(b)) for a, b in windows)
    if not windows or windows[0][0] < 0:
        raise EventDepExposureError("windows: need risk windows starting on day 0 or later "
                                    "(pre-exposure windows are not allowed)")
    first = _first_events(observation, events)
    need = [c for c in ("id", "day", "dose") if c not in doses.columns]
    if need:
        raise EventDepExposureError(f"doses: missing column(s) {need}")
    ev_day = doses["id"].map(first.set_index("id")["day"])
    after = (pd.to_numeric(doses["day"], errors="coerce") > ev_day).to_numpy()
    kept = doses.copy()
    kept.loc[after, "day"] = np.nan
    delayed = windows[0][0] > 0
    spec = (((0, windows[0][0] - 1),) if delayed else ()) + windows
    cases = observation[observation["id"].isin(first["id"])]
    iv = build_intervals(cases[["id", "start", "end"]], first,
                         [Exposure(name, kept, spec, dose_levels=True)], covariates)
    cov_cols = []
    for cv in covariates:  # R's treatment contrasts: the lowest level is the reference
        d = dummies(iv, cv.name, iv[cv.name].min()).astype(float)
        iv[list(d.columns)] = d
        cov_cols += list(d.columns)
    s = _stack(iv, name, len(windows), delayed, same_params, cov_cols)
    if s["n_exp"] == 0:
        n_after = int((after & doses["day"].notna().to_numpy()).sum())
        raise EventDepExposureError(
            f"doses: no case has a dose on or before its first event whose risk window "
            f"{list(windows)} (days after the dose) overlaps its observation period, so "
            f"the effect of {name!r} cannot be estimated ({n_after} of {len(doses)} dose(s) "
            "come after the case's first event and are not used: the method uses the "
            "exposure history up to the event only)")
    st = _strata.Strata(s["group"].astype(np.int64), s["X"], np.full(len(s["y"]), -1),
                        0, s["offset"])
    names = [f"{name}{j}" for j in range(1, s["n_exp"] + 1)] + cov_cols
    st, keep = _drop_aliased(st, s, names)
    wk_s = np.zeros(st.n_strata, np.int64)
    ev = s["y"] > 0
    wk_s[st.group[ev]] = s["wk"][ev]
    s["wk_stratum"] = wk_s[st.group]
    theta = np.zeros(st.X.shape[1])
    converged, it = False, 0
    for it in range(1, max_iter + 1):
        U, J, _ = _equations(st, s, theta)
        try:
            step = np.linalg.solve(J, -U)
        except np.linalg.LinAlgError:
            raise EventDepExposureError(
                f"the estimating equations have no finite solution (singular Jacobian at "
                f"iteration {it}, estimates {np.round(theta, 2).tolist()}): probably an infinite "
                "relative incidence, e.g. every exposed case's event in a risk window, or a risk "
                "window or covariate level without events") from None
        theta = theta + step
        if np.abs(step).max() < tol:
            converged = True
            break
    if not converged:
        warnings.warn(f"event-dependent exposures: no convergence in {max_iter} Newton "
                      "iterations; the estimates are not reliable", SCCSWarning, stacklevel=2)
    U, J, res = _equations(st, s, theta)
    case = s["case"]
    scores = np.stack([np.bincount(case, weights=st.X[:, j] * res, minlength=int(case.max()) + 1)
                       for j in range(st.X.shape[1])], axis=1)
    with linalg_guard("fit_eventdep_exposure (sandwich covariance)"):
        Jinv = np.linalg.inv(J)
    cov = Jinv @ (scores.T @ scores) @ Jinv.T
    w = _weights(s["y"], s["wk"], theta)
    ll, _ = _strata.probabilities(st, theta, w)
    res_ = estimates(names, theta, cov, keep, ll, alpha=alpha,
                     converged=converged, n_iter=it, n_cases=len(first), n_events=len(first))
    out = EventDepExposureResult(**vars(res_))
    out.n_strata = s["sizes"]
    out.doses_dropped = int((after & doses["day"].notna().to_numpy()).sum())
    return out
