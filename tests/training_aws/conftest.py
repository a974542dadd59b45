"""Fixtures for the AWS path: small runs on disk, and boto3 clients on moto's server.

The runs hold a stand-in model (any bytes do: moto never loads it) with a vocabulary whose
model record carries that model's fingerprint, exactly as training writes them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import moto_client
from training import artifacts
from training.aws.naming import LOCAL_ROLE_ARN
from vocab_store import ModelRecord, TokenizerSettings, build_vocabulary
from vocab_store.store import VocabularyStore

BUCKET = "sentiment-api-local"
ROLE = LOCAL_ROLE_ARN
DOCS = [["good", "film"], ["bad", "film"], ["great", "acting"], ["awful", "plot"]]


def write_fake_run(artifacts_dir: Path, run_id: str, model_bytes: bytes) -> Path:
    settings = TokenizerSettings()
    vocab = build_vocabulary(DOCS, settings, max_terms=10)
    record = ModelRecord(artifacts.fingerprint(model_bytes), vocab.feature_count)
    return artifacts.write_run(
        artifacts_dir,
        run_id,
        model_bytes=model_bytes,
        vocabulary=vocab.with_model(record),
        metrics={"accuracy": 0.5},
        extra_files={},
    )


@pytest.fixture
def make_run(tmp_path: Path) -> Callable[[str], Path]:
    """``make_run("20261123-091500-a1b2")`` writes a run under ``tmp_path/artifacts``."""

    def make(run_id: str) -> Path:
        return write_fake_run(tmp_path / "artifacts", run_id, f"model of {run_id}".encode())

    return make


@pytest.fixture
def s3(moto_env: str) -> Any:
    client = moto_client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def sagemaker(moto_env: str) -> Any:
    return moto_client("sagemaker")


@pytest.fixture
def store(s3: Any) -> VocabularyStore:
    return VocabularyStore(BUCKET, s3_client=s3)
