"""A stand-in for the SageMaker XGBoost 3.2-0 training job, with the container's rules.

SageMaker cannot run here; :class:`FakeJob` is called where the launcher would start the
job, and fails where the container fails.
"""

from __future__ import annotations

from typing import Any

import xgboost

from tests.training_aws.conftest import BUCKET
from training import artifacts
from training.aws.job_hyperparameters import CONTAINER_HYPERPARAMETERS
from training.aws.sagemaker_training import TrainingJob
from training.errors import AwsError


class FakeJob:
    """Stands where the training job is and enforces what the 3.2-0 container enforces
    (aws/sagemaker-xgboost-container, algorithm_mode/train.py, callback.py, data_utils.py):
    hyperparameters outside its list refuse the job; each channel is read with XGBoost's own
    file parsers, called as the container calls them (CSV delimiter sniffed from the first
    line, ``label_column=0``; libsvm with its default indexing); early stopping is XGBoost's
    callback with ``save_best``; the model goes to ``model.tar.gz`` where the job's would.
    A refused or failed job raises :class:`AwsError`, as the real launcher does."""

    def __init__(self, s3: Any, workdir: Any = None) -> None:
        self.s3, self.jobs = s3, []
        self.model = b""
        self.workdir = workdir

    def _matrix(self, body: bytes, content_type: str, csv_weights: bool) -> xgboost.DMatrix:
        import csv
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".txt", dir=self.workdir, delete=False) as fh:
            fh.write(body)
        if content_type == "text/csv":
            first = body.split(b"\n", 1)[0].decode()
            delimiter = csv.Sniffer().sniff(first).delimiter
            weight = "&weight_column=1" if csv_weights else ""
            return xgboost.DMatrix(
                f"{fh.name}?format=csv&label_column=0&delimiter={delimiter}{weight}"
            )
        return xgboost.DMatrix(f"{fh.name}?format=libsvm")

    def __call__(self, job: TrainingJob, progress: Any) -> str:
        self.jobs.append(job)
        hp = dict(job.hyperparameters)
        for name in hp:
            if name not in CONTAINER_HYPERPARAMETERS:
                raise AwsError(f"UserError: Extraneous hyperparameter found: {name}")
        read = {}
        for name, uri in job.channels.items():
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            read[name] = self._matrix(body, job.content_type, hp.get("csv_weights") == "1")
        num_round = int(hp.pop("num_round"))
        patience = hp.pop("early_stopping_rounds", None)
        params: dict[str, Any] = dict(hp)
        metrics = hp.get("eval_metric", "").split(",")
        if metrics != [""]:
            params["eval_metric"] = metrics
        callbacks = []
        if patience:
            callbacks.append(
                xgboost.callback.EarlyStopping(
                    rounds=int(patience), data_name="validation", metric_name=metrics[-1],
                    save_best=True,
                )
            )  # fmt: skip
        watchlist = [(read["train"], "train"), (read["validation"], "validation")]
        try:
            booster = xgboost.train(
                params, read["train"], num_round, evals=watchlist, callbacks=callbacks,
                verbose_eval=False,
            )  # fmt: skip
        except xgboost.core.XGBoostError as exc:
            raise AwsError(f"AlgorithmError: XGB train call failed with exception: {exc}") from exc
        key = job.output_path.removeprefix(f"s3://{BUCKET}/") + f"/{job.name}/output/model.tar.gz"
        self.model = bytes(booster.save_raw("ubj"))
        archive = artifacts.model_archive(self.model)
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=archive)
        return f"s3://{BUCKET}/{key}"
