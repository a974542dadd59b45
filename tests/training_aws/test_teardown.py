"""Teardown and listing against moto's server: all of the project's, nothing else's, and
never the live endpoint unless told."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.training_aws.conftest import BUCKET, ROLE
from training.aws.deploy import DeployRequest, ServerlessConfig, deploy_run
from training.aws.listing import endpoint_rows, format_rows
from training.aws.publish import publish_run
from training.aws.teardown import execute_teardown, live_endpoint, plan_teardown
from training.errors import UsageError
from vocab_store.store import VocabularyStore

RUNS = ("20261123-091500-a1b2", "20261124-101500-c3d4", "20261125-111500-e5f6")


def names(sagemaker: Any) -> set[str]:
    found = {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]}
    found |= {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]}
    found |= {m["ModelName"] for m in sagemaker.list_models()["Models"]}
    return found


@pytest.fixture
def deployed(make_run: Callable[[str], Path], s3: Any, sagemaker: Any) -> list[Path]:
    """Three deployed runs (the last serverless), plus resources that are not the
    project's: an untagged endpoint named like ours and an unrelated one."""
    runs = [make_run(r) for r in RUNS]
    for i, run_dir in enumerate(runs):
        serverless = ServerlessConfig() if i == 2 else None
        request = DeployRequest(run_dir, BUCKET, ROLE, serverless=serverless, poll_seconds=0)
        deploy_run(request, s3=s3, sagemaker=sagemaker)
    for name in ("sentiment-not-ours", "other-team-endpoint"):
        sagemaker.create_model(
            ModelName=name,
            PrimaryContainer={"Image": "x/y:1"},
            ExecutionRoleArn=ROLE,
            Tags=[{"Key": "team", "Value": "other"}],
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return runs


FOREIGN = {"sentiment-not-ours", "other-team-endpoint"}


def test_teardown_all_removes_everything_of_ours_and_nothing_else(
    deployed: list[Path], sagemaker: Any
) -> None:
    plan = plan_teardown(sagemaker, everything=True)
    assert plan.endpoints == tuple(f"sentiment-{r}" for r in RUNS)
    assert plan.configs == plan.endpoints and plan.models == plan.endpoints
    assert execute_teardown(sagemaker, plan) == 9
    assert names(sagemaker) == FOREIGN


def test_teardown_by_name_removes_only_that_run(deployed: list[Path], sagemaker: Any) -> None:
    target = f"sentiment-{RUNS[0]}"
    execute_teardown(sagemaker, plan_teardown(sagemaker, names=[target]))
    assert names(sagemaker) == FOREIGN | {f"sentiment-{r}" for r in RUNS[1:]}


def test_names_that_are_not_the_projects_are_refused(deployed: list[Path], sagemaker: Any) -> None:
    for name in ("sentiment-not-ours", "other-team-endpoint", "sentiment-nothing"):
        with pytest.raises(UsageError, match="not the project's"):
            plan_teardown(sagemaker, names=[name])


def test_leftovers_of_an_interrupted_deploy_are_removed(
    make_run: Callable[[str], Path], s3: Any, sagemaker: Any
) -> None:
    from training.aws import deploy

    plan = deploy.plan_deploy(DeployRequest(make_run(RUNS[0]), BUCKET, ROLE), "us-east-1")
    deploy.upload_model(plan, s3)
    deploy.Boto3Backend(sagemaker).create_model(plan)
    teardown = plan_teardown(sagemaker, names=[plan.name])
    assert (teardown.endpoints, teardown.configs, teardown.models) == ((), (), (plan.name,))
    execute_teardown(sagemaker, teardown)
    assert names(sagemaker) == set()


def test_the_live_endpoint_is_spared_unless_forced(
    deployed: list[Path], sagemaker: Any, store: VocabularyStore
) -> None:
    live_run = deployed[1]
    published = publish_run(live_run, store=store, sagemaker=sagemaker)
    store.promote(published.key, published.vocabulary)  # what the S3 handler does
    live = live_endpoint(store)
    assert live == f"sentiment-{RUNS[1]}"

    with pytest.raises(UsageError, match="live vocabulary"):
        plan_teardown(sagemaker, everything=True, live=live)
    with pytest.raises(UsageError, match="live vocabulary"):
        plan_teardown(sagemaker, names=[live], live=live)

    plan = plan_teardown(sagemaker, except_live=True, live=live)
    assert plan.spared_live == live
    assert live not in plan.endpoints + plan.configs + plan.models
    execute_teardown(sagemaker, plan)
    assert names(sagemaker) == FOREIGN | {live}

    execute_teardown(sagemaker, plan_teardown(sagemaker, names=[live], live=live, force_live=True))
    assert names(sagemaker) == FOREIGN


def test_endpoints_lists_ours_with_size_and_cost(deployed: list[Path], sagemaker: Any) -> None:
    created = sagemaker.describe_endpoint(EndpointName=f"sentiment-{RUNS[0]}")["CreationTime"]
    now = created + timedelta(hours=10)
    rows = endpoint_rows(sagemaker, now=now, live=f"sentiment-{RUNS[0]}")
    assert [r.name for r in rows] == [f"sentiment-{r}" for r in RUNS]
    first, _, serverless = rows
    assert first.kind == "1 x ml.m5.large" and first.live and first.status == "InService"
    assert first.run_id == RUNS[0]
    assert first.hourly_usd == pytest.approx(0.115)
    assert first.cost_so_far_usd == pytest.approx(1.15, abs=0.01)
    assert serverless.serverless and serverless.hourly_usd is None
    assert serverless.kind == "serverless 2048 MB"
    table = "\n".join(format_rows(rows))
    assert "live" in table and "per request" in table and "estimates" in table
