"""One strict book build per test session, shared by every test that needs built HTML.

What and why: a strict ``jupyter-book build --all -W -n --keep-going`` executes every chapter and
takes minutes; the browser tests, the book tests and the privacy tests all need its output. This
module builds each distinct configuration (default cohort, or a given ``IVIG_COHORT``) at most once
per pytest process, into a temporary ``--path-output`` folder so a developer's ``_build/`` is never
overwritten, and records what a privacy test needs: a snapshot (relative path -> mtime, size) of the
repository tree taken just before and just after the build.

Use from a test module or ``tests/conftest.py``::

    from _book_build import BuiltBook, shared_build

    @pytest.fixture(scope="session")
    def built_book(tmp_path_factory) -> BuiltBook:
        return shared_build(tmp_path_factory)

Set ``IVIG_TEST_BOOK_HTML=/path/to/_build/html`` to reuse an existing strict build of the default
cohort instead (e.g. the one ``make book`` just made); then the build log and repository snapshots
are empty and tests that need them build afresh.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")

#: Folders whose contents may change during a build without it being a privacy concern:
#: build products, caches, the virtual environment and version control.
VOLATILE_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "_build",
        "__pycache__",
        ".pytest_cache",
        ".hypothesis",
        ".ruff_cache",
        ".jupyter_cache",
        ".ipynb_checkpoints",
    }
)

#: Build time limit (the book must build in < 3 min; leave room for a slow machine).
BUILD_TIMEOUT_S = 900


def repo_snapshot(root: Path = REPO) -> dict[str, tuple[int, int]]:
    """Map every file under ``root`` (volatile folders excluded) to ``(mtime_ns, size)``."""
    snap: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in VOLATILE_DIRS]
        for name in filenames:
            path = Path(dirpath, name)
            try:
                st = path.stat()
            except FileNotFoundError:  # removed while walking
                continue
            snap[str(path.relative_to(root))] = (st.st_mtime_ns, st.st_size)
    return snap


def snapshot_diff(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> dict[str, list[str]]:
    """Files added, removed and modified between two snapshots."""
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "modified": sorted(k for k in set(before) & set(after) if before[k] != after[k]),
    }


@dataclass(frozen=True)
class BuiltBook:
    """The result of one strict build."""

    out: Path  # the --path-output folder
    html: Path  # out/_build/html
    cohort: Path | None  # IVIG_COHORT used (None: the default, data/synthetic)
    returncode: int
    log: str
    seconds: float
    repo_before: dict[str, tuple[int, int]] = field(default_factory=dict)
    repo_after: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the strict build succeeded and produced an index page."""
        return self.returncode == 0 and (self.html / "index.html").is_file()

    def warnings(self) -> list[str]:
        """Lines of the build log that Sphinx or the executor flagged as warnings or errors."""
        return [
            line
            for line in self.log.splitlines()
            if ("WARNING" in line or "ERROR" in line or "CRITICAL" in line)
            and "Kernel is running over TCP" not in line
        ]


def build_book(out: Path, cohort: Path | None = None, timeout: int = BUILD_TIMEOUT_S) -> BuiltBook:
    """Run one strict build of the repository's book into ``out`` (with ``IVIG_COHORT=cohort``)."""
    env = dict(os.environ)
    env.pop("IVIG_COHORT", None)
    if cohort is not None:
        env["IVIG_COHORT"] = str(cohort)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    cmd = [
        str(JUPYTER_BOOK),
        "build",
        "--all",
        str(REPO),
        "--path-output",
        str(out),
        "-W",
        "-n",
        "--keep-going",
    ]
    before = repo_snapshot()
    t0 = time.monotonic()
    proc = subprocess.run(
        cmd,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.monotonic() - t0
    after = repo_snapshot()
    return BuiltBook(
        out=out,
        html=out / "_build" / "html",
        cohort=cohort,
        returncode=proc.returncode,
        log=proc.stdout + "\n" + proc.stderr,
        seconds=seconds,
        repo_before=before,
        repo_after=after,
    )


_CACHE: dict[str, BuiltBook] = {}
_LOCK = threading.Lock()


def shared_build(tmp_path_factory, cohort: Path | None = None) -> BuiltBook:
    """The session's build for ``cohort`` (None = default cohort); built on first request.

    Every caller in one pytest process gets the same :class:`BuiltBook`, whichever module asks
    first, so two test files never build the same configuration twice.
    """
    key = str(cohort.resolve()) if cohort is not None else ""
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        reuse = os.environ.get("IVIG_TEST_BOOK_HTML")
        if cohort is None and reuse:
            html = Path(reuse).resolve()
            book = BuiltBook(
                out=html.parents[1],
                html=html,
                cohort=None,
                returncode=0 if (html / "index.html").is_file() else 1,
                log="",
                seconds=0.0,
            )
        else:
            out = tmp_path_factory.mktemp("book-cohort" if cohort is not None else "book")
            book = build_book(out, cohort)
        _CACHE[key] = book
        return book
