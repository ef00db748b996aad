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
"""
