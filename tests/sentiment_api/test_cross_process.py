"""The refresh crosses the process boundary, and CORS preflight works over real HTTP.

The API runs in ``chalice local --stage local`` (a subprocess, the real local stage's
config with free ports); the S3 handler runs here, in the test process. They share nothing
but moto's server. A small fake of the sagemaker-runtime wire protocol (a thread here)
answers the API and records which endpoint each request went to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from tests.conftest import free_port, stop_process, wait_http
from tests.sentiment_api.conftest import (
    BUCKET,
    chalice_project,
    create_endpoint,
    make_vocabulary,
)
from vocab_store.store import VocabularyStore

pytestmark = pytest.mark.stack

CHALICE = Path(sys.executable).parent / "chalice"
TTL = 1.0


class FakeRuntime(ThreadingHTTPServer):
    """InvokeEndpoint over HTTP: answers 0.8 per row and records (endpoint, type, body)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bytes]] = []
        super().__init__(("127.0.0.1", free_port()), _RuntimeHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _RuntimeHandler(BaseHTTPRequestHandler):
    server: FakeRuntime

    def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        name = self.path.split("/")[2]
        self.server.calls.append((name, self.headers.get("Content-Type", ""), body))
        answer = "\n".join("0.8" for _ in body.split(b"\n")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_runtime() -> Iterator[FakeRuntime]:
    server = FakeRuntime()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def api(moto_env: str, fake_runtime: FakeRuntime, tmp_path: Path) -> Iterator[str]:
    """``chalice local --stage local`` on a free port; yields its URL."""
    port = free_port()
    project = chalice_project(
        tmp_path / "project",
        {
            "AWS_ENDPOINT_URL_S3": moto_env,
            "AWS_ENDPOINT_URL_SAGEMAKER": moto_env,
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": fake_runtime.url,
            "SENTIMENT_VOCAB_TTL": str(TTL),
        },
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTIMENT_")}
    log = (tmp_path / "chalice.log").open("wb")
    proc = subprocess.Popen(
        [str(CHALICE), "local", "--stage", "local", "--port", str(port), "--no-autoreload"],
        cwd=project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", proc=proc)
        yield url
    finally:
        stop_process(proc)
        log.close()


def _call(url: str, method: str = "GET", body: bytes | None = None, **headers: str) -> Any:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _health_version(url: str) -> int | None:
    status, _, body = _call(f"{url}/health")
    vocabulary = json.loads(body)["vocabulary"]
    return vocabulary["version"] if vocabulary else None


def _s3_event(client: Client, key: str) -> Any:
    return client.events.generate_s3_event(BUCKET, key)


def test_a_promotion_in_another_process_reaches_the_api_within_the_ttl(
    api: str, fake_runtime: FakeRuntime, client: Client, s3: Any
) -> None:
    store = VocabularyStore(BUCKET, s3_client=s3)
    create_endpoint("sentiment-run-one", "1" * 64)
    create_endpoint("sentiment-run-two", "2" * 64)
    one = make_vocabulary(1, endpoint="sentiment-run-one", fingerprint="1" * 64)
    two = make_vocabulary(2, endpoint="sentiment-run-two", fingerprint="2" * 64)

    status, headers, _ = _call(api, "POST", b"superb", **{"Content-Type": "text/plain"})
    assert status == 503 and "Retry-After" in headers  # nothing promoted yet

    # The S3 handler, in this process, promotes version 1 ...
    client.lambda_.invoke("refresh_vocabulary", _s3_event(client, store.publish(one)))
    deadline = time.monotonic() + 10 * TTL + 10
    while _health_version(api) != 1:
        assert time.monotonic() < deadline, "the API never saw version 1"
        time.sleep(0.2)
    status, headers, body = _call(api, "POST", b"superb film", **{"Content-Type": "text/plain"})
    assert (status, body) == (200, b"1")
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert fake_runtime.calls[-1][0] == "sentiment-run-one"

    # ... then version 2, whose model is on another endpoint: both switch together.
    client.lambda_.invoke("refresh_vocabulary", _s3_event(client, store.publish(two)))
    deadline = time.monotonic() + 10 * TTL + 10
    while _health_version(api) != 2:
        assert time.monotonic() < deadline, "the API never saw version 2"
        time.sleep(0.2)
    status, _, body = _call(
        api, "POST", b'{"review": "superb film"}', **{"Content-Type": "application/json"}
    )
    verdict = json.loads(body)
    assert verdict["vocabulary_version"] == 2 and verdict["model"] == "sentiment-run-two"
    name, content_type, sent = fake_runtime.calls[-1]
    assert (name, content_type) == ("sentiment-run-two", "text/csv")
    assert sent.count(b",") + 1 == two.feature_count


def test_preflight_and_errors_over_real_http(api: str) -> None:
    status, headers, _ = _call(
        f"{api}/predict",
        "OPTIONS",
        Origin="http://127.0.0.1:9000",
        **{
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "*"
    # Only what works: the app's own 405 views are left out of the preflight.
    assert headers["Access-Control-Allow-Methods"] == "POST,OPTIONS"
    assert "content-type" in headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in headers

    status, headers, body = _call(
        f"{api}/predict", "POST", b"\xff\xfe", **{"Content-Type": "text/plain"}
    )
    assert status == 400 and headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(body)["message"].endswith(".")
    status, headers, _ = _call(
        f"{api}/", "POST", b"x=1", **{"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 415 and headers["Access-Control-Allow-Origin"] == "*"
    # A method the route does not serve: the app's 405, not chalice's (no CORS, wrong Allow).
    for method, path, allow in [("PUT", "/predict", "POST"), ("DELETE", "/health", "GET")]:
        status, headers, body = _call(
            f"{api}{path}", method, b"superb", **{"Content-Type": "text/plain"}
        )
        assert (status, headers["Allow"]) == (405, f"{allow}, OPTIONS")
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert json.loads(body)["error"] == "MethodNotAllowed"
