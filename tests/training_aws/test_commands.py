"""The ``sentiment`` AWS commands end to end against moto's server, as a person runs them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.training_aws.conftest import BUCKET, ROLE
from training.cli import main
from vocab_store.store import VocabularyStore

RUN = "20261123-091500-a1b2"
NAME = f"sentiment-{RUN}"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, s3: Any) -> None:
    monkeypatch.setenv("SENTIMENT_BUCKET", BUCKET)
    monkeypatch.setenv("SENTIMENT_SAGEMAKER_ROLE", ROLE)


def endpoints(sagemaker: Any) -> set[str]:
    return {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]}


def test_deploy_publish_list_teardown(
    env: None,
    make_run: Callable[[str], Path],
    sagemaker: Any,
    store: VocabularyStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_dir = make_run(RUN)
    artifacts = ["--artifacts", str(run_dir.parent)]

    assert main(["deploy", "latest", *artifacts, "--yes", "--instance-type", "ml.t2.medium"]) == 0
    out = capsys.readouterr().out
    assert "$0.056 per hour" in out and "estimate" in out
    assert f"endpoint {NAME} is InService" in out
    assert endpoints(sagemaker) == {NAME}

    assert main(["publish", RUN, *artifacts]) == 0
    out = capsys.readouterr().out
    assert "/health" in out
    (obj,) = store.client.list_objects_v2(Bucket=BUCKET, Prefix="vocab/incoming/")["Contents"]
    published = store.read(obj["Key"])
    assert published.model is not None and published.model.endpoint == NAME
    store.promote(obj["Key"], published)  # the S3 handler's part

    assert main(["endpoints"]) == 0
    out = capsys.readouterr().out
    assert NAME in out and "1 x ml.t2.medium" in out and "live" in out

    assert main(["teardown", "--all", "--yes"]) == 2
    assert "live vocabulary" in capsys.readouterr().err
    assert main(["teardown", "--except-live", "--yes"]) == 0
    assert f"keeping {NAME}" in capsys.readouterr().out
    assert endpoints(sagemaker) == {NAME}

    assert main(["teardown", NAME, "--force-live", "--yes"]) == 0
    assert endpoints(sagemaker) == set()
    assert sagemaker.list_models()["Models"] == []


def test_real_time_deploy_without_a_terminal_asks_for_yes(
    env: None,
    make_run: Callable[[str], Path],
    sagemaker: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_dir = make_run(RUN)
    assert main(["deploy", str(run_dir)]) == 2
    captured = capsys.readouterr()
    assert "per hour" in captured.out
    assert "--yes" in captured.err
    assert endpoints(sagemaker) == set()
    assert sagemaker.list_models()["Models"] == []


def test_serverless_deploy_needs_no_confirmation(
    env: None, make_run: Callable[[str], Path], sagemaker: Any
) -> None:
    assert main(["deploy", str(make_run(RUN)), "--serverless", "--memory", "1024"]) == 0
    assert endpoints(sagemaker) == {NAME}


def test_missing_settings_are_named(
    make_run: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("SENTIMENT_BUCKET", raising=False)
    monkeypatch.delenv("SENTIMENT_SAGEMAKER_ROLE", raising=False)
    run_dir = make_run(RUN)
    assert main(["deploy", str(run_dir), "--yes"]) == 2
    assert "SENTIMENT_BUCKET" in capsys.readouterr().err
    assert main(["deploy", str(run_dir), "--yes", "--bucket", BUCKET]) == 2
    assert "SENTIMENT_SAGEMAKER_ROLE" in capsys.readouterr().err
    assert main(["teardown", "--all", "--yes"]) == 2
    assert "--bucket" in capsys.readouterr().err


@pytest.mark.parametrize("verbose", [False, True])
def test_only_our_messages_reach_the_terminal_unless_verbose(
    env: None, make_run: Callable[[str], Path], verbose: bool
) -> None:
    """botocore's INFO lines ("Found credentials in environment variables") belong to
    --verbose; the command's own lines always show. A real process: logging is set up once."""
    import os
    import subprocess
    import sys

    run_dir = make_run(RUN)
    argv = [sys.executable, "-m", "training.cli", *(["--verbose"] if verbose else [])]
    argv += ["publish", RUN, "--artifacts", str(run_dir.parent)]
    done = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ), timeout=120)
    shown = done.stdout + done.stderr
    assert "sentiment publish:" in shown  # ours (here: refused, no endpoint is deployed)
    assert ("Found credentials in environment variables" in shown) is verbose
