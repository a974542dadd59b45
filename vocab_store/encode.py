"""A review to the request body the SageMaker XGBoost endpoint reads.

Two wire formats, chosen per vocabulary (``content_type``):

- ``text/csv``: one dense row of exactly ``feature_count`` fields, no header, no trailing
  comma. A 0 is a value.
- ``text/libsvm``: ``index:value`` pairs with **1-based** indices (the container shifts rows
  whose smallest index is >= 1 to 0-based columns; 0-based rows would be silently misread).
  An absent column is *missing*. A review with no known term is sent as ``1:0`` so that the
  row exists at all (a blank line would drop the row).

Many reviews become one multi-row body, one row per line. Training builds its matrices from
:meth:`Encoder.vector`, so what the model learnt from is exactly what the endpoint is sent.

Values are written as the float32 the container holds them in (XGBoost's matrices are
float32, in training too), in 9 significant digits: always enough for the text to parse
back to exactly that float32, and about half the bytes and time of a double's ``repr``.
"""

from __future__ import annotations

import math
import operator
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain, compress

from vocab_store.text import Tokenizer
from vocab_store.vocabulary import Vocabulary

SparseVector = list[tuple[int, float]]
_COLUMN = operator.itemgetter(0)
_ONE = 1
_INDEX = re.compile(r"(?:^| )(\d+):")


def format_value(value: float) -> str:
    """Shortest text that parses back to exactly ``value`` (``1`` for 1.0)."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def float32_texts(values: Iterable[float]) -> list[str]:
    """Each value as the float32 XGBoost will hold, in 9 significant digits (trailing zeros
    dropped: ``1`` for 1.0), which always parse back to exactly that float32; not always
    the shortest such text (0.1 is written ``0.100000001``)."""
    return [f"{v:.9g}" for v in array("f", values)]


class Encoder:
    """Encodes reviews with one vocabulary. Cheap to call; build one per vocabulary."""

    def __init__(self, vocabulary: Vocabulary, tokenizer: Tokenizer | None = None) -> None:
        self.vocabulary = vocabulary
        self.tokenizer = tokenizer or Tokenizer(vocabulary.tokenizer)
        self._index = vocabulary.index
        self._weights = vocabulary.weights
        self._width = vocabulary.feature_count
        self._libsvm = vocabulary.content_type == "text/libsvm"
        self._binary = vocabulary.values == "binary"
        self._l2 = vocabulary.norm == "l2"
        # Binary values are the weights themselves, looked up at C speed; zeros are dropped
        # only if there are any.
        weights = self._weights
        self._float_weights = None if weights is None else [float(w) for w in weights]
        self._zero_weight = self._float_weights is not None and 0.0 in self._float_weights
        # An all-zero CSV row; field i starts at character 2 * i.
        self._zeros = ",".join(["0"] * self._width)

    @property
    def content_type(self) -> str:
        return self.vocabulary.content_type

    @property
    def feature_count(self) -> int:
        return self._width

    def counts(self, text: str) -> dict[int, int]:
        """Column (0-based) to the number of times its term occurs in ``text``."""
        return self.counts_of(self.tokenizer.terms(text))

    def counts_of(self, terms: Iterable[str]) -> dict[int, int]:
        """Column (0-based) to the number of times its term occurs in ``terms``."""
        counts: dict[int | None, int] = Counter(map(self._index.get, terms))
        counts.pop(None, None)
        return counts  # type: ignore[return-value]  # None was removed just above

    def vector(self, text: str) -> SparseVector:
        """The non-zero features of ``text`` as sorted ``(column, value)`` pairs, 0-based,
        exactly as they are sent (so for libsvm, ``[(0, 0.0)]`` when nothing is known)."""
        return self.vector_of(self.tokenizer.terms(text))

    def vector_of(self, terms: Iterable[str]) -> SparseVector:
        """:meth:`vector` of a review whose terms (:meth:`Tokenizer.terms`) are ``terms``."""
        return self.vector_of_columns(map(self._index.get, terms))

    def columns(self, terms: Iterable[str]) -> list[int | None]:
        """Each term's column (0-based), ``None`` for a term the vocabulary does not know."""
        return list(map(self._index.get, terms))

    def vector_of_columns(self, columns: Iterable[int | None]) -> SparseVector:
        """:meth:`vector` of a review whose terms' columns (:meth:`columns`) are
        ``columns``."""
        if self._binary:
            # Only which columns occur matters: a set, not a count.
            cols = set(columns)
            cols.discard(None)
            return self._binary_vector(sorted(cols))  # type: ignore[arg-type]  # None discarded
        counts: dict[int | None, int] = Counter(columns)
        counts.pop(None, None)
        return self.vector_from_counts(counts)  # type: ignore[arg-type]  # None was removed

    def _binary_vector(self, cols: list[int]) -> SparseVector:
        weights = self._float_weights
        if weights is None:
            values = [1.0] * len(cols)
            if self._l2 and values:
                scale = math.sqrt(math.fsum(values))  # each square is 1.0
                values = list(map(scale.__rtruediv__, values))  # v / scale, at C speed
            return list(zip(cols, values, strict=True)) or self._empty()
        values = list(map(weights.__getitem__, cols))
        if self._zero_weight and 0.0 in values:
            # A zero weight's column is dropped (0.0 and -0.0 are false), at C speed.
            cols = list(compress(cols, values))
            values = list(filter(None, values))
        if self._l2 and values:
            # The same products and quotients as v * v and v / scale, without a Python loop.
            scale = math.sqrt(math.fsum(map(operator.mul, values, values)))
            values = list(map(scale.__rtruediv__, values))
        return list(zip(cols, values, strict=True)) or self._empty()

    def vector_from_counts(self, counts: dict[int, int]) -> SparseVector:
        """:meth:`vector` of a review whose known terms occur ``counts`` times (by column)."""
        cols = sorted(counts)
        if self._binary:
            return self._binary_vector(cols)
        mode = self.vocabulary.values
        weights = self._weights
        if mode == "count":
            values = [float(counts[c]) for c in cols]
        else:
            log = math.log
            values = [1.0 + log(counts[c]) for c in cols]
        if weights is not None:
            values = [v * weights[c] for c, v in zip(cols, values, strict=True)]
            if 0.0 in values:
                kept = [(c, v) for c, v in zip(cols, values, strict=True) if v != 0.0]
                cols, values = [c for c, _ in kept], [v for _, v in kept]
        if self._l2 and values:
            scale = math.sqrt(math.fsum([v * v for v in values]))
            values = [v / scale for v in values]
        return list(zip(cols, values, strict=True)) or self._empty()

    def _empty(self) -> SparseVector:
        # A libsvm row needs at least one pair, or the row disappears from the body.
        return [(0, 0.0)] if self._libsvm else []

    def csv_row(self, text: str) -> str:
        """A dense CSV row of exactly ``feature_count`` fields."""
        return self._csv(self.vector(text))

    def _csv(self, pairs: SparseVector) -> str:
        zeros = self._zeros
        parts: list[str] = []
        pos = 0
        for (col, _), value in zip(pairs, float32_texts(v for _, v in pairs), strict=True):
            parts.append(zeros[pos : 2 * col])
            parts.append(value)
            pos = 2 * col + 1
        parts.append(zeros[pos:])
        return "".join(parts)

    def libsvm_row(self, text: str) -> str:
        """A libsvm row with 1-based indices and no label."""
        return self._libsvm_text(self.vector(text))

    @staticmethod
    def _libsvm_text(pairs: SparseVector) -> str:
        # float32_texts and the 1-based indices in one % of the whole row, at C speed: the
        # same text as " ".join(f"{col + 1}:{value:.9g}" ...).
        cols, values = zip(*pairs, strict=True)
        fields = chain.from_iterable(zip(map(_ONE.__add__, cols), array("f", values), strict=True))
        return " ".join(["%d:%.9g"] * len(cols)) % tuple(fields)

    def row(self, text: str) -> str:
        """One row in the vocabulary's content type."""
        return self.row_of(self.vector(text))

    def row_of(self, pairs: SparseVector) -> str:
        """The row of a vector from :meth:`vector`, in the vocabulary's content type."""
        return self._libsvm_text(pairs) if self._libsvm else self._csv(pairs)

    def body(self, texts: str | Sequence[str]) -> bytes:
        """The request body for one review or many (one row per line)."""
        if isinstance(texts, str):
            texts = [texts]
        return "\n".join(self.row(t) for t in texts).encode("ascii")

    def body_of(self, vectors: Iterable[SparseVector]) -> bytes:
        """The request body for vectors from :meth:`vector`, one row per line."""
        return "\n".join(map(self.row_of, vectors)).encode("ascii")

    def widths(self, vectors: Sequence[SparseVector], body: bytes) -> list[int]:
        """What :func:`body_width` reads from ``body``, the body of ``vectors``
        (:meth:`body_of`). A libsvm row's pairs are written from its vector, column + 1
        each, so its width is taken from the vector instead of parsing the body back."""
        if not self._libsvm:
            return body_width(body, self.content_type)
        return [max(map(_COLUMN, v)) + 1 for v in vectors]


def body_width(body: bytes, content_type: str) -> list[int]:
    """Widths of each row of a body: the field count for CSV, the highest 1-based index for
    libsvm. The API checks this before sending; the container silently accepts one column
    fewer than the model has."""
    widths = []
    for line in body.decode("ascii").split("\n"):
        if content_type == "text/csv":
            widths.append(line.count(",") + 1)
        else:
            # Each item is index:value, items one space apart (a regex: C speed).
            widths.append(max(map(int, _INDEX.findall(line))))
    return widths
