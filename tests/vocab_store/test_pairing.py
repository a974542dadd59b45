"""The one pairing rule: the pure check, and the describe adapter against moto's server."""

from __future__ import annotations

import boto3
import pytest

from tests.sentiment_api.conftest import create_endpoint
from vocab_store import ModelRecord, TokenizerSettings, Vocabulary
from vocab_store.pairing import (
    FEATURE_COUNT_TAG,
    MODEL_FINGERPRINT_TAG,
    VOCABULARY_FINGERPRINT_TAG,
    EndpointState,
    Problem,
    ServedModel,
    check,
    describe_endpoint,
)

MODEL = "a" * 64


def _vocabulary(fingerprint: str = MODEL) -> Vocabulary:
    terms = ("good", "bad", "film")
    return Vocabulary(terms, TokenizerSettings(), model=ModelRecord(fingerprint, len(terms), "e"))


def _served(
    fingerprint: str | None = MODEL, count: int | None = 3, content: str | None = ""
) -> ServedModel:
    tags = {}
    if content is not None:
        tags[VOCABULARY_FINGERPRINT_TAG] = content or _vocabulary().fingerprint
    if fingerprint is not None:
        tags[MODEL_FINGERPRINT_TAG] = fingerprint
    if count is not None:
        tags[FEATURE_COUNT_TAG] = str(count)
    return ServedModel("m", tags)


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        (EndpointState("e", True, "InService", None, (_served(),)), None),
        (EndpointState("e", True, "InService", None, (_served(count=None),)), None),
        (EndpointState("e", False), Problem.MISSING),
        (EndpointState("e", True, "Creating"), Problem.NOT_READY),
        (EndpointState("e", True, "Updating", None, (_served(),)), Problem.NOT_READY),
        (EndpointState("e", True, "Failed", None, (_served(),)), Problem.NOT_IN_SERVICE),
        (EndpointState("e", True, "InService", "Blue", ()), Problem.NO_VARIANT),
        (EndpointState("e", True, "InService", None, (_served("b" * 64),)), Problem.OTHER_MODEL),
        (EndpointState("e", True, "InService", None, (_served(None),)), Problem.OTHER_MODEL),
        (
            EndpointState("e", True, "InService", None, (_served(), _served("b" * 64))),
            Problem.OTHER_MODEL,
        ),
        (EndpointState("e", True, "InService", None, (_served(count=4),)), Problem.FEATURE_COUNT),
        (EndpointState("e", True, "InService", None, (_served(content=None),)), Problem.UNTAGGED),
        (
            EndpointState("e", True, "InService", None, (_served(content="c" * 64),)),
            Problem.OTHER_VOCABULARY,
        ),
        (
            EndpointState("e", True, "InService", None, (ServedModel("m", found=False),)),
            Problem.MISSING_MODEL,
        ),
    ],
)
def test_check_answers_with_a_problem_and_a_sentence(
    state: EndpointState, problem: Problem | None
) -> None:
    answer = check(_vocabulary(), state)
    assert answer.problem is problem
    assert answer.ok is (problem is None)
    assert "e" in answer.reason


def test_a_vocabulary_without_a_model_is_never_paired() -> None:
    bare = Vocabulary(("good",), TokenizerSettings())
    answer = check(bare, EndpointState("e", True, "InService", None, (_served(),)))
    assert answer.problem is Problem.NO_MODEL


def test_describe_reads_every_variant_or_the_one_asked_for(moto_env: str) -> None:
    sm = boto3.client("sagemaker")
    create_endpoint("pairing-two", MODEL, variants=2)
    state = describe_endpoint(sm, "pairing-two")
    assert state.exists and state.status == "InService"
    assert [m.name for m in state.models] == ["pairing-two", "pairing-two-m1"]
    assert all(m.fingerprint == MODEL and m.feature_count is None for m in state.models)
    one = describe_endpoint(sm, "pairing-two", "v1")
    assert [m.name for m in one.models] == ["pairing-two-m1"]
    assert describe_endpoint(sm, "pairing-two", "nope").models == ()
    assert not describe_endpoint(sm, "pairing-nowhere").exists


def test_describe_reads_every_page_of_tags(moto_env: str) -> None:
    sm = boto3.client("sagemaker")
    # More tags than one ListTags page holds by default (50), the fingerprint last.
    filler = [{"Key": f"filler-{i:03d}", "Value": "x"} for i in range(45)]
    tags = [*filler, {"Key": FEATURE_COUNT_TAG, "Value": "3"}]
    create_endpoint("pairing-paged", tags=tags)
    arn = sm.describe_model(ModelName="pairing-paged")["ModelArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"more-{i}", "Value": "y"} for i in range(10)])
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": MODEL_FINGERPRINT_TAG, "Value": MODEL}])
    (served,) = describe_endpoint(sm, "pairing-paged").models
    assert served.fingerprint == MODEL and served.feature_count == 3


def test_a_document_claiming_the_model_but_encoding_otherwise_is_not_paired() -> None:
    """What the document *is* decides, not what it says: the same model record with
    negated weights (or any other encoding change) has another content fingerprint."""
    trained = _vocabulary()
    state = EndpointState("e", True, "InService", None, (_served(content=trained.fingerprint),))
    assert check(trained, state).ok
    forged = Vocabulary(
        trained.terms, trained.tokenizer, weights=(-1.0, -1.0, -1.0), model=trained.model
    )
    assert check(forged, state).problem is Problem.OTHER_VOCABULARY
