"""``analysis.report.jbbuild`` (jupyter-book with parallel Sphinx reading) and the extension that
lets Sphinx read in parallel (``book/_ext/parallel_safe.py``).

The strict builds of ``tests/book`` run through this module, so that the parallel build is a
complete, warning-free book is tested there; these tests pin the pieces: ``--jobs`` parsing, that
the number reaches Sphinx, and that only the HTML builders get the declaration.
"""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import pytest

from analysis import PROJECT_ROOT
from analysis.report import jbbuild


def test_jobs_option_is_taken_out_of_the_jupyter_book_arguments() -> None:
    assert jbbuild.split_jobs(["build", ".", "--jobs", "3", "-W"]) == (3, ["build", ".", "-W"])
    assert jbbuild.split_jobs(["build", "-j", "1", "."]) == (1, ["build", "."])


def test_default_jobs_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVIG_BOOK_JOBS", "5")
    assert jbbuild.split_jobs(["build", "."]) == (5, ["build", "."])
    monkeypatch.delenv("IVIG_BOOK_JOBS")
    assert jbbuild.default_jobs() >= 1


def test_zero_jobs_is_refused() -> None:
    with pytest.raises(SystemExit, match="at least 1"):
        jbbuild.split_jobs(["build", ".", "--jobs", "0"])


def test_the_jobs_reach_build_sphinx() -> None:
    seen: dict = {}

    def build_sphinx(*args, **kwargs):
        seen.update(kwargs, args=args)
        return 0

    jbbuild.with_jobs(build_sphinx, 4)("src", "out", jobs=None, builder="html")
    assert seen == {"args": ("src", "out"), "jobs": 4, "builder": "html"}


def _extension():
    path = PROJECT_ROOT / "book" / "_ext" / "parallel_safe.py"
    spec = importlib.util.spec_from_file_location("parallel_safe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _app(builder: str) -> SimpleNamespace:
    ext = {name: SimpleNamespace(parallel_read_safe=None)
           for name in ("sphinx_multitoc_numbering", "sphinx_jupyterbook_latex", "other")}
    return SimpleNamespace(builder=SimpleNamespace(name=builder), extensions=ext)


@pytest.mark.parametrize("builder", ["html", "dirhtml", "singlehtml"])
def test_the_two_extensions_are_declared_safe_for_html_builders(builder: str) -> None:
    app = _app(builder)
    _extension()._declare(app)
    assert app.extensions["sphinx_multitoc_numbering"].parallel_read_safe is True
    assert app.extensions["sphinx_jupyterbook_latex"].parallel_read_safe is True
    assert app.extensions["other"].parallel_read_safe is None  # nobody else is vouched for


def test_nothing_is_declared_for_latex() -> None:
    app = _app("latex")
    _extension()._declare(app)
    assert all(e.parallel_read_safe is None for e in app.extensions.values())


def test_the_book_loads_the_extension() -> None:
    assert "parallel_safe: book/_ext" in (PROJECT_ROOT / "_config.yml").read_text()
