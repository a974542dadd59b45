"""End to end over real HTTP: the page's origin, chalice local, the relay, the local
SageMaker runtime serving the real model, moto's S3 and control plane."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest

from tests.e2e.conftest import call
from tests.e2e.support import handled
from training.artifacts import load_booster, load_vocabulary
from training.local_stack import LocalStack
from vocab_store import Encoder, ModelRecord
from vocab_store.store import VocabularyStore

pytestmark = pytest.mark.stack

POSITIVE = (
    "One of the best films I have ever seen. Brilliant acting, a wonderful story and a "
    "beautiful score. I loved every minute and will watch it again. A masterpiece."
)
NEGATIVE = (
    "The worst movie I have ever seen. Awful acting, a boring and stupid plot, terrible "
    "dialogue. A complete waste of time and money. Avoid it."
)
ORIGIN = "http://127.0.0.1:9"


def test_text_plain_answers_the_real_model(local_stack: LocalStack) -> None:
    for review, expected in ((POSITIVE, b"1"), (NEGATIVE, b"0")):
        answer = call(
            local_stack.api_url,
            review.encode(),
            headers={"Content-Type": "text/plain;charset=UTF-8"},
        )
        assert answer.status == 200, answer.body
        assert answer.body == expected
        assert answer.headers["content-type"].startswith("text/plain")
        assert answer.headers["access-control-allow-origin"] == "*"


def test_json_answer_matches_the_model_offline(local_stack: LocalStack, small_run: Path) -> None:
    answer = call(
        local_stack.api_url + "predict",
        json.dumps({"review": POSITIVE}).encode(),
        headers={"Content-Type": "application/json", "Origin": ORIGIN},
    )
    assert answer.status == 200
    body = answer.json()
    assert body["sentiment"] == 1 and body["label"] == "positive"
    assert body["vocabulary_version"] == local_stack.vocabulary_version
    # The probability is the real model's, through the whole stack.
    import xgboost

    vocabulary = load_vocabulary(small_run)
    row = [
        dict(Encoder(vocabulary).vector(POSITIVE)).get(i, 0.0)
        for i in range(vocabulary.feature_count)
    ]
    expected = float(load_booster(small_run / "model.tar.gz").predict(xgboost.DMatrix([row]))[0])
    assert abs(body["probability"] - expected) < 1e-6


def test_batch_answers_each_review(local_stack: LocalStack) -> None:
    answer = call(
        local_stack.api_url + "batch",
        json.dumps({"reviews": [POSITIVE, "", NEGATIVE]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 200
    results = answer.json()["results"]
    assert [r.get("sentiment") for r in results] == [1, None, 0]
    assert "error" in results[1]


def test_health_reports_the_live_vocabulary(local_stack: LocalStack) -> None:
    status, body = local_stack.health()
    assert status == 200
    assert body["stage"] == "local"
    assert body["vocabulary"]["version"] == local_stack.vocabulary_version
    assert body["endpoint"]["answers"] is True
    assert "arn:" not in json.dumps(body)


def _wait_version(stack: LocalStack, version: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (stack.health()[1].get("vocabulary") or {}).get("version") == version:
            return True
        time.sleep(0.2)
    return False


def test_an_upload_with_plain_boto3_goes_live_and_an_invalid_one_does_not(
    local_stack: LocalStack, small_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in local_stack.aws_env().items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3")
    bucket = local_stack.settings.bucket
    live = VocabularyStore(bucket, s3_client=s3).current_pointer()
    assert live is not None
    current = VocabularyStore(bucket, s3_client=s3).read(live.key)

    # Invalid: for another model (its fingerprint is not what the endpoint serves).
    assert current.model is not None
    wrong = current.with_model(ModelRecord("f" * 64, current.feature_count, current.model.endpoint))
    wrong = wrong.with_version(live.version + 1)
    s3.put_object(
        Bucket=bucket, Key=f"vocab/incoming/{wrong.version}-wrong.json", Body=wrong.to_json()
    )
    # Invalid: not JSON at all.
    s3.put_object(Bucket=bucket, Key="vocab/incoming/garbage.json", Body=b"\x80\x04garbage")

    # Both are delivered to the S3 handler and rejected with a reason; nothing that
    # serves changes.
    for key in (f"vocab/incoming/{wrong.version}-wrong.json", "vocab/incoming/garbage.json"):
        outcome = handled(local_stack, key)
        assert outcome["result"] == "rejected" and outcome["reason"], outcome
    pointer = VocabularyStore(bucket, s3_client=s3).current_pointer()
    assert pointer is not None and pointer.version == live.version
    assert local_stack.health()[1]["vocabulary"]["version"] == live.version

    # Valid: the same vocabulary, a newer version.
    newer = current.with_version(live.version + 2)
    s3.put_object(
        Bucket=bucket, Key=f"vocab/incoming/{newer.version}-ok.json", Body=newer.to_json()
    )
    assert _wait_version(local_stack, newer.version)
    pointer = VocabularyStore(bucket, s3_client=s3).current_pointer()
    assert pointer is not None and pointer.version == newer.version
    answer = call(local_stack.api_url, NEGATIVE.encode(), headers={"Content-Type": "text/plain"})
    assert answer.body == b"0"
    local_stack.vocabulary_version = newer.version
