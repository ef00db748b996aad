# Two commands do all set-up on a fresh machine: `make book` and `make test`.
# Both create .venv if it is missing and install the pinned dependencies first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# One BLAS thread: the models' matrices are small, and on a 2-core machine OpenBLAS's threads
# contend with the kernels executing the chapters (the heavy teaching chapters run twice as fast).
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
# jupyter-book build, with the chapters executed in parallel (one Sphinx process per CPU; set
# IVIG_BOOK_JOBS=1 for the serial build). See analysis/report/jbbuild.py. The book's commands run
# through analysis/cli/book_env.py, which first converts IVIG_COHORT=omop:PATH?concepts=MAP (an
# OMOP CDM) into a cohort folder, once.
BOOK_ENV := $(PY) -m analysis.cli.book_env
JB := $(BOOK_ENV) jbbuild

.PHONY: all venv studies book test test-kernels test-fast lint data bench lock clean sync lab exercises pdf

all: test

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP)

## The book's simulation studies (truth recovery, its extensions and decomposition, negative
## controls), cached in _build/cache per code version: run once here, so chapters executed in
## parallel read a finished study instead of computing it twice under the cell time limit.
## Then the Eunomia specification on Spark (a JVM, minutes), cached the same way: the OMOP
## chapter of both strict builds and the DuckDB-versus-Spark test read this one run.
studies: $(STAMP)
	$(PY) -m analysis.synthetic.studies
	$(PY) -m analysis.cli.eunomia_spark

## Execute every chapter (in parallel, one per CPU) and build the HTML book strictly (any warning
## or cell error fails).
book: $(STAMP) studies
	$(JB) build --all . -W -n --keep-going
	@echo "Book: $(CURDIR)/_build/html/index.html"

## The whole suite: unit, property, reference, chapter-execution, sync and strict-build tests,
## after the library's own tests under OpenBLAS's Haswell kernel (test-kernels).
test: $(STAMP) test-kernels studies
	$(PY) -m ruff check analysis tests benchmarks
	env -u OPENBLAS_CORETYPE $(PY) -m pytest -q

## The SCCS library's tests (tests/sccs, about 20 s) once more with OPENBLAS_CORETYPE=Haswell:
## some machines run that kernel, and a user's answer must not depend on it (the main pytest
## run unsets it: OpenBLAS picks the machine's own kernel).
test-kernels: $(STAMP)
	OPENBLAS_CORETYPE=Haswell $(PY) -m pytest -q tests/sccs

## Unit tests only (skips chapter execution and the book build).
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not book and not browser"

lint: $(STAMP)
	$(PY) -m ruff check analysis tests benchmarks

## Regenerate the canonical synthetic cohort (byte-identical for the same seed).
data: $(STAMP)
	$(PY) -m analysis simulate --out data/synthetic

## Keep every chapter's .md and .py twin in step.
sync: $(STAMP)
	$(VENV)/bin/jupytext --sync book/*.md

bench: $(STAMP)
	$(PY) benchmarks/bench_sccs.py
	$(PY) benchmarks/bench_startup.py

## JupyterLab on the book: every book/*.md chapter opens as a notebook and saves back to its
## .md/.py pair (jupytext); chapters read IVIG_COHORT (default data/synthetic).
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --config=lab/jupyter_lab_config.py

## For teachers: each teaching chapter (book/t*.md) as a student notebook (exercises, no
## solutions) and a separate solutions notebook, in _build/exercises/ (each chapter runs once).
exercises: $(STAMP)
	$(BOOK_ENV) exercises --out _build/exercises

## The whole book as one PDF, _build/pdf/book.pdf: the strict single-page HTML build printed by
## headless chromium (Debian's; .ci/run installs it when missing). No LaTeX.
pdf: $(STAMP)
	$(BOOK_ENV) pdf --out _build/pdf/book.pdf

## Re-resolve the pins (needs the network): requirements.in -> requirements.txt
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet -r requirements.in
	.lockenv/bin/pip freeze --all --exclude-editable | grep -v '^pip==' > requirements.txt
	rm -rf .lockenv

clean:
	rm -rf _build .pytest_cache .hypothesis
