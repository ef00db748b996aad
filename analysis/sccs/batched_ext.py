"""The SCCS extensions fitted to many data sets at once (Monte Carlo studies).

:func:`fit_many_eventdep_observation` is :func:`analysis.sccs.eventdep_observation.
fit_eventdep_observation` for many data sets, with :func:`analysis.sccs.fit_many`'s rules:
one :class:`analysis.sccs.batched.BatchFit` row per data set, each equal to the data set's
single fit; a data set that cannot be fitted gets NaN and its message in ``errors``.

Where the work is vectorised: the four censoring models of every data set are fitted together
(:func:`analysis.sccs.eventdep_observation.fit_censoring_models`: every start of every model
and data set in one likelihood evaluation per optimiser step), the interval weights are one
vectorised call per censoring model, and the weighted SCCS models are one
:func:`analysis.sccs.fit_many`. What stays a loop over data sets is the input checking and
first-event selection (pandas, a few milliseconds each).

:func:`fit_many_semiparametric` is :func:`analysis.sccs.semiparametric.fit_semiparametric` for
many data sets, with the same rules. It is a loop over the data sets, on purpose: a fit's work
is a dense (terms + distinct event ages)-square Newton system (about 320 x 320 in the studies of
the age and calendar time teaching chapter). Profiled on 20 such studies (cProfile, cumulative):
forming the information matrix 26%, solving and inverting it 24%, the likelihood 18% (per row),
building the strata 12% (per row), the rest interval building and pandas. The dense parts
already run at BLAS speed one data set at a time and the per-row parts are vectorised within a
data set; stacking data sets (block-diagonal parameters, padded to the largest number of ages)
would add padding, not save arithmetic, and the Python overhead per data set is a few
milliseconds.

:func:`fit_many_eventdep_exposure` (Farrington, Whitaker & Hocine 2009) is a plain loop too,
and here not because a loop is optimal: one fit takes about 6.5 ms of CPU on chapter-sized
studies, mostly pandas overhead that a vectorised form would remove, but 200 studies take
about 1.3 s, so it was not written.

Examples
--------
>>> import pandas as pd
>>> iv = pd.DataFrame({"id": [1, 1, 2, 2, 3, 3], "start": [1, 11, 1, 31, 1, 11],
...                    "end": [10, 60, 30, 60, 10, 60], "x": [1, 0, 0, 1, 1, 0]})
>>> ev = pd.DataFrame({"id": [1, 2, 2, 3], "day": [5, 20, 40, 40]})
>>> fit_many_semiparametric([{"intervals": iv, "events": ev}], ["x"]).n_events.tolist()
[4]
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.sccs.batched import BatchFit, fit_many
from analysis.sccs.eventdep_exposure import EventDepExposureError, fit_eventdep_exposure
from analysis.sccs.eventdep_observation import (
    CENSORING_MODELS,
    EventDepObservationError,
    _extend_on_event_day,
    _first_events,
    _observation,
    fit_censoring_models,
    interval_weights,
)
from analysis.sccs.intervals import build_intervals
from analysis.sccs.semiparametric import SemiparametricError, fit_semiparametric

__all__ = ["fit_many_eventdep_exposure", "fit_many_eventdep_observation",
           "fit_many_semiparametric"]


def _prepared(datasets: Sequence[Mapping]) -> tuple[pd.DataFrame, pd.DataFrame, list, list]:
    """Checked observation periods and first events of every data set, stacked with global
    ids (``gid``) and the data set number (``rep``); the exposures and covariates with
    global ids."""
    obs_all, ev_all, expos, covs = [], [], [], []
    stride = max(len(d["observation"]) for d in datasets) + 1
    for r, d in enumerate(datasets):
        obs = _observation(d["observation"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # later events: the single fit's warning
            ev = _first_events(obs, d["events"])
        obs = _extend_on_event_day(obs, ev)
        index = pd.Index(obs["id"])

        def gid(ids: pd.Series, r: int = r, index: pd.Index = index) -> np.ndarray:
            code = index.get_indexer(ids)
            return np.where(code >= 0, r * stride + code, -1)

        obs_all.append(obs.assign(rep=r, gid=gid(obs["id"])))
        ev_all.append(ev.assign(rep=r, gid=gid(ev["id"])))
        expos.append([dataclasses.replace(e, data=e.data.assign(id=gid(e.data["id"])))
                      for e in d.get("exposures", ())])
        covs.append(list(d.get("covariates", ())))
    return pd.concat(obs_all, ignore_index=True), pd.concat(ev_all, ignore_index=True), \
        expos, covs


def fit_many_eventdep_observation(
    datasets: Sequence[Mapping],
    *,
    terms: Sequence[str],
    start: Sequence[float] = (0.1, 0.1, 0.1, 0.1),
    days_per_year: float = 365.25,
    integrate_from: str = "cut",
    alpha: float = 0.05,
) -> BatchFit:
    """Event-dependent observation periods (Farrington et al. 2011) in many data sets at once.

    Parameters
    ----------
    datasets : sequence of mappings
        One per data set: ``"observation"``, ``"events"`` and ``"exposures"`` as for
        :func:`analysis.sccs.eventdep_observation.fit_eventdep_observation` (a list of
        :class:`analysis.sccs.intervals.Exposure`); no covariates.
    terms : sequence of str
        The model terms, the same in every data set (``f"{exposure}{level}"`` as the single
        fit names them); a data set in which a term is absent or constant gets NaN and the
        single fit's error message.
    start, days_per_year, integrate_from, alpha
        As for the single fit.

    Returns
    -------
    BatchFit
        One row per data set (``reps`` 0, 1, ...), equal to the single fit's ``params``,
        ``bse`` and ``loglik`` (``tests/sccs/test_sccs_batched_ext.py``); ``extra["chosen"]``
        (the censoring model of each data set), ``extra["censoring_loglik"]`` (data sets x
        the four models) and ``extra["start"]`` (the winning start of the chosen model).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from analysis.sccs.intervals import Exposure
    >>> def study(seed):
    ...     rng = np.random.default_rng(seed)
    ...     n = 40
    ...     day = rng.integers(0, 3000, n)
    ...     death = day + rng.exponential(300, n).astype(int) + 1
    ...     cens = (death < 3650) & (rng.random(n) < 0.5)
    ...     obs = pd.DataFrame({"id": range(n), "start": 0, "end": np.where(cens, death, 3650),
    ...                         "censored": cens.astype(int)})
    ...     ev = pd.DataFrame({"id": range(n), "day": day})
    ...     ex = Exposure("x", pd.DataFrame({"id": range(n), "day": rng.integers(0, 3000, n)}),
    ...                   ((0, 89),))
    ...     return {"observation": obs, "events": ev, "exposures": [ex]}
    >>> many = fit_many_eventdep_observation([study(1), study(2)], terms=["x1"])
    >>> many.extra["chosen"].tolist(), many.coef.round(3).tolist()  # study 1: no exposed event
    (['EGA', 'EWI'], [[-inf], [0.327]])
    """
    if integrate_from not in ("cut", "start"):
        raise EventDepObservationError(
            f"integrate_from must be 'cut' or 'start', got {integrate_from!r}")
    if any(d.get("covariates") for d in datasets):
        raise EventDepObservationError("fit_many_eventdep_observation: covariates are not "
                                       "supported; fit those data sets one by one")
    obs, ev, expos, _ = _prepared(datasets)
    n_reps = len(datasets)
    info = obs.set_index("gid")
    ev = ev.sort_values(["rep", "gid"], kind="stable")
    t = ev["day"].to_numpy(float) / days_per_year
    c = ev["gid"].map(info["end"]).to_numpy(float) / days_per_year
    present = 1 - ev["gid"].map(info["censored"]).to_numpy()
    offsets = np.r_[0, np.cumsum(np.bincount(ev["rep"], minlength=n_reps))]
    cens = fit_censoring_models(t, c, present, offsets, start)
    aic = np.array([[f.aic for f in cens[m]] for m in CENSORING_MODELS]).T
    chosen = np.argmin(aic, axis=1)
    params = np.stack([cens[CENSORING_MODELS[k]][r].params for r, k in enumerate(chosen)])
    iv = _stacked_intervals(obs, ev, expos)
    rep = iv["id"].map(info["rep"]).to_numpy()
    first = iv["start"].to_numpy(float)
    if integrate_from == "cut":
        first = np.maximum(first - 1.0, 0.0)
    iv_end = iv["id"].map(info["end"]).to_numpy(float) / days_per_year
    iv_present = 1 - iv["id"].map(info["censored"]).to_numpy()
    w = np.empty(len(iv))
    for k, m in enumerate(CENSORING_MODELS):
        rows = np.flatnonzero(chosen[rep] == k)
        if len(rows):
            w[rows] = interval_weights(m, params[rep[rows]], first[rows] / days_per_year,
                                       iv["end"].to_numpy()[rows] / days_per_year,
                                       iv_end[rows], iv_present[rows])
    iv["weight"] = np.maximum(np.where(np.isfinite(w), w, np.nan), 1e-15)
    iv["rep"] = rep
    _add_terms(iv, expos, terms)
    ok = np.isfinite(iv["weight"]).groupby(iv["rep"]).transform("all").to_numpy()
    out = fit_many(iv[ok], list(terms), days_col="weight", alpha=alpha)
    out = _all_reps(out, n_reps, iv, ok)
    out.extra = {"chosen": np.array(CENSORING_MODELS)[chosen],
                 "censoring_loglik": np.array([[f.loglik for f in cens[m]]
                                               for m in CENSORING_MODELS]).T,
                 "start": np.array([cens[CENSORING_MODELS[k]][r].start
                                    for r, k in enumerate(chosen)])}
    return out


def _stacked_intervals(obs: pd.DataFrame, ev: pd.DataFrame, expos: list) -> pd.DataFrame:
    """One interval table of all data sets (ids are the global ids): exposures of the same
    name are stacked into one."""
    by_name: dict[str, list] = {}
    for es in expos:
        for e in es:
            by_name.setdefault(e.name, []).append(e)
    stacked = [dataclasses.replace(es[0], data=pd.concat([e.data for e in es],
                                                         ignore_index=True))
               for es in by_name.values()]
    o = obs[["gid", "start", "end"]].rename(columns={"gid": "id"})
    e = ev[["gid", "day"]].rename(columns={"gid": "id"})
    return build_intervals(o, e, stacked)


def _add_terms(iv: pd.DataFrame, expos: list, terms: Sequence[str]) -> None:
    """The 0/1 columns ``f"{name}{level}"`` the single fit makes, for the requested terms."""
    names = sorted({e.name for es in expos for e in es}, key=len, reverse=True)
    for term in terms:
        name = next((n for n in names if term.startswith(n) and term[len(n):].isdigit()),
                    None)
        if name is None:
            raise EventDepObservationError(
                f"term {term!r}: not an exposure level f'{{exposure}}{{level}}' of "
                f"{names}")
        iv[term] = (iv[name] == int(term[len(name):])).astype(float)


def _unfitted(terms: list[str], n: int, alpha: float) -> BatchFit:
    """A BatchFit of ``n`` data sets with nothing fitted yet (NaN estimates)."""
    q = len(terms)
    return BatchFit(
        terms=terms, reps=np.arange(n), coef=np.full((n, q), np.nan),
        se=np.full((n, q), np.nan), finite=np.zeros((n, q), bool),
        converged=np.zeros(n, bool), n_iter=np.zeros(n, np.int64),
        n_cases=np.zeros(n, np.int64), n_events=np.zeros(n, np.int64),
        loglik=np.full(n, np.nan), loglik_null=np.full(n, np.nan),
        errors=[None] * n, notes=[[] for _ in range(n)], alpha=alpha)


def _all_reps(out: BatchFit, n_reps: int, iv: pd.DataFrame, ok: np.ndarray) -> BatchFit:
    """``out`` with a row for every data set (those with non-finite weights: NaN and why)."""
    if len(out.reps) == n_reps:
        return out
    full = _unfitted(out.terms, n_reps, out.alpha)
    full.errors = ["the chosen censoring model gives non-finite interval weights: the data do "
                   "not determine it"] * n_reps
    for j, r in enumerate(out.reps):
        for f in ("coef", "se", "finite"):
            getattr(full, f)[r] = getattr(out, f)[j]
        for f in ("converged", "n_iter", "n_cases", "n_events", "loglik", "loglik_null"):
            getattr(full, f)[r] = getattr(out, f)[j]
        full.errors[r], full.notes[r] = out.errors[j], out.notes[j]
    return full


def fit_many_semiparametric(
    datasets: Sequence[Mapping],
    terms: Sequence[str],
    *,
    unique_days: bool = False,
    tol: float = 1e-10,
    max_iter: int = 100,
    alpha: float = 0.05,
) -> BatchFit:
    """The semiparametric SCCS model (Farrington & Whitaker 2006) in many data sets.

    Parameters
    ----------
    datasets : sequence of mappings
        One per data set: ``"intervals"`` and ``"events"`` (optionally ``"age_origin"``) as
        for :func:`analysis.sccs.semiparametric.fit_semiparametric`.
    terms : sequence of str
        The model terms, the same in every data set.
    unique_days, tol, max_iter, alpha
        As for the single fit.

    Returns
    -------
    BatchFit
        One row per data set: the single fit's ``params``/``bse`` of ``terms`` (an aliased
        term NaN, as the single fit reports it; the age steps, which differ between data
        sets, are not kept), ``loglik``, ``converged``, ``n_iter``, ``n_cases``,
        ``n_events``; a data set whose fit raises gets NaN and the message in ``errors``,
        its warnings go to ``notes``.

    Examples
    --------
    >>> import pandas as pd
    >>> iv = pd.DataFrame({"id": [1, 1, 2, 2, 3, 3], "start": [1, 11, 1, 31, 1, 11],
    ...                    "end": [10, 60, 30, 60, 10, 60], "x": [1, 0, 0, 1, 1, 0]})
    >>> ev = pd.DataFrame({"id": [1, 2, 2, 3], "day": [5, 20, 40, 40]})
    >>> many = fit_many_semiparametric([{"intervals": iv, "events": ev}] * 2, ["x"])
    >>> many.coef.round(4).tolist()
    [[0.7667], [0.7667]]
    """
    def one(d: Mapping):
        return fit_semiparametric(d["intervals"], d["events"], terms,
                                  age_origin=d.get("age_origin"), unique_days=unique_days,
                                  tol=tol, max_iter=max_iter, alpha=alpha)

    return _each(datasets, list(terms), one, SemiparametricError, float(alpha))


def fit_many_eventdep_exposure(
    datasets: Sequence[Mapping],
    terms: Sequence[str],
    **kwargs: Any,
) -> BatchFit:
    """Event-dependent exposures (Farrington, Whitaker & Hocine 2009) in many data sets.

    A loop over the data sets (see the module docstring): one fit takes about 6.5 ms of CPU
    on chapter-sized studies (300 individuals; measured on 20), mostly pandas, so 200 studies
    take about 1.3 s; a vectorised form has not been written.

    Parameters
    ----------
    datasets : sequence of mappings
        One per data set: ``"observation"``, ``"events"``, ``"doses"`` as for
        :func:`analysis.sccs.eventdep_exposure.fit_eventdep_exposure`.
    terms : sequence of str
        The parameters to report (names as the single fit gives them, e.g. ``"x1"``); a data
        set whose fit lacks one gets NaN for it.
    **kwargs
        The single fit's keyword arguments (``windows``, ``covariates``, ``same_params``,
        ``name``, ``tol``, ``max_iter``, ``alpha``), the same for every data set.

    Returns
    -------
    BatchFit
        One row per data set, the single fit's numbers; errors and warnings per data set.

    Examples
    --------
    >>> import pandas as pd
    >>> obs = pd.DataFrame({"id": range(1, 7), "start": 1, "end": 100})
    >>> ev = pd.DataFrame({"id": range(1, 7), "day": [15, 40, 70, 12, 90, 55]})
    >>> doses = pd.DataFrame({"id": range(1, 7), "day": [10, 30, 60, 5, 20, 50], "dose": 1})
    >>> d = {"observation": obs, "events": ev, "doses": doses}
    >>> many = fit_many_eventdep_exposure([d, d], ["x1"], windows=((1, 14),), name="x")
    >>> many.coef.round(4).tolist()
    [[3.0068], [3.0068]]
    """
    def one(d: Mapping):
        return fit_eventdep_exposure(d["observation"], d["events"], d["doses"], **kwargs)

    return _each(datasets, list(terms), one, EventDepExposureError,
                 float(kwargs.get("alpha", 0.05)))


def _each(datasets: Sequence[Mapping], terms: list[str], fit_one: Callable[[Mapping], Any],
          error: type[Exception], alpha: float) -> BatchFit:
    """``fit_one`` on every data set; its ``params``/``bse`` of ``terms`` (NaN where a data
    set's fit lacks a term), its errors of type ``error`` and its warnings per data set."""
    out = _unfitted(terms, len(datasets), alpha)
    for r, d in enumerate(datasets):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fit = fit_one(d)
            except error as err:
                out.errors[r] = str(err)
                fit = None
        out.notes[r] = [str(w.message) for w in caught]
        if fit is None:
            continue
        out.coef[r] = fit.params.reindex(terms).to_numpy()
        out.se[r] = fit.bse.reindex(terms).to_numpy()
        out.finite[r] = np.isfinite(out.coef[r])
        out.converged[r], out.n_iter[r] = bool(fit.converged), int(fit.n_iter)
        out.n_cases[r] = fit.n_cases
        out.n_events[r] = getattr(fit, "n_events", fit.n_cases)  # first events: one a case
        out.loglik[r] = fit.loglik
    return out
