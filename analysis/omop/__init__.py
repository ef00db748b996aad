"""OMOP CDM layer: SCCS studies on an OMOP Common Data Model, as OHDSI SelfControlledCaseSeries.

* :mod:`analysis.omop.cdm` opens a CDM (DuckDB file read-only, or a folder of Parquet/CSV tables);
* :mod:`analysis.omop.extract` runs OHDSI's ``getDbSccsData`` inside the engine (DuckDB or Spark)
  and returns an :class:`~analysis.omop.sccs_data.SccsData`;
* :mod:`analysis.omop.sccs_data` defines ``SccsData``, the seam between extraction and design.

This layer sits above :mod:`analysis.sccs`, which never imports it.
"""
