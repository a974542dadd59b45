"""The S3 handler's work: validate each newly published vocabulary and promote it.

For every record of an S3 event (not just the first), each on its own:

- not an ``ObjectCreated`` event, another bucket, a key outside the incoming prefix,
  ``s3:TestEvent``: ignored;
- the object cannot be read or parsed, fails validation (schema, bounds, size limit), names
  no endpoint, or its endpoint does not serve its model *and* its vocabulary (the one rule,
  :func:`vocab_store.pairing.check`, on the content fingerprint recomputed from the bytes
  just read): rejected, the reason logged, nothing that serves changes. Whatever goes wrong
  with one record is a logged refusal of that record, never a crash of the event;
- valid: promoted with :meth:`VocabularyStore.promote` (a copy of the validated document at
  an immutable key, then the pointer, only if this version is newer than the live one:
  events come at least once and out of order). An overwrite of an upload is one more
  upload, handled by the same rules.

Each outcome is logged as structured fields and recorded beside the upload
(:meth:`VocabularyStore.record_outcome`) for ``sentiment publish`` to report. A transient
failure (S3 or SageMaker unreachable, endpoint still being created) does not stop the other
records; it is raised at the end, so Lambda's retry of the asynchronous invocation tries
again (promotion is idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from chalicelib.observability import refresh_outcome
from vocab_store.records import Outcome

if TYPE_CHECKING:
    from vocab_store import Vocabulary
    from vocab_store.pairing import EndpointState
    from vocab_store.store import VocabularyStore

log = logging.getLogger(__name__)

Describe = Callable[[str, "str | None"], "EndpointState"]


class RefreshRetry(Exception):
    """Some records hit a transient failure; raising makes Lambda retry the event."""


def records(event: dict[str, Any]) -> list[Any]:
    """The records of an S3 notification (none for ``s3:TestEvent``)."""
    found = event.get("Records")
    return list(found) if isinstance(found, list) else []


def refresh(
    event: dict[str, Any],
    store: VocabularyStore,
    describe: Describe,
    *,
    default_endpoint: str | None = None,
) -> list[Outcome]:
    """Handle every record of ``event``; returns what happened to each."""
    if event.get("Event") == "s3:TestEvent":
        refresh_outcome("", "ignored", "s3:TestEvent")
        return []
    outcomes = []
    for record in records(event):
        outcome = _guarded(record, store, describe, default_endpoint)
        refresh_outcome(outcome.key, outcome.result, outcome.reason)
        if outcome.result != "ignored" and store.is_incoming(outcome.key):
            _record(store, outcome)
        outcomes.append(outcome)
    retry = [o.key for o in outcomes if o.result == "retry"]
    if retry:
        raise RefreshRetry(f"will retry {len(retry)} vocabularies: {retry}")
    return outcomes


def _guarded(
    record: Any, store: VocabularyStore, describe: Describe, default: str | None
) -> Outcome:
    """One record's outcome, whatever the record holds: this is the edge of one record's
    handling, so anything unexpected is a logged refusal of it, not a crash of the event
    (the later records are still handled)."""
    key = ""
    try:
        key = _key(record)
        return _one(record, key, store, describe, default)
    except Exception as exc:  # noqa: BLE001 - the one catch-all, per record
        log.exception("vocabulary upload %r could not be handled", key[:1024])
        return Outcome(key[:1024], "rejected", f"could not be handled ({type(exc).__name__})")


def _key(record: Any) -> str:
    return unquote_plus(str(record.get("s3", {}).get("object", {}).get("key", "")))


def _one(
    record: dict[str, Any],
    key: str,
    store: VocabularyStore,
    describe: Describe,
    default: str | None,
) -> Outcome:
    from vocab_store import InvalidVocabulary, StoreUnavailable, VocabularyNotFound, loads
    from vocab_store.store import digest

    bucket = record.get("s3", {}).get("bucket", {}).get("name")
    if not str(record.get("eventName", "")).startswith("ObjectCreated"):
        return Outcome(key, "ignored", f"event {str(record.get('eventName'))[:64]}")
    if bucket != store.bucket or not store.is_incoming(key):
        return Outcome(key, "ignored", "not a vocabulary upload")
    try:
        blob = store.fetch(key)
    except InvalidVocabulary as exc:
        return Outcome(key, "rejected", str(exc))
    except VocabularyNotFound:
        return Outcome(key, "ignored", "the object is gone")
    except StoreUnavailable as exc:
        return Outcome(key, "retry", str(exc))
    sha = digest(blob)
    try:
        vocabulary = loads(blob, max_bytes=store.max_bytes)
    except InvalidVocabulary as exc:
        return Outcome(key, "rejected", str(exc), sha)
    version = vocabulary.version
    problem = check_pairing(vocabulary, describe, default)
    if problem is not None:
        return Outcome(key, *problem, sha, version)
    try:
        promoted = store.promote(key, vocabulary)
    except InvalidVocabulary as exc:
        return Outcome(key, "rejected", str(exc), sha, version)
    except StoreUnavailable as exc:
        return Outcome(key, "retry", str(exc), sha, version)
    return Outcome(key, "promoted" if promoted else "not-newer", f"version {version}", sha, version)


def _record(store: VocabularyStore, outcome: Outcome) -> None:
    """Best effort: a failure to record is logged; the outcome itself stands."""
    from vocab_store import StoreError

    try:
        store.record_outcome(outcome)
    except StoreError as exc:
        log.warning("could not record the outcome of %s: %s", outcome.key, exc)


def check_pairing(
    vocabulary: Vocabulary, describe: Describe, default: str | None
) -> tuple[str, str] | None:
    """``None`` when the endpoint the vocabulary names serves its model (the one rule,
    :func:`vocab_store.pairing.check`), else the outcome (``rejected`` or ``retry``) and the
    reason."""
    from vocab_store.errors import ControlPlaneUnavailable
    from vocab_store.pairing import Problem, check

    model = vocabulary.model
    if model is None:
        return "rejected", "the vocabulary records no model"
    endpoint = model.endpoint or default
    if not endpoint:
        return "rejected", "the vocabulary names no endpoint and no default is set"
    try:
        state = describe(endpoint, model.variant)
    except ControlPlaneUnavailable as exc:
        return "retry", str(exc)
    answer = check(vocabulary, state)
    if answer.ok:
        return None
    return ("retry" if answer.problem is Problem.NOT_READY else "rejected"), answer.reason


def handle(event: dict[str, Any]) -> list[Outcome]:
    """The S3 handler's entry: :func:`refresh` with the store and endpoint check built
    from the settings."""
    from chalicelib import settings, wiring
    from vocab_store.pairing import describe_endpoint

    sagemaker = wiring.sagemaker.get()
    return refresh(
        event,
        wiring.vocabulary_store(),
        lambda name, variant: describe_endpoint(sagemaker, name, variant),
        default_endpoint=settings.get().endpoint,
    )


def tolerate_test_events(handler: Any) -> Any:
    """Let ``handler`` (from ``@app.on_s3_event``) receive events without records.

    Chalice's ``S3Event`` reads ``Records[0]`` before our code runs, so ``s3:TestEvent``
    (which has no records) would fail the invocation; this event class reads nothing and
    leaves every record to :func:`refresh`.
    """
    from chalice.app import EventSourceHandler, S3Event

    class S3Notification(S3Event):
        def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
            try:
                first = records(event_dict)[0]
                self.bucket = str(first["s3"]["bucket"]["name"])
                self.key = _key(first)
            except (LookupError, TypeError, AttributeError):
                self.bucket = self.key = ""  # every record is judged by refresh()

    if isinstance(handler, EventSourceHandler):
        handler.event_class = S3Notification
    return handler
