"""What the routes do: predict one review, predict a batch, report health.

Each request encodes with the live vocabulary (:class:`CachedVocabulary`: revalidated after
the TTL with a conditional GET, stale-if-error) and is sent to the endpoint *that vocabulary*
names, so a vocabulary and its model always switch together.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib import endpoint, settings, wiring
from chalicelib.errors import (
    ApiError,
    EndpointUnavailable,
    InternalError,
    NoVocabulary,
    S3Unavailable,
    ServiceUnavailable,
)
from chalicelib.responses import note

if TYPE_CHECKING:
    from vocab_store.store import Live

log = logging.getLogger(__name__)

LABELS = ("negative", "positive")


def live() -> Live:
    """The vocabulary to encode with; 503 when there is none to serve."""
    from vocab_store import StoreError, StoreUnavailable, VocabError

    try:
        current = wiring.vocabulary_cache().get()
    except StoreUnavailable as exc:
        log.warning("no vocabulary to serve, S3 unavailable: %s", exc)
        raise S3Unavailable() from exc
    except StoreError as exc:
        log.warning("no vocabulary to serve: %s", exc)
        raise NoVocabulary() from exc
    except VocabError as exc:
        log.error("the promoted vocabulary is unusable: %s", exc)
        raise NoVocabulary() from exc
    note(vocabulary_version=current.vocabulary.version)
    return current


@dataclass(frozen=True)
class Target:
    endpoint: str
    variant: str | None


def target(current: Live) -> Target:
    """The endpoint that serves the model this vocabulary belongs to."""
    model = current.vocabulary.model
    name = (model.endpoint if model else None) or settings.get().endpoint
    if not name:
        log.error("vocabulary %d names no endpoint and none is set", current.vocabulary.version)
        raise EndpointUnavailable()
    note(endpoint=name)
    return Target(name, model.variant if model else None)


def score(current: Live, texts: list[str]) -> tuple[Target, list[float]]:
    """One endpoint call for all of ``texts``; one probability each."""
    from vocab_store import body_width

    encoder = current.encoder
    body = encoder.body(texts)
    widths = body_width(body, encoder.content_type)
    if any(w > encoder.feature_count for w in widths) or (
        encoder.content_type == "text/csv" and any(w != encoder.feature_count for w in widths)
    ):
        log.error("encoded row width %s does not match %d features", widths, encoder.feature_count)
        raise InternalError()
    where = target(current)
    probabilities = endpoint.invoke(
        body,
        encoder.content_type,
        where.endpoint,
        rows=len(texts),
        variant=where.variant,
        client=wiring.runtime.get(),
    )
    return where, probabilities


def _verdict(p: float) -> dict[str, Any]:
    sentiment = 1 if p >= 0.5 else 0
    return {"sentiment": sentiment, "label": LABELS[sentiment], "probability": p}


def predict(review: str) -> dict[str, Any]:
    """The verdict on one review, with the vocabulary and model that produced it."""
    current = live()
    where, (p,) = score(current, [review])
    return {
        **_verdict(p),
        "vocabulary_version": current.vocabulary.version,
        "model": where.endpoint,
    }


def predict_batch(items: list[str | ApiError]) -> dict[str, Any]:
    """Verdicts by index for a batch; invalid items get their error, the others one
    multi-row endpoint call."""
    current = live()
    texts = [item for item in items if isinstance(item, str)]
    note(items=len(items))
    probabilities: list[float] = []
    model = None
    if texts:
        where, probabilities = score(current, texts)
        model = where.endpoint
    answers = iter(probabilities)
    results: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if isinstance(item, ApiError):
            results.append(
                {"index": index, "error": item.code, "status": item.status, "message": item.message}
            )
        else:
            results.append({"index": index, **_verdict(next(answers))})
    return {"results": results, "vocabulary_version": current.vocabulary.version, "model": model}


def health() -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status code, report and headers: stage, vocabulary version and age, endpoint and
    whether it answers. No ARNs, no bucket, no secrets. A 503 carries the ``Retry-After`` of
    the error behind it, as the same failure on a predict route would."""
    s = settings.get()
    report: dict[str, Any] = {"stage": s.stage, "vocabulary": None, "endpoint": None}
    try:
        current = live()
    except ServiceUnavailable as exc:
        status = "store-unavailable" if isinstance(exc, S3Unavailable) else "no-vocabulary"
        return 503, {"status": status, "message": exc.message, **report}, exc.headers()
    report["vocabulary"] = {
        "version": current.vocabulary.version,
        "age_seconds": _age(current.pointer.promoted_at),
        "features": current.vocabulary.feature_count,
    }
    try:
        where, _ = score(current, [""])
    except ApiError as exc:
        model = current.vocabulary.model
        name = (model.endpoint if model else None) or s.endpoint
        log.warning("health: endpoint %s does not answer (%s)", name, exc.code)
        report["endpoint"] = {"name": name or None, "answers": False}
        # A 502 or 504 behind it is still "not available right now" for /health.
        headers = exc.headers() if exc.retry_after is not None else EndpointUnavailable().headers()
        return 503, {"status": "degraded", **report}, headers
    report["endpoint"] = {"name": where.endpoint, "answers": True}
    return 200, {"status": "ok", **report}, {}


def _age(promoted_at: str) -> float | None:
    try:
        return round(time.time() - datetime.fromisoformat(promoted_at).timestamp(), 1)
    except ValueError:
        return None
