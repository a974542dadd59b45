"""Local feedback survives a restart of the stack: moto's S3 lives in memory and is
re-seeded at each start, so the stack keeps the feedback it received in a folder on disk
and puts it back (``training/local_feedback.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import stack_settings
from tests.e2e.conftest import call
from tests.e2e.test_stack import NEGATIVE
from training import local_feedback
from training.local_stack import LocalStack

pytestmark = pytest.mark.stack

JSON = {"Content-Type": "application/json"}


def _stored(stack: LocalStack) -> dict[str, bytes]:
    s3, bucket = stack.client("s3"), stack.settings.bucket
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="feedback/").get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def test_feedback_is_kept_across_a_restart(small_run: Path, tmp_path: Path) -> None:
    settings = stack_settings(small_run, tmp_path)
    with LocalStack(settings) as first:
        answer = call(
            first.api_url + "predict", json.dumps({"review": NEGATIVE}).encode(), headers=JSON
        )
        body = {"prediction_id": answer.json()["prediction_id"], "review": NEGATIVE}
        sent = json.dumps({**body, "label": "positive"}).encode()
        assert call(first.api_url + "feedback", sent, headers=JSON).status == 201
        before = _stored(first)
    assert len(before) == 1
    (key,) = before
    # On disk, below the prefix, as the object was stored.
    assert (settings.feedback_folder / key.removeprefix("feedback/")).read_bytes() == before[key]

    with LocalStack(settings) as second:
        assert _stored(second) == before
        # The id's first feedback still wins after the restart: a repost changes nothing.
        again = json.dumps({**body, "label": "negative"}).encode()
        assert call(second.api_url + "feedback", again, headers=JSON).status == 200
        assert second.save_feedback() == 0
    assert _stored_files(settings.feedback_folder) == [key.removeprefix("feedback/")]


def _stored_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_keys_that_would_leave_the_folder_are_not_written() -> None:
    assert local_feedback._relative("feedback/2026/12/01/10/x.json", "feedback/") is not None
    for key in ("feedback/../x.json", "feedback//x.json", "feedback/a/./x.json", "feedback/"):
        assert local_feedback._relative(key, "feedback/") is None, key
    assert local_feedback._relative("other/x.json", "feedback/") is None
