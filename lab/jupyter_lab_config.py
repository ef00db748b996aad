"""JupyterLab for the book: ``make lab`` runs ``jupyter lab --config=lab/jupyter_lab_config.py``.

* jupytext's contents manager (server extension ``jupyterlab_jupytext``) serves every paired
  chapter ``book/NN-name.md`` as a notebook and, on save, writes both files of the pair: the
  MyST markdown and its py-percent twin (the pairing is in each chapter's header,
  ``formats: md:myst,py:percent``). No ``.ipynb`` is written next to the chapters.
* ``lab/settings/overrides.json`` makes a double click on a Markdown file open it as a notebook.
* The server's root is the repository, and it opens on ``book/``. Kernels start in the chapter's
  folder; the chapters find the cohort from ``$IVIG_COHORT`` (default ``data/synthetic``); a
  relative path is made absolute here, from where ``make lab`` was run, and an OMOP CDM
  (``omop:PATH?concepts=MAP``) converted into a cohort folder, as in the book build.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

if os.environ.get("IVIG_COHORT", "").strip():  # kernels start in book/: resolve it from here
    from analysis.cli.book_env import resolve_cohort_env  # an omop: CDM becomes a cohort folder
    from analysis.sccs.errors import SCCSError

    try:
        resolve_cohort_env()
    except SCCSError as exc:
        sys.exit(f"make lab: {exc}")

c = get_config()  # noqa: F821 - provided by Jupyter when it loads this file
c.ServerApp.jpserver_extensions = {"jupyterlab_jupytext": True}
c.ServerApp.root_dir = str(ROOT)
c.ServerApp.default_url = "/lab/tree/book"
c.LabApp.app_settings_dir = str(ROOT / "lab" / "settings")
# Containers and CI often run as root; Jupyter refuses to start as root without this.
c.ServerApp.allow_root = True
