"""``sentiment up`` as a person runs it: a subprocess that prints its URLs, serves the run
in the artifacts folder, and leaves no process behind on Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stage_config import StagePorts, read_ports, write_ports
from tests.conftest import REPO, free_port
from tests.e2e.conftest import call
from tests.e2e.test_stack import POSITIVE
from tests.processes import descendants, start_time, still_running
from tests.sentiment_api.conftest import local_project

pytestmark = pytest.mark.stack

SENTIMENT = Path(sys.executable).parent / "sentiment"
READY = "Press Ctrl-C to stop every process."


def using_moto(port: int, *, besides: int) -> set[int]:
    """Live processes of a stack whose moto listens on ``port``: moto itself (the port is
    in its arguments) and every child given ``AWS_ENDPOINT_URL_S3`` pointing at it, even
    one that lost its parent. ``besides`` (the ``sentiment up`` process) is left out."""
    url = f"=http://127.0.0.1:{port}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == besides:
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if (str(port).encode() in argv or url in environ) and start_time(
            int(entry.name)
        ) is not None:
            found.add(int(entry.name))
    return found


class Up:
    def __init__(
        self, artifacts: Path, state: Path, *extra: str, runtime_port: int | None = None
    ) -> None:
        self.api_port, self.web_port = free_port(), free_port()
        # The stand-ins' ports: free ones, named by a copy of the app's local stage.
        self.app_dir = local_project(state.parent / f"project-{state.name}")
        named = read_ports(self.app_dir)
        if runtime_port is not None:
            write_ports(self.app_dir, StagePorts(named.moto, runtime_port))
        self.moto_port = named.moto
        self.proc = subprocess.Popen(
            [
                str(SENTIMENT),
                "up",
                "--artifacts",
                str(artifacts),
                "--state-dir",
                str(state),
                "--api-port",
                str(self.api_port),
                "--web-port",
                str(self.web_port),
                "--app-dir",
                str(self.app_dir),
                *extra,
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []

    def wait_ready(self, timeout: float = 120.0) -> None:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            if READY in line:
                return
        raise AssertionError("sentiment up never got ready:\n" + "\n".join(self.lines))

    def finish(self, timeout: float = 30.0) -> int:
        out, _ = self.proc.communicate(timeout=timeout)
        self.lines.extend(out.splitlines())
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            for pid in descendants(self.proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def artifacts(small_run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "artifacts"
    shutil.copytree(small_run.parent, target, symlinks=True)
    return target


@pytest.fixture
def up_factory(tmp_path: Path) -> Iterator[list[Up]]:
    started: list[Up] = []
    yield started
    for up in started:
        up.kill()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_up_serves_prints_its_urls_and_stops_everything(
    signum: int, artifacts: Path, tmp_path: Path, up_factory: list[Up]
) -> None:
    up = Up(artifacts, tmp_path / "state")
    up_factory.append(up)
    up.wait_ready()
    text = "\n".join(up.lines)
    api = f"http://127.0.0.1:{up.api_port}/"
    assert f"http://127.0.0.1:{up.web_port}/" in text and api in text

    # The hint it prints is a command that works.
    assert f"curl -H 'Content-Type: text/plain' -d 'A wonderful film' {api}" in text
    answer = call(api, POSITIVE.encode(), headers={"Content-Type": "text/plain"})
    assert (answer.status, answer.body) == (200, b"1")
    page = call(f"http://127.0.0.1:{up.web_port}/config.js", method="GET")
    assert api.encode() in page.body

    children = descendants(up.proc.pid)
    assert len(children) >= 5  # moto, runtime, relay, chalice local, static server
    assert set(children) <= using_moto(up.moto_port, besides=up.proc.pid)
    up.proc.send_signal(signum)
    assert up.finish() == 0
    assert "stopping" in "\n".join(up.lines)
    deadline = time.monotonic() + 10
    while still_running(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert still_running(children) == []
    assert using_moto(up.moto_port, besides=up.proc.pid) == set()


def test_a_taken_port_is_a_clear_error_and_nothing_is_left(
    artifacts: Path, tmp_path: Path, up_factory: list[Up]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        up = Up(artifacts, tmp_path / "state", runtime_port=port)
        up_factory.append(up)
        code = up.finish(timeout=60)
    text = "\n".join(up.lines)
    assert code != 0
    assert f"port {port}" in text and "already in use" in text
    assert "sentiment ports" in text  # how to move the runtime
    assert "Traceback" not in text
    assert using_moto(up.moto_port, besides=up.proc.pid) == set()


def test_no_run_and_no_train_says_what_to_do(tmp_path: Path, up_factory: list[Up]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    up = Up(empty, tmp_path / "state", "--no-train")
    up_factory.append(up)
    assert up.finish() == 2
    assert "sentiment train" in "\n".join(up.lines)


def test_ctrl_c_works_even_when_started_as_a_background_job(
    artifacts: Path, tmp_path: Path, up_factory: list[Up]
) -> None:
    # A shell starts background jobs with SIGINT ignored; `sentiment up` still stops on it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        up = Up(artifacts, tmp_path / "state")
    finally:
        signal.signal(signal.SIGINT, previous)
    up_factory.append(up)
    up.wait_ready()
    children = descendants(up.proc.pid)
    up.proc.send_signal(signal.SIGINT)
    assert up.finish() == 0
    deadline = time.monotonic() + 10
    while still_running(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert still_running(children) == []


def test_a_process_that_dies_is_reported_and_everything_stops(
    artifacts: Path, tmp_path: Path, up_factory: list[Up]
) -> None:
    up = Up(artifacts, tmp_path / "state")
    up_factory.append(up)
    up.wait_ready()
    children = descendants(up.proc.pid)
    runtime = next(
        pid for pid in children if b"devstack.runtime" in Path(f"/proc/{pid}/cmdline").read_bytes()
    )
    os.kill(runtime, signal.SIGKILL)
    assert up.finish() == 1
    text = "\n".join(up.lines)
    assert "the runtime process stopped unexpectedly" in text and "runtime.log" in text
    deadline = time.monotonic() + 10
    while still_running(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert still_running(children) == []


def test_with_no_run_yet_it_trains_first_then_serves_that_model(
    tmp_path: Path, imdb_sample: Path, up_factory: list[Up]
) -> None:
    # The quick start on a fresh machine: `make demo` with no artifacts trains a model with
    # the default settings, says so with progress, then serves it. On the session's IMDB
    # sample (--data): the whole of IMDB took one to two minutes of the suite, and nothing
    # here depends on how many reviews it learnt from.
    artifacts = tmp_path / "artifacts"
    up = Up(artifacts, tmp_path / "state", "--data", str(imdb_sample))
    up_factory.append(up)
    up.wait_ready(timeout=600)
    text = "\n".join(up.lines)
    assert f"No trained model in {artifacts.resolve()} yet: training one first" in text
    assert "test accuracy" in text  # the run's result, as `sentiment train` logs it
    run = (artifacts / "latest").resolve()
    assert (run / "model.tar.gz").is_file() and (run / "vocabulary.json").is_file()
    api = f"http://127.0.0.1:{up.api_port}/"
    health = call(api + "health", method="GET").json()
    assert health["endpoint"]["name"] == f"sentiment-{run.name}"
    answer = call(api, POSITIVE.encode(), headers={"Content-Type": "text/plain"})
    assert (answer.status, answer.body) == (200, b"1")
    up.proc.send_signal(signal.SIGINT)
    assert up.finish() == 0
