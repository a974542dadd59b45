"""A 503 says which dependency is missing: S3 that does not answer, an endpoint that does
not answer, or S3 answering that nothing has been published yet. Each failure is one log
line naming the address tried, with no traceback. Real closed ports, not mocks."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from chalice.test import Client

from tests.conftest import free_port
from tests.sentiment_api.conftest import live, make_vocabulary
from vocab_store.store import VocabularyStore

TEXT = {"Content-Type": "text/plain"}


def _closed() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


def _one_line_naming(caplog: pytest.LogCaptureFixture, url: str) -> None:
    named = [r for r in caplog.records if url in r.getMessage()]
    assert named, caplog.text
    assert all("\n" not in r.getMessage() for r in named)
    assert not any(r.exc_info for r in caplog.records), "a traceback was logged"


def test_s3_unreachable_says_s3_not_nothing_published(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = _closed()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
    with caplog.at_level(logging.INFO):
        response = client.http.post("/", headers=TEXT, body=b"a good film")
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    body = response.json_body
    assert body["error"] == "S3Unavailable"
    assert "(S3)" in body["message"] and "published" not in body["message"]
    assert url not in response.body.decode()  # the address goes to the log only
    _one_line_naming(caplog, url)

    health = client.http.get("/health")
    assert health.status_code == 503
    assert health.json_body["status"] == "store-unavailable"
    assert health.json_body["message"] == body["message"]


def test_nothing_published_yet_is_its_own_answer(client: Client, s3: Any) -> None:
    response = client.http.post("/", headers=TEXT, body=b"a good film")
    assert response.status_code == 503
    assert response.json_body["error"] == "NoVocabulary"
    assert "published" in response.json_body["message"]
    health = client.http.get("/health").json_body
    assert (health["status"], health["message"]) == ("no-vocabulary", response.json_body["message"])


def test_endpoint_unreachable_says_the_model_endpoint(
    client: Client,
    store: VocabularyStore,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    live(store, make_vocabulary(3))
    url = _closed()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", url)
    with caplog.at_level(logging.INFO):
        response = client.http.post("/", headers=TEXT, body=b"a good film")
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    body = response.json_body
    assert body["error"] == "EndpointUnreachable" and "endpoint" in body["message"]
    assert "(S3)" not in body["message"]
    _one_line_naming(caplog, url)
    health = client.http.get("/health")
    assert (health.status_code, health.json_body["status"]) == (503, "degraded")
