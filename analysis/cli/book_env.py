"""``python -m analysis.cli.book_env {jbbuild,pdf,exercises} ARGS``: a book command, with the
cohort of ``$IVIG_COHORT`` made ready first.

What: a plain folder is made absolute (the kernels run in ``book/``); an OMOP CDM,
``IVIG_COHORT=omop:PATH?concepts=MAP``, is converted once into a private cohort folder
(:func:`analysis.omop.book_cohort.prepare`: ``_build/cache/omop-cohort-<hash>/``) and
``$IVIG_COHORT`` is set to that folder for the command and every kernel it starts. Then the
command runs: ``jbbuild`` (``make book``), ``pdf`` (``make pdf``), ``exercises``
(``make exercises``), with ``ARGS`` passed on.

Why here: the chapters read the cohort through ``analysis.report.book``, which must not import
the OMOP layer (``report`` sits below ``omop``); this module sits above both. Converting before
the kernels start converts once per build, not once per chapter executed in parallel, and the
chapters read a cohort folder exactly as they read any other. A CDM the conversion refuses exits
2 with its message (the table or key it lacks) before anything is built.

Examples
--------
From the repository root::

    IVIG_COHORT='omop:/data/cdm.duckdb?concepts=data/omop/ivig-concepts.yaml' \\
        python -m analysis.cli.book_env jbbuild build --all . -W -n --keep-going
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

#: The book commands this entry runs, by name.
COMMANDS: tuple[str, ...] = ("jbbuild", "pdf", "exercises")


def resolve_cohort_env() -> str:
    """Make ``$IVIG_COHORT`` a cohort folder a kernel can read (see the module docstring);
    return a line saying what was done ("" when there is nothing to say).

    Raises
    ------
    analysis.omop.errors.OmopError
        When the ``omop:`` value or its CDM cannot be used (the message names it).
    """
    from analysis.report.book import COHORT_ENV, OMOP_SCHEME, absolute_cohort_env

    raw = os.environ.get(COHORT_ENV, "").strip()
    if not raw.startswith(OMOP_SCHEME):
        absolute_cohort_env()
        return ""
    from analysis.omop.book_cohort import parse_source, prepare

    source = parse_source(raw)
    folder = prepare(raw)
    os.environ[COHORT_ENV] = str(folder)
    return (f"{COHORT_ENV}: the OMOP CDM {source.cdm.name} through {source.concepts.name}, "
            f"as the cohort folder {folder}")


def _command_main(name: str) -> Callable[[Sequence[str]], int]:
    if name == "jbbuild":
        from analysis.report.jbbuild import main
    elif name == "pdf":
        from analysis.report.pdf import main
    else:
        from analysis.report.exercises import main
    return main


def main(argv: Sequence[str] | None = None) -> int:
    """Resolve ``$IVIG_COHORT``, then run the named book command; its exit code, or 2."""
    from analysis.sccs.errors import SCCSError

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        print(f"usage: python -m analysis.cli.book_env {{{','.join(COMMANDS)}}} ARGS",
              file=sys.stderr)
        return 2
    try:
        said = resolve_cohort_env()
    except SCCSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if said:
        print(said, file=sys.stderr)
    return int(_command_main(args[0])(args[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
