"""What people said about the API's answers: read from S3, summarised, exported for review.

``POST /feedback`` keeps one JSON object per prediction under ``feedback/yyyy/mm/dd/hh/``.
Nothing there reaches training by itself: ``sentiment feedback`` lists and summarises it
(how many, how often the person agreed with the model, the terms most often in the reviews
where they did not) and exports a file a person reviews; ``sentiment train --extra FILE``
then adds that file's reviews to the training reviews only (:func:`read_reviewed`).

The exported file is JSON Lines, one review a line, in the IMDB files' shape: ``{"id",
"text", "label": 1|0}`` plus what helps the reviewer (``model_label``, ``received_at``);
deleting a line or changing a label is how a person reviews it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from training.aws.clients import AWS_ERRORS, translate
from training.data import Reviews
from training.errors import DataError

log = logging.getLogger(__name__)

PREFIX = "feedback/"
LABELS = {"positive": 1, "negative": 0}
MAX_OBJECT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Feedback:
    """One stored feedback: the person's label for the review of one prediction."""

    prediction_id: str
    label: str
    review: str
    received_at: str


def read_feedback(
    s3: Any, bucket: str, prefix: str = PREFIX, *, since: datetime | None = None
) -> list[Feedback]:
    """Every feedback under ``prefix`` (from the hour of ``since`` on), oldest first; an
    object that is not a feedback is skipped with a warning."""
    start_after = f"{prefix}{since.astimezone(UTC):%Y/%m/%d/%H}/" if since else ""
    found: list[Feedback] = []
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, StartAfter=start_after
        )
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
        for key in sorted(keys):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_OBJECT_BYTES + 1)
            item = _parse(key, body)
            if item is not None:
                found.append(item)
    except AWS_ERRORS as exc:
        raise translate(exc, f"reading s3://{bucket}/{prefix}") from exc
    return found


def _parse(key: str, body: bytes) -> Feedback | None:
    try:
        data = json.loads(body)
        item = Feedback(
            str(data["prediction_id"]), data["label"], data["review"], str(data["received_at"])
        )
    except (ValueError, KeyError, TypeError):
        log.warning("skipping %s: not a feedback object", key)
        return None
    if item.label not in LABELS or not isinstance(item.review, str) or not item.review.strip():
        log.warning("skipping %s: no usable label and review", key)
        return None
    return item


@dataclass
class Summary:
    """Counts, agreement with the model, and the terms of the disputed reviews."""

    total: int = 0
    by_label: Counter[str] = field(default_factory=Counter)
    by_day: Counter[str] = field(default_factory=Counter)
    scored: int = 0
    agreed: int = 0
    disputed_terms: list[tuple[str, int]] = field(default_factory=list)

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.scored if self.scored else None


def summarise(
    items: list[Feedback],
    model_labels: list[str] | None = None,
    terms: Iterable[list[str]] | None = None,
    *,
    top: int = 10,
) -> Summary:
    """What came in; with the model's label for each review (``model_labels``) how often
    the person agreed, and with each review's terms (``terms``) the ones found most often
    in the reviews where they did not."""
    summary = Summary(total=len(items))
    for item in items:
        summary.by_label[item.label] += 1
        summary.by_day[item.received_at[:10]] += 1
    if model_labels is None:
        return summary
    disputed: Counter[str] = Counter()
    term_lists = list(terms) if terms is not None else [[] for _ in items]
    for item, said, found in zip(items, model_labels, term_lists, strict=True):
        if said not in LABELS:  # "uncertain": the model took no side
            continue
        summary.scored += 1
        if said == item.label:
            summary.agreed += 1
        else:
            disputed.update(set(found))
    summary.disputed_terms = disputed.most_common(top)
    return summary


def format_summary(summary: Summary) -> str:
    """The summary as a few lines for the terminal."""
    lines = [f"feedback  {summary.total:,}"]
    for label in LABELS:
        lines.append(f"  said {label:<9} {summary.by_label.get(label, 0):,}")
    if summary.by_day:
        days = ", ".join(f"{day} {n}" for day, n in sorted(summary.by_day.items())[-7:])
        lines.append(f"  by day         {days}")
    if summary.agreement is not None:
        lines.append(
            f"agreed with the model  {summary.agreed:,} of {summary.scored:,} "
            f"({summary.agreement:.0%})"
        )
    if summary.disputed_terms:
        terms = ", ".join(f"{term} ({n})" for term, n in summary.disputed_terms)
        lines.append(f"most disputed terms    {terms}")
    return "\n".join(lines)


def export(items: list[Feedback], path: Path, model_labels: list[str] | None = None) -> int:
    """Write ``items`` as a reviewable JSON Lines file (one per prediction id, the first
    received wins); returns how many lines."""
    seen: set[str] = set()
    lines = []
    for index, item in enumerate(items):
        if item.prediction_id in seen:
            continue
        seen.add(item.prediction_id)
        record: dict[str, Any] = {
            "id": item.prediction_id,
            "text": item.review,
            "label": LABELS[item.label],
            "received_at": item.received_at,
        }
        if model_labels is not None:
            record["model_label"] = model_labels[index]
        lines.append(json.dumps(record, ensure_ascii=False))
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)


REVIEWED_SHAPE = (
    'each line is one JSON object like {"id": "r1", "text": "the review", "label": 1} '
    "(label 1 positive, 0 negative), as `sentiment feedback --export` writes"
)


def read_reviewed(path: Path) -> Reviews:
    """The reviews of a reviewed feedback file (:func:`export`'s format) for training;
    :class:`DataError` naming the line when one is not a review record."""
    try:
        blob = path.read_bytes()
        text = blob.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the reviewed feedback file {path}: {exc}") from exc
    ids: list[str] = []
    texts: list[str] = []
    labels: list[int] = []
    seen: set[str] = set()
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            ident, review, label = str(record["id"]), record["text"], record["label"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"{path} line {number} is not a review record ({exc}); {REVIEWED_SHAPE}"
            ) from exc
        if not isinstance(review, str) or not review.strip():
            raise DataError(f"{path} line {number}: text must be the review; {REVIEWED_SHAPE}")
        if label not in (0, 1) or isinstance(label, bool):
            raise DataError(
                f"{path} line {number}: label must be 1 (positive) or 0 (negative); "
                f"{REVIEWED_SHAPE}"
            )
        if ident in seen:
            raise DataError(f"{path} line {number}: id {ident} appears twice")
        seen.add(ident)
        ids.append(ident)
        texts.append(review)
        labels.append(label)
    if not texts:
        raise DataError(f"{path} holds no reviews; {REVIEWED_SHAPE}")
    return Reviews(tuple(ids), tuple(texts), tuple(labels), hashlib.sha256(blob).hexdigest())


def join(base: Reviews, extra: Reviews) -> Reviews:
    """``base`` followed by ``extra`` (training reviews plus reviewed feedback)."""
    digest = hashlib.sha256(f"{base.checksum}+{extra.checksum}".encode()).hexdigest()
    return Reviews(
        base.ids + extra.ids, base.texts + extra.texts, base.labels + extra.labels, digest
    )
