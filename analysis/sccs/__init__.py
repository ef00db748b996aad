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
  the rule for terms with an infinite estimate, and Newton-Raphson;
* the method's extensions: :mod:`analysis.sccs.semiparametric` (Farrington & Whitaker 2006),
  :mod:`analysis.sccs.eventdep_exposure` (Farrington, Whitaker & Hocine 2009),
  :mod:`analysis.sccs.eventdep_observation` (Farrington et al. 2011) and
  :mod:`analysis.sccs.power` (sample size, Musonda et al. 2006);
* :mod:`analysis.sccs.smooth` adds age, season (cyclic) and calendar-time spline effects, with an
  optional ridge penalty (imported on its own: it loads patsy);
* :mod:`analysis.sccs.diagnostics` gives OHDSI's diagnostics (pre-exposure gain, end-of-observation
  probe, time stability, rare outcome, MDRR) as functions with pass/fail verdicts;
* :mod:`analysis.sccs.r` is the R package SCCS's interface (``formatdata``, ``standardsccs``,
  ``semisccs``, ...) with R's argument names and coefficient names, over the same engine.

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
from analysis.sccs.errors import SCCSError, SCCSWarning
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
from analysis.sccs.results import LRTest, SCCSResults

#: Days in a year, the rate convention of the library (person-years = days / 365.25).
DAYS_PER_YEAR: float = 365.25

__all__ = [
    "DAYS_PER_YEAR",
    "SCCS",
    "AgeGroups",
    "BatchFit",
    "Covariate",
    "EventWindow",
    "Exposure",
    "IntervalError",
    "LRTest",
    "SCCSError",
    "SCCSResults",
    "SCCSWarning",
    "Season",
    "StepCovariate",
    "build_intervals",
    "conditional_loglik",
    "dummies",
    "fit_many",
    "to_event_strata",
]
