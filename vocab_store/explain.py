"""A review read for scoring with evidence: its terms with their spans, its sentences.

:func:`read` tokenises a review once, keeping where each token is in the review as
received (code points), and gives the vector the endpoint is sent (exactly
:meth:`Encoder.vector`'s) plus one vector per sentence. :func:`evidence` turns the
endpoint's probabilities into the answer's ``evidence`` object with the model's weights
(:mod:`vocab_store.linear`): the strongest terms with their contributions and spans, the
sum of the others, the intercept, and each sentence's probability.

A sentence ends at ``.``, ``!``, ``?`` or ``…`` (with closing quotes or brackets) followed
by a space or the end, at a line break, or at an HTML ``<br>``. A sentence's terms are the
n-grams of its own words, so its row is scored as if it were a review of its own.
"""

from __future__ import annotations

import heapq
import math
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from typing import Any

from vocab_store.encode import Encoder, SparseVector
from vocab_store.errors import InvalidVocabulary
from vocab_store.spans import ngram_spans
from vocab_store.vocabulary import Vocabulary

# The strongest terms an answer lists; the others are summed in "unlisted".
MAX_TERMS = 20
# Sentences scored per review (rows in the same endpoint call); later ones are counted only.
MAX_SENTENCES = 40

_STOP = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019\u00bb)\]]*(?=\s|$)|\n|<br\s*/?>", re.IGNORECASE)

Span = tuple[int, int]


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    vector: SparseVector


@dataclass(frozen=True)
class Reading:
    """One review, read once: the vector sent for it, its known terms' spans (by term),
    and its sentences (each with the vector sent for it)."""

    text: str
    vector: SparseVector
    terms: list[tuple[str, int, int]]
    sentences: list[Sentence]
    unscored_sentences: int

    @property
    def known(self) -> bool:
        """Whether the vocabulary knows any term of the review."""
        return any(value != 0.0 for _, value in self.vector)

    def vectors(self) -> list[SparseVector]:
        """The rows to send: the review's first, then one per sentence."""
        return [self.vector, *(s.vector for s in self.sentences)]


def read(encoder: Encoder, text: str, *, max_sentences: int = MAX_SENTENCES) -> Reading:
    """Tokenise ``text`` once: its vector, its terms with spans, its first
    ``max_sentences`` sentences with their vectors."""
    tokens = encoder.tokenizer.token_words(text)
    words = [(w, a, b) for w, a, b in tokens if w is not None]
    ngram_range = encoder.vocabulary.tokenizer.ngram_range
    terms = ngram_spans(words, ngram_range)
    bounds = _sentences(text, tokens)
    scored = bounds[:max_sentences]
    # A sentence's terms are the review's n-grams that lie inside it (its own words'
    # n-grams): each word gets its sentence's number, an n-gram its words' common one
    # (-1 across a boundary). Counters do the counting at C speed.
    index = encoder.vocabulary.index
    cols = list(map(index.get, [t for t, _, _ in terms]))
    counts = Counter(cols)
    counts.pop(None, None)
    starts = [start for start, _ in bounds]
    ids = [bisect_right(starts, a) - 1 for _, a, _ in words]
    sentence_ids = list(ids) if ngram_range[0] == 1 else []
    for n in range(max(ngram_range[0], 2), ngram_range[1] + 1):
        # An n-gram's words are consecutive, so its first and last word decide.
        ends = ids[n - 1 :]
        sentence_ids.extend([a if a == b else -1 for a, b in zip(ids, ends, strict=False)])
    by_sentence: list[dict[int, int]] = [{} for _ in scored]
    for (k, col), n in Counter(zip(sentence_ids, cols, strict=True)).items():
        if col is not None and 0 <= k < len(scored):
            by_sentence[k][col] = n
    sentences = [
        Sentence(start, end, encoder.vector_from_counts(c))
        for (start, end), c in zip(scored, by_sentence, strict=True)
    ]
    vector = encoder.vector_from_counts(counts)  # type: ignore[arg-type]  # None popped
    return Reading(text, vector, terms, sentences, len(bounds) - len(scored))


def _sentences(text: str, tokens: list[tuple[str | None, int, int]]) -> list[tuple[int, int]]:
    """Each sentence's span: from its first token to the end of the punctuation that
    closes it (or of its last token)."""
    if not tokens:
        return []
    token_starts = [a for _, a, _ in tokens]
    bounds: list[tuple[int, int]] = []
    first = 0
    for stop in _STOP.finditer(text, tokens[0][2]):
        last = bisect_right(token_starts, stop.start()) - 1
        if last < first:
            continue  # a second stop in the same gap
        end = stop.end() if stop.group()[0] in ".!?\u2026" else tokens[last][2]
        bounds.append((tokens[first][1], end))
        first = last + 1
        if first == len(tokens):
            break
    if first < len(tokens):
        bounds.append((tokens[first][1], tokens[-1][2]))
    return bounds


def evidence(
    reading: Reading,
    vocabulary: Vocabulary,
    sentence_probabilities: list[float],
    *,
    max_terms: int = MAX_TERMS,
    contributions: list[float] | None = None,
) -> dict[str, Any]:
    """The answer's ``evidence``: the intercept, the ``max_terms`` strongest terms (term,
    the review's text of its first occurrence, every span, contribution), the count and
    sum of the others, and each scored sentence's span and probability (review order).
    ``contributions``: the review vector's, when the caller has them already."""
    model = vocabulary.linear
    if model is None:
        raise InvalidVocabulary("this vocabulary carries no model weights to explain with")
    if contributions is None:
        contributions = model.contributions(reading.vector)
    weighed = [
        (c, col) for (col, _), c in zip(reading.vector, contributions, strict=True) if c != 0.0
    ]
    listed = heapq.nsmallest(max_terms, weighed, key=lambda item: (-abs(item[0]), item[1]))
    shown = {col for _, col in listed}
    rest = [c for c, col in weighed if col not in shown]
    names = vocabulary.terms
    spans = _spans(reading, {names[col] for _, col in listed})
    terms = []
    for contribution, col in listed:
        term = names[col]
        where = spans.get(term, [])
        entry: dict[str, Any] = {"term": term}
        if where:
            entry["text"] = reading.text[where[0][0] : where[0][1]]
        entry["spans"] = [list(s) for s in where]
        entry["contribution"] = contribution
        terms.append(entry)
    return {
        "intercept": model.intercept,
        "terms": terms,
        "unlisted": {"terms": len(rest), "contribution": math.fsum(rest)},
        "sentences": [
            {"start": s.start, "end": s.end, "probability": p}
            for s, p in zip(reading.sentences, sentence_probabilities, strict=True)
        ],
        "unscored_sentences": reading.unscored_sentences,
    }


def _spans(reading: Reading, terms: set[str]) -> dict[str, list[Span]]:
    found: dict[str, list[Span]] = {}
    for term, start, end in reading.terms:
        if term in terms:
            found.setdefault(term, []).append((start, end))
    return found
