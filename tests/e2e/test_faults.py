"""Faults against the running local stack (issue 8): the endpoint deleted, slow or answering
garbage (through the local runtime's fault hook and moto's SageMaker control plane), S3
unreachable at a cold start and during a refresh (an API of its own, reaching S3 through a
proxy that can be cut), and hostile vocabulary uploads (real S3 events, through the relay
to the S3 handler, whose outcome lines are in the stack's ``relay.log``).

Every test leaves the shared stack as it found it: faults are cleared, the endpoint is
deployed again, and nothing here changes which vocabulary is live.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Answer, call
from tests.e2e.own_api import CuttableProxy, own_api
from tests.e2e.support import (
    check_answer,
    clear_faults,
    clear_invocations,
    handled,
    invocations,
    live,
    refresh_log_lines,
    set_fault,
    wait_for,
)
from tests.sentiment_api.conftest import APP_DIR
from training.artifacts import resolve_run
from training.aws.deploy import DeployRequest, deploy_run
from training.aws.naming import LOCAL_ROLE_ARN
from training.local_stack import LocalStack
from vocab_store import Encoder, ModelRecord, Vocabulary
from vocab_store.explain import read
from vocab_store.store import VocabularyStore

pytestmark = pytest.mark.stack

POSITIVE = "One of the best films I have ever seen. Brilliant acting, a wonderful story."
NEGATIVE = "The worst movie I have ever seen. Awful acting, a boring and stupid plot."
TEXT = {"Content-Type": "text/plain;charset=UTF-8"}
JSON = {"Content-Type": "application/json"}
# API Gateway gives up at 29 s.
API_GATEWAY_LIMIT = 29.0
# What a cold start's first request spends on its own besides the AWS calls, rounded up
# (bench/bench_app.py, idle to loaded machine: importing nltk 0.15-0.3 s, importing botocore
# and building the two clients 0.18-0.35 s).
FIRST_REQUEST_WORK = 1.0
# pickle.dumps({"format": "sentiment-api.vocabulary/1", "terms": ["good", "bad"]}, protocol=4)
PICKLE = (
    b"\x80\x04\x95D\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x06format\x94\x8c\x1a"
    b"sentiment-api.vocabulary/1\x94\x8c\x05terms\x94]\x94(\x8c\x04good\x94\x8c\x03bad\x94eu."
)


def predict(url: str, review: str = POSITIVE) -> Answer:
    return call(url, review.encode(), headers=TEXT)


@pytest.fixture
def endpoint(local_stack: LocalStack) -> Iterator[str]:
    """The endpoint the live vocabulary names; faults are cleared afterwards."""
    clear_faults(local_stack)
    _, vocabulary = live(local_stack)
    assert vocabulary.model is not None and vocabulary.model.endpoint
    yield vocabulary.model.endpoint
    clear_faults(local_stack)


# -- the endpoint ----------------------------------------------------------------------------


class Traffic:
    """One client posting reviews back to back in a thread, keeping every answer."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.answers.append(predict(self.url))

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def seen(self, status: int, since: int = 0) -> int:
        return sum(1 for a in self.answers[since:] if a.status == status)


def _redeploy(stack: LocalStack) -> None:
    """The run's endpoint again, with the deploy code `sentiment up` uses (the model and
    endpoint config are still there and are reused)."""
    run_dir = resolve_run(stack.settings.artifacts_dir, stack.settings.run)
    deploy_run(
        DeployRequest(run_dir, stack.settings.bucket, LOCAL_ROLE_ARN, poll_seconds=0),
        s3=stack.client("s3"),
        sagemaker=stack.client("sagemaker"),
    )


def _exists(sagemaker: Any, name: str) -> bool:
    try:
        sagemaker.describe_endpoint(EndpointName=name)
    except sagemaker.exceptions.ClientError:
        return False
    return True


def test_endpoint_deleted_mid_traffic_is_503_then_answers_once_it_is_back(
    local_stack: LocalStack, endpoint: str
) -> None:
    sagemaker = local_stack.client("sagemaker")
    try:
        with Traffic(local_stack.api_url) as traffic:
            wait_for("answers before the fault", lambda: traffic.seen(200) >= 3)
            sagemaker.delete_endpoint(EndpointName=endpoint)
            wait_for("503s while the endpoint is gone", lambda: traffic.seen(503) >= 3)
            status, health = local_stack.health()
            assert status == 503 and health["endpoint"]["answers"] is False
            _redeploy(local_stack)
            back = len(traffic.answers)
            wait_for("answers once it is back", lambda: traffic.seen(200, back) >= 3)
    finally:
        if not _exists(sagemaker, endpoint):
            _redeploy(local_stack)
    # 200s, then 503s, then 200s again: nothing else, no flapping, every answer well formed.
    runs = [status for status, _ in itertools.groupby(a.status for a in traffic.answers)]
    assert runs == [200, 503, 200], runs
    for answer in traffic.answers:
        check_answer(answer)
        if answer.status == 503:
            assert int(answer.headers["retry-after"]) > 0
        else:
            assert answer.body == b"1"
    local_stack.wait_serving(None, timeout=10)


def _client_module(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The app's ``chalicelib.wiring`` (its clients' timeouts: the local stage does not
    change them)."""
    monkeypatch.syspath_prepend(str(APP_DIR))
    from chalicelib import wiring

    return wiring


def test_an_endpoint_slower_than_the_read_timeout_is_504_within_the_budget(
    local_stack: LocalStack, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_timeout = _client_module(monkeypatch).ENDPOINT_READ_TIMEOUT
    clear_invocations(local_stack)
    set_fault(local_stack, endpoint=endpoint, latency=read_timeout + 2)
    started = time.monotonic()
    answer = predict(local_stack.api_url)
    elapsed = time.monotonic() - started
    assert answer.status == 504
    check_answer(answer)
    # A bound, not a speed target: past 29 s API Gateway answers its own 504, without CORS.
    assert elapsed < API_GATEWAY_LIMIT
    clear_faults(local_stack)
    assert predict(local_stack.api_url).status == 200
    # The runtime records a call when it answers, after the fault's sleep: let the slow
    # attempts the client gave up on finish here, so none lands in the next test's record.
    wait_for(
        "the abandoned slow calls to finish",
        lambda: sum(1 for i in invocations(local_stack) if i["status"] == 200) >= 3,
        timeout=2 * (read_timeout + 2) + 10,
    )


def _worst_call(config: Any) -> float:
    """One call's worst case under a botocore client ``config``: every attempt connecting
    just before its connect timeout and then reading until its read timeout, with standard
    mode's longest backoffs (a throttling error's: up to 1 s, 2 s, ... before each retry)."""
    retries = config.retries
    assert retries["mode"] == "standard"
    # botocore: total_max_attempts counts the first attempt, max_attempts only the retries.
    attempts = retries.get("total_max_attempts", retries.get("max_attempts", 2) + 1)
    backoff = sum(min(20, 2**i) for i in range(attempts - 1))
    return float(attempts * (config.connect_timeout + config.read_timeout) + backoff)


def test_the_endpoint_clients_worst_case_fits_the_lambda_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worst request: a cold start (or the first after the pointer changed) reads the
    pointer and then the vocabulary from S3 with the wiring's client, then calls the
    endpoint, each call at its worst, on top of the first request's own work. Still inside
    the API Lambda's timeout, which sits below API Gateway's 29 s (so the client gets our
    503 or 504, with CORS)."""
    from botocore.config import Config

    wiring = _client_module(monkeypatch)
    config = json.loads((APP_DIR / ".chalice" / "config.json").read_text())
    timeouts = {
        stage["lambda_functions"]["api_handler"]["lambda_timeout"]
        for stage in config["stages"].values()
        if "lambda_functions" in stage
    }
    endpoint_call = _worst_call(Config(**wiring.runtime.config))
    s3_call = _worst_call(Config(**wiring.s3.config))
    worst = 2 * s3_call + endpoint_call + FIRST_REQUEST_WORK
    assert worst < min(timeouts) < API_GATEWAY_LIMIT, (s3_call, endpoint_call, timeouts)


@pytest.mark.parametrize(
    ("garbage", "reviews"),
    [
        ("not a probability", 1),
        ("positive", 1),
        ("1.5", 1),
        ("-0.1", 1),
        ("-0", 1),  # float() takes it; a probability is never signed
        ("0.5_0", 1),  # float() takes underscores too
        ("+1", 1),
        ("nan", 1),
        ("", 1),
        ("0.2\n0.7", 1),  # two answers for one row
        ("0.2,0.7,", 1),
        ("0.3", 2),  # one answer for two rows
        ('{"predictions": [{"score": 0.9}]}', 1),
    ],
)
def test_an_endpoint_answering_garbage_is_502(
    local_stack: LocalStack, endpoint: str, garbage: str, reviews: int
) -> None:
    set_fault(local_stack, endpoint=endpoint, body=garbage)
    clear_invocations(local_stack)
    if reviews == 1:
        answer = predict(local_stack.api_url)
        rows = 1  # a text/plain answer sends the review's row only
    else:
        texts = [POSITIVE, NEGATIVE]
        answer = call(
            local_stack.api_url + "batch", json.dumps({"reviews": texts}).encode(), headers=JSON
        )
        rows = _rows_sent(local_stack, texts)
        assert rows > reviews  # a JSON answer adds its sentence rows to the same call
    assert answer.status == 502
    check_answer(answer)
    (sent,) = invocations(local_stack)  # the endpoint was asked once, and answered 200
    assert (sent["rows"], sent["status"]) == (rows, 200)


def _rows_sent(stack: LocalStack, texts: list[str]) -> int:
    """The rows a JSON request for ``texts`` sends with the live vocabulary: each review's,
    then one per sentence when the vocabulary carries the model's weights."""
    _, vocabulary = live(stack)
    if vocabulary.linear is None:
        return len(texts)
    encoder = Encoder(vocabulary)
    return sum(len(read(encoder, text).vectors()) for text in texts)


# -- S3 ----------------------------------------------------------------------------------------


def _moto_address(stack: LocalStack) -> tuple[str, int]:
    assert stack.stack is not None
    return "127.0.0.1", stack.stack.ports["moto"]


def _version(url: str) -> int | None:
    status, body, _ = _health(url)
    return (body.get("vocabulary") or {}).get("version")


def _health(url: str) -> tuple[int, dict[str, Any], Answer]:
    answer = call(url + "health", method="GET")
    return answer.status, answer.json(), answer


def test_s3_unreachable_at_a_cold_start_is_503_and_a_refresh_keeps_the_last_good_vocabulary(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    """An API of its own whose S3 is a proxy to moto: closed at the cold start, then open,
    then cut while a newer vocabulary is promoted under this API's own pointer (so the
    shared stack's live vocabulary is never touched)."""
    pointer_key = "vocab/test-faults/current.json"
    private = VocabularyStore(
        local_stack.settings.bucket,
        incoming_prefix="vocab/test-faults/incoming/",  # not watched: the relay never sees it
        pointer_key=pointer_key,
        s3_client=local_stack.client("s3"),
    )
    _, vocabulary = live(local_stack)
    first = vocabulary.with_version(vocabulary.version + 10)
    assert private.promote(private.publish(first), first)

    proxy = CuttableProxy(_moto_address(local_stack))  # not started: a closed port
    assert local_stack.stack is not None
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    env.update(local_stack.aws_env())
    variables = {
        "AWS_ENDPOINT_URL_S3": proxy.url,
        "AWS_ENDPOINT_URL_SAGEMAKER": local_stack.stack.moto_url,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": local_stack.stack.runtime_url,
        "SENTIMENT_POINTER_KEY": pointer_key,
        "SENTIMENT_VOCAB_TTL": "1",
    }
    try:
        with own_api(tmp_path, env, variables) as url:
            # Cold start, S3 unreachable: 503 with Retry-After, for predictions and health.
            answer = predict(url)
            assert answer.status == 503
            check_answer(answer)
            assert int(answer.headers["retry-after"]) > 0
            status, body, health = _health(url)
            assert (status, body["status"]) == (503, "store-unavailable")
            assert health.headers["access-control-allow-origin"] == "*"

            # S3 back: the vocabulary loads on the next request.
            proxy.start()
            assert predict(url).status == 200
            assert _version(url) == first.version

            # S3 cut; meanwhile a newer vocabulary is promoted. The API keeps trying (the
            # proxy drops its revalidations) and keeps serving the last good one.
            proxy.cut()
            second = vocabulary.with_version(first.version + 1)
            assert private.promote(private.publish(second), second)
            for _ in range(3):
                mark = proxy.dropped
                wait_for(
                    "the API to try S3 again",
                    lambda mark=mark: predict(url).status == 200 and proxy.dropped > mark,
                )
            assert _version(url) == first.version
            assert predict(url, NEGATIVE).body == b"0"

            # S3 back: the newer vocabulary goes live within the TTL.
            proxy.restore()
            wait_for("the newer vocabulary", lambda: _version(url) == second.version)
            assert predict(url).body == b"1"
    finally:
        proxy.stop()
    assert local_stack.health()[1]["vocabulary"]["version"] == live(local_stack)[0].version


# -- hostile vocabulary uploads ----------------------------------------------------------------


def _shrunk(vocabulary: Vocabulary, version: int) -> Vocabulary:
    """The same model's vocabulary, one term short: encodes one column fewer than the model
    reads (which the container would silently accept)."""
    assert vocabulary.model is not None
    model = replace(vocabulary.model, feature_count=vocabulary.feature_count - 1)
    extra = {k: v for k, v in vocabulary.extra.items() if k != "document_frequency"}
    weights = None if vocabulary.weights is None else vocabulary.weights[:-1]
    linear = vocabulary.linear
    if linear is not None:
        linear = replace(linear, coefficients=linear.coefficients[:-1])
    shrunk = replace(
        vocabulary,
        terms=vocabulary.terms[:-1],
        weights=weights,
        model=model,
        extra=extra,
        linear=linear,
    )
    return shrunk.with_version(version)


def _gone_endpoint(stack: LocalStack, name: str) -> str:
    """An endpoint that existed (the live one's config) and was deleted."""
    sagemaker = stack.client("sagemaker")
    _, vocabulary = live(stack)
    assert vocabulary.model is not None and vocabulary.model.endpoint
    config = sagemaker.describe_endpoint(EndpointName=vocabulary.model.endpoint)
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config["EndpointConfigName"])
    sagemaker.delete_endpoint(EndpointName=name)
    return name


def _upload(stack: LocalStack, case: str, vocabulary: Vocabulary) -> bytes:
    assert vocabulary.model is not None
    newer = vocabulary.version + 1000
    if case == "truncated":
        return vocabulary.to_json().encode()[: len(vocabulary.to_json()) // 2]
    if case == "not-json":
        return b"<vocabulary><term>good</term></vocabulary>"
    if case == "not-utf8":
        return b'{"format": "\xff\xfe"}'
    if case == "pickle":
        return PICKLE
    if case == "50-mb":
        return b'{"terms": ["' + b"a" * (50 * 1024 * 1024) + b'"]}'
    if case == "wrong-width":
        return _shrunk(vocabulary, newer).to_json().encode()
    if case == "inconsistent-width":
        data = vocabulary.with_version(newer).to_dict()
        data["model"]["feature_count"] = vocabulary.feature_count + 1
        return json.dumps(data).encode()
    if case == "another-model":
        record = ModelRecord("e" * 64, vocabulary.feature_count, vocabulary.model.endpoint)
        return vocabulary.with_model(record).with_version(newer).to_json().encode()
    if case == "endpoint-not-in-service":
        gone = _gone_endpoint(stack, f"sentiment-gone-{newer}")
        record = replace(vocabulary.model, endpoint=gone)
        return vocabulary.with_model(record).with_version(newer).to_json().encode()
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("truncated", "not valid JSON"),
        ("not-json", "not valid JSON"),
        ("not-utf8", "not UTF-8"),
        ("pickle", "pickle"),
        ("50-mb", "over the 20971520-byte limit"),
        ("wrong-width", "features"),
        ("inconsistent-width", "disagrees"),
        ("another-model", "fingerprint"),
        ("endpoint-not-in-service", "does not exist"),
    ],
)
def test_a_hostile_vocabulary_upload_is_rejected_with_a_logged_reason(
    local_stack: LocalStack, case: str, reason: str
) -> None:
    s3 = local_stack.client("s3")
    before, vocabulary = live(local_stack)
    verdict = predict(local_stack.api_url, NEGATIVE).body
    key = f"vocab/incoming/{vocabulary.version + 1000:020d}-hostile-{case}.json"
    s3.put_object(
        Bucket=local_stack.settings.bucket, Key=key, Body=_upload(local_stack, case, vocabulary)
    )
    try:
        outcome = handled(local_stack, key)
    finally:
        if case == "50-mb":
            s3.delete_object(Bucket=local_stack.settings.bucket, Key=key)
    assert outcome["result"] == "rejected", outcome
    assert reason in outcome["reason"], outcome
    after, _ = live(local_stack)
    assert after == before  # the same pointer object: key, version and ETag
    assert local_stack.health()[1]["vocabulary"]["version"] == before.version
    assert predict(local_stack.api_url, NEGATIVE).body == verdict


def _outcomes(stack: LocalStack, key: str) -> list[dict[str, Any]]:
    return [line for line in refresh_log_lines(stack) if line.get("key") == key]


def test_a_duplicate_event_and_an_older_version_change_nothing(local_stack: LocalStack) -> None:
    s3 = local_stack.client("s3")
    bucket = local_stack.settings.bucket
    before, vocabulary = live(local_stack)
    upload = before.source  # the live vocabulary's upload (the pointer names its copy)
    assert upload is not None
    raw = s3.get_object(Bucket=bucket, Key=upload)["Body"].read()

    # The event of the live vocabulary's upload, delivered twice more.
    seen = len(_outcomes(local_stack, upload))
    for _ in range(2):
        s3.put_object(Bucket=bucket, Key=upload, Body=raw)
    wait_for("both duplicates", lambda: len(_outcomes(local_stack, upload)) >= seen + 2)
    assert [o["result"] for o in _outcomes(local_stack, upload)[seen:]] == [
        "not-newer",
        "not-newer",
    ]

    # An older version, arriving after the newer one.
    older = vocabulary.with_version(vocabulary.version - 1)
    key = f"vocab/incoming/{older.version:020d}-older-{uuid.uuid4().hex[:8]}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=older.to_json().encode())
    assert handled(local_stack, key)["result"] == "not-newer"

    after, _ = live(local_stack)
    assert after == before
    assert local_stack.health()[1]["vocabulary"]["version"] == before.version
    assert predict(local_stack.api_url).body == b"1"


@pytest.mark.parametrize(
    ("status", "result"),
    [
        ("OutOfService", "rejected"),
        ("Failed", "rejected"),
        ("Deleting", "rejected"),
        ("Creating", "retry"),
        ("Updating", "retry"),
        ("InService", "promoted"),
    ],
)
def test_an_endpoint_that_is_not_in_service(
    local_stack: LocalStack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    status: str,
    result: str,
) -> None:
    """moto's endpoints are InService from their creation to their deletion (the deleted
    one is above), so the other states are given to the S3 handler's own code: its refresh
    runs here on a real-shaped event and moto's S3, with a store of its own (nothing the
    stack serves changes); only the endpoint's description is made up."""
    monkeypatch.syspath_prepend(str(APP_DIR))
    from chalicelib import refresh

    from vocab_store.pairing import (
        FEATURE_COUNT_TAG,
        MODEL_FINGERPRINT_TAG,
        VOCABULARY_FINGERPRINT_TAG,
        EndpointState,
        ServedModel,
    )

    _, vocabulary = live(local_stack)
    assert vocabulary.model is not None
    folder = f"vocab/test-states/{uuid.uuid4().hex[:8]}"
    private = VocabularyStore(
        local_stack.settings.bucket,
        incoming_prefix=f"{folder}/incoming/",
        pointer_key=f"{folder}/current.json",
        s3_client=local_stack.client("s3"),
    )
    key = private.publish(vocabulary)
    tags = {
        MODEL_FINGERPRINT_TAG: vocabulary.model.fingerprint,
        FEATURE_COUNT_TAG: str(vocabulary.feature_count),
        VOCABULARY_FINGERPRINT_TAG: vocabulary.fingerprint,
    }
    served = (ServedModel("model", tags),)

    def describe(name: str, variant: str | None) -> EndpointState:
        return EndpointState(name, True, status, variant, served)

    event = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": private.bucket}, "object": {"key": key}},
            }
        ]
    }
    with caplog.at_level("INFO"):
        if result == "retry":  # Lambda retries the event: the endpoint may come up
            with pytest.raises(refresh.RefreshRetry):
                refresh.refresh(event, private, describe)
        else:
            refresh.refresh(event, private, describe)
    # The outcome line is Powertools' "refresh" record, its fields passed as extra keys.
    (line,) = [vars(r) for r in caplog.records if r.getMessage() == "refresh"]
    assert (line["key"], line["result"]) == (key, result)
    if result != "promoted":
        assert status in line["reason"]
    assert (private.current_pointer() is not None) is (result == "promoted")
