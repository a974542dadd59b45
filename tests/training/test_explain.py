"""A run's weights reproduce its model; trees have none; the uncertain band and its report."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import xgboost

from training import artifacts
from training.errors import TrainingError
from training.explain import band_report, choose_band, linear_model, verify_linear
from training.features import encode_matrix
from training.metrics import classification_metrics
from vocab_store import Encoder
from vocab_store.linear import LinearModel


def _data(seed: int, n: int) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = scipy.sparse.random(n, 40, density=0.2, format="csr", random_state=seed)
    y = (x @ np.linspace(-4, 4, 40) + rng.normal(0, 0.3, n) > 0.4).astype(np.float32)
    return x, y


@pytest.fixture(scope="module")
def data() -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    return _data(0, 400)


def _train(booster: str, data: tuple[scipy.sparse.csr_matrix, np.ndarray]) -> xgboost.Booster:
    x, y = data
    params = {"booster": booster, "objective": "binary:logistic", "nthread": 1, "seed": 0}
    return xgboost.train(params, xgboost.DMatrix(x, label=y), num_boost_round=20)


def test_the_weights_and_full_intercept_reproduce_the_booster(data) -> None:  # type: ignore[no-untyped-def]
    booster = _train("gblinear", data)
    model = linear_model(booster)
    assert model is not None
    base = float(
        json.loads(booster.save_config())["learner"]["learner_model_param"]["base_score"].strip(
            "[]"
        )
    )
    assert base != 0.5  # XGBoost estimated it: the intercept must include logit(base_score)
    x, _ = data
    report = verify_linear(model, x, booster.predict(xgboost.DMatrix(x)))
    assert report["rows"] == 400 and report["max_abs_difference"] < 1e-6


def test_weights_that_do_not_reproduce_the_booster_are_refused(data) -> None:  # type: ignore[no-untyped-def]
    booster = _train("gblinear", data)
    model = linear_model(booster)
    assert model is not None
    wrong = dataclasses.replace(model, intercept=model.intercept - 0.01)
    x, _ = data
    with pytest.raises(TrainingError, match="do not reproduce"):
        verify_linear(wrong, x, booster.predict(xgboost.DMatrix(x)))


def test_a_tree_model_has_no_weights(data) -> None:  # type: ignore[no-untyped-def]
    assert linear_model(_train("gbtree", data)) is None


def test_the_band_is_the_widest_where_the_model_is_little_better_than_a_guess() -> None:
    # Near 0.5 the model is right 2 times in 5; at 0.2 and 0.8 and beyond, always.
    p = np.array([0.45, 0.47, 0.5, 0.53, 0.55, 0.2, 0.2, 0.8, 0.8, 0.05, 0.95])
    y = np.array([1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1])
    band = choose_band(y, p, ceiling=0.6)
    assert band == (0.205, 0.795)  # one step wider takes in 0.2 and 0.8: 6 right of 9
    report = band_report(y, p, band)
    assert report["uncertain"] == 5 and report["accuracy_rest"] == 1.0
    assert report["accuracy_uncertain"] == pytest.approx(0.4)
    assert choose_band(y[5:], p[5:]) is None


def test_metrics_count_half_as_positive_as_the_api_does() -> None:
    result = classification_metrics(np.array([1, 0]), np.array([0.5, 0.49]))
    assert result["accuracy"] == 1.0


def test_a_run_carries_its_weights_and_band(small_run: Path) -> None:
    vocab = artifacts.load_vocabulary(small_run)
    assert vocab.linear is not None and vocab.uncertain is not None
    metrics = json.loads((small_run / "metrics.json").read_text())
    assert metrics["uncertain"]["validation"]["band"] == list(vocab.uncertain)
    assert metrics["uncertain"]["validation"]["count"] == metrics["counts"]["validation"]
    booster = artifacts.load_booster(small_run / "model.tar.gz")
    texts = ["A wonderful film, superb acting.", "Dull and far too long.", "xyzzy"]
    x = encode_matrix(Encoder(vocab), texts, progress=False)
    verify_linear(vocab.linear, x, booster.predict(xgboost.DMatrix(x)))
    assert isinstance(vocab.linear, LinearModel)
