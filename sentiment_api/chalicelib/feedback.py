"""``POST /feedback``: a person says whether an answer was right; kept in S3, once.

The body is ``{"prediction_id", "review", "label": "positive"|"negative"}``, validated with
the limits and errors of every review. Each feedback is one small JSON object at
``<prefix>yyyy/mm/dd/hh/<prediction id>.json``, the date and hour taken from the id itself
(a UUIDv7 carries when it was issued), so a repost of the same id lands on the same key.
The put is conditional (``If-None-Match: *``): the first feedback for an id wins (201), a
repost answers 200 and changes nothing. No trigger watches the prefix, and nothing here
reaches training: a person reviews it with ``sentiment feedback`` first.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chalicelib import ids, parsing
from chalicelib.errors import BadJson, ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

LABELS = ("positive", "negative")
SHAPE = '{"prediction_id": "...", "review": "...", "label": "positive" or "negative"}'
FIELDS = {"prediction_id", "review", "label"}


@dataclass(frozen=True)
class Feedback:
    prediction_id: str
    review: str
    label: str
    issued_at: datetime


def parse(body: bytes, content_type: str | None, max_bytes: int) -> Feedback:
    """The feedback in a request body, or the 4xx that says what is wrong with it."""
    data = parsing.json_body(body, content_type, max_bytes, SHAPE)
    if isinstance(data, dict) and set(data) - FIELDS:
        raise parsing.unknown_field(set(data), FIELDS, SHAPE)
    if not isinstance(data, dict) or set(data) != FIELDS:
        raise BadJson(f"The JSON body must be {SHAPE}.")
    label = data["label"]
    if label not in LABELS:
        raise BadJson('The "label" must be "positive" or "negative".')
    issued = ids.issued_at(data["prediction_id"])
    review = parsing.review_field(data["review"], max_bytes)
    return Feedback(data["prediction_id"], review, str(label), issued)


def key(prefix: str, feedback: Feedback) -> str:
    """Where ``feedback`` is kept: under the hour its prediction was made."""
    return f"{prefix}{feedback.issued_at:%Y/%m/%d/%H}/{feedback.prediction_id}.json"


def document(feedback: Feedback, now: datetime | None = None) -> bytes:
    """The stored object: the feedback and when it came in."""
    received = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return json.dumps(
        {
            "prediction_id": feedback.prediction_id,
            "label": feedback.label,
            "review": feedback.review,
            "received_at": received,
        },
        ensure_ascii=False,
    ).encode("utf-8")


def store(feedback: Feedback, bucket: str, prefix: str, *, s3: S3Client) -> bool:
    """Put ``feedback`` unless its key exists; ``True`` when this call created it."""
    from botocore.exceptions import BotoCoreError, ClientError

    where = key(prefix, feedback)
    try:
        s3.put_object(
            Bucket=bucket,
            Key=where,
            Body=document(feedback),
            ContentType="application/json",
            IfNoneMatch="*",
        )
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("PreconditionFailed", "412"):
            return False
        # 409 ConditionalRequestConflict: another put of this key is in flight; retry.
        log.warning("feedback %s not stored: %s", where, code)
        raise ServiceUnavailable("The feedback could not be saved; please try again.") from exc
    except BotoCoreError as exc:
        log.warning("feedback %s not stored: %s", where, type(exc).__name__)
        raise ServiceUnavailable("The feedback could not be saved; please try again.") from exc
    return True
