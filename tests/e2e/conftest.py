"""The whole local stack, started once per session on free ports, serving the real model
of the ``small_run`` fixture: the same composition as ``sentiment up``."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import start_time, still_running
from tests.sentiment_api.conftest import local_project
from training.local_stack import LocalSettings, LocalStack


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.body)


def call(
    url: str,
    data: bytes | None = None,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Answer:
    """One real HTTP request; the status, lower-cased headers and body, errors included."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Answer(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Answer(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


@pytest.fixture(scope="session")
def local_stack(small_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    root = tmp_path_factory.mktemp("stack")
    artifacts = root / "artifacts"
    shutil.copytree(small_run.parent, artifacts, symlinks=True)
    settings = LocalSettings(
        artifacts_dir=artifacts,
        state_dir=root / "state",
        app_dir=local_project(root / "project"),
        api_port=0,
        web_port=0,
    )
    stack = LocalStack(settings)
    stack.start()
    try:
        yield stack
    finally:
        started = [p.pid for p in (stack.stack.processes.values() if stack.stack else [])]
        processes = {pid: t for pid in started if pid and (t := start_time(pid)) is not None}
        stack.stop()
        # No process of the stack outlives it.
        deadline = time.monotonic() + 10
        while still_running(processes) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert still_running(processes) == [], "processes of the local stack still running"
