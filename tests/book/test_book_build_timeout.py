"""The shared book build's time limit (tests/_book_build.py): a build past its limit is killed
with every process it started, and fails once instead of holding the machine.

On a loaded machine a strict build can pass ``BUILD_TIMEOUT_S``; before this, the timeout killed
only the first process, the Sphinx workers went on executing chapters beside the rest of the
suite, and every later module asking for the build started another one."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from _book_build import run_killing_on_timeout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child not yet reaped by its (killed) parent is a zombie: gone for our purpose
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def test_a_build_past_its_time_limit_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    # a parent that forks a long-lived worker, as jupyter-book forks Sphinx processes
    code = (f"import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', "
            f"'import time; time.sleep(60)']); open({str(pid_file)!r}, 'w').write(str(p.pid)); "
            f"time.sleep(60)")
    t0 = time.monotonic()
    code_, log = run_killing_on_timeout([sys.executable, "-c", code], dict(os.environ), 3)
    assert time.monotonic() - t0 < 30
    assert code_ == -9 and "timed out after 3 s" in log
    worker = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "the build's worker survived the timeout"


def test_a_build_within_its_time_limit_returns_its_exit_code_and_output() -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    code_, log = run_killing_on_timeout([sys.executable, "-c", code], dict(os.environ), 60)
    assert code_ == 3 and "out" in log and "err" in log
