"""Every chapter's py-percent twin runs as a plain script and prints its key results.

Issue 4 promises that ``python book/NN-name.py`` works outside Jupyter: a reader who prefers a
terminal (or a batch job on a user's own cohort) gets the chapter's numbers printed.

What is checked, and at what cost: a twin holds the same code as its chapter (``test_book.py``,
``test_chapter_and_py_twin_in_sync``), and the strict book build executes every chapter in a
kernel, so running every twin again would execute the whole book a third time in ``make test``.
A twin can only fail where plain Python differs from a kernel:

* syntax only IPython accepts (a magic, a shell escape, a top-level ``await``): every twin is
  compiled, and jupytext's commented-out magics are looked for;
* code that takes another path outside a kernel (``book.in_notebook()``, ``get_ipython``): every
  twin with such a branch is run as a script, from the project root, as a user would, and must
  exit 0 without a traceback and print its results;
* the book's helpers printing instead of displaying (glue, tables, figures, Markdown): unit tests
  in ``test_book.py``, and the twins run here go through them; every twin must call one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from analysis.report.jbbuild import default_jobs

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p for p in (REPO / "book").glob("*.py") if p.with_suffix(".md").exists())
#: Code that behaves differently in a script than in a kernel.
SCRIPT_PATH = re.compile(r"\bin_notebook\(|\bget_ipython\b")
#: What jupytext writes for an IPython magic or shell escape in a py-percent file (``# %%`` is a
#: cell marker, not a magic).
MAGIC = re.compile(r"^# (?:%(?!%)|!)\S", re.MULTILINE)
#: How a twin prints its results in a script (``analysis.report.book``'s helpers, ``print``).
PRINTS = re.compile(r"\bbook\.(?:glue_\w+|markdown|publish_table|cohort_banner)\(|\bprint\(")
RUN = [p for p in SCRIPTS if SCRIPT_PATH.search(p.read_text(encoding="utf-8"))]


def _run(script: Path, tables: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "IVIG_COHORT"}
    env["MPLBACKEND"] = "Agg"  # no display; plt.show() is a no-op
    env["IVIG_TABLES_DIR"] = str(tables)  # not the tables a book build of this session links
    return subprocess.run(
        [sys.executable, str(script.relative_to(REPO))],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, subprocess.CompletedProcess]:
    """Every twin with a script-only path run once, as many at a time as ``make book`` runs
    chapters (one per CPU): each script is its own process, so running them side by side changes
    nothing but the wall time."""
    with ThreadPoolExecutor(max_workers=default_jobs()) as pool:
        tables = tmp_path_factory.mktemp("script-tables")
        done = pool.map(lambda script: _run(script, tables), RUN)
        return dict(zip(RUN, done, strict=True))


def test_some_twins_take_a_script_only_path() -> None:
    assert len(RUN) >= 2, "no twin branches on book.in_notebook(): is the pattern out of date?"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_chapter_twin_is_plain_python(script: Path) -> None:
    text = script.read_text(encoding="utf-8")
    compile(text, script.name, "exec")  # a SyntaxError (top-level await too) names the line
    assert not MAGIC.search(text), f"{script.name}: an IPython magic or shell escape"
    assert PRINTS.search(text), f"{script.name} prints nothing when run as a script"


@pytest.mark.book
@pytest.mark.parametrize("script", RUN, ids=lambda p: p.stem)
def test_chapter_twin_runs_as_a_script(script: Path, runs) -> None:
    proc = runs[script]
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
    printed = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(printed) >= 3, f"{script.name} printed almost nothing:\n{proc.stdout}"
