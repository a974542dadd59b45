"""``sentiment deploy --high-level``: the same deploy with the SageMaker SDK v3.

``sagemaker.core.resources`` ``Model``, ``EndpointConfig`` and ``Endpoint`` create the same
resources, names and tags as :func:`training.aws.deploy.deploy_run`. Two parts stay on plain
boto3: the serverless endpoint config (the SDK serialises ``MemorySizeInMB`` as
``MemorySizeInMb``, which SageMaker rejects) and the checks before and around the creation
(shared with the low-level path).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from training.aws import deploy
from training.aws import sagemaker_adapter as sma
from training.aws.clients import AWS_ERRORS, translate
from training.aws.deploy import DEFAULT_INSTANCE_TYPE, DeployedEndpoint, ServerlessConfig
from training.aws.naming import VARIANT
from training.aws.sagemaker_adapter import Progress
from training.aws.sdk import import_sdk
from training.errors import AwsError

log = logging.getLogger(__name__)


def deploy_run_high_level(
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
    session: Any = None,
) -> DeployedEndpoint:
    """Like :func:`~training.aws.deploy.deploy_run`, creating through the SDK v3.

    ``session`` is the boto3 session the SDK builds its clients from (default: a new one
    in the ``sagemaker`` client's region); ``sagemaker`` (boto3) is used for the checks.
    """
    resources = import_sdk("sagemaker.core.resources")
    shapes = import_sdk("sagemaker.core.shapes")
    sdk_errors = import_sdk("sagemaker.core.utils.exceptions")
    say = progress or (lambda message: log.info("%s", message))
    plan = deploy.prepare_deploy(
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
    region = deploy.region_of(sagemaker)
    if session is None:
        import boto3

        session = boto3.session.Session(region_name=region)
    tags = [shapes.Tag(key=t["Key"], value=t["Value"]) for t in plan.tags]
    where = {"session": session, "region": region}
    try:
        existing = sma.describe_model(sagemaker, plan.name)
        if existing is not None:
            deploy.reusable(sagemaker, existing.arn, plan, "model")
        else:
            say(f"creating model {plan.name} with the SageMaker SDK ({plan.image_uri})")
            resources.Model.create(
                model_name=plan.name,
                primary_container=shapes.ContainerDefinition(
                    image=plan.image_uri, model_data_url=plan.model_data_url
                ),
                execution_role_arn=plan.role_arn,
                tags=tags,
                **where,
            )
        if plan.serverless is not None:
            say(f"creating serverless endpoint config {plan.name} (boto3)")
            deploy.create_endpoint_config(plan, sagemaker)
        elif (config := sma.describe_endpoint_config(sagemaker, plan.name)) is not None:
            deploy.reusable(sagemaker, config.arn, plan, "endpoint config")
        else:
            say(f"creating endpoint config {plan.name} ({instance_count} x {instance_type})")
            resources.EndpointConfig.create(
                endpoint_config_name=plan.name,
                production_variants=[
                    shapes.ProductionVariant(
                        variant_name=VARIANT,
                        model_name=plan.name,
                        instance_type=plan.instance_type,
                        initial_instance_count=plan.instance_count,
                        initial_variant_weight=1.0,
                    )
                ],
                tags=tags,
                **where,
            )
        say(f"creating endpoint {plan.name}")
        endpoint = resources.Endpoint.create(
            endpoint_name=plan.name, endpoint_config_name=plan.name, tags=tags, **where
        )
        status = str(endpoint.endpoint_status)
        if wait:
            say("waiting for the endpoint to be InService (real endpoints take 5-10 minutes)")
            endpoint.wait_for_status(
                "InService", poll=max(1, int(poll_seconds)), timeout=int(timeout_seconds)
            )
            status = str(endpoint.endpoint_status)
            say(f"endpoint {plan.name}: {status}")
    except AWS_ERRORS as exc:
        raise translate(exc, f"deploying {plan.name} with the SageMaker SDK") from exc
    except sdk_errors.SageMakerCoreError as exc:
        raise AwsError(
            f"deploying {plan.name} with the SageMaker SDK failed: {exc}; see "
            f"`sentiment endpoints`, and `sentiment teardown {plan.name}` to clean up"
        ) from exc
    return deploy.deployed(plan, status)
