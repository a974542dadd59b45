"""The S3 handler against moto's S3 and SageMaker control plane, through chalice's client."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

from tests.sentiment_api.conftest import (
    BUCKET,
    ENDPOINT,
    Emitted,
    Runtime,
    create_endpoint,
    live,
    make_vocabulary,
)
from vocab_store.store import VocabularyStore


def _event(
    client: Client, *keys: str, name: str = "ObjectCreated:Put", bucket: str = BUCKET
) -> Any:
    records = [client.events.generate_s3_event(bucket, k, name)["Records"][0] for k in keys]
    return {"Records": records}


def _invoke(client: Client, event: Any) -> Any:
    return client.lambda_.invoke("refresh_vocabulary", event)


def _live_version(store: VocabularyStore) -> int | None:
    pointer = store.current_pointer()
    return pointer.version if pointer else None


@pytest.fixture
def endpoint(s3: Any) -> str:
    create_endpoint()
    return ENDPOINT


def test_every_record_is_handled_and_the_newest_wins(
    client: Client, store: VocabularyStore, endpoint: str
) -> None:
    k2 = store.publish(make_vocabulary(2))
    k1 = store.publish(make_vocabulary(1))
    _invoke(client, _event(client, k2, k1))  # out of order, in one event
    assert _live_version(store) == 2
    k3 = store.publish(make_vocabulary(3))
    _invoke(client, _event(client, k3))
    _invoke(client, _event(client, k3))  # at-least-once delivery: a duplicate
    _invoke(client, _event(client, k1))  # a late, older one
    assert _live_version(store) == 3
    assert store.current_pointer().source == k3  # type: ignore[union-attr]


def test_test_event_removals_and_other_keys_are_ignored(
    client: Client, store: VocabularyStore, endpoint: str, s3: Any
) -> None:
    _invoke(client, {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET})
    key = store.publish(make_vocabulary(2))
    s3.put_object(Bucket=BUCKET, Key="vocab/notes.txt", Body=b"hello")
    _invoke(client, _event(client, key, name="ObjectRemoved:Delete"))
    _invoke(client, _event(client, "vocab/notes.txt", "vocab/current.json"))
    _invoke(client, _event(client, key, bucket="someone-elses-bucket"))
    assert _live_version(store) is None


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("other-fingerprint", "fingerprint"),
        ("missing-endpoint", "does not exist"),
        ("no-endpoint", "names no endpoint"),
        ("not-json", "not valid JSON"),
        ("too-big", "limit"),
    ],
)
def test_invalid_vocabularies_change_nothing_and_say_why(
    client: Client,
    store: VocabularyStore,
    endpoint: str,
    s3: Any,
    monkeypatch: pytest.MonkeyPatch,
    emitted: Emitted,
    case: str,
    reason: str,
) -> None:
    good = make_vocabulary(1)
    live(store, good)
    if case == "other-fingerprint":
        key = store.publish(make_vocabulary(2, fingerprint="e" * 64))
    elif case == "missing-endpoint":
        key = store.publish(make_vocabulary(2, endpoint="sentiment-nowhere"))
    elif case == "no-endpoint":
        key = store.publish(make_vocabulary(2, endpoint=None))
    elif case == "not-json":
        key = "vocab/incoming/00000000000000000002-garbage.json"
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"{nope")
    else:
        from chalicelib import settings

        monkeypatch.setenv("SENTIMENT_MAX_VOCAB_BYTES", "100")
        settings.clear()
        key = store.publish(make_vocabulary(2))
    _invoke(client, _event(client, key))
    assert _live_version(store) == 1
    (line,) = emitted.lines("refresh")
    assert (line["key"], line["result"]) == (key, "rejected") and reason in line["reason"]
    assert line["function_name"] == "refresh_vocabulary" and "cold_start" in line


def test_every_variant_must_serve_the_vocabularys_model(
    client: Client, store: VocabularyStore, s3: Any
) -> None:
    create_endpoint("sentiment-split", variants=2)
    import boto3

    sm = boto3.client("sagemaker")
    arn = sm.describe_model(ModelName="sentiment-split-m1")["ModelArn"]
    sm.add_tags(
        ResourceArn=arn, Tags=[{"Key": "sentiment-api:model-fingerprint", "Value": "0" * 64}]
    )
    key = store.publish(make_vocabulary(2, endpoint="sentiment-split"))
    _invoke(client, _event(client, key))
    assert _live_version(store) is None


def test_a_transient_failure_is_retried_without_blocking_other_records(
    client: Client, store: VocabularyStore, endpoint: str
) -> None:
    from botocore.exceptions import EndpointConnectionError
    from chalicelib.refresh import RefreshRetry

    from vocab_store import pairing
    from vocab_store.errors import ControlPlaneUnavailable

    good = store.publish(make_vocabulary(2))
    broken = store.publish(make_vocabulary(3, endpoint="sentiment-unreachable"))
    real = pairing.describe_endpoint

    def flaky(sagemaker: Any, name: str, variant: str | None = None) -> Any:
        if name == "sentiment-unreachable":
            raise ControlPlaneUnavailable("down") from EndpointConnectionError(
                endpoint_url="http://x"
            )
        return real(sagemaker, name, variant)

    control_describe = pytest.MonkeyPatch()
    control_describe.setattr(pairing, "describe_endpoint", flaky)
    try:
        with pytest.raises(RefreshRetry):
            _invoke(client, _event(client, broken, good))
    finally:
        control_describe.undo()
    assert _live_version(store) == 2


def test_the_api_follows_a_promotion(
    client: Client, store: VocabularyStore, endpoint: str, runtime: Runtime
) -> None:
    from chalicelib import wiring

    live(store, make_vocabulary(1))
    runtime.answer("0.9")
    assert client.http.post("/", body=b"superb").body == b"1"
    key = store.publish(make_vocabulary(2))
    _invoke(client, _event(client, key))
    wiring.vocabulary_cache().get(force=True)  # what the TTL does, without waiting
    runtime.answer("0.9")
    response = client.http.post(
        "/", headers={"Content-Type": "application/json"}, body=b'{"review": "superb"}'
    )
    assert response.json_body["vocabulary_version"] == 2


def _forged(version: int, change: str) -> bytes:
    """A document that copies the live model record but encodes text another way, with a
    fingerprint that matches its own content (what an attacker can compute)."""
    from dataclasses import replace

    from vocab_store import TokenizerSettings

    good = make_vocabulary(version)
    n = good.feature_count
    forged = {
        "negated-weights": replace(good, weights=(-1.0,) * n),
        "reversed-terms": replace(good, terms=tuple(reversed(good.terms))),
        "no-stemmer": replace(good, tokenizer=replace(good.tokenizer, stemmer="none")),
        "trigrams": replace(good, tokenizer=TokenizerSettings(ngram_range=(3, 3))),
        "l2": replace(good, norm="l2"),
    }[change]
    assert forged.model == good.model
    return forged.to_json().encode()


@pytest.mark.parametrize(
    "change", ["negated-weights", "reversed-terms", "no-stemmer", "trigrams", "l2"]
)
def test_a_document_that_claims_the_model_but_encodes_otherwise_is_refused(
    client: Client,
    store: VocabularyStore,
    endpoint: str,
    s3: Any,
    emitted: Emitted,
    change: str,
) -> None:
    live(store, make_vocabulary(1))
    key = "vocab/incoming/00000000000000000002-forged.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=_forged(2, change))
    _invoke(client, _event(client, key))
    assert _live_version(store) == 1
    (line,) = emitted.lines("refresh")
    assert line["result"] == "rejected" and "not the one endpoint" in line["reason"]
    outcome = store.outcome(key)
    assert outcome is not None and outcome.result == "rejected" and outcome.sha256


def _with(doc_change: str) -> bytes:
    """A vocabulary document, valid but for one hostile value (written as raw JSON text,
    as an attacker would)."""
    text = make_vocabulary(3).to_json()
    if doc_change == "int-weight-past-float":
        weights = ",".join(["1"] * (make_vocabulary().feature_count - 1) + [str(2**1024)])
        return text.replace('"weights":null', f'"weights":[{weights}]').encode()
    if doc_change == "deep-extra":
        return text.replace('"extra":{', '"extra":{"x":' + "[" * 1000 + "]" * 1000 + ",").encode()
    if doc_change == "giant-version":
        return text.replace('"version":3', '"version":' + "9" * 4300).encode()
    if doc_change == "too-giant-version":
        return text.replace('"version":3', '"version":' + "9" * 5000).encode()
    return b"\xff\xfe not even text"


@pytest.mark.parametrize(
    "change",
    ["int-weight-past-float", "deep-extra", "giant-version", "too-giant-version", "binary"],
)
def test_a_malformed_record_is_a_logged_refusal_and_the_next_records_are_handled(
    client: Client,
    store: VocabularyStore,
    endpoint: str,
    s3: Any,
    emitted: Emitted,
    change: str,
) -> None:
    bad = f"vocab/incoming/00000000000000000003-{change}.json"
    s3.put_object(Bucket=BUCKET, Key=bad, Body=_with(change))
    good = store.publish(make_vocabulary(2))
    event = _event(client, bad, good)
    event["Records"].insert(1, "not a record")  # a record that is not even an object
    _invoke(client, event)
    assert _live_version(store) == 2  # the record after the bad ones was handled
    outcome = store.outcome(bad)
    assert outcome is not None and outcome.result == "rejected", outcome
    results = [(x["key"], x["result"]) for x in emitted.lines("refresh")]
    assert results == [(bad, "rejected"), ("", "rejected"), (good, "promoted")]


def test_an_overwritten_live_upload_changes_nothing_served_and_is_judged_again(
    client: Client,
    store: VocabularyStore,
    endpoint: str,
    s3: Any,
    runtime: Runtime,
    emitted: Emitted,
) -> None:
    from chalicelib import wiring

    key = store.publish(make_vocabulary(1))
    _invoke(client, _event(client, key))
    assert _live_version(store) == 1
    s3.put_object(Bucket=BUCKET, Key=key, Body=_forged(1, "negated-weights"))  # a plain PUT
    _invoke(client, _event(client, key))
    (*_, line) = emitted.lines("refresh")
    assert "not the one endpoint" in line["reason"]  # validated like any upload
    wiring.reset()  # a new Lambda instance: a cold start reads what was promoted
    runtime_after = Runtime()
    wiring.runtime.set(runtime_after.client)
    runtime_after.answer("0.9")
    answer = client.http.post(
        "/", headers={"Content-Type": "application/json"}, body=b'{"review": "superb"}'
    )
    assert answer.status_code == 200 and answer.json_body["vocabulary_version"] == 1
