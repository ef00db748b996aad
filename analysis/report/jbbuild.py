"""``jupyter-book build`` with the chapters executed in parallel.

What: the same command as ``jupyter-book build`` (same arguments, same strict flags), with one
more option, ``--jobs N`` (default: the machine's CPU count, or ``$IVIG_BOOK_JOBS``), handed to
Sphinx as its number of parallel processes.

Why: myst-nb executes each chapter while Sphinx *reads* it, so with one process the chapters run
one after another and the book's build time is the sum of every chapter's (about 210 s of kernel
time on a 2-core machine). Sphinx can read documents in parallel (``sphinx-build -j``), and
myst-nb is parallel-safe, but Jupyter Book 1.x's command line has no ``-j``: its
``build_sphinx`` takes ``jobs`` and the command never passes it. This module passes it. Every
chapter is still executed from scratch on every build (``execute_notebooks: force``); only the
order changes. Two of the extensions Jupyter Book loads do not declare themselves
parallel-safe; ``book/_ext/parallel_safe.py`` explains why they are and declares it.

Examples
--------
From the repository root (what ``make book`` runs)::

    python -m analysis.report.jbbuild build --all . -W -n --keep-going
    python -m analysis.report.jbbuild build --all . --jobs 1      # the serial build
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any


def default_jobs() -> int:
    """Parallel Sphinx processes: ``$IVIG_BOOK_JOBS`` if set, else the usable CPU count."""
    env = os.environ.get("IVIG_BOOK_JOBS", "").strip()
    if env:
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def split_jobs(argv: Sequence[str]) -> tuple[int, list[str]]:
    """Take ``--jobs N`` (or ``-j N``) out of ``argv``; return (jobs, the remaining arguments).

    Examples
    --------
    >>> split_jobs(["build", ".", "--jobs", "3", "-W"])
    (3, ['build', '.', '-W'])
    """
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("-j", "--jobs", type=int, default=None)
    known, rest = ap.parse_known_args(list(argv))
    jobs = default_jobs() if known.jobs is None else known.jobs
    if jobs < 1:
        raise SystemExit("--jobs must be at least 1")
    return jobs, rest


def with_jobs(build_sphinx: Callable[..., Any], jobs: int) -> Callable[..., Any]:
    """``build_sphinx`` that always runs with ``jobs`` Sphinx processes."""

    @functools.wraps(build_sphinx)
    def build(*args: Any, **kwargs: Any) -> Any:
        kwargs["jobs"] = jobs
        return build_sphinx(*args, **kwargs)

    return build


def main(argv: Sequence[str] | None = None) -> int:
    """Run Jupyter Book's command line with ``--jobs`` Sphinx processes; return its exit code."""
    import jupyter_book.sphinx
    from jupyter_book.cli.main import main as jupyter_book_main

    from analysis.report.book import absolute_cohort_env

    absolute_cohort_env()  # the chapters run in book/: a relative IVIG_COHORT is from here
    jobs, rest = split_jobs(sys.argv[1:] if argv is None else argv)
    jupyter_book.sphinx.build_sphinx = with_jobs(jupyter_book.sphinx.build_sphinx, jobs)
    try:
        jupyter_book_main.main(args=rest, prog_name="jupyter-book", standalone_mode=True)
    except SystemExit as exc:  # click ends every command this way
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
