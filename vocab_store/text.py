"""Review text to terms: normalising, tokenising, stopwords, stemming, n-grams.

One implementation, used by training and by the Lambda alike, so a review is turned into
terms exactly as the vocabulary was built. Settings travel inside the vocabulary artifact
(:class:`TokenizerSettings`), so whoever holds a vocabulary can tokenise as training did.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vocab_store.errors import InvalidVocabulary, StopwordsNotFound

_TAG = re.compile(r"<[^>]{0,2000}>")
# Words: letters and digits (underscores are folded to spaces first), with apostrophes inside
# a word kept ("don't", "o'brien"). ASCII text takes the same pattern in ASCII mode, which
# finds exactly the same tokens there, about twice as fast.
TOKEN_PATTERN = r"\w+(?:'\w+)*"
_TOKEN = re.compile(TOKEN_PATTERN)
_TOKEN_ASCII = re.compile(TOKEN_PATTERN, re.ASCII)

# Typographic quotes, dashes and invisible characters that NFKC leaves alone, folded to the
# ASCII form a person would type, so "don’t" and "don't" give the same tokens.
_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u02bc": "'",
        "\u00b4": "'",
        "\u0060": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        # IMDB keeps mis-decoded Windows-1252 punctuation as C1 controls.
        "\u0091": "'",
        "\u0092": "'",
        "\u0093": '"',
        "\u0094": '"',
        "\u0096": "-",
        "\u0097": "-",
        "\u0085": " ",
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
        "\u00ad": None,
    }
)

# str.translate looks every character up in the table, slow on long non-ASCII reviews; a
# regex finds the few characters to fold at C speed and replaces only those.
_FOLD_CHARS = {chr(k): "" if v is None else v for k, v in _FOLD.items()}
_FOLD_RE = re.compile("[" + "".join(map(re.escape, _FOLD_CHARS)) + "]")


def fold(text: str) -> str:
    """``text`` with the typographic quotes, dashes and invisible characters of ``_FOLD``
    replaced by what a person would type (the same as ``text.translate(_FOLD)``)."""
    return _FOLD_RE.sub(_fold_match, text)


def _fold_match(match: re.Match[str]) -> str:
    return _FOLD_CHARS[match.group()]


STEMMERS = ("porter", "none")
# No vocabulary term is longer. A longer word can be in no term, so it is neither stemmed
# (Porter's time grows with the word) nor remembered (a hostile review of unique huge words
# would otherwise fill the memo with megabytes): it passes through as it is.
MAX_TERM_LENGTH = 200
# The stem memo's bounds: real words are short and recur. Full, it starts over (the common
# words come back at once). Worst case, unique 30-letter words: ~25 MB (ASCII) to ~60 MB
# (letters beyond the BMP); IMDB's own vocabulary fills a fraction of it.
_MEMO_WORD_LENGTH = 30
_MEMO_ENTRIES = 150_000


def normalise(text: str, *, lowercase: bool = True, strip_html: bool = True) -> str:
    """Return ``text`` with HTML tags out, NFKC applied, quotes and dashes folded.

    Lone surrogates (which cannot be encoded) are dropped rather than failing the request.
    """
    if strip_html:
        if "<" in text:
            text = _TAG.sub(" ", text)
        text = html.unescape(text)
    if text.isascii():
        # NFKC is the identity on ASCII, and the only ASCII character folded is the backtick.
        text = text.replace("`", "'")
    else:
        text = fold(unicodedata.normalize("NFKC", fold(text)))
        if _has_surrogate(text):
            text = text.encode("utf-8", "ignore").decode("utf-8")
    text = text.replace("_", " ")
    return text.lower() if lowercase else text


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def tokenise(text: str) -> list[str]:
    """Split normalised text into word tokens (letters and digits, inner apostrophes)."""
    return (_TOKEN_ASCII if text.isascii() else _TOKEN).findall(text)


def read_stopwords(path: str | Path) -> tuple[str, ...]:
    """Read a stopword list, one word per line, as NLTK ships it.

    Raises :class:`StopwordsNotFound` with where to get the file when it is missing.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StopwordsNotFound(
            f"stopword list not found at {path}: it is NLTK's corpora/stopwords/english file "
            "(the project expects it at ../shared/data/nltk_stopwords_english.txt; "
            "get it from the nltk_data stopwords package)"
        ) from exc
    words = tuple(dict.fromkeys(w.strip() for w in lines if w.strip()))
    if not words:
        raise StopwordsNotFound(f"stopword list at {path} is empty")
    return words


@dataclass(frozen=True)
class TokenizerSettings:
    """How text becomes terms. Stored verbatim in the vocabulary artifact."""

    lowercase: bool = True
    strip_html: bool = True
    stopwords: tuple[str, ...] = ()
    stemmer: str = "porter"
    ngram_range: tuple[int, int] = (1, 1)

    def __post_init__(self) -> None:
        if self.stemmer not in STEMMERS:
            raise InvalidVocabulary(f"tokenizer.stemmer must be one of {STEMMERS}")
        low, high = self.ngram_range
        if not (1 <= low <= high <= 3):
            raise InvalidVocabulary("tokenizer.ngram_range must satisfy 1 <= low <= high <= 3")

    def to_dict(self) -> dict[str, Any]:
        return {
            "lowercase": self.lowercase,
            "strip_html": self.strip_html,
            "normalisation": "NFKC+fold",
            "token_pattern": TOKEN_PATTERN,
            "stopwords": list(self.stopwords),
            "stemmer": self.stemmer,
            "ngram_range": list(self.ngram_range),
        }

    @classmethod
    def from_dict(cls, data: Any) -> TokenizerSettings:
        """Build settings from the artifact's ``tokenizer`` object, strictly."""
        if not isinstance(data, dict):
            raise InvalidVocabulary("tokenizer must be an object")
        expected = set(cls().to_dict())
        unknown = set(data) - expected
        if unknown:
            raise InvalidVocabulary(f"tokenizer has unknown fields: {sorted(unknown)}")
        missing = expected - set(data)
        if missing:
            raise InvalidVocabulary(f"tokenizer is missing fields: {sorted(missing)}")
        for name in ("lowercase", "strip_html"):
            if not isinstance(data[name], bool):
                raise InvalidVocabulary(f"tokenizer.{name} must be true or false")
        if data["normalisation"] != "NFKC+fold" or data["token_pattern"] != TOKEN_PATTERN:
            raise InvalidVocabulary(
                "tokenizer.normalisation or token_pattern is not the one this code implements"
            )
        stop = data["stopwords"]
        if not isinstance(stop, list) or not all(isinstance(w, str) and w for w in stop):
            raise InvalidVocabulary("tokenizer.stopwords must be a list of non-empty strings")
        if not isinstance(data["stemmer"], str):
            raise InvalidVocabulary("tokenizer.stemmer must be a string")
        rng = data["ngram_range"]
        if (
            not isinstance(rng, list)
            or len(rng) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in rng)
        ):
            raise InvalidVocabulary("tokenizer.ngram_range must be a list of two integers")
        return cls(
            lowercase=data["lowercase"],
            strip_html=data["strip_html"],
            stopwords=tuple(stop),
            stemmer=data["stemmer"],
            ngram_range=(rng[0], rng[1]),
        )


@functools.cache
def _porter() -> Callable[[str], str]:
    # nltk is imported here, not at module level: it costs ~0.4 s, which `import vocab_store`
    # (and so the Lambda's cold start) should not pay until a review is actually stemmed.
    # One stemmer per process: it holds no state between words.
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer().stem


# What the stem memo holds for a stopword. No stem is empty (a token is at least one
# character, Porter never strips a word to nothing, and "none" keeps it whole), so the
# stopwords drop out of a list of memo values by ``filter(None, ...)``, at C speed.
_STOPWORD = ""


class _StemMemo(dict[str, str]):
    """Token to stem (:data:`_STOPWORD` for a stopword) for one stopword list and stemmer.
    ``map(memo.__getitem__, tokens)`` looks every token up at C speed and learns only the
    new ones (``__missing__``), remembering a word when it is short, in a memo of bounded
    size, so hostile input cannot grow it without end."""

    def __init__(self, stop: frozenset[str], stemmer: str) -> None:
        super().__init__()
        self._stop = stop
        self._porter = stemmer == "porter"

    def __missing__(self, word: str) -> str:
        if len(word) > MAX_TERM_LENGTH:
            return word
        if word in self._stop:
            result = _STOPWORD
        elif self._porter:
            result = _porter()(word)
        else:
            result = word
        if len(word) <= _MEMO_WORD_LENGTH:
            if len(self) >= _MEMO_ENTRIES:
                self.clear()
            self[word] = result
        return result


# The memos in use, one per stopword list and stemmer, the most recently asked for kept:
# every Tokenizer of the same settings shares one, so a new vocabulary (the Lambda's
# refresh, each training, every Encoder) starts with the words the process has already
# stemmed. A process uses one or two settings; the cache keeps at most _MEMO_SETTINGS (a
# memo dropped from it lives on with the Tokenizers that use it). Two threads asking for
# new settings at the same moment may each get a memo of their own: still right, only
# not shared.
_MEMO_SETTINGS = 4


@functools.lru_cache(maxsize=_MEMO_SETTINGS)
def _shared_memo(stop: frozenset[str], stemmer: str) -> _StemMemo:
    return _StemMemo(stop, stemmer)


def forget_stems() -> None:
    """Start every Tokenizer made from now on with an empty stem memo (a benchmark that
    times a cold process)."""
    _shared_memo.cache_clear()


@dataclass
class Tokenizer:
    """Turns review text into terms according to :class:`TokenizerSettings`.

    Stemming is memoised: the same few tens of thousands of words recur in every review,
    and the memo is shared by every Tokenizer of the same stopwords and stemmer.
    """

    settings: TokenizerSettings
    _memo: _StemMemo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._memo = _shared_memo(frozenset(self.settings.stopwords), self.settings.stemmer)

    def tokens(self, text: str) -> list[str]:
        """The tokens of normalised ``text``, stopwords included: each becomes :meth:`word`."""
        s = self.settings
        return tokenise(normalise(text, lowercase=s.lowercase, strip_html=s.strip_html))

    def word(self, token: str) -> str | None:
        """The word a token of :meth:`tokens` becomes: its stem, or ``None`` for a stopword."""
        return self._memo[token] or None

    def words(self, text: str) -> list[str]:
        """Normalised, tokenised, stopword-free and stemmed words of ``text``."""
        return list(filter(None, map(self._memo.__getitem__, self.tokens(text))))

    def terms(self, text: str) -> list[str]:
        """All terms of ``text``: its words and, per the settings, their n-grams."""
        return ngrams(self.words(text), self.settings.ngram_range)

    def token_words(self, text: str) -> list[tuple[str | None, int, int]]:
        """Every token of ``text`` with its span in ``text`` (code points, end exclusive)
        and its word: the stem, or ``None`` for a stopword. The words that are not ``None``
        are exactly :meth:`words`."""
        stems, starts, ends = self.token_stems(text)
        return [(w or None, a, b) for w, a, b in zip(stems, starts, ends, strict=True)]

    def token_stems(self, text: str) -> tuple[list[str], list[int], list[int]]:
        """Every token's word (its stem, ``""`` for a stopword), start and end in ``text``
        (code points, end exclusive), in three lists. The words that are not ``""`` are
        exactly :meth:`words`."""
        from vocab_store.spans import token_offsets

        s = self.settings
        tokens, starts, ends = token_offsets(text, lowercase=s.lowercase, strip_html=s.strip_html)
        return list(map(self._memo.__getitem__, tokens)), starts, ends


def ngrams(words: list[str], ngram_range: tuple[int, int]) -> list[str]:
    """Words joined into n-grams (space-separated) for each n in ``ngram_range``."""
    low, high = ngram_range
    if low == high == 1:
        return words
    out: list[str] = list(words) if low == 1 else []
    for n in range(max(low, 2), high + 1):
        if n == 2:
            out.extend(map(" ".join, zip(words, words[1:], strict=False)))
        else:
            out.extend([" ".join(words[i : i + n]) for i in range(len(words) - n + 1)])
    return out
