"""The vocabulary artifact: self-describing JSON that says how to encode a review.

It carries everything a reader needs to turn text into exactly the feature vector the model
was trained on: the tokenizer settings (with the stopword list itself), the ordered terms
(index = column), how values are computed (binary or counts, optional per-term weights,
optional L2 normalisation), the content type the endpoint expects, and the record of the
model it belongs to. Never pickled; validated strictly on the way in.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from vocab_store.errors import InvalidVocabulary
from vocab_store.labels import THRESHOLD, Band
from vocab_store.linear import LinearModel
from vocab_store.model_record import ModelRecord
from vocab_store.text import MAX_TERM_LENGTH, TokenizerSettings

FORMAT = "sentiment-api.vocabulary/1"
CONTENT_TYPES = ("text/csv", "text/libsvm")
VALUES = ("binary", "count", "log_count")
NORMS = ("none", "l2")
MAX_TERMS = 1_000_000
# Versions are millisecond timestamps (next_version); 2**53 - 1 is the largest integer every
# JSON reader holds exactly, and leaves room until the year 287,396.
MAX_VERSION = 2**53 - 1
# A version further ahead of the promoting clock than this would hold back every later
# publish until then: promotion refuses it, and a live one that far ahead no longer counts.
MAX_AHEAD_MS = 7 * 24 * 3600 * 1000
# No real weight comes near this; it keeps every sum of weights finite in float64.
MAX_WEIGHT = 1e6
# How deep ``extra`` may nest (training writes flat lists).
MAX_EXTRA_DEPTH = 8


@dataclass(frozen=True)
class Vocabulary:
    """An immutable, validated vocabulary. Build one with :func:`build_vocabulary`."""

    terms: tuple[str, ...]
    tokenizer: TokenizerSettings
    version: int = 1
    values: str = "binary"
    weights: tuple[float, ...] | None = None
    norm: str = "none"
    content_type: str = "text/csv"
    model: ModelRecord | None = None
    created_at: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # The model's weights, for exact evidence (None for a model without them, e.g. trees),
    # and the band of probabilities answered "uncertain" (None: no band).
    linear: LinearModel | None = None
    uncertain: Band | None = None

    def __post_init__(self) -> None:
        _check(self)

    @property
    def feature_count(self) -> int:
        return len(self.terms)

    @cached_property
    def index(self) -> dict[str, int]:
        """Term to 0-based column."""
        return {t: i for i, t in enumerate(self.terms)}

    def features_dict(self) -> dict[str, Any]:
        """The fields that decide how a review is encoded, and nothing else."""
        return {
            "tokenizer": self.tokenizer.to_dict(),
            "terms": list(self.terms),
            "values": self.values,
            "weights": None if self.weights is None else list(self.weights),
            "norm": self.norm,
            "content_type": self.content_type,
        }

    def contract_dict(self) -> dict[str, Any]:
        """What the fingerprint covers: :meth:`features_dict`, and the model's weights and
        the uncertain band when present (absent ones leave older fingerprints unchanged)."""
        contract = self.features_dict()
        if self.linear is not None:
            contract["linear"] = self.linear.digest()
        if self.uncertain is not None:
            contract["uncertain"] = list(self.uncertain)
        return contract

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the encoding and explaining contract: two vocabularies with the same
        fingerprint encode, explain and label every review identically, whatever their
        versions."""
        return _sha256_json(self.contract_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "created_at": self.created_at,
            "feature_count": self.feature_count,
            **self.features_dict(),
            "fingerprint": self.fingerprint,
            "model": None if self.model is None else self.model.to_dict(),
            "extra": dict(self.extra),
            **({} if self.uncertain is None else {"uncertain": list(self.uncertain)}),
            **({} if self.linear is None else {"linear": self.linear.to_dict()}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=None, separators=(",", ":"))

    def with_model(self, model: ModelRecord) -> Vocabulary:
        return replace(self, model=model)

    def with_version(self, version: int) -> Vocabulary:
        return replace(self, version=version)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sha256_json(data: Any) -> str:
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _check(v: Vocabulary) -> None:
    if not _is_int(v.version) or not 1 <= v.version <= MAX_VERSION:
        raise InvalidVocabulary("version must be a positive integer no larger than 2**53 - 1")
    if not v.terms:
        raise InvalidVocabulary("terms must not be empty")
    if len(v.terms) > MAX_TERMS:
        raise InvalidVocabulary(f"too many terms: {len(v.terms)} > {MAX_TERMS}")
    for term in v.terms:
        if not isinstance(term, str) or not term or len(term) > MAX_TERM_LENGTH:
            raise InvalidVocabulary(
                f"terms must be non-empty strings of at most {MAX_TERM_LENGTH} characters"
            )
    if len(set(v.terms)) != len(v.terms):
        dupes = [t for t, n in Counter(v.terms).items() if n > 1][:5]
        raise InvalidVocabulary(f"duplicate terms: {dupes}")
    if v.values not in VALUES:
        raise InvalidVocabulary(f"values must be one of {VALUES}")
    if v.norm not in NORMS:
        raise InvalidVocabulary(f"norm must be one of {NORMS}")
    if v.content_type not in CONTENT_TYPES:
        raise InvalidVocabulary(f"content_type must be one of {CONTENT_TYPES}")
    if v.weights is not None:
        if len(v.weights) != len(v.terms):
            raise InvalidVocabulary(
                f"weights has {len(v.weights)} entries for {len(v.terms)} terms"
            )
        for w in v.weights:
            # abs() before isfinite(): an integer past 2**1024 overflows a float.
            if (
                not isinstance(w, float | int)
                or isinstance(w, bool)
                or not abs(w) <= MAX_WEIGHT
                or not math.isfinite(w)
            ):
                raise InvalidVocabulary(
                    f"weights must be finite numbers with |w| <= {MAX_WEIGHT:g}"
                )
    if v.linear is not None and len(v.linear.coefficients) != len(v.terms):
        raise InvalidVocabulary(
            f"linear has {len(v.linear.coefficients)} coefficients for {len(v.terms)} terms"
        )
    if v.uncertain is not None:
        low, high = v.uncertain
        if not (0.0 <= low <= THRESHOLD <= high <= 1.0):
            raise InvalidVocabulary(
                "uncertain must be [low, high] with 0 <= low <= 0.5 <= high <= 1"
            )
    _check_depth(v.extra)
    if v.model is not None and v.model.feature_count != len(v.terms):
        raise InvalidVocabulary(
            f"model.feature_count {v.model.feature_count} disagrees with {len(v.terms)} terms"
        )


def _check_depth(extra: Any) -> None:
    """Refuse ``extra`` nested deeper than :data:`MAX_EXTRA_DEPTH` (iteratively: a deep
    document must not exhaust the interpreter's stack while being checked)."""
    pending = [(extra, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_EXTRA_DEPTH:
            raise InvalidVocabulary(f"extra is nested deeper than {MAX_EXTRA_DEPTH} levels")
        if isinstance(value, Mapping):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list | tuple):
            pending.extend((item, depth + 1) for item in value)


_TOP_LEVEL = {
    "format",
    "version",
    "created_at",
    "feature_count",
    "tokenizer",
    "terms",
    "values",
    "weights",
    "norm",
    "content_type",
    "fingerprint",
    "model",
    "extra",
}
# Optional: older vocabularies have neither.
_OPTIONAL = {"linear", "uncertain"}


def from_dict(data: Any, *, max_terms: int = MAX_TERMS) -> Vocabulary:
    """Validate a decoded artifact and return the :class:`Vocabulary` it describes.

    Every rejection raises :class:`InvalidVocabulary` with a message naming the problem.
    """
    if not isinstance(data, dict):
        raise InvalidVocabulary("a vocabulary must be a JSON object")
    if data.get("format") != FORMAT:
        raise InvalidVocabulary(f"unknown format {data.get('format')!r}; expected {FORMAT!r}")
    unknown = set(data) - _TOP_LEVEL - _OPTIONAL
    if unknown:
        raise InvalidVocabulary(f"unknown fields: {sorted(unknown)}")
    missing = _TOP_LEVEL - set(data)
    if missing:
        raise InvalidVocabulary(f"missing fields: {sorted(missing)}")
    terms = data["terms"]
    if not isinstance(terms, list):
        raise InvalidVocabulary("terms must be a list of strings")
    if len(terms) > max_terms:
        raise InvalidVocabulary(f"too many terms: {len(terms)} > {max_terms}")
    if not all(isinstance(t, str) for t in terms):
        raise InvalidVocabulary("terms must be a list of strings")
    count = data["feature_count"]
    if not _is_int(count):
        raise InvalidVocabulary("feature_count must be an integer")
    if count != len(terms):
        raise InvalidVocabulary(f"feature_count {count} disagrees with {len(terms)} terms")
    weights = data["weights"]
    if weights is not None and not isinstance(weights, list):
        raise InvalidVocabulary("weights must be a list of numbers or null")
    for name in ("values", "norm", "content_type"):
        if not isinstance(data[name], str):
            raise InvalidVocabulary(f"{name} must be a string")
    created = data["created_at"]
    if created is not None and not isinstance(created, str):
        raise InvalidVocabulary("created_at must be a string or null")
    if not isinstance(data["extra"], dict):
        raise InvalidVocabulary("extra must be an object")
    vocab = Vocabulary(
        terms=tuple(terms),
        tokenizer=TokenizerSettings.from_dict(data["tokenizer"]),
        version=data["version"],
        values=data["values"],
        weights=None if weights is None else tuple(weights),
        norm=data["norm"],
        content_type=data["content_type"],
        model=None if data["model"] is None else ModelRecord.from_dict(data["model"]),
        created_at=created,
        extra=data["extra"],
        linear=None if data.get("linear") is None else LinearModel.from_dict(data["linear"]),
        uncertain=_band(data.get("uncertain")),
    )
    if data["fingerprint"] != vocab.fingerprint:
        raise InvalidVocabulary("fingerprint does not match the vocabulary's contents")
    return vocab


def _band(data: Any) -> Band | None:
    if data is None:
        return None
    if (
        not isinstance(data, list)
        or len(data) != 2
        or not all(isinstance(x, float | int) and not isinstance(x, bool) for x in data)
    ):
        raise InvalidVocabulary("uncertain must be a list of two probabilities or null")
    return (float(data[0]), float(data[1]))


def loads(
    blob: str | bytes, *, max_bytes: int | None = None, max_terms: int = MAX_TERMS
) -> Vocabulary:
    """Parse and validate a vocabulary from JSON text or UTF-8 bytes."""
    if max_bytes is not None and len(blob) > max_bytes:
        raise InvalidVocabulary(f"vocabulary is {len(blob)} bytes, over the {max_bytes}-byte limit")
    if isinstance(blob, bytes):
        if blob[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
            raise InvalidVocabulary(
                "this is a pickle, not a JSON vocabulary; pickles are never loaded"
            )
        try:
            blob = blob.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidVocabulary("vocabulary is not UTF-8 text") from exc
    try:
        data = json.loads(blob, parse_constant=_reject_constant)
    except ValueError as exc:  # also a number of more than 4,300 digits
        raise InvalidVocabulary(f"vocabulary is not valid JSON: {exc.args[0]}") from exc
    except RecursionError as exc:
        raise InvalidVocabulary("vocabulary is nested too deeply to read") from exc
    return from_dict(data, max_terms=max_terms)


def _reject_constant(name: str) -> Any:
    raise InvalidVocabulary(f"vocabulary contains {name}, which is not JSON")


def build_vocabulary(
    documents: Iterable[list[str]],
    tokenizer: TokenizerSettings,
    *,
    max_terms: int = 5000,
    min_df: int = 1,
    values: str = "binary",
    norm: str = "none",
    content_type: str = "text/csv",
) -> Vocabulary:
    """Keep the ``max_terms`` terms with the highest document frequency.

    ``documents`` are term lists from :meth:`Tokenizer.terms` with the same ``tokenizer``
    settings. Ties are broken alphabetically so the result does not depend on input order.
    """
    df: Counter[str] = Counter()
    for terms in documents:
        df.update(set(terms))
    ranked = sorted(((-n, t) for t, n in df.items() if n >= min_df))[:max_terms]
    if not ranked:
        raise InvalidVocabulary("no term reaches min_df; the vocabulary would be empty")
    return Vocabulary(
        terms=tuple(t for _, t in ranked),
        tokenizer=tokenizer,
        values=values,
        norm=norm,
        content_type=content_type,
        extra={"document_frequency": [-n for n, _ in ranked]},
    )


def next_version(live_version: int | None = None, *, now_ms: int | None = None) -> int:
    """A version that only grows: the current time in milliseconds, or one more than the
    live version if the clock is behind it (a live version that no longer
    :func:`counts` is outgrown by the clock alone)."""
    stamp = int(time.time() * 1000) if now_ms is None else now_ms
    if live_version is None or not counts(live_version, now_ms=stamp):
        return stamp
    return max(stamp, live_version + 1)


def counts(version: int, *, now_ms: int | None = None) -> bool:
    """Whether a live ``version`` still holds back older uploads: one further than
    :data:`MAX_AHEAD_MS` ahead of the clock does not (it would block every publish)."""
    stamp = int(time.time() * 1000) if now_ms is None else now_ms
    return version <= stamp + MAX_AHEAD_MS
