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
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import chain, compress
from operator import itemgetter, neg
from typing import Any

from vocab_store.encode import Encoder, SparseVector
from vocab_store.errors import InvalidVocabulary
from vocab_store.text import Tokenizer
from vocab_store.vocabulary import Vocabulary

# The strongest terms an answer lists; the others are summed in "unlisted".
MAX_TERMS = 20
# Sentences scored per review (rows in the same endpoint call); later ones are counted only.
MAX_SENTENCES = 40

_STOP = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019\u00bb)\]]*(?=\s|$)|\n|<br\s*/?>", re.IGNORECASE)

_FIRST = itemgetter(0)


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    vector: SparseVector


@dataclass(frozen=True)
class Reading:
    """One review, read once: the vector sent for it, its terms (in the order of
    :meth:`Tokenizer.terms`) with their columns and spans, and its sentences (each with
    the vector sent for it)."""

    text: str
    vector: SparseVector
    term_texts: list[str]
    columns: list[int | None]
    starts: list[int]
    ends: list[int]
    sentences: list[Sentence]
    unscored_sentences: int

    @property
    def terms(self) -> list[tuple[str, int, int]]:
        """Every term with its span, in the order of :meth:`Tokenizer.terms`."""
        return list(zip(self.term_texts, self.starts, self.ends, strict=True))

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
    stems, token_starts, token_ends = encoder.tokenizer.token_stems(text)
    if all(stems):
        words, starts, ends = stems, token_starts, token_ends
    else:  # drop the stopwords ("" in stems)
        words = list(compress(stems, stems))
        starts = list(compress(token_starts, stems))
        ends = list(compress(token_ends, stems))
    # The n-grams in the order of Tokenizer.terms: for each n, one per first word.
    low, high = encoder.vocabulary.tokenizer.ngram_range
    term_texts: list[str] = []
    term_starts: list[int] = []
    term_ends: list[int] = []
    orders: list[tuple[int, int]] = []  # (n, where its n-grams begin in the term lists)
    for n in range(low, high + 1):
        orders.append((n, len(term_texts)))
        if n == 1:
            term_texts.extend(words)
        else:
            term_texts.extend(map(" ".join, zip(*(words[i:] for i in range(n)), strict=False)))
        count = max(0, len(words) - n + 1)
        term_starts.extend(starts[:count])
        term_ends.extend(ends[n - 1 :])
    columns = encoder.columns(term_texts)
    bounds = _sentences(text, token_starts, token_ends)
    scored = bounds[:max_sentences]
    # A sentence's terms are the review's n-grams that lie inside it (its own words'
    # n-grams): its words are a run of the review's, so its terms are a slice of each n's.
    firsts = [bisect_left(starts, start) for start, _ in bounds] + [len(words)]
    sentences = []
    for k, (start, end) in enumerate(scored):
        a, b = firsts[k], firsts[k + 1]
        cols: list[int | None] = []
        for n, at in orders:
            cols.extend(columns[at + a : at + max(a, b - n + 1)])
        sentences.append(Sentence(start, end, encoder.vector_of_columns(cols)))
    return Reading(
        text,
        encoder.vector_of_columns(columns),
        term_texts,
        columns,
        term_starts,
        term_ends,
        sentences,
        len(bounds) - len(scored),
    )


def sentence_starts(tokenizer: Tokenizer, text: str) -> tuple[list[str], list[int]]:
    """The words of ``text`` as :func:`read` takes them and where each sentence it cuts
    begins among them (a word position): so training can build every sentence's row from
    words it has cached, as :func:`read` builds it, without reading the review again."""
    stems, token_starts, token_ends = tokenizer.token_stems(text)
    word_starts = list(compress(token_starts, stems))
    bounds = _sentences(text, token_starts, token_ends)
    return list(compress(stems, stems)), [bisect_left(word_starts, a) for a, _ in bounds]


def _sentences(text: str, starts: list[int], ends: list[int]) -> list[tuple[int, int]]:
    """Each sentence's span, given every token's ``starts`` and ``ends``: from its first
    token to the end of the punctuation that closes it (or of its last token)."""
    if not starts:
        return []
    bounds: list[tuple[int, int]] = []
    first = 0
    for stop in _STOP.finditer(text, ends[0]):
        last = bisect_right(starts, stop.start()) - 1
        if last < first:
            continue  # a second stop in the same gap
        end = stop.end() if stop.group()[0] in ".!?\u2026" else ends[last]
        bounds.append((starts[first], end))
        first = last + 1
        if first == len(starts):
            break
    if first < len(starts):
        bounds.append((starts[first], ends[-1]))
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
    cols = list(map(_FIRST, reading.vector))
    if 0.0 in contributions:
        weighed = [(c, col) for c, col in zip(contributions, cols, strict=True) if c != 0.0]
        contributions, cols = [c for c, _ in weighed], [col for _, col in weighed]
    # Strongest first (ties: the lower column), compared as tuples at C speed.
    ranked = zip(map(neg, map(abs, contributions)), cols, contributions, strict=True)
    listed = heapq.nsmallest(max_terms, ranked)
    shown: dict[int, list[list[int]]] = {col: [] for _, col, _ in listed}
    # fsum is exactly rounded, so the sum of all and the listed ones negated is exactly the
    # unlisted ones' sum, at C speed.
    unlisted = math.fsum(chain(contributions, [-c for _, _, c in listed]))
    columns, starts, ends = reading.columns, reading.starts, reading.ends
    for i in compress(range(len(columns)), map(shown.__contains__, columns)):
        shown[columns[i]].append([starts[i], ends[i]])  # type: ignore[index]  # in shown
    names = vocabulary.terms
    terms = []
    for _, col, contribution in listed:
        where = shown[col]
        entry: dict[str, Any] = {"term": names[col]}
        if where:
            entry["text"] = reading.text[where[0][0] : where[0][1]]
        entry["spans"] = where
        entry["contribution"] = contribution
        terms.append(entry)
    return {
        "intercept": model.intercept,
        "terms": terms,
        "unlisted": {"terms": len(contributions) - len(listed), "contribution": unlisted},
        "sentences": [
            {"start": s.start, "end": s.end, "probability": p}
            for s, p in zip(reading.sentences, sentence_probabilities, strict=True)
        ],
        "unscored_sentences": reading.unscored_sentences,
    }
