"""The HTTP contract table (``contract.py``) run three ways: chalice's test client, API
Gateway proxy events through the Lambda handler (body as a string and as base64), and the
running local stack (marked ``stack``). The same request gets the same answer every way.

In this process the vocabulary is live in moto's S3 and the runtime is a recording fake
that answers every row; the stack serves the real model of ``small_run``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from chalice.test import Client

from tests.sentiment_api import answers, contract
from tests.sentiment_api.conftest import ENDPOINT, live, make_vocabulary
from tests.sentiment_api.contract import Case
from tests.sentiment_api.ways import (
    ChaliceClientWay,
    ProxyEventWay,
    RecordingRuntime,
    StackWay,
    Way,
    text_body_allowed,
)

WAYS = ("client", "proxy-text", "proxy-base64", "stack")


def _params() -> list[Any]:
    params = []
    for way in WAYS:
        marks = [pytest.mark.stack] if way == "stack" else []
        for case in contract.CASES:
            if way == "proxy-text" and not text_body_allowed(case):
                continue
            params.append(pytest.param(way, case, id=f"{way}:{case.id}", marks=marks))
    return params


@pytest.fixture(scope="module")
def stack_way(local_stack: Any) -> tuple[Way, tuple[int, str, str]]:
    """The stack's API, and the live vocabulary's feature count, content type and
    endpoint (what every row sent must match)."""
    from tests.e2e.support import live as stack_live

    assert local_stack.stack is not None
    _, vocabulary = stack_live(local_stack)
    assert vocabulary.model is not None and vocabulary.model.endpoint
    served = (vocabulary.feature_count, vocabulary.content_type, vocabulary.model.endpoint)
    return StackWay(local_stack.api_url, local_stack.stack.runtime_url), served


@pytest.fixture(scope="module")
def live_bucket(moto_server: str) -> tuple[str, tuple[int, str, str]]:
    """A bucket of its own in moto's S3 with a live vocabulary, made once for the module
    (a fresh moto per case cost more than the cases); what every row sent must match."""
    import uuid

    import boto3

    from vocab_store.store import VocabularyStore

    bucket = f"contract-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=bucket)
    vocabulary = make_vocabulary(3)
    live(VocabularyStore(bucket, s3_client=s3), vocabulary)
    return bucket, (vocabulary.feature_count, vocabulary.content_type, ENDPOINT)


def _in_process(request: pytest.FixtureRequest, way: str, case: Case) -> tuple[Way, Any]:
    from chalicelib import settings, wiring

    runtime = RecordingRuntime()
    wiring.runtime.set(runtime)
    served = None
    if case.needs_model:
        # The app reads the vocabulary through its own S3 client, as on every cold start.
        bucket, served = request.getfixturevalue("live_bucket")
        monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
        monkeypatch.setenv("SENTIMENT_BUCKET", bucket)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", request.getfixturevalue("moto_server"))
        # Each way files the same feedback id: each under its own prefix, so each is first.
        monkeypatch.setenv("SENTIMENT_FEEDBACK_PREFIX", f"feedback/{way}/")
        settings.clear()
    if way == "client":
        client: Client = request.getfixturevalue("client")
        return ChaliceClientWay(client, runtime), served
    app: ModuleType = request.getfixturevalue("app_module")
    return ProxyEventWay(app.app, runtime, base64_body=way == "proxy-base64"), served


@pytest.mark.parametrize(("way", "case"), _params())
def test_contract(request: pytest.FixtureRequest, way: str, case: Case) -> None:
    runner: Way
    if way == "stack":
        runner, served = request.getfixturevalue("stack_way")
    else:
        runner, served = _in_process(request, way, case)
    answer = runner.send(case)
    answers.check_answer(case, answer)
    answers.check_documented(case.method, case.path, answer)
    if case.rows is not None:
        answers.check_sent(case.rows, runner.sent(), served, explained=case.explained)
