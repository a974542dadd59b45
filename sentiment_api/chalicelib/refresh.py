"""The S3 handler's work: validate each newly published vocabulary and promote it.

For every record of an S3 event (not just the first):

- not an ``ObjectCreated`` event, another bucket, a key outside the incoming prefix,
  ``s3:TestEvent``: ignored;
- the object fails validation (schema, size limit), names no endpoint, or its endpoint is
  missing, not in service, or serves a model with another fingerprint: rejected, the reason
  logged, nothing that serves changes;
- valid: promoted with :meth:`VocabularyStore.promote`, which writes the pointer only if this
  version is newer than the live one (events come at least once and out of order).

A transient failure (S3 or SageMaker unreachable, endpoint still being created) does not stop
the other records; it is raised at the end, so Lambda's retry of the asynchronous invocation
tries again (promotion is idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from chalicelib.observability import refresh_outcome

if TYPE_CHECKING:
    from vocab_store import Vocabulary
    from vocab_store.pairing import EndpointState
    from vocab_store.store import VocabularyStore

log = logging.getLogger(__name__)

Describe = Callable[[str, "str | None"], "EndpointState"]


class RefreshRetry(Exception):
    """Some records hit a transient failure; raising makes Lambda retry the event."""


@dataclass(frozen=True)
class Outcome:
    key: str
    result: str  # promoted | not-newer | ignored | rejected | retry
    reason: str = ""


def records(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of an S3 notification (none for ``s3:TestEvent``)."""
    found = event.get("Records")
    return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []


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
    outcomes = [_one(record, store, describe, default_endpoint) for record in records(event)]
    for outcome in outcomes:
        refresh_outcome(outcome.key, outcome.result, outcome.reason)
    retry = [o.key for o in outcomes if o.result == "retry"]
    if retry:
        raise RefreshRetry(f"will retry {len(retry)} vocabularies: {retry}")
    return outcomes


def _one(
    record: dict[str, Any], store: VocabularyStore, describe: Describe, default: str | None
) -> Outcome:
    from vocab_store import InvalidVocabulary, StoreUnavailable, VocabularyNotFound

    s3 = record.get("s3", {})
    key = unquote_plus(str(s3.get("object", {}).get("key", "")))
    bucket = s3.get("bucket", {}).get("name")
    if not str(record.get("eventName", "")).startswith("ObjectCreated"):
        return Outcome(key, "ignored", f"event {record.get('eventName')}")
    if bucket != store.bucket or not store.is_incoming(key):
        return Outcome(key, "ignored", "not a vocabulary upload")
    try:
        vocabulary = store.read(key)
    except InvalidVocabulary as exc:
        return Outcome(key, "rejected", str(exc))
    except VocabularyNotFound:
        return Outcome(key, "ignored", "the object is gone")
    except StoreUnavailable as exc:
        return Outcome(key, "retry", str(exc))
    problem = check_pairing(vocabulary, describe, default)
    if problem is not None:
        return Outcome(key, *problem)
    try:
        promoted = store.promote(key, vocabulary)
    except StoreUnavailable as exc:
        return Outcome(key, "retry", str(exc))
    if promoted:
        return Outcome(key, "promoted", f"version {vocabulary.version}")
    return Outcome(key, "not-newer", f"version {vocabulary.version}")


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
            first = (records(event_dict) or [{}])[0].get("s3", {})
            self.bucket = str(first.get("bucket", {}).get("name", ""))
            self.key = unquote_plus(str(first.get("object", {}).get("key", "")))

    if isinstance(handler, EventSourceHandler):
        handler.event_class = S3Notification
    return handler
