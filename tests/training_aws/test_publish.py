"""Publishing a run's vocabulary against moto's server."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.training_aws.conftest import BUCKET, ROLE
from training.artifacts import load_run
from training.aws.deploy import DeployRequest, deploy_run
from training.aws.publish import publish_run
from training.errors import AwsError, UsageError
from vocab_store.store import VocabularyStore

RUN = "20261123-091500-a1b2"
OTHER = "20261124-101500-c3d4"


def test_publish_names_the_endpoint_and_outgrows_the_live_version(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any, store: VocabularyStore
) -> None:
    run_dir = make_run(RUN)
    deploy_run(DeployRequest(run_dir, BUCKET, ROLE, poll_seconds=0), s3=s3, sagemaker=sagemaker)
    # A live vocabulary from the (near) future: the new one must still be newer.
    ahead = int(time.time() * 1000) + 24 * 3600 * 1000
    future = load_run(run_dir).vocabulary.with_version(ahead)
    store.promote(store.publish(future), future)

    result = publish_run(run_dir, store=store, sagemaker=sagemaker)

    assert result.key.startswith("vocab/incoming/")
    published = store.read(result.key)
    assert published == result.vocabulary
    assert published.version == ahead + 1
    assert published.model is not None
    assert published.model.endpoint == f"sentiment-{RUN}"
    assert published.model.variant is None
    assert published.model.fingerprint == load_run(run_dir).fingerprint
    assert published.fingerprint == load_run(run_dir).vocabulary.fingerprint  # same encoding
    # Publishing never promotes: that is the S3 handler's job.
    pointer = store.current_pointer()
    assert pointer is not None and pointer.version == ahead


def test_publish_without_checks_needs_no_sagemaker(
    make_run: Callable[[str], Path], store: VocabularyStore
) -> None:
    key = publish_run(make_run(RUN), store=store, endpoint="my-endpoint", variant="Blue").key
    record = store.read(key).model
    assert record is not None and (record.endpoint, record.variant) == ("my-endpoint", "Blue")


def test_publish_refuses_an_endpoint_that_serves_another_model(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any, store: VocabularyStore
) -> None:
    deploy_run(DeployRequest(make_run(OTHER), BUCKET, ROLE), s3=s3, sagemaker=sagemaker)
    run_dir = make_run(RUN)
    with pytest.raises(AwsError, match="serves another model"):
        publish_run(run_dir, store=store, endpoint=f"sentiment-{OTHER}", sagemaker=sagemaker)
    with pytest.raises(UsageError, match="no endpoint sentiment-"):
        publish_run(run_dir, store=store, sagemaker=sagemaker)
    with pytest.raises(UsageError, match="not a valid SageMaker endpoint name"):
        publish_run(run_dir, store=store, endpoint="bad name!")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="vocab/").get("Contents", [])
    assert listed == []


def _negated(run_dir: Path) -> None:
    """The run's vocabulary.json edited after training: same model record, every weight
    negated (which would invert every verdict), and a fingerprint that matches the edit."""
    from dataclasses import replace

    trained = load_run(run_dir).vocabulary
    forged = replace(trained, weights=(-1.0,) * trained.feature_count)
    (run_dir / "vocabulary.json").write_text(forged.to_json())


def test_a_vocabulary_changed_after_training_is_refused_before_any_upload(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any, store: VocabularyStore
) -> None:
    run_dir = make_run(RUN)
    deploy_run(DeployRequest(run_dir, BUCKET, ROLE, poll_seconds=0), s3=s3, sagemaker=sagemaker)
    _negated(run_dir)
    with pytest.raises(UsageError, match="changed after training"):
        publish_run(run_dir, store=store, sagemaker=sagemaker)
    # Even with the training record gone, the endpoint's tag refuses it (the same rule as
    # the S3 handler's).
    (run_dir / "metrics.json").write_text("{}")
    with pytest.raises(AwsError, match="not the one endpoint .* was trained with"):
        publish_run(run_dir, store=store, sagemaker=sagemaker)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="vocab/").get("KeyCount", 0) == 0


def test_publish_works_whatever_the_pointer_holds(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any, store: VocabularyStore
) -> None:
    """No state needs a hand edit: a pointer that is garbage or holds a giant version is
    outgrown by the clock, and the next promotion replaces it."""
    run_dir = make_run(RUN)
    deploy_run(DeployRequest(run_dir, BUCKET, ROLE, poll_seconds=0), s3=s3, sagemaker=sagemaker)
    giant = '{"format": "sentiment-api.pointer/1", "key": "k", "version": %s, "fingerprint": "%s"}'
    for body in (
        b"\x00garbage",
        (giant % ("9" * 4300, "a" * 64)).encode(),
        (giant % (10**15, "a" * 64)).encode(),
    ):
        s3.put_object(Bucket=BUCKET, Key=store.pointer_key, Body=body)
        published = publish_run(run_dir, store=store, sagemaker=sagemaker)
        assert published.vocabulary.version <= int(time.time() * 1000)
        assert store.promote(published.key, published.vocabulary)
        pointer = store.current_pointer()
        assert pointer is not None and pointer.version == published.vocabulary.version
