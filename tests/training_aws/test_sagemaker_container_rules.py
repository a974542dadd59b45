"""``train --sagemaker`` against the rules of the real XGBoost 3.2-0 container: only its
hyperparameters, no early stopping with ``gblinear`` in the job, channels and models as
wide as the vocabulary, and a run whose model equals the local fit's."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse
import xgboost

from tests.training_aws.conftest import BUCKET, ROLE
from tests.training_aws.training_job import FakeJob
from training import artifacts
from training.aws.job_hyperparameters import (
    CONTAINER_HYPERPARAMETERS,
    XGBOOST_DEFAULTS,
    job_hyperparameters,
)
from training.aws.sagemaker_training import (
    SageMakerClassifier,
    SageMakerTrainingSettings,
    TrainingJob,
    training_body,
)
from training.errors import AwsError, UsageError
from training.model import LinearSentimentClassifier, Rows

# Long (trains runs of its own): handed to a worker first (tests/conftest.py).
pytestmark = pytest.mark.heavy

RUN = "20261201-101500-c3d4"


def data(seed: int, rows: int = 200, width: int = 8, unused_last: int = 0) -> tuple[Any, Any]:
    """Rows whose label follows columns 0 and 1; the last ``unused_last`` columns empty."""
    rng = np.random.default_rng(seed)
    dense = (rng.random((rows, width)) < 0.4) * rng.random((rows, width)).round(3)
    dense[:, width - unused_last :] = 0.0
    y = (dense[:, 0] - dense[:, 1] + 0.1 * rng.standard_normal(rows) > 0).astype(np.float32)
    return scipy.sparse.csr_matrix(dense), y


def classifier(s3: Any, launch: Any, content_type: str = "text/libsvm", **params: Any) -> Any:
    settings = SageMakerTrainingSettings(
        bucket=BUCKET, role_arn=ROLE, region="us-east-1", run_id=RUN
    )
    return SageMakerClassifier(
        settings=settings, s3=s3, content_type=content_type, launch=launch, **params
    )


def test_the_job_gets_only_container_hyperparameters(s3: Any) -> None:
    """Failure 1 of issue 12: `feature_selector` made the container refuse every job."""
    x, y = data(1)
    x_val, y_val = data(2, rows=60)
    fake = FakeJob(s3)
    clf = classifier(s3, fake).fit(x, y, x_val, y_val)
    (job,) = fake.jobs
    assert set(job.hyperparameters) <= CONTAINER_HYPERPARAMETERS
    assert "feature_selector" in clf.fit_record()["sagemaker"]["left_out"]
    # Every parameter of the local fit reaches the job or is said to be left out.
    record = clf.fit_record()["sagemaker"]
    assert set(clf.xgb_params()) <= set(job.hyperparameters) | set(record["left_out"])


@pytest.mark.parametrize("updater", ["coord_descent", "shotgun"])
def test_xgboosts_default_feature_selector_is_the_one_left_out(updater: str) -> None:
    """Leaving `feature_selector` out trains the same model only if XGBoost's default is
    the value left out: checked on XGBoost itself, with either linear updater."""
    x, y = data(3)
    dtrain = xgboost.DMatrix(x, label=y)
    params = LinearSentimentClassifier(updater=updater).xgb_params()
    with_it = xgboost.train(params | XGBOOST_DEFAULTS, dtrain, 20)
    without = xgboost.train(
        {k: v for k, v in params.items() if k not in XGBOOST_DEFAULTS}, dtrain, 20
    )
    assert with_it.save_raw("json") == without.save_raw("json")


@pytest.mark.parametrize(
    ("params", "named"),
    [({"feature_selector": "shuffle"}, "feature_selector"), ({"eta": 1.5}, "eta")],
)
def test_a_setting_the_container_cannot_take_is_refused_before_any_work(
    s3: Any, params: dict[str, Any], named: str
) -> None:
    x, y = data(4)
    fake = FakeJob(s3)
    with pytest.raises(UsageError, match=named):
        classifier(s3, fake, **params).fit(x, y, x, y)
    assert fake.jobs == []
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_early_stopping_is_decided_locally_and_the_job_trains_that_many_rounds(s3: Any) -> None:
    """Failure 2: the container's early stopping keeps the best model, which gblinear
    refuses. The local validation fit picks the rounds; the job trains exactly that many."""
    x, y = data(5, rows=300)
    x_val, y_val = data(6, rows=100)
    fake = FakeJob(s3)
    clf = classifier(s3, fake, eta=0.9, early_stopping_rounds=3).fit(x, y, x_val, y_val)
    (job,) = fake.jobs
    local = LinearSentimentClassifier(eta=0.9, early_stopping_rounds=3).fit(x, y, x_val, y_val)
    assert "early_stopping_rounds" not in job.hyperparameters
    assert int(job.hyperparameters["num_round"]) == local.best_iteration_ + 1
    rounds_run = len(local.evals_result_["validation"]["logloss"])
    assert rounds_run > local.best_iteration_ + 1  # it did stop early
    np.testing.assert_allclose(clf.predict_proba(x_val), local.predict_proba(x_val), atol=1e-6)
    assert clf.fit_record()["sagemaker"]["max_abs_diff_validation_vs_local"] <= 1e-6


@pytest.mark.parametrize("content_type", ["text/csv", "text/libsvm"])
def test_a_refit_job_trains_the_chosen_rounds_on_training_then_validation_rows(
    s3: Any, content_type: str
) -> None:
    """With ``refit`` the train channel is both parts, stacked as the local refit stacks them,
    and the job's model is the local refit model; the validation-phase model stays local."""
    x, y = data(5, rows=300)
    x_val, y_val = data(6, rows=100)
    fake = FakeJob(s3)
    params = {"eta": 0.9, "early_stopping_rounds": 3, "refit": True}
    clf = classifier(s3, fake, content_type, **params).fit(x, y, x_val, y_val)
    (job,) = fake.jobs
    local = LinearSentimentClassifier(**params).fit(x, y, x_val, y_val)
    assert int(job.hyperparameters["num_round"]) == local.best_iteration_ + 1
    bucket, _, key = job.channels["train"].removeprefix("s3://").partition("/")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == training_body(
        scipy.sparse.vstack([x, x_val], format="csr"), np.concatenate([y, y_val]), content_type
    )
    np.testing.assert_allclose(clf.predict_proba(x_val), local.predict_proba(x_val), atol=1e-6)
    np.testing.assert_allclose(
        clf.validation_booster_.predict(xgboost.DMatrix(x_val)),
        local.validation_booster_.predict(xgboost.DMatrix(x_val)),
    )
    assert not np.allclose(
        clf.predict_proba(x_val), clf.validation_booster_.predict(xgboost.DMatrix(x_val))
    )


@pytest.mark.parametrize("content_type", ["text/csv", "text/libsvm"])
def test_a_weighted_job_trains_the_local_refit_model(s3: Any, content_type: str) -> None:
    """Sentence rows (training.augment) reach the job as instance weights where the container
    reads them: libsvm ``label:weight`` on every row, CSV the second column with
    ``csv_weights=1`` (both channels then carry one). The job's model is the local one."""
    x, y = data(5, rows=300)
    x_val, y_val = data(6, rows=100)
    weight = np.where(np.arange(300) % 3 == 0, 0.1, 1.0).astype(np.float32)
    extra_x, extra_y = data(7, rows=40)
    extra = Rows(extra_x, extra_y, np.full(40, 0.1, dtype=np.float32))
    params = {"eta": 0.9, "early_stopping_rounds": 3, "refit": True}
    fake = FakeJob(s3)
    clf = classifier(s3, fake, content_type, **params).fit(
        x, y, x_val, y_val, sample_weight=weight, refit_extra=extra
    )
    (job,) = fake.jobs
    assert ("csv_weights" in job.hyperparameters) == (content_type == "text/csv")
    local = LinearSentimentClassifier(**params).fit(
        x, y, x_val, y_val, sample_weight=weight, refit_extra=extra
    )
    unweighted = LinearSentimentClassifier(**params).fit(x, y, x_val, y_val)
    np.testing.assert_allclose(clf.predict_proba(x_val), local.predict_proba(x_val), atol=1e-6)
    assert not np.allclose(local.predict_proba(x_val), unweighted.predict_proba(x_val), atol=1e-3)


@pytest.mark.parametrize("content_type", ["text/csv", "text/libsvm"])
def test_weights_in_a_body_are_what_xgboosts_parsers_read(
    content_type: str, tmp_path: Path
) -> None:
    x, y = data(8)
    weight = np.linspace(0.1, 2.0, x.shape[0]).astype(np.float32)
    path = tmp_path / "train.txt"
    path.write_bytes(training_body(x, y, content_type, weight))
    if content_type == "text/csv":
        uri = f"{path}?format=csv&label_column=0&weight_column=1"
    else:
        uri = f"{path}?format=libsvm"
    dmatrix = xgboost.DMatrix(uri)
    assert dmatrix.num_col() == x.shape[1]
    np.testing.assert_array_equal(dmatrix.get_label(), y)
    np.testing.assert_allclose(dmatrix.get_weight(), weight, rtol=1e-6)


def test_the_fake_job_refuses_what_the_container_refuses(s3: Any) -> None:
    """The stand-in fails where the real container failed on the old hyperparameters."""
    x, y = data(7)
    body = training_body(x, y, "text/libsvm")
    s3.put_object(Bucket=BUCKET, Key="t/train.libsvm", Body=body)
    settings = SageMakerTrainingSettings(
        bucket=BUCKET, role_arn=ROLE, region="us-east-1", run_id=RUN
    )
    uri = f"s3://{BUCKET}/t/train.libsvm"
    job = TrainingJob(
        name="j",
        channels={"train": uri, "validation": uri},
        content_type="text/libsvm",
        hyperparameters=job_hyperparameters(LinearSentimentClassifier().xgb_params(), 5).values,
        output_path=f"s3://{BUCKET}/t/output",
        settings=settings,
    )
    FakeJob(s3)(job, print)  # what we send is accepted
    extraneous = dataclasses.replace(
        job, hyperparameters={**job.hyperparameters, "feature_selector": "cyclic"}
    )
    with pytest.raises(AwsError, match="Extraneous hyperparameter found: feature_selector"):
        FakeJob(s3)(extraneous, print)
    stopping = dataclasses.replace(
        job, hyperparameters={**job.hyperparameters, "early_stopping_rounds": "2"}
    )
    with pytest.raises(AwsError, match="save_best"):
        FakeJob(s3)(stopping, print)


@pytest.mark.parametrize("content_type", ["text/csv", "text/libsvm"])
def test_channels_carry_the_full_width_through_xgboosts_parsers(
    content_type: str, tmp_path: Path
) -> None:
    """Failure 3: XGBoost sizes a libsvm file by its highest index present."""
    x, y = data(8, unused_last=3)
    path = tmp_path / "train.txt"
    path.write_bytes(training_body(x, y, content_type))
    uri = f"{path}?format=libsvm" if content_type == "text/libsvm" else f"{path}?format=csv"
    dmatrix = xgboost.DMatrix(uri + ("&label_column=0" if content_type == "text/csv" else ""))
    assert dmatrix.num_col() == x.shape[1]
    np.testing.assert_array_equal(dmatrix.get_label(), y)


def test_the_jobs_model_is_as_wide_as_the_vocabulary_when_the_last_terms_are_unused(
    s3: Any,
) -> None:
    x, y = data(9, unused_last=3)
    x_val, y_val = data(10, rows=60, unused_last=3)
    clf = classifier(s3, FakeJob(s3)).fit(x, y, x_val, y_val)
    assert clf.booster_.num_features() == x.shape[1]
    clf.predict_proba(scipy.sparse.csr_matrix(np.ones((1, x.shape[1]))))  # all terms


def test_a_model_narrower_than_the_vocabulary_is_an_error(s3: Any) -> None:
    x, y = data(11)
    fake = FakeJob(s3)

    def narrow(job: TrainingJob, progress: Any) -> str:
        uri = fake(job, progress)
        booster = xgboost.train({"booster": "gblinear"}, xgboost.DMatrix(x[:, :-2], label=y), 2)
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        s3.put_object(Bucket=bucket, Key=key, Body=artifacts.model_archive(booster.save_raw()))
        return uri

    with pytest.raises(AwsError, match=f"6 features for a vocabulary of {x.shape[1]}"):
        classifier(s3, narrow).fit(x, y, x, y)


@pytest.mark.parametrize(
    "limits",
    [
        # A few hundred reviews are enough to compare the two fits; what is fitted is
        # TrainConfig's defaults, whatever the sample's size.
        pytest.param({"train_limit": 600, "test_limit": 100}, id="defaults-600-reviews"),
        pytest.param({"train_limit": 400, "test_limit": 100, "max_terms": 3000}, id="limit-400"),
    ],
)
def test_a_sagemaker_run_equals_the_local_run(
    s3: Any, tmp_path: Path, imdb_sample: Path, token_cache: Path, limits: dict[str, Any]
) -> None:
    """The same options give the same model through the job as locally: same width,
    predictions within 1e-6 (the training settings are TrainConfig's defaults)."""
    from tests.conftest import STOPWORDS
    from training.config import TrainConfig
    from training.pipeline import train_run

    config = TrainConfig(
        data_dir=imdb_sample,
        stopwords_path=STOPWORDS,
        artifacts_dir=tmp_path / "artifacts",
        cache_dir=token_cache,
        progress=False,
        sentences_path=None,  # only reported; the models are compared here
        **limits,
    )
    fakes: list[FakeJob] = []

    def make(*, run_id: str, content_type: str, **params: Any) -> SageMakerClassifier:
        fakes.append(FakeJob(s3, workdir=tmp_path))
        return classifier(s3, fakes[-1], content_type, **params)

    local_dir = train_run(config)
    job_dir = train_run(config, make_classifier=make)
    assert len(fakes[0].jobs) == 1
    local, job = (
        xgboost.Booster(
            model_file=bytearray(artifacts.read_model_bytes(d / artifacts.MODEL_ARCHIVE))
        )
        for d in (local_dir, job_dir)
    )
    width = job.num_features()
    assert width == local.num_features()
    rows = scipy.sparse.random(300, width, density=0.01, format="lil", random_state=1)
    rows[0, width - 1] = 1.0  # the last term too
    rows = rows.tocsr()
    np.testing.assert_allclose(
        job.predict(xgboost.DMatrix(rows)), local.predict(xgboost.DMatrix(rows)), atol=1e-6
    )


def test_train_sagemaker_refuses_a_setting_the_container_cannot_take_before_any_work(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from training.cli import main

    monkeypatch.setenv("SENTIMENT_BUCKET", BUCKET)
    monkeypatch.setenv("SENTIMENT_SAGEMAKER_ROLE", ROLE)
    argv = ["train", "--sagemaker", "--eta", "1.5", "--artifacts", str(tmp_path)]
    assert main([*argv, "--region", "us-east-1"]) == UsageError.exit_code
    assert "eta" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
