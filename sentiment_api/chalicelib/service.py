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

from chalicelib import endpoint, evidence, ids, observability, settings, wiring
from chalicelib.errors import (
    ApiError,
    EndpointUnavailable,
    InternalError,
    NoVocabulary,
    S3Unavailable,
    ServiceUnavailable,
)
from chalicelib.observability import note

if TYPE_CHECKING:
    from vocab_store.encode import SparseVector
    from vocab_store.store import Live

log = logging.getLogger(__name__)


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
    model = current.vocabulary.model
    note(
        vocabulary_version=current.vocabulary.version,
        model_fingerprint=model.fingerprint if model else None,
    )
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


def score(current: Live, rows: list[SparseVector]) -> tuple[Target, list[float]]:
    """One endpoint call for all of ``rows``; one probability each."""
    encoder = current.encoder
    body = encoder.body_of(rows)
    widths = encoder.widths(rows, body)
    if any(w > encoder.feature_count for w in widths) or (
        encoder.content_type == "text/csv" and any(w != encoder.feature_count for w in widths)
    ):
        log.error("encoded row width %s does not match %d features", widths, encoder.feature_count)
        raise InternalError()
    where = target(current)
    started = time.perf_counter()
    try:
        probabilities = endpoint.invoke(
            body,
            encoder.content_type,
            where.endpoint,
            rows=len(rows),
            variant=where.variant,
            inference_id=observability.prediction_id(),
            client=wiring.runtime.get(),
        )
    except EndpointUnavailable as exc:
        # /health then says so at once, instead of its last check's "answers" for 30 s.
        wiring.endpoint_checks.record(_check_key(current, where), error=exc)
        raise
    finally:
        note(endpoint_ms=round((time.perf_counter() - started) * 1000, 2))
    wiring.endpoint_checks.record(_check_key(current, where), probabilities)
    return where, probabilities


def _check_key(current: Live, where: Target) -> tuple[str, str | None, str]:
    """What an endpoint check is about: the endpoint, its variant, the vocabulary."""
    return where.endpoint, where.variant, current.vocabulary.fingerprint


def _verdicts(current: Live, texts: list[str], *, explain: bool) -> tuple[Target, list[Any]]:
    """Verdicts on ``texts`` from one endpoint call (with sentence rows when ``explain``),
    each row's sum checked against the vocabulary's weights."""
    reviews = evidence.plan(current.encoder, texts, explain=explain)
    where, probabilities = score(current, evidence.vectors(reviews))
    return where, evidence.verdicts(current.vocabulary, reviews, probabilities)


def predict(review: str, *, explain: bool = True) -> dict[str, Any]:
    """The verdict on one review, with the vocabulary and model that produced it, and the
    evidence when ``explain`` (JSON answers) and the vocabulary has the model's weights."""
    current = live()
    where, (verdict,) = _verdicts(current, [review], explain=explain)
    note(label=verdict["label"])
    return {
        **verdict,
        "vocabulary_version": current.vocabulary.version,
        "model": where.endpoint,
        "prediction_id": observability.prediction_id(),
    }


def predict_batch(items: list[str | ApiError]) -> dict[str, Any]:
    """Verdicts (with evidence) by index for a batch; invalid items get their error, the
    others share one multi-row endpoint call."""
    current = live()
    texts = [item for item in items if isinstance(item, str)]
    note(items=len(items))
    verdicts: list[Any] = []
    model = None
    if texts:
        where, verdicts = _verdicts(current, texts, explain=True)
        model = where.endpoint
    answers = iter(verdicts)
    results: list[dict[str, Any]] = []
    labels: dict[str, int] = {}
    for index, item in enumerate(items):
        if isinstance(item, ApiError):
            results.append(
                {"index": index, "error": item.code, "status": item.status, "message": item.message}
            )
        else:
            verdict = next(answers)
            labels[verdict["label"]] = labels.get(verdict["label"], 0) + 1
            results.append({"index": index, **verdict, "prediction_id": ids.new_id()})
    note(labels=labels, item_ids=[r["prediction_id"] for r in results if "prediction_id" in r])
    return {
        "results": results,
        "vocabulary_version": current.vocabulary.version,
        "model": model,
        "batch_id": observability.prediction_id(),
    }


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
        where = target(current)
        wiring.endpoint_checks.get(
            _check_key(current, where), lambda: _verdicts(current, [""], explain=False)
        )
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
