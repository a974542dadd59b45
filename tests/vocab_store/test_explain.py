"""A review read once: the vector sent, term spans, sentences, and the evidence object."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vocab_store import Encoder, Vocabulary
from vocab_store.explain import evidence, read
from vocab_store.linear import LinearModel, sigmoid

WORDS = st.sampled_from(
    [
        *"wonderful film acting superb terrible plot awful not good bad best worst movie".split(),
        *"the a boring . ! ? , ; \n \U0001f600 caf\u00e9 don\u2019t".split(" "),
        "<br />",
    ]
)


@pytest.fixture(scope="module", params=["text/csv", "text/libsvm"])
def weighted(request: pytest.FixtureRequest, any_vocabulary: Vocabulary) -> Vocabulary:
    v = dataclasses.replace(any_vocabulary, content_type=request.param)
    coefficients = tuple(math.cos(3 * i) for i in range(v.feature_count))
    return dataclasses.replace(v, linear=LinearModel(coefficients, 0.2))


@settings(max_examples=150, deadline=None)
@given(st.lists(WORDS, max_size=40).map(" ".join))
def test_the_reading_sends_exactly_the_encoder_s_vector(weighted: Vocabulary, text: str) -> None:
    encoder = Encoder(weighted)
    reading = read(encoder, text)
    assert reading.vector == encoder.vector(text)
    for sentence in reading.sentences:
        assert sentence.vector == encoder.vector(text[sentence.start : sentence.end])


@settings(max_examples=150, deadline=None)
@given(st.lists(WORDS, max_size=60).map(" ".join), st.integers(1, 8))
def test_listed_plus_unlisted_plus_intercept_is_the_log_odds(
    weighted: Vocabulary, text: str, cap: int
) -> None:
    reading = read(Encoder(weighted), text)
    assert weighted.linear is not None
    found = evidence(reading, weighted, [0.5] * len(reading.sentences), max_terms=cap)
    listed = [t["contribution"] for t in found["terms"]]
    assert len(listed) <= cap
    assert [abs(c) for c in listed] == sorted((abs(c) for c in listed), reverse=True)
    total = found["intercept"] + math.fsum(listed) + found["unlisted"]["contribution"]
    exact = weighted.linear.intercept + math.fsum(weighted.linear.contributions(reading.vector))
    assert sigmoid(total) == pytest.approx(sigmoid(exact), abs=1e-12)
    for term in found["terms"]:
        for start, end in term["spans"]:
            assert 0 <= start < end <= len(text)


def test_a_term_lists_every_occurrence_and_a_bigram_spans_both_words(weighted: Vocabulary) -> None:
    text = "Moving film. Truly moving film!"
    found = evidence(read(Encoder(weighted), text), weighted, [0.5, 0.5], max_terms=100)
    by_term = {t["term"]: t for t in found["terms"]}
    assert by_term["film"]["spans"] == [[7, 11], [26, 30]]
    assert by_term["move film"]["spans"] == [[0, 11], [19, 30]]
    assert by_term["move film"]["text"] == "Moving film"


def test_sentences_end_at_their_punctuation_breaks_and_html_breaks(weighted: Vocabulary) -> None:
    text = "A wonderful film! Awful plot\u2026 score 3.5 of 10<br /><br />The best (really).\nBad"
    reading = read(Encoder(weighted), text)
    assert [text[s.start : s.end] for s in reading.sentences] == [
        "A wonderful film!",
        "Awful plot\u2026",
        "score 3.5 of 10",
        "The best (really).",
        "Bad",
    ]


def test_only_the_first_sentences_are_scored(weighted: Vocabulary) -> None:
    reading = read(Encoder(weighted), "Good. " * 7, max_sentences=3)
    assert len(reading.sentences) == 3 and reading.unscored_sentences == 4
    assert len(reading.vectors()) == 4


def test_nothing_known_is_not_known(weighted: Vocabulary) -> None:
    assert not read(Encoder(weighted), "xyzzy plugh").known
    assert read(Encoder(weighted), "a wonderful film").known
