"""Many reviews at once into the matrix the XGBoost container reads from their libsvm body.

The API encodes one review at a time (:meth:`vocab_store.Encoder.vector`, pure Python, no
numpy in the Lambda). Scoring a file encodes hundreds of thousands, and there the per-review
Python work is the cost: every n-gram joined into a new string and hashed, every column
looked up, sorted and weighted one at a time. :class:`MatrixEncoder` does the same
arithmetic for a whole chunk with numpy: the tokenizer's words (the Encoder's own
:class:`~vocab_store.text.Tokenizer`) become word ids, an n-gram is found by the integer key
of its word ids, and the values follow the vocabulary's rule (binary, count or log count;
weights; zeros dropped; L2 by the exactly rounded ``math.fsum``, as the Encoder does). The
result equals :meth:`Encoder.vector` value for value (tests/training/test_score_matrix.py
compares them on real reviews and on generated vocabularies of every setting), and the
matrix is the one the container parses from the body written in float32's 9 digits, which
read back as exactly these float32 values; so the probability is the endpoint's, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, pairwise, repeat
from typing import TYPE_CHECKING

import numpy as np

from vocab_store import Encoder
from vocab_store.encode import SparseVector

if TYPE_CHECKING:
    import xgboost

_KEY_LIMIT = 2**62  # n-gram keys are int64: W ** n must stay below this
# Token to word id, as the tokenizer's stem memo: tokens of at most 30 characters, at most
# 150,000 of them (then it starts over): at worst some 25 MB (ASCII) to 60 MB (letters beyond
# the BMP), and the tokenizer's stem memo, filled alongside it, as much again.
_MEMO_TOKEN_LENGTH = 30
_MEMO_ENTRIES = 150_000
_STOPWORD = -2
_UNSEEN = -3


@dataclass(frozen=True)
class SparseRows:
    """Rows in CSR form: row ``i`` is ``columns[indptr[i]:indptr[i+1]]`` (0-based, sorted)
    with ``values`` (float64, as the Encoder computes them); ``known[i]`` is whether the
    row has a non-zero value (a review with no known term is the explicit ``1:0``)."""

    indptr: np.ndarray
    columns: np.ndarray
    values: np.ndarray
    known: list[bool]

    def dmatrix(self) -> xgboost.DMatrix:
        """The matrix the container makes of these rows' libsvm body: float32 values, the
        explicit zeros kept, as many columns as the highest index used."""
        import xgboost as xgb
        from scipy.sparse import csr_matrix

        rows = len(self.indptr) - 1
        width = int(self.columns.max()) + 1 if len(self.columns) else 0
        matrix = csr_matrix(
            (self.values.astype(np.float32), self.columns, self.indptr), shape=(rows, width)
        )
        # One thread: the pool already has a process per core.
        return xgb.DMatrix(matrix, nthread=1)


def rows_of(vectors: Sequence[SparseVector]) -> SparseRows:
    """:class:`SparseRows` of vectors from :meth:`Encoder.vector`."""
    indptr = np.fromiter(
        accumulate(map(len, vectors), initial=0), dtype=np.int64, count=len(vectors) + 1
    )
    columns = np.array([c for vector in vectors for c, _ in vector], dtype=np.int32)
    values = np.array([v for vector in vectors for _, v in vector], dtype=np.float64)
    known = [any(v != 0.0 for _, v in vector) for vector in vectors]
    return SparseRows(indptr, columns, values, known)


def _counted(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``code``, sorted, and how often each occurs (``np.unique``,
    by sorting: for a chunk's few hundred thousand small integers several times faster
    than its hashing)."""
    code = np.sort(code)
    if not len(code):
        return code, code
    first = np.empty(len(code), dtype=bool)
    first[0] = True
    np.not_equal(code[1:], code[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return code[starts], np.diff(starts, append=len(code))


class _Ngrams:
    """The vocabulary's n-grams of one length: their integer keys (word ids in base
    ``base``), sorted, with their columns; and for each position, which word ids occur
    there in some n-gram (the last entry, where id -1 lands, is False)."""

    def __init__(self, ids: list[tuple[int, ...]], columns: list[int], base: int) -> None:
        keys = np.zeros(len(ids), dtype=np.int64)
        grid = np.array(ids, dtype=np.int64).reshape(len(ids), -1)
        self.seen = []
        for position in range(grid.shape[1]):
            keys = keys * base + grid[:, position]
            seen = np.zeros(base + 1, dtype=bool)
            seen[grid[:, position]] = True
            self.seen.append(seen)
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.columns = np.array(columns, dtype=np.int64)[order]


class MatrixEncoder:
    """:meth:`Encoder.vector` of many reviews at once, as :class:`SparseRows`. Build one per
    encoder (it holds the vocabulary's terms as word-id keys)."""

    def __init__(self, encoder: Encoder) -> None:
        vocabulary = encoder.vocabulary
        self.encoder = encoder
        self._tokenizer = encoder.tokenizer
        self._low, self._high = vocabulary.tokenizer.ngram_range
        self._width = vocabulary.feature_count
        self._values = vocabulary.values
        self._l2 = vocabulary.norm == "l2"
        weights = vocabulary.weights
        self._weights = None if weights is None else np.array(weights, dtype=np.float64)
        # Every word of an n-gram the encoder could produce; terms of another length never
        # match (the tokenizer makes no such term), so they are left out.
        self._word_ids: dict[str, int] = {}
        self._token_ids: dict[str, int] = {}
        grams: dict[int, tuple[list[tuple[int, ...]], list[int]]] = {}
        for term, column in vocabulary.index.items():
            words = term.split(" ")
            if not self._low <= len(words) <= self._high:
                continue
            ids = tuple(self._word_ids.setdefault(w, len(self._word_ids)) for w in words)
            found = grams.setdefault(len(words), ([], []))
            found[0].append(ids)
            found[1].append(column)
        self._base = max(len(self._word_ids), 1)
        self.exact = self._base**self._high < _KEY_LIMIT
        # Column of each word id that is a term itself; -1 for the others and for id -1.
        self._unigrams = np.full(self._base + 1, -1, dtype=np.int64)
        self._grams: dict[int, _Ngrams] = {}
        for size, (ids_list, columns) in grams.items():
            if size == 1:
                self._unigrams[[ids[0] for ids in ids_list]] = columns
            elif self.exact:
                self._grams[size] = _Ngrams(ids_list, columns, self._base)

    def rows(self, texts: Sequence[str]) -> SparseRows:
        """Every text's vector, exactly :meth:`Encoder.vector`'s, as :class:`SparseRows`."""
        if not self.exact:
            # Word ids too many for an int64 key of the longest n-gram: one at a time.
            return rows_of([self.encoder.vector(text) for text in texts])
        count = len(texts)
        ids, owner = self._word_ids_of(texts)
        found_rows, found_cols = self._terms(ids, owner)
        code = found_rows * self._width + found_cols
        if count * self._width < 2**31:
            code = code.astype(np.int32)  # sorts in about half the time
        code, counts = _counted(code)
        if self._values == "binary":
            values = np.ones(len(code), dtype=np.float64)
        else:
            values = self._count_values(counts)
        rows, columns = np.divmod(code, self._width)
        if self._weights is not None:
            weights = self._weights[columns]
            values = weights if self._values == "binary" else values * weights
            kept = values != 0.0
            if not kept.all():
                rows, columns, values = rows[kept], columns[kept], values[kept]
        per_row = np.bincount(rows, minlength=count)
        if self._l2 and len(values):
            values = values / np.repeat(self._scales(values, per_row), per_row)
        known = np.bincount(rows, weights=values != 0.0, minlength=count) > 0
        empty = per_row == 0
        if empty.any():
            # The libsvm row of a review with no known term is "1:0": an explicit zero.
            at = np.cumsum(per_row)[empty] - per_row[empty]
            columns = np.insert(columns, at, 0)
            values = np.insert(values, at, 0.0)
            per_row = np.where(empty, 1, per_row)
        indptr = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(per_row, out=indptr[1:])
        return SparseRows(indptr, columns.astype(np.int32), values, known.tolist())

    def _word_ids_of(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The word id of every word of ``texts`` (-1: in no term), stopwords left out, and
        the index of the text each is in."""
        tokens = [self._tokenizer.tokens(text) for text in texts]
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(texts))
        flat = list(chain.from_iterable(tokens))
        ids = np.fromiter(
            map(self._token_ids.get, flat, repeat(_UNSEEN)), dtype=np.int64, count=len(flat)
        )
        unseen = np.flatnonzero(ids == _UNSEEN)
        if len(unseen):
            missed = [flat[at] for at in unseen.tolist()]
            learnt = {token: self._learn(token) for token in set(missed)}
            ids[unseen] = np.fromiter(map(learnt.__getitem__, missed), np.int64, len(missed))
        owner = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        kept = ids != _STOPWORD
        if not kept.all():
            ids, owner = ids[kept], owner[kept]
        return ids, owner

    def _learn(self, token: str) -> int:
        """A token's word id, or :data:`_STOPWORD`; remembered when short, in a memo of
        bounded size (as the tokenizer's own), so hostile input cannot grow it."""
        word = self._tokenizer.word(token)
        found = _STOPWORD if word is None else self._word_ids.get(word, -1)
        if len(token) <= _MEMO_TOKEN_LENGTH:
            if len(self._token_ids) >= _MEMO_ENTRIES:
                self._token_ids.clear()
            self._token_ids[token] = found
        return found

    def _terms(self, ids: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every term occurrence: the words, then each n-gram length."""
        found_rows: list[np.ndarray] = []
        found_cols: list[np.ndarray] = []
        for size in range(self._low, self._high + 1):
            starts = len(ids) - size + 1
            if starts <= 0:
                continue
            if size == 1:
                columns = self._unigrams[ids]
                hit = columns >= 0
                found_rows.append(owner[hit])
                found_cols.append(columns[hit])
                continue
            grams = self._grams.get(size)
            if grams is None:
                continue
            # An n-gram starts at each word whose n - 1 followers are in its review, and
            # only where each word can be at its place in one of the vocabulary's n-grams.
            within = owner[:starts] == owner[size - 1 :]
            for position, seen in enumerate(grams.seen):
                within &= seen[ids[position : position + starts]]
            at = np.flatnonzero(within)
            key = ids[at]
            for position in range(1, size):
                key = key * self._base + ids[at + position]
            found = np.searchsorted(grams.keys, key)
            found[found == len(grams.keys)] = 0
            hit = grams.keys[found] == key
            found_rows.append(owner[at[hit]])
            found_cols.append(grams.columns[found[hit]])
        if not found_rows:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        return np.concatenate(found_rows), np.concatenate(found_cols)

    def _count_values(self, counts: np.ndarray) -> np.ndarray:
        if self._values == "count":
            return counts.astype(np.float64)
        # 1 + log(count) by math.log, the Encoder's own function (numpy's log may differ in
        # the last bit); counts are small integers, so a table of them.
        table = np.array(
            [0.0] + [1.0 + math.log(c) for c in range(1, int(counts.max(initial=0)) + 1)]
        )
        return table[counts]

    @staticmethod
    def _scales(values: np.ndarray, per_row: np.ndarray) -> np.ndarray:
        # The Encoder's sqrt(fsum(v * v)) per row: fsum is exactly rounded, numpy's sum is
        # not, so the squares are summed by fsum, one row at a time.
        squares = (values * values).tolist()
        bounds = [0, *accumulate(per_row.tolist())]
        fsum, sqrt = math.fsum, math.sqrt
        return np.array([sqrt(fsum(squares[a:b])) if b > a else 1.0 for a, b in pairwise(bounds)])
