"""The stack's API with ``autoreload``: an edit of the app is served by the same
``chalice local`` (its reloader restarts only its worker), the stand-ins keep running, and
stopping the stack stops the reloader's worker too."""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.request
from pathlib import Path

import pytest

from devstack.stack import Stack, StackSettings
from tests.devstack.test_stack import probe_app
from tests.processes import descendants, still_running

# It starts the stand-ins and chalice local as processes, like the rest of the stack tier.
pytestmark = pytest.mark.stack


def _index(url: str) -> object:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())
    except (OSError, ValueError, http.client.HTTPException):
        return None  # the worker is restarting


def test_an_edit_is_served_without_restarting_the_stand_ins(tmp_path: Path) -> None:
    app_dir = probe_app(tmp_path)
    settings = StackSettings(
        state_dir=tmp_path / "state",  # outside the app: its logs must not trigger reloads
        app_dir=app_dir,
        app_env={"PROBE_ENDPOINT": "probe-endpoint", "PROBE_BUCKET": "probe-bucket"},
        base_env={"PATH": os.environ["PATH"]},
        autoreload=True,
    )
    stack = Stack(settings).start()
    try:
        assert _index(stack.api_url) == {"ok": True}
        stand_ins = {name: p.pid for name, p in stack.processes.items() if name != "api"}
        api = stack.processes["api"]
        assert api.pid is not None
        worker = descendants(api.pid)
        assert worker, "chalice's reloader runs the server in a worker process"

        app = app_dir / "app.py"
        app.write_text(app.read_text().replace('{"ok": True}', '{"ok": "edited"}'))
        deadline = time.monotonic() + 30
        while _index(stack.api_url) != {"ok": "edited"} and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _index(stack.api_url) == {"ok": "edited"}
        assert api.running and stack.processes["api"] is api
        assert {n: p.pid for n, p in stack.processes.items() if n != "api"} == stand_ins
        assert all(p.running for p in stack.processes.values())
        workers = descendants(api.pid)
    finally:
        stack.stop()
    deadline = time.monotonic() + 10
    while still_running({**worker, **workers}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert still_running({**worker, **workers}) == []
