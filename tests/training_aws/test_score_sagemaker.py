"""``sentiment score --sagemaker`` end to end against the local stand-ins: moto (through
``devstack.control_plane``) keeps the transform job, the local runtime really runs it; plus
the join of the answers, and what the runner does with stopped and failing jobs."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import Stack, StackSettings
from tests.conftest import REPO
from tests.training.conftest import NEGATIVE, POSITIVE
from training.artifacts import load_run
from training.aws import batch_transform as bt
from training.aws.naming import LOCAL_ROLE_ARN, PROJECT_TAG
from training.aws.teardown import plan_teardown
from training.cli import main
from training.errors import AwsError
from training.score.inputs import Review
from training.score.outputs import Scored
from training.score.shards import ShardWriter, join

BUCKET = "sentiment-score-test"
TEXTS = POSITIVE + NEGATIVE


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """moto with transform jobs, and the local runtime that runs them."""
    settings = StackSettings(
        state_dir=tmp_path_factory.mktemp("stack"), base_env={"PYTHONPATH": str(REPO)}
    )
    stack = Stack(settings)
    try:
        stack.start_moto()
        stack.client("s3").create_bucket(Bucket=BUCKET)
        stack.start_runtime()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def on_stack(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    for name, value in stack.aws_env().items():
        monkeypatch.setenv(name, value)
    return stack


def _write_input(path: Path, count: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [
        {"id": f"r{i}", "text": f"{TEXTS[i % len(TEXTS)]} {i}"} for i in range(count)
    ]
    records[3]["text"] = "  "  # an error row, kept in place
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return records


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _score(source: Path | str, output: Path, run: Path, *extra: str) -> int:
    return main(
        ["score", str(source), "--output", str(output), "--run", str(run), "--no-progress"]
        + ["--workers", "1", *extra]
    )


@pytest.mark.stack  # the local runtime runs the transform jobs
def test_sagemaker_path_end_to_end(
    on_stack: Stack,
    libsvm_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(bt, "SHARD_BYTES", 4096)  # several shards from a small input
    source = tmp_path / "in.jsonl"
    _write_input(source, 60)
    remote = tmp_path / "remote.jsonl"
    flags = ["--sagemaker", "--bucket", BUCKET, "--role", LOCAL_ROLE_ARN, "--yes"]
    assert _score(source, remote, libsvm_run, *flags, "--poll-seconds", "0.2") == 0
    printed = capsys.readouterr().out
    assert "per hour" in printed and "created first" in printed
    local_out = tmp_path / "local.jsonl"
    assert _score(source, local_out, libsvm_run) == 0

    remote_rows, local_rows = _rows(remote), _rows(local_out)
    assert remote_rows == local_rows  # same ids, order, labels, exact probabilities
    assert [r["id"] for r in remote_rows] == [f"r{i}" for i in range(60)]
    assert "empty" in remote_rows[3]["error"]

    sagemaker, s3 = on_stack.client("sagemaker"), on_stack.client("s3")
    (job,) = sagemaker.list_transform_jobs()["TransformJobSummaries"]
    described = sagemaker.describe_transform_job(TransformJobName=job["TransformJobName"])
    assert described["TransformJobStatus"] == "Completed"
    data_input = described["TransformInput"]
    assert data_input["ContentType"] == "text/libsvm"
    assert data_input["SplitType"] == "Line"
    assert described["MaxPayloadInMB"] == bt.MAX_PAYLOAD_MB
    prefix = data_input["DataSource"]["S3DataSource"]["S3Uri"].split(BUCKET + "/", 1)[1]
    shards = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]
    assert len(shards) > 1
    assert all(0 < s["Size"] <= 4096 for s in shards)

    # The model it created is the project's: teardown finds it.
    model = sagemaker.describe_model(ModelName=described["ModelName"])
    tags = {
        t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"]
    }
    assert tags[PROJECT_TAG] == "sentiment-api"
    assert described["ModelName"] in plan_teardown(sagemaker, everything=True).models

    # Again, from an s3:// input, now that the model exists: reused, not created.
    s3.put_object(Bucket=BUCKET, Key="inputs/in.jsonl", Body=source.read_bytes())
    again = tmp_path / "again.csv"
    remote_source = f"s3://{BUCKET}/inputs/in.jsonl"
    assert _score(remote_source, again, libsvm_run, *flags, "--poll-seconds", "0.2") == 0
    assert "created first" not in capsys.readouterr().out
    csv_rows = again.read_text().splitlines()
    assert len(csv_rows) == 61 and csv_rows[1].startswith("r0,")


def _wait_final(sagemaker: Any, name: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = sagemaker.describe_transform_job(TransformJobName=name)
        if job["TransformJobStatus"] in bt.FINAL:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {name} did not end")


def _job(
    on_stack: Stack, run: Path, name: str, content_type: str | None = None
) -> bt.TransformPlan:
    """A job over one shard of the run's encoded reviews, its model registered."""
    from training.aws.deploy import Boto3Backend, DeployRequest, plan_deploy, upload_model
    from vocab_store import Encoder

    sagemaker, s3 = on_stack.client("sagemaker"), on_stack.client("s3")
    files = load_run(run)
    plan = bt.plan_transform(
        files, bucket=BUCKET, instance_type="ml.m5.large", instance_count=1, job_name=name
    )
    if not bt.model_exists(sagemaker, plan):
        deploy = plan_deploy(DeployRequest(run, BUCKET, LOCAL_ROLE_ARN), "us-east-1")
        upload_model(deploy, s3)
        Boto3Backend(sagemaker).create_model(deploy)
    s3.put_object(Bucket=BUCKET, Key=plan.shard_key(0), Body=Encoder(files.vocabulary).body(TEXTS))
    request = plan.request()
    if content_type:
        request["TransformInput"]["ContentType"] = content_type
    sagemaker.create_transform_job(**request)
    return plan


@pytest.mark.stack  # the local runtime runs the transform jobs
def test_a_job_the_container_refuses_fails_with_its_reason(
    on_stack: Stack, small_run: Path
) -> None:
    sagemaker = on_stack.client("sagemaker")
    _job(on_stack, small_run, "score-test-refused", content_type="application/json")
    job = _wait_final(sagemaker, "score-test-refused")
    assert job["TransformJobStatus"] == "Failed"
    assert "415" in job["FailureReason"]
    with pytest.raises(AwsError, match="Failed: ClientError"):
        bt.wait_job(sagemaker, "score-test-refused", say=print, poll_seconds=0)
    plan = _job(on_stack, small_run, "score-test-no-model-a")
    request = {**plan.request(), "TransformJobName": "score-test-no-model", "ModelName": "nope"}
    sagemaker.create_transform_job(**request)
    job = _wait_final(sagemaker, "score-test-no-model")
    assert job["TransformJobStatus"] == "Failed"
    assert "Could not find model nope" in job["FailureReason"]


@pytest.mark.stack  # the local runtime runs the transform jobs
def test_ctrl_c_while_waiting_stops_the_job(on_stack: Stack, small_run: Path) -> None:
    sagemaker = on_stack.client("sagemaker")
    _job(on_stack, small_run, "score-test-stopped")

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bt.wait_job(sagemaker, "score-test-stopped", say=print, sleep=interrupted)
    status = _wait_final(sagemaker, "score-test-stopped")["TransformJobStatus"]
    # Stopped, unless the runner finished the one small shard before the stop arrived.
    assert status in ("Stopped", "Completed")
    with pytest.raises(Exception, match="Could not find transform job"):
        sagemaker.stop_transform_job(TransformJobName="no-such-job")


class _Recorder:
    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:  # noqa: N803
        self.bodies[Key] = Body


def test_join_after_shuffled_shard_order(libsvm_run: Path, tmp_path: Path) -> None:
    plan = bt.plan_transform(
        load_run(libsvm_run), bucket=BUCKET, instance_type="ml.m5.large", instance_count=1
    )
    reviews = [Review(i + 1, f"id{i}", f"row {i}") for i in range(25)]
    reviews[7] = Review(8, "id7", None, "the review is empty")
    recorder = _Recorder()
    spool = tmp_path / "spool.jsonl"
    with spool.open("w") as fh:
        writer = ShardWriter(plan, recorder, fh, limit=20)
        for start in range(0, 25, 6):
            chunk = reviews[start : start + 6]
            rows_ = [f"1:{r.position}".encode() for r in chunk if r.text]
            writer.add(chunk, (b"\n".join(rows_), [True] * len(rows_)))
        rows = writer.close()
    assert len(rows) > 3 and sum(rows) == 24
    # Each shard "answers" its rows' positions as probabilities / 100.
    answers = {
        i: [float(line.split(b":")[1]) / 100 for line in recorder.bodies[plan.shard_key(i)].split()]
        for i in range(len(rows))
    }
    shuffled = dict(random.Random(3).sample(sorted(answers.items()), len(answers)))
    assert list(shuffled) != sorted(shuffled)
    joined = list(join(spool.read_text().splitlines(), shuffled.__getitem__, rows))
    assert [r.id for r in joined] == [f"id{i}" for i in range(25)]
    assert joined[7] == Scored("id7", None, None, "the review is empty")
    assert [r.probability for r in joined if r.error is None] == [
        r.position / 100 for r in reviews if r.text
    ]
    short = {**answers, 1: answers[1][:-1]}
    with pytest.raises(AwsError, match="shard 1"):
        list(join(spool.read_text().splitlines(), short.__getitem__, rows))


def test_join_labels_a_review_without_known_terms_uncertain(
    libsvm_run: Path, tmp_path: Path
) -> None:
    # The API answers "uncertain" for a review with no known term whatever its probability
    # (it is only the intercept); the --sagemaker join must say the same, band or no band.
    plan = bt.plan_transform(
        load_run(libsvm_run), bucket=BUCKET, instance_type="ml.m5.large", instance_count=1
    )
    reviews = [Review(i + 1, f"id{i}", f"row {i}") for i in range(3)]
    recorder = _Recorder()
    spool = tmp_path / "spool.jsonl"
    with spool.open("w") as fh:
        writer = ShardWriter(plan, recorder, fh)
        writer.add(reviews, (b"1:0.5\n1:0\n2:0.5", [True, False, True]))
        rows = writer.close()
    answers = {0: [0.9, 0.9, 0.1]}
    joined = list(join(spool.read_text().splitlines(), answers.__getitem__, rows))
    assert [r.label for r in joined] == ["positive", "uncertain", "negative"]
    assert [r.probability for r in joined] == [0.9, 0.9, 0.1]
