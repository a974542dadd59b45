"""``sentiment score`` stopped by a script while its workers are busy (``kill PID``: SIGTERM
to the command alone; ``timeout``: SIGTERM to its whole process group): it stops as Ctrl-C
stops it, with one message, and no process of it is left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.processes import descendants, still_running
from tests.training.conftest import NEGATIVE, POSITIVE

# Long (mostly waits on the scorer's processes): handed to a worker first (tests/conftest.py).
pytestmark = pytest.mark.heavy

SENTIMENT = Path(sys.executable).parent / "sentiment"


def _feed(fifo: Path, lines: int, done: threading.Event) -> None:
    """Write ``lines`` reviews into ``fifo`` and keep it open until ``done``: the command
    then waits for more input with its workers started and its output half-written."""
    texts = POSITIVE + NEGATIVE
    with fifo.open("w", encoding="utf-8") as out:
        for i in range(lines):
            out.write(json.dumps({"id": f"r{i}", "text": texts[i % len(texts)]}) + "\n")
        out.flush()
        done.wait(60)


def _wait_for(predicate: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("group", [False, True], ids=["kill-pid", "timeout-group"])
def test_sigterm_stops_the_workers_and_leaves_the_partial_file(
    tmp_path: Path, small_run: Path, group: bool
) -> None:
    fifo = tmp_path / "reviews.jsonl"
    os.mkfifo(fifo)
    output = tmp_path / "scored.jsonl"
    partial = Path(f"{output}.partial")
    errors = tmp_path / "stderr.txt"
    done = threading.Event()
    feeder = threading.Thread(target=_feed, args=(fifo, 3000, done), daemon=True)
    feeder.start()
    argv = [str(SENTIMENT), "score", str(fifo), "--output", str(output), "--run", str(small_run)]
    with errors.open("wb") as stderr:  # a file: children left behind would hold a pipe open
        proc = subprocess.Popen(
            [*argv, "--workers", "2", "--no-progress"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    children: dict[int, str] = {}
    try:
        # Rows written: the workers are running and have scored the first chunks.
        assert _wait_for(lambda: partial.exists() and partial.stat().st_size > 0, 60)
        children = descendants(proc.pid)  # forkserver, its workers, resource tracker
        assert len(children) >= 3, children
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert _wait_for(lambda: not still_running(children), 10), still_running(children)
    finally:
        done.set()
        for pid in still_running(children):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    said = errors.read_text()
    assert proc.returncode == 130, said
    assert said.strip().splitlines() == ["sentiment score: interrupted"]
    assert "leaked" not in said
    assert partial.exists() and not output.exists()
