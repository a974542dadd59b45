"""What a SageMaker endpoint serves, as plain values (read-only control plane calls).

Used by the S3 handler to check that a vocabulary's endpoint is in service and serves the
model the vocabulary was trained with: DescribeEndpoint, DescribeEndpointConfig,
DescribeModel and ListTags, nothing else. ``AWS_ENDPOINT_URL_SAGEMAKER`` reaches moto
locally.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.clients import LazyClient

FINGERPRINT_TAG = "sentiment-api:model-fingerprint"
FEATURE_COUNT_TAG = "sentiment-api:feature-count"


class ControlPlaneError(Exception):
    """SageMaker's control plane could not be asked (a transient failure: retry later)."""


@dataclass(frozen=True)
class ServedModel:
    name: str
    fingerprint: str | None
    feature_count: int | None


@dataclass(frozen=True)
class EndpointState:
    """An endpoint as the S3 handler needs to see it. ``exists`` False: no such endpoint."""

    name: str
    exists: bool
    status: str = ""
    models: tuple[ServedModel, ...] = ()


_client = LazyClient("sagemaker", connect_timeout=2, read_timeout=10, retries={"mode": "standard"})


def sagemaker_client() -> Any:
    """The process's SageMaker control-plane client, built on first use."""
    return _client.get()


def set_client(client: Any) -> None:
    """Use ``client`` from now on (``None``: build the default again on next use)."""
    _client.set(client)


def describe(endpoint: str, variant: str | None = None, client: Any = None) -> EndpointState:
    """The state of ``endpoint`` and the models behind it (only ``variant``'s, if given)."""
    from botocore.exceptions import BotoCoreError, ClientError

    sm = client or sagemaker_client()
    try:
        try:
            desc = sm.describe_endpoint(EndpointName=endpoint)
        except ClientError as exc:
            if _missing(exc):
                return EndpointState(endpoint, exists=False)
            raise
        config = sm.describe_endpoint_config(EndpointConfigName=desc["EndpointConfigName"])
        models = []
        for pv in config.get("ProductionVariants", []):
            if variant and pv.get("VariantName") != variant:
                continue
            model = sm.describe_model(ModelName=pv["ModelName"])
            tags = {
                t["Key"]: t["Value"]
                for t in sm.list_tags(ResourceArn=model["ModelArn"]).get("Tags", [])
            }
            count = tags.get(FEATURE_COUNT_TAG, "")
            models.append(
                ServedModel(
                    pv["ModelName"],
                    tags.get(FINGERPRINT_TAG),
                    int(count) if count.isdigit() else None,
                )
            )
    except (ClientError, BotoCoreError) as exc:
        raise ControlPlaneError(f"describing endpoint {endpoint} failed: {exc}") from exc
    return EndpointState(endpoint, True, str(desc.get("EndpointStatus", "")), tuple(models))


def _missing(exc: Any) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") in ("ValidationException", "ResourceNotFound") and (
        "not find" in error.get("Message", "") or "not found" in error.get("Message", "")
    )
