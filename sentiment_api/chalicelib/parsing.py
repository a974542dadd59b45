"""Request bodies to reviews: content types, charsets, size limits, JSON shapes.

Pure functions on bytes and header values, so they are tested without a server.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import (
    ApiError,
    BadJson,
    EmptyReview,
    NotUtf8,
    PayloadTooLarge,
    UnsupportedMediaType,
)

TEXT = "text/plain"
JSON = "application/json"
MAX_BATCH = 25
# The size limit is on each review's UTF-8 bytes, after decoding. A text/plain body is the
# review itself, so it has exactly that limit. A JSON body gets a looser cap, only so that
# nothing unbounded is parsed: JSON's escapes take at most 6 bytes per UTF-8 byte (\u0000 for
# a control character), so any review under the limit fits however it is escaped.
ESCAPE_FACTOR = 6
BODY_SLACK = 1024
# Lambda takes at most 6 MB per invocation, and API Gateway puts the body into its event as
# a JSON string, escaping every quote and backslash once more: a body of quotes doubles.
LAMBDA_PAYLOAD = 6 * 1024 * 1024
EVENT_OVERHEAD = 64 * 1024
LAMBDA_BODY_LIMIT = (LAMBDA_PAYLOAD - EVENT_OVERHEAD) // 2


@dataclass(frozen=True)
class MediaType:
    type: str
    charset: str | None


def media_type(header: str | None) -> MediaType:
    """``text/plain; charset=UTF-8`` to ``MediaType("text/plain", "utf-8")``. A missing
    header is taken as text/plain, what a bare XHR with a string body sends."""
    if not header or not header.strip():
        return MediaType(TEXT, None)
    main, *params = header.split(";")
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower() or None
    return MediaType(main.strip().lower(), charset)


# Text bodies must be UTF-8, on AWS and locally alike: API Gateway hands a text body to
# Lambda as a UTF-8 string whatever charset the request declares, so honouring another
# charset locally would answer differently from AWS. US-ASCII is a subset of UTF-8.
UTF8_CHARSETS = frozenset({"utf-8", "ascii"})
BOM = "\ufeff"


def _decode(body: bytes, charset: str | None) -> str:
    _check_charset(charset)
    return _utf8(body)


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotUtf8() from exc


def _check_charset(charset: str | None) -> None:
    if charset:
        try:
            name = codecs.lookup(charset).name
        except (LookupError, ValueError):  # ValueError: a NUL in the name
            name = ""
        if name not in UTF8_CHARSETS:
            raise UnsupportedMediaType(
                "Only UTF-8 text is accepted; send the body as UTF-8 with charset=utf-8."
            )


def _check_review(review: str) -> str:
    if not review.strip():
        raise EmptyReview()
    return review


def review_field(review: object, max_bytes: int) -> str:
    """A review taken from a JSON body: a non-blank string of at most ``max_bytes`` UTF-8
    bytes (the limits and errors of every route that takes a review)."""
    if not isinstance(review, str):
        raise BadJson('The "review" field must be the text of the review.')
    if _utf8_size(review) > max_bytes:
        raise _too_large(max_bytes)
    return _check_review(review)


def json_body(body: bytes, content_type: str | None, max_bytes: int, shape: str) -> Any:
    """The parsed JSON of a body that carries one review of at most ``max_bytes``; anything
    but ``application/json`` is a 415 naming ``shape``, the body the route expects."""
    media = media_type(content_type)
    if media.type != JSON:
        raise UnsupportedMediaType(f"Send application/json: {shape}.")
    _check_body_size(body, body_limit(max_bytes), _one_review(max_bytes))
    return _json(body, media.charset)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The review is too long; the limit is {limit} bytes.")


def _one_review(max_bytes: int) -> str:
    return f"a review may be at most {max_bytes} bytes"


@dataclass(frozen=True)
class PredictRequest:
    review: str
    wants_json: bool


def body_limit(max_bytes: int) -> int:
    """The raw body cap for one review of at most ``max_bytes`` UTF-8 bytes."""
    return ESCAPE_FACTOR * max_bytes + BODY_SLACK


def batch_body_limit(max_bytes: int) -> int:
    """The raw body cap for a batch: :data:`MAX_BATCH` reviews, within Lambda's payload."""
    return min(MAX_BATCH * (ESCAPE_FACTOR * max_bytes + 16) + BODY_SLACK, LAMBDA_BODY_LIMIT)


def _utf8_size(review: str) -> int:
    # surrogatepass: a lone surrogate (valid in JSON) counts as its three bytes.
    return len(review.encode("utf-8", "surrogatepass"))


def predict_request(body: bytes, content_type: str | None, max_bytes: int) -> PredictRequest:
    """A single review, from a text/plain body or a JSON ``{"review": ...}`` body, of at
    most ``max_bytes`` UTF-8 bytes once decoded."""
    media = media_type(content_type)
    if media.type not in (TEXT, JSON):
        raise UnsupportedMediaType()
    if media.type == TEXT:
        _check_charset(media.charset)
        if len(body) > max_bytes:  # the body is the review: said as the review's limit
            raise _too_large(max_bytes)
        review = _utf8(body)  # the charset was checked just above
    else:
        _check_body_size(body, body_limit(max_bytes), _one_review(max_bytes))
        review = _review_object(_json(body, media.charset))
    if _utf8_size(review) > max_bytes:
        raise _too_large(max_bytes)
    return PredictRequest(_check_review(review), wants_json=media.type == JSON)


# A field name is echoed in a message only when it is short and plain.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")


def unknown_field(names: set[str], expected: set[str], shape: str) -> BadJson:
    """The 400 for a JSON object with fields other than ``expected``: names one if plain."""
    plain = sorted(n for n in names - expected if _PLAIN_NAME.fullmatch(n))
    name = f'"{plain[0]}"' if plain else "an unknown field"
    return BadJson(f"The JSON body has {name}; it must be {shape} and nothing else.")


def _review_object(data: Any) -> Any:
    """The ``review`` of a ``{"review": ...}`` object, or the 400 that says what is wrong."""
    if not isinstance(data, dict):
        raise BadJson()
    if "reviews" in data and "review" not in data:
        raise BadJson('Several reviews go to /batch as {"reviews": [...]}, not to this route.')
    if set(data) != {"review"}:
        raise unknown_field(set(data), {"review"}, '{"review": "text of the review"}')
    if not isinstance(data["review"], str):
        raise BadJson('The "review" field must be the text of the review.')
    return data["review"]


def batch_request(body: bytes, content_type: str | None, max_bytes: int) -> list[str | ApiError]:
    """Up to :data:`MAX_BATCH` reviews from ``{"reviews": [...]}``; an item that is not a
    usable review (or over ``max_bytes`` UTF-8 bytes) becomes its error, so the others still
    get answers."""
    media = media_type(content_type)
    if media.type != JSON:
        raise UnsupportedMediaType('Send the batch as application/json: {"reviews": [...]}.')
    _check_body_size(
        body,
        batch_body_limit(max_bytes),
        f"a batch is at most {MAX_BATCH} reviews of at most {max_bytes} bytes each",
    )
    data = _json(body, media.charset)
    if isinstance(data, dict) and "review" in data and "reviews" not in data:
        raise BadJson(
            'One review goes to /predict as {"review": "text"}; this route takes'
            ' {"reviews": [...]}.'
        )
    reviews = data.get("reviews") if isinstance(data, dict) and set(data) == {"reviews"} else None
    if not isinstance(reviews, list) or not 1 <= len(reviews) <= MAX_BATCH:
        raise BadJson(
            f'The JSON body must be {{"reviews": [...]}} with 1 to {MAX_BATCH} review strings.'
        )
    items: list[str | ApiError] = []
    for index, review in enumerate(reviews):
        # Each sentence names its item (the answer's index); the codes are the single
        # review's: a wrong shape is BadJson, as it is for {"review": 7}.
        item = f"Review {index}"
        if not isinstance(review, str):
            items.append(BadJson(f"{item} is not a string; send each review as its text."))
        elif _utf8_size(review) > max_bytes:
            items.append(PayloadTooLarge(f"{item} is too long; the limit is {max_bytes} bytes."))
        elif not review.strip():
            items.append(EmptyReview(f"{item} is empty; send the review's text."))
        else:
            items.append(review)
    return items


def _check_body_size(body: bytes, limit: int, rule: str) -> None:
    """A 413 for a JSON body over ``limit`` raw bytes; its sentence leads with ``rule``,
    the limit a sender acts on, since the raw cap only allows for escapes."""
    if len(body) > limit:
        raise PayloadTooLarge(
            f"The request body is too large: {rule} (at most {limit} bytes of JSON)."
        )


def _json(body: bytes, charset: str | None) -> Any:
    # A byte order mark is allowed before JSON text (RFC 8259 lets a parser ignore it).
    text = _decode(body, charset).removeprefix(BOM)
    if not text.strip():
        raise EmptyReview()
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadJson("The request body is not valid JSON.") from exc
    except RecursionError as exc:  # nesting deeper than the parser's recursion limit
        raise BadJson("The request body is nested too deeply.") from exc
