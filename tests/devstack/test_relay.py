"""The S3 event relay, as a real process: moto's S3 -> SQS -> the handler file's entry
point, called with a real-shaped S3 event in the relay's own process."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack.processes import ManagedProcess, ProcessSpec, file_ready

pytestmark = pytest.mark.stack

REPO = Path(__file__).resolve().parents[2]
BUCKET = "relay-test"
QUEUE = "devstack-s3-events"  # the relay's default queue name
HANDLER = textwrap.dedent(
    """
    import json, os, pathlib, uuid

    OUT = pathlib.Path(os.environ["RELAY_TEST_OUT"])

    def handle(event, context):
        key = event["Records"][0]["s3"]["object"]["key"]
        record = {
            "event": event,
            "pid": os.getpid(),
            "function_name": context.function_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "request_id": context.aws_request_id,
            "env": os.environ.get("SENTIMENT_BUCKET"),
        }
        (OUT / f"{uuid.uuid4().hex}.json").write_text(json.dumps(record))
        if "fail" in key:
            raise RuntimeError("the handler failed on purpose")
    """
)


@pytest.fixture
def relay(moto_env: str, tmp_path: Path) -> Iterator[tuple[ManagedProcess, Path]]:
    out = tmp_path / "out"
    out.mkdir()
    handler = tmp_path / "handler_app" / "app.py"
    handler.parent.mkdir()
    handler.write_text(HANDLER)
    ready = tmp_path / "relay.ready"
    argv = [sys.executable, "-m", "devstack.relay", "--s3-url", moto_env, "--sqs-url", moto_env]
    argv += ["--bucket", BUCKET, "--prefix", "vocab/incoming/", "--suffix", ".json"]
    argv += ["--handler", f"{handler}:handle", "--function-name", "refresh_vocabulary"]
    argv += ["--ready-file", str(ready), "--wait-seconds", "1"]
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(REPO),
        "RELAY_TEST_OUT": str(out),
        "SENTIMENT_BUCKET": BUCKET,
    }
    spec = ProcessSpec("relay", argv, env, ready=file_ready(ready), ready_timeout=30)
    proc = ManagedProcess(spec, tmp_path / "relay.log").start()
    try:
        yield proc, out
    finally:
        proc.stop()


def _deliveries(out: Path, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(out.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
        if len(found) >= count:
            return [json.loads(p.read_text()) for p in found]
        time.sleep(0.05)
    raise AssertionError(f"expected {count} deliveries, got {len(list(out.glob('*.json')))}")


def _drained(moto_env: str, timeout: float = 15.0) -> None:
    """Wait until the relay's queue holds no message, visible or in flight: every event S3
    sent (moto sends them while ``put_object`` runs) has been delivered or dropped."""
    sqs = boto3.client("sqs", endpoint_url=moto_env)
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + timeout
    while True:
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        if all(counts[name] == "0" for name in names):
            return
        assert time.monotonic() < deadline, f"the relay's queue is not drained: {counts}"
        time.sleep(0.05)


def test_delivers_a_real_shaped_event_in_its_own_process(
    relay: tuple[ManagedProcess, Path], moto_env: str
) -> None:
    proc, out = relay
    s3 = boto3.client("s3", endpoint_url=moto_env)
    s3.put_object(Bucket=BUCKET, Key="elsewhere/v1.json", Body=b"{}")
    s3.put_object(Bucket=BUCKET, Key="vocab/incoming/v1.txt", Body=b"{}")
    body = b'{"version": 7}'
    s3.put_object(Bucket=BUCKET, Key="vocab/incoming/v 7.json", Body=body)
    (delivery,) = _deliveries(out, 1)
    assert delivery["pid"] == proc.pid != os.getpid()
    assert delivery["env"] == BUCKET
    assert delivery["function_name"] == "refresh_vocabulary"
    assert 0 < delivery["remaining_ms"] <= 60_000
    (record,) = delivery["event"]["Records"]
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["awsRegion"] == "us-east-1"
    assert record["s3"]["bucket"]["name"] == BUCKET
    assert record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{BUCKET}"
    obj = record["s3"]["object"]
    assert obj["key"] == "vocab/incoming/v+7.json"  # URL-encoded, as S3 sends it
    assert obj["size"] == len(body)
    head = s3.head_object(Bucket=BUCKET, Key="vocab/incoming/v 7.json")
    assert obj["eTag"] == head["ETag"].strip('"')
    assert len(obj["sequencer"]) == 18
    _drained(moto_env)  # nothing else arrives: the other keys do not match the filter
    assert len(list(out.glob("*.json"))) == 1


def test_sequencer_grows_with_upload_order(
    relay: tuple[ManagedProcess, Path], moto_env: str
) -> None:
    _, out = relay
    s3 = boto3.client("s3", endpoint_url=moto_env)
    for version in range(3):
        s3.put_object(Bucket=BUCKET, Key=f"vocab/incoming/{version}.json", Body=b"{}")
        time.sleep(0.01)
    deliveries = _deliveries(out, 3)
    by_key = {
        d["event"]["Records"][0]["s3"]["object"]["key"]: d["event"]["Records"][0]["s3"]["object"][
            "sequencer"
        ]
        for d in deliveries
    }
    ordered = [by_key[f"vocab/incoming/{v}.json"] for v in range(3)]
    assert ordered == sorted(ordered)


def test_failing_handler_is_retried_then_dropped(
    relay: tuple[ManagedProcess, Path], moto_env: str
) -> None:
    proc, out = relay
    s3 = boto3.client("s3", endpoint_url=moto_env)
    s3.put_object(Bucket=BUCKET, Key="vocab/incoming/fail.json", Body=b"{}")
    attempts = _deliveries(out, 3)
    assert len({a["request_id"] for a in attempts}) == 3
    deadline = time.monotonic() + 10
    while "dropping the event" not in proc.log_tail(50) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "dropping the event for vocab/incoming/fail.json after 3 attempts" in proc.log_tail(50)
    assert "the handler failed on purpose" in proc.log_tail(200)
    _drained(moto_env)  # the message is gone: no fourth attempt can come
    assert len(list(out.glob("*.json"))) == 3


def test_stop_leaves_no_process(relay: tuple[ManagedProcess, Path]) -> None:
    proc, _ = relay
    pid = proc.pid
    assert pid is not None
    proc.stop()
    assert not proc.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_after_moto_restarts_empty_the_relay_sets_delivery_up_again(
    relay: tuple[ManagedProcess, Path], moto_env: str
) -> None:
    """What a restarted moto looks like to the relay: no queue, no bucket, no notification.
    The relay creates them again instead of polling a missing queue forever."""
    _, out = relay
    s3 = boto3.client("s3", endpoint_url=moto_env)
    sqs = boto3.client("sqs", endpoint_url=moto_env)
    s3.put_object(Bucket=BUCKET, Key="vocab/incoming/before.json", Body=b"{}")
    _deliveries(out, 1)
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="devstack-s3-events")["QueueUrl"])
    for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    s3.delete_bucket(Bucket=BUCKET)

    def notified() -> bool:
        try:
            config = s3.get_bucket_notification_configuration(Bucket=BUCKET)
        except s3.exceptions.ClientError:
            return False
        return bool(config.get("QueueConfigurations"))

    deadline = time.monotonic() + 30
    while not notified():
        assert time.monotonic() < deadline, "the relay did not set delivery up again"
        time.sleep(0.2)
    s3.put_object(Bucket=BUCKET, Key="vocab/incoming/after.json", Body=b"{}")
    keys = [d["event"]["Records"][0]["s3"]["object"]["key"] for d in _deliveries(out, 2)]
    assert keys == ["vocab/incoming/before.json", "vocab/incoming/after.json"]
