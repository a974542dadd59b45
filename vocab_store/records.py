"""The small documents beside the vocabularies: the live pointer and refresh outcomes.

- The **pointer** names the live vocabulary: an immutable, content-addressed copy of the
  validated document (``vocab/live/<sha256>.json``), its sha256, version and content
  fingerprint, and the upload it came from. Anything the pointer holds is parsed with
  bounds; a pointer that cannot be used (garbage, unknown format, a version out of bounds)
  raises :class:`InvalidPointer`, and the next valid promotion replaces it.
- An **outcome** says what the refresh handler did with one upload (promoted, not newer,
  rejected and why, to be retried), so ``sentiment publish`` can wait for it and say so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeGuard

from vocab_store.errors import StoreError
from vocab_store.vocabulary import MAX_VERSION

POINTER_FORMAT = "sentiment-api.pointer/1"
OUTCOME_FORMAT = "sentiment-api.refresh-outcome/1"
MAX_RECORD_BYTES = 64 * 1024
# What a refresh can do with an upload; "ignored" events are not recorded.
RESULTS = ("promoted", "not-newer", "rejected", "retry")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MAX_KEY = 1024  # S3's own limit on a key's length


class InvalidPointer(StoreError):
    """The pointer exists but cannot be used; the next valid promotion replaces it."""

    def __init__(self, message: str, etag: str | None = None) -> None:
        super().__init__(message)
        self.etag = etag


@dataclass(frozen=True)
class Pointer:
    """What ``current.json`` says: which vocabulary is live. ``sha256`` (of the live key's
    bytes) and ``source`` (the upload it was promoted from) are absent from pointers
    written before promotion copied the document."""

    key: str
    version: int
    fingerprint: str
    promoted_at: str
    etag: str | None = None
    sha256: str | None = None
    source: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": POINTER_FORMAT,
                "key": self.key,
                "version": self.version,
                "fingerprint": self.fingerprint,
                "promoted_at": self.promoted_at,
                "sha256": self.sha256,
                "source": self.source,
            }
        )

    @classmethod
    def parse(cls, blob: bytes, etag: str | None) -> Pointer:
        """The pointer in ``blob``; :class:`InvalidPointer` (carrying ``etag``, so it can be
        replaced conditionally) when anything in it is out of bounds."""
        data = _object(blob, "the vocabulary pointer", lambda m: InvalidPointer(m, etag))
        if data.get("format") != POINTER_FORMAT:
            raise InvalidPointer("the vocabulary pointer has an unknown format", etag)
        key, version, fp = data.get("key"), data.get("version"), data.get("fingerprint")
        if not _is_key(key) or not isinstance(fp, str) or not _SHA256.match(fp):
            raise InvalidPointer("the vocabulary pointer is missing key or fingerprint", etag)
        if not _in_bounds(version):
            raise InvalidPointer(
                f"the vocabulary pointer's version is not an integer in 1..{MAX_VERSION}", etag
            )
        sha, source = data.get("sha256"), data.get("source")
        if sha is not None and (not isinstance(sha, str) or not _SHA256.match(sha)):
            raise InvalidPointer("the vocabulary pointer's sha256 is not a sha256", etag)
        return cls(
            str(key),
            version,
            fp,
            str(data.get("promoted_at", ""))[:64],
            etag,
            sha,
            str(source) if _is_key(source) else None,
        )


@dataclass(frozen=True)
class Outcome:
    """What the refresh handler did with the upload at ``key`` (structured log fields)."""

    key: str
    result: str  # promoted | not-newer | ignored | rejected | retry
    reason: str = ""
    sha256: str | None = None  # of the uploaded bytes, when they could be read
    version: int | None = None

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def to_json(self) -> str:
        return json.dumps({"format": OUTCOME_FORMAT, **self.fields()})

    @classmethod
    def parse(cls, blob: bytes) -> Outcome:
        data = _object(blob, "the refresh outcome", StoreError)
        key, result, reason = data.get("key"), data.get("result"), data.get("reason", "")
        sha, version = data.get("sha256"), data.get("version")
        if data.get("format") != OUTCOME_FORMAT or not _is_key(key) or result not in RESULTS:
            raise StoreError("the refresh outcome has an unknown format")
        return cls(
            str(key),
            str(result),
            str(reason)[:2000],
            sha if isinstance(sha, str) and _SHA256.match(sha) else None,
            version if _in_bounds(version) else None,
        )


def _object(blob: bytes, what: str, error: Callable[[str], StoreError]) -> dict[str, Any]:
    if len(blob) > MAX_RECORD_BYTES:
        raise error(f"{what} is over {MAX_RECORD_BYTES} bytes")
    try:
        data = json.loads(blob)
    except (ValueError, RecursionError) as exc:  # ValueError: also a 4,301-digit number
        raise error(f"{what} is not valid JSON") from exc
    if not isinstance(data, dict):
        raise error(f"{what} is not a JSON object")
    return data


def _is_key(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _MAX_KEY


def _in_bounds(version: Any) -> TypeGuard[int]:
    return (
        isinstance(version, int) and not isinstance(version, bool) and 1 <= version <= MAX_VERSION
    )
