"""Prediction ids: UUIDv7 (RFC 9562), time-ordered, so an id says when it was issued.

Python 3.11's :mod:`uuid` has no ``uuid7``; the layout is short: 48 bits of Unix time in
milliseconds, the version (7), 12 bits of ``rand_a``, the variant (``10``) and 62 random
bits. Within one millisecond ``rand_a`` counts up from a random start (RFC 9562, 6.2 method
1), so ids issued by one process sort in issue order (past 2,048 ids in one
millisecond it borrows the next). Feedback is filed under the date an
id carries (:func:`issued_at`), which is why a repost of the same id lands on the same key.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime

from chalicelib.errors import BadRequest

_MS_MASK = (1 << 48) - 1
_RAND_A_MAX = (1 << 12) - 1
# Feedback may refer to an id only from the past (clock skew allowed): a stranger cannot file
# it under a date of their choosing in the future.
MAX_SKEW_SECONDS = 300.0

_lock = threading.Lock()
_last_ms = -1
_last_rand_a = 0


class BadPredictionId(BadRequest):
    # Only the form and the date are checked (the API keeps no record of the ids it issued):
    # the message says so rather than claim the id was not issued.
    message = (
        "The prediction_id is not a prediction id of this API (a UUIDv7 not dated in the"
        " future); send the X-Prediction-Id of an answer."
    )


def new_id(now: float | None = None) -> str:
    """A new UUIDv7 string for the time ``now`` (seconds since the epoch; default: now)."""
    global _last_ms, _last_rand_a
    ms = int((time.time() if now is None else now) * 1000) & _MS_MASK
    random_bits = int.from_bytes(os.urandom(10), "big")
    # A new millisecond starts the counter at a random 11-bit value, leaving room to count.
    rand_a = random_bits >> 69
    with _lock:
        if now is None and ms <= _last_ms:
            # The same millisecond (or the clock stepped back): count on from the last id;
            # past the counter's end, borrow the next millisecond.
            if _last_rand_a < _RAND_A_MAX:
                ms, rand_a = _last_ms, _last_rand_a + 1
            else:
                ms = _last_ms + 1
        if now is None:
            _last_ms, _last_rand_a = ms, rand_a
    rand_b = random_bits & ((1 << 62) - 1)
    value = ms << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def issued_at(prediction_id: object, *, now: float | None = None) -> datetime:
    """When ``prediction_id`` was issued (UTC); :class:`BadPredictionId` unless it is a
    UUIDv7 in canonical form from the past."""
    if not isinstance(prediction_id, str) or len(prediction_id) != 36:
        raise BadPredictionId()
    try:
        parsed = uuid.UUID(prediction_id)
    except ValueError as exc:
        raise BadPredictionId() from exc
    if parsed.version != 7 or parsed.variant != uuid.RFC_4122 or str(parsed) != prediction_id:
        raise BadPredictionId()
    seconds = (parsed.int >> 80) / 1000
    if seconds > (time.time() if now is None else now) + MAX_SKEW_SECONDS:
        raise BadPredictionId()
    return datetime.fromtimestamp(seconds, UTC)
