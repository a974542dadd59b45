"""The ``sentiment`` AWS commands end to end against moto's server, as a person runs them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.training_aws.conftest import BUCKET, ROLE
from training.cli import main
from vocab_store.store import VocabularyStore

# Long (runs the AWS commands end to end): handed to a worker first (tests/conftest.py).
pytestmark = pytest.mark.heavy

RUN = "20261123-091500-a1b2"
NAME = f"sentiment-{RUN}"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, s3: Any) -> None:
    monkeypatch.setenv("SENTIMENT_BUCKET", BUCKET)
    monkeypatch.setenv("SENTIMENT_SAGEMAKER_ROLE", ROLE)


def endpoints(sagemaker: Any) -> set[str]:
    return {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]}


def deployed(make_run: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Deploy run ``RUN`` with the command; the ``--artifacts`` arguments naming it."""
    artifacts = ["--artifacts", str(make_run(RUN).parent)]
    assert main(["deploy", "latest", *artifacts, "--yes", "--instance-type", "ml.t2.medium"]) == 0
    return artifacts


def test_deploy_publish_list_teardown(
    env: None,
    make_run: Callable[[str], Path],
    sagemaker: Any,
    store: VocabularyStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    artifacts = deployed(make_run, capsys)
    out = capsys.readouterr().out
    assert "$0.056 per hour" in out and "estimate" in out
    assert f"endpoint {NAME} is InService" in out
    assert endpoints(sagemaker) == {NAME}

    assert main(["publish", RUN, *artifacts, "--no-wait"]) == 0  # no S3 handler here
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


def test_publish_waits_for_the_handlers_outcome_and_says_it(
    env: None,
    make_run: Callable[[str], Path],
    s3: Any,
    sagemaker: Any,
    store: VocabularyStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The S3 handler's part is played by a thread writing the outcome records the real
    handler writes (the handler itself is tested through the running stack)."""
    import threading
    import time

    from vocab_store.records import Outcome
    from vocab_store.store import digest

    artifacts = deployed(make_run, capsys)
    capsys.readouterr()

    def handler(result: str, reason: str) -> threading.Thread:
        def play() -> None:
            for _ in range(200):
                listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="vocab/incoming/")
                for obj in listed.get("Contents", []):
                    if store.outcome(obj["Key"]) is None:
                        sha = digest(store.fetch(obj["Key"]))
                        store.record_outcome(
                            Outcome(obj["Key"], "retry", "endpoint is Updating", sha)
                        )
                        time.sleep(0.3)
                        store.record_outcome(Outcome(obj["Key"], result, reason, sha))
                        return
                time.sleep(0.05)

        thread = threading.Thread(target=play)
        thread.start()
        return thread

    thread = handler("promoted", "version 1")
    assert main(["publish", RUN, *artifacts, "--wait-seconds", "20"]) == 0
    thread.join()
    assert "promoted it" in capsys.readouterr().out

    thread = handler("rejected", "endpoint x serves model y with fingerprint z")
    assert main(["publish", RUN, *artifacts, "--wait-seconds", "20"]) != 0
    thread.join()
    assert "refused it: endpoint x serves model y" in capsys.readouterr().err


def test_tag_endpoint_pairs_an_endpoint_deployed_before_the_tag(
    env: None,
    make_run: Callable[[str], Path],
    sagemaker: Any,
    store: VocabularyStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from training.artifacts import load_run
    from vocab_store.pairing import VOCABULARY_FINGERPRINT_TAG

    artifacts = deployed(make_run, capsys)
    run_dir = Path(artifacts[1]) / RUN
    arn = sagemaker.describe_model(ModelName=NAME)["ModelArn"]
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=[VOCABULARY_FINGERPRINT_TAG])  # as before
    capsys.readouterr()

    assert main(["publish", RUN, *artifacts, "--no-wait"]) == 2
    assert f"sentiment tag-endpoint RUN --endpoint {NAME}" in capsys.readouterr().err
    assert main(["tag-endpoint", RUN, *artifacts]) == 0
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    assert tags[VOCABULARY_FINGERPRINT_TAG] == load_run(run_dir).vocabulary.fingerprint
    assert main(["publish", RUN, *artifacts, "--no-wait"]) == 0

    other = make_run("20261124-101500-c3d4")
    assert (
        main(
            [
                "tag-endpoint",
                "20261124-101500-c3d4",
                "--artifacts",
                str(other.parent),
                "--endpoint",
                NAME,
            ]
        )
        == 2
    )
    assert "not run 20261124-101500-c3d4's model" in capsys.readouterr().err
