"""Platt's correction folded into a gblinear model, and the calibration metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse
import xgboost

from training.calibration import calibrate, fit_platt, fold_platt
from training.explain import linear_model, verify_linear
from training.metrics import expected_calibration_error, reliability


def _data(seed: int, n: int = 600) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = scipy.sparse.random(n, 40, density=0.15, random_state=seed, format="csr")
    margin = X @ rng.normal(0, 3, 40) - 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-margin))).astype(np.float32)
    return X, y


def _booster(X: scipy.sparse.csr_matrix, y: np.ndarray) -> xgboost.Booster:
    params = {"booster": "gblinear", "objective": "binary:logistic", "updater": "shotgun"}
    return xgboost.train({**params, "nthread": 1}, xgboost.DMatrix(X, label=y), 4)


def test_fit_platt_recovers_a_known_scale_and_shift() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 20_000)
    y = (rng.random(z.size) < 1 / (1 + np.exp(-(0.5 * z - 0.7)))).astype(float)
    a, b = fit_platt(z, y)
    assert a == pytest.approx(0.5, abs=0.05) and b == pytest.approx(-0.7, abs=0.07)


def test_folded_model_serves_the_corrected_probability_and_its_weights_explain_it() -> None:
    X, y = _data(1)
    booster = _booster(X, y)
    margins = booster.predict(xgboost.DMatrix(X), output_margin=True).astype(np.float64)
    folded = fold_platt(booster, 1.7, -0.4)
    # Saved and reloaded as the container would load it.
    served = xgboost.Booster(model_file=bytearray(folded.save_raw("ubj")))
    proba = served.predict(xgboost.DMatrix(X))
    assert np.allclose(proba, 1 / (1 + np.exp(-(1.7 * margins - 0.4))), atol=1e-6)
    learner = json.loads(bytes(served.save_raw("json")))["learner"]
    assert float(learner["learner_model_param"]["base_score"].strip("[]")) == 0.5
    # The evidence weights read from the served model reproduce its answers.
    model = linear_model(served)
    assert model is not None
    verify_linear(model, X, proba)


def test_calibrate_lowers_validation_log_loss_of_an_overconfident_model() -> None:
    X, y = _data(2)
    overconfident = fold_platt(_booster(X, y), 4.0, 0.0)
    X_val, y_val = _data(3)
    fixed, record = calibrate(overconfident, X_val, y_val, n_jobs=1)
    assert record["scale"] < 1.0
    assert record["validation_logloss_after"] < record["validation_logloss_before"]
    before = overconfident.predict(xgboost.DMatrix(X_val))
    after = fixed.predict(xgboost.DMatrix(X_val))
    assert expected_calibration_error(y_val, after) < expected_calibration_error(y_val, before)


def test_reliability_bins_and_ece() -> None:
    rng = np.random.default_rng(4)
    p = rng.random(50_000)
    y = (rng.random(p.size) < p).astype(int)
    bins = reliability(y, p)
    assert len(bins) == 10 and sum(b["count"] for b in bins) == p.size
    assert expected_calibration_error(y, p) < 0.01
    # Always 0.2 too sure of "positive": the gap is the ECE.
    assert expected_calibration_error(y, np.clip(p + 0.2, 0, 1)) > 0.1
    assert reliability(np.array([1]), np.array([1.0]))[-1]["count"] == 1


def test_after_a_refit_platt_is_fitted_with_the_validation_phase_model() -> None:
    rows, labels = _data(5, 1200)  # one draw: _data's true weights depend on its seed
    X, y, X_val, y_val = rows[:800], labels[:800], rows[800:], labels[800:]
    chosen = fold_platt(_booster(X, y), 3.0, 0.5)
    refit = _booster(scipy.sparse.vstack([X, X_val]).tocsr(), np.concatenate([y, y_val]))
    served, record = calibrate(refit, X_val, y_val, n_jobs=1, chosen=chosen)
    dval = xgboost.DMatrix(X_val)
    a, b = fit_platt(chosen.predict(dval, output_margin=True).astype(np.float64), y_val)
    assert (record["scale"], record["shift"]) == pytest.approx((a, b))
    margins = refit.predict(dval, output_margin=True).astype(np.float64)
    assert np.allclose(served.predict(dval), 1 / (1 + np.exp(-(a * margins + b))), atol=1e-6)
