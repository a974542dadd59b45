"""``sentiment train --sagemaker``: fit the model in a SageMaker training job.

Everything but the fit stays local and identical to a local run (data, vocabulary, features,
evaluation, report, run folder). :class:`SageMakerClassifier` is a drop-in for
:class:`training.model.LinearSentimentClassifier`: its ``fit`` writes the already encoded
training and validation matrices to S3 in the container's format, launches a training job
of the built-in XGBoost container 3.2-0 with the same ``gblinear`` parameters, and loads the
job's ``xgboost-model`` back as the fitted booster.

Feature meaning: a ``text/csv`` vocabulary trains on dense CSV rows, label first, no header,
where 0 is a value (what the endpoint is sent); a ``text/libsvm`` one on libsvm rows, label
first, with 0-based indices: the container trains through XGBoost's libsvm file parser,
which takes indices as written, whereas its server shifts 1-based request bodies. For the
linear booster an absent feature and a 0 contribute the same nothing.

The launch is a function (:data:`Launcher`) so tests can stand in for SageMaker, which no
local tool can run: they write a real ``model.tar.gz`` where the job would.
"""

from __future__ import annotations

import io
import logging
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from training import artifacts
from training.aws.clients import AWS_ERRORS, translate
from training.aws.images import XGBOOST_VERSION
from training.aws.job_hyperparameters import job_hyperparameters
from training.aws.sagemaker_adapter import Progress
from training.aws.sdk import import_sdk
from training.errors import AwsError, UsageError
from training.model import LinearSentimentClassifier, Rows, served_rows
from vocab_store import format_value

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

DEFAULT_TRAINING_INSTANCE = "ml.m5.xlarge"


@dataclass(frozen=True)
class SageMakerTrainingSettings:
    """Where and how the training job runs."""

    bucket: str
    role_arn: str
    region: str
    run_id: str
    instance_type: str = DEFAULT_TRAINING_INSTANCE
    instance_count: int = 1
    spot: bool = False
    max_run_seconds: int = 3600
    max_wait_seconds: int | None = None  # spot only: run time plus waiting for capacity

    def __post_init__(self) -> None:
        if not self.bucket:
            raise UsageError("no bucket: pass --bucket or set SENTIMENT_BUCKET")
        if not self.role_arn:
            raise UsageError(
                "no SageMaker execution role: pass --role or set SENTIMENT_SAGEMAKER_ROLE"
            )
        if self.spot and (self.max_wait_seconds or 0) < self.max_run_seconds:
            object.__setattr__(self, "max_wait_seconds", 2 * self.max_run_seconds)

    @property
    def prefix(self) -> str:
        return f"training/{self.run_id}"


@dataclass(frozen=True)
class TrainingJob:
    """What a launcher needs: channels in S3, format, parameters, where output goes."""

    name: str
    channels: dict[str, str]  # "train"/"validation" -> s3:// URI
    content_type: str
    hyperparameters: dict[str, str]
    output_path: str
    settings: SageMakerTrainingSettings
    extra: dict[str, Any] = field(default_factory=dict)


# Runs the job to completion and returns the S3 URI of its model.tar.gz.
Launcher = Callable[[TrainingJob, Progress], str]


def training_body(
    x: scipy.sparse.csr_matrix,
    y: np.ndarray,
    content_type: str,
    weight: np.ndarray | None = None,
) -> bytes:
    """Training rows the XGBoost container reads: label first, no header; dense CSV (0 is
    a value) or 0-based libsvm (the container's file parser does not shift indices).

    With ``weight``, every row carries its instance weight where the container reads it
    (data_utils.py): libsvm ``label:weight``, CSV the second column (the job then needs
    ``csv_weights=1``). XGBoost's libsvm parser takes weights only when every row has one.

    Both carry the matrix's full width whatever the rows hold: XGBoost sizes a libsvm file
    by the highest index present, and a model narrower than the vocabulary fails every
    request naming a last term. So the first libsvm row also names the last column, with
    value 0, which XGBoost keeps as a present zero: it adds nothing to a linear model.
    """
    lines: list[str] = []
    width = x.shape[1]
    for i in range(x.shape[0]):
        start, end = x.indptr[i], x.indptr[i + 1]
        cols, vals = x.indices[start:end], x.data[start:end]
        label = format_value(float(y[i]))
        if weight is not None:
            sep = ":" if content_type == "text/libsvm" else ","
            label = f"{label}{sep}{format_value(float(weight[i]))}"
        if content_type == "text/csv":
            row = ["0"] * width
            for c, v in zip(cols, vals, strict=True):
                row[c] = format_value(float(v))
            lines.append(",".join([label, *row]))
        elif content_type == "text/libsvm":
            # 0-based, unlike request bodies: the container reads training files with
            # XGBoost's libsvm file parser, 0-based unless told otherwise, while its
            # server shifts 1-based request bodies down by one. Either way feature j
            # lands in column j, as in local training.
            pairs = [f"{c}:{format_value(float(v))}" for c, v in zip(cols, vals, strict=True)]
            if i == 0 and width - 1 not in cols:
                pairs.append(f"{width - 1}:0")
            lines.append(" ".join([label, *pairs]))
        else:
            raise UsageError(f"cannot train on SageMaker with content type {content_type}")
    return ("\n".join(lines) + "\n").encode("ascii")


def upload(s3: S3Client, bucket: str, key: str, body: bytes) -> str:
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    except AWS_ERRORS as exc:
        raise translate(exc, f"uploading s3://{bucket}/{key}") from exc
    return f"s3://{bucket}/{key}"


def download_model_bytes(s3: S3Client, uri: str) -> bytes:
    """The ``xgboost-model`` inside the job's ``model.tar.gz`` at ``uri``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        blob = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except AWS_ERRORS as exc:
        raise translate(exc, f"downloading the trained model {uri}") from exc
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            member = tar.getmember(artifacts.MODEL_MEMBER)
            fh = tar.extractfile(member)
            if fh is None:
                raise KeyError(artifacts.MODEL_MEMBER)
            return fh.read()
    except (KeyError, tarfile.TarError, OSError) as exc:
        raise AwsError(f"{uri} holds no {artifacts.MODEL_MEMBER}: {exc}") from exc


def launch_with_model_trainer(job: TrainingJob, progress: Progress) -> str:
    """Run ``job`` with the SageMaker SDK v3's ``ModelTrainer`` and wait for it."""
    train_mod = import_sdk("sagemaker.train")
    configs = import_sdk("sagemaker.train.configs")
    image_uris = import_sdk("sagemaker.core.image_uris")
    s = job.settings
    image = image_uris.retrieve("xgboost", s.region, XGBOOST_VERSION)
    trainer = train_mod.ModelTrainer(
        training_image=image,
        role=s.role_arn,
        base_job_name="sentiment",
        compute=configs.Compute(
            instance_type=s.instance_type,
            instance_count=s.instance_count,
            enable_managed_spot_training=s.spot or None,
        ),
        stopping_condition=configs.StoppingCondition(
            max_runtime_in_seconds=s.max_run_seconds,
            max_wait_time_in_seconds=s.max_wait_seconds if s.spot else None,
        ),
        hyperparameters=job.hyperparameters,
        output_data_config=configs.OutputDataConfig(s3_output_path=job.output_path),
    )
    progress(f"starting training job on {s.instance_count} x {s.instance_type} ({image})")
    try:
        trainer.train(
            input_data_config=[
                configs.InputData(channel_name=name, data_source=uri, content_type=job.content_type)
                for name, uri in job.channels.items()
            ],
            wait=True,
            logs=True,
        )
    except AWS_ERRORS as exc:
        raise translate(exc, "the SageMaker training job") from exc
    training_job = trainer._latest_training_job
    status = str(training_job.training_job_status)
    progress(f"training job {training_job.training_job_name}: {status}")
    if status != "Completed":
        raise AwsError(
            f"training job {training_job.training_job_name} ended {status}: "
            f"{training_job.failure_reason}"
        )
    return str(training_job.model_artifacts.s3_model_artifacts)


class SageMakerClassifier(LinearSentimentClassifier):
    """:class:`LinearSentimentClassifier` whose model is trained in a SageMaker training job.

    ``settings``, ``s3``, ``content_type`` (the vocabulary's), ``launch`` and ``on_status``
    (where the job's status lines go) come in beside the usual parameters; ``fit`` sets the
    same fitted attributes, plus ``job_record_`` (see :meth:`fit_record`).

    The container's early stopping cannot keep the best ``gblinear`` model, so the decision
    is made here, on validation, by the local fit: it picks the rounds, the job trains
    exactly that many with no early stopping, and the job's model must match the vocabulary's
    width (and is compared with the local model, the figure going into the run's record).
    With ``refit`` the job's train channel is the training rows followed by the validation
    rows, as the local refit stacks them.
    """

    def __init__(
        self,
        *,
        settings: SageMakerTrainingSettings,
        s3: S3Client,
        content_type: str,
        launch: Launcher = launch_with_model_trainer,
        on_status: Progress | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.settings = settings
        self.s3 = s3
        self.content_type = content_type
        self.launch = launch
        self.on_status = on_status

    def fit(
        self,
        X: scipy.sparse.csr_matrix,
        y: np.ndarray,
        X_val: scipy.sparse.csr_matrix,
        y_val: np.ndarray,
        *,
        sample_weight: np.ndarray | None = None,
        refit_extra: Rows | None = None,
    ) -> SageMakerClassifier:
        """Choose the rounds with a local validation fit, train exactly that many in a job
        on the same rows, with the same weights (:func:`training.model.served_rows`), and
        keep the job's model once it is as wide as ``X``."""
        import numpy as np
        import xgboost

        say = self.on_status or (lambda message: log.info("%s", message))
        start = time.perf_counter()
        s = self.settings
        job_hyperparameters(self.xgb_params(), self.n_rounds)  # refuse before any work
        say("choosing the number of rounds on validation with a local fit")
        local = LinearSentimentClassifier(**self.get_params()).fit(
            X, y, X_val, y_val, sample_weight=sample_weight, refit_extra=refit_extra
        )
        rounds = local.best_iteration_ + 1
        rounds_run = len(local.evals_result_["validation"]["logloss"])
        train = served_rows(X, y, X_val, y_val, sample_weight, refit_extra, refit=self.refit)
        # Unit weights are XGBoost's default: the body stays as it was without weights.
        weights = train.weight if np.any(train.weight != 1.0) else None
        params = self.xgb_params()
        if weights is not None and self.content_type == "text/csv":
            params["csv_weights"] = 1
        hp = job_hyperparameters(params, rounds)
        suffix = "csv" if self.content_type == "text/csv" else "libsvm"
        channels = {}
        # The container reads both channels with the same csv_weights: unit weights here.
        unit = None if weights is None else np.ones(X_val.shape[0], dtype=np.float32)
        bodies = {"train": (train.x, train.y, weights), "validation": (X_val, y_val, unit)}
        for name, (xs, ys, ws) in bodies.items():
            key = f"{s.prefix}/{name}/{name}.{suffix}"
            say(f"writing {xs.shape[0]} {name} rows to s3://{s.bucket}/{key}")
            body = training_body(xs, ys, self.content_type, ws)
            channels[name] = upload(self.s3, s.bucket, key, body)
        job = TrainingJob(
            name=f"sentiment-{s.run_id}",
            channels=channels,
            content_type=self.content_type,
            hyperparameters=hp.values,
            output_path=f"s3://{s.bucket}/{s.prefix}/output",
            settings=s,
        )
        model_uri = self.launch(job, say)
        say(f"downloading the model from {model_uri}")
        raw = download_model_bytes(self.s3, model_uri)
        booster = xgboost.Booster(model_file=bytearray(raw))
        booster.set_param({"nthread": self.n_jobs})
        if booster.num_features() != X.shape[1]:
            raise AwsError(
                f"training job {job.name} made a model of {booster.num_features()} features "
                f"for a vocabulary of {X.shape[1]}, so this run is not kept: report it"
            )
        self.booster_ = booster
        self.model_bytes_ = raw
        self.model_uri_ = model_uri
        p_val = booster.predict(xgboost.DMatrix(X_val, nthread=self.n_jobs))
        self.validation_booster_ = local.validation_booster_
        self.best_iteration_ = rounds - 1
        self.best_score_ = local.best_score_
        # The local fit's per-round history is the one the rounds were chosen on.
        self.evals_result_ = local.evals_result_
        self.n_features_in_ = int(X.shape[1])
        self.job_record_ = {
            "job": job.name,
            "model_uri": model_uri,
            "hyperparameters": hp.values,
            "left_out": {
                **hp.left_out,
                # callback.py: the container's early stopping asks XGBoost to keep the
                # best model (save_best), which gblinear refuses; so it is never sent.
                "early_stopping_rounds": (
                    f"{self.early_stopping_rounds}: applied by the local validation fit, "
                    f"which chose num_round={rounds} (the best of {rounds_run} rounds run)"
                ),
            },
            "max_abs_diff_validation_vs_local": float(
                np.max(np.abs(p_val - local.predict_proba(X_val)), initial=0.0)
            ),
        }
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def fit_record(self) -> dict[str, Any]:
        """The job, its hyperparameters, the local settings it did not take (and why), and
        how far its model's validation answers are from the local fit's."""
        return {"sagemaker": self.job_record_}
