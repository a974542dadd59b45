"""Rows to send and verdicts to answer, with the evidence and the per-request sum check.

A JSON answer explains itself when the live vocabulary carries the model's weights: the
review's row is followed, in the same endpoint call, by one row per sentence, and the
verdict gets ``evidence`` (:func:`vocab_store.explain.evidence`). A text/plain answer sends
the review's row only. Either way, when the vocabulary has weights, each review's
probability must be the sigmoid of the intercept plus the contributions
(:func:`vocab_store.linear.check`); if not, the vocabulary and the model do not belong
together and the request fails with :class:`ModelDisagrees` (502), logged with both values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ModelDisagrees

if TYPE_CHECKING:
    from vocab_store import Encoder, Vocabulary
    from vocab_store.encode import SparseVector
    from vocab_store.explain import Reading

log = logging.getLogger(__name__)

# Sentence rows in one endpoint call, over all reviews of the request: the answer stays far
# under the runtime's 64 KB cap; a dense CSV body also stays under 4 MB (InvokeEndpoint
# takes 6 MB).
MAX_SENTENCE_ROWS = 200
MAX_CSV_BODY_BYTES = 4_000_000


@dataclass(frozen=True)
class Review:
    """One review's rows: its own vector, and its reading when it is explained."""

    vector: SparseVector
    reading: Reading | None

    @property
    def rows(self) -> int:
        return 1 + (len(self.reading.sentences) if self.reading else 0)


def plan(encoder: Encoder, texts: list[str], *, explain: bool) -> list[Review]:
    """The rows for ``texts``: with sentences when ``explain`` and the vocabulary has
    weights (within the request's sentence-row budget), else the review rows alone."""
    from vocab_store.explain import MAX_SENTENCES, read

    if not explain or encoder.vocabulary.linear is None:
        return [Review(encoder.vector(text), None) for text in texts]
    budget = MAX_SENTENCE_ROWS
    if encoder.content_type == "text/csv":
        budget = min(budget, MAX_CSV_BODY_BYTES // (2 * encoder.feature_count) - len(texts))
    reviews = []
    for text in texts:
        reading = read(encoder, text, max_sentences=max(0, min(MAX_SENTENCES, budget)))
        budget -= len(reading.sentences)
        reviews.append(Review(reading.vector, reading))
    return reviews


def vectors(reviews: list[Review]) -> list[SparseVector]:
    """Every row of the request in order: each review's, then its sentences'."""
    rows: list[SparseVector] = []
    for review in reviews:
        rows.extend(review.reading.vectors() if review.reading else [review.vector])
    return rows


def verdicts(
    vocabulary: Vocabulary, reviews: list[Review], probabilities: list[float]
) -> list[dict[str, Any]]:
    """One verdict per review from the endpoint's ``probabilities`` (one per row of
    :func:`vectors`), after checking each review's sum when the vocabulary has weights."""
    from vocab_store.explain import evidence
    from vocab_store.labels import label, sentiment

    model = vocabulary.linear
    answers = iter(probabilities)
    out = []
    for review in reviews:
        p = next(answers)
        sentence_probabilities = [next(answers) for _ in range(review.rows - 1)]
        contributions = None
        if model is not None:
            contributions = model.contributions(review.vector)
            check(vocabulary, contributions, p)
        known = any(value != 0.0 for _, value in review.vector)
        verdict: dict[str, Any] = {
            "sentiment": sentiment(p),
            "label": label(p, vocabulary.uncertain, known=known),
            "probability": p,
        }
        if review.reading is not None:
            verdict["evidence"] = evidence(
                review.reading, vocabulary, sentence_probabilities, contributions=contributions
            )
        out.append(verdict)
    return out


def check(vocabulary: Vocabulary, contributions: list[float], answered: float) -> None:
    """Raise :class:`ModelDisagrees` unless sigmoid(intercept + sum of ``contributions``)
    reproduces the endpoint's ``answered`` probability (:func:`vocab_store.linear.check`)."""
    from vocab_store.linear import check as check_row

    model = vocabulary.linear
    assert model is not None
    result = check_row(model, contributions, answered)
    if not result.agrees:
        log.error(
            "the endpoint answered %r, but the weights of vocabulary %d give "
            "sigmoid(intercept + sum) = %r (allowed difference %.3g): the vocabulary and "
            "the model do not belong together",
            answered,
            vocabulary.version,
            result.expected,
            result.allowed,
        )
        raise ModelDisagrees()
