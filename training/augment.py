"""Short training rows cut from the training reviews themselves: each sentence of a review,
labelled with its review's label, at a share of the review's weight.

Why: every IMDB review averages about 230 words, and what people type into the page is
one or two sentences. A model that only ever saw whole reviews learns from a term what it
means among 400 others; a sentence row teaches it what that term means nearly alone (as an
L2-normalised short row it carries a far larger value). Each sentence inherits its review's
label, which is noisy ("the first half drags" in a positive review), so a review's
sentence rows together weigh ``weight`` (1 by default: as much as the review itself, each
sentence ``1 / n`` of it, however many it has) or, ``per`` "sentence", each row weighs
``weight``. On IMDB validation the default is level with the other schemes, not better
(docs/model.md); among those level variants it has no constant to tune, and the short
sentences decided it: it is the one that brings them to the target.

The rows are exactly the sentence rows the API sends for evidence
(:func:`vocab_store.explain.read`): the n-grams of the sentence's own words, encoded by the
vocabulary's encoder. A training's tokenizer knows, from the token cache, each review's words
and where its sentences begin among them, so the rows are built from those words without
reading the review again (about half the time; tests/training/test_augment.py checks the two
agree on real reviews). Nothing here changes how a review is encoded: it is training data, not
a feature setting, so the vocabulary and its fingerprint do not name it. Only reviews that
the model may train on give sentences: the fit reviews, and for the refit the validation
reviews; validation itself scores whole reviews.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from training.config import WeightPer
from training.features import PretokenizedTokenizer, vectors_matrix
from training.model import Rows, stack, unweighted
from vocab_store import Encoder
from vocab_store.encode import SparseVector
from vocab_store.explain import read
from vocab_store.text import ngrams

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse

    from training.data import Reviews

log = logging.getLogger(__name__)


def sentence_rows(
    encoder: Encoder,
    texts: Sequence[str],
    labels: Sequence[int],
    weight: float,
    per: WeightPer = "sentence",
) -> Rows:
    """One row per sentence of each of ``texts`` that holds a known term, labelled with
    its text's label and weighted ``weight`` (``per`` "sentence"), or ``weight`` divided
    by the number of its text's rows (``per`` "review": a review's sentences together
    weigh ``weight``, however many it has)."""
    import numpy as np

    sentence_labels: list[int] = []
    weights: list[float] = []

    def vectors() -> Iterator[SparseVector]:
        for text, label in zip(texts, labels, strict=True):
            known = [
                vector
                for vector in _sentence_vectors(encoder, text)
                if any(value != 0.0 for _, value in vector)
            ]
            share = weight / len(known) if per == "review" and known else weight
            sentence_labels.extend([label] * len(known))
            weights.extend([share] * len(known))
            yield from known

    x = vectors_matrix(vectors(), encoder.feature_count)
    y = np.array(sentence_labels, dtype=np.float32)
    log.info("%d sentence rows from %d reviews, weight %g per %s", len(y), len(texts), weight, per)
    return Rows(x, y, np.array(weights, dtype=np.float32))


def _sentence_vectors(encoder: Encoder, text: str) -> Iterator[SparseVector]:
    """The vector of each sentence of ``text``, as :func:`read` makes it: from the cached
    words where the tokenizer has them, else by reading ``text``."""
    tokenizer = encoder.tokenizer
    cached = None
    if isinstance(tokenizer, PretokenizedTokenizer):
        cached = tokenizer.sentence_words(text)
    if cached is None:
        # Every sentence: a text has fewer sentences than characters.
        for sentence in read(encoder, text, max_sentences=len(text)).sentences:
            yield sentence.vector
        return
    words, starts = cached
    ngram_range = encoder.vocabulary.tokenizer.ngram_range
    for a, b in itertools.pairwise([*starts, len(words)]):
        yield encoder.vector_of(ngrams(words[a:b], ngram_range))


def with_sentences(
    encoder: Encoder,
    fit: tuple[Reviews, scipy.sparse.csr_matrix, np.ndarray],
    validation: Reviews,
    weight: float,
    *,
    refit: bool,
    per: WeightPer = "sentence",
) -> tuple[Rows, Rows | None]:
    """The training rows (the fit reviews' rows ``fit[1:]`` at weight 1, then their
    sentences at ``weight`` ``per`` sentence or review) and what the refit adds after the
    validation reviews (their sentences, with ``refit``). With ``weight`` 0: the review rows
    alone, nothing added."""
    reviews, x, y = fit
    train = unweighted(x, y)
    if weight <= 0:
        return train, None
    train = stack(train, sentence_rows(encoder, reviews.texts, reviews.labels, weight, per))
    extra = (
        sentence_rows(encoder, validation.texts, validation.labels, weight, per) if refit else None
    )
    return train, extra


def sentence_counts(train: Rows, refit_extra: Rows | None, reviews: int) -> dict[str, int]:
    """How many sentence rows the fit (after its ``reviews`` review rows) and the refit
    trained on, for the run's metrics."""
    return {
        "sentence_rows": train.x.shape[0] - reviews,
        "refit_sentence_rows": 0 if refit_extra is None else refit_extra.x.shape[0],
    }
