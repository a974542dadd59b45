"""Child processes are stopped with everything they spawned, even when they ignore
SIGTERM or their parent is killed; a child that dies early fails the start at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from devstack.errors import StartupError
from devstack.processes import ManagedProcess, ProcessSpec, file_ready

# Long (waits on the processes it starts and kills): handed to a worker first (tests/conftest.py).
pytestmark = pytest.mark.heavy

ENV = {"PATH": os.environ.get("PATH", os.defpath)}


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A zombie still answers kill(0); reap it if it is ours.
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    return False


def _python(name: str, code: str, tmp_path: Path, ready: Path | None = None) -> ProcessSpec:
    return ProcessSpec(
        name,
        [sys.executable, "-c", textwrap.dedent(code)],
        ENV,
        ready=None if ready is None else file_ready(ready),
        ready_timeout=15,
    )


def test_stop_takes_the_whole_group_even_when_sigterm_is_ignored(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    # Written whole, then renamed, as in the SIGKILL test below: file_ready sees the file
    # only once the pid is in it (a plain write_text was read empty on a busy machine).
    code = f"""
        import os, signal, subprocess, sys, time, pathlib
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        tmp = pathlib.Path({str(pids)!r} + ".tmp")
        tmp.write_text(f"{{child.pid}}")
        os.replace(tmp, {str(pids)!r})
        time.sleep(60)
    """
    proc = ManagedProcess(_python("stubborn", code, tmp_path, pids), tmp_path / "log").start()
    grandchild = int(pids.read_text())
    assert proc.pid is not None
    leader = proc.pid
    proc.stop(timeout=0.5)
    assert _gone(leader)
    assert _gone(grandchild)


def test_a_child_that_dies_early_fails_the_start_with_its_log(tmp_path: Path) -> None:
    code = "import sys; print('cannot bind: no such thing', flush=True); sys.exit(3)"
    spec = _python("early", code, tmp_path, tmp_path / "never")
    started = time.monotonic()
    with pytest.raises(StartupError, match="exited with status 3") as info:
        ManagedProcess(spec, tmp_path / "log").start()
    assert "cannot bind: no such thing" in str(info.value)
    assert time.monotonic() - started < 10


def test_readiness_timeout_stops_the_child(tmp_path: Path) -> None:
    spec = ProcessSpec(
        "slow",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        ENV,
        ready=lambda: False,
        ready_timeout=0.5,
    )
    proc = ManagedProcess(spec, tmp_path / "log")
    with pytest.raises(StartupError, match="not ready within"):
        proc.start()
    assert not proc.running


def test_children_die_with_a_parent_killed_by_sigkill(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    parent_code = f"""
        import os, sys, time, pathlib
        from devstack.processes import ManagedProcess, ProcessSpec, file_ready
        marker = pathlib.Path({str(pid_file)!r})
        # Written whole, then renamed: file_ready sees the file, and the test reads it,
        # only once the pid is in it (a plain write_text was read empty now and then).
        code = ("import os, pathlib, time; tmp = pathlib.Path(%r + '.tmp'); "
                "tmp.write_text(str(os.getpid())); os.replace(tmp, %r); "
                "time.sleep(60)" % (str(marker), str(marker)))
        spec = ProcessSpec("orphan", [sys.executable, "-c", code], {{"PATH": os.defpath}},
                           ready=file_ready(marker), ready_timeout=15)
        ManagedProcess(spec, pathlib.Path({str(tmp_path / "child.log")!r})).start()
        print("started", flush=True)
        time.sleep(60)
    """
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(parent_code)],
        stdout=subprocess.PIPE,
        env={**ENV, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        start_new_session=True,
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == b"started"
        child = int(pid_file.read_text())
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        assert _gone(child)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
