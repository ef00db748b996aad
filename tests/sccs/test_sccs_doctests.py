"""The Examples sections of analysis.sccs run and give what they show (they cannot rot)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import analysis.sccs as package

#: Every module of the package, the subpackage analysis.sccs.r's private modules included (a
#: function's examples run only under the module that defines it).
MODULES = [
    "analysis.sccs",
    *sorted(m.name for m in pkgutil.walk_packages(package.__path__, "analysis.sccs.")),
]


@pytest.mark.parametrize("name", MODULES)
def test_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_every_public_function_has_examples() -> None:
    """numpydoc Examples on the public API of every public module."""
    import inspect

    missing = []
    for name in MODULES:
        if any(part.startswith("_") for part in name.split(".")):
            continue
        module = importlib.import_module(name)
        public = set(getattr(module, "__all__", ()))  # re-exports from private modules count
        for attr, obj in vars(module).items():
            if attr.startswith("_") or (
                getattr(obj, "__module__", None) != name and attr not in public
            ):
                continue
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and "Examples" not in (
                obj.__doc__ or ""
            ):
                missing.append(f"{name}.{attr}")
    assert not missing, f"no Examples section: {missing}"


def test_no_study_words() -> None:
    """The generic library says nothing of any particular study."""
    from pathlib import Path

    words = ("ivig", "daratumumab", "lancman", "myeloma")
    hits = [
        f"{p.name}: {w}"
        for p in Path(package.__file__).parent.rglob("*.py")
        for w in words
        if w in p.read_text(encoding="utf-8").lower()
    ]
    assert not hits, hits
