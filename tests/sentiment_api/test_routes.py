"""The routes through chalice's test client: vocabulary in moto's S3, endpoint stubbed.

The table of requests and the answers they must get (bad requests, methods, statuses, CORS)
is the contract's (``contract.py``, run three ways by ``test_contract.py``); here are the
answers that need a stubbed endpoint, a fault or a setting."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from botocore.stub import ANY
from chalice.test import Client

from tests.sentiment_api.conftest import ENDPOINT, Emitted, Runtime, live, make_vocabulary
from tests.sentiment_api.contract import NOT_ALLOWED, Case
from vocab_store import Encoder
from vocab_store.store import VocabularyStore

TEXT = {"Content-Type": "text/plain;charset=UTF-8"}
JSON = {"Content-Type": "application/json"}
REVIEW = "A wonderful film, superb acting, the best of the year."
# A Cyrillic review of 46 KB: 2 UTF-8 bytes a letter, 6 bytes as a JSON \uXXXX escape (130 KB).
CYRILLIC = ("Отличный фильм, прекрасная игра актёров и великолепная музыка. " * 500)[:25_000]


@pytest.fixture
def vocab(store: VocabularyStore) -> Any:
    v = make_vocabulary(3)
    live(store, v)
    return v


def _expected(vocab: Any, texts: list[str]) -> dict[str, Any]:
    return {
        "EndpointName": ENDPOINT,
        "ContentType": "text/csv",
        "Accept": "text/csv",
        "Body": Encoder(vocab).body(texts),
        "InferenceId": ANY,
    }


def _cors(response: Any) -> None:
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize("path", ["/", "/predict"])
def test_text_review_gets_0_or_1_as_text(
    client: Client, runtime: Runtime, vocab: Any, path: str
) -> None:
    runtime.answer("0.93\n", _expected(vocab, [REVIEW]))
    response = client.http.post(path, headers=TEXT, body=REVIEW.encode())
    assert response.status_code == 200
    assert response.body == b"1"
    assert response.headers["Content-Type"] == "text/plain"
    _cors(response)
    runtime.stub.assert_no_pending_responses()


def test_json_review_gets_the_full_verdict(client: Client, runtime: Runtime, vocab: Any) -> None:
    runtime.answer("0.25", _expected(vocab, [REVIEW]))
    response = client.http.post("/predict", headers=JSON, body=json.dumps({"review": REVIEW}))
    assert response.status_code == 200
    body = response.json_body
    assert body.pop("prediction_id") == response.headers["X-Prediction-Id"]
    assert body == {
        "sentiment": 0,
        "label": "negative",
        "probability": 0.25,
        "vocabulary_version": 3,
        "model": ENDPOINT,
    }
    _cors(response)


def test_a_declared_non_utf8_charset_is_415_as_on_aws(client: Client, vocab: Any) -> None:
    """API Gateway hands text bodies to Lambda as UTF-8 whatever the charset says, so the
    rule is the same everywhere: UTF-8 (or its subset US-ASCII) only."""
    review = "Superb acting, café scenes."
    response = client.http.post(
        "/",
        headers={"Content-Type": "text/plain; charset=ISO-8859-1"},
        body=review.encode("latin-1"),
    )
    assert response.status_code == 415
    assert b"UTF-8" in response.body


def test_batch_answers_by_index_with_per_item_errors(
    client: Client, runtime: Runtime, vocab: Any
) -> None:
    reviews = ["Terrible, awful plot.", "  ", REVIEW, 7]
    runtime.answer("0.1\n0.8", _expected(vocab, ["Terrible, awful plot.", REVIEW]))
    response = client.http.post("/batch", headers=JSON, body=json.dumps({"reviews": reviews}))
    assert response.status_code == 200
    results = response.json_body["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert results[0]["sentiment"] == 0 and results[2]["sentiment"] == 1
    assert results[1]["status"] == 400 and results[3]["status"] == 400
    # Each item's sentence names it; a wrong shape is BadJson, as for {"review": 7}.
    assert (results[1]["error"], results[3]["error"]) == ("EmptyReview", "BadJson")
    assert results[1]["message"].startswith("Review 1 is empty")
    assert results[3]["message"].startswith("Review 3 is not a string")
    assert "request body" not in results[1]["message"]
    assert response.json_body["vocabulary_version"] == 3
    runtime.stub.assert_no_pending_responses()  # one multi-row call


@pytest.mark.parametrize(
    "review",
    [CYRILLIC, '"\\' * 30_000 + " great", "\n\t\x01" * 16_000 + "great"],
    ids=["cyrillic", "quotes-and-backslashes", "control-characters"],
)
def test_the_limit_is_on_the_decoded_reviews_utf8_not_its_json_escapes(
    client: Client, runtime: Runtime, vocab: Any, review: str
) -> None:
    size = len(review.encode("utf-8"))
    body = json.dumps({"review": review}).encode()  # ASCII: every escape spelled out
    assert size <= 100_000 < len(body)
    runtime.answer("0.7", _expected(vocab, [review]))
    response = client.http.post("/predict", headers=JSON, body=body)
    assert response.status_code == 200, response.body
    assert response.json_body["sentiment"] == 1


def test_the_raw_body_has_a_generous_cap_of_its_own(client: Client) -> None:
    from chalicelib import parsing

    limit = parsing.body_limit(100_000)
    assert limit >= 6 * 100_000  # any review under the limit, however escaped, fits
    padded = b'{"review": "great"' + b" " * limit + b"}"
    response = client.http.post("/predict", headers=JSON, body=padded)
    assert response.status_code == 413
    assert f"{limit} bytes" in response.json_body["message"]
    batch_limit = parsing.batch_body_limit(100_000)
    # Escaped once more inside API Gateway's event, it still fits Lambda's 6 MB payload.
    assert 2 * batch_limit + 64 * 1024 <= 6 * 1024 * 1024
    padded = b'{"reviews": ["great"' + b" " * batch_limit + b"]}"
    response = client.http.post("/batch", headers=JSON, body=padded)
    assert response.status_code == 413
    assert f"{batch_limit} bytes" in response.json_body["message"]


def test_a_batch_of_escaped_reviews_under_the_limit_is_answered(
    client: Client, runtime: Runtime, vocab: Any
) -> None:
    reviews = [CYRILLIC] * 12 + ["é" * 50_001]  # the last one is over the limit, decoded
    body = json.dumps({"reviews": reviews}).encode()
    assert len(body) > 13 * 100_000  # escaped, the body is larger than the reviews' limits
    runtime.answer("\n".join(["0.7"] * 12), _expected(vocab, reviews[:12]))
    response = client.http.post("/batch", headers=JSON, body=body)
    assert response.status_code == 200, response.body
    results = response.json_body["results"]
    assert [r.get("sentiment") for r in results[:12]] == [1] * 12
    assert results[12]["status"] == 413 and "100000 bytes" in results[12]["message"]


def test_size_limit_is_a_setting(
    client: Client, monkeypatch: pytest.MonkeyPatch, vocab: Any
) -> None:
    from chalicelib import settings

    monkeypatch.setenv("SENTIMENT_MAX_REVIEW_BYTES", "10")
    settings.clear()
    response = client.http.post("/", headers=TEXT, body=b"eleven byte")
    assert response.status_code == 413
    assert "10 bytes" in response.json_body["message"]


@pytest.mark.parametrize("case", NOT_ALLOWED, ids=[case.id for case in NOT_ALLOWED])
def test_every_other_method_gets_our_405_and_one_log_line(
    client: Client, emitted: Emitted, case: Case
) -> None:
    # The answer itself is the contract's (test_contract.py); the log line is ours.
    body = case.body or b""
    response = client.http.request(case.method, case.path, headers=case.headers, body=body)
    assert response.status_code == 405
    (line,) = emitted.lines()
    assert (line["route"], line["status"]) == (f"{case.method} {case.path}", 405)
    assert line["error"] == "MethodNotAllowed"


def test_no_vocabulary_yet_is_503_with_retry_after(client: Client, s3: Any) -> None:
    response = client.http.post("/", headers=TEXT, body=b"good film")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    _cors(response)
    health = client.http.get("/health")
    assert health.status_code == 503
    assert health.json_body["status"] == "no-vocabulary"
    assert health.headers["Retry-After"] == response.headers["Retry-After"]
    _cors(health)


NOT_FOUND = f"Endpoint {ENDPOINT} of account 123456789012 not found."
TOO_LARGE = (
    "1 validation error detected: Value at 'body' failed to satisfy constraint: "
    "Member must have length less than or equal to 6291456"
)
NO_VARIANT = f"Variant blue not found for endpoint {ENDPOINT} of account 123456789012."


@pytest.mark.parametrize(
    ("fault", "message", "status", "retry_after"),
    [
        ("ModelNotReadyException", "details with arn:aws:secret", 503, True),
        ("ThrottlingException", "details with arn:aws:secret", 503, True),
        ("ValidationError", NOT_FOUND, 503, True),  # deleted, or not created yet: not now
        ("ValidationError", TOO_LARGE, 502, False),  # our misconfiguration: not transient
        ("ValidationError", NO_VARIANT, 502, False),
        ("ModelError", "details with arn:aws:secret", 502, False),
    ],
    ids=["not-ready", "throttled", "not-found", "body-too-large", "no-such-variant", "model"],
)
def test_endpoint_faults(
    client: Client,
    runtime: Runtime,
    vocab: Any,
    caplog: pytest.LogCaptureFixture,
    fault: str,
    message: str,
    status: int,
    retry_after: bool,
) -> None:
    runtime.fail(fault, 424 if fault == "ModelError" else 400, message)
    with caplog.at_level(logging.INFO):
        response = client.http.post("/", headers=TEXT, body=REVIEW.encode())
    assert response.status_code == status
    assert ("Retry-After" in response.headers) is retry_after
    _cors(response)
    assert b"arn:" not in response.body and b"details" not in response.body
    assert b"account" not in response.body and b"6291456" not in response.body
    if fault == "ValidationError" and status == 502:
        # The reason is in the log, for us: the runtime's own words.
        assert [
            r for r in caplog.records if r.levelno >= logging.ERROR and message in r.getMessage()
        ]


@pytest.mark.parametrize(
    "answer", ["", "1.5", "-0.1", "nan", "positive", "0.2\n0.3", "0.2,", "\xff"]
)
def test_a_non_probability_answer_is_502(
    client: Client, runtime: Runtime, vocab: Any, answer: str
) -> None:
    runtime.answer(answer.encode("latin-1"))
    response = client.http.post("/", headers=TEXT, body=REVIEW.encode())
    assert response.status_code == 502
    _cors(response)


def test_endpoint_timeout_is_504(
    client: Client, vocab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
    from chalicelib import wiring

    class Slow:
        def __init__(self, exc: Exception) -> None:
            self.exc = exc

        def invoke_endpoint(self, **kwargs: Any) -> Any:
            raise self.exc

    wiring.runtime.set(Slow(ReadTimeoutError(endpoint_url="http://x")))
    assert client.http.post("/", headers=TEXT, body=REVIEW.encode()).status_code == 504
    wiring.runtime.set(Slow(ConnectTimeoutError(endpoint_url="http://x")))
    assert client.http.post("/", headers=TEXT, body=REVIEW.encode()).status_code == 503


def test_an_unexpected_error_is_a_logged_500_without_details(
    client: Client, vocab: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from chalicelib import wiring

    class Broken:
        def invoke_endpoint(self, **kwargs: Any) -> Any:
            raise KeyError("secret internals")

    wiring.runtime.set(Broken())
    with caplog.at_level(logging.INFO):
        response = client.http.post("/", headers=TEXT, body=REVIEW.encode())
    assert response.status_code == 500
    assert b"secret" not in response.body
    _cors(response)
    assert any(r.exc_info for r in caplog.records if r.levelno >= logging.ERROR)


def test_one_structured_log_line_per_request_without_the_review(
    client: Client, runtime: Runtime, vocab: Any, emitted: Emitted
) -> None:
    runtime.answer("0.9")
    response = client.http.post("/predict", headers=TEXT, body=b"superb secret-review-words")
    (line,) = emitted.lines()
    assert line["route"] == "POST /predict" and line["status"] == 200
    assert line["vocabulary_version"] == 3 and line["endpoint"] == ENDPOINT
    assert line["model_fingerprint"] == vocab.model.fingerprint
    assert line["label"] == "positive" and "error" not in line
    assert line["latency_ms"] >= line["endpoint_ms"] >= 0
    assert line["prediction_id"] == response.headers["X-Prediction-Id"]
    assert isinstance(line["cold_start"], bool) and line["function_request_id"]
    assert "secret-review-words" not in json.dumps(emitted.objects)


def test_health_reports_vocabulary_and_endpoint(
    client: Client, runtime: Runtime, vocab: Any
) -> None:
    from chalicelib import wiring
    from chalicelib.probe import LastResult

    now = [1000.0]
    wiring.endpoint_checks = LastResult(clock=lambda: now[0])
    runtime.answer("0.5")
    response = client.http.get("/health")
    assert response.status_code == 200
    body = response.json_body
    assert body["status"] == "ok" and body["stage"] == "test"
    assert body["vocabulary"]["version"] == 3 and body["vocabulary"]["age_seconds"] >= 0
    assert body["endpoint"] == {"name": ENDPOINT, "answers": True}
    assert (
        "arn:" not in response.body.decode() and "sentiment-api-local" not in response.body.decode()
    )
    _cors(response)
    assert "Retry-After" not in response.headers
    # Within 30 s the last check answers: no endpoint call (the stub has none queued).
    for _ in range(5):
        assert client.http.get("/health").json_body["endpoint"]["answers"] is True
    runtime.stub.assert_no_pending_responses()
    now[0] += 31
    runtime.fail("ModelNotReadyException")
    degraded = client.http.get("/health")
    assert degraded.status_code == 503 and degraded.json_body["endpoint"]["answers"] is False
    assert degraded.headers["Retry-After"] == "10"  # what a prediction would be told
    now[0] += 10  # a failure is reused too: still the same answer, no call
    assert client.http.get("/health").headers["Retry-After"] == "10"
    for fault in ("ThrottlingException", "garbage"):  # a 503 behind it, and a 502
        now[0] += 31
        runtime.answer(fault) if fault == "garbage" else runtime.fail(fault)
        degraded = client.http.get("/health")
        assert degraded.status_code == 503
        assert degraded.headers["Retry-After"] == "5"


def test_health_learns_from_predictions_without_calling_again(
    client: Client, runtime: Runtime, vocab: Any
) -> None:
    """A prediction's endpoint call is a fresher check: /health reports its outcome at once
    (not its own last check's for up to 30 s) and makes no call of its own."""
    from chalicelib import wiring
    from chalicelib.probe import LastResult

    wiring.endpoint_checks = LastResult(clock=lambda: 1000.0)
    runtime.answer("0.5")
    assert client.http.get("/health").json_body["endpoint"]["answers"] is True
    runtime.fail("ServiceUnavailable")  # the endpoint went away under a prediction
    assert client.http.post("/predict", headers=TEXT, body=b"superb").status_code == 503
    degraded = client.http.get("/health")
    assert degraded.status_code == 503 and degraded.json_body["endpoint"]["answers"] is False
    runtime.answer("0.9")  # back
    assert client.http.post("/predict", headers=TEXT, body=b"superb").status_code == 200
    assert client.http.get("/health").status_code == 200
    runtime.stub.assert_no_pending_responses()


def test_endpoint_falls_back_to_the_setting(
    client: Client, runtime: Runtime, store: VocabularyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import settings

    v = make_vocabulary(4, endpoint=None)
    live(store, v)
    monkeypatch.setenv("SENTIMENT_ENDPOINT", "sentiment-fallback")
    settings.clear()
    runtime.answer("0.7", {**_expected(v, [REVIEW]), "EndpointName": "sentiment-fallback"})
    assert client.http.post("/", headers=TEXT, body=REVIEW.encode()).body == b"1"


def test_libsvm_vocabulary_sends_libsvm(
    client: Client, runtime: Runtime, store: VocabularyStore
) -> None:
    v = make_vocabulary(5, content_type="text/libsvm")
    live(store, v)
    expected = {**_expected(v, [REVIEW]), "ContentType": "text/libsvm"}
    assert b":" in expected["Body"]
    runtime.answer("0.7", expected)
    assert client.http.post("/", headers=TEXT, body=REVIEW.encode()).body == b"1"
