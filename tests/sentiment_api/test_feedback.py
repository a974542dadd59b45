"""POST /feedback: validated like a review, stored once in S3 (moto's server), CORS."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from chalice.test import Client

from tests.sentiment_api.conftest import BUCKET, Emitted

JSON = {"Content-Type": "application/json"}


def _ids() -> Any:
    from chalicelib import ids

    return ids


def _post(client: Client, body: Any, headers: dict[str, str] = JSON) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.http.post("/feedback", headers=headers, body=raw)


def _keys(s3: Any) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="feedback/")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_feedback_lands_once_under_the_hour_of_its_prediction(
    client: Client, s3: Any, emitted: Emitted
) -> None:
    issued = 1_767_225_600.5  # 2026-01-01 00:00:00.5 UTC
    pid = _ids().new_id(now=issued)
    first = _post(client, {"prediction_id": pid, "review": "Loved it", "label": "positive"})
    assert first.status_code == 201
    assert first.json_body == {"prediction_id": pid, "stored": True}
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    again = _post(client, {"prediction_id": pid, "review": "Hated it", "label": "negative"})
    assert again.status_code == 200 and again.json_body["stored"] is False
    assert _keys(s3) == [f"feedback/2026/01/01/00/{pid}.json"]
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=_keys(s3)[0])["Body"].read())
    assert (stored["label"], stored["review"], stored["prediction_id"]) == (
        "positive",
        "Loved it",
        pid,
    )
    lines = emitted.lines()
    assert [x["status"] for x in lines] == [201, 200]
    assert all(x["feedback_for"] == pid for x in lines)
    assert "Loved it" not in json.dumps(emitted.objects)


BAD = [
    ({"prediction_id": "x", "review": "ok", "label": "positive"}, 400, "BadPredictionId"),
    ({"prediction_id": None, "review": "ok", "label": "negative"}, 400, "BadPredictionId"),
    ({"review": "ok", "label": "positive"}, 400, "BadJson"),
    ({"prediction_id": "{id}", "review": "ok", "label": "uncertain"}, 400, "BadJson"),
    ({"prediction_id": "{id}", "review": "   ", "label": "positive"}, 400, "EmptyReview"),
    ({"prediction_id": "{id}", "review": 5, "label": "positive"}, 400, "BadJson"),
    ({"prediction_id": "{id}", "review": "x" * 100_001, "label": "positive"}, 413, None),
    ({"prediction_id": "{id}", "review": "ok", "label": "positive", "more": 1}, 400, "BadJson"),
    ([1, 2], 400, "BadJson"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD)
def test_bad_feedback_is_a_clear_4xx_and_stores_nothing(
    client: Client, s3: Any, body: Any, status: int, code: str | None
) -> None:
    pid = _ids().new_id()
    if isinstance(body, dict):
        body = {k: (pid if v == "{id}" else v) for k, v in body.items()}
    response = _post(client, body)
    assert response.status_code == status
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.json_body["message"].endswith(".")
    if code:
        assert response.json_body["error"] == code
    assert _keys(s3) == []


def test_feedback_must_be_json(client: Client, s3: Any) -> None:
    response = _post(client, b"positive", {"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert "prediction_id" in response.json_body["message"]


def test_feedback_for_an_id_from_the_future_is_refused(client: Client, s3: Any) -> None:
    pid = _ids().new_id(now=time.time() + 86_400)
    response = _post(client, {"prediction_id": pid, "review": "ok", "label": "positive"})
    assert response.status_code == 400 and _keys(s3) == []


def test_s3_down_is_a_503_not_a_lost_success(client: Client, monkeypatch: Any) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    from chalicelib import wiring

    wiring.reset()
    pid = _ids().new_id()
    response = _post(client, {"prediction_id": pid, "review": "ok", "label": "positive"})
    assert response.status_code == 503
    assert response.json_body["message"] == "The feedback could not be saved; please try again."


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_get_our_405(client: Client, method: str) -> None:
    response = client.http.request(method, "/feedback")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST, OPTIONS"


def test_the_feedback_prefix_may_not_overlap_the_watched_one() -> None:
    from chalicelib import settings
    from chalicelib.errors import SettingsError

    base = {"SENTIMENT_STAGE": "dev", "SENTIMENT_BUCKET": "b"}
    assert settings.load(base).feedback_prefix == "feedback/"
    for prefix in ("vocab/incoming/feedback/", "vocab/"):
        with pytest.raises(SettingsError, match="SENTIMENT_FEEDBACK_PREFIX"):
            settings.load({**base, "SENTIMENT_FEEDBACK_PREFIX": prefix})
