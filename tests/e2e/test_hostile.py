"""Hostile input against the running local stack (issue 8): a corpus of awkward and
malicious reviews and bodies, sent as text/plain, as JSON and through /batch.

For every answer: never a 5xx, CORS headers without credentials, a verdict or one clear
sentence. For every request: what reached the SageMaker runtime (recorded by the local
runtime, ``/_devstack/invocations``) has one row per valid review, each exactly the live
vocabulary's width, or nothing was sent at all when the request was refused. The stack is
healthy afterwards.

A review with no known term (only out-of-vocabulary words, only stopwords, only
punctuation) is a valid review: it is encoded as a row with no term present (in ``text/csv``
the all-zero row, where a 0 is a value) and gets the model's ordinary answer for that row:
200 with the model's bias (about 0.51, so ``1``, for the small test model).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Answer, call
from tests.e2e.support import (
    check_answer,
    clear_invocations,
    invocations,
    live,
    post_without_content_type,
)
from training.local_stack import LocalStack

TEXT = {"Content-Type": "text/plain;charset=UTF-8"}
JSON = {"Content-Type": "application/json"}
LIMIT = 100_000  # SENTIMENT_MAX_REVIEW_BYTES of the local stage
ORIGIN = "http://evil.example"

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
NO_KNOWN_TERM = ("out-of-vocabulary", "only-stopwords", "only-punctuation", "only-nul")

# Raw text/plain bodies and what they must get.
RAW: list[tuple[str, bytes, str | None, int]] = [
    ("invalid-utf8", b"great \xff\xfe film", "text/plain", 400),
    ("truncated-utf8", b"good film \xe2\x82", "text/plain; charset=utf-8", 400),
    ("overlong-utf8", b"\xc0\xaf\xe0\x80\xaf", "text/plain", 400),
    ("surrogate-bytes", "great \ud800 film".encode("utf-8", "surrogatepass"), "text/plain", 400),
    ("empty", b"", "text/plain", 400),
    ("whitespace", " \t\r\n\u00a0\u2003\u3000".encode(), "text/plain", 400),
    ("one-megabyte", b"great movie " * 87_382, "text/plain", 413),
    ("one-byte-over", b"x" * (LIMIT + 1), "text/plain", 413),
    ("at-the-limit", b"great " * (LIMIT // 6) + b"x" * (LIMIT % 6), "text/plain", 200),
    (
        "latin-1",
        "Superb, caf\u00e9 na\u00efve".encode("latin-1"),
        "text/plain; charset=latin-1",
        200,
    ),
    ("utf-16", "great film".encode("utf-16"), "text/plain; charset=utf-16", 200),
    ("utf-16-odd-bytes", b"\xff\xfeg\x00r\x00e", "text/plain; charset=utf-16", 400),
    ("unknown-charset", b"great", "text/plain; charset=klingon", 415),
    ("codec-not-a-charset", b"great", "text/plain; charset=rot13", 415),
    ("binary-codec", b"Z3JlYXQ=", "text/plain; charset=base64", 415),
    ("undefined-charset", b"great", "text/plain; charset=undefined", 415),
    ("no-content-type", b"great film", None, 200),
    ("shouting-content-type", b"great film", "TEXT/PLAIN; CHARSET=UTF-8", 200),
    ("messy-content-type", b"great film", 'text/plain;;; charset="utf-8"; x=y', 200),
    ("html", b"<p>great</p>", "text/html", 415),
    ("form", b"review=great", "application/x-www-form-urlencoded", 415),
    ("multipart", b"--x\r\n\r\ngreat\r\n--x--", "multipart/form-data; boundary=x", 415),
    ("json-that-is-text", b"great film", "application/json", 400),
]

# JSON bodies for / and /predict, and what they must get.
JSON_BODIES: list[tuple[str, bytes, int]] = [
    ("array", b"[]", 400),
    ("null", b"null", 400),
    ("number", b"42", 400),
    ("huge-number", b"1e999", 400),
    ("huge-integer", b"1" * 5_000, 400),
    ("string", b'"great film"', 400),
    ("boolean", b"true", 400),
    ("empty-object", b"{}", 400),
    ("review-null", b'{"review": null}', 400),
    ("review-number", b'{"review": 5}', 400),
    ("review-nan", b'{"review": NaN}', 400),
    ("review-list", b'{"review": ["great"]}', 400),
    ("review-object", b'{"review": {"text": "great"}}', 400),
    ("review-empty", b'{"review": ""}', 400),
    ("review-blank", b'{"review": " \\n\\t\\u00a0"}', 400),
    ("extra-field", b'{"review": "great", "user": "x"}', 400),
    ("wrong-name", b'{"Review": "great"}', 400),
    ("batch-shape", b'{"reviews": ["great"]}', 400),
    ("nested-deep", b"[" * 20_000 + b"]" * 20_000, 400),
    ("nested-object-deep", b'{"review": ' * 5_000 + b'"x"' + b"}" * 5_000, 400),
    ("not-json", b"{review: great}", 400),
    ("trailing-garbage", b'{"review": "great"} {}', 400),
    ("byte-order-mark", b'\xef\xbb\xbf{"review": "great"}', 400),
    ("invalid-utf8", b'{"review": "great \xff film"}', 400),
    ("too-large", json.dumps({"review": "great " * 200_000}).encode(), 413),
    # Duplicate names: the last one wins, as in the browser's JSON.parse.
    ("duplicate-keys", b'{"review": "awful", "review": "great"}', 200),
    ("escaped", b'{"review": "\\u0067reat \\"film\\" \\/ \\\\ \\u0000"}', 200),
]

# Bodies for /batch, and what they must get (200: per-item answers).
BATCH_BODIES: list[tuple[str, bytes, int]] = [
    ("array", b"[]", 400),
    ("null", b"null", 400),
    ("number", b"7", 400),
    ("empty-list", b'{"reviews": []}', 400),
    ("list-of-26", json.dumps({"reviews": ["great"] * 26}).encode(), 400),
    ("reviews-string", b'{"reviews": "great"}', 400),
    ("reviews-null", b'{"reviews": null}', 400),
    ("reviews-object", b'{"reviews": {"0": "great"}}', 400),
    ("wrong-name", b'{"review": ["great"]}', 400),
    ("extra-field", b'{"reviews": ["great"], "x": 1}', 400),
    ("nested-deep", b'{"reviews": [' + b"[" * 20_000 + b"]" * 20_000 + b"]}", 400),
    ("not-json", b"{reviews: [great]}", 400),
    ("no-valid-item", b'{"reviews": [null, 5, 1.5, true, {}, [], "", "  "]}', 200),
    ("mixed", b'{"reviews": ["great", null, "awful", {"review": "x"}, "\\u0000"]}', 200),
    ("item-over-the-limit", json.dumps({"reviews": ["great", "x" * 1_000_000]}).encode(), 200),
    ("twenty-five", json.dumps({"reviews": ["great film"] * 25}).encode(), 200),
]


@pytest.fixture(scope="module")
def served(local_stack: LocalStack) -> tuple[int, str, str]:
    """The live vocabulary's feature count and content type, and the endpoint it names."""
    _, vocabulary = live(local_stack)
    assert vocabulary.model is not None and vocabulary.model.endpoint
    return vocabulary.feature_count, vocabulary.content_type, vocabulary.model.endpoint


def send(stack: LocalStack, path: str, body: bytes, headers: dict[str, str]) -> Answer:
    clear_invocations(stack)
    if "Content-Type" in headers:
        answer = call(stack.api_url + path, body, headers={"Origin": ORIGIN, **headers})
    else:
        answer = post_without_content_type(stack.api_url + path, body)
    assert answer.status < 500, (answer.status, answer.body[:300])
    check_answer(answer)
    return answer


def check_sent(stack: LocalStack, served: tuple[int, str, str], rows: int) -> None:
    """What reached the runtime: ``rows`` rows of exactly the vocabulary's width, in one
    invocation (nothing at all for ``rows == 0``)."""
    features, content_type, endpoint = served
    sent = invocations(stack)
    if rows == 0:
        assert sent == []
        return
    assert len(sent) == 1, sent
    (invocation,) = sent
    assert invocation["endpoint"] == endpoint
    assert invocation["content_type"] == content_type
    assert invocation["rows"] == rows
    if content_type == "text/csv":  # dense: every row has every column
        assert invocation["widths"] == [features] * rows
    else:  # libsvm: the highest 1-based index present, never past the last column
        assert all(1 <= width <= features for width in invocation["widths"]), invocation
    assert invocation["status"] == 200


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
    check_sent(local_stack, served, 1)


@pytest.mark.parametrize("name", sorted(ALL_REVIEWS))
def test_review_through_batch(local_stack: LocalStack, served: Any, name: str) -> None:
    body = json.dumps({"reviews": [ALL_REVIEWS[name], "", ALL_REVIEWS[name]]}).encode()
    answer = send(local_stack, "batch", body, JSON)
    assert answer.status == 200
    results = answer.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2]
    assert results[1]["status"] == 400 and "sentiment" not in results[1]
    assert results[0]["sentiment"] == results[2]["sentiment"]
    check_sent(local_stack, served, 2)


def test_the_whole_corpus_in_one_batch(local_stack: LocalStack, served: Any) -> None:
    reviews = [ALL_REVIEWS[name] for name in sorted(ALL_REVIEWS)][:25]
    answer = send(local_stack, "batch", json.dumps({"reviews": reviews}).encode(), JSON)
    assert answer.status == 200
    assert all("sentiment" in r for r in answer.json()["results"])
    check_sent(local_stack, served, len(reviews))


@pytest.mark.parametrize(
    ("name", "body", "content_type", "status"), RAW, ids=[case[0] for case in RAW]
)
def test_raw_text_bodies(
    local_stack: LocalStack,
    served: Any,
    name: str,
    body: bytes,
    content_type: str | None,
    status: int,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    for path in ("", "predict"):
        answer = send(local_stack, path, body, headers)
        assert answer.status == status, answer.body[:300]
        check_sent(local_stack, served, 1 if status == 200 else 0)


@pytest.mark.parametrize(("name", "body", "status"), JSON_BODIES, ids=[c[0] for c in JSON_BODIES])
def test_json_shapes(
    local_stack: LocalStack, served: Any, name: str, body: bytes, status: int
) -> None:
    for path in ("", "predict"):
        answer = send(local_stack, path, body, JSON)
        assert answer.status == status, answer.body[:300]
        check_sent(local_stack, served, 1 if status == 200 else 0)


def test_duplicate_keys_take_the_last_like_json_parse(local_stack: LocalStack) -> None:
    last = send(local_stack, "predict", b'{"review": "awful", "review": "great"}', JSON).json()
    great = send(local_stack, "predict", b'{"review": "great"}', JSON).json()
    assert last["probability"] == great["probability"]


@pytest.mark.parametrize(("name", "body", "status"), BATCH_BODIES, ids=[c[0] for c in BATCH_BODIES])
def test_batch_shapes(
    local_stack: LocalStack, served: Any, name: str, body: bytes, status: int
) -> None:
    answer = send(local_stack, "batch", body, JSON)
    assert answer.status == status, answer.body[:300]
    if status != 200:
        check_sent(local_stack, served, 0)
        return
    reviews = json.loads(body)["reviews"]
    valid = [r for r in reviews if isinstance(r, str) and r.strip() and len(r) <= LIMIT]
    results = answer.json()["results"]
    assert len(results) == len(reviews)
    assert [("sentiment" in r) for r in results] == [r in valid for r in reviews]
    check_sent(local_stack, served, len(valid))


@pytest.mark.parametrize(
    "content_type", ["text/plain", None, "application/x-www-form-urlencoded", "text/csv"]
)
def test_batch_wants_json(local_stack: LocalStack, served: Any, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    answer = send(local_stack, "batch", b'{"reviews": ["great"]}', headers)
    assert answer.status == 415
    check_sent(local_stack, served, 0)


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
    for name in NO_KNOWN_TERM:
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
