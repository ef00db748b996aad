"""OMOP CDM layer: SCCS studies on an OMOP Common Data Model, as OHDSI SelfControlledCaseSeries.

* :mod:`analysis.omop.cdm` opens a CDM (DuckDB file read-only, or a folder of Parquet/CSV tables);
* :mod:`analysis.omop.extract` runs OHDSI's ``getDbSccsData`` inside the engine (DuckDB or Spark)
  and returns an :class:`~analysis.omop.sccs_data.SccsData`;
* :mod:`analysis.omop.sccs_data` defines ``SccsData``, the seam between extraction and design;
* :mod:`analysis.omop.spec` reads the analysis specification (OHDSI's settings, snake_case);
* :mod:`analysis.omop.population` (``createStudyPopulation``), :mod:`analysis.omop.design`
  (SCCS/SCRI interval data) with :mod:`analysis.omop.time_effects` and
  :mod:`analysis.omop.splines` (age, season, calendar time), :mod:`analysis.omop.fit` (the
  library's conditional Poisson, profile-likelihood intervals), :mod:`analysis.omop.diagnostics`
  (OHDSI's diagnostics and unblinding) and :mod:`analysis.omop.tables` (time to event, spans);
* :mod:`analysis.omop.run` runs every exposures-outcome set under every analysis and
  :mod:`analysis.omop.export` writes OHDSI's results data model (``python -m analysis omop run``).

This layer sits above :mod:`analysis.sccs`, which never imports it.
"""
