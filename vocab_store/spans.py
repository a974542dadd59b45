"""Where each token of a review came from: offsets into the review *as received*.

:func:`vocab_store.text.normalise` strips tags, decodes entities, applies NFKC, folds quotes
and lower-cases; each step can change the length of the text ("&amp;" is one character,
"ﬁ" two, a zero-width space none). :func:`normalise_with_offsets` produces exactly the same
string and, for each of its characters, the span of the original it came from, so a page
can highlight exactly what was typed. Offsets count Unicode code points (Python's ``str``
indices), not UTF-16 units or bytes.

ASCII text without ``<`` or ``&`` (most reviews) maps one to one and costs nothing extra.
Otherwise NFKC is applied piece by piece: the text is cut before every character that can
neither combine with what precedes it nor be reordered across (its compatibility
decomposition starts with a starter that is not the second half of any composition), and
NFKC of the pieces, concatenated, is NFKC of the whole. The result is checked against
``normalise``; should the two ever differ, every character maps to the whole review
(:class:`OffsetMismatch` is never raised to a caller).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from itertools import accumulate

from vocab_store import text as _text

Spans = tuple[list[int], list[int]]

# Python's html.unescape replaces each match of this pattern on its own (html._charref).
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
# Starters (combining class 0) that are the second half of a canonical composition: Indic
# vowel signs and length marks, Hangul medial vowels and final consonants (U+1161-U+1175,
# U+11A8-U+11C2), and a few more. A test recomputes this from unicodedata.
_SECOND_STARTERS = frozenset(
    chr(c)
    for lo, hi in (
        (0x09BE, 0x09BE),
        (0x09D7, 0x09D7),
        (0x0B3E, 0x0B3E),
        (0x0B56, 0x0B57),
        (0x0BBE, 0x0BBE),
        (0x0BD7, 0x0BD7),
        (0x0CC2, 0x0CC2),
        (0x0CD5, 0x0CD6),
        (0x0D3E, 0x0D3E),
        (0x0D57, 0x0D57),
        (0x0DCF, 0x0DCF),
        (0x0DDF, 0x0DDF),
        (0x102E, 0x102E),
        (0x1161, 0x1175),
        (0x11A8, 0x11C2),
        (0x1B35, 0x1B35),
        (0x11127, 0x11127),
        (0x1133E, 0x1133E),
        (0x11357, 0x11357),
        (0x114B0, 0x114B0),
        (0x114BA, 0x114BA),
        (0x114BD, 0x114BD),
        (0x115AF, 0x115AF),
        (0x11930, 0x11930),
    )
    for c in range(lo, hi + 1)
)


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


class OffsetMismatch(Exception):
    """The piecewise normalisation disagreed with :func:`vocab_store.text.normalise`."""


def joins_previous(char: str) -> bool:
    """True when NFKC may combine ``char`` with what precedes it (or reorder across it),
    so the text cannot be cut just before it."""
    if char < "\x80":
        return False
    first = unicodedata.normalize("NFKD", char)[:1]
    return not first or unicodedata.combining(first) != 0 or first in _SECOND_STARTERS


def normalise_with_offsets(
    text: str, *, lowercase: bool = True, strip_html: bool = True
) -> tuple[str, list[int], list[int]]:
    """``normalise(text)`` and, per character of it, the ``start`` and ``end`` (code points,
    end exclusive) of the characters of ``text`` it came from."""
    if text.isascii() and (not strip_html or ("<" not in text and "&" not in text)):
        out = _text.normalise(text, lowercase=lowercase, strip_html=strip_html)
        return out, list(range(len(text))), list(range(1, len(text) + 1))
    try:
        return _mapped(text, lowercase=lowercase, strip_html=strip_html)
    except OffsetMismatch:
        out = _text.normalise(text, lowercase=lowercase, strip_html=strip_html)
        return out, [0] * len(out), [len(text)] * len(out)


def _replace(
    s: str, starts: list[int], ends: list[int], pattern: re.Pattern[str], repl: Callable[[str], str]
) -> tuple[str, list[int], list[int]]:
    """Each match of ``pattern`` replaced by ``repl(match)``; the new characters span the
    whole match."""
    parts: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    pos = 0
    for match in pattern.finditer(s):
        a, b = match.span()
        parts.append(s[pos:a])
        new_starts.extend(starts[pos:a])
        new_ends.extend(ends[pos:a])
        out = repl(match.group())
        parts.append(out)
        if a < b:
            new_starts.extend([starts[a]] * len(out))
            new_ends.extend([ends[b - 1]] * len(out))
        pos = b
    parts.append(s[pos:])
    new_starts.extend(starts[pos:])
    new_ends.extend(ends[pos:])
    return "".join(parts), new_starts, new_ends


def _per_char(
    s: str, starts: list[int], ends: list[int], change: Callable[[str], str]
) -> tuple[str, list[int], list[int]]:
    """``change`` applied to each character on its own."""
    parts: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    for ch, a, b in zip(s, starts, ends, strict=True):
        out = change(ch)
        parts.append(out)
        new_starts.extend([a] * len(out))
        new_ends.extend([b] * len(out))
    return "".join(parts), new_starts, new_ends


def _nfkc(s: str, starts: list[int], ends: list[int]) -> tuple[str, list[int], list[int]]:
    """NFKC piece by piece (see the module's docstring)."""
    pieces: list[tuple[int, int]] = []
    for i, ch in enumerate(s):
        if pieces and joins_previous(ch):
            pieces[-1] = (pieces[-1][0], i + 1)
        else:
            pieces.append((i, i + 1))
    parts: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    for a, b in pieces:
        piece = s[a:b]
        out = piece if piece.isascii() else unicodedata.normalize("NFKC", piece)
        parts.append(out)
        new_starts.extend([starts[a]] * len(out))
        new_ends.extend([ends[b - 1]] * len(out))
    return "".join(parts), new_starts, new_ends


def _fold_char(ch: str) -> str:
    return _text._FOLD_CHARS.get(ch, ch)


def _lower_char(ch: str) -> str:
    return ch.lower()


def _unicode(s: str, starts: list[int], ends: list[int]) -> tuple[str, list[int], list[int]]:
    """Fold, NFKC and fold again, applied to the runs of non-ASCII characters only: ASCII is
    left as it is by all three (but the backtick, folded later, one for one). A run whose
    first character joins what precedes it takes the ASCII character before it along."""
    parts: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    pos = 0
    for match in _NON_ASCII.finditer(s):
        a, b = match.span()
        run, run_starts, run_ends = _per_char(s[a:b], starts[a:b], ends[a:b], _fold_char)
        if run and a > pos and joins_previous(run[0]):
            a -= 1
            run, run_starts, run_ends = s[a] + run, [starts[a], *run_starts], [ends[a], *run_ends]
        parts.append(s[pos:a])
        new_starts.extend(starts[pos:a])
        new_ends.extend(ends[pos:a])
        run, run_starts, run_ends = _nfkc(run, run_starts, run_ends)
        run, run_starts, run_ends = _per_char(run, run_starts, run_ends, _fold_char)
        parts.append(run)
        new_starts.extend(run_starts)
        new_ends.extend(run_ends)
        pos = b
    parts.append(s[pos:])
    new_starts.extend(starts[pos:])
    new_ends.extend(ends[pos:])
    return "".join(parts), new_starts, new_ends


def _mapped(text: str, *, lowercase: bool, strip_html: bool) -> tuple[str, list[int], list[int]]:
    s = text
    starts, ends = list(range(len(text))), list(range(1, len(text) + 1))
    if strip_html:
        if "<" in s:
            s, starts, ends = _replace(s, starts, ends, _text._TAG, lambda _: " ")
        if "&" in s:
            s, starts, ends = _replace(s, starts, ends, _CHARREF, html.unescape)
    if not s.isascii():
        s, starts, ends = _unicode(s, starts, ends)
        if _text._has_surrogate(s):
            s, starts, ends = _per_char(
                s, starts, ends, lambda ch: "" if "\ud800" <= ch <= "\udfff" else ch
            )
    s = s.replace("`", "'").replace("_", " ")
    if lowercase:
        lowered = s.lower()
        if len(lowered) != len(s):  # "İ" lower-cases to two characters
            _, starts, ends = _per_char(s, starts, ends, _lower_char)
        s = lowered
    if s != _text.normalise(text, lowercase=lowercase, strip_html=strip_html):
        raise OffsetMismatch()
    return s, starts, ends


def _blank(match: re.Match[str]) -> str:
    return " " * (match.end() - match.start())


# The token pattern as a group: re.split then gives the gaps and the tokens in turn, and
# their lengths give every token's offsets, all at C speed.
_SPLIT_ASCII = re.compile(f"({_text.TOKEN_PATTERN})", re.ASCII)
_SPLIT = re.compile(f"({_text.TOKEN_PATTERN})")


def _tokens(norm: str) -> tuple[list[str], list[int], list[int]]:
    """The tokens of normalised text (as :func:`vocab_store.text.tokenise` finds them),
    their starts and their ends in it."""
    parts = (_SPLIT_ASCII if norm.isascii() else _SPLIT).split(norm)
    offsets = list(accumulate(map(len, parts), initial=0))
    n = len(parts) // 2
    return parts[1::2], offsets[1 : 2 * n : 2], offsets[2 : 2 * n + 1 : 2]


def token_offsets(
    text: str, *, lowercase: bool = True, strip_html: bool = True
) -> tuple[list[str], list[int], list[int]]:
    """The tokens of ``normalise(text)`` (as :func:`vocab_store.text.tokenise` finds them),
    their ``start`` offsets in ``text`` and their ``end`` offsets (exclusive)."""
    if text.isascii() and (not strip_html or "&" not in text):
        # One character for one: the token's span in the normalised text is its span here.
        # A tag becomes as many spaces as it is long instead of one: the same tokens.
        if strip_html and "<" in text:
            text = _text._TAG.sub(_blank, text)
        return _tokens(_text.normalise(text, lowercase=lowercase, strip_html=False))
    norm, starts, ends = normalise_with_offsets(text, lowercase=lowercase, strip_html=strip_html)
    tokens, token_starts, token_ends = _tokens(norm)
    return (
        tokens,
        list(map(starts.__getitem__, token_starts)),
        list(map(ends.__getitem__, map((-1).__add__, token_ends))),
    )


def token_spans(
    text: str, *, lowercase: bool = True, strip_html: bool = True
) -> list[tuple[str, int, int]]:
    """The tokens of ``normalise(text)`` (as :func:`vocab_store.text.tokenise` finds them),
    each with its ``start`` and ``end`` in ``text``."""
    return list(zip(*token_offsets(text, lowercase=lowercase, strip_html=strip_html), strict=True))


def ngram_spans(
    words: list[tuple[str, int, int]], ngram_range: tuple[int, int]
) -> list[tuple[str, int, int]]:
    """:func:`vocab_store.text.ngrams` of ``words`` (word, start, end), in the same order,
    each term spanning from its first word's start to its last word's end."""
    low, high = ngram_range
    out: list[tuple[str, int, int]] = list(words) if low == 1 else []
    for n in range(max(low, 2), high + 1):
        if n == 2:
            out.extend(
                [(a[0] + " " + b[0], a[1], b[2]) for a, b in zip(words, words[1:], strict=False)]
            )
            continue
        out.extend(
            (" ".join(w for w, _, _ in words[i : i + n]), words[i][1], words[i + n - 1][2])
            for i in range(len(words) - n + 1)
        )
    return out
