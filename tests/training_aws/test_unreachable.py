"""A call that gets no answer says what to do: start the local stand-ins when the endpoint
is a loopback address, check network, credentials and region when it is AWS's."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.conftest import free_port
from training.aws.clients import AWS_ERRORS, translate
from training.cli import main


def _refused_call(endpoint: str) -> BaseException:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    with pytest.raises(AWS_ERRORS) as caught:
        client.list_buckets()
    return caught.value


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_nothing_on_a_loopback_port_points_at_sentiment_up(host: str) -> None:
    message = str(translate(_refused_call(f"http://{host}:{free_port()}"), "listing buckets"))
    assert "local stand-ins are not running" in message and "sentiment up" in message
    assert "credentials" not in message


def test_an_unreachable_remote_endpoint_points_at_the_network() -> None:
    # A reserved documentation address (TEST-NET-1, RFC 5737): never routed.
    message = str(translate(_refused_call("http://192.0.2.1:9"), "listing buckets"))
    assert "check your network" in message and "sentiment up" not in message


def test_feedback_local_with_no_stack_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    stage = {
        "SENTIMENT_BUCKET": "b",
        "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }
    config = {"version": "2.0", "stages": {"local": {"environment_variables": stage}}}
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    code = main(["feedback", "--local", "--project-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 4
    assert "sentiment up" in err and "credentials" not in err


def test_feedback_with_no_region_mentions_local(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    code = main(["feedback", "--bucket", "b"])
    err = capsys.readouterr().err
    assert code == 4
    assert "region" in err and "--local" in err
