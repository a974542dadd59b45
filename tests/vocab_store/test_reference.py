"""The fast encoder against a plain reference: byte-identical bodies on real IMDB reviews.

The encoder is tuned for speed (memo lookups at C speed, sets instead of counts for binary
values, formatting without Python loops). The reference below is the contract written the
obvious way, one step per line, with nothing cached but Porter's stems. Every body the
encoder makes for 2,000 IMDB test reviews (and a few hostile ones) must be exactly the
reference's, in every value mode, weighting, norm and wire format, and the evidence path
must read the same vector and words.
"""

from __future__ import annotations

import dataclasses
import gzip
import html
import json
import math
import random
import re
import unicodedata
from array import array
from collections import Counter
from functools import cache
from typing import Any

import pytest
from nltk.stem.porter import PorterStemmer

from tests.conftest import IMDB_DIR, STOPWORDS
from vocab_store import (
    Encoder,
    Tokenizer,
    TokenizerSettings,
    Vocabulary,
    build_vocabulary,
    read_stopwords,
)
from vocab_store.explain import read
from vocab_store.text import _FOLD, TOKEN_PATTERN

# Long (encodes thousands of reviews twice): handed to a worker first (tests/conftest.py).
pytestmark = pytest.mark.heavy

HOSTILE = [
    "",
    "<br /><br />",
    "Don’t miss it — ﬁne film &amp; great İstanbul ＡＢＣ café e\u0301 &#39;ok&#39; &nbsp;",
    "x" * 500 + " good good GOOD",
    'Wow!!! "Great." Really?! <br>Bad… end a_b_c `quoted` \ud800 lone',
]


MOST_REVIEWS = 2000  # the most any case reads


def _reviews(name: str, n: int, seed: int) -> list[str]:
    assert n <= MOST_REVIEWS
    return list(_shuffled(name, seed)[:n])


@cache
def _shuffled(name: str, seed: int) -> tuple[str, ...]:
    """The file's reviews shuffled by ``seed`` (the first 2,000): read once for all cases."""
    with gzip.open(IMDB_DIR / name, "rt", encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    random.Random(seed).shuffle(texts)
    return tuple(texts[:MOST_REVIEWS])


@cache
def _porter(word: str) -> str:
    return _stemmer().stem(word)


@cache
def _stemmer() -> PorterStemmer:
    return PorterStemmer()


def reference_terms(text: str, s: TokenizerSettings) -> list[str]:
    """Normalise, tokenise, drop stopwords, stem and join n-grams, the obvious way."""
    if s.strip_html:
        text = html.unescape(re.sub(r"<[^>]{0,2000}>", " ", text))
    text = unicodedata.normalize("NFKC", text.translate(_FOLD)).translate(_FOLD)
    text = text.encode("utf-8", "ignore").decode("utf-8").replace("_", " ")
    if s.lowercase:
        text = text.lower()
    words = []
    for token in re.findall(TOKEN_PATTERN, text):
        if len(token) > 200:
            words.append(token)
        elif token not in s.stopwords:
            words.append(_porter(token) if s.stemmer == "porter" else token)
    low, high = s.ngram_range
    return [
        " ".join(words[i : i + n]) for n in range(low, high + 1) for i in range(len(words) - n + 1)
    ]


def reference_vector(text: str, v: Vocabulary) -> list[tuple[int, float]]:
    counts = Counter(v.index[t] for t in reference_terms(text, v.tokenizer) if t in v.index)
    pairs = []
    for col in sorted(counts):
        n = counts[col]
        value = (
            1.0 if v.values == "binary" else float(n) if v.values == "count" else 1 + math.log(n)
        )
        if v.weights is not None:
            value *= v.weights[col]
        if value != 0.0:
            pairs.append((col, value))
    if v.norm == "l2" and pairs:
        scale = math.sqrt(math.fsum(value * value for _, value in pairs))
        pairs = [(col, value / scale) for col, value in pairs]
    return pairs


def reference_row(text: str, v: Vocabulary) -> str:
    """Values as float32 in 9 significant digits; libsvm 1-based (``1:0`` for nothing)."""
    pairs = reference_vector(text, v)
    texts = {col: f"{array('f', [value])[0]:.9g}" for col, value in pairs}
    if v.content_type == "text/csv":
        return ",".join(texts.get(col, "0") for col in range(v.feature_count))
    return " ".join(f"{col + 1}:{value}" for col, value in texts.items()) or "1:0"


@cache
def _tokenizer(settings: TokenizerSettings) -> Tokenizer:
    """One tokenizer per settings for the whole module: its memo learns each word's stem
    once, not once per case (the reference keeps its own cache of Porter's stems)."""
    return Tokenizer(settings)


@cache
def _vocabulary(case: str) -> Vocabulary:
    """The case's vocabulary of 3,000 terms, weighted with both signs and some zeros."""
    token_kwargs, vocab_kwargs, _ = CASES[case]
    settings = TokenizerSettings(stopwords=read_stopwords(STOPWORDS), **token_kwargs)
    tok = _tokenizer(settings)
    train = _reviews("train.jsonl.gz", 800, 0)
    base = build_vocabulary((tok.terms(t) for t in train), settings, max_terms=3000, **vocab_kwargs)
    weights = tuple(((i * 7919) % 13 - 6) / 5 for i in range(base.feature_count))
    return dataclasses.replace(base, weights=weights)


CASES: dict[str, tuple[dict[str, Any], dict[str, Any], int]] = {
    "default": (
        dict(ngram_range=(1, 2)),
        dict(values="binary", norm="l2", content_type="text/libsvm"),
        2000,
    ),
    "count-csv-1-3": (dict(ngram_range=(1, 3)), dict(values="count"), 300),
    "log_count-l2-2-3-as-typed": (
        dict(ngram_range=(2, 3), stemmer="none", lowercase=False, strip_html=False),
        dict(values="log_count", norm="l2", content_type="text/libsvm"),
        300,
    ),
}


@pytest.mark.parametrize("weighted", [True, False], ids=["weighted", "unweighted"])
@pytest.mark.parametrize("case", list(CASES))
def test_bodies_are_the_reference_s_byte_for_byte(case: str, weighted: bool) -> None:
    vocab = _vocabulary(case)
    if not weighted:
        vocab = dataclasses.replace(vocab, weights=None)
    # 2,000 reviews where it matters most (the default, weighted), 300 elsewhere.
    n = CASES[case][2] if weighted else 300
    texts = _reviews("test.jsonl.gz", n, 1) + HOSTILE
    encoder = Encoder(vocab, _tokenizer(vocab.tokenizer))
    for text in texts:
        assert encoder.body(text).decode("ascii") == reference_row(text, vocab), text[:80]
    assert (
        encoder.body(texts[:50]) == "\n".join(reference_row(t, vocab) for t in texts[:50]).encode()
    )


def test_the_evidence_path_reads_the_reference_s_vector_and_words() -> None:
    vocab = _vocabulary(next(iter(CASES)))
    settings = vocab.tokenizer
    encoder = Encoder(vocab, _tokenizer(vocab.tokenizer))
    for text in _reviews("test.jsonl.gz", 500, 1) + HOSTILE:
        reading = read(encoder, text)
        words = [w for w, _, _ in encoder.tokenizer.token_words(text) if w is not None]
        unigrams = reference_terms(text, dataclasses.replace(settings, ngram_range=(1, 1)))
        assert words == unigrams
        assert [t for t, _, _ in reading.terms] == reference_terms(text, settings)
        assert reading.vector == (reference_vector(text, vocab) or [(0, 0.0)])
