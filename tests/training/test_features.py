"""Features come from vocab_store; the token cache is reused and never a pickle."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import STOPWORDS
from tests.training.conftest import NEGATIVE, POSITIVE
from training.features import (
    PretokenizedTokenizer,
    cache_key,
    encode_matrix,
    fit_vocabulary,
    tokenised,
    without_negations,
)
from vocab_store import Encoder, Tokenizer, TokenizerSettings, read_stopwords
from vocab_store.explain import sentence_starts

TEXTS = POSITIVE + NEGATIVE
LABELS = [1] * len(POSITIVE) + [0] * len(NEGATIVE)


@pytest.fixture
def settings() -> TokenizerSettings:
    stop = without_negations(read_stopwords(STOPWORDS))
    return TokenizerSettings(stopwords=stop, ngram_range=(1, 2))


def test_negations_are_kept_and_the_rest_removed() -> None:
    stop = read_stopwords(STOPWORDS)
    kept = without_negations(stop)
    for word in ("not", "no", "nor", "don't", "didn't", "isn't", "won't"):
        assert word in stop and word not in kept
    assert "the" in kept and "and" in kept


def test_cache_hit_skips_tokenising(
    tmp_path: Path, settings: TokenizerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tokenised(TEXTS, "sum1", settings, tmp_path, progress=False)
    docs, starts = first
    assert docs == [Tokenizer(settings).words(t) for t in TEXTS]
    # Where each sentence begins among the words, as vocab_store's sentence cutter says.
    assert starts == [sentence_starts(Tokenizer(settings), t)[1] for t in TEXTS]
    assert any(len(s) > 1 for s in starts)  # type: ignore[arg-type]  # none is None
    files = list(tmp_path.glob("words-*.npz"))
    assert len(files) == 1
    # An npz is a zip of .npy arrays; no member holds Python objects (loaded without pickle).
    with np.load(files[0], allow_pickle=False) as data:  # noqa: TID251 - no pickles
        assert {k: data[k].dtype.kind for k in data.files} == {
            "table": "U",
            "ids": "i",
            "offsets": "i",
            "starts": "i",
            "sentences": "i",
        }
    assert zipfile.is_zipfile(files[0])

    def boom(self: Tokenizer, text: str) -> list[str]:
        raise AssertionError("tokenised again despite the cache")

    monkeypatch.setattr(Tokenizer, "words", boom)
    monkeypatch.setattr(Tokenizer, "token_stems", boom)
    assert tokenised(TEXTS, "sum1", settings, tmp_path, progress=False) == first


def test_cache_key_follows_data_and_settings(settings: TokenizerSettings) -> None:
    key = cache_key("sum1", settings)
    assert cache_key("sum2", settings) != key
    assert cache_key("sum1", TokenizerSettings(stopwords=(), ngram_range=(1, 2))) != key
    assert cache_key("sum1", TokenizerSettings(stopwords=settings.stopwords, stemmer="none")) != key
    # Words do not depend on the n-gram range, so it may change without re-tokenising.
    assert cache_key("sum1", TokenizerSettings(stopwords=settings.stopwords)) == key


def test_damaged_cache_is_rebuilt(tmp_path: Path, settings: TokenizerSettings) -> None:
    tokenised(TEXTS, "sum1", settings, tmp_path, progress=False)
    (path,) = tmp_path.glob("words-*.npz")
    path.write_bytes(b"garbage")
    assert tokenised(TEXTS, "sum1", settings, tmp_path, progress=False)[0][0]


def test_vocabulary_weights_point_the_right_way(settings: TokenizerSettings) -> None:
    docs = [Tokenizer(settings).words(t) for t in TEXTS * 3]
    vocab = fit_vocabulary(docs, LABELS * 3, settings, max_terms=500, min_df=1)
    assert vocab.weights is not None and vocab.content_type == "text/libsvm"
    weight = dict(zip(vocab.terms, vocab.weights, strict=True))
    assert weight["great"] > 0 > weight["worst"]
    assert vocab.tokenizer.stopwords == settings.stopwords
    assert "not good" in vocab.index  # the negation survives into a word pair
    idf = fit_vocabulary(docs, LABELS * 3, settings, max_terms=500, min_df=1, weighting="idf")
    assert idf.weights is not None and min(idf.weights) >= 1.0


@pytest.mark.parametrize("content_type", ["text/csv", "text/libsvm"])
def test_matrix_rows_are_encoder_vectors(settings: TokenizerSettings, content_type: str) -> None:
    docs = [Tokenizer(settings).words(t) for t in TEXTS]
    vocab = fit_vocabulary(
        docs, LABELS, settings, max_terms=50, min_df=2, content_type=content_type
    )
    known = dict(zip(TEXTS, docs, strict=True))
    texts = [*TEXTS, "zzz qqq", "An unseen review that was great"]
    fast = encode_matrix(
        Encoder(vocab, PretokenizedTokenizer(settings, known)), texts, progress=False
    )
    plain = Encoder(vocab)
    for i, text in enumerate(texts):
        row = fast.getrow(i)
        assert list(zip(row.indices.tolist(), row.data.tolist(), strict=True)) == plain.vector(text)
    assert fast.shape == (len(texts), vocab.feature_count)
