"""Powertools' log lines and EMF metrics, prediction ids and InferenceId (issue 17)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from chalice.test import Client

from tests.sentiment_api.conftest import ENDPOINT, Emitted, Runtime, live, make_vocabulary
from vocab_store.store import VocabularyStore

JSON = {"Content-Type": "application/json"}
TEXT = {"Content-Type": "text/plain"}


@pytest.fixture
def vocab(store: VocabularyStore) -> Any:
    v = make_vocabulary(4)
    live(store, v)
    return v


def _value(emf: dict[str, Any], name: str) -> float:
    """A metric's value in an EMF object (Powertools writes a list of values)."""
    (value,) = emf[name]
    return float(value)


def test_a_batch_counts_one_uncertain_value_per_prediction(
    client: Client, runtime: Runtime, vocab: Any, emitted: Emitted
) -> None:
    runtime.answer("0.98\n0.5\n0.02")
    reviews = ["superb acting", "zzyzx qwerty", "awful plot", "  "]
    client.http.post("/batch", headers=JSON, body=json.dumps({"reviews": reviews}))
    (emf,) = emitted.metrics()
    assert emf["Uncertain"] == [1.0, 0.0, 0.0]  # Average: the "not sure" rate, 1/3
    assert _value(emf, "Errors4xx") == 0 and "Predictions" not in emf


def _inference_ids(runtime: Runtime) -> list[str]:
    """The InferenceId of each invoke_endpoint call the app made."""
    seen: list[str] = []
    runtime.client.meta.events.register(
        "provide-client-params.sagemaker-runtime.InvokeEndpoint",
        lambda params, **_: seen.append(params.get("InferenceId")),
    )
    return seen


def test_ids_are_uuid7_in_time_order_and_carry_their_time() -> None:
    from chalicelib import ids

    made = [ids.new_id() for _ in range(2000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    parsed = uuid.UUID(made[0])
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert abs(ids.issued_at(made[0]).timestamp() - time.time()) < 5
    old = ids.new_id(now=1_700_000_000.123)
    assert ids.issued_at(old).timestamp() == pytest.approx(1_700_000_000.123, abs=0.001)


@pytest.mark.parametrize(
    "bad",
    [
        "nope",
        # A random UUID (version 4), fixed so every xdist worker collects the same test.
        str(uuid.UUID(bytes=bytes(range(16)), version=4)),
        "01234567-89ab-7def-8123-456789ABCDEF",  # upper case: not the form we issue
        12,
    ],
)
def test_an_id_we_did_not_issue_is_refused(bad: Any) -> None:
    from chalicelib import ids

    with pytest.raises(ids.BadPredictionId):
        ids.issued_at(bad)


def test_an_id_from_the_future_is_refused() -> None:
    from chalicelib import ids

    with pytest.raises(ids.BadPredictionId):
        ids.issued_at(ids.new_id(now=time.time() + 3600))


def test_the_answer_header_json_log_and_inference_id_share_the_prediction_id(
    client: Client, runtime: Runtime, vocab: Any, emitted: Emitted
) -> None:
    seen = _inference_ids(runtime)
    runtime.answer("0.02")
    response = client.http.post(
        "/predict", headers=JSON, body=json.dumps({"review": "Terrible plot, awful acting."})
    )
    pid = response.headers["X-Prediction-Id"]
    assert "X-Prediction-Id" in response.headers["Access-Control-Expose-Headers"]
    assert response.json_body["prediction_id"] == pid == seen[0]
    (line,) = emitted.lines()
    assert line["prediction_id"] == pid and line["label"] == "negative"


def test_text_answers_and_errors_carry_an_id_too(
    client: Client, runtime: Runtime, vocab: Any, emitted: Emitted
) -> None:
    runtime.answer("0.9")
    ok = client.http.post("/", headers=TEXT, body=b"superb")
    bad = client.http.post("/", headers=TEXT, body=b"   ")
    assert ok.body == b"1" and bad.status_code == 400
    ids = [ok.headers["X-Prediction-Id"], bad.headers["X-Prediction-Id"]]
    assert ids[0] < ids[1]
    lines = emitted.lines()
    assert [x["prediction_id"] for x in lines] == ids
    assert lines[1]["error"] == "EmptyReview" and "label" not in lines[1]


def test_batch_items_get_their_own_ids_and_the_call_the_batch_id(
    client: Client, runtime: Runtime, vocab: Any, emitted: Emitted
) -> None:
    seen = _inference_ids(runtime)
    runtime.answer("0.98\n0.02")
    response = client.http.post(
        "/batch", headers=JSON, body=json.dumps({"reviews": ["great", "", "awful"]})
    )
    body = response.json_body
    batch_id = response.headers["X-Prediction-Id"]
    assert body["batch_id"] == batch_id == seen[0]
    items = [r.get("prediction_id") for r in body["results"]]
    assert items[1] is None and items[0] and items[2] and len({batch_id, *items}) == 4
    (line,) = emitted.lines()
    assert line["item_ids"] == [items[0], items[2]]
    assert line["labels"] == {"positive": 1, "negative": 1} and line["items"] == 3


def test_each_request_emits_emf_metrics_with_the_model_as_a_dimension(
    client: Client, runtime: Runtime, vocab: Any, emitted: Emitted
) -> None:
    runtime.answer("0.8")
    client.http.post("/predict", headers=TEXT, body=b"a fine film")
    runtime.fail("ThrottlingException")
    client.http.post("/predict", headers=TEXT, body=b"a fine film")
    runtime.answer("0.8")  # no known term in it: "not sure"
    client.http.post("/predict", headers=TEXT, body=b"zzyzx qwerty")
    ok, failed, unsure = emitted.metrics()
    assert _value(unsure, "Uncertain") == 1
    directive = ok["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "SentimentApi"
    assert directive["Dimensions"] == [["service", "model"], ["service"]]
    assert ok["model"] == ENDPOINT and ok["service"] == "sentiment-api"
    names = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert names["Latency"] == names["EndpointLatency"] == "Milliseconds"
    # One Latency value per request: its SampleCount is the request count.
    assert [_value(ok, n) for n in ("Errors4xx", "Errors5xx", "Uncertain")] == [0, 0, 0]
    assert len(ok["Latency"]) == 1
    assert (_value(failed, "Errors5xx"), failed["model"]) == (1, ENDPOINT)
    assert "Uncertain" not in failed  # no prediction, no "not sure" value


def test_an_error_before_any_model_is_counted_under_none(
    client: Client, s3: Any, emitted: Emitted
) -> None:
    client.http.post("/", headers=TEXT, body=b"no vocabulary yet")
    (m,) = emitted.metrics()
    assert (m["model"], _value(m, "Errors5xx")) == ("none", 1)
    (line,) = emitted.lines()
    assert (line["status"], line["error"]) == (503, "NoVocabulary")


@pytest.mark.parametrize(
    ("message", "written"),
    [
        ("request", "request"),
        ("", ""),
        ("retry later", "retry later"),
        ('{"note": 1}', {"note": 1}),
        (" [1, 2]", [1, 2]),
        ("7", 7),
        ("null", "null"),  # None: Powertools leaves the message out, as it always did
        ("nothing", "nothing"),  # starts like null, is not JSON: kept
    ],
)
def test_a_message_is_json_decoded_exactly_when_powertools_would(
    emitted: Emitted, message: str, written: Any
) -> None:
    # The app skips json.loads for text that cannot start a JSON value; what is written
    # must be what Powertools' default (json.loads, the text kept when it fails) writes.
    from chalicelib import observability

    observability.logger.info(message)
    (line,) = [o for o in emitted.read() if o.get("level") == "INFO"]
    if message == "null":
        assert "message" not in line
    else:
        assert line["message"] == written
