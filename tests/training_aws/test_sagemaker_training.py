"""``train --sagemaker``'s fit: channels written to S3 in the container's format, and the
job's model read back. SageMaker cannot run here, so :class:`FakeJob` stands in for the job
with the container's rules (tests/training_aws/training_job.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse
import xgboost

from tests.training_aws.conftest import BUCKET, ROLE
from tests.training_aws.training_job import FakeJob
from training import artifacts
from training.aws.sagemaker_training import (
    SageMakerClassifier,
    SageMakerTrainingSettings,
    training_body,
)
from training.calibration import fold_platt
from training.errors import UsageError

RUN = "20261123-091500-a1b2"


def data(seed: int, rows: int = 200, width: int = 6) -> tuple[Any, np.ndarray]:
    rng = np.random.default_rng(seed)
    dense = (rng.random((rows, width)) < 0.3) * rng.random((rows, width)).round(3)
    y = (dense[:, 0] - dense[:, 1] + 0.1 * rng.standard_normal(rows) > 0).astype(np.float32)
    return scipy.sparse.csr_matrix(dense), y


@pytest.mark.parametrize("content_type", ["text/csv", "text/libsvm"])
def test_fit_trains_on_what_the_endpoint_sees(content_type: str, s3: Any) -> None:
    x, y = data(1)
    x_val, y_val = data(2, rows=50)
    fake = FakeJob(s3)
    settings = SageMakerTrainingSettings(
        bucket=BUCKET, role_arn=ROLE, region="us-east-1", run_id=RUN, spot=True
    )
    clf = SageMakerClassifier(
        settings=settings, s3=s3, content_type=content_type, launch=fake, n_rounds=30
    ).fit(x, y, x_val, y_val)

    (job,) = fake.jobs
    assert set(job.channels) == {"train", "validation"}
    assert job.hyperparameters["booster"] == "gblinear"
    assert settings.max_wait_seconds is not None and settings.max_wait_seconds >= 3600
    # The model read back is the job's, and predicts what the job's model predicts.
    assert clf.model_bytes_ == fake.model
    expected = xgboost.Booster(model_file=bytearray(fake.model)).predict(xgboost.DMatrix(x_val))
    np.testing.assert_array_equal(clf.predict_proba(x_val), expected)
    assert 0 < clf.best_score_ < 0.69  # better than chance on validation
    # Each feature kept its column through the job's file format: the label follows
    # column 0 up and column 1 down, so those are the weights' signs (not shifted by one).
    weights, _ = clf.coefficients()
    assert weights[0] > 0 > weights[1]


def test_training_rows_are_label_first_with_no_header() -> None:
    x = scipy.sparse.csr_matrix(np.array([[0.0, 0.5, 0.0], [0.0, 0.0, 0.0]]))
    y = np.array([1.0, 0.0])
    assert training_body(x, y, "text/csv") == b"1,0,0.5,0\n0,0,0,0\n"
    # The first libsvm row names the last column, so the file is as wide as the matrix.
    assert training_body(x, y, "text/libsvm") == b"1 1:0.5 2:0\n0\n"


def test_missing_settings_are_named() -> None:
    with pytest.raises(UsageError, match="SENTIMENT_SAGEMAKER_ROLE"):
        SageMakerTrainingSettings(bucket=BUCKET, role_arn="", region="us-east-1", run_id=RUN)


def test_a_sagemaker_run_is_a_complete_run_scored_like_a_local_one(
    s3: Any, tmp_path: Any, imdb_sample: Path, token_cache: Path
) -> None:
    """The whole pipeline with the fit in a (fake) training job: the run folder holds the
    job's model, and `sentiment evaluate` re-scores it from its files to the same metrics."""
    from tests.conftest import STOPWORDS
    from training.config import TrainConfig
    from training.evaluate import evaluate_run
    from training.pipeline import train_run

    jobs: list[FakeJob] = []

    def make(*, run_id: str, content_type: str, **params: Any) -> SageMakerClassifier:
        settings = SageMakerTrainingSettings(
            bucket=BUCKET, role_arn=ROLE, region="us-east-1", run_id=run_id
        )
        fake = FakeJob(s3)
        jobs.append(fake)
        return SageMakerClassifier(
            settings=settings, s3=s3, content_type=content_type, launch=fake, **params
        )

    config = TrainConfig(
        data_dir=imdb_sample,
        stopwords_path=STOPWORDS,
        artifacts_dir=tmp_path / "artifacts",
        cache_dir=token_cache,
        train_limit=1000,
        test_limit=300,
        max_terms=500,
        progress=False,
    )
    run_dir = train_run(config, make_classifier=make)

    (fake,) = jobs
    (job,) = fake.jobs
    assert job.name == f"sentiment-{run_dir.name}"
    metrics = json.loads((run_dir / artifacts.METRICS).read_text())
    # The run serves the job's model with the Platt correction fitted locally folded in.
    platt = metrics["calibration"]
    job_model = fold_platt(
        xgboost.Booster(model_file=bytearray(fake.model)), platt["scale"], platt["shift"]
    )
    served = artifacts.read_model_bytes(run_dir / artifacts.MODEL_ARCHIVE)
    assert served == bytes(job_model.save_raw("ubj"))
    assert metrics["test"]["accuracy"] > 0.6
    again = evaluate_run(run_dir, imdb_sample, limit=300, seed=config.seed, progress=False)
    assert again["accuracy"] == pytest.approx(metrics["test"]["accuracy"])


@pytest.mark.parametrize("sdk", ["as-installed", "missing"])
def test_train_sagemaker_names_a_missing_role_before_any_work(
    sdk: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from training.cli import main

    if sdk == "missing":  # as without the aws extra, whether this venv has it or not
        monkeypatch.setitem(sys.modules, "sagemaker.train", None)
    monkeypatch.setenv("SENTIMENT_BUCKET", BUCKET)
    monkeypatch.delenv("SENTIMENT_SAGEMAKER_ROLE", raising=False)
    code = main(["train", "--sagemaker", "--region", "us-east-1", "--artifacts", str(tmp_path)])
    assert code != 0
    assert "SENTIMENT_SAGEMAKER_ROLE" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing trained, nothing written
