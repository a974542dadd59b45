"""Calibration: a Platt correction that lives inside the served model. (How far off the
probabilities are, the ECE and the reliability diagram, is :mod:`training.metrics`'s job.)

- :func:`fit_platt`: ``sigmoid(a * margin + b)``, fitted on the validation split.
- :func:`fold_platt`: a ``gblinear`` model's margin is linear, so ``a * margin + b`` is the
  same model with its weights times ``a`` and a new bias. The correction is written into
  the booster itself (its JSON, reloaded), so the container serves the calibrated
  probability, and the weights the vocabulary carries for evidence are the calibrated ones.
"""

from __future__ import annotations

import json
import logging
import math
from typing import TYPE_CHECKING, Any

from training.errors import TrainingError

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse
    import xgboost

log = logging.getLogger(__name__)


def fit_platt(margins: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Scale ``a`` and shift ``b`` minimising the log loss of ``sigmoid(a * margin + b)``
    (Platt 1999, with his smoothed targets so a separable validation set stays finite)."""
    import numpy as np
    from scipy.optimize import minimize

    z = np.asarray(margins, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    n_pos, n_neg = float(y.sum()), float(y.size - y.sum())
    target = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        s = ab[0] * z + ab[1]
        # log(1 + e^s) - t*s, and its gradient (sigmoid(s) - t) times (z, 1)
        value = float(np.sum(np.logaddexp(0.0, s) - target * s))
        r = 1.0 / (1.0 + np.exp(-s)) - target
        return value, np.array([float(r @ z), float(r.sum())])

    result = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    a, b = (float(v) for v in result.x)
    if not (math.isfinite(a) and math.isfinite(b)) or a <= 0.0:
        raise TrainingError(f"Platt calibration failed (scale {a}, shift {b})")
    return a, b


def fold_platt(booster: xgboost.Booster, scale: float, shift: float) -> xgboost.Booster:
    """A copy of a one-output ``gblinear`` booster whose margin is ``scale * margin +
    shift``: weights times ``scale``; ``base_score`` 0.5 (no hidden offset) and a bias that
    carries the whole intercept, ``scale * (bias + logit(base_score)) + shift``."""
    import xgboost

    model = json.loads(bytes(booster.save_raw("json")))
    learner = model["learner"]
    weights = learner["gradient_booster"]["model"]["weights"]
    if learner["learner_model_param"].get("num_target", "1") != "1":
        raise TrainingError("Platt calibration needs a model with one output")
    base = float(str(learner["learner_model_param"]["base_score"]).strip("[]"))
    offset = math.log(base / (1.0 - base))
    bias = scale * (float(weights[-1]) + offset) + shift
    learner["gradient_booster"]["model"]["weights"] = [float(w) * scale for w in weights[:-1]] + [
        bias
    ]
    learner["learner_model_param"]["base_score"] = "[5E-1]"
    return xgboost.Booster(model_file=bytearray(json.dumps(model).encode("utf-8")))


def calibrate(
    booster: xgboost.Booster,
    X_val: scipy.sparse.csr_matrix,
    y_val: np.ndarray,
    *,
    n_jobs: int,
    chosen: xgboost.Booster | None = None,
) -> tuple[xgboost.Booster, dict[str, Any]]:
    """The booster with a Platt correction folded in, and a record of it. The correction is
    fitted on the validation margins of ``chosen`` (the validation-phase model when
    ``booster`` was refitted on training + validation rows; ``booster`` itself by default).
    Refuses (:class:`TrainingError`) a folded model whose own predictions are not the
    corrected probabilities."""
    import numpy as np
    import xgboost

    dval = xgboost.DMatrix(X_val, nthread=n_jobs)
    source = booster if chosen is None else chosen
    chosen_margins = source.predict(dval, output_margin=True).astype(np.float64)
    scale, shift = fit_platt(chosen_margins, y_val)
    folded = fold_platt(booster, scale, shift)
    folded.set_param({"nthread": n_jobs})
    margins = booster.predict(dval, output_margin=True).astype(np.float64)
    expected = 1.0 / (1.0 + np.exp(-(scale * margins + shift)))
    served = folded.predict(dval).astype(np.float64)
    # float32 sums over a few hundred features: far below 1e-4 in probability.
    gap = float(np.max(np.abs(served - expected))) if served.size else 0.0
    if gap > 1e-4:
        raise TrainingError(f"the calibrated model does not serve Platt's probabilities ({gap})")
    before = source.predict(dval).astype(np.float64)
    after = 1.0 / (1.0 + np.exp(-(scale * chosen_margins + shift)))
    log.info("Platt calibration: scale %.4f, shift %+.4f", scale, shift)
    return folded, {
        "method": "platt",
        "fitted_on": "validation" if chosen is None else "validation, validation-phase model",
        "scale": scale,
        "shift": shift,
        "validation_logloss_before": _logloss(y_val, before),
        "validation_logloss_after": _logloss(y_val, after),
        "max_abs_difference": gap,
    }


def corrected(
    booster: xgboost.Booster,
    record: dict[str, Any] | None,
    X: scipy.sparse.csr_matrix,
    *,
    n_jobs: int,
) -> np.ndarray:
    """``booster``'s probabilities on ``X`` with the Platt correction of ``record`` (a
    :func:`calibrate` record; none when ``None``): the validation-phase model's answers."""
    import xgboost

    model = booster if record is None else fold_platt(booster, record["scale"], record["shift"])
    model.set_param({"nthread": n_jobs})
    return model.predict(xgboost.DMatrix(X, nthread=n_jobs))


def _logloss(labels: np.ndarray, proba: np.ndarray) -> float:
    import numpy as np

    y = np.asarray(labels, dtype=np.float64)
    p = np.clip(np.asarray(proba, dtype=np.float64), 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
