"""Model weights in the vocabulary: float32, compact, fingerprinted, and the sum check."""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import struct

import pytest

from vocab_store import InvalidVocabulary, Vocabulary, loads
from vocab_store.linear import LinearModel, check, sigmoid, written_precision
from vocab_store.vocabulary import _sha256_json


def _with_weights(vocabulary: Vocabulary, scale: float = 1.0) -> Vocabulary:
    n = vocabulary.feature_count
    coefficients = tuple(scale * math.sin(i + 1) for i in range(n))
    return dataclasses.replace(
        vocabulary, linear=LinearModel(coefficients, -0.25), uncertain=(0.4, 0.6)
    )


def test_weights_and_band_round_trip_as_float32(vocabulary: Vocabulary) -> None:
    v = _with_weights(vocabulary)
    again = loads(v.to_json())
    assert again == v
    assert again.linear is not None and again.linear.coefficients[0] == v.linear.coefficients[0]
    # Held as XGBoost holds them: sin(1) is not a float32, its stored value is.
    assert v.linear is not None and v.linear.coefficients[0] != math.sin(1)
    assert abs(v.linear.coefficients[0] - math.sin(1)) < 1e-7


def test_coefficients_are_written_as_float32_bytes(vocabulary: Vocabulary) -> None:
    v = _with_weights(vocabulary)
    written = json.loads(v.to_json())["linear"]
    assert written["encoding"] == "float32-le-base64"
    raw = base64.b64decode(written["coefficients"])
    assert struct.unpack(f"<{v.feature_count}f", raw) == v.linear.coefficients  # type: ignore[union-attr]


def test_the_fingerprint_covers_weights_and_band_and_leaves_old_ones_alone(
    vocabulary: Vocabulary,
) -> None:
    v = _with_weights(vocabulary)
    assert vocabulary.fingerprint == _sha256_json(vocabulary.features_dict())
    assert v.fingerprint != vocabulary.fingerprint
    assert _with_weights(vocabulary, 1.01).fingerprint != v.fingerprint
    assert dataclasses.replace(v, uncertain=(0.45, 0.55)).fingerprint != v.fingerprint
    data = json.loads(v.to_json())
    data["linear"]["intercept"] = 0.5
    with pytest.raises(InvalidVocabulary, match="fingerprint"):
        loads(json.dumps(data))


def _short_by_one(d: dict) -> None:  # type: ignore[type-arg]
    raw = base64.b64decode(d["linear"]["coefficients"])[:-4]
    d["linear"]["coefficients"] = base64.b64encode(raw).decode()


def _infinite_first(d: dict) -> None:  # type: ignore[type-arg]
    raw = struct.pack("<f", math.inf) + base64.b64decode(d["linear"]["coefficients"])[4:]
    d["linear"]["coefficients"] = base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    "change, message",
    [
        (_short_by_one, "coefficients for"),
        (_infinite_first, "finite"),
        (lambda d: d["linear"].update(coefficients="not base64!"), "base64"),
        (lambda d: d["linear"].update(coefficients="AAA="), "whole number"),
        (lambda d: d["linear"].update(coefficients=[1.0]), "base64 string"),
        (lambda d: d["linear"].update(encoding="float64"), "encoding"),
        (lambda d: d["linear"].update(intercept="x"), "intercept"),
        (lambda d: d.update(uncertain=[0.6, 0.7]), "uncertain"),
        (lambda d: d.update(uncertain=[0.4]), "uncertain"),
        (lambda d: d.update(linear={"coefficients": ""}), "linear"),
    ],
)
def test_bad_weights_or_band_are_refused(vocabulary: Vocabulary, change, message: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(_with_weights(vocabulary).to_json())
    change(data)
    with pytest.raises(InvalidVocabulary, match=message):
        loads(json.dumps(data))


@pytest.mark.parametrize(
    "p, half_unit", [(0.93, 0.005), (0.5, 0.05), (1e-05, 5e-06), (0.9312345027923584, 5e-17)]
)
def test_written_precision_is_half_the_last_digit(p: float, half_unit: float) -> None:
    assert written_precision(p) == pytest.approx(half_unit)


def test_the_check_accepts_float32_noise_and_refuses_a_real_difference() -> None:
    model = LinearModel((0.5, -1.25, 2.0), 0.1)
    contributions = model.contributions([(0, 0.3), (2, 0.7)])
    exact = sigmoid(0.1 + sum(contributions))
    import array

    as_float32 = array.array("f", [exact])[0]
    assert check(model, contributions, as_float32).agrees
    assert check(model, contributions, round(exact, 2)).agrees  # an endpoint writing 2 digits
    assert not check(model, contributions, exact + 1e-4).agrees
    assert not check(model, [c * 1.01 for c in contributions], as_float32).agrees
