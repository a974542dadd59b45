"""The transform runner's rules that need no server: where answers go, how records are packed
into mini-batches, and which job descriptions it refuses to run."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.transform import JobFailed, TransformSpec, mini_batches, output_key


def _job(**changes: Any) -> dict[str, Any]:
    job: dict[str, Any] = {
        "TransformJobName": "j",
        "TransformJobArn": "arn:aws:sagemaker:us-east-1:123456789012:transform-job/j",
        "ModelName": "m",
        "MaxPayloadInMB": 1,
        "BatchStrategy": "MultiRecord",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}},
            "ContentType": "text/libsvm",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": "s3://b/out"},
    }
    job.update(changes)
    return job


def test_output_key_keeps_the_path_below_the_input_prefix() -> None:
    assert output_key("score/in/", "score/in/shard-00001.libsvm", "score/out/") == (
        "score/out/shard-00001.libsvm.out"
    )
    assert output_key("score/in/", "score/in/sub/x.csv", "score/out") == "score/out/sub/x.csv.out"
    assert output_key("score/in/sha", "score/in/shard-1", "") == "shard-1.out"


def test_mini_batches_stay_under_max_payload() -> None:
    spec = TransformSpec.from_description(_job())
    record = b"1:1 " * 100_000  # 400 kB
    batches = list(mini_batches([record] * 5, spec))
    assert [b.count(b"\n") + 1 for b in batches] == [2, 2, 1]
    assert all(len(b) <= 1024 * 1024 for b in batches)
    single = TransformSpec.from_description(_job(BatchStrategy="SingleRecord"))
    assert len(list(mini_batches([b"1:1"] * 3, single))) == 3
    with pytest.raises(JobFailed, match="larger than MaxPayloadInMB"):
        list(mini_batches([b"1" * (1024 * 1024 + 1)], spec))


@pytest.mark.parametrize(
    "change",
    [
        {"DataProcessing": {"JoinSource": "Input"}},
        {"DataProcessing": {"InputFilter": "$[1:]"}},
        {"TransformInput": {**_job()["TransformInput"], "SplitType": "RecordIO"}},
    ],
)
def test_what_the_stand_in_does_not_run_fails_the_job(change: dict[str, Any]) -> None:
    with pytest.raises(JobFailed, match="local stand-in"):
        TransformSpec.from_description(_job(**change))
