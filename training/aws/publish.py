"""Publish a run's vocabulary to the watched prefix; the S3 handler promotes it.

The vocabulary gets the endpoint (and variant) that serves its model, and a version newer
than the live one (:func:`vocab_store.next_version`), then goes up with
:meth:`vocab_store.store.VocabularyStore.publish` (immutable, never overwritten).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from training.artifacts import RunFiles, load_run
from training.aws import sagemaker_adapter as sma
from training.aws.clients import AWS_ERRORS, connection_hint, translate
from training.aws.naming import is_resource_name, resource_name
from training.errors import AwsError, UsageError
from vocab_store import Vocabulary, next_version, pairing
from vocab_store.errors import ControlPlaneUnavailable
from vocab_store.pairing import Problem
from vocab_store.records import Outcome
from vocab_store.store import VocabularyStore, digest

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import TagTypeDef

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    """What :func:`publish_run` uploaded: the key under the watched prefix, and the
    vocabulary exactly as published (endpoint and version filled in)."""

    key: str
    vocabulary: Vocabulary


def vocabulary_for_endpoint(
    vocabulary: Vocabulary, *, endpoint: str, variant: str | None, live_version: int | None
) -> Vocabulary:
    """The vocabulary naming ``endpoint``/``variant``, versioned after ``live_version``."""
    if vocabulary.model is None:
        raise UsageError("the run's vocabulary has no model record; train again")
    for what, value in (("endpoint", endpoint), ("variant", variant)):
        if value is not None and not is_resource_name(value):
            raise UsageError(f"{value!r} is not a valid SageMaker {what} name")
    record = replace(vocabulary.model, endpoint=endpoint, variant=variant)
    return vocabulary.with_model(record).with_version(next_version(live_version))


def check_endpoint_serves(sagemaker: SageMakerClient, vocabulary: Vocabulary) -> None:
    """Refuse early when the named endpoint does not serve the vocabulary's model: the same
    rule the S3 handler applies (:func:`vocab_store.pairing.check`), said before uploading
    rather than later and quietly."""
    record = vocabulary.model
    assert record is not None and record.endpoint is not None
    try:
        state = pairing.describe_endpoint(sagemaker, record.endpoint, record.variant)
    except ControlPlaneUnavailable as exc:
        raise AwsError(f"{exc}; {connection_hint(exc)}") from exc
    answer = pairing.check(vocabulary, state)
    if answer.problem is None:
        return
    if answer.problem is Problem.MISSING:
        raise UsageError(
            f"there is no endpoint {record.endpoint}; deploy the run first (`sentiment deploy`)"
        )
    if answer.problem in (Problem.NOT_READY, Problem.NOT_IN_SERVICE):
        raise UsageError(
            f"endpoint {record.endpoint} is {state.status}, not InService; publish once it is"
        )
    if answer.problem in (Problem.OTHER_MODEL, Problem.FEATURE_COUNT):
        raise AwsError(
            f"endpoint {record.endpoint} serves another model ({answer.reason}); "
            "publish the run that endpoint was deployed from"
        )
    if answer.problem is Problem.UNTAGGED:
        raise UsageError(answer.reason)
    if answer.problem is Problem.OTHER_VOCABULARY:
        raise AwsError(
            f"{answer.reason}; publish the run's vocabulary.json as training wrote it, or "
            "train and deploy again"
        )
    raise AwsError(f"{answer.reason}; redeploy the run (`sentiment deploy`)")


def tag_endpoint(sagemaker: SageMakerClient, run: RunFiles, endpoint: str) -> list[str]:
    """Add the vocabulary-fingerprint tag to ``endpoint`` and its models, for an endpoint
    deployed before deploy wrote it; returns the ARNs tagged.

    Only when every model behind it is this run's model; a model already tagged with
    another vocabulary is refused, never re-tagged."""
    try:
        state = pairing.describe_endpoint(sagemaker, endpoint)
    except ControlPlaneUnavailable as exc:
        raise AwsError(f"{exc}; {connection_hint(exc)}") from exc
    if not state.exists:
        raise UsageError(f"there is no endpoint {endpoint}")
    arns = []
    for served in state.models:
        if served.fingerprint != run.fingerprint:
            raise UsageError(
                f"endpoint {endpoint} serves model {served.name}, which is not run "
                f"{run.run_id}'s model; tag it with the run it was deployed from"
            )
        if served.vocabulary_fingerprint not in (None, run.vocabulary.fingerprint):
            raise UsageError(
                f"model {served.name} is already tagged with another vocabulary; not changed"
            )
        model = sma.describe_model(sagemaker, served.name)
        if model is not None:
            arns.append(model.arn)
    described = sma.describe_endpoint(sagemaker, endpoint)
    if described is None or not arns:
        raise UsageError(f"endpoint {endpoint} has no model to tag")
    tag: list[TagTypeDef] = [
        {"Key": pairing.VOCABULARY_FINGERPRINT_TAG, "Value": run.vocabulary.fingerprint}
    ]
    for arn in [*arns, described.arn]:
        try:
            sagemaker.add_tags(ResourceArn=arn, Tags=tag)
        except AWS_ERRORS as exc:
            raise translate(exc, f"tagging {arn}") from exc
    return [*arns, described.arn]


def wait_for_outcome(
    store: VocabularyStore,
    published: Published,
    *,
    timeout_seconds: float = 120.0,
    # The handler's outcome comes a second or two after the upload (locally every stack
    # start waits for it): read it four times a second, a few S3 GETs, to answer as soon
    # as it is there rather than up to a second later.
    poll_seconds: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """What the refresh handler did with ``published`` (its outcome record for exactly
    these bytes): promoted, not newer, or rejected with its reason. Raises
    :class:`AwsError` when no final outcome comes within ``timeout_seconds``."""
    sha = digest(published.vocabulary.to_json().encode("utf-8"))
    deadline = clock() + timeout_seconds
    last: Outcome | None = None
    while True:
        found = store.outcome(published.key)
        if found is not None and found.sha256 in (sha, None):
            last = found
            if found.result != "retry":
                return found
        if clock() >= deadline:
            still = f"; the last attempt said: {last.reason}" if last else ""
            raise AwsError(
                f"the S3 handler has not promoted or refused {published.key} after "
                f"{timeout_seconds:.0f} s{still}. Check that the bucket's notification "
                "reaches it (`sentiment deploy-api` sets it up), then publish again"
            )
        sleep(poll_seconds)


def publish_run(
    run_dir: Path,
    *,
    store: VocabularyStore,
    endpoint: str | None = None,
    variant: str | None = None,
    sagemaker: SageMakerClient | None = None,
) -> Published:
    """Upload the run's vocabulary, naming ``endpoint`` (default ``sentiment-<run_id>``),
    to the store's watched prefix; returns its key and the vocabulary as published.

    With a ``sagemaker`` client, first checks that the endpoint is in service and serves
    this run's model. The version is one newer than the live pointer's (or the clock's).
    """
    run = load_run(run_dir)
    name = endpoint or resource_name(run.run_id)
    live, _ = store.live_pointer()  # one that cannot be used, or that no longer counts: None
    vocabulary = vocabulary_for_endpoint(
        run.vocabulary,
        endpoint=name,
        variant=variant,
        live_version=None if live is None else live.version,
    )
    if sagemaker is not None:
        check_endpoint_serves(sagemaker, vocabulary)
    key = store.publish(vocabulary)
    log.info("published vocabulary version %d for endpoint %s at %s", vocabulary.version, name, key)
    return Published(key, vocabulary)
