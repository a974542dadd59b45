"""Fixtures for the stand-ins: tiny real XGBoost models, a deploy helper that registers a
model in moto exactly as the AWS deploy does (S3 object, model, endpoint config,
endpoint), and the local SageMaker runtime as a real process against the session's moto."""

from __future__ import annotations

import io
import sys
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
import xgboost as xgb
from botocore.config import Config

from devstack.processes import ManagedProcess, ProcessSpec, free_port, http_ready

BUCKET = "devstack-test"
N_FEATURES = 5


def _train(label_fn: Any, seed: int) -> xgb.Booster:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, size=(300, N_FEATURES)).astype(float)
    y = label_fn(x).astype(float)
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.5, "seed": seed}
    return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=8)


def model_archive(booster: xgb.Booster) -> bytes:
    """``model.tar.gz`` holding only ``xgboost-model``, as training writes it."""
    raw = bytes(booster.save_raw("ubj"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    return buf.getvalue()


@pytest.fixture(scope="session")
def model_a() -> xgb.Booster:
    return _train(lambda x: x[:, 0] + x[:, 2] > 2, seed=1)


@pytest.fixture(scope="session")
def model_b() -> xgb.Booster:
    return _train(lambda x: x[:, 1] < 1, seed=2)


@dataclass
class Control:
    """boto3 clients on moto, and the deploy steps the AWS path uses."""

    s3: Any
    sagemaker: Any

    def upload(self, archive: bytes, key: str) -> str:
        try:
            self.s3.create_bucket(Bucket=BUCKET)
        except self.s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=archive)
        return f"s3://{BUCKET}/{key}"

    def register(self, name: str, archive: bytes, variant: str = "AllTraffic") -> str:
        """Model + endpoint config named ``name``; returns the config name."""
        url = self.upload(archive, f"models/{name}/model.tar.gz")
        self.sagemaker.create_model(
            ModelName=name,
            PrimaryContainer={"Image": "xgboost:3.2-0", "ModelDataUrl": url},
            ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        )
        self.sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": variant,
                    "ModelName": name,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.t2.medium",
                    "InitialVariantWeight": 1.0,
                }
            ],
        )
        return name

    def deploy(self, booster: xgb.Booster, endpoint: str | None = None) -> str:
        """A fresh endpoint serving ``booster``; returns its name."""
        name = endpoint or f"sentiment-{uuid.uuid4().hex[:8]}"
        config = self.register(f"{name}-{uuid.uuid4().hex[:4]}", model_archive(booster))
        self.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
        return name


@pytest.fixture
def control(moto_env: str) -> Control:
    return Control(
        boto3.client("s3", endpoint_url=moto_env), boto3.client("sagemaker", endpoint_url=moto_env)
    )


@pytest.fixture(scope="session")
def runtime_url(moto_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The local runtime as a real process; re-resolves endpoints on every request."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "devstack.runtime", "--port", str(port)]
    argv += ["--control-url", moto_server, "--s3-url", moto_server, "--resolve-ttl", "0"]
    spec = ProcessSpec(
        name="sagemaker-runtime",
        argv=argv,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[2])},
        port=port,
        ready=http_ready(f"{url}/ping"),
        ready_timeout=30,
    )
    proc = ManagedProcess(spec, tmp_path_factory.mktemp("runtime") / "runtime.log").start()
    try:
        yield url
    finally:
        proc.stop()


@pytest.fixture
def runtime(runtime_url: str) -> Any:
    """boto3's unchanged sagemaker-runtime client, pointed at the local runtime."""
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=runtime_url,
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
