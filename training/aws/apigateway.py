"""API Gateway's own limits and errors, which Chalice has no setting for.

- **Stage throttling**: a rate (requests per second) and a burst for every method of the
  stage, so a flood is answered 429 by API Gateway before it reaches Lambda or SageMaker.
- **Gateway responses** ``DEFAULT_4XX`` and ``DEFAULT_5XX`` with the CORS headers and a JSON
  ``{"message": ...}`` body: without them a throttled (429), oversized (413) or timed-out
  (504) browser request carries no ``Access-Control-Allow-Origin`` and the page sees only
  an opaque CORS failure instead of a readable error.

``chalice deploy`` replaces the REST API's definition (gateway responses included) on every
deploy, so these are applied after each one (``sentiment deploy-api`` does both). Stage
settings take effect at once; gateway responses need a new deployment of the stage, which
:func:`apply_gateway_settings` creates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.aws.clients import AWS_ERRORS, translate
from training.errors import UsageError

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_apigateway.literals import GatewayResponseTypeType

GATEWAY_RESPONSES: tuple[GatewayResponseTypeType, ...] = ("DEFAULT_4XX", "DEFAULT_5XX")
# A JSON body the page's error handling reads (body.message); messageString is quoted JSON.
MESSAGE_TEMPLATE = '{"message": $context.error.messageString}'


@dataclass(frozen=True)
class GatewayLimits:
    """Stage throttling and the origin the error responses allow."""

    rate_limit: float = 50.0
    burst_limit: int = 100
    allow_origin: str = "*"

    def __post_init__(self) -> None:
        if self.rate_limit <= 0 or self.burst_limit < 1:
            raise UsageError("throttling rate must be > 0 and burst >= 1")
        if "'" in self.allow_origin or not self.allow_origin:
            raise UsageError("the allowed origin must be '*' or an origin like https://x.example")

    def cors_headers(self) -> dict[str, str]:
        """Header name to value, as the page's requests need them."""
        return {
            "Access-Control-Allow-Origin": self.allow_origin,
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Allow-Methods": "GET,POST,OPTIONS",
        }


@dataclass(frozen=True)
class DeployedApi:
    """Where ``chalice deploy`` put the API (read from ``.chalice/deployed/<stage>.json``)."""

    rest_api_id: str
    url: str
    stage_name: str


def deployed_api(project_dir: Path, stage: str) -> DeployedApi:
    """The REST API that ``chalice deploy --stage STAGE`` created in ``project_dir``."""
    path = project_dir / ".chalice" / "deployed" / f"{stage}.json"
    config_path = project_dir / ".chalice" / "config.json"
    try:
        deployed = json.loads(path.read_text())
        config = json.loads(config_path.read_text())
    except FileNotFoundError as exc:
        raise UsageError(
            f"{exc.filename} is missing: run `chalice deploy --stage {stage}` in {project_dir} "
            "first (or `sentiment deploy-api` without --skip-chalice)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the Chalice deployment of stage {stage}: {exc}") from exc
    apis = [r for r in deployed.get("resources", []) if r.get("resource_type") == "rest_api"]
    if not apis:
        raise UsageError(f"{path} records no REST API; is stage {stage} deployed?")
    return DeployedApi(apis[0]["rest_api_id"], apis[0]["rest_api_url"], _stage_name(config, stage))


def named_api(project_dir: Path, stage: str, rest_api_id: str, region: str) -> DeployedApi:
    """A REST API deployed by other means than ``chalice deploy`` (Terraform from ``sentiment
    package``: ``terraform output -raw RestAPIId``), with the stage name and URL Chalice's
    template gives it."""
    config_path = project_dir / ".chalice" / "config.json"
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the Chalice project's {config_path}: {exc}") from exc
    stage_name = _stage_name(config, stage)
    url = f"https://{rest_api_id}.execute-api.{region}.amazonaws.com/{stage_name}/"
    return DeployedApi(rest_api_id, url, stage_name)


def _stage_name(config: dict[str, Any], stage: str) -> str:
    """The API Gateway stage a Chalice stage deploys to (``api`` unless configured)."""
    stage_config = config.get("stages", {}).get(stage, {})
    return str(stage_config.get("api_gateway_stage") or config.get("api_gateway_stage") or "api")


def apply_gateway_settings(
    apigateway: APIGatewayClient, rest_api_id: str, stage_name: str, limits: GatewayLimits
) -> None:
    """Put the CORS gateway responses, redeploy the stage, and set its throttling."""
    parameters = {
        f"gatewayresponse.header.{name}": f"'{value}'"
        for name, value in limits.cors_headers().items()
    }
    try:
        for response_type in GATEWAY_RESPONSES:
            apigateway.put_gateway_response(
                restApiId=rest_api_id,
                responseType=response_type,
                responseParameters=parameters,
                responseTemplates={"application/json": MESSAGE_TEMPLATE},
            )
        apigateway.create_deployment(
            restApiId=rest_api_id,
            stageName=stage_name,
            description="sentiment deploy-api: CORS headers on gateway errors",
        )
        apigateway.update_stage(
            restApiId=rest_api_id,
            stageName=stage_name,
            patchOperations=[
                {
                    "op": "replace",
                    "path": "/*/*/throttling/rateLimit",
                    "value": str(limits.rate_limit),
                },
                {
                    "op": "replace",
                    "path": "/*/*/throttling/burstLimit",
                    "value": str(limits.burst_limit),
                },
            ],
        )
    except AWS_ERRORS as exc:
        raise translate(exc, f"configuring API Gateway {rest_api_id} stage {stage_name}") from exc


@dataclass(frozen=True)
class GatewaySettings:
    """What the stage and the gateway responses say now (for checks and tests)."""

    rate_limit: float | None
    burst_limit: int | None
    response_headers: dict[str, dict[str, str]]  # response type -> header -> value


def gateway_settings(
    apigateway: APIGatewayClient, rest_api_id: str, stage_name: str
) -> GatewaySettings:
    try:
        stage = apigateway.get_stage(restApiId=rest_api_id, stageName=stage_name)
        headers: dict[str, dict[str, str]] = {}
        for response_type in GATEWAY_RESPONSES:
            r = apigateway.get_gateway_response(restApiId=rest_api_id, responseType=response_type)
            headers[response_type] = {
                k.removeprefix("gatewayresponse.header."): v.strip("'")
                for k, v in (r.get("responseParameters") or {}).items()
            }
    except AWS_ERRORS as exc:
        raise translate(exc, f"reading API Gateway {rest_api_id}") from exc
    method = (stage.get("methodSettings") or {}).get("*/*", {})
    return GatewaySettings(
        rate_limit=method.get("throttlingRateLimit"),
        burst_limit=method.get("throttlingBurstLimit"),
        response_headers=headers,
    )


def write_web_config(web_dir: Path, api_url: str, *, max_review_bytes: int = 100_000) -> Path:
    """Write ``web/config.js`` so the page calls ``api_url`` (see ``config.example.js``)."""
    path = web_dir / "config.js"
    body = json.dumps({"apiUrl": api_url, "maxReviewBytes": max_review_bytes}, indent=2)
    path.write_text(
        f"// Written by `sentiment deploy-api`.\nwindow.SENTIMENT_CONFIG = {body};\n",
        encoding="utf-8",
    )
    return path
