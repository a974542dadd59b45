"""The vocabulary in S3: immutable uploads, validated promotion, cached loading.

Layout in the bucket (:mod:`vocab_store.layout`; the first two are settings):

- ``vocab/incoming/<version>-<fingerprint>.json``: every published vocabulary (publish
  never overwrites one: ``If-None-Match: *``). The S3 trigger watches this prefix. Anyone
  allowed to upload can overwrite an object here; nothing live is ever read from here.
- ``vocab/live/<sha256>.json``: a promoted vocabulary, re-serialised from what was
  validated and named by the sha256 of those bytes, so it never changes under a reader.
- ``vocab/current.json``: the pointer (:class:`~vocab_store.records.Pointer`) naming the
  live copy and its sha256. Outside the watched prefix, so promoting never triggers the
  handler again; only ever replaced by a newer version (conditional write on its ETag), or
  when it cannot be used at all (garbage, a version out of bounds).
- ``vocab/outcomes/<upload name>``: what the refresh handler did with each upload.

This module is imported only where S3 is used (not by ``import vocab_store``). The S3
client is always passed in: the Lambda's wiring and the commands build their own, with their
own timeouts.
"""

from __future__ import annotations

import hashlib
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
from vocab_store.layout import INCOMING_PREFIX, LIVE_PREFIX, OUTCOMES_PREFIX, POINTER_KEY
from vocab_store.records import MAX_RECORD_BYTES, InvalidPointer, Outcome, Pointer
from vocab_store.vocabulary import MAX_AHEAD_MS, Vocabulary, counts, loads

log = logging.getLogger(__name__)

# Everything botocore raises: service errors and connection/timeout failures.
_AWS_ERRORS = (ClientError, BotoCoreError)
# No answer from S3 at all (refused, unknown host, connect or read timeout).
_UNREACHABLE = (BotoConnectionError, ReadTimeoutError)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024


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
        live_prefix: str = LIVE_PREFIX,
        outcomes_prefix: str = OUTCOMES_PREFIX,
        max_bytes: int = DEFAULT_MAX_BYTES,
        s3_client: Any,
    ) -> None:
        if not bucket:
            raise StoreError("no bucket configured for the vocabulary store")
        for name, value in (("pointer", pointer_key), ("live", live_prefix)):
            if value.startswith(incoming_prefix):
                raise StoreError(f"the {name} key must live outside the watched incoming prefix")
        if outcomes_prefix.startswith(incoming_prefix):
            raise StoreError("the outcomes must live outside the watched incoming prefix")
        self.bucket = bucket
        self.incoming_prefix = incoming_prefix
        self.pointer_key = pointer_key
        self.live_prefix = live_prefix
        self.outcomes_prefix = outcomes_prefix
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

    def fetch(self, key: str) -> bytes:
        """The bytes at ``key``; refuses objects over ``max_bytes`` before downloading
        them (:class:`InvalidVocabulary`)."""
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
            return bytes(obj["Body"].read(self.max_bytes + 1))
        except _AWS_ERRORS as exc:
            raise _translate(exc, f"reading {key}") from exc

    def read(self, key: str, *, sha256: str | None = None) -> Vocabulary:
        """Read and validate the vocabulary at ``key`` (whose bytes must have ``sha256``,
        when given: the API loads exactly what was promoted)."""
        blob = self.fetch(key)
        if sha256 is not None and digest(blob) != sha256:
            raise InvalidVocabulary(f"{key} is not the document that was promoted")
        return loads(blob, max_bytes=self.max_bytes)

    def pointer(self, etag: str | None = None) -> Pointer | None:
        """The current pointer, or ``None`` when it is unchanged since ``etag`` (a
        conditional GET: S3 answers 304 Not Modified). Raises :class:`VocabularyNotFound`
        when nothing has been promoted yet, :class:`InvalidPointer` when it is unusable."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self.pointer_key}
        if etag:
            kwargs["IfNoneMatch"] = etag
        try:
            obj = self.client.get_object(**kwargs)
            blob = obj["Body"].read(MAX_RECORD_BYTES + 1)
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

    def live_pointer(self) -> tuple[Pointer | None, str | None]:
        """The pointer that holds back older versions, and the ETag to replace it on.

        ``(None, None)``: nothing promoted yet. ``(None, etag)``: a pointer that no longer
        counts, because it is unusable or its version is too far ahead of the clock
        (:func:`vocab_store.vocabulary.counts`); the next valid promotion replaces it."""
        try:
            current = self.pointer()
        except VocabularyNotFound:
            return None, None
        except InvalidPointer as exc:
            log.warning("the vocabulary pointer is unusable and will be replaced: %s", exc)
            return None, exc.etag
        assert current is not None
        if not counts(current.version):
            log.warning(
                "the live version %d is too far ahead and will be replaced", current.version
            )
            return None, current.etag
        return current, current.etag

    def promote(self, key: str, vocabulary: Vocabulary, *, attempts: int = 5) -> bool:
        """Make ``vocabulary`` (uploaded at ``key``) live if it is newer than the live one.

        The validated vocabulary is written to its immutable live key first, then the
        pointer names it. Returns whether the pointer changed. Safe against duplicate and
        out-of-order events and against two handlers racing: the pointer is written
        conditionally on the ETag it was read with, and re-read on conflict. A version too
        far ahead of the clock is refused (:class:`InvalidVocabulary`).
        """
        if not counts(vocabulary.version):
            raise InvalidVocabulary(
                f"version {vocabulary.version} is more than {MAX_AHEAD_MS // 86_400_000} days "
                "ahead of the clock; versions are millisecond timestamps (sentiment publish "
                "sets them)"
            )
        blob = vocabulary.to_json().encode("utf-8")
        sha = digest(blob)
        live_key = f"{self.live_prefix}{sha}.json"
        for _ in range(attempts):
            current, etag = self.live_pointer()
            if current is not None and current.version >= vocabulary.version:
                log.info(
                    "not promoting %s: version %d is not newer than live version %d",
                    key,
                    vocabulary.version,
                    current.version,
                )
                return False
            self._put(live_key, blob, {"IfNoneMatch": "*"}, exists_ok=True)
            new = Pointer(
                live_key, vocabulary.version, vocabulary.fingerprint, _now(), None, sha, key
            )
            condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
            if self._put(self.pointer_key, new.to_json().encode("utf-8"), condition):
                return True
            # someone else wrote the pointer meanwhile: read it again
        raise StoreUnavailable("the vocabulary pointer kept changing; gave up promoting")

    def _put(
        self, key: str, body: bytes, condition: dict[str, str], *, exists_ok: bool = False
    ) -> bool:
        """A conditional PUT; ``False`` when the condition failed (``exists_ok``: a
        content-addressed object that is already there counts as written)."""
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                **condition,
            )
        except _AWS_ERRORS as exc:
            if _error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return exists_ok
            raise _translate(exc, f"writing {key}") from exc
        return True

    def outcome_key(self, key: str) -> str:
        return self.outcomes_prefix + key[len(self.incoming_prefix) :]

    def record_outcome(self, outcome: Outcome) -> None:
        """Write what the refresh did with an upload, for ``sentiment publish`` to read."""
        self._put(self.outcome_key(outcome.key), outcome.to_json().encode("utf-8"), {})

    def outcome(self, key: str) -> Outcome | None:
        """What the refresh last did with the upload at ``key`` (``None``: nothing yet)."""
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self.outcome_key(key))
            blob = obj["Body"].read(MAX_RECORD_BYTES + 1)
        except _AWS_ERRORS as exc:
            error = _translate(exc, f"reading the outcome of {key}")
            if isinstance(error, VocabularyNotFound):
                return None
            raise error from exc
        return Outcome.parse(blob)


def digest(blob: bytes) -> str:
    """sha256 hex of ``blob``: names a live copy and checks it on the way in."""
    return hashlib.sha256(blob).hexdigest()


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
                vocabulary = self.store.read(pointer.key, sha256=pointer.sha256)
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
