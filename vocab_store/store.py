"""The vocabulary in S3: immutable uploads, validated promotion, cached loading.

Layout in the bucket (prefixes are settings):

- ``vocab/incoming/<version>-<fingerprint>.json``: every published vocabulary, never
  overwritten (conditional ``PutObject`` with ``If-None-Match: *``). The S3 trigger watches
  this prefix.
- ``vocab/current.json``: the pointer naming the live vocabulary. It lives outside the
  watched prefix, so promoting never triggers the handler again, and it is only ever
  replaced by a newer version (conditional write on the pointer's ETag).

This module is imported only where S3 is used (not by ``import vocab_store``). The S3
client is always passed in: the Lambda's wiring and the commands build their own, with their
own timeouts.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotoConnectionError

from vocab_store.encode import Encoder
from vocab_store.errors import (
    InvalidVocabulary,
    StoreError,
    StoreUnavailable,
    StoreUnreachable,
    VocabularyNotFound,
)
from vocab_store.layout import INCOMING_PREFIX, POINTER_KEY
from vocab_store.vocabulary import Vocabulary, loads

log = logging.getLogger(__name__)

# Everything botocore raises: service errors and connection/timeout failures.
_AWS_ERRORS = (ClientError, BotoCoreError)
# No answer from S3 at all (refused, unknown host, connect or read timeout).
_UNREACHABLE = (BotoConnectionError, ReadTimeoutError)

POINTER_FORMAT = "sentiment-api.pointer/1"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Pointer:
    """What ``current.json`` says: which vocabulary is live."""

    key: str
    version: int
    fingerprint: str
    promoted_at: str
    etag: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": POINTER_FORMAT,
                "key": self.key,
                "version": self.version,
                "fingerprint": self.fingerprint,
                "promoted_at": self.promoted_at,
            }
        )

    @classmethod
    def parse(cls, blob: bytes, etag: str | None) -> Pointer:
        try:
            data = json.loads(blob)
        except ValueError as exc:
            raise StoreError("the vocabulary pointer is not valid JSON") from exc
        if not isinstance(data, dict) or data.get("format") != POINTER_FORMAT:
            raise StoreError("the vocabulary pointer has an unknown format")
        key, version, fp = data.get("key"), data.get("version"), data.get("fingerprint")
        if not isinstance(key, str) or not isinstance(version, int) or not isinstance(fp, str):
            raise StoreError("the vocabulary pointer is missing key, version or fingerprint")
        return cls(key, version, fp, str(data.get("promoted_at", "")), etag)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _translate(exc: Exception, what: str) -> StoreError:
    code = _error_code(exc)
    if code in ("NoSuchKey", "404", "NotFound", "NoSuchBucket"):
        return VocabularyNotFound(f"{what}: not found")
    if isinstance(exc, _UNREACHABLE):
        # No answer at all: name the address tried, so a wrong endpoint shows in one line.
        url = getattr(exc, "kwargs", {}).get("endpoint_url") or "its endpoint"
        return StoreUnreachable(f"{what}: S3 at {url} could not be reached ({type(exc).__name__})")
    return StoreUnavailable(f"{what}: S3 failed ({code or type(exc).__name__})")


class VocabularyStore:
    """Publishing, reading and promoting vocabularies in one bucket."""

    def __init__(
        self,
        bucket: str,
        *,
        incoming_prefix: str = INCOMING_PREFIX,
        pointer_key: str = POINTER_KEY,
        max_bytes: int = DEFAULT_MAX_BYTES,
        s3_client: Any,
    ) -> None:
        if not bucket:
            raise StoreError("no bucket configured for the vocabulary store")
        if pointer_key.startswith(incoming_prefix):
            raise StoreError("the pointer must live outside the watched incoming prefix")
        self.bucket = bucket
        self.incoming_prefix = incoming_prefix
        self.pointer_key = pointer_key
        self.max_bytes = max_bytes
        self.client = s3_client

    def key_for(self, vocabulary: Vocabulary) -> str:
        return f"{self.incoming_prefix}{vocabulary.version:020d}-{vocabulary.fingerprint[:16]}.json"

    def is_incoming(self, key: str) -> bool:
        return key.startswith(self.incoming_prefix) and key.endswith(".json")

    def publish(self, vocabulary: Vocabulary) -> str:
        """Upload ``vocabulary`` under the watched prefix and return its key.

        Uploads are immutable: publishing the same version and contents twice is a no-op,
        and a different object is never written over an existing key.
        """
        key = self.key_for(vocabulary)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=vocabulary.to_json().encode("utf-8"),
                ContentType="application/json",
                IfNoneMatch="*",
            )
        except _AWS_ERRORS as exc:
            if _error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                log.info("vocabulary %s already published", key)
                return key
            raise _translate(exc, f"publishing {key}") from exc
        return key

    def read(self, key: str) -> Vocabulary:
        """Read and validate the vocabulary at ``key``; refuses objects over ``max_bytes``
        before downloading them."""
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=key)
        except _AWS_ERRORS as exc:
            raise _translate(exc, f"reading {key}") from exc
        size = obj.get("ContentLength", 0)
        if size > self.max_bytes:
            obj["Body"].close()
            raise InvalidVocabulary(
                f"vocabulary is {size} bytes, over the {self.max_bytes}-byte limit"
            )
        try:
            blob = obj["Body"].read(self.max_bytes + 1)
        except _AWS_ERRORS as exc:
            raise _translate(exc, f"reading {key}") from exc
        return loads(blob, max_bytes=self.max_bytes)

    def pointer(self, etag: str | None = None) -> Pointer | None:
        """The current pointer, or ``None`` when it is unchanged since ``etag`` (a
        conditional GET: S3 answers 304 Not Modified). Raises :class:`VocabularyNotFound`
        when nothing has been promoted yet."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self.pointer_key}
        if etag:
            kwargs["IfNoneMatch"] = etag
        try:
            obj = self.client.get_object(**kwargs)
            blob = obj["Body"].read(64 * 1024)
        except _AWS_ERRORS as exc:
            if etag and _error_code(exc) in ("304", "NotModified"):
                return None
            raise _translate(exc, "reading the vocabulary pointer") from exc
        return Pointer.parse(blob, obj.get("ETag"))

    def current_pointer(self) -> Pointer | None:
        """The pointer, or ``None`` when nothing has been promoted yet."""
        try:
            return self.pointer()
        except VocabularyNotFound:
            return None

    def promote(self, key: str, vocabulary: Vocabulary, *, attempts: int = 5) -> bool:
        """Make ``vocabulary`` (stored at ``key``) live if it is newer than the live one.

        Returns whether the pointer changed. Safe against duplicate and out-of-order events
        and against two handlers racing: the pointer is written conditionally on the ETag it
        was read with, and re-read on conflict.
        """
        for _ in range(attempts):
            current = self.current_pointer()
            if current is not None and current.version >= vocabulary.version:
                log.info(
                    "not promoting %s: version %d is not newer than live version %d",
                    key,
                    vocabulary.version,
                    current.version,
                )
                return False
            new = Pointer(key, vocabulary.version, vocabulary.fingerprint, _now())
            condition = (
                {"IfMatch": current.etag} if current and current.etag else {"IfNoneMatch": "*"}
            )
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=self.pointer_key,
                    Body=new.to_json().encode("utf-8"),
                    ContentType="application/json",
                    **condition,
                )
            except _AWS_ERRORS as exc:
                if _error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                    continue  # someone else wrote the pointer meanwhile: read it again
                raise _translate(exc, "writing the vocabulary pointer") from exc
            return True
        raise StoreUnavailable("the vocabulary pointer kept changing; gave up promoting")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Live:
    """The vocabulary being served, with its encoder and where it came from."""

    vocabulary: Vocabulary
    encoder: Encoder
    pointer: Pointer
    loaded_at: float


class CachedVocabulary:
    """The live vocabulary for the API, refreshed from S3 after ``max_age`` seconds.

    - First use loads the pointer and the vocabulary it names.
    - After ``max_age`` (with up to ``jitter`` of it added, so a fleet of Lambdas does not
      revalidate in step) the pointer is revalidated with a conditional GET; the vocabulary
      is downloaded again only when the pointer changed.
    - When S3 fails during a refresh, the last good vocabulary keeps serving
      (stale-if-error) and the next attempt waits ``retry_after`` seconds.
    - Thread-safe: one thread refreshes while the others keep serving the current value.
    """

    def __init__(
        self,
        store: VocabularyStore,
        *,
        max_age: float = 30.0,
        jitter: float = 0.2,
        retry_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.max_age = max_age
        self.jitter = jitter
        self.retry_after = retry_after
        self._clock = clock
        self._rng = rng
        self._live: Live | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    @property
    def live(self) -> Live | None:
        """The value being served, without refreshing (may be ``None``)."""
        return self._live

    def clear(self) -> None:
        with self._lock:
            self._live = None
            self._expires = 0.0

    def get(self, *, force: bool = False) -> Live:
        """The live vocabulary, refreshed if it is older than its max age.

        Raises :class:`VocabularyNotFound` or :class:`StoreUnavailable` only when there is
        no vocabulary to serve at all.
        """
        live = self._live
        if live is not None and not force and self._clock() < self._expires:
            return live
        if live is not None and not force:
            # Someone else is refreshing: keep serving what we have rather than queueing.
            if not self._lock.acquire(blocking=False):
                return live
        else:
            self._lock.acquire()
        try:
            live = self._live
            if live is not None and not force and self._clock() < self._expires:
                return live
            return self._refresh(live)
        finally:
            self._lock.release()

    def _refresh(self, live: Live | None) -> Live:
        now = self._clock()
        try:
            pointer = self.store.pointer(etag=live.pointer.etag if live else None)
            if pointer is not None and (live is None or pointer.key != live.pointer.key):
                vocabulary = self.store.read(pointer.key)
                if vocabulary.fingerprint != pointer.fingerprint:
                    raise InvalidVocabulary("the promoted vocabulary does not match its pointer")
                live = Live(vocabulary, Encoder(vocabulary), pointer, now)
                log.info("vocabulary version %d is live", vocabulary.version)
            elif pointer is not None and live is not None:
                live = Live(live.vocabulary, live.encoder, pointer, live.loaded_at)
        except (StoreError, InvalidVocabulary) as exc:
            if live is None:
                raise
            log.warning(
                "vocabulary refresh failed, serving version %d: %s", live.vocabulary.version, exc
            )
            self._expires = now + self.retry_after
            return live
        assert live is not None
        self._live = live
        self._expires = now + self.max_age * (1.0 + self.jitter * self._rng())
        return live
