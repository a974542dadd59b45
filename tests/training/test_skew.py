"""No skew: the serving path gives the training-time probability, to 1e-6.

Serving path: text -> vocab_store body -> parsed as the container parses it -> the model
loaded from model.tar.gz. Training-time: the CSR matrix training builds from
Encoder.vector, scored by the same model.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import xgboost

from devstack import xgb_container
from training import artifacts
from training.data import load_split, sample
from training.evaluate import evaluate_run, serving_probabilities
from training.features import encode_matrix
from vocab_store import Encoder

N_REVIEWS = 300


@pytest.fixture(scope="module")
def reviews(imdb_sample: Path) -> list[str]:
    test = sample(load_split(imdb_sample, "test"), seed=7, limit=N_REVIEWS)
    return [*test.texts, "", "qwertyuiop", "Not good. Not good at all!"]


@pytest.fixture(params=["small_run", "libsvm_run"])
def run_dir(request: pytest.FixtureRequest) -> Path:
    return Path(request.getfixturevalue(request.param))


def test_serving_path_matches_training(run_dir: Path, reviews: list[str]) -> None:
    vocab = artifacts.load_vocabulary(run_dir)
    booster = artifacts.load_booster(run_dir / "model.tar.gz")
    training_time = booster.predict(xgboost.DMatrix(encode_matrix(Encoder(vocab), reviews)))
    serving = np.array(serving_probabilities(run_dir, reviews, batch=1))
    assert np.max(np.abs(serving - training_time)) < 1e-6
    batched = np.array(serving_probabilities(run_dir, reviews, batch=64))
    assert np.max(np.abs(batched - training_time)) < 1e-6


def test_dense_csv_and_sparse_libsvm_agree(libsvm_run: Path, reviews: list[str]) -> None:
    """gblinear adds w * 0 for an explicit zero and nothing for a missing entry: the same.
    So one model answers identically whichever wire format carries the review."""
    vocab = artifacts.load_vocabulary(libsvm_run)
    booster = artifacts.load_booster(libsvm_run / "model.tar.gz")
    as_csv = Encoder(replace(vocab, content_type="text/csv"))
    as_libsvm = Encoder(vocab)
    for text in reviews[:50] + reviews[-3:]:
        dense = xgb_container.predict(booster, xgb_container.parse(as_csv.body(text), "text/csv"))
        sparse = xgb_container.predict(
            booster, xgb_container.parse(as_libsvm.body(text), "text/libsvm")
        )
        assert abs(dense[0] - sparse[0]) < 1e-6


def test_evaluate_reproduces_training_metrics(small_run: Path, imdb_sample: Path) -> None:
    recorded = json.loads((small_run / "metrics.json").read_text())["test"]
    again = evaluate_run(small_run, imdb_sample, limit=recorded["count"], seed=42, progress=False)
    assert again["confusion_matrix"] == recorded["confusion_matrix"]
    assert again["accuracy"] == recorded["accuracy"]
    assert again["roc_auc"] == pytest.approx(recorded["roc_auc"], abs=1e-9)
