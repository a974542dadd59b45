"""SageMaker Batch Transform for ``sentiment score --sagemaker``: plan, model, job, outputs.

The plan is a plain value worked out before anything is created (names, S3 prefixes, the
request, the price), so it can be printed and confirmed first. The job runs on the run's
SageMaker model (``sentiment-<run_id>``, the one ``sentiment deploy`` makes; created here,
tagged as the project's, when the run was never deployed, so ``sentiment teardown`` removes
it). Inputs are line-split shards in the vocabulary's content type; each shard is under the
XGBoost container's 6 MB request limit, so no mini-batch can exceed it whatever
``MaxPayloadInMB`` allows.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.artifacts import RunFiles
from training.aws import costs
from training.aws.clients import AWS_ERRORS, translate
from training.aws.naming import project_tags, resource_name
from training.aws.sagemaker_adapter import Progress
from training.errors import AwsError, UsageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

log = logging.getLogger(__name__)

# The container refuses bodies over 6 MiB (MAX_CONTENT_LENGTH); a shard stays well below,
# and MaxPayloadInMB is the container's own figure.
SHARD_BYTES = 5 * 1024 * 1024
MAX_PAYLOAD_MB = 6
EXTENSIONS = {"text/libsvm": "libsvm", "text/csv": "csv"}
FINAL = ("Completed", "Failed", "Stopped")
STARTUP_MINUTES = 5  # what a transform job usually spends starting its instances


@dataclass(frozen=True)
class TransformPlan:
    """One transform job of a run's model over shards under ``s3://bucket/prefix``."""

    run: RunFiles
    job_name: str
    model_name: str
    bucket: str
    prefix: str
    instance_type: str
    instance_count: int

    @property
    def content_type(self) -> str:
        return self.run.vocabulary.content_type

    @property
    def input_prefix(self) -> str:
        return f"{self.prefix}input/"

    @property
    def output_prefix(self) -> str:
        return f"{self.prefix}output/"

    def shard_key(self, index: int) -> str:
        return f"{self.input_prefix}shard-{index:05d}.{EXTENSIONS[self.content_type]}"

    def output_name(self, index: int) -> str:
        """The name Batch Transform gives the answers of shard ``index``."""
        return self.shard_key(index).rpartition("/")[2] + ".out"

    def request(self) -> dict[str, Any]:
        """``CreateTransformJob``'s arguments: line-split records in the vocabulary's content
        type, packed into mini-batches of at most the container's limit; no JoinSource
        (libsvm input cannot be joined by SageMaker: the command joins the answers itself)."""
        return {
            "TransformJobName": self.job_name,
            "ModelName": self.model_name,
            "BatchStrategy": "MultiRecord",
            "MaxPayloadInMB": MAX_PAYLOAD_MB,
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{self.bucket}/{self.input_prefix}",
                    }
                },
                "ContentType": self.content_type,
                "SplitType": "Line",
                "CompressionType": "None",
            },
            "TransformOutput": {
                "S3OutputPath": f"s3://{self.bucket}/{self.output_prefix}",
                "Accept": "text/csv",
                "AssembleWith": "Line",
            },
            "TransformResources": {
                "InstanceType": self.instance_type,
                "InstanceCount": self.instance_count,
            },
            "Tags": project_tags(
                self.run.run_id, self.run.fingerprint, self.run.vocabulary.feature_count
            ),
        }

    def describe_cost(self) -> str:
        """One sentence for the confirmation: the price while the job runs."""
        hourly = costs.hourly_cost(self.instance_type, self.instance_count)
        what = f"{self.instance_count} x {self.instance_type}"
        if hourly is None:
            return (
                f"{what}: no price known here for this instance type; check "
                "https://aws.amazon.com/sagemaker/pricing/ before going on."
            )
        least = hourly * STARTUP_MINUTES / 60
        return (
            f"{what}: about ${hourly:.3f} per hour while the job runs, billed from start-up to "
            f"the end (start-up alone is usually ~{STARTUP_MINUTES} minutes, about "
            f"${least:.3f}); nothing after it ends (estimate: {costs.PRICES_REGION} on-demand "
            f"prices as of {costs.PRICES_AS_OF})."
        )


def plan_transform(
    run: RunFiles,
    *,
    bucket: str,
    instance_type: str,
    instance_count: int,
    job_name: str | None = None,
) -> TransformPlan:
    """Name the job and its S3 prefix; touches no AWS."""
    if instance_count < 1:
        raise UsageError("the instance count must be at least 1")
    if run.vocabulary.content_type not in EXTENSIONS:
        raise UsageError(f"the run's content type {run.vocabulary.content_type} cannot be sharded")
    name = job_name or f"sentiment-score-{run.run_id}-{secrets.token_hex(3)}"
    return TransformPlan(
        run=run,
        job_name=name,
        model_name=resource_name(run.run_id),
        bucket=bucket,
        prefix=f"score/{name}/",
        instance_type=instance_type,
        instance_count=instance_count,
    )


def model_exists(sagemaker: SageMakerClient, plan: TransformPlan) -> bool:
    """Whether the run's SageMaker model exists (and is this run's: else a refusal), by the
    deploy's one reuse rule."""
    from training.aws import deploy

    return deploy.reuse_existing(sagemaker, plan.model_name, plan.run.fingerprint, "model")


def create_model(
    plan: TransformPlan,
    *,
    role_arn: str,
    s3: S3Client,
    sagemaker: SageMakerClient,
    region: str,
    say: Progress,
) -> None:
    """Upload the model and create the run's SageMaker model, tagged as the project's, with
    the same steps as ``sentiment deploy``."""
    from training.aws import deploy

    request = deploy.DeployRequest(
        plan.run.directory,
        bucket=plan.bucket,
        role_arn=role_arn,
        instance_type=plan.instance_type,
        instance_count=plan.instance_count,
    )
    deploy_plan = deploy.plan_deploy(request, region)
    say(f"uploading {plan.run.model_archive.name} to {deploy_plan.model_data_url}")
    deploy.upload_model(deploy_plan, s3)
    say(f"creating model {plan.model_name} ({deploy_plan.image_uri})")
    deploy.Boto3Backend(sagemaker).create_model(deploy_plan)


def start_job(plan: TransformPlan, sagemaker: SageMakerClient) -> None:
    try:
        sagemaker.create_transform_job(**plan.request())
    except AWS_ERRORS as exc:
        raise translate(exc, f"creating transform job {plan.job_name}") from exc


def job_state(sagemaker: SageMakerClient, name: str) -> tuple[str, str | None]:
    """The job's status and failure reason."""
    try:
        job = sagemaker.describe_transform_job(TransformJobName=name)
    except AWS_ERRORS as exc:
        raise translate(exc, f"describing transform job {name}") from exc
    return str(job["TransformJobStatus"]), job.get("FailureReason") or None


def stop_job(
    sagemaker: SageMakerClient, name: str, say: Progress, timeout_seconds: float = 60.0
) -> str:
    """Stop the job and wait (a while) until it says it has; its last status."""
    status, _ = job_state(sagemaker, name)
    if status in FINAL:
        return status
    try:
        sagemaker.stop_transform_job(TransformJobName=name)
    except AWS_ERRORS as exc:
        raise translate(exc, f"stopping transform job {name}") from exc
    say(f"transform job {name}: stopping")
    deadline = time.monotonic() + timeout_seconds
    while status not in FINAL and time.monotonic() < deadline:
        time.sleep(1.0)
        status, _ = job_state(sagemaker, name)
    say(f"transform job {name}: {status}")
    return status


def wait_job(
    sagemaker: SageMakerClient,
    name: str,
    *,
    say: Progress,
    poll_seconds: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Stream the job's status until it ends; Ctrl-C or any failure here stops the job.
    A job that ends otherwise than ``Completed`` is an :class:`AwsError` with its reason."""
    last = ""
    started = time.monotonic()
    try:
        while True:
            status, reason = job_state(sagemaker, name)
            if status != last:
                say(f"transform job {name}: {status} ({time.monotonic() - started:.0f} s)")
                last = status
            if status in FINAL:
                break
            sleep(poll_seconds)
    except BaseException:
        stop_job(sagemaker, name, say)
        raise
    if status != "Completed":
        raise AwsError(
            f"transform job {name} is {status}: {reason or 'no reason given'}; its logs are in "
            f"CloudWatch under /aws/sagemaker/TransformJobs"
        )


def download_outputs(plan: TransformPlan, shards: int, s3: S3Client, into: Path) -> dict[int, Path]:
    """Each shard's answers, downloaded, by shard index (found by name, whatever order S3
    lists them in); :class:`AwsError` when one is missing."""
    wanted = {plan.output_name(i): i for i in range(shards)}
    found: dict[int, Path] = {}
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=plan.bucket, Prefix=plan.output_prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                index = wanted.get(item["Key"].rpartition("/")[2])
                if index is not None:
                    path = into / plan.output_name(index)
                    s3.download_file(plan.bucket, item["Key"], str(path))
                    found[index] = path
    except AWS_ERRORS as exc:
        raise translate(exc, f"downloading s3://{plan.bucket}/{plan.output_prefix}") from exc
    missing = [name for name, i in wanted.items() if i not in found]
    if missing:
        raise AwsError(
            f"transform job {plan.job_name} wrote no answers for {', '.join(missing[:3])} "
            f"under s3://{plan.bucket}/{plan.output_prefix}"
        )
    return found
