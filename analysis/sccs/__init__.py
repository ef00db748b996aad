"""A generic self-controlled case series (SCCS) library.

Knows nothing of any particular study and imports nothing else from :mod:`analysis`, so that it
could ship as its own distribution (a test enforces the rule). The pipeline is the R package SCCS's
(``formatdata`` then ``standardsccs``) and OHDSI SelfControlledCaseSeries' (cohort -> interval
data -> model -> results):

* :mod:`analysis.sccs.intervals` turns observation periods, dated exposures with risk windows,
  step covariates, seasons and age groups into per-individual day intervals with event counts;
* :mod:`analysis.sccs.model` (:class:`SCCS`) checks the input and fits the conditional Poisson
  likelihood in small steps, returning an :class:`SCCSResults`
  (:mod:`analysis.sccs.results`: ``params``, ``bse``, ``conf_int()`` (Wald or profile
  likelihood, :mod:`analysis.sccs.profile`), ``summary``, ``lr_test()``, ``to_dict()``);
* :mod:`analysis.sccs.batched` (:func:`fit_many`) fits the same model to many data sets at once
  (Monte Carlo studies), with the same numbers and rules;
* :mod:`analysis.sccs._kernels` (private) holds the numbers both share: the log-likelihood, its
  gradient and Hessian on sorted arrays, the exact compression of rows with equal covariates,
  the rule for terms with an infinite estimate, and Newton-Raphson (batched, and ``maximise``
  for the single problems of the extensions and the penalised splines);
* the method's extensions: :func:`fit_semiparametric` (:mod:`analysis.sccs.semiparametric`,
  Farrington & Whitaker 2006), :func:`fit_eventdep_exposure`
  (:mod:`analysis.sccs.eventdep_exposure`, Farrington, Whitaker & Hocine 2009),
  :func:`sample_size` and :func:`power_of` (:mod:`analysis.sccs.power`, Musonda et al. 2006);
  the fitters' results are all :class:`Estimates` (statsmodels' shape: ``params``, ``bse``,
  ``pvalues``, ``conf_int()``, ``cov_params()``, ``summary``, ``loglik``, ``n_cases``,
  ``n_events``, ``aliased``, ``converged``), whose ``summary`` is the library's one Wald table
  (:func:`wald_table`, columns :data:`SUMMARY_COLUMNS`; the R interface renames it to R's
  columns); an aliased term is NaN with an :class:`SCCSWarning` in every fitter;
* :mod:`analysis.sccs.errors`: one family, every exception an :class:`SCCSError` (and a
  ``ValueError``), every warning an :class:`SCCSWarning`; :func:`try_fit` ("fit, or say why
  not") for the layers above;
* imported from their own modules, because they load libraries that ``import analysis.sccs``
  should not pay for (about 0.2-0.6 s each; a command line starts faster without them):

  - ``from analysis.sccs.eventdep_observation import fit_eventdep_observation``: event-dependent
    observation periods (Farrington et al. 2011; loads scipy.optimize and scipy.special);
  - ``from analysis.sccs.smooth import fit_smooth, age, season, calendar_time``: age, season
    (cyclic) and calendar-time spline effects, with an optional ridge penalty (loads patsy);
  - ``from analysis.sccs import diagnostics``: OHDSI's diagnostics (pre-exposure gain,
    end-of-observation probe, time stability, rare outcome, MDRR) as functions with pass/fail
    verdicts (loads scipy.optimize);
  - ``from analysis.sccs import empirical``: OHDSI's empirical calibration with negative and
    positive controls (``fit_null``, ``calibrate_p``, ``expected_absolute_systematic_error``,
    ``fit_systematic_error_model``, ``calibrate_ci``; loads scipy.optimize when fitting);
  - ``from analysis.sccs import r``: the R package SCCS's interface (``formatdata``,
    ``standardsccs``, ``semisccs``, ...) with R's argument names and coefficient names, over the
    same engine (patsy is loaded when a formula is first parsed).

Examples
--------
>>> import pandas as pd
>>> from analysis.sccs import SCCS
>>> data = pd.DataFrame({"id": [1, 1, 2, 2], "exposed": [0, 1, 0, 1],
...                      "days": [100, 50, 80, 40], "events": [1, 2, 2, 1]})
>>> fit = SCCS().fit(data, ["exposed"])
>>> round(float(fit.params["exposed"]), 3)
0.693
"""

from analysis.sccs.batched import BatchFit, fit_many
from analysis.sccs.errors import FitAttempt, NotFittedError, SCCSError, SCCSWarning, try_fit
from analysis.sccs.eventdep_exposure import fit_eventdep_exposure
from analysis.sccs.intervals import (
    AgeGroups,
    Covariate,
    EventWindow,
    Exposure,
    IntervalError,
    Season,
    StepCovariate,
    build_intervals,
    to_event_strata,
)
from analysis.sccs.model import SCCS, conditional_loglik, dummies
from analysis.sccs.power import power_of, sample_size
from analysis.sccs.results import SUMMARY_COLUMNS, Estimates, LRTest, SCCSResults, wald_table
from analysis.sccs.semiparametric import fit_semiparametric

#: Days in a year, the rate convention of the library (person-years = days / 365.25).
DAYS_PER_YEAR: float = 365.25

__all__ = [
    "DAYS_PER_YEAR",
    "SCCS",
    "SUMMARY_COLUMNS",
    "AgeGroups",
    "BatchFit",
    "Covariate",
    "Estimates",
    "EventWindow",
    "Exposure",
    "FitAttempt",
    "IntervalError",
    "LRTest",
    "NotFittedError",
    "SCCSError",
    "SCCSResults",
    "SCCSWarning",
    "Season",
    "StepCovariate",
    "build_intervals",
    "conditional_loglik",
    "dummies",
    "fit_eventdep_exposure",
    "fit_many",
    "fit_semiparametric",
    "power_of",
    "sample_size",
    "to_event_strata",
    "try_fit",
    "wald_table",
]
