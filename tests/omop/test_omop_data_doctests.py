"""The Examples of the OMOP layer's data modules run and give what they show; public functions
and classes have Examples; the generic library never imports the OMOP layer."""

from __future__ import annotations

import subprocess
import sys

import pytest
from _helpers_doctest import failed_examples, missing_examples

#: The modules of the CDM-reading and extraction half of analysis.omop.
MODULES = [
    "analysis.omop",
    "analysis.omop.errors",
    "analysis.omop.sccs_data",
    "analysis.omop.engine",
    "analysis.omop.cdm",
    "analysis.omop.cohorts",
    "analysis.omop.eunomia",
    "analysis.omop._sql",
    "analysis.omop.extract",
    "analysis.omop.eventdep",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples(name: str) -> None:
    assert failed_examples(name) is None


def test_every_public_function_has_examples() -> None:
    assert missing_examples(MODULES) == []


def test_sccs_does_not_import_omop() -> None:
    code = (
        "import sys, pkgutil, importlib, analysis.sccs as p\n"
        "for m in pkgutil.walk_packages(p.__path__, 'analysis.sccs.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(any(k.startswith('analysis.omop') for k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
