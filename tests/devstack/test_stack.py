"""The composed stack: moto, the runtime, the relay, ``chalice local`` on a tiny probe app,
and the static server, all as real processes on free ports; and that stopping (or a
failed start) leaves no process behind."""

from __future__ import annotations

import json
import os
import socket
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
import xgboost as xgb

from devstack.errors import PortInUseError, StartupError
from devstack.processes import free_port, live_processes
from devstack.stack import Stack, StackSettings, chalice_env_conflicts
from tests.devstack.conftest import Control

pytestmark = pytest.mark.stack

PROBE_BUCKET = "probe-bucket"
PROBE_APP = textwrap.dedent(
    """
    import os

    import boto3
    from chalice import Chalice

    app = Chalice(app_name="devstack-probe")
    _clients = {}


    def client(name):
        if name not in _clients:
            _clients[name] = boto3.client(name)
        return _clients[name]


    @app.route("/", methods=["POST"], content_types=["text/plain"])
    def predict():
        answer = client("sagemaker-runtime").invoke_endpoint(
            EndpointName=os.environ["PROBE_ENDPOINT"],
            ContentType="text/csv",
            Body=app.current_request.raw_body,
        )
        return answer["Body"].read().decode()


    @app.route("/", methods=["GET"])
    def index():
        return {"ok": True}


    @app.on_s3_event(bucket=os.environ["PROBE_BUCKET"], prefix="vocab/incoming/", suffix=".json")
    def on_upload(event):
        client("s3").put_object(Bucket=event.bucket, Key="seen/" + event.key, Body=b"seen")
    """
)


def probe_app(root: Path, stage_env: dict[str, str] | None = None) -> Path:
    app_dir = root / "probe"
    (app_dir / ".chalice").mkdir(parents=True)
    (app_dir / "app.py").write_text(PROBE_APP)
    config = {
        "version": "2.0",
        "app_name": "devstack-probe",
        "stages": {"local": {"environment_variables": stage_env or {}}},
    }
    (app_dir / ".chalice" / "config.json").write_text(json.dumps(config))
    return app_dir


def web_dir(root: Path) -> Path:
    web = root / "web"
    (web / "sub").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>probe</title>")
    (web / "app.js").write_text("console.log('probe');")
    (root / "config.js").write_text("window.SENTIMENT_CONFIG = {};")
    return web


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    settings = StackSettings(
        state_dir=root / "state",
        app_dir=probe_app(root),
        handler="app.py:on_upload",
        web_dir=web_dir(root),
        web_files={"/config.js": root / "config.js"},
        app_env={"PROBE_ENDPOINT": "probe-endpoint", "PROBE_BUCKET": PROBE_BUCKET},
        base_env={"PATH": os.environ["PATH"]},
        bucket=PROBE_BUCKET,
        resolve_ttl=0,
    )
    with Stack(settings) as running:
        yield running


def _get(url: str, data: bytes | None = None) -> tuple[int, Message, bytes]:
    headers = {"Content-Type": "text/plain"} if data is not None else {}
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_the_app_reaches_the_runtime_through_the_environment(
    stack: Stack, model_a: xgb.Booster
) -> None:
    control = Control(stack.client("s3"), stack.client("sagemaker"))
    control.deploy(model_a, endpoint="probe-endpoint")
    status, _, body = _get(stack.api_url, b"0,1,2,0,1\n2,0,2,1,0")
    assert status == 200, body
    expected = model_a.predict(xgb.DMatrix([[0, 1, 2, 0, 1], [2, 0, 2, 1, 0]]))
    assert [float(x) for x in body.decode().split("\n")] == pytest.approx(expected.tolist())


def test_an_upload_reaches_the_apps_s3_handler(stack: Stack) -> None:
    s3 = stack.client("s3")
    s3.put_object(Bucket=PROBE_BUCKET, Key="vocab/incoming/v9.json", Body=b"{}")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        listed = s3.list_objects_v2(Bucket=PROBE_BUCKET, Prefix="seen/").get("Contents", [])
        if listed:
            break
        time.sleep(0.1)
    assert [o["Key"] for o in listed] == ["seen/vocab/incoming/v9.json"]


def test_the_page_server(stack: Stack) -> None:
    status, headers, body = _get(stack.web_url)
    assert (status, body) == (200, b"<!doctype html><title>probe</title>")
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Cache-Control"] == "no-store"
    status, headers, _ = _get(stack.web_url + "app.js")
    assert headers["Content-Type"].startswith("text/javascript")
    status, headers, body = _get(stack.web_url + "config.js")
    assert (status, body) == (200, b"window.SENTIMENT_CONFIG = {};")
    assert _get(stack.web_url + "sub/")[0] == 404  # no directory listing
    assert _get(stack.web_url + "missing.txt")[0] == 404


def test_environment_for_clients(stack: Stack) -> None:
    env = stack.aws_env()
    assert env["AWS_ENDPOINT_URL_S3"] == stack.moto_url
    assert env["AWS_ENDPOINT_URL_SAGEMAKER"] == stack.moto_url
    assert env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] == stack.runtime_url
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    for url in (stack.moto_url, stack.runtime_url, stack.api_url, stack.web_url):
        assert url.startswith("http://127.0.0.1:")


def test_stop_leaves_no_process(tmp_path: Path) -> None:
    settings = StackSettings(state_dir=tmp_path, base_env={"PATH": os.environ["PATH"]})
    stack = Stack(settings).start()
    pids = [p.pid for p in stack.processes.values()]
    assert len(pids) == 2 and all(pids)
    stack.stop()
    for pid in pids:
        assert pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not stack.processes


def test_a_taken_port_is_a_clear_error_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        before = len(live_processes())
        settings = StackSettings(state_dir=tmp_path, app_dir=tmp_path, api_port=port)
        with pytest.raises(PortInUseError, match=f"port {port} .* the API"):
            Stack(settings).start()
        assert len(live_processes()) == before


def test_a_failed_start_stops_what_started(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise ImportError('the handler cannot import')\n")
    settings = StackSettings(
        state_dir=tmp_path,
        handler=f"{broken}:handler",
        base_env={"PATH": os.environ["PATH"]},
        startup_timeout=30,
    )
    stack = Stack(settings)
    before = len(live_processes())
    with pytest.raises(StartupError, match="relay exited") as info:
        stack.start()
    assert "the handler cannot import" in str(info.value)
    assert len(live_processes()) == before
    assert not stack.processes


def test_chalice_config_that_pins_endpoints_is_refused(tmp_path: Path) -> None:
    app_dir = probe_app(tmp_path, {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:5000"})
    env = {"AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{free_port()}"}
    (conflict,) = chalice_env_conflicts(app_dir, "local", env)
    assert conflict.startswith("AWS_ENDPOINT_URL_S3=http://127.0.0.1:5000")
    assert (
        chalice_env_conflicts(app_dir, "local", {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:5000"})
        == []
    )
