"""``chalice local`` run by hand, the Chalice way: with the stand-ins started by
``sentiment up --services-only``, ``cd sentiment_api && chalice local --stage local`` serves
the real model with nothing exported, and ``--autoreload`` serves an edit of the app without
restarting the stand-ins.

The stand-ins run on free ports, named (by ``sentiment ports``, the documented step) in the
``local`` stage of a copy of the Chalice project, so these tests run beside any other stack.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stage_config import read_ports
from tests.conftest import free_port, stop_process, wait_http
from tests.e2e.conftest import call
from tests.e2e.test_stack import NEGATIVE, POSITIVE
from tests.e2e.test_up import Up
from tests.processes import descendants
from tests.sentiment_api.conftest import chalice_project
from training.cli import main as sentiment

pytestmark = pytest.mark.stack

CHALICE = Path(sys.executable).parent / "chalice"
TEXT = {"Content-Type": "text/plain"}


@pytest.fixture(scope="module")
def services(small_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """``sentiment up --services-only``: everything but the API, on free ports."""
    root = tmp_path_factory.mktemp("services")
    artifacts = root / "artifacts"
    shutil.copytree(small_run.parent, artifacts, symlinks=True)
    up = Up(artifacts, root / "state", "--services-only")
    try:
        up.wait_ready()
        yield up
    finally:
        if up.proc.poll() is None:
            up.proc.send_signal(signal.SIGINT)
            up.finish()
        up.kill()


def nothing_exported() -> dict[str, str]:
    """The developer's environment: no AWS or SENTIMENT variable at all."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SENTIMENT_"))}


def chalice_local(project: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    """``chalice local --stage local --port PORT`` exactly as typed, in ``project``."""
    log = (project.parent / f"chalice-local-{port}.log").open("wb")  # not watched
    return subprocess.Popen(
        [str(CHALICE), "local", "--stage", "local", "--port", str(port), *extra],
        cwd=project,
        env=nothing_exported(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _answer(api: str, review: str, deadline: float) -> bytes | None:
    """The API's text/plain answer to ``review``, asked again while the worker restarts
    (a dropped connection) until ``deadline``."""
    while time.monotonic() < deadline:
        try:
            return call(api, review.encode(), headers=TEXT, timeout=5).body
        except (OSError, http.client.HTTPException):
            time.sleep(0.3)
    return None


def test_services_only_says_how_to_run_the_api_and_serves_no_api(services: Up) -> None:
    text = "\n".join(services.lines)
    assert "chalice local --stage local" in text
    assert f"--port {services.api_port}" in text
    # Nothing listens on the API's port: it is the developer's.
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{services.api_port}/health", timeout=2)


def test_chalice_local_by_hand_serves_the_real_model(services: Up) -> None:
    proc = chalice_local(services.app_dir, services.api_port, "--no-autoreload")
    api = f"http://127.0.0.1:{services.api_port}/"
    try:
        wait_http(api + "health", timeout=60, proc=proc)
        assert call(api, POSITIVE.encode(), headers=TEXT).body == b"1"
        assert call(api, NEGATIVE.encode(), headers=TEXT).body == b"0"
        health = call(api + "health", method="GET").json()
        assert health["status"] == "ok" and health["stage"] == "local"
    finally:
        stop_process(proc)


def test_autoreload_serves_an_edit_without_restarting_the_stand_ins(
    services: Up, tmp_path: Path
) -> None:
    # A copy of the app (its own app.py) whose local stage names the same stand-ins.
    project = chalice_project(tmp_path / "project", {}, copied=("app.py",))
    ports = read_ports(services.app_dir)
    assert (
        sentiment(
            [
                "ports",
                "--app-dir",
                str(project),
                "--moto-port",
                str(ports.moto),
                "--runtime-port",
                str(ports.runtime),
            ]
        )
        == 0
    )
    assert read_ports(project) == ports
    stand_ins = descendants(services.proc.pid)

    port = free_port()
    proc = chalice_local(project, port, "--autoreload")
    api = f"http://127.0.0.1:{port}/"
    try:
        wait_http(api + "health", timeout=60, proc=proc)
        # Typed by hand, chalice's stat() watcher restarts the worker once when a worker
        # writes a new .pyc (docs/development.md): app.py's own, the first time it is
        # imported, so a request right after the start may be dropped: retried here.
        assert _answer(api, POSITIVE, time.monotonic() + 30) == b"1"
        before = call(api + "health", b"", method="POST")
        assert before.json()["message"] == "Use GET to read the service's health."

        app = project / "app.py"
        app.write_text(
            app.read_text().replace(
                "Use GET to read the service's health.", "Edited: GET reads the health."
            )
        )
        deadline = time.monotonic() + 30
        message = None
        while time.monotonic() < deadline:
            try:
                message = call(api + "health", b"", method="POST", timeout=5).json()["message"]
            except (OSError, ValueError, http.client.HTTPException):
                message = None  # the worker is restarting
            if message == "Edited: GET reads the health.":
                break
            time.sleep(0.3)
        assert message == "Edited: GET reads the health."
        assert proc.poll() is None  # the same `chalice local`, reloaded
        # And once more when the reloaded worker writes app.py's new .pyc: waited out.
        assert _answer(api, NEGATIVE, deadline + 30) == b"0"
        assert proc.poll() is None
        # The stand-ins were not restarted.
        assert descendants(services.proc.pid) == stand_ins
    finally:
        stop_process(proc)
