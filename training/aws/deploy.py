"""Deploy a run's model to a SageMaker endpoint with plain boto3 (the default path).

``deploy_run`` uploads ``model.tar.gz`` to ``s3://BUCKET/models/<run_id>/model.tar.gz`` and
creates the model, the endpoint config (real-time instances or serverless) and the endpoint,
all named ``sentiment-<run_id>`` and tagged as the project's, then waits until the endpoint
is ``InService``. ``sentiment up`` calls the same function against moto's server.

A new model always gets a new endpoint: the live vocabulary names the endpoint serving its
own model, so a deploy never changes the model under a live vocabulary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.artifacts import RunFiles, load_run
from training.aws import sagemaker_adapter as sma
from training.aws.clients import AWS_ERRORS, error_code, translate
from training.aws.images import xgboost_image_uri
from training.aws.naming import (
    VARIANT,
    is_project,
    is_role_arn,
    model_key,
    project_tags,
    resource_name,
)
from training.aws.sagemaker_adapter import Progress
from training.errors import AwsError, UsageError
from vocab_store.pairing import MODEL_FINGERPRINT_TAG

log = logging.getLogger(__name__)

DEFAULT_INSTANCE_TYPE = "ml.m5.large"
SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)


@dataclass(frozen=True)
class ServerlessConfig:
    """A serverless endpoint: no idle cost, billed per request; cold starts take seconds."""

    memory_mb: int = 2048
    max_concurrency: int = 5

    def __post_init__(self) -> None:
        if self.memory_mb not in SERVERLESS_MEMORY_SIZES:
            raise UsageError(
                f"serverless memory must be one of {SERVERLESS_MEMORY_SIZES} MB, "
                f"not {self.memory_mb}"
            )
        if not 1 <= self.max_concurrency <= 200:
            raise UsageError("serverless max concurrency must be between 1 and 200")

    def to_boto(self) -> dict[str, int]:
        return {"MemorySizeInMB": self.memory_mb, "MaxConcurrency": self.max_concurrency}


@dataclass(frozen=True)
class DeployPlan:
    """What a deploy creates, worked out before anything is created."""

    run: RunFiles
    name: str
    bucket: str
    model_key: str
    image_uri: str
    role_arn: str
    instance_type: str | None
    instance_count: int
    serverless: ServerlessConfig | None
    tags: list[dict[str, str]]

    @property
    def model_data_url(self) -> str:
        return f"s3://{self.bucket}/{self.model_key}"

    def variant(self) -> dict[str, Any]:
        """The production variant in boto3's shape (plain boto3 also for serverless:
        the SDK v3 misspells a field of its serverless config)."""
        spec: dict[str, Any] = {"VariantName": VARIANT, "ModelName": self.name}
        if self.serverless is not None:
            spec["ServerlessConfig"] = self.serverless.to_boto()
        else:
            spec["InstanceType"] = self.instance_type
            spec["InitialInstanceCount"] = self.instance_count
            spec["InitialVariantWeight"] = 1.0
        return spec


@dataclass(frozen=True)
class DeployedEndpoint:
    """The result of a deploy: what ``publish`` and ``sentiment up`` need."""

    name: str
    model_name: str
    config_name: str
    variant: str
    run_id: str
    fingerprint: str
    model_data_url: str
    image_uri: str
    instance_type: str | None
    instance_count: int
    serverless: bool
    status: str


def plan_deploy(
    run_dir: Path,
    *,
    bucket: str,
    role_arn: str,
    region: str,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    instance_count: int = 1,
    serverless: ServerlessConfig | None = None,
    image_uri: str | None = None,
) -> DeployPlan:
    """Check the run and the settings and name everything; touches no AWS."""
    if not bucket:
        raise UsageError("no bucket: pass --bucket or set SENTIMENT_BUCKET")
    if not role_arn:
        raise UsageError(
            "no SageMaker execution role: pass --role or set SENTIMENT_SAGEMAKER_ROLE to the "
            "ARN of a role SageMaker can assume (see the README's deployment section)"
        )
    if not is_role_arn(role_arn):
        raise UsageError(f"{role_arn!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
    if serverless is None and instance_count < 1:
        raise UsageError("the instance count must be at least 1")
    run = load_run(run_dir)
    return DeployPlan(
        run=run,
        name=resource_name(run.run_id),
        bucket=bucket,
        model_key=model_key(run.run_id),
        image_uri=image_uri or xgboost_image_uri(region),
        role_arn=role_arn,
        instance_type=None if serverless else instance_type,
        instance_count=0 if serverless else instance_count,
        serverless=serverless,
        tags=project_tags(
            run.run_id,
            run.fingerprint,
            run.vocabulary.feature_count,
            run.vocabulary.fingerprint,
        ),
    )


def refuse_existing_endpoint(sagemaker: Any, name: str) -> None:
    """Deploying over an existing endpoint is refused: each model gets its own."""
    existing = sma.describe_endpoint(sagemaker, name)
    if existing is not None:
        raise UsageError(
            f"endpoint {name} already exists ({existing.status}); this run is deployed. "
            f"To deploy it again, first `sentiment teardown {name}`"
        )


def upload_model(plan: DeployPlan, s3: Any) -> str:
    """Upload the run's ``model.tar.gz`` to its key; returns the ``s3://`` URL."""
    try:
        with plan.run.model_archive.open("rb") as body:
            s3.put_object(
                Bucket=plan.bucket,
                Key=plan.model_key,
                Body=body,
                ContentType="application/x-gzip",
            )
    except OSError as exc:
        raise UsageError(f"cannot read {plan.run.model_archive}: {exc}") from exc
    except AWS_ERRORS as exc:
        if error_code(exc) == "NoSuchBucket":
            raise UsageError(
                f"bucket {plan.bucket} does not exist; create it first "
                f"(aws s3 mb s3://{plan.bucket}) or pass another --bucket"
            ) from exc
        raise translate(exc, f"uploading the model to {plan.model_data_url}") from exc
    return plan.model_data_url


def reusable(sagemaker: Any, arn: str, plan: DeployPlan, what: str) -> None:
    """A model or config left by an interrupted deploy of the same run is reused; anything
    else with the name is refused."""
    tags = sma.tags_of(sagemaker, arn)
    if not is_project(tags) or tags.get(MODEL_FINGERPRINT_TAG) != plan.run.fingerprint:
        raise UsageError(
            f"a SageMaker {what} named {plan.name} exists and is not this run's model; "
            "remove it or deploy another run"
        )
    log.info("reusing the %s %s left by an earlier deploy of this run", what, plan.name)


def create_model(plan: DeployPlan, sagemaker: Any) -> None:
    existing = sma.describe_model(sagemaker, plan.name)
    if existing is not None:
        reusable(sagemaker, existing.arn, plan, "model")
        return
    try:
        sagemaker.create_model(
            ModelName=plan.name,
            PrimaryContainer={"Image": plan.image_uri, "ModelDataUrl": plan.model_data_url},
            ExecutionRoleArn=plan.role_arn,
            Tags=plan.tags,
        )
    except AWS_ERRORS as exc:
        raise translate(exc, f"creating model {plan.name}") from exc


def create_endpoint_config(plan: DeployPlan, sagemaker: Any) -> None:
    existing = sma.describe_endpoint_config(sagemaker, plan.name)
    if existing is not None:
        reusable(sagemaker, existing.arn, plan, "endpoint config")
        return
    try:
        sagemaker.create_endpoint_config(
            EndpointConfigName=plan.name, ProductionVariants=[plan.variant()], Tags=plan.tags
        )
    except AWS_ERRORS as exc:
        raise translate(exc, f"creating endpoint config {plan.name}") from exc


def create_endpoint(plan: DeployPlan, sagemaker: Any) -> None:
    try:
        sagemaker.create_endpoint(
            EndpointName=plan.name, EndpointConfigName=plan.name, Tags=plan.tags
        )
    except AWS_ERRORS as exc:
        raise translate(exc, f"creating endpoint {plan.name}") from exc


def deployed(plan: DeployPlan, status: str) -> DeployedEndpoint:
    return DeployedEndpoint(
        name=plan.name,
        model_name=plan.name,
        config_name=plan.name,
        variant=VARIANT,
        run_id=plan.run.run_id,
        fingerprint=plan.run.fingerprint,
        model_data_url=plan.model_data_url,
        image_uri=plan.image_uri,
        instance_type=plan.instance_type,
        instance_count=plan.instance_count,
        serverless=plan.serverless is not None,
        status=status,
    )


def region_of(client: Any) -> str:
    region = getattr(getattr(client, "meta", None), "region_name", None)
    if not region:
        raise AwsError("the SageMaker client has no region; set AWS_DEFAULT_REGION")
    return str(region)


def prepare_deploy(
    run_dir: Path,
    *,
    bucket: str,
    role_arn: str,
    s3: Any,
    sagemaker: Any,
    instance_type: str,
    instance_count: int,
    serverless: ServerlessConfig | None,
    image_uri: str | None,
    progress: Progress,
) -> DeployPlan:
    """The steps both deploy paths share: plan, refuse an existing endpoint, upload."""
    plan = plan_deploy(
        run_dir,
        bucket=bucket,
        role_arn=role_arn,
        region=region_of(sagemaker),
        instance_type=instance_type,
        instance_count=instance_count,
        serverless=serverless,
        image_uri=image_uri,
    )
    refuse_existing_endpoint(sagemaker, plan.name)
    progress(f"uploading {plan.run.model_archive.name} to {plan.model_data_url}")
    upload_model(plan, s3)
    return plan


def deploy_run(
    run_dir: Path,
    *,
    bucket: str,
    role_arn: str,
    s3: Any,
    sagemaker: Any,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    instance_count: int = 1,
    serverless: ServerlessConfig | None = None,
    image_uri: str | None = None,
    wait: bool = True,
    progress: Progress | None = None,
    poll_seconds: float = 15.0,
    timeout_seconds: float = 1800.0,
) -> DeployedEndpoint:
    """Deploy the run in ``run_dir`` with plain boto3 and return what was created.

    Refuses (:class:`UsageError`) when the run's endpoint already exists. A model or
    endpoint config left behind by an interrupted deploy of the same run is reused. With
    ``wait`` it returns once the endpoint is ``InService`` (reporting status changes to
    ``progress``); without, right after ``CreateEndpoint``.
    """
    say = progress or (lambda message: log.info("%s", message))
    plan = prepare_deploy(
        run_dir,
        bucket=bucket,
        role_arn=role_arn,
        s3=s3,
        sagemaker=sagemaker,
        instance_type=instance_type,
        instance_count=instance_count,
        serverless=serverless,
        image_uri=image_uri,
        progress=say,
    )
    say(f"creating model {plan.name} ({plan.image_uri})")
    create_model(plan, sagemaker)
    kind = (
        f"serverless, {plan.serverless.memory_mb} MB, max concurrency "
        f"{plan.serverless.max_concurrency}"
        if plan.serverless
        else f"{plan.instance_count} x {plan.instance_type}"
    )
    say(f"creating endpoint config {plan.name} ({kind})")
    create_endpoint_config(plan, sagemaker)
    say(f"creating endpoint {plan.name}")
    create_endpoint(plan, sagemaker)
    status = "Creating"
    if wait:
        say("waiting for the endpoint to be InService (real endpoints take 5-10 minutes)")
        state = sma.wait_in_service(
            sagemaker,
            plan.name,
            progress=say,
            poll_seconds=poll_seconds,
            timeout_seconds=timeout_seconds,
        )
        status = state.status
    return deployed(plan, status)
