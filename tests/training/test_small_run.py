"""The shared ``small_run`` fixture is a complete run other areas can rely on."""

from __future__ import annotations

import json
from pathlib import Path

from training import artifacts
from vocab_store import Encoder


def test_small_run_is_complete(small_run: Path) -> None:
    names = {p.name for p in small_run.iterdir()}
    assert names == {"model.tar.gz", "vocabulary.json", "metrics.json", "report.png", "report.md"}
    assert (small_run.parent / "latest").resolve() == small_run.resolve()
    vocab = artifacts.load_vocabulary(small_run)
    model_bytes = artifacts.read_model_bytes(small_run / "model.tar.gz")
    assert vocab.model is not None
    assert vocab.model.fingerprint == artifacts.fingerprint(model_bytes)
    assert vocab.model.feature_count == vocab.feature_count
    metrics = json.loads((small_run / "metrics.json").read_text())
    assert metrics["test"]["count"] == 1000
    assert metrics["test"]["accuracy"] > 0.75
    booster = artifacts.load_booster(small_run / "model.tar.gz")
    assert booster.num_features() == vocab.feature_count
    assert Encoder(vocab).body("A wonderful film.")


def test_the_default_run_is_refitted_with_calibration_from_the_validation_phase(
    small_run: Path,
) -> None:
    metrics = json.loads((small_run / "metrics.json").read_text())
    assert metrics["config"]["refit"] is True and metrics["model"]["refit"] is True
    assert metrics["calibration"]["fitted_on"] == "validation, validation-phase model"


def test_the_default_run_also_trains_on_the_sentences_of_its_training_reviews(
    small_run: Path,
) -> None:
    metrics = json.loads((small_run / "metrics.json").read_text())
    counts = metrics["counts"]
    assert metrics["config"]["sentence_weight"] == 1.0
    assert metrics["config"]["sentence_weight_per"] == "review"
    # Reviews have several sentences each: more sentence rows than reviews, in both fits.
    assert counts["sentence_rows"] > 2 * counts["train"]
    assert counts["refit_sentence_rows"] > 2 * counts["validation"]


def test_the_report_says_what_the_served_model_was_trained_on(small_run: Path) -> None:
    # The served model is the refit on every training review and its sentences: the
    # report names both trainings' rows and the short sentences' figures from metrics.json.
    metrics = json.loads((small_run / "metrics.json").read_text())
    report = (small_run / "report.md").read_text()
    counts, short = metrics["counts"], metrics["sentences"]
    assert counts["sentence_rows"] > 0 and counts["refit_sentence_rows"] > 0
    assert (
        f"Trained on {counts['train']:,} reviews and their {counts['sentence_rows']:,} "
        "sentence rows (a review's sentences together weighing 1)" in report
    )
    rows = counts["sentence_rows"] + counts["refit_sentence_rows"]
    reviews = counts["train"] + counts["validation"]
    rounds = metrics["model"]["best_iteration"] + 1
    assert f"same {rounds} rounds trained again on all {reviews:,} reviews and their {rows:,}" in (
        report
    )
    assert f"accuracy {short['accuracy']:.4f}, positive rate {short['positive_rate']:.3f}" in report
