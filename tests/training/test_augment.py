"""Sentence rows: the API's own sentence rows of the training reviews, labelled with their
review's label and weighted; only reviews the model trains on give them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import STOPWORDS
from tests.training.conftest import NEGATIVE, POSITIVE
from training.augment import sentence_counts, sentence_rows, with_sentences
from training.data import Reviews, load_split, sample
from training.features import (
    PretokenizedTokenizer,
    encode_matrix,
    fit_vocabulary,
    tokenised,
    without_negations,
)
from vocab_store import Encoder, Tokenizer, TokenizerSettings, read_stopwords
from vocab_store.explain import read

SETTINGS = TokenizerSettings(stopwords=(), ngram_range=(1, 2))
TEXTS = [
    "A wonderful film. The acting was great!<br /><br />I loved it",
    "Dull and slow... The worst plot ever? qqq zzz. Awful",
]


@pytest.fixture(scope="module", params=["text/csv", "text/libsvm"])
def encoder(request: pytest.FixtureRequest) -> Encoder:
    texts = POSITIVE + NEGATIVE
    docs = [Tokenizer(SETTINGS).words(t) for t in texts]
    labels = [1] * len(POSITIVE) + [0] * len(NEGATIVE)
    vocab = fit_vocabulary(
        docs, labels, SETTINGS, max_terms=80, min_df=1, content_type=request.param
    )
    return Encoder(vocab)


def _pairs(matrix: object, i: int) -> list[tuple[int, float]]:
    row = matrix.getrow(i)  # type: ignore[attr-defined]
    return list(zip(row.indices.tolist(), row.data.tolist(), strict=True))


def test_rows_are_the_sentence_rows_the_api_sends(encoder: Encoder) -> None:
    rows = sentence_rows(encoder, TEXTS, [1, 0], 0.25)
    expected = [
        (s.vector, label)
        for text, label in zip(TEXTS, [1, 0], strict=True)
        for s in read(encoder, text).sentences
        if any(v != 0.0 for _, v in s.vector)
    ]
    # Sentences with no known term ("qqq zzz.") add nothing but a push on the bias: left out.
    total = sum(len(read(encoder, t).sentences) for t in TEXTS)
    assert 0 < len(expected) < total
    assert rows.x.shape == (len(expected), encoder.feature_count)
    for i, (vector, label) in enumerate(expected):
        assert _pairs(rows.x, i) == vector
        assert rows.y[i] == label
    assert np.all(rows.weight == np.float32(0.25))


def test_a_reviews_sentences_share_its_weight_per_review(encoder: Encoder) -> None:
    # Three reviews of 1, 3 and 6 sentences with known terms: their rows weigh 1/1, 1/3 and
    # 1/6 of the weight, so each review's sentences together weigh the weight.
    texts = ["A wonderful film", *TEXTS[:1], " ".join(["The worst plot ever."] * 6)]
    counts = [len(sentence_rows(encoder, [t], [1], 1.0).y) for t in texts]
    assert counts == [1, 3, 6]
    rows = sentence_rows(encoder, texts, [1, 1, 0], 0.6, per="review")
    each = sentence_rows(encoder, texts, [1, 1, 0], 0.6, per="sentence")
    assert (rows.x != each.x).nnz == 0 and rows.y.tolist() == each.y.tolist()
    assert rows.weight.tolist() == pytest.approx([0.6] + [0.2] * 3 + [0.1] * 6)
    assert each.weight.tolist() == pytest.approx([0.6] * 10)
    # A sentence with no known term is no row and takes no share ("qqq zzz." of TEXTS[1]).
    mixed = sentence_rows(encoder, TEXTS[1:], [0], 1.0, per="review")
    assert len(mixed.y) == len(read(encoder, TEXTS[1]).sentences) - 1
    assert float(mixed.weight.sum()) == pytest.approx(1.0)


def test_every_sentence_of_a_long_review_is_a_row(encoder: Encoder) -> None:
    text = " ".join(["A wonderful film."] * 60)  # more sentences than the API scores
    assert sentence_rows(encoder, [text], [1], 1.0).x.shape[0] == 60


def test_training_rows_are_the_reviews_then_their_sentences(encoder: Encoder) -> None:
    fit = Reviews(("a", "b"), tuple(TEXTS), (1, 0), "fit")
    val = Reviews(("c",), ("The acting was great. A wonderful film",), (1,), "val")
    x = encode_matrix(encoder, fit.texts, progress=False)
    y = np.array(fit.labels, dtype=np.float32)
    train, extra = with_sentences(encoder, (fit, x, y), val, 0.1, refit=True)
    snippets = sentence_rows(encoder, fit.texts, fit.labels, 0.1)
    assert train.x.shape[0] == 2 + snippets.x.shape[0]
    assert (train.x[:2] != x).nnz == 0 and (train.x[2:] != snippets.x).nnz == 0
    assert train.weight.tolist() == [1.0, 1.0] + [pytest.approx(0.1)] * snippets.x.shape[0]
    assert extra is not None and extra.y.tolist() == [1.0, 1.0]
    assert sentence_counts(train, extra, 2) == {
        "sentence_rows": snippets.x.shape[0],
        "refit_sentence_rows": 2,
    }
    # Without a refit the validation reviews give no rows; weight 0 adds nothing at all.
    assert with_sentences(encoder, (fit, x, y), val, 0.1, refit=False)[1] is None
    alone, none = with_sentences(encoder, (fit, x, y), val, 0.0, refit=True)
    assert alone.x.shape[0] == 2 and none is None


# What the cached path must survive besides ordinary reviews: one sentence, HTML breaks and
# entities, non-ASCII (folded quotes, NFKC, accents), a sentence of stopwords only, a sentence
# of no known term, stops with nothing between them, no words at all.
EDGE_TEXTS = [
    "Great",
    "A wonderful film.<br /><br />The acting &amp; the score were great!<br>Loved it",
    "Ce film était magnifique… l’acteur “brilliant”. Ｆｕｌｌｗｉｄｔｈ ｇｒｅａｔ! Naïve plot?!",
    "It was. The end. Awful",
    "qqq zzz xyzzy. Worst film ever!!! ... ?? Bad",
    "",
    "...",
    "don’t watch it.\nNot good\n\nnot bad either",
]


@pytest.mark.parametrize("content_type", ["text/csv", "text/libsvm"])
def test_rows_from_the_token_cache_are_the_rows_read_from_the_text(
    imdb_sample: Path, content_type: str
) -> None:
    # The training's settings (stopwords without negations, stemming, bigrams) on real
    # reviews: the rows built from the cached words equal those read() makes, row for row.
    reviews = sample(load_split(imdb_sample, "train"), seed=3, limit=300)
    texts = [*reviews.texts, *EDGE_TEXTS]
    labels = [*reviews.labels, *[i % 2 for i in range(len(EDGE_TEXTS))]]
    settings = TokenizerSettings(
        stopwords=without_negations(read_stopwords(STOPWORDS)), ngram_range=(1, 2)
    )
    docs, starts = tokenised(texts, "edge", settings, None, progress=False)
    # One reading gives the words too: exactly the tokenizer's (what the cache once checked
    # text by text), and every text takes the cached path.
    assert docs == [Tokenizer(settings).words(t) for t in texts]
    assert len(starts) == len(texts)
    vocab = fit_vocabulary(
        docs[:-8], labels[:-8], settings, max_terms=3000, min_df=2, content_type=content_type
    )
    known = dict(zip(texts, docs, strict=True))
    cuts = dict(zip(texts, starts, strict=True))
    cached = sentence_rows(
        Encoder(vocab, PretokenizedTokenizer(settings, known, cuts)), texts, labels, 0.5
    )
    read_rows = sentence_rows(Encoder(vocab), texts, labels, 0.5)
    assert cached.x.shape == read_rows.x.shape and cached.x.shape[0] > 3 * len(reviews)
    assert (cached.x != read_rows.x).nnz == 0
    assert np.array_equal(cached.x.indptr, read_rows.x.indptr)
    assert np.array_equal(cached.x.data, read_rows.x.data)
    assert cached.y.tolist() == read_rows.y.tolist()
    assert cached.weight.tolist() == read_rows.weight.tolist()
