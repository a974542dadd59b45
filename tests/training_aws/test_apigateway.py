"""API Gateway's throttling and CORS gateway responses, applied to a REST API on moto's
server shaped like the one ``chalice deploy`` makes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import REPO
from training.aws.apigateway import GatewayLimits, apply_gateway_settings, gateway_settings
from training.cli import main


@pytest.fixture
def apigateway(moto_env: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL_API_GATEWAY", moto_env)
    return boto3.client("apigateway", region_name="us-east-1")


@pytest.fixture
def rest_api(apigateway: Any) -> str:
    """A REST API with a POST / method deployed to stage ``api``, like Chalice's."""
    api_id = apigateway.create_rest_api(name="sentiment-api")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(
        restApiId=api_id, resourceId=root, httpMethod="POST", authorizationType="NONE"
    )
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="POST", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName="api")
    return str(api_id)


def test_throttling_and_cors_gateway_responses(apigateway: Any, rest_api: str) -> None:
    limits = GatewayLimits(rate_limit=20, burst_limit=40, allow_origin="https://page.example")
    apply_gateway_settings(apigateway, rest_api, "api", limits)
    settings = gateway_settings(apigateway, rest_api, "api")
    assert (settings.rate_limit, settings.burst_limit) == (20.0, 40)
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        headers = settings.response_headers[response_type]
        assert headers["Access-Control-Allow-Origin"] == "https://page.example"
        assert "Content-Type" in headers["Access-Control-Allow-Headers"]
        response = apigateway.get_gateway_response(restApiId=rest_api, responseType=response_type)
        assert "$context.error.messageString" in response["responseTemplates"]["application/json"]
    # Applying again (after the next chalice deploy) is fine.
    apply_gateway_settings(apigateway, rest_api, "api", GatewayLimits())
    assert gateway_settings(apigateway, rest_api, "api").rate_limit == 50.0


def test_bad_limits_are_refused() -> None:
    from training.errors import UsageError

    with pytest.raises(UsageError):
        GatewayLimits(rate_limit=0)
    with pytest.raises(UsageError):
        GatewayLimits(allow_origin="'; drop")


def test_deploy_api_command_on_a_deployed_stage(
    apigateway: Any, rest_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "sentiment_api"
    (project / ".chalice" / "deployed").mkdir(parents=True)
    (project / "app.py").write_text("")
    shutil.copy(REPO / "sentiment_api" / ".chalice" / "config.json", project / ".chalice")
    url = f"https://{rest_api}.execute-api.us-east-1.amazonaws.com/api/"
    deployed = {
        "schema_version": "2.0",
        "backend": "api",
        "resources": [
            {
                "name": "rest_api",
                "resource_type": "rest_api",
                "rest_api_id": rest_api,
                "rest_api_url": url,
            },
        ],
    }
    (project / ".chalice" / "deployed" / "dev.json").write_text(json.dumps(deployed))
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="sentiment-api-dev")
    web = tmp_path / "web"
    web.mkdir()
    monkeypatch.setenv("SENTIMENT_THROTTLE_RATE", "7")
    argv = ["deploy-api", "--stage", "dev", "--skip-chalice", "--project-dir", str(project)]
    assert main([*argv, "--burst", "9", "--web-dir", str(web)]) == 0
    settings = gateway_settings(apigateway, rest_api, "api")
    assert (settings.rate_limit, settings.burst_limit) == (7.0, 9)
    assert url in (web / "config.js").read_text()
    assert (
        main(["deploy-api", "--stage", "prod", "--skip-chalice", "--project-dir", str(project)])
        == 2
    )


def test_the_chalice_deploy_command_is_one_chalice_accepts() -> None:
    """chalice deploy has no --region: the region must travel in the environment. The real
    chalice CLI parses the command line (with --help, so nothing is deployed)."""
    import subprocess
    import sys

    from tests.sentiment_api.conftest import APP_DIR
    from training.commands.deploy_api import chalice_deploy_command

    chalice = str(Path(sys.executable).with_name("chalice"))
    argv, env = chalice_deploy_command(chalice, "dev", "eu-west-1")
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1"
    done = subprocess.run(
        [*argv, "--help"], cwd=APP_DIR, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_deploy_api_sets_up_an_api_terraform_deployed(
    apigateway: Any, rest_api: str, tmp_path: Path
) -> None:
    """`sentiment package` then Terraform: no .chalice/deployed/ record, the API named by
    the template's RestAPIId output instead."""
    project = tmp_path / "sentiment_api"
    (project / ".chalice").mkdir(parents=True)
    (project / "app.py").write_text("")
    shutil.copy(REPO / "sentiment_api" / ".chalice" / "config.json", project / ".chalice")
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="sentiment-api-dev")
    web = tmp_path / "web"
    web.mkdir()
    argv = ["deploy-api", "--stage", "dev", "--rest-api-id", rest_api, "--region", "us-east-1"]
    assert main([*argv, "--project-dir", str(project), "--web-dir", str(web), "--rate", "5"]) == 0
    assert gateway_settings(apigateway, rest_api, "api").rate_limit == 5.0
    url = f"https://{rest_api}.execute-api.us-east-1.amazonaws.com/api/"
    assert url in (web / "config.js").read_text()
