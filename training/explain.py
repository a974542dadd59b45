"""What a run adds to its vocabulary so every answer can be explained and labelled honestly.

- :func:`linear_model`: the booster's per-feature coefficients and full intercept (bias plus
  ``logit(base_score)``: XGBoost >= 2 estimates ``base_score`` from the labels), or ``None``
  for a booster without weights (trees).
- :func:`verify_linear`: the sigmoid of intercept plus contributions must reproduce
  ``booster.predict`` on real rows, within what float32 arithmetic accounts for
  (:func:`vocab_store.linear.tolerance`); a run whose weights would not reproduce its own
  model is refused.
- :func:`choose_band` / :func:`band_report`: the "uncertain" band, chosen on the validation
  split, and how it splits a set of reviews.
"""

from __future__ import annotations

import json
import logging
import math
from typing import TYPE_CHECKING, Any

from training.errors import TrainingError
from vocab_store.labels import POSITIVE, Band, label
from vocab_store.linear import LinearModel, tolerance

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse
    import xgboost

log = logging.getLogger(__name__)

# Inside the band the model is right at most this often on the validation split.
BAND_ACCURACY_CEILING = 0.60
BAND_STEP = 0.005
BAND_MAX_HALF_WIDTH = 0.45


def linear_model(booster: xgboost.Booster) -> LinearModel | None:
    """The weights of a one-output ``gblinear`` ``binary:logistic`` booster, else ``None``."""
    config = json.loads(booster.save_config())
    learner = config["learner"]
    if learner["gradient_booster"]["name"] != "gblinear":
        return None
    if learner["objective"]["name"] != "binary:logistic":
        return None
    model = json.loads(bytes(booster.save_raw("json")))["learner"]
    weights = [float(w) for w in model["gradient_booster"]["model"]["weights"]]
    base_score = float(str(model["learner_model_param"]["base_score"]).strip("[]"))
    if not 0.0 < base_score < 1.0:
        raise TrainingError(f"the model's base_score {base_score} is not a probability")
    intercept = weights[-1] + math.log(base_score / (1.0 - base_score))
    return LinearModel(tuple(weights[:-1]), intercept)


def verify_linear(
    model: LinearModel, X: scipy.sparse.csr_matrix, predicted: np.ndarray
) -> dict[str, Any]:
    """Check that ``model`` reproduces ``predicted`` (``booster.predict`` of ``X``) row by
    row; raise :class:`TrainingError` naming the first row that does not. Returns the
    largest difference seen and the rows checked."""
    import numpy as np

    values = X.astype(np.float32).astype(np.float64)
    coefficients = np.asarray(model.coefficients, dtype=np.float64)
    scaled = values.multiply(coefficients.reshape(1, -1)).tocsr()
    log_odds = np.asarray(scaled.sum(axis=1)).ravel() + model.intercept
    magnitude = np.asarray(abs(scaled).sum(axis=1)).ravel() + abs(model.intercept)
    counts = np.diff(scaled.indptr)
    expected = 1.0 / (1.0 + np.exp(-log_odds))
    answered = np.asarray(predicted, dtype=np.float64)
    for row in range(X.shape[0]):
        allowed = tolerance(
            float(expected[row]), float(answered[row]), int(counts[row]), float(magnitude[row])
        )
        if abs(expected[row] - answered[row]) > allowed:
            raise TrainingError(
                f"the model's weights do not reproduce its prediction for row {row}: "
                f"sigmoid(intercept + sum) = {expected[row]!r}, booster.predict = "
                f"{answered[row]!r}"
            )
    largest = float(np.max(np.abs(expected - answered))) if len(answered) else 0.0
    log.info(
        "linear weights reproduce %d predictions (largest difference %.2e)", len(answered), largest
    )
    return {"rows": int(X.shape[0]), "max_abs_difference": largest}


def choose_band(
    labels: np.ndarray, proba: np.ndarray, *, ceiling: float = BAND_ACCURACY_CEILING
) -> Band | None:
    """The widest band ``[0.5 - d, 0.5 + d]`` (``d`` in steps of 0.005) inside which the
    model is right on at most ``ceiling`` of the validation reviews; ``None`` when even the
    narrowest holds no review or is more accurate than that."""
    import numpy as np

    y = np.asarray(labels).astype(int)
    p = np.asarray(proba, dtype=np.float64)
    right = _predicted(p) == y
    best: Band | None = None
    steps = int(round(BAND_MAX_HALF_WIDTH / BAND_STEP))
    for step in range(1, steps + 1):
        low, high = round(0.5 - step * BAND_STEP, 3), round(0.5 + step * BAND_STEP, 3)
        inside = (p >= low) & (p <= high)  # as vocab_store.labels.label reads the band
        if inside.any() and right[inside].mean() <= ceiling:
            best = (low, high)
    return best


def band_report(labels: np.ndarray, proba: np.ndarray, band: Band | None) -> dict[str, Any]:
    """How ``band`` splits these reviews: how many are "uncertain", how accurate the model
    is on them and on the rest (the reviews it answers positive or negative)."""
    import numpy as np

    y = np.asarray(labels).astype(int)
    p = np.asarray(proba, dtype=np.float64)
    right = _predicted(p) == y
    inside = np.array([label(x, band) == "uncertain" for x in p.tolist()], dtype=bool)
    outside = ~inside
    return {
        "band": None if band is None else list(band),
        "count": int(y.size),
        "uncertain": int(inside.sum()),
        "uncertain_fraction": float(inside.mean()) if y.size else 0.0,
        "accuracy_uncertain": float(right[inside].mean()) if inside.any() else None,
        "accuracy_rest": float(right[outside].mean()) if outside.any() else None,
    }


def _predicted(p: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.array([label(x) == POSITIVE for x in p.tolist()], dtype=int)
