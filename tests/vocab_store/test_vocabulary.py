from __future__ import annotations

import json
import pickle  # noqa: TID251 - the test makes a pickle to prove it is refused
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vocab_store import (
    FORMAT,
    InvalidVocabulary,
    ModelRecord,
    TokenizerSettings,
    Vocabulary,
    build_vocabulary,
    loads,
    next_version,
)
from vocab_store.vocabulary import MAX_VERSION


def _doc(vocabulary: Vocabulary) -> dict[str, Any]:
    return json.loads(vocabulary.to_json())


def test_top_terms_by_document_frequency_with_alphabetical_ties() -> None:
    docs = [["b", "a", "a"], ["a", "c"], ["c", "d"], ["b"]]
    vocab = build_vocabulary(docs, TokenizerSettings(), max_terms=3)
    assert vocab.terms == ("a", "b", "c")
    assert vocab.extra["document_frequency"] == [2, 2, 2]


def test_min_df_drops_rare_terms() -> None:
    vocab = build_vocabulary([["a", "b"], ["a"]], TokenizerSettings(), min_df=2)
    assert vocab.terms == ("a",)


def test_round_trip_preserves_everything(any_vocabulary: Vocabulary) -> None:
    record = ModelRecord("ab" * 32, any_vocabulary.feature_count, "sentiment-x", "AllTraffic")
    vocab = any_vocabulary.with_model(record).with_version(7)
    again = loads(vocab.to_json())
    assert again == vocab
    assert again.fingerprint == vocab.fingerprint
    assert again.to_json() == vocab.to_json()


def test_the_artifact_describes_itself(vocabulary: Vocabulary) -> None:
    doc = _doc(vocabulary)
    assert doc["format"] == FORMAT
    assert doc["feature_count"] == len(doc["terms"]) == vocabulary.feature_count
    assert doc["tokenizer"]["stopwords"] == list(vocabulary.tokenizer.stopwords)
    assert doc["tokenizer"]["stemmer"] == "porter"
    assert doc["tokenizer"]["ngram_range"] == [1, 2]
    assert doc["content_type"] == "text/csv"
    assert doc["model"] is None


def test_fingerprint_ignores_version_and_model_but_not_terms(vocabulary: Vocabulary) -> None:
    record = ModelRecord("0" * 64, vocabulary.feature_count)
    assert vocabulary.with_version(9).with_model(record).fingerprint == vocabulary.fingerprint
    other = build_vocabulary([["x"]], vocabulary.tokenizer)
    assert other.fingerprint != vocabulary.fingerprint
    assert len(vocabulary.fingerprint) == 64


def _mutate(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    target = doc
    *parents, leaf = path.split(".")
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[leaf]
    else:
        target[leaf] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("format", "something-else/9", "unknown format"),
        ("terms", ["a", "b", "a"], "duplicate terms"),
        ("terms", "a b c", "terms must be a list"),
        ("terms", [1, 2], "terms must be a list of strings"),
        ("terms", [""], "non-empty"),
        ("feature_count", 3, "feature_count 3 disagrees"),
        ("feature_count", "40", "feature_count must be an integer"),
        ("version", 0, "version must be a positive integer"),
        ("version", True, "version must be a positive integer"),
        ("version", 1.5, "version must be a positive integer"),
        ("version", 2**53, "no larger than 2\\*\\*53"),
        ("version", int("9" * 4300), "no larger than 2\\*\\*53"),
        ("extra", {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": [1]}}}}}}}}, "nested deeper"),
        ("values", "tfidf", "values must be one of"),
        ("norm", "l1", "norm must be one of"),
        ("content_type", "application/json", "content_type must be one of"),
        ("weights", [1.0], "weights has 1 entries"),
        ("weights", "heavy", "weights must be a list"),
        ("tokenizer.stemmer", "snowball", "stemmer must be one of"),
        ("tokenizer.ngram_range", [2, 1], "ngram_range"),
        ("tokenizer.stopwords", "the,a", "stopwords must be a list"),
        ("tokenizer.lowercase", "yes", "lowercase must be true or false"),
        ("tokenizer.token_pattern", r"\w+", "token_pattern"),
        ("tokenizer.extra_field", 1, "tokenizer has unknown fields"),
        ("model", {"fingerprint": "xyz", "feature_count": 40}, "model.fingerprint"),
        ("model", {"fingerprint": "a" * 64, "feature_count": 41}, "model.feature_count 41"),
        (
            "model",
            {"fingerprint": "a" * 64, "feature_count": 40, "endpoint": "bad name!"},
            "endpoint",
        ),
        ("fingerprint", "0" * 64, "fingerprint does not match"),
        ("surprise", 1, "unknown fields"),
        ("created_at", _DELETE, "missing fields"),
        ("extra", [], "extra must be an object"),
    ],
)
def test_each_invalid_artifact_is_rejected_with_a_message_naming_it(
    vocabulary: Vocabulary, path: str, value: Any, message: str
) -> None:
    doc = _mutate(_doc(vocabulary), path, value)
    if path == "terms" and isinstance(value, list):
        doc["feature_count"] = len(value)  # so the terms themselves are what is wrong
    with pytest.raises(InvalidVocabulary, match=message):
        loads(json.dumps(doc))


def test_too_many_terms_is_rejected(vocabulary: Vocabulary) -> None:
    with pytest.raises(InvalidVocabulary, match="too many terms"):
        loads(vocabulary.to_json(), max_terms=10)


def test_oversized_blob_is_rejected_before_parsing(vocabulary: Vocabulary) -> None:
    with pytest.raises(InvalidVocabulary, match="over the 100-byte limit"):
        loads(vocabulary.to_json(), max_bytes=100)


@pytest.mark.parametrize(
    "blob, message",
    [
        (b'{"format": "sentiment-api.vocabulary/1", "terms": [', "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2, 3]", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'{"weights": NaN}', "NaN"),
        (pickle.dumps({"terms": ["a"]}), "pickle"),
    ],
)
def test_blobs_that_are_not_vocabularies_are_refused(blob: bytes, message: str) -> None:
    with pytest.raises(InvalidVocabulary, match=message):
        loads(blob)


def test_non_finite_weights_are_refused(vocabulary: Vocabulary) -> None:
    doc = _doc(vocabulary)
    doc["weights"] = [1e400] * vocabulary.feature_count  # json.dumps writes Infinity
    with pytest.raises(InvalidVocabulary):
        loads(json.dumps(doc))


def test_versions_only_grow() -> None:
    assert next_version(None, now_ms=1000) == 1000
    assert next_version(5000, now_ms=1000) == 5001
    assert next_version(999, now_ms=1000) == 1000


@given(
    st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=30, unique=True),
    st.integers(min_value=1, max_value=MAX_VERSION),
)
def test_any_valid_vocabulary_round_trips(terms: list[str], version: int) -> None:
    vocab = Vocabulary(terms=tuple(terms), tokenizer=TokenizerSettings(), version=version)
    assert loads(vocab.to_json().encode("utf-8")) == vocab


@pytest.mark.parametrize(
    "weight",
    [2**1024, -(2**1024), 10**400, 1e7, -1.5e6],
    ids=["int-past-float", "negative-int-past-float", "huge-int", "1e7", "-1.5e6"],
)
def test_weights_out_of_bounds_are_refused_not_a_crash(vocabulary: Vocabulary, weight: Any) -> None:
    doc = _doc(vocabulary)
    doc["weights"] = [1.0] * (len(doc["terms"]) - 1) + [weight]
    with pytest.raises(InvalidVocabulary, match="weights must be finite numbers"):
        loads(json.dumps(doc))


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_deeply_nested_document_is_refused_not_a_crash(
    vocabulary: Vocabulary, depth: int
) -> None:
    doc = json.dumps(_doc(vocabulary))
    nested = doc[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
    with pytest.raises(InvalidVocabulary):
        loads(nested)
    extra = doc.replace('"extra":{', '"extra":{"deep":' + "[" * depth + "]" * depth + ",", 1)
    extra = extra.replace('"extra": {', '"extra": {"deep": ' + "[" * depth + "]" * depth + ",", 1)
    with pytest.raises(InvalidVocabulary):
        loads(extra)
