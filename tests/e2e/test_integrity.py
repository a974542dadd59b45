"""Issue 11 against the running local stack, as an attacker with upload rights to the watched
prefix (or an operator re-uploading by hand) would try it: every upload goes through S3 and
the relay to the real S3 handler; then the pointer, ``/health`` and the answers must be
unchanged and the refusal logged (and recorded for ``sentiment publish``)."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from tests.e2e.own_api import own_api
from tests.e2e.support import handled, live, wait_for
from tests.e2e.test_faults import NEGATIVE, POSITIVE, predict
from training.local_stack import LocalStack
from vocab_store import TokenizerSettings, Vocabulary
from vocab_store.store import VocabularyStore


def _forged(vocabulary: Vocabulary, change: str) -> bytes:
    """The live document with its model record untouched, encoding text another way, its
    own fingerprint recomputed (so only pairing on content can tell)."""
    n = vocabulary.feature_count
    tok = vocabulary.tokenizer
    weights = vocabulary.weights or (1.0,) * n
    forged = {
        "negated-weights": replace(vocabulary, weights=tuple(-w for w in weights)),
        "uppercased-terms": replace(vocabulary, terms=tuple(t.upper() for t in vocabulary.terms)),
        "trigrams": replace(vocabulary, tokenizer=replace(tok, ngram_range=(3, 3))),
        "reversed-terms": replace(vocabulary, terms=tuple(reversed(vocabulary.terms))),
        "other-norm": replace(vocabulary, norm="none" if vocabulary.norm == "l2" else "l2"),
        "no-stemmer": replace(vocabulary, tokenizer=replace(tok, stemmer="none")),
        "all-stopwords": replace(
            vocabulary,
            tokenizer=TokenizerSettings(
                tok.lowercase, tok.strip_html, vocabulary.terms, tok.stemmer, tok.ngram_range
            ),
        ),
    }[change]
    assert forged.model == vocabulary.model and forged.fingerprint != vocabulary.fingerprint
    return forged.with_version(vocabulary.version + 1000).to_json().encode()


def _raw(vocabulary: Vocabulary, change: str) -> bytes:
    """The live document as JSON text with one hostile value, as an attacker writes it."""
    hostile = _hostile(vocabulary, change)
    assert hostile != vocabulary.with_version(vocabulary.version + 1000).to_json().encode()
    return hostile


def _hostile(vocabulary: Vocabulary, change: str) -> bytes:
    text = vocabulary.with_version(vocabulary.version + 1000).to_json()
    version = f'"version":{vocabulary.version + 1000}'
    if change == "weights-x1e307":
        weights = ",".join(["1e307"] * vocabulary.feature_count)
        return text.replace(f'"weights":{_weights(vocabulary)}', f'"weights":[{weights}]').encode()
    if change == "int-weight-past-float":
        weights = ",".join(["1"] * (vocabulary.feature_count - 1) + [str(2**1024)])
        return text.replace(f'"weights":{_weights(vocabulary)}', f'"weights":[{weights}]').encode()
    if change == "deep-extra":
        return text.replace('"extra":{', '"extra":{"x":' + "[" * 1000 + "]" * 1000 + ",").encode()
    if change == "giant-version":
        return text.replace(version, '"version":' + "9" * 4300).encode()
    if change == "far-future-version":
        return text.replace(version, f'"version":{10**15}').encode()
    raise AssertionError(change)


def _weights(vocabulary: Vocabulary) -> str:
    import json

    weights = None if vocabulary.weights is None else list(vocabulary.weights)
    return json.dumps(weights, ensure_ascii=False, separators=(",", ":"))  # as to_json writes


def _attack(local_stack: LocalStack, body: bytes, name: str) -> dict[str, object]:
    """Upload ``body`` and wait for the handler's outcome; check nothing served changed."""
    s3 = local_stack.client("s3")
    before, vocabulary = live(local_stack)
    verdicts = (predict(local_stack.api_url, NEGATIVE).body, predict(local_stack.api_url).body)
    key = f"vocab/incoming/{vocabulary.version + 1000:020d}-{name}-{uuid.uuid4().hex[:6]}.json"
    s3.put_object(Bucket=local_stack.settings.bucket, Key=key, Body=body)
    outcome = handled(local_stack, key)
    after, _ = live(local_stack)
    assert after == before  # the same pointer object: key, version and ETag
    assert local_stack.health()[1]["vocabulary"]["version"] == before.version
    again = (predict(local_stack.api_url, NEGATIVE).body, predict(local_stack.api_url).body)
    assert again == verdicts == (b"0", b"1")
    recorded = _store(local_stack).outcome(key)  # what `sentiment publish` would report
    assert recorded is not None and recorded.result == outcome["result"]
    return outcome


def _store(local_stack: LocalStack) -> VocabularyStore:
    return VocabularyStore(local_stack.settings.bucket, s3_client=local_stack.client("s3"))


@pytest.mark.parametrize(
    "change",
    [
        "negated-weights",
        "uppercased-terms",
        "trigrams",
        "reversed-terms",
        "other-norm",
        "no-stemmer",
        "all-stopwords",
    ],
)
def test_a_document_claiming_the_live_model_but_encoding_otherwise_is_refused(
    local_stack: LocalStack, change: str
) -> None:
    _, vocabulary = live(local_stack)
    outcome = _attack(local_stack, _forged(vocabulary, change), change)
    assert outcome["result"] == "rejected", outcome
    assert "not the one endpoint" in str(outcome["reason"]), outcome


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("weights-x1e307", "weights must be finite numbers with |w| <= 1e+06"),
        ("int-weight-past-float", "weights must be finite numbers"),
        ("deep-extra", "nested"),
        ("giant-version", "no larger than 2**53 - 1"),
        ("far-future-version", "ahead of the clock"),
    ],
)
def test_an_out_of_bounds_document_is_a_logged_refusal_not_a_crash(
    local_stack: LocalStack, change: str, reason: str
) -> None:
    _, vocabulary = live(local_stack)
    outcome = _attack(local_stack, _raw(vocabulary, change), change)
    assert outcome["result"] == "rejected", outcome
    assert reason in str(outcome["reason"]), outcome


def test_overwriting_the_live_upload_changes_nothing_even_for_a_cold_start(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    """A plain PUT over the live vocabulary's upload is judged like any upload, and a new
    API instance (a cold start) still loads exactly what was promoted."""
    s3 = local_stack.client("s3")
    bucket = local_stack.settings.bucket
    before, vocabulary = live(local_stack)
    assert before.source is not None and before.key.startswith("vocab/live/")
    original = s3.get_object(Bucket=bucket, Key=before.source)["Body"].read()
    forged = replace(vocabulary, weights=(-1.0,) * vocabulary.feature_count)
    try:
        s3.put_object(Bucket=bucket, Key=before.source, Body=forged.to_json().encode())
        outcome = wait_for(
            "the overwrite's outcome",
            lambda: (
                (o := _store(local_stack).outcome(before.source or "")) is not None
                and o.result == "rejected"
                and o
            ),
        )
        assert "not the one endpoint" in outcome.reason
        assert live(local_stack)[0] == before
        assert local_stack.stack is not None
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
        env.update(local_stack.aws_env())
        variables = {
            "AWS_ENDPOINT_URL_S3": local_stack.stack.moto_url,
            "AWS_ENDPOINT_URL_SAGEMAKER": local_stack.stack.moto_url,
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": local_stack.stack.runtime_url,
        }
        with own_api(tmp_path, env, variables) as url:
            assert predict(url, POSITIVE).body == b"1"
            assert predict(url, NEGATIVE).body == b"0"
    finally:
        s3.put_object(Bucket=bucket, Key=before.source, Body=original)
