"""Reviews to features, only through ``vocab_store``: the same code the Lambda runs.

- :func:`tokenised` turns texts into stemmed, stopword-free words with
  :class:`vocab_store.Tokenizer` and caches them on disk (``.npz`` without pickles), keyed by
  the data checksum and the tokenizer settings, so a second run skips the slow part. The
  cache also holds where each sentence begins among a review's words
  (:func:`vocab_store.explain.sentence_starts`), from which the sentence rows are built.
- :func:`fit_vocabulary` builds the vocabulary on the training split with
  :func:`vocab_store.build_vocabulary` and adds per-term weights.
- :func:`encode_matrix` builds a CSR matrix from :meth:`vocab_store.Encoder.vector`, the very
  pairs the request body is written from, so training sees what the endpoint is sent.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vocab_store import Encoder, Tokenizer, TokenizerSettings, Vocabulary, build_vocabulary
from vocab_store.encode import SparseVector
from vocab_store.explain import sentence_starts
from vocab_store.text import ngrams

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse

    from training.data import Reviews

log = logging.getLogger(__name__)

WEIGHTINGS = ("none", "idf", "nb")

# Negations carry sentiment ("not good"); NLTK's English list drops them all. Kept out of
# the stopword list by default (``keep_negations``) so that word pairs like "not good" exist.
_NEGATION_STEMS = (
    "ain aren couldn didn doesn don hadn hasn haven isn mightn mustn needn shan shouldn "
    "wasn weren won wouldn"
).split()
NEGATIONS = frozenset(
    ["no", "nor", "not", "never", *_NEGATION_STEMS, *(f"{w}'t" for w in _NEGATION_STEMS)]
    + ["can't", "cannot", "won't", "shan't"]
)


def without_negations(stopwords: Iterable[str]) -> tuple[str, ...]:
    """The stopword list minus negation words (``not``, ``no``, ``don't``, ...)."""
    return tuple(w for w in stopwords if w not in NEGATIONS)


class PretokenizedTokenizer(Tokenizer):
    """A :class:`vocab_store.Tokenizer` that already knows the words of some texts.

    It only skips repeated work: for a text it was given it returns the words the real
    tokenizer produced for that text (read from the cache); for any other text it runs the
    real tokenizer. N-grams and encoding stay in ``vocab_store``.
    """

    def __init__(
        self,
        settings: TokenizerSettings,
        known: dict[str, list[str]],
        sentences: dict[str, list[int]] | None = None,
    ) -> None:
        super().__init__(settings)
        self._known = known
        self._sentences = sentences or {}

    def words(self, text: str) -> list[str]:
        words = self._known.get(text)
        return list(words) if words is not None else super().words(text)

    def sentence_words(self, text: str) -> tuple[list[str], list[int]] | None:
        """The words of ``text`` and where each of its sentences begins among them
        (:func:`vocab_store.explain.sentence_starts`), when the cache holds them."""
        starts = self._sentences.get(text)
        return None if starts is None else (self._known[text], starts)


@dataclass
class Known:
    """What the token cache gave for some texts: each text's words and, where the cache
    holds them, where its sentences begin among those words."""

    words: dict[str, list[str]] = field(default_factory=dict)
    sentences: dict[str, list[int]] = field(default_factory=dict)

    def update(self, other: Known) -> None:
        """Add ``other``'s texts."""
        self.words.update(other.words)
        self.sentences.update(other.sentences)


def _settings_key(settings: TokenizerSettings) -> dict[str, Any]:
    # The words do not depend on the n-gram range, so changing it reuses the cache.
    data = settings.to_dict()
    data.pop("ngram_range")
    return data


def _tokenizer_code() -> str:
    # Settings do not capture every detail of the code (fast paths, fold tables), so the
    # tokenizer's own source is part of the key, and the sentence cutter's (with the token
    # spans it cuts at): editing either invalidates the cache.
    import vocab_store.explain
    import vocab_store.spans
    import vocab_store.text

    digest = hashlib.sha256(b"words+sentences, one reading")  # older caches marked [-1]
    for module in (vocab_store.text, vocab_store.spans, vocab_store.explain):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()


def cache_key(checksum: str, settings: TokenizerSettings) -> str:
    """Cache file stem for documents with ``checksum`` tokenised with ``settings`` by this
    version of ``vocab_store``'s tokenizer and sentence cutter and of nltk (whose stemmer
    it uses)."""
    from importlib.metadata import version

    blob = json.dumps(
        [checksum, _settings_key(settings), _tokenizer_code(), version("nltk")], sort_keys=True
    ).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def tokenised(
    texts: Sequence[str],
    checksum: str,
    settings: TokenizerSettings,
    cache_dir: Path | None,
    *,
    progress: bool = True,
    label: str = "tokenise",
) -> tuple[list[list[str]], list[list[int]]]:
    """The words (:meth:`Tokenizer.words`) of each text and where its sentences begin among
    them (:func:`vocab_store.explain.sentence_starts`), from the cache when it has them.

    The cache is an ``.npz`` of a word table and integer ids, loaded with
    ``allow_pickle=False``; it is written atomically and a damaged one is rebuilt.
    """
    import numpy as np

    path = None if cache_dir is None else cache_dir / f"words-{cache_key(checksum, settings)}.npz"
    if path is not None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:  # noqa: TID251 - no pickles
                table = data["table"].tolist()
                ids = data["ids"].tolist()
                offsets = data["offsets"].tolist()
                starts = data["starts"].tolist()
                cuts = data["sentences"].tolist()
            if len(offsets) == len(texts) + 1 == len(cuts):
                log.info("%s: %d documents from cache %s", label, len(texts), path.name)
                docs = [[table[i] for i in ids[a:b]] for a, b in itertools.pairwise(offsets)]
                return docs, [starts[a:b] for a, b in itertools.pairwise(cuts)]
            log.warning("cache %s has the wrong size; rebuilding it", path)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("cache %s is unreadable (%s); rebuilding it", path, exc)

    # One reading of each text: sentence_starts' words are exactly Tokenizer.words
    # (Tokenizer.token_stems' contract, tests/vocab_store/test_spans.py).
    tokenizer = Tokenizer(settings)
    docs = []
    sentences: list[list[int]] = []
    for text in _bar(texts, label, progress):
        words, starts = sentence_starts(tokenizer, text)
        docs.append(words)
        sentences.append(starts)
    if path is not None:
        _write_cache(path, docs, sentences)
    return docs, sentences


def words_by_text(
    full: Reviews,
    parts: Sequence[Reviews],
    settings: TokenizerSettings,
    cache_dir: Path | None,
    progress: bool,
) -> Known:
    """Words and sentence starts (:func:`tokenised`) of every text in ``parts``,
    samples of ``full``. A run on all of ``full`` tokenises (or reads from the cache) the
    whole of it, so the cache serves any seed; a limited run only its samples."""
    limited = sum(len(p) for p in parts) < len(full)
    sources = parts if limited else [full]
    known = Known()
    for src in sources:
        docs, starts = tokenised(src.texts, src.checksum, settings, cache_dir, progress=progress)
        known.words.update(zip(src.texts, docs, strict=True))
        known.sentences.update(zip(src.texts, starts, strict=True))
    return known


def _write_cache(path: Path, docs: list[list[str]], sentences: list[list[int]]) -> None:
    import numpy as np

    table: dict[str, int] = {}
    ids = [table.setdefault(w, len(table)) for doc in docs for w in doc]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        np.savez(
            fh,
            table=np.array(list(table) or [""], dtype=str),
            ids=np.array(ids, dtype=np.int32),
            offsets=_offsets(docs),
            starts=np.array([s for cut in sentences for s in cut], dtype=np.int32),
            sentences=_offsets(sentences),
        )
    tmp.replace(path)
    log.info("cached %d tokenised documents in %s", len(docs), path)


def _offsets(lists: Sequence[Sequence[Any]]) -> np.ndarray:
    import numpy as np

    return np.cumsum([0, *map(len, lists)], dtype=np.int64)


def _bar(items: Sequence[Any], label: str, enabled: bool) -> Iterable[Any]:
    if not enabled or len(items) < 2000:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="doc", leave=False, mininterval=1.0)


def fit_vocabulary(
    docs: Sequence[list[str]],
    labels: Sequence[int],
    settings: TokenizerSettings,
    *,
    max_terms: int,
    min_df: int,
    weighting: str = "nb",
    values: str = "binary",
    norm: str = "l2",
    content_type: str = "text/libsvm",
    nb_alpha: float = 1.0,
    progress: bool = False,
) -> Vocabulary:
    """The vocabulary of the training documents (their words, from :func:`tokenised`).

    Terms are the ``max_terms`` most frequent n-grams with document frequency ``min_df`` or
    more (``vocab_store.build_vocabulary``). ``weighting`` sets per-term weights that the
    encoder multiplies in: ``idf`` (smoothed inverse document frequency), ``nb`` (naive
    Bayes log-count ratio, Wang & Manning 2012: log of how much more often a term occurs in
    positive than negative reviews) or ``none``.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}")
    rng = settings.ngram_range
    vocab = build_vocabulary(
        (ngrams(d, rng) for d in _bar(docs, "vocabulary", progress)),
        settings,
        max_terms=max_terms,
        min_df=min_df,
        values=values,
        norm=norm,
        content_type=content_type,
    )
    df = list(vocab.extra["document_frequency"])
    extra: dict[str, Any] = {"document_frequency": df, "weighting": weighting}
    weights: tuple[float, ...] | None = None
    if weighting == "idf":
        n = len(docs)
        weights = tuple(math.log((1 + n) / (1 + d)) + 1.0 for d in df)
    elif weighting == "nb":
        pos = _positive_df(docs, labels, vocab)
        n_pos = sum(1 for y in labels if y == 1)
        n_neg = len(labels) - n_pos
        weights = tuple(
            _nb_ratio(p, d - p, n_pos, n_neg, nb_alpha) for p, d in zip(pos, df, strict=True)
        )
        extra["nb_alpha"] = nb_alpha
    return replace(vocab, weights=weights, extra=extra)


def _nb_ratio(pos: int, neg: int, n_pos: int, n_neg: int, alpha: float) -> float:
    # Document-frequency form of the NB log-count ratio, rounded so the JSON stays short.
    return round(math.log(((pos + alpha) / (n_pos + alpha)) / ((neg + alpha) / (n_neg + alpha))), 6)


def _positive_df(docs: Sequence[list[str]], labels: Sequence[int], vocab: Vocabulary) -> list[int]:
    index = vocab.index
    rng = vocab.tokenizer.ngram_range
    counts = [0] * vocab.feature_count
    for doc, label in zip(docs, labels, strict=True):
        if label != 1:
            continue
        for term in set(ngrams(doc, rng)):
            col = index.get(term)
            if col is not None:
                counts[col] += 1
    return counts


def encode_matrix(
    encoder: Encoder, texts: Sequence[str], *, progress: bool = True, label: str = "encode"
) -> scipy.sparse.csr_matrix:
    """A CSR matrix whose row ``i`` holds exactly ``encoder.vector(texts[i])``.

    For libsvm vocabularies an empty review keeps the explicit ``(0, 0.0)`` entry the body
    carries (``1:0``); for a linear booster it adds nothing, as in the container.
    """
    return vectors_matrix(
        (encoder.vector(text) for text in _bar(texts, label, progress)), encoder.feature_count
    )


def vectors_matrix(vectors: Iterable[SparseVector], width: int) -> scipy.sparse.csr_matrix:
    """A CSR matrix ``width`` columns wide whose row ``i`` holds the ``i``-th vector's
    ``(column, value)`` pairs, as they are. Typed arrays, not lists: millions of entries."""
    from array import array

    import numpy as np
    import scipy.sparse

    indptr = array("q", [0])
    cols = array("q")
    vals = array("d")
    for vector in vectors:
        for col, value in vector:
            cols.append(col)
            vals.append(value)
        indptr.append(len(cols))
    return scipy.sparse.csr_matrix(
        (np.frombuffer(vals, dtype=np.float64), np.frombuffer(cols, dtype=np.int64), indptr),
        shape=(len(indptr) - 1, width),
    )
