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

import math
import re
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
    ngram_range = encoder.vocabulary.tokenizer.ngram_range
    words = [(w, a, b) for w, a, b in tokens if w is not None]
    terms = ngram_spans(words, ngram_range)
    vector = encoder.vector_of([t for t, _, _ in terms])
    sentences: list[Sentence] = []
    groups = _sentences(text, tokens)
    for start, end, group in groups[:max_sentences]:
        kept = [w for w, _, _ in group if w is not None]
        sentence_terms = ngram_spans([(w, 0, 0) for w in kept], ngram_range)
        sentences.append(Sentence(start, end, encoder.vector_of([t for t, _, _ in sentence_terms])))
    return Reading(text, vector, terms, sentences, max(0, len(groups) - max_sentences))


def _sentences(
    text: str, tokens: list[tuple[str | None, int, int]]
) -> list[tuple[int, int, list[tuple[str | None, int, int]]]]:
    """Tokens grouped into sentences, each with its span (from its first token to the end
    of the punctuation that closes it)."""
    groups: list[tuple[int, int, list[tuple[str | None, int, int]]]] = []
    current: list[tuple[str | None, int, int]] = []
    stops = iter(_STOP.finditer(text))
    stop = next(stops, None)
    for i, token in enumerate(tokens):
        current.append(token)
        end = token[2]
        while stop is not None and stop.start() < end:
            stop = next(stops, None)
        gap_end = tokens[i + 1][1] if i + 1 < len(tokens) else len(text)
        closes = stop is not None and stop.start() < gap_end
        if closes or i + 1 == len(tokens):
            if closes and stop is not None and stop.group()[0] in ".!?\u2026":
                end = stop.end()
            groups.append((current[0][1], end, current))
            current = []
    return groups


def evidence(
    reading: Reading,
    vocabulary: Vocabulary,
    sentence_probabilities: list[float],
    *,
    max_terms: int = MAX_TERMS,
) -> dict[str, Any]:
    """The answer's ``evidence``: the intercept, the ``max_terms`` strongest terms (term,
    the review's text of its first occurrence, every span, contribution), the count and
    sum of the others, and each scored sentence's span and probability (review order)."""
    model = vocabulary.linear
    if model is None:
        raise InvalidVocabulary("this vocabulary carries no model weights to explain with")
    contributions = model.contributions(reading.vector)
    ranked = sorted(
        ((c, col) for (col, _), c in zip(reading.vector, contributions, strict=True) if c != 0.0),
        key=lambda item: (-abs(item[0]), item[1]),
    )
    listed, rest = ranked[:max_terms], ranked[max_terms:]
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
        "unlisted": {"terms": len(rest), "contribution": math.fsum(c for c, _ in rest)},
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
