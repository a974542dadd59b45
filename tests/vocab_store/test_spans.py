"""Offsets of tokens into the review as received, through every normalisation step."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vocab_store import normalise, tokenise
from vocab_store.spans import (
    _SECOND_STARTERS,
    ngram_spans,
    normalise_with_offsets,
    token_spans,
)
from vocab_store.text import ngrams

# Letters, marks, HTML and the characters normalisation changes, mixed.
_PIECES = st.sampled_from(
    [
        "good",
        "Film",
        " ",
        ".",
        "<br />",
        "<i>",
        "&amp;",
        "&eacute;",
        "&#233;",
        "&bogus",
        "e\u0301",
        "\u0301",
        "\ufb01",
        "\u2019",
        "\u201c",
        "\u200b",
        "\u00ad",
        "\u0130",
        "\u03a3",
        "\uff76\uff9e",
        "\u1100\u1161\u11a8",
        "\U0001f600",
        "\u2460",
        "_",
        "`",
        "\n",
        "\ud800",
    ]
)
REVIEWS = st.one_of(st.text(max_size=60), st.lists(_PIECES, max_size=25).map("".join))


@settings(max_examples=400, deadline=None)
@given(REVIEWS)
@example("cafe\u0301 \u0130stanbul \u03a3\u039f\u03a6\u039f\u03a3")
def test_the_offsets_come_with_exactly_the_normalised_text(text: str) -> None:
    for lowercase in (True, False):
        for strip_html in (True, False):
            out, starts, ends = normalise_with_offsets(
                text, lowercase=lowercase, strip_html=strip_html
            )
            assert out == normalise(text, lowercase=lowercase, strip_html=strip_html)
            assert len(starts) == len(ends) == len(out)
            assert all(0 <= a < b <= len(text) for a, b in zip(starts, ends, strict=True))
            assert starts == sorted(starts)


@settings(max_examples=400, deadline=None)
@given(REVIEWS)
def test_tokens_are_the_tokeniser_s_tokens_in_order(text: str) -> None:
    spans = token_spans(text)
    assert [t for t, _, _ in spans] == tokenise(normalise(text))
    assert all(0 <= a < b <= len(text) for _, a, b in spans)


@pytest.mark.parametrize(
    "review, token, typed",
    [
        ("Great<br /><br />FILM &amp; cast", "film", "FILM"),
        ("caf&eacute; society", "café", "caf&eacute;"),
        ("\ufb01lm noir", "film", "\ufb01lm"),
        ("don\u2019t go", "don't", "don\u2019t"),
        ("gr\u200beat", "great", "gr\u200beat"),
        ("cafe\u0301 au lait", "café", "cafe\u0301"),
        ("\U0001f600 loved it \U0001f600", "loved", "loved"),
        ("\uff76\uff9e test", "ガ", "\uff76\uff9e"),
        ("BIG \u0130stanbul", "stanbul", "stanbul"),
    ],
)
def test_a_token_spans_exactly_what_was_typed(review: str, token: str, typed: str) -> None:
    found = {t: review[a:b] for t, a, b in token_spans(review)}
    assert found[token] == typed


def test_offsets_count_code_points_not_utf16_units() -> None:
    # The emoji is one code point (two UTF-16 units): "good" starts at 2, not 3.
    assert token_spans("\U0001f600 good") == [("good", 2, 6)]


def test_ngram_spans_are_ngrams_spanning_their_words() -> None:
    words = [("not", 0, 3), ("good", 6, 10), ("film", 11, 15)]
    spans = ngram_spans(words, (1, 3))
    assert [t for t, _, _ in spans] == ngrams(["not", "good", "film"], (1, 3))
    assert ("not good", 0, 10) in spans and ("not good film", 0, 15) in spans


def test_the_second_starters_are_unicode_s() -> None:
    """Recomputed from unicodedata: starters that are the second half of a composition."""
    seconds = set()
    for cp in range(0x110000):
        decomposition = unicodedata.decomposition(chr(cp))
        if decomposition and not decomposition.startswith("<"):
            parts = [chr(int(x, 16)) for x in decomposition.split()]
            if len(parts) == 2 and unicodedata.normalize("NFC", "".join(parts)) == chr(cp):
                seconds.add(parts[1])
    seconds.update(map(chr, range(0x1161, 0x1176)))
    seconds.update(map(chr, range(0x11A8, 0x11C3)))
    assert {c for c in seconds if unicodedata.combining(c) == 0} == _SECOND_STARTERS
