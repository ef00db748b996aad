"""One strict book build per test session, shared by every test that needs built HTML.

What and why: a strict ``jupyter-book build --all -W -n --keep-going`` (run as ``make book`` runs
it, through ``analysis.cli.book_env`` and ``analysis.report.jbbuild``: ``IVIG_COHORT`` resolved,
chapters executed in parallel) executes every chapter and
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

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: ``make book``'s command: ``jupyter-book`` with the chapters executed in parallel, after
#: ``IVIG_COHORT`` is resolved (an ``omop:`` CDM converted into a cohort folder).
JUPYTER_BOOK = [sys.executable, "-m", "analysis.cli.book_env", "jbbuild"]

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

#: Installed into a throw-away folder on PYTHONPATH when network namespaces are unavailable:
#: every Python process of the build (jupyter-book and each kernel) refuses non-loopback sockets.
_SITECUSTOMIZE = """
import ipaddress, socket

def _local(address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str) or host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False

_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex

def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address):
        raise OSError(101, f"network blocked by the offline build test: {address!r}")
    return _connect(self, address)

def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address):
        return 101
    return _connect_ex(self, address)

socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
"""


def offline_prefix(scratch: Path) -> tuple[list[str], dict[str, str], str]:
    """How to run a command with the network blocked: (argv prefix, extra env, method name).

    Prefers a new user + network namespace (``unshare -rn``; only loopback exists, brought up
    with ``ip link set lo up`` because Jupyter kernels talk to the build over 127.0.0.1), which
    blocks every process. Where namespaces are not permitted, falls back to a ``sitecustomize``
    that makes every Python process refuse non-loopback connections.
    """
    probe = ["unshare", "-rn", "sh", "-c", "ip link set lo up"]
    try:
        ok = subprocess.run(probe, capture_output=True, timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if ok:
        return ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$@"', "offline"], {}, (
            "unshare"
        )
    site = scratch / "offline-site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
    pythonpath = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return [], {"PYTHONPATH": pythonpath}, "sitecustomize"


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
    cohort: Path | str | None  # IVIG_COHORT used (None: the default, data/synthetic)
    returncode: int
    log: str
    seconds: float
    offline: str = ""  # how the network was blocked during the build ("" = it was not)
    repo_before: dict[str, tuple[int, int]] = field(default_factory=dict)
    repo_after: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the strict build succeeded and produced an index page."""
        return self.returncode == 0 and (self.html / "index.html").is_file()

    def failure_report(self, tail: int = 3000) -> str:
        """A short explanation of a failed build: its warnings and the end of its log (kernel
        start-up chatter removed)."""
        lines = [ln for ln in self.log.splitlines() if "Kernel is running over TCP" not in ln]
        return (
            f"strict build exit {self.returncode} ({self.seconds:.0f} s, cohort {self.cohort}, "
            f"offline: {self.offline or 'no'})\nwarnings:\n  "
            + "\n  ".join(self.warnings()[:40])
            + "\nlog tail:\n"
            + "\n".join(lines)[-tail:]
        )

    def warnings(self) -> list[str]:
        """Lines of the build log that Sphinx or the executor flagged as warnings or errors."""
        return [
            line
            for line in self.log.splitlines()
            if ("WARNING" in line or "ERROR" in line or "CRITICAL" in line)
            and "Kernel is running over TCP" not in line
        ]


def run_killing_on_timeout(cmd: list[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    """Run ``cmd`` from the repository in its own session; return (exit code, stdout + stderr).

    Past ``timeout`` seconds the whole session is killed (the build and the Sphinx processes it
    forked, not only the first process: a survivor would slow every later test) and the exit
    code is -9, with the time limit at the end of the log. A build that times out is then a
    failed :class:`BuiltBook`, shared like any other, so it costs its time limit once per
    session and not once per test module that asks for it.
    """
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return -9, f"{out}\n{err}\nERROR: the build timed out after {timeout} s and was killed"
    return proc.returncode, out + "\n" + err


def build_book(
    out: Path,
    cohort: Path | str | None = None,
    timeout: int = BUILD_TIMEOUT_S,
    offline: bool = True,
    env_extra: dict[str, str] | None = None,
) -> BuiltBook:
    """Run one strict build of the repository's book into ``out`` (with ``IVIG_COHORT=cohort``: a
    folder, or a value such as ``omop:PATH?concepts=MAP``).

    With ``offline`` (the default) the build runs with the network blocked (see
    :func:`offline_prefix`): the book must build from an installed environment with no network,
    and every test that uses this build proves it at no extra cost.
    """
    env = dict(os.environ)
    env.pop("IVIG_COHORT", None)
    # tests/conftest.py sets MPLBACKEND=Agg for the test process; inherited by the kernels it
    # would make every glued figure render as "<Figure size ...>" text (and the build still pass)
    env.pop("MPLBACKEND", None)
    if cohort is not None:
        env["IVIG_COHORT"] = str(cohort)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # each build writes its CSV tables into its own output folder: nothing else in the session
    # (the chapter scripts, another build) rewrites them, so a later build reusing this one's
    # environment (the PDF test) finds every page up to date
    env["IVIG_TABLES_DIR"] = str(out / "tables")
    env.update(env_extra or {})
    cmd = [
        *JUPYTER_BOOK,
        "build",
        "--all",
        str(REPO),
        "--path-output",
        str(out),
        "-W",
        "-n",
        "--keep-going",
    ]
    method = ""
    if offline:
        prefix, extra_env, method = offline_prefix(out)
        cmd = prefix + cmd
        env.update(extra_env)
    before = repo_snapshot()
    t0 = time.monotonic()
    returncode, log = run_killing_on_timeout(cmd, env, timeout)
    seconds = time.monotonic() - t0
    after = repo_snapshot()
    return BuiltBook(
        out=out,
        html=out / "_build" / "html",
        cohort=cohort,
        returncode=returncode,
        log=log,
        seconds=seconds,
        offline=method,
        repo_before=before,
        repo_after=after,
    )


_CACHE: dict[str, BuiltBook] = {}
_LOCK = threading.Lock()


def shared_build(
    tmp_path_factory, cohort: Path | str | None = None, env_extra: dict[str, str] | None = None
) -> BuiltBook:
    """The session's build for ``cohort`` (None = default cohort); built on first request.

    Every caller in one pytest process gets the same :class:`BuiltBook`, whichever module asks
    first, so two test files never build the same configuration twice. ``env_extra`` (extra
    environment variables, e.g. a recording hook) is part of the configuration.
    """
    key = (str(cohort.resolve()) if isinstance(cohort, Path) else cohort or "") + repr(
        sorted((env_extra or {}).items())
    )
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        reuse = os.environ.get("IVIG_TEST_BOOK_HTML")
        if cohort is None and not env_extra and reuse:
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
            book = build_book(out, cohort, env_extra=env_extra)
        _CACHE[key] = book
        return book


# --------------------------------------------------------------------------- a user's own cohort
#: Prefix of the medical-record-like ids given to the user-like cohort's patients.
ID_PREFIX = "MRN-8841-"
USER_COHORT_NAME = "st-elsewhere-myeloma"

#: IPython startup file: records the text of every matplotlib figure drawn in a kernel (one JSON
#: line per draw, to $QA_FIGURE_TEXTS), so a test can check what figures print without OCR.
RECORD_FIGURES = r"""
import json, os
import matplotlib.figure
from matplotlib.text import Text

_draw = matplotlib.figure.Figure.draw


def _recording_draw(self, renderer):
    result = _draw(self, renderer)
    try:
        texts = [t.get_text() for t in self.findobj(Text) if t.get_text()]
        texts += [str(ax.get_title()) for ax in self.axes]
        with open(os.environ["QA_FIGURE_TEXTS"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"axes": len(self.axes), "texts": texts}) + "\n")
    except Exception as exc:  # recording must never change the build
        with open(os.environ["QA_FIGURE_TEXTS"] + ".errors", "a", encoding="utf-8") as fh:
            fh.write(repr(exc) + "\n")
    return result


matplotlib.figure.Figure.draw = _recording_draw
"""


def make_user_cdm(folder: Path, seed: int = 7) -> tuple[Path, dict[str, str]]:
    """The OMOP twin of ``simulate --seed <seed>`` in ``folder``, looking like a hospital's CDM.

    ``simulate --seed <seed> --omop <folder>/st-elsewhere-myeloma.duckdb`` writes the twin; then
    each person's ``person_source_value`` becomes a medical-record-like id ``MRN-8841-<4 digits>``
    (where a hospital's CDM keeps its record number; the extraction reads ``person_id`` only).
    Returns the CDM file and the mapping simulator id -> MRN-like id.
    """
    import duckdb

    cdm = folder / f"{USER_COHORT_NAME}.duckdb"
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "simulate", "--seed", str(seed), "--out",
         str(folder / "simulated"), "--omop", str(cdm)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"simulate --omop failed: {proc.stderr[-2000:]}")
    with duckdb.connect(str(cdm)) as con:
        ids = [r[0] for r in con.execute(
            "SELECT person_source_value FROM person ORDER BY person_id").fetchall()]
        mapping = {old: f"{ID_PREFIX}{(7919 * (k + 13)) % 10_000:04d}" for k, old in enumerate(ids)}
        if len(set(mapping.values())) != len(mapping):
            raise RuntimeError("user-cohort ids are not unique")
        con.executemany("UPDATE person SET person_source_value = ? WHERE person_source_value = ?",
                        [(new, old) for old, new in mapping.items()])
    return cdm, mapping


@dataclass(frozen=True)
class UserBuild:
    """A strict build of the book on a user-like OMOP CDM (see :func:`user_cohort_build`)."""

    book: BuiltBook
    cohort: Path  # the CDM file (outside the repository)
    ids: dict[str, str]  # simulator id -> the CDM's MRN-like person_source_value
    figure_texts: Path  # JSON lines: the text of every figure drawn during the build
    converted: Path  # the cohort folder the build converted the CDM into (outside the repository)


_USER: dict[str, UserBuild] = {}


def user_cohort_build(tmp_path_factory, seed: int = 7) -> UserBuild:
    """The session's build on a user-like OMOP CDM (``make_user_cdm(seed)``), built once.

    The book reads it as a user would: ``IVIG_COHORT=omop:<cdm>?concepts=<the project's
    mapping>``, so this one build proves both a user's own cohort and the OMOP road. The CDM, and
    the cohort folder the build converts it into (``IVIG_OMOP_CACHE``), live in temporary folders
    outside the repository; the build runs offline with an IPython startup file that records every
    figure's text. Shared by the privacy tests and by the book's "numbers follow the cohort" test
    (its numbers are those of ``simulate --seed 7``, read back through the mapping).
    """
    with _LOCK:
        if str(seed) in _USER:
            return _USER[str(seed)]
    cdm, ids = make_user_cdm(tmp_path_factory.mktemp("outside-repo"), seed)
    cache = tmp_path_factory.mktemp("omop-cache")
    ipython = tmp_path_factory.mktemp("ipython")
    startup = ipython / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-qa-record-figures.py").write_text(RECORD_FIGURES, encoding="utf-8")
    texts = ipython / "figure-texts.jsonl"
    concepts = REPO / "data" / "omop" / "ivig-concepts.yaml"
    book = shared_build(
        tmp_path_factory,
        cohort=f"omop:{cdm}?concepts={concepts}",
        env_extra={"IPYTHONDIR": str(ipython), "QA_FIGURE_TEXTS": str(texts),
                   "IVIG_OMOP_CACHE": str(cache)},
    )
    converted = sorted(cache.glob("omop-cohort-*"))
    built = UserBuild(book=book, cohort=cdm, ids=ids, figure_texts=texts,
                      converted=converted[0] if len(converted) == 1 else cache / "not-converted")
    with _LOCK:
        _USER[str(seed)] = built
    return built
