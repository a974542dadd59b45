"""``deploy --high-level`` through the SageMaker SDK v3, against botocore's Stubber.

moto's ``DescribeModel`` answers ``VpcConfig: {}``, which the SDK's models reject, so the
SDK path is checked request by request instead: the Stubber sees the exact calls the SDK
makes on the client it builds from our session, and checks their parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from tests.training_aws.conftest import BUCKET, ROLE
from training.aws.deploy import ServerlessConfig
from training.aws.naming import PROJECT_TAG, RUN_TAG
from training.errors import AwsError
from vocab_store.pairing import (
    FEATURE_COUNT_TAG,
    MODEL_FINGERPRINT_TAG,
    VOCABULARY_FINGERPRINT_TAG,
)

pytest.importorskip("sagemaker.core.resources", reason="the aws extra is not installed")

RUN = "20261123-091500-a1b2"
NAME = f"sentiment-{RUN}"
ARN = "arn:aws:sagemaker:us-east-1:123456789012:{}/" + NAME
NOW = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0"


def not_found(stub: Stubber, method: str, what: str) -> None:
    stub.add_client_error(
        method, "ValidationException", f"Could not find {what} {NAME}.", http_status_code=400
    )


def endpoint(status: str) -> dict[str, Any]:
    return {
        "EndpointName": NAME,
        "EndpointArn": ARN.format("endpoint"),
        "EndpointConfigName": NAME,
        "EndpointStatus": status,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }


@pytest.fixture
def sdk_client() -> tuple[Any, Any]:
    """The boto3 session we hand the SDK, and the very client the SDK will build from it."""
    from sagemaker.core.utils.utils import SageMakerClient

    session = boto3.session.Session(region_name="us-east-1")
    return session, SageMakerClient(session=session, region_name="us-east-1").sagemaker_client


@pytest.fixture
def s3() -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response(
        "put_object",
        {},
        {
            "Bucket": BUCKET,
            "Key": f"models/{RUN}/model.tar.gz",
            "Body": ANY,
            "ContentType": "application/x-gzip",
        },
    )
    stub.activate()
    return client


def expect_deploy(stub: Stubber, run: Any, *, serverless: bool, final: str) -> None:
    fingerprint = run.fingerprint
    tags = [
        {"Key": PROJECT_TAG, "Value": "sentiment-api"},
        {"Key": RUN_TAG, "Value": RUN},
        {"Key": MODEL_FINGERPRINT_TAG, "Value": fingerprint},
        {"Key": FEATURE_COUNT_TAG, "Value": str(run.vocabulary.feature_count)},
        {"Key": VOCABULARY_FINGERPRINT_TAG, "Value": run.vocabulary.fingerprint},
    ]
    not_found(stub, "describe_endpoint", "endpoint")
    not_found(stub, "describe_model", "model")
    stub.add_response(
        "create_model",
        {"ModelArn": ARN.format("model")},
        {
            "ModelName": NAME,
            "PrimaryContainer": {
                "Image": IMAGE,
                "ModelDataUrl": f"s3://{BUCKET}/models/{RUN}/model.tar.gz",
            },
            "ExecutionRoleArn": ROLE,
            "Tags": tags,
        },
    )
    stub.add_response(
        "describe_model",
        {"ModelName": NAME, "ModelArn": ARN.format("model"), "CreationTime": NOW},
        {"ModelName": NAME},
    )
    if serverless:
        variant: dict[str, Any] = {
            "VariantName": "AllTraffic",
            "ModelName": NAME,
            "ServerlessConfig": {"MemorySizeInMB": 4096, "MaxConcurrency": 3},
        }
        not_found(stub, "describe_endpoint_config", "endpoint config")
        stub.add_response(
            "create_endpoint_config",
            {"EndpointConfigArn": ARN.format("endpoint-config")},
            {"EndpointConfigName": NAME, "ProductionVariants": [variant], "Tags": tags},
        )
    else:
        variant = {
            "VariantName": "AllTraffic",
            "ModelName": NAME,
            "InstanceType": "ml.c5.large",
            "InitialInstanceCount": 2,
            "InitialVariantWeight": 1.0,
        }
        not_found(stub, "describe_endpoint_config", "endpoint config")
        stub.add_response(
            "create_endpoint_config",
            {"EndpointConfigArn": ARN.format("endpoint-config")},
            {"EndpointConfigName": NAME, "ProductionVariants": [variant], "Tags": tags},
        )
        stub.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": NAME,
                "EndpointConfigArn": ARN.format("endpoint-config"),
                "ProductionVariants": [variant],
                "CreationTime": NOW,
            },
            {"EndpointConfigName": NAME},
        )
    stub.add_response(
        "create_endpoint",
        {"EndpointArn": ARN.format("endpoint")},
        {"EndpointName": NAME, "EndpointConfigName": NAME, "Tags": tags},
    )
    stub.add_response("describe_endpoint", endpoint("Creating"), {"EndpointName": NAME})
    stub.add_response("describe_endpoint", endpoint(final), {"EndpointName": NAME})


@pytest.mark.parametrize("serverless", [False, True])
def test_high_level_deploy_makes_the_same_resources(
    serverless: bool,
    make_run: Callable[[str], Path],
    sdk_client: tuple[Any, Any],
    s3: Any,
) -> None:
    from training.artifacts import load_run
    from training.aws.deploy_sdk import deploy_run_high_level

    session, client = sdk_client
    run_dir = make_run(RUN)
    with Stubber(client) as stub:
        expect_deploy(stub, load_run(run_dir), serverless=serverless, final="InService")
        result = deploy_run_high_level(
            run_dir,
            bucket=BUCKET,
            role_arn=ROLE,
            s3=s3,
            sagemaker=client,
            session=session,
            instance_type="ml.c5.large",
            instance_count=2,
            serverless=ServerlessConfig(4096, 3) if serverless else None,
            poll_seconds=0,
        )
        stub.assert_no_pending_responses()
    assert result.name == NAME and result.status == "InService"
    assert result.serverless is serverless


def test_a_failed_endpoint_is_reported(
    make_run: Callable[[str], Path], sdk_client: tuple[Any, Any], s3: Any
) -> None:
    from training.artifacts import load_run
    from training.aws.deploy_sdk import deploy_run_high_level

    session, client = sdk_client
    run_dir = make_run(RUN)
    with Stubber(client) as stub:
        expect_deploy(stub, load_run(run_dir), serverless=False, final="Failed")
        with pytest.raises(AwsError, match="teardown"):
            deploy_run_high_level(
                run_dir,
                bucket=BUCKET,
                role_arn=ROLE,
                s3=s3,
                sagemaker=client,
                session=session,
                instance_type="ml.c5.large",
                instance_count=2,
                poll_seconds=0,
            )
