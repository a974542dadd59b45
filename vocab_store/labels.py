"""The one rule that turns a probability into a label, for the API, the metrics and scoring.

``p >= 0.5`` is positive (as the API has always answered ``1``), below is negative. A
vocabulary may carry an *uncertain band* ``(low, high)`` chosen on the validation split:
a probability inside it, ``low <= p <= high``, is ``"uncertain"``; so is a review in which
the vocabulary knows no term at all (its answer is only the model's intercept).
"""

from __future__ import annotations

from typing import Final, Literal

Label = Literal["positive", "negative", "uncertain"]

THRESHOLD = 0.5
POSITIVE: Final = "positive"
NEGATIVE: Final = "negative"
UNCERTAIN: Final = "uncertain"
Band = tuple[float, float]


def sentiment(probability: float) -> int:
    """``1`` for a positive probability (``>= 0.5``), else ``0``: the text/plain answer."""
    return 1 if probability >= THRESHOLD else 0


def label(probability: float, band: Band | None = None, *, known: bool = True) -> Label:
    """``"positive"`` (p >= 0.5) or ``"negative"``; ``"uncertain"`` when ``p`` lies in
    ``band`` (inclusive) or when ``known`` is false (the review has no known term)."""
    if not known or (band is not None and band[0] <= probability <= band[1]):
        return UNCERTAIN
    return POSITIVE if probability >= THRESHOLD else NEGATIVE
