"""The HTTP contract as one table: a request (method, path, headers, body) and what its
answer must be (status, body, headers). ``test_contract.py`` runs every case three ways:
chalice's test client, API Gateway proxy events through the Lambda handler, and the running
local stack over real HTTP.

Every answer, whatever the case (the checks are in ``answers.py``): CORS for any origin and
never with credentials or a cookie; its request's ``X-Prediction-Id`` (a UUIDv7; a JSON
verdict's ``prediction_id``); an error is ``{"error", "message"}`` with one sentence that
names no internals (no traceback, exception name, ARN, address, path or key); a
``text/plain`` verdict is ``0`` or ``1``; a JSON verdict is a ``sentiment`` of 0 or 1 with
its label (positive, negative, uncertain) and probability; and it is what
docs/openapi.yaml says.

``rows`` says what must reach the SageMaker runtime: that many rows, in one invocation, each
exactly the live vocabulary's width, or nothing at all (0) when the request is refused (a
JSON verdict's sentence rows, when it explains itself, may follow in the same call).
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

LIMIT = 100_000  # SENTIMENT_MAX_REVIEW_BYTES: the test stage's and the local stage's default
ORIGIN = "http://evil.example"
TEXT = "text/plain;charset=UTF-8"
JSON = "application/json"
REVIEW = "A wonderful film, superb acting, the best of the year."
TOO_LONG = re.escape(f"The review is too long; the limit is {LIMIT} bytes.")
# A JSON body over its raw cap (room for any review under LIMIT, however escaped): the
# sentence leads with the review's limit, the one a sender acts on.
BODY_TOO_LARGE = (
    re.escape(f"The request body is too large: a review may be at most {LIMIT} ") + ".*"
)

# A UUIDv7 (RFC 9562), as the API issues prediction ids.
UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def uuid7(seconds_from_now: float) -> str:
    """A UUIDv7 for a moment ``seconds_from_now`` (negative: in the past)."""
    ms = int((time.time() + seconds_from_now) * 1000)
    random_a, random_b = secrets.randbits(12), secrets.randbits(62)
    return str(uuid.UUID(int=(ms << 80) | (7 << 76) | (random_a << 64) | (2 << 62) | random_b))


@dataclass(frozen=True)
class Case:
    """One request and what its answer must be.

    ``content_type=None`` sends no Content-Type header at all. ``answer`` is ``"text"``,
    ``"json"``, ``"batch"``, ``"feedback"``, ``"health"`` or ``"error"``; ``message`` is a regular
    expression the error's whole message must match; ``allow`` the 405's Allow header;
    ``items`` a batch's per-review outcome (True: a verdict, False: an error).
    """

    id: str
    method: str
    path: str
    content_type: str | None
    body: bytes | None
    status: int
    answer: str = "error"
    rows: int | None = None
    message: str | None = None
    allow: str | None = None
    error: str | None = None
    items: tuple[bool, ...] | None = None

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Origin": ORIGIN}
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        return headers

    @property
    def explained(self) -> bool:
        """Whether the answer may explain itself: a JSON verdict's sentence rows then follow
        its review's row in the same call (when the vocabulary carries the model's weights)."""
        return self.answer in ("json", "batch")

    @property
    def needs_model(self) -> bool:
        """Whether the answer needs a live vocabulary and an endpoint that answers (or, for
        feedback, the bucket)."""
        return self.status in (200, 201)


def _verdict_answer(path: str, content_type: str | None) -> str:
    wants_json = (content_type or "").lower().startswith(JSON)
    return "json" if wants_json else "text"


def post(
    id: str,
    path: str,
    content_type: str | None,
    body: bytes,
    status: int,
    **expected: Any,
) -> Case:
    """A POST to a predict route: a verdict (in the form the request asked for) and one row
    sent when ``status`` is 200, an error and nothing sent otherwise."""
    answer = _verdict_answer(path, content_type) if status == 200 else "error"
    rows = 1 if status == 200 else 0
    return Case(id, "POST", path, content_type, body, status, answer, rows, **expected)


def batch(id: str, content_type: str | None, body: bytes, status: int, **expected: Any) -> Case:
    """A POST to /batch: per-review answers (computed from the body as the API must) when
    ``status`` is 200, an error and nothing sent otherwise."""
    if status != 200:
        return Case(id, "POST", "/batch", content_type, body, status, "error", 0, **expected)
    reviews = json.loads(body)["reviews"]
    items = tuple(_valid(review) for review in reviews)
    return Case(id, "POST", "/batch", content_type, body, 200, "batch", sum(items), items=items)


def _valid(review: Any) -> bool:
    return isinstance(review, str) and bool(review.strip()) and len(review.encode()) <= LIMIT


def _both(cases: Iterable[tuple[str, str | None, bytes, int]], **expected: Any) -> list[Case]:
    """Each case on ``/`` and on ``/predict``: the two routes are one contract."""
    return [
        post(f"{path.strip('/') or 'index'}-{name}", path, content_type, body, status, **expected)
        for name, content_type, body, status in cases
        for path in ("/", "/predict")
    ]


# -- text/plain and other bodies for / and /predict ------------------------------------------

LATIN_1 = "Superb, caf\u00e9 na\u00efve".encode("latin-1")

RAW: list[tuple[str, str | None, bytes, int]] = [
    ("empty", TEXT, b"", 400),
    ("empty-plain", "text/plain", b"", 400),
    ("blank", TEXT, b"  \n\t ", 400),
    ("whitespace", "text/plain", " \t\r\n\u00a0\u2003\u3000".encode(), 400),
    ("bad-bytes", TEXT, b"\xff\xfe bad bytes", 400),
    ("bad-bytes-only", "text/plain", b"\xff\xfe", 400),
    ("invalid-utf8", "text/plain", b"great \xff\xfe film", 400),
    ("truncated-utf8", "text/plain; charset=utf-8", b"good film \xe2\x82", 400),
    ("overlong-utf8", "text/plain", b"\xc0\xaf\xe0\x80\xaf", 400),
    ("surrogate-bytes", "text/plain", "great \ud800 film".encode("utf-8", "surrogatepass"), 400),
    ("one-megabyte", "text/plain", b"great movie " * 87_382, 413),
    ("one-byte-over", "text/plain", b"x" * (LIMIT + 1), 413),
    ("at-the-limit", "text/plain", b"great " * (LIMIT // 6) + b"x" * (LIMIT % 6), 200),
    # Text is UTF-8 (or its subset US-ASCII) only, as on AWS, where API Gateway hands text
    # bodies to Lambda as UTF-8 whatever the charset says (docs/reliability.md).
    ("latin-1", "text/plain; charset=latin-1", LATIN_1, 415),
    ("utf-16", "text/plain; charset=utf-16", "great film".encode("utf-16"), 415),
    ("utf-16-odd-bytes", "text/plain; charset=utf-16", b"\xff\xfeg\x00r\x00e", 415),
    ("over-the-limit-latin-1", "text/plain; charset=latin-1", LATIN_1 * 20_000, 415),
    ("us-ascii", "text/plain; charset=us-ascii", b"great film", 200),
    ("unknown-charset", "text/plain; charset=klingon", b"great", 415),
    ("codec-not-a-charset", "text/plain; charset=rot13", b"great", 415),
    ("binary-codec", "text/plain; charset=base64", b"Z3JlYXQ=", 415),
    ("undefined-charset", "text/plain; charset=undefined", b"great", 415),
    ("nul-in-charset", "text/plain; charset=utf\x00-8", b"good", 415),
    ("no-content-type", None, b"great film", 200),
    ("shouting-content-type", "TEXT/PLAIN; CHARSET=UTF-8", b"great film", 200),
    ("messy-content-type", 'text/plain;;; charset="utf-8"; x=y', b"great film", 200),
    ("utf-8-text", TEXT, REVIEW.encode(), 200),
    ("xml", "application/xml", b"<review/>", 415),
    ("html", "text/html", b"<p>great</p>", 415),
    ("png", "image/png", b"\x89PNG", 415),
    ("form", "application/x-www-form-urlencoded", b"review=great", 415),
    ("multipart", "multipart/form-data; boundary=x", b"--x\r\n\r\ngreat\r\n--x--", 415),
]

# JSON bodies for / and /predict.
JSON_BODIES: list[tuple[str, str | None, bytes, int]] = [
    (f"json-{name}", JSON, body, status)
    for name, body, status in [
        ("that-is-text", b"great film", 400),
        ("array", b"[]", 400),
        ("array-of-review", b'["review"]', 400),
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
        ("text-field", b'{"text": "wrong key"}', 400),
        ("batch-shape", b'{"reviews": ["great"]}', 400),
        ("nested-deep", b"[" * 20_000 + b"]" * 20_000, 400),
        ("nested-deeper", b"[" * 50_000 + b"]" * 50_000, 400),
        ("nested-object-deep", b'{"review": ' * 5_000 + b'"x"' + b"}" * 5_000, 400),
        ("not-json", b"{review: great}", 400),
        ("not-json-brace", b"{not json", 400),
        ("trailing-garbage", b'{"review": "great"} {}', 400),
        ("byte-order-mark", b'\xef\xbb\xbf{"review": "great"}', 200),
        ("invalid-utf8", b'{"review": "great \xff film"}', 400),
        # Duplicate names: the last one wins, as in the browser's JSON.parse.
        ("duplicate-keys", b'{"review": "awful", "review": "great"}', 200),
        ("escaped", b'{"review": "\\u0067reat \\"film\\" \\/ \\\\ \\u0000"}', 200),
        ("review", json.dumps({"review": REVIEW}).encode(), 200),
    ]
]

# The limit is on the review's UTF-8 bytes once decoded, whatever the encoding of the body.
OVER_THE_LIMIT = "\u00e9" * (LIMIT // 2 + 1)  # 100,002 UTF-8 bytes
TOO_LONG_BODIES: list[tuple[str, str | None, bytes, int]] = [
    ("over-json-escaped", JSON, json.dumps({"review": OVER_THE_LIMIT}).encode(), 413),
    (
        "over-json-raw",
        JSON,
        json.dumps({"review": OVER_THE_LIMIT}, ensure_ascii=False).encode(),
        413,
    ),
    ("over-utf-8", TEXT, OVER_THE_LIMIT.encode(), 413),
    # A text body is the review itself: however large, its 413 names the review's limit.
    ("far-over-text", TEXT, b"great " * 200_000, 413),
]
JSON_TOO_LARGE: list[tuple[str, str | None, bytes, int]] = [
    ("body-too-large", JSON, json.dumps({"review": "great " * 200_000}).encode(), 413),
]

# -- /batch ----------------------------------------------------------------------------------

BATCH: list[Case] = [
    batch(f"batch-{name}", JSON, body, status)
    for name, body, status in [
        ("array", b"[]", 400),
        ("null", b"null", 400),
        ("number", b"7", 400),
        ("empty-list", b'{"reviews": []}', 400),
        ("list-of-26", json.dumps({"reviews": ["great"] * 26}).encode(), 400),
        ("reviews-string", b'{"reviews": "great"}', 400),
        ("reviews-not-a-list", b'{"reviews": "not a list"}', 400),
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
        ("some-blank", json.dumps({"reviews": ["Awful plot.", "  ", REVIEW]}).encode(), 200),
    ]
] + [
    batch(f"batch-wants-json-{name}", content_type, b'{"reviews": ["great"]}', 415)
    for name, content_type in [
        ("text", "text/plain"),
        ("none", None),
        ("form", "application/x-www-form-urlencoded"),
        ("csv", "text/csv"),
    ]
]

# -- /feedback -------------------------------------------------------------------------------

# Issued a minute ago (an id may not come from the future), new each session: stored once.
FEEDBACK_ID = uuid7(-60)


def feedback(
    id: str, content_type: str | None, fields: dict[str, Any], status: int, **expected: Any
) -> Case:
    """A POST to /feedback: stored (201) or refused; never anything sent to the model."""
    body = json.dumps(fields).encode()
    answer = "feedback" if status == 201 else "error"
    return Case(
        f"feedback-{id}", "POST", "/feedback", content_type, body, status, answer, 0, **expected
    )


GOOD_FEEDBACK = {"prediction_id": FEEDBACK_ID, "review": REVIEW, "label": "positive"}
FEEDBACK: list[Case] = [
    feedback("stored", JSON, GOOD_FEEDBACK, 201),
    feedback("as-text", "text/plain", GOOD_FEEDBACK, 415),
    feedback("bad-label", JSON, {**GOOD_FEEDBACK, "label": "uncertain"}, 400),
    feedback("not-an-id", JSON, {**GOOD_FEEDBACK, "prediction_id": "not-an-id"}, 400),
    feedback("uuid4", JSON, {**GOOD_FEEDBACK, "prediction_id": str(uuid.uuid4())}, 400),
    # Only the id's form and date are checked (no server state): the message says so.
    feedback(
        "future-id",
        JSON,
        {**GOOD_FEEDBACK, "prediction_id": uuid7(3600)},
        400,
        message=r".*a UUIDv7 not dated in the future.*",
    ),
    feedback("no-label", JSON, {k: v for k, v in GOOD_FEEDBACK.items() if k != "label"}, 400),
    feedback(
        "extra-field",
        JSON,
        {**GOOD_FEEDBACK, "user": "x"},
        400,
        message=r'The JSON body has "user"; .*',
    ),
    feedback("empty-review", JSON, {**GOOD_FEEDBACK, "review": "  "}, 400),
    feedback("review-too-long", JSON, {**GOOD_FEEDBACK, "review": OVER_THE_LIMIT}, 413),
]

# -- methods ---------------------------------------------------------------------------------

# HEAD too: chalice's own 405 had no CORS header and no prediction id (its answer has no body
# over HTTP, the headers say it all).
NOT_POST = ("GET", "HEAD", "PUT", "PATCH", "DELETE")
NOT_GET = ("HEAD", "POST", "PUT", "PATCH", "DELETE")
POST = "POST, OPTIONS"  # what the Allow header says: what the preflight allows
GET = "GET, OPTIONS"


def _not_allowed(
    path: str, method: str, allow: str, content_type: str | None, body: bytes | None
) -> Case:
    """A method the route does not serve: the app's 405, with the methods it does serve
    (what the preflight allows) in Allow and a sentence naming the first."""
    kind = "json" if content_type == JSON else "text" if content_type else "bare"
    return Case(
        f"{path.strip('/') or 'index'}-{method.lower()}-{kind}",
        method,
        path,
        content_type,
        body,
        405,
        rows=0,
        allow=allow,
        error="MethodNotAllowed",
        message=f"Use {allow.split(',')[0]} .*",
    )


# Every other method gets the app's own 405, whatever it carries: a body and a content type
# a predict route takes, a JSON body, or nothing at all.
NOT_ALLOWED: list[Case] = [
    *[
        _not_allowed(path, method, POST, TEXT, REVIEW.encode())
        for path in ("/", "/predict", "/batch", "/feedback")
        for method in NOT_POST
    ],
    *[_not_allowed("/health", method, GET, TEXT, REVIEW.encode()) for method in NOT_GET],
    *[
        _not_allowed(path, method, allow, JSON, b'{"review": "good"}')
        for path, method, allow in [
            ("/predict", "GET", POST),
            ("/", "PUT", POST),
            ("/batch", "DELETE", POST),
            ("/health", "POST", GET),
        ]
    ],
    _not_allowed("/predict", "GET", POST, None, None),
]

# -- what a 4xx tells the sender to do ---------------------------------------------------------

HINTS: list[Case] = [
    # curl -d sends a form type: the 415 names the header to send.
    *_both(
        [("hint-form", "application/x-www-form-urlencoded", b"great movie", 415)],
        message=r".*Content-Type: text/plain.*",
    ),
    *_both(
        [("hint-extra-field", JSON, b'{"review": "good", "extra": 1}', 400)],
        message=r'The JSON body has "extra"; .*',
    ),
    *_both(
        [("hint-batch", JSON, b'{"reviews": ["good", "bad"]}', 400)],
        message=r"Several reviews go to /batch .*",
    ),
    batch("batch-hint-one-review", JSON, b'{"review": "good"}', 400, message=r".* to /predict .*"),
]

# -- the table -------------------------------------------------------------------------------

CASES: list[Case] = [
    *_both(RAW),
    *_both(JSON_BODIES),
    *_both(TOO_LONG_BODIES, message=TOO_LONG),
    *_both(JSON_TOO_LARGE, message=BODY_TOO_LARGE),
    *BATCH,
    *FEEDBACK,
    *HINTS,
    *NOT_ALLOWED,
    # /health asks the endpoint at most once per instance per 30 s (test_routes.py tests
    # that), so whether this request reaches it depends on the last check: rows unchecked.
    Case("health", "GET", "/health", None, None, 200, "health"),
]


def _ids_are_unique() -> None:
    seen: set[str] = set()
    for case in CASES:
        assert case.id not in seen, case.id
        seen.add(case.id)


_ids_are_unique()
