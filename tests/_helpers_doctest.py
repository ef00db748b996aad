"""Running a module's Examples and finding public functions without any (shared by the doctest
tests of the packages)."""

from __future__ import annotations

import doctest
import importlib
import inspect


def failed_examples(name: str) -> str | None:
    """None when every Example of module ``name`` gives what it shows, else a message."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    if result.failed:
        return f"{result.failed} of {result.attempted} examples failed in {name}"
    return None


def missing_examples(names: list[str]) -> list[str]:
    """Public classes and functions (``__all__``, defined in the module) without Examples."""
    missing = []
    for name in names:
        if name.rsplit(".", 1)[-1].startswith("_"):
            continue
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            own = getattr(obj, "__module__", None) == name
            documented = "Examples" in (obj.__doc__ or "")
            if own and (inspect.isclass(obj) or inspect.isfunction(obj)) and not documented:
                missing.append(f"{name}.{attr}")
    return missing
