"""The low-level deploy against moto's server: what it creates, names and tags."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.training_aws.conftest import BUCKET, ROLE
from training.artifacts import load_run
from training.aws import deploy
from training.aws.deploy import ServerlessConfig, deploy_run
from training.aws.naming import PROJECT_TAG, RUN_TAG
from training.errors import UsageError
from vocab_store.pairing import (
    FEATURE_COUNT_TAG,
    MODEL_FINGERPRINT_TAG,
    VOCABULARY_FINGERPRINT_TAG,
)

RUN = "20261123-091500-a1b2"


def tags(sagemaker: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}


def test_real_time_deploy_creates_tagged_model_config_and_endpoint(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any
) -> None:
    run_dir = make_run(RUN)
    messages: list[str] = []
    result = deploy_run(
        run_dir,
        bucket=BUCKET,
        role_arn=ROLE,
        s3=s3,
        sagemaker=sagemaker,
        instance_type="ml.t2.medium",
        progress=messages.append,
        poll_seconds=0,
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
    assert variant["InitialInstanceCount"] == 1
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
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any
) -> None:
    result = deploy_run(
        make_run(RUN),
        bucket=BUCKET,
        role_arn=ROLE,
        s3=s3,
        sagemaker=sagemaker,
        serverless=ServerlessConfig(memory_mb=3072, max_concurrency=7),
        poll_seconds=0,
    )
    assert result.serverless and result.instance_type is None
    (variant,) = sagemaker.describe_endpoint_config(EndpointConfigName=result.name)[
        "ProductionVariants"
    ]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 7}
    assert "InstanceType" not in variant


def test_deploying_a_deployed_run_again_is_refused(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any
) -> None:
    run_dir = make_run(RUN)
    deploy_run(run_dir, bucket=BUCKET, role_arn=ROLE, s3=s3, sagemaker=sagemaker, wait=False)
    with pytest.raises(UsageError, match="already exists.*teardown"):
        deploy_run(run_dir, bucket=BUCKET, role_arn=ROLE, s3=s3, sagemaker=sagemaker)


def test_an_interrupted_deploy_is_resumed(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any
) -> None:
    run_dir = make_run(RUN)
    plan = deploy.plan_deploy(run_dir, bucket=BUCKET, role_arn=ROLE, region="us-east-1")
    deploy.upload_model(plan, s3)
    deploy.create_model(plan, sagemaker)  # then the deploy died
    result = deploy_run(run_dir, bucket=BUCKET, role_arn=ROLE, s3=s3, sagemaker=sagemaker)
    assert result.status == "InService"


def test_a_foreign_model_with_the_name_is_not_reused(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any
) -> None:
    sagemaker.create_model(
        ModelName=f"sentiment-{RUN}",
        PrimaryContainer={"Image": "somebody/else:1"},
        ExecutionRoleArn=ROLE,
    )
    with pytest.raises(UsageError, match="not this run's model"):
        deploy_run(make_run(RUN), bucket=BUCKET, role_arn=ROLE, s3=s3, sagemaker=sagemaker)


def test_missing_bucket_role_and_run_are_clear_errors(
    make_run: Callable[[str], Path], tmp_path: Path, s3: Any, sagemaker: Any
) -> None:
    run_dir = make_run(RUN)
    with pytest.raises(UsageError, match="SENTIMENT_SAGEMAKER_ROLE"):
        deploy_run(run_dir, bucket=BUCKET, role_arn="", s3=s3, sagemaker=sagemaker)
    with pytest.raises(UsageError, match="not an IAM role ARN"):
        deploy_run(run_dir, bucket=BUCKET, role_arn="admin", s3=s3, sagemaker=sagemaker)
    with pytest.raises(UsageError, match="does not exist"):
        deploy_run(run_dir, bucket="no-such-bucket", role_arn=ROLE, s3=s3, sagemaker=sagemaker)
    with pytest.raises(UsageError, match="model.tar.gz is missing"):
        deploy_run(
            tmp_path / "20200101-000000-dead",
            bucket=BUCKET,
            role_arn=ROLE,
            s3=s3,
            sagemaker=sagemaker,
        )


def test_unknown_region_and_bad_serverless_sizes_are_refused() -> None:
    from training.aws.images import xgboost_image_uri

    with pytest.raises(UsageError, match="no SageMaker XGBoost image.*us-east-1"):
        xgboost_image_uri("mars-north-1")
    with pytest.raises(UsageError, match="memory"):
        ServerlessConfig(memory_mb=1500)
    with pytest.raises(UsageError, match="concurrency"):
        ServerlessConfig(max_concurrency=0)
