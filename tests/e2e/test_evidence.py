"""Evidence through the running local stack: the real model, served over HTTP.

The sum of the listed contributions, the unlisted sum and the intercept reproduces the
endpoint's probability for any review; sentence rows ride in the same InvokeEndpoint call;
a live vocabulary whose weights are not the model's is caught by the per-request check.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import call
from tests.e2e.support import clear_invocations, invocations, live, store
from training.local_stack import LocalStack
from vocab_store import Vocabulary
from vocab_store.linear import LinearModel, tolerance

pytestmark = pytest.mark.stack

JSON = {"Content-Type": "application/json"}
TEXT = {"Content-Type": "text/plain;charset=UTF-8"}
WORDS = (
    "great awful film movie plot acting boring wonderful not bad good worst best loved hated "
    "story music the a and it was is I never really characters waste brilliant"
).split()
PIECES = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from([".", "!", "?", ",", "\n", "<br /><br />", "\U0001f600", "caf\u00e9", "&amp;"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8),
)
REVIEWS = st.lists(PIECES, min_size=1, max_size=80).map(" ".join).filter(lambda t: t.strip())


def _predict(stack: LocalStack, review: str) -> dict[str, Any]:
    answer = call(stack.api_url + "predict", json.dumps({"review": review}).encode(), headers=JSON)
    assert answer.status == 200, answer.body
    return answer.json()


def _reproduces(body: dict[str, Any]) -> None:
    found = body["evidence"]
    listed = [t["contribution"] for t in found["terms"]]
    log_odds = found["intercept"] + math.fsum(listed) + found["unlisted"]["contribution"]
    expected = 1.0 / (1.0 + math.exp(-log_odds))
    magnitude = abs(found["intercept"]) + math.fsum(map(abs, listed))
    magnitude += abs(found["unlisted"]["contribution"])
    terms = len(listed) + found["unlisted"]["terms"]
    allowed = tolerance(expected, body["probability"], terms, magnitude)
    assert abs(expected - body["probability"]) <= allowed, (expected, body["probability"])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(review=REVIEWS)
def test_the_evidence_reproduces_the_endpoint_s_probability(
    local_stack: LocalStack, review: str
) -> None:
    body = _predict(local_stack, review)
    _reproduces(body)
    found = body["evidence"]
    for term in found["terms"]:
        assert term["spans"], term
        for start, end in term["spans"]:
            assert 0 <= start < end <= len(review)
    for sentence in found["sentences"]:
        assert 0 <= sentence["start"] < sentence["end"] <= len(review)
        assert 0.0 <= sentence["probability"] <= 1.0


def test_sentences_ride_in_the_same_endpoint_call(local_stack: LocalStack) -> None:
    review = "A wonderful film. Brilliant acting! The plot was boring though. I loved it."
    clear_invocations(local_stack)
    body = _predict(local_stack, review)
    assert len(body["evidence"]["sentences"]) == 4
    calls = invocations(local_stack)
    assert len(calls) == 1 and calls[0]["rows"] == 5
    clear_invocations(local_stack)
    answer = call(local_stack.api_url, review.encode(), headers=TEXT)
    assert answer.body in (b"0", b"1")
    calls = invocations(local_stack)
    assert len(calls) == 1 and calls[0]["rows"] == 1


@pytest.fixture
def tampered(local_stack: LocalStack, small_run: Path) -> Iterator[None]:
    """The live vocabulary replaced by one whose weights are 10 % off, promoted directly
    (as a broken promotion would): its fingerprint is right for its contents, its model
    record names the right model, only the weights are not the model's. Afterwards the
    original goes live again as a newer version."""
    pointer, original = live(local_stack)
    assert original.linear is not None
    wrong = dataclasses.replace(
        original,
        linear=LinearModel(
            tuple(c * 1.1 for c in original.linear.coefficients), original.linear.intercept
        ),
    ).with_version(pointer.version + 1)
    _make_live(local_stack, wrong)
    try:
        yield
    finally:
        _restore(local_stack, original.with_version(wrong.version + 1))


def _make_live(stack: LocalStack, vocabulary: Vocabulary) -> None:
    """Promote ``vocabulary`` directly, past the S3 handler's checks (as a broken
    promotion would), and wait until the API serves it."""
    vocabularies = store(stack)
    key = f"vocab/tampered/{vocabulary.version}.json"
    vocabularies.client.put_object(
        Bucket=vocabularies.bucket, Key=key, Body=vocabulary.to_json().encode()
    )
    assert vocabularies.promote(key, vocabulary)
    _wait_version(stack, vocabulary.version)
    stack.vocabulary_version = vocabulary.version


def _restore(stack: LocalStack, vocabulary: Vocabulary) -> None:
    """Put the stack's own vocabulary back the way every other test expects it: uploaded
    under the watched prefix and promoted by the S3 handler, so the pointer names a real
    upload again (a test that re-sends the live upload's event needs one)."""
    store(stack).publish(vocabulary)
    _wait_version(stack, vocabulary.version, timeout=30.0)
    stack.vocabulary_version = vocabulary.version


def _wait_version(stack: LocalStack, version: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while (stack.health()[1].get("vocabulary") or {}).get("version") != version:
        assert time.monotonic() < deadline, f"version {version} never went live"
        time.sleep(0.2)


def test_weights_that_are_not_the_model_s_are_caught_on_every_request(
    local_stack: LocalStack, tampered: None
) -> None:
    review = "One of the best films I have ever seen. Brilliant acting, a wonderful story."
    for url, body, headers in (
        (local_stack.api_url, review.encode(), TEXT),
        (local_stack.api_url + "predict", json.dumps({"review": review}).encode(), JSON),
    ):
        answer = call(url, body, headers=headers)
        assert answer.status == 502, answer.body
        assert answer.json()["error"] == "ModelDisagrees"
        assert answer.headers["access-control-allow-origin"] == "*"


def _tree_run(small_run: Path, root: Path) -> Path:
    """A run whose model is a ``gbtree`` booster made with XGBoost directly, on the small
    run's features: its vocabulary carries no weights (training.explain finds none)."""
    import numpy as np
    import xgboost

    from tests.conftest import IMDB_DIR
    from training import artifacts
    from training.data import load_split, sample
    from training.explain import linear_model
    from training.features import encode_matrix
    from vocab_store import Encoder, ModelRecord

    vocabulary = artifacts.load_vocabulary(small_run)
    reviews = sample(load_split(IMDB_DIR, "train"), seed=3, limit=400)
    x = encode_matrix(Encoder(vocabulary), reviews.texts, progress=False)
    params = {"booster": "gbtree", "objective": "binary:logistic", "max_depth": 3, "nthread": 1}
    booster = xgboost.train(
        params, xgboost.DMatrix(x, label=np.array(reviews.labels)), num_boost_round=10
    )
    assert linear_model(booster) is None
    model_bytes = bytes(booster.save_raw("ubj"))
    trees = dataclasses.replace(
        vocabulary,
        linear=None,
        model=ModelRecord(artifacts.fingerprint(model_bytes), vocabulary.feature_count),
    )
    run_dir = root / artifacts.new_run_id()
    run_dir.mkdir(parents=True)
    (run_dir / artifacts.MODEL_ARCHIVE).write_bytes(artifacts.model_archive(model_bytes))
    (run_dir / artifacts.VOCABULARY).write_text(trees.to_json(), encoding="utf-8")
    return run_dir


def test_a_tree_model_answers_without_evidence_and_nothing_else_changes(
    local_stack: LocalStack, small_run: Path, tmp_path: Path
) -> None:
    from training.aws.deploy import DeployRequest, deploy_run
    from training.aws.naming import LOCAL_ROLE_ARN
    from training.aws.publish import publish_run

    _, original = live(local_stack)
    run_dir = _tree_run(small_run, tmp_path)
    deploy_run(
        DeployRequest(run_dir, local_stack.settings.bucket, LOCAL_ROLE_ARN, poll_seconds=0),
        s3=local_stack.client("s3"),
        sagemaker=local_stack.client("sagemaker"),
        progress=lambda _: None,
    )
    published = publish_run(
        run_dir, store=store(local_stack), sagemaker=local_stack.client("sagemaker")
    )
    _wait_version(local_stack, published.vocabulary.version)
    try:
        review = "A wonderful film. Brilliant acting, but the plot was boring."
        clear_invocations(local_stack)
        body = _predict(local_stack, review)
        assert "evidence" not in body
        assert body["label"] in ("positive", "negative", "uncertain")
        assert body["sentiment"] == (1 if body["probability"] >= 0.5 else 0)
        assert [c["rows"] for c in invocations(local_stack)] == [1]  # no sentence rows
        answer = call(local_stack.api_url, review.encode(), headers=TEXT)
        assert answer.status == 200 and answer.body == str(body["sentiment"]).encode()
    finally:
        _restore(local_stack, original.with_version(published.vocabulary.version + 1))
