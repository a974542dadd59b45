"""Deploy a run's model to a SageMaker endpoint: one orchestration, two backends.

:func:`deploy_run` takes a :class:`DeployRequest`, works out the :class:`DeployPlan` (names,
image, tags: no AWS touched), refuses a run whose endpoint exists, uploads ``model.tar.gz``
to ``s3://BUCKET/models/<run_id>/model.tar.gz``, then creates the model, the endpoint config
(real-time instances or serverless) and the endpoint, all named ``sentiment-<run_id>`` and
tagged as the project's, and waits until the endpoint is ``InService``. A model or config
left by an interrupted deploy of the same run is reused (one rule, :func:`reuse_existing`,
which Batch Transform's model follows too).

The creation itself goes through a :class:`DeployBackend`: :class:`Boto3Backend` (plain
boto3, the default, also what ``sentiment up`` uses against moto's server) or the SageMaker
SDK v3's (:mod:`training.aws.deploy_sdk`, ``--high-level``).

A new model always gets a new endpoint: the live vocabulary names the endpoint serving its
own model, so a deploy never changes the model under a live vocabulary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from training.artifacts import RunFiles, load_run
from training.aws import sagemaker_adapter as sma
from training.aws.clients import AWS_ERRORS, error_code, translate, translated
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

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import TagTypeDef

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
class DeployRequest:
    """What a person asks to deploy, and how long to wait for it."""

    run_dir: Path
    bucket: str
    role_arn: str
    instance_type: str = DEFAULT_INSTANCE_TYPE
    instance_count: int = 1
    serverless: ServerlessConfig | None = None
    image_uri: str | None = None
    wait: bool = True
    poll_seconds: float = 15.0
    timeout_seconds: float = 1800.0


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

    def boto_tags(self) -> list[TagTypeDef]:
        """The tags in boto3's typed shape."""
        return [{"Key": t["Key"], "Value": t["Value"]} for t in self.tags]

    def describe(self) -> str:
        """The endpoint's capacity in a few words."""
        if self.serverless is not None:
            return (
                f"serverless, {self.serverless.memory_mb} MB, max concurrency "
                f"{self.serverless.max_concurrency}"
            )
        return f"{self.instance_count} x {self.instance_type}"

    def variant(self) -> dict[str, Any]:
        """The production variant in boto3's shape."""
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


def plan_deploy(request: DeployRequest, region: str) -> DeployPlan:
    """Check the run and the settings and name everything; touches no AWS."""
    if not request.bucket:
        raise UsageError("no bucket: pass --bucket or set SENTIMENT_BUCKET")
    if not request.role_arn:
        raise UsageError(
            "no SageMaker execution role: pass --role or set SENTIMENT_SAGEMAKER_ROLE to the "
            "ARN of a role SageMaker can assume (see docs/aws.md, 'Once per account')"
        )
    if not is_role_arn(request.role_arn):
        raise UsageError(
            f"{request.role_arn!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
        )
    serverless = request.serverless
    if serverless is None and request.instance_count < 1:
        raise UsageError("the instance count must be at least 1")
    run = load_run(request.run_dir)
    return DeployPlan(
        run=run,
        name=resource_name(run.run_id),
        bucket=request.bucket,
        model_key=model_key(run.run_id),
        image_uri=request.image_uri or xgboost_image_uri(region),
        role_arn=request.role_arn,
        instance_type=None if serverless else request.instance_type,
        instance_count=0 if serverless else request.instance_count,
        serverless=serverless,
        tags=project_tags(
            run.run_id,
            run.fingerprint,
            run.vocabulary.feature_count,
            run.vocabulary.fingerprint,
        ),
    )


class DeployBackend(Protocol):
    """Creates the three resources of a plan; the orchestration around it is shared."""

    label: str

    def create_model(self, plan: DeployPlan) -> None: ...

    def create_endpoint_config(self, plan: DeployPlan) -> None: ...

    def create_endpoint(self, plan: DeployPlan) -> None: ...


class Boto3Backend:
    """Plain boto3 calls: ``create_model``, ``create_endpoint_config``, ``create_endpoint``."""

    label = "boto3"

    def __init__(self, sagemaker: SageMakerClient) -> None:
        self.sagemaker = sagemaker

    def create_model(self, plan: DeployPlan) -> None:
        with translated(f"creating model {plan.name}"):
            self.sagemaker.create_model(
                ModelName=plan.name,
                PrimaryContainer={"Image": plan.image_uri, "ModelDataUrl": plan.model_data_url},
                ExecutionRoleArn=plan.role_arn,
                Tags=plan.boto_tags(),
            )

    def create_endpoint_config(self, plan: DeployPlan) -> None:
        with translated(f"creating endpoint config {plan.name}"):
            self.sagemaker.create_endpoint_config(
                EndpointConfigName=plan.name,
                # Instance types are free strings here; the stubs list them as literals.
                ProductionVariants=[plan.variant()],  # type: ignore[list-item]
                Tags=plan.boto_tags(),
            )

    def create_endpoint(self, plan: DeployPlan) -> None:
        with translated(f"creating endpoint {plan.name}"):
            self.sagemaker.create_endpoint(
                EndpointName=plan.name, EndpointConfigName=plan.name, Tags=plan.boto_tags()
            )


def refuse_existing_endpoint(sagemaker: SageMakerClient, name: str) -> None:
    """Deploying over an existing endpoint is refused: each model gets its own."""
    existing = sma.describe_endpoint(sagemaker, name)
    if existing is not None:
        raise UsageError(
            f"endpoint {name} already exists ({existing.status}); this run is deployed. "
            f"To deploy it again, first `sentiment teardown {name}`"
        )


def upload_model(plan: DeployPlan, s3: S3Client) -> str:
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


def reuse_existing(sagemaker: SageMakerClient, name: str, fingerprint: str, what: str) -> bool:
    """Whether the ``what`` ("model" or "endpoint config") named ``name`` of the run whose
    model has ``fingerprint`` already exists. One left by an interrupted deploy of that run
    is reused (True); anything else with the name is refused; none: False."""
    describe = sma.describe_model if what == "model" else sma.describe_endpoint_config
    existing = describe(sagemaker, name)
    if existing is None:
        return False
    tags = sma.tags_of(sagemaker, existing.arn)
    if not is_project(tags) or tags.get(MODEL_FINGERPRINT_TAG) != fingerprint:
        raise UsageError(
            f"a SageMaker {what} named {name} exists and is not this run's model; "
            f"`sentiment teardown {name}` it or deploy another run"
        )
    log.info("reusing the %s %s left by an earlier deploy of this run", what, name)
    return True


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


def region_of(client: SageMakerClient) -> str:
    region = getattr(getattr(client, "meta", None), "region_name", None)
    if not region:
        raise AwsError("the SageMaker client has no region; set AWS_DEFAULT_REGION")
    return str(region)


def deploy_run(
    request: DeployRequest,
    *,
    s3: S3Client,
    sagemaker: SageMakerClient,
    backend: DeployBackend | None = None,
    progress: Progress | None = None,
) -> DeployedEndpoint:
    """Deploy ``request``'s run and return what was created.

    ``sagemaker`` (boto3) makes the checks and the wait; ``backend`` the three resources
    (default: :class:`Boto3Backend` on ``sagemaker``). Refuses (:class:`UsageError`) when
    the run's endpoint already exists. With ``request.wait`` it returns once the endpoint
    is ``InService`` (reporting status changes to ``progress``); else after creating it.
    """
    say = progress or (lambda message: log.info("%s", message))
    backend = backend or Boto3Backend(sagemaker)
    plan = plan_deploy(request, region_of(sagemaker))
    refuse_existing_endpoint(sagemaker, plan.name)
    say(f"uploading {plan.run.model_archive.name} to {plan.model_data_url}")
    upload_model(plan, s3)
    if not reuse_existing(sagemaker, plan.name, plan.run.fingerprint, "model"):
        say(f"creating model {plan.name} with {backend.label} ({plan.image_uri})")
        backend.create_model(plan)
    if not reuse_existing(sagemaker, plan.name, plan.run.fingerprint, "endpoint config"):
        say(f"creating endpoint config {plan.name} ({plan.describe()})")
        backend.create_endpoint_config(plan)
    say(f"creating endpoint {plan.name}")
    backend.create_endpoint(plan)
    status = "Creating"
    if request.wait:
        say("waiting for the endpoint to be InService (real endpoints take 5-10 minutes)")
        state = sma.wait_in_service(
            sagemaker,
            plan.name,
            progress=say,
            poll_seconds=request.poll_seconds,
            timeout_seconds=request.timeout_seconds,
        )
        status = state.status
    return deployed(plan, status)
