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

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import call
from tests.e2e.support import clear_invocations, invocations, live, store
from training.local_stack import LocalStack
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


def _predict(stack: LocalStack, review: str) -> dict:  # type: ignore[type-arg]
    answer = call(stack.api_url + "predict", json.dumps({"review": review}).encode(), headers=JSON)
    assert answer.status == 200, answer.body
    return answer.json()


def _reproduces(body: dict) -> None:  # type: ignore[type-arg]
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
    vocabularies = store(local_stack)
    pointer, original = live(local_stack)
    assert original.linear is not None
    wrong = dataclasses.replace(
        original,
        linear=LinearModel(
            tuple(c * 1.1 for c in original.linear.coefficients), original.linear.intercept
        ),
    ).with_version(pointer.version + 1)
    key = f"vocab/tampered/{wrong.version}.json"
    vocabularies.client.put_object(
        Bucket=vocabularies.bucket, Key=key, Body=wrong.to_json().encode()
    )
    assert vocabularies.promote(key, wrong)
    _wait_version(local_stack, wrong.version)
    try:
        yield
    finally:
        restored = original.with_version(wrong.version + 1)
        key = f"vocab/tampered/{restored.version}.json"
        vocabularies.client.put_object(
            Bucket=vocabularies.bucket, Key=key, Body=restored.to_json().encode()
        )
        assert vocabularies.promote(key, restored)
        _wait_version(local_stack, restored.version)
        local_stack.vocabulary_version = restored.version


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
