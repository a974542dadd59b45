"""Evidence, the per-request sum check and "uncertain", through chalice's test client
(vocabulary with weights in moto's S3, endpoint stubbed with the probabilities they give)."""

from __future__ import annotations

import array
import dataclasses
import json
import logging
import math
from typing import Any

import pytest
from botocore.stub import ANY
from chalice.test import Client

from tests.sentiment_api.conftest import ENDPOINT, Runtime, live, make_vocabulary
from vocab_store import Encoder, Vocabulary
from vocab_store.explain import read
from vocab_store.linear import LinearModel
from vocab_store.store import VocabularyStore

TEXT = {"Content-Type": "text/plain"}
JSON = {"Content-Type": "application/json"}
REVIEW = "A wonderful film, superb acting! Terrible plot though. The best of the year."


_ANY_OTHER = {
    "EndpointName": ENDPOINT,
    "ContentType": "text/csv",
    "Accept": "text/csv",
    "InferenceId": ANY,  # the prediction id (tests/sentiment_api/test_observability.py)
}


def _weighted(band: tuple[float, float] | None = None) -> Vocabulary:
    v = make_vocabulary(4)
    coefficients = tuple(math.sin(7 * i) * 2 for i in range(v.feature_count))
    return dataclasses.replace(v, linear=LinearModel(coefficients, 0.3), uncertain=band)


@pytest.fixture
def weighted(store: VocabularyStore) -> Vocabulary:
    v = _weighted()
    live(store, v)
    return v


def _float32_probability(vocab: Vocabulary, vector: list[tuple[int, float]]) -> float:
    """What an XGBoost endpoint would answer: float32 products and sum, float32 result."""
    assert vocab.linear is not None
    f32 = lambda x: array.array("f", [x])[0]  # noqa: E731
    total = f32(vocab.linear.intercept)
    for col, value in vector:
        total = f32(total + f32(f32(vocab.linear.coefficients[col]) * f32(value)))
    return f32(1.0 / (1.0 + math.exp(-total)))


def _answer(runtime: Runtime, vocab: Vocabulary, rows: list[list[tuple[int, float]]]) -> None:
    probabilities = [_float32_probability(vocab, r) for r in rows]
    runtime.answer("\n".join(repr(p) for p in probabilities))


def test_json_answers_carry_evidence_that_reproduces_the_probability(
    client: Client, runtime: Runtime, weighted: Vocabulary
) -> None:
    reading = read(Encoder(weighted), REVIEW)
    assert len(reading.sentences) == 3
    _answer(runtime, weighted, reading.vectors())
    response = client.http.post("/predict", headers=JSON, body=json.dumps({"review": REVIEW}))
    assert response.status_code == 200, response.body
    body = response.json_body
    found = body["evidence"]
    total = found["intercept"] + sum(t["contribution"] for t in found["terms"])
    total += found["unlisted"]["contribution"]
    assert 1 / (1 + math.exp(-total)) == pytest.approx(body["probability"], abs=1e-6)
    assert [(s["start"], s["end"]) for s in found["sentences"]] == [(0, 32), (33, 54), (55, 76)]
    for term in found["terms"]:
        for start, end in term["spans"]:
            assert REVIEW[start:end] and start < end
    assert {"sentiment", "label", "probability", "vocabulary_version", "model"} <= set(body)
    runtime.stub.assert_no_pending_responses()


def test_text_answers_stay_0_or_1_and_send_only_the_review_row(
    client: Client, runtime: Runtime, weighted: Vocabulary
) -> None:
    vector = Encoder(weighted).vector(REVIEW)
    p = _float32_probability(weighted, vector)
    runtime.answer(repr(p), {"Body": Encoder(weighted).body([REVIEW])} | _ANY_OTHER)
    response = client.http.post("/", headers=TEXT, body=REVIEW.encode())
    assert response.status_code == 200
    assert response.body == (b"1" if p >= 0.5 else b"0")


@pytest.mark.parametrize("wants_json", [False, True])
def test_an_answer_the_weights_do_not_give_is_a_502_logged_with_both_values(
    client: Client,
    runtime: Runtime,
    weighted: Vocabulary,
    wants_json: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reading = read(Encoder(weighted), REVIEW)
    rows = reading.vectors() if wants_json else [reading.vector]
    good = [_float32_probability(weighted, r) for r in rows]
    bad = [min(1.0, good[0] + 0.001), *good[1:]]
    runtime.answer("\n".join(map(repr, bad)))
    with caplog.at_level(logging.ERROR, logger="chalicelib.evidence"):
        if wants_json:
            response = client.http.post("/", headers=JSON, body=json.dumps({"review": REVIEW}))
        else:
            response = client.http.post("/", headers=TEXT, body=REVIEW.encode())
    assert response.status_code == 502
    assert response.json_body["error"] == "ModelDisagrees"
    assert "does not match the live vocabulary" in response.json_body["message"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert repr(bad[0]) in logged and "sigmoid(intercept + sum)" in logged


def test_a_probability_in_the_band_is_uncertain_and_sentiment_stays_rounded(
    client: Client, runtime: Runtime, store: VocabularyStore
) -> None:
    vocab = _weighted()
    vector = Encoder(vocab).vector(REVIEW)
    p = _float32_probability(vocab, vector)
    vocab = dataclasses.replace(vocab, uncertain=(min(p, 0.5) - 0.01, max(p, 0.5) + 0.01))
    live(store, vocab)
    _answer(runtime, vocab, read(Encoder(vocab), REVIEW).vectors())
    body = client.http.post("/predict", headers=JSON, body=json.dumps({"review": REVIEW})).json_body
    assert body["label"] == "uncertain"
    assert body["sentiment"] == (1 if p >= 0.5 else 0)


def test_a_review_with_no_known_term_is_uncertain(
    client: Client, runtime: Runtime, weighted: Vocabulary
) -> None:
    reading = read(Encoder(weighted), "xyzzy plugh")
    _answer(runtime, weighted, reading.vectors())
    body = client.http.post("/predict", headers=JSON, body='{"review": "xyzzy plugh"}').json_body
    assert body["label"] == "uncertain"
    assert body["evidence"]["terms"] == [] and body["evidence"]["unlisted"]["terms"] == 0


def test_every_batch_item_carries_evidence_from_one_call(
    client: Client, runtime: Runtime, weighted: Vocabulary
) -> None:
    reviews = [REVIEW, "Awful. Boring!", "Great cast."]
    rows: list[Any] = []
    for text in reviews:
        rows.extend(read(Encoder(weighted), text).vectors())
    _answer(runtime, weighted, rows)
    body = client.http.post("/batch", headers=JSON, body=json.dumps({"reviews": reviews})).json_body
    assert [len(r["evidence"]["sentences"]) for r in body["results"]] == [3, 2, 1]
    runtime.stub.assert_no_pending_responses()
