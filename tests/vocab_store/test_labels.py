"""The one label rule: p >= 0.5 positive, the band and unknown reviews uncertain."""

from __future__ import annotations

import pytest

from vocab_store.labels import label, sentiment


@pytest.mark.parametrize(
    "p, expected",
    [(0.0, "negative"), (0.4999, "negative"), (0.5, "positive"), (0.93, "positive")],
)
def test_half_is_positive_as_the_api_has_always_answered(p: float, expected: str) -> None:
    assert label(p) == expected
    assert sentiment(p) == (expected == "positive")


@pytest.mark.parametrize(
    "p, expected",
    [
        (0.29, "negative"),
        (0.3, "uncertain"),
        (0.5, "uncertain"),
        (0.7, "uncertain"),
        (0.71, "positive"),
    ],
)
def test_the_band_is_inclusive(p: float, expected: str) -> None:
    assert label(p, (0.3, 0.7)) == expected


def test_a_review_with_no_known_term_is_uncertain_whatever_its_probability() -> None:
    assert label(0.99, known=False) == "uncertain"
    assert label(0.01, (0.4, 0.6), known=False) == "uncertain"
