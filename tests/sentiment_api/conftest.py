"""Fixtures for the Chalice app: the app module, a test client, a vocabulary in moto's S3,
a model and endpoint in moto's SageMaker, and a stubbed sagemaker-runtime.

Every test starts with fresh settings, clients and vocabulary cache, and its own
``SENTIMENT_*`` environment (cleared again afterwards).
"""

from __future__ import annotations

import functools
import importlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from chalice.test import Client

from tests.conftest import REPO, STOPWORDS, moto_client
from vocab_store import (
    ModelRecord,
    Tokenizer,
    TokenizerSettings,
    Vocabulary,
    build_vocabulary,
    read_stopwords,
)
from vocab_store.store import VocabularyStore

APP_DIR = REPO / "sentiment_api"
BUCKET = "sentiment-api-local"
ENDPOINT = "sentiment-20260101-000000-aaaa"
FINGERPRINT = "f" * 64
DOCS = [
    "A wonderful, moving film. The acting was superb!",
    "Terrible plot and awful acting; I hated every minute.",
    "Not good, not bad: a forgettable movie with a great score.",
    "One of the best films of the year, a great cast.",
    "The worst movie I have ever seen. Boring and predictable.",
]
SETTINGS = {
    "SENTIMENT_STAGE": "test",
    "SENTIMENT_BUCKET": BUCKET,
    "SENTIMENT_VOCAB_TTL": "30",
}


def _clear_state() -> None:
    from chalicelib import wiring

    # The clients are built per process; the moto URL may differ per test.
    wiring.reset()


@pytest.fixture(scope="session")
def app_module() -> ModuleType:
    """``app.py`` imported as Lambda imports it (bucket known at import time)."""
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    saved = {k: os.environ.get(k) for k in SETTINGS}
    os.environ.update(SETTINGS)
    try:
        return importlib.import_module("app")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(autouse=True)
def app_env(monkeypatch: pytest.MonkeyPatch, app_module: ModuleType) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("SENTIMENT_"):
            monkeypatch.delenv(name)
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    _clear_state()
    yield
    _clear_state()


@pytest.fixture
def client(app_module: ModuleType, tmp_path: Path) -> Client:
    """chalice's test client; a project dir without a config, so no stage's variables
    (e.g. the local stage's fixed endpoint URLs) leak into the test."""
    return Client(app_module.app, stage_name="test", project_dir=str(tmp_path))


def make_vocabulary(
    version: int = 1,
    *,
    endpoint: str | None = ENDPOINT,
    fingerprint: str = FINGERPRINT,
    content_type: str = "text/csv",
    docs: list[str] = DOCS,
) -> Vocabulary:
    base = _built(content_type, tuple(docs))
    return base.with_version(version).with_model(
        ModelRecord(fingerprint, base.feature_count, endpoint)
    )


@functools.cache
def _built(content_type: str, docs: tuple[str, ...]) -> Vocabulary:
    # A vocabulary is immutable: built once per worker, not once per test (~30 ms each).
    settings = TokenizerSettings(stopwords=read_stopwords(STOPWORDS))
    tok = Tokenizer(settings)
    return build_vocabulary(
        (tok.terms(d) for d in docs), settings, max_terms=50, content_type=content_type
    )


@pytest.fixture
def s3(moto_env: str) -> Any:
    client = moto_client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def store(s3: Any) -> VocabularyStore:
    return VocabularyStore(BUCKET, s3_client=s3)


def live(store: VocabularyStore, vocabulary: Vocabulary) -> str:
    """Publish and promote ``vocabulary`` directly (what the S3 handler would do)."""
    key = store.publish(vocabulary)
    assert store.promote(key, vocabulary)
    return key


def create_endpoint(
    name: str = ENDPOINT,
    fingerprint: str = FINGERPRINT,
    variants: int = 1,
    tags: list[dict[str, str]] | None = None,
    vocabulary: str | None = None,
) -> None:
    """Models tagged with ``fingerprint`` and the content fingerprint ``vocabulary``
    (default: :func:`make_vocabulary`'s), or with ``tags`` alone; their endpoint config
    and endpoint, in moto."""
    sm = moto_client("sagemaker")
    content = vocabulary or make_vocabulary().fingerprint
    pvs = []
    for i in range(variants):
        model = f"{name}-m{i}" if i else name
        sm.create_model(
            ModelName=model,
            ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
            PrimaryContainer={"Image": "xgboost:3.2-0", "ModelDataUrl": "s3://b/m.tar.gz"},
            Tags=tags
            if tags is not None
            else [
                {"Key": "sentiment-api:project", "Value": "sentiment-api"},
                {"Key": "sentiment-api:model-fingerprint", "Value": fingerprint},
                {"Key": "sentiment-api:vocabulary-fingerprint", "Value": content},
            ],
        )
        pvs.append(
            {
                "VariantName": f"v{i}",
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.t2.medium",
            }
        )
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=pvs)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)


class Runtime:
    """A real sagemaker-runtime client behind botocore's Stubber, installed as the app's."""

    def __init__(self) -> None:
        self.client = boto3.client("sagemaker-runtime")
        self.stub = Stubber(self.client)
        self.stub.activate()

    def answer(self, body: bytes | str, expected: dict[str, Any] | None = None) -> None:
        import io

        from botocore.response import StreamingBody

        raw = body.encode() if isinstance(body, str) else body
        self.stub.add_response(
            "invoke_endpoint",
            {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "text/csv"},
            expected,
        )

    def fail(
        self, code: str, status: int = 400, message: str = "details with arn:aws:secret"
    ) -> None:
        self.stub.add_client_error("invoke_endpoint", code, message, status)


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    from chalicelib import wiring

    rt = Runtime()
    wiring.runtime.set(rt.client)
    yield rt
    rt.stub.deactivate()


def chalice_project(root: Path, variables: dict[str, str], *, copied: tuple[str, ...] = ()) -> Path:
    """The real Chalice project under ``root`` (links to its files; real copies of those
    named in ``copied``, for a test that edits them), with the ``local`` stage's environment
    variables updated by ``variables``: chalice lets the stage's config override the
    environment, so per-test endpoint URLs must go there."""
    import json
    import shutil

    (root / ".chalice").mkdir(parents=True, exist_ok=True)
    for name in ("app.py", "chalicelib", "vendor", "requirements.txt"):
        if name in copied:
            copy = shutil.copytree if (APP_DIR / name).is_dir() else shutil.copy2
            copy(APP_DIR / name, root / name)
        else:
            (root / name).symlink_to(APP_DIR / name)
    config = json.loads((APP_DIR / ".chalice" / "config.json").read_text())
    config["stages"]["local"]["environment_variables"].update(variables)
    (root / ".chalice" / "config.json").write_text(json.dumps(config))
    return root


def local_project(root: Path, *, copied: tuple[str, ...] = ()) -> Path:
    """:func:`chalice_project` whose ``local`` stage names free ports for the stand-ins,
    written by the documented step (``sentiment ports``), so ``sentiment up --app-dir``
    and ``chalice local --stage local`` there run beside any other stack."""
    from devstack.processes import free_port
    from devstack.stage_config import StagePorts, write_ports

    project = chalice_project(root, {}, copied=copied)
    moto = free_port()
    runtime = next(p for p in iter(free_port, None) if p != moto)
    write_ports(project, StagePorts(moto, runtime))
    return project


class Emitted:
    """What the app wrote: Powertools' JSON log lines (its handler's stream) and the EMF
    metric objects ``flush_metrics`` prints to stdout."""

    def __init__(self, capsys: pytest.CaptureFixture[str], log: io.StringIO) -> None:
        self.capsys = capsys
        self.log = log
        self.objects: list[dict[str, Any]] = []

    def read(self) -> list[dict[str, Any]]:
        import json

        text = self.capsys.readouterr().out + self.log.getvalue()
        self.log.seek(0)
        self.log.truncate()
        for line in text.splitlines():
            if line.startswith("{"):
                self.objects.append(json.loads(line))
        return self.objects

    def lines(self, message: str = "request") -> list[dict[str, Any]]:
        return [o for o in self.read() if o.get("message") == message]

    def metrics(self) -> list[dict[str, Any]]:
        return [o for o in self.read() if "_aws" in o]


@pytest.fixture
def emitted(capsys: pytest.CaptureFixture[str], app_module: ModuleType) -> Iterator[Emitted]:
    """Powertools' documented way to test logs and metrics: read what they write (the log
    handler keeps the stream it was built with, so it gets one of ours for the test)."""
    from chalicelib import observability

    handler: Any = observability.logger.registered_handler
    log = io.StringIO()
    handler.setStream(log)
    yield Emitted(capsys, log)
    handler.setStream(sys.__stdout__)
