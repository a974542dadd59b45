"""The deploy against moto's server, through both backends: what it creates, names, tags
and refuses. The orchestration is one function; each backend only creates the resources.

moto answers some fields as empty structures (``VpcConfig: {}``) that the SageMaker SDK's
models reject, so the SDK's session drops those from moto's answers: a quirk of the stand-in,
not of SageMaker.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.training_aws.conftest import BUCKET, ROLE
from training.artifacts import load_run
from training.aws import deploy
from training.aws.deploy import (
    Boto3Backend,
    DeployBackend,
    DeployRequest,
    ServerlessConfig,
    deploy_run,
)
from training.aws.naming import PROJECT_TAG, RUN_TAG
from training.errors import AwsError, UsageError
from vocab_store.pairing import (
    FEATURE_COUNT_TAG,
    MODEL_FINGERPRINT_TAG,
    VOCABULARY_FINGERPRINT_TAG,
)

# With the other tests that import the SageMaker SDK (about 2 s) on one xdist worker.
pytestmark = pytest.mark.xdist_group("sagemaker-sdk")

RUN = "20261123-091500-a1b2"
NAME = f"sentiment-{RUN}"


def _drop_empty_structures(parsed: dict[str, Any], **_: Any) -> None:
    for key in [k for k, v in parsed.items() if v == {}]:
        del parsed[key]


@pytest.fixture(params=["boto3", "sdk"])
def backend(request: pytest.FixtureRequest, sagemaker: Any) -> DeployBackend:
    if request.param == "boto3":
        return Boto3Backend(sagemaker)
    pytest.importorskip("sagemaker.core.resources", reason="the aws extra is not installed")
    from training.aws.deploy_sdk import SdkBackend

    session = boto3.session.Session(region_name="us-east-1")
    session.events.register("after-call.sagemaker", _drop_empty_structures)
    return SdkBackend(session, Boto3Backend(sagemaker))


def tags(sagemaker: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}


def test_real_time_deploy_creates_tagged_model_config_and_endpoint(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any, backend: DeployBackend
) -> None:
    run_dir = make_run(RUN)
    messages: list[str] = []
    request = DeployRequest(
        run_dir, BUCKET, ROLE, instance_type="ml.t2.medium", instance_count=2, poll_seconds=0
    )
    result = deploy_run(
        request, s3=s3, sagemaker=sagemaker, backend=backend, progress=messages.append
    )
    name = f"sentiment-{RUN}"
    assert (result.name, result.model_name, result.config_name) == (name, name, name)
    assert result.status == "InService"
    assert any("InService" in m for m in messages)

    archive = (run_dir / "model.tar.gz").read_bytes()
    stored = s3.get_object(Bucket=BUCKET, Key=f"models/{RUN}/model.tar.gz")["Body"].read()
    assert stored == archive

    model = sagemaker.describe_model(ModelName=name)
    assert model["PrimaryContainer"]["ModelDataUrl"] == f"s3://{BUCKET}/models/{RUN}/model.tar.gz"
    assert model["PrimaryContainer"]["Image"] == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0"
    )
    assert model["ExecutionRoleArn"] == ROLE
    config = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    (variant,) = config["ProductionVariants"]
    assert variant["InstanceType"] == "ml.t2.medium"
    assert variant["InitialInstanceCount"] == 2
    assert variant["ModelName"] == name
    endpoint = sagemaker.describe_endpoint(EndpointName=name)
    assert endpoint["EndpointConfigName"] == name
    for arn in (model["ModelArn"], config["EndpointConfigArn"], endpoint["EndpointArn"]):
        assert tags(sagemaker, arn) == {
            PROJECT_TAG: "sentiment-api",
            RUN_TAG: RUN,
            MODEL_FINGERPRINT_TAG: result.fingerprint,
            FEATURE_COUNT_TAG: str(load_run(run_dir).vocabulary.feature_count),
            # the content fingerprint training recorded, recomputed from the vocabulary
            VOCABULARY_FINGERPRINT_TAG: load_run(run_dir).vocabulary.fingerprint,
        }


def test_serverless_deploy_has_no_instances(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any, backend: DeployBackend
) -> None:
    serverless = ServerlessConfig(memory_mb=3072, max_concurrency=7)
    request = DeployRequest(make_run(RUN), BUCKET, ROLE, serverless=serverless, poll_seconds=0)
    result = deploy_run(request, s3=s3, sagemaker=sagemaker, backend=backend)
    assert result.serverless and result.instance_type is None
    (variant,) = sagemaker.describe_endpoint_config(EndpointConfigName=result.name)[
        "ProductionVariants"
    ]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 7}
    assert "InstanceType" not in variant


def test_deploying_a_deployed_run_again_is_refused(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any, backend: DeployBackend
) -> None:
    request = DeployRequest(make_run(RUN), BUCKET, ROLE, wait=False)
    assert deploy_run(request, s3=s3, sagemaker=sagemaker, backend=backend).status == "Creating"
    with pytest.raises(UsageError, match="already exists.*teardown"):
        deploy_run(request, s3=s3, sagemaker=sagemaker, backend=backend)


@pytest.mark.parametrize("left", ["model", "model and endpoint config"])
def test_an_interrupted_deploy_is_resumed(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any, backend: DeployBackend, left: str
) -> None:
    request = DeployRequest(make_run(RUN), BUCKET, ROLE, poll_seconds=0)
    plan = deploy.plan_deploy(request, "us-east-1")
    deploy.upload_model(plan, s3)
    Boto3Backend(sagemaker).create_model(plan)
    if "config" in left:
        Boto3Backend(sagemaker).create_endpoint_config(plan)
    # ... then the deploy died. Deploying again reuses what is there.
    result = deploy_run(request, s3=s3, sagemaker=sagemaker, backend=backend)
    assert result.status == "InService"


def test_a_foreign_model_with_the_name_is_not_reused(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any, backend: DeployBackend
) -> None:
    sagemaker.create_model(
        ModelName=f"sentiment-{RUN}",
        PrimaryContainer={"Image": "somebody/else:1"},
        ExecutionRoleArn=ROLE,
    )
    request = DeployRequest(make_run(RUN), BUCKET, ROLE)
    with pytest.raises(UsageError, match="not this run's model"):
        deploy_run(request, s3=s3, sagemaker=sagemaker, backend=backend)


def test_a_failed_endpoint_is_reported_with_its_reason(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any, backend: DeployBackend
) -> None:
    """moto's endpoints never fail: the SageMaker answers are made to say Failed."""

    def failed(parsed: dict[str, Any], **_: Any) -> None:
        if "EndpointStatus" in parsed:
            parsed.update(EndpointStatus="Failed", FailureReason="the image could not be pulled")

    event = "after-call.sagemaker.DescribeEndpoint"
    sagemaker.meta.events.register(event, failed)
    request = DeployRequest(make_run(RUN), BUCKET, ROLE, poll_seconds=0)
    try:
        with pytest.raises(
            AwsError, match=f"{NAME} is Failed: the image could not be pulled.*teardown"
        ):
            deploy_run(request, s3=s3, sagemaker=sagemaker, backend=backend)
    finally:
        sagemaker.meta.events.unregister(event, failed)  # the client serves the next tests


def test_missing_bucket_role_and_run_are_clear_errors(
    make_run: Callable[[str], Path], tmp_path: Path, s3: Any, sagemaker: Any
) -> None:
    run_dir = make_run(RUN)
    for request, refusal in [
        (DeployRequest(run_dir, BUCKET, ""), "SENTIMENT_SAGEMAKER_ROLE"),
        (DeployRequest(run_dir, BUCKET, "admin"), "not an IAM role ARN"),
        (DeployRequest(run_dir, "no-such-bucket", ROLE), "does not exist"),
        (DeployRequest(tmp_path / "20200101-000000-dead", BUCKET, ROLE), "model.tar.gz is missing"),
    ]:
        with pytest.raises(UsageError, match=refusal):
            deploy_run(request, s3=s3, sagemaker=sagemaker)
    assert sagemaker.list_models()["Models"] == []


def test_unknown_region_and_bad_serverless_sizes_are_refused() -> None:
    from training.aws.images import xgboost_image_uri

    with pytest.raises(UsageError, match="no SageMaker XGBoost image.*us-east-1"):
        xgboost_image_uri("mars-north-1")
    with pytest.raises(UsageError, match="memory"):
        ServerlessConfig(memory_mb=1500)
    with pytest.raises(UsageError, match="concurrency"):
        ServerlessConfig(max_concurrency=0)
