"""``make demo`` stopped the way a script stops it (SIGTERM, ``kill PID``; SIGINT too when it is
not ignored, as it is in a shell script's background job): a signal to make's own PID (not to its
process group, as a terminal's Ctrl-C would) stops make and every process of the stack."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port
from tests.e2e.conftest import call
from tests.e2e.test_stack import POSITIVE
from tests.e2e.test_up import READY
from tests.processes import descendants, still_running
from tests.sentiment_api.conftest import local_project

pytestmark = pytest.mark.stack


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signalling_make_demo_by_its_pid_leaves_no_process(
    signum: int, small_run: Path, tmp_path: Path
) -> None:
    artifacts = tmp_path / "artifacts"
    shutil.copytree(small_run.parent, artifacts, symlinks=True)
    api_port, web_port = free_port(), free_port()
    args = [
        "--no-train",
        f"--artifacts={artifacts}",
        f"--state-dir={tmp_path / 'state'}",
        f"--app-dir={local_project(tmp_path / 'project')}",
        f"--api-port={api_port}",
        f"--web-port={web_port}",
    ]
    make = subprocess.Popen(
        # -o: take the install as done (the test is about stopping, not installing).
        ["make", "-o", ".venv/.installed", "demo", f"DEMO_ARGS={' '.join(args)}"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,  # make leads its own group, as in a script's background
    )
    assert make.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = make.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if READY in line:
                break
        assert READY in "\n".join(lines), "\n".join(lines)
        api = f"http://127.0.0.1:{api_port}/"
        assert call(api, POSITIVE.encode(), headers={"Content-Type": "text/plain"}).body == b"1"
        stack = descendants(make.pid)
        assert len(stack) >= 6  # sentiment up, moto, runtime, relay, chalice local, static

        os.kill(make.pid, signum)  # make's PID alone, not its group
        make.communicate(timeout=30)
        deadline = time.monotonic() + 10
        while still_running(stack) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert still_running(stack) == []
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.communicate()
