"""Event-dependent observation periods (Farrington et al. 2011, JASA 106:417), generic.

API for the R layer
-------------------
``fit_eventdep_observation(observation, events, exposures=(), covariates=(), *, terms=None,
start=(0.1, 0.1, 0.1, 0.1), days_per_year=365.25, alpha=0.05) -> EventDepObservationResult``

* ``observation``: ``id, start, end, censored`` (R's ``astart``, ``aend``, ``censor``: 1 when
  the observation period ended early, possibly because of the event; 0 when it ended as
  planned).
* ``events``: ``id, day`` (R's ``aevent``); ``exposures``/``covariates``: as for
  :func:`analysis.sccs.intervals.build_intervals` (R's ``adrug``/``aedrug``/``expogrp`` via
  :meth:`analysis.sccs.intervals.Exposure.from_r`, ``agegrp`` via ``AgeGroups``).
* ``terms``: model terms (default: one dummy per non-zero exposure level and per non-reference
  covariate level, named ``f"{name}{level}"``: R's ``nrt1 .. nrt4``).
* ``start``: starting values of the four censoring-model parameters (R's ``initval``).
* As in R, an observation period ending on the event day is extended by one day.
* Result: ``.modelfit`` (DataFrame, rows ``Loglik``, ``AIC``; columns ``EWA EWI EGA EGI``),
  ``.chosen`` (the model with the smallest AIC), ``.censoring`` (fitted parameters per model),
  ``.params``, ``.bse``, ``.summary`` (``coef, exp_coef, se, z, p, lower95, upper95``),
  ``.intervals`` (with the ``weight`` of each interval), ``.fit`` (the weighted SCCS fit).
"""
