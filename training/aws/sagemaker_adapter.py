"""The SageMaker control plane behind small functions that return plain values.

Callers never see response shapes or botocore errors: a missing resource is ``None`` (or
``False`` for a delete), and any other failure is an :class:`~training.errors.AwsError`
that says what was being done.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from training.aws.clients import AWS_ERRORS, is_not_found, translate
from training.aws.naming import is_project
from training.errors import AwsError

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

NAME_PREFIX = "sentiment-"


@dataclass(frozen=True)
class Variant:
    """One production variant of an endpoint config."""

    name: str
    model_name: str
    instance_type: str | None = None
    instance_count: int = 0
    serverless_memory_mb: int | None = None
    serverless_max_concurrency: int | None = None

    @property
    def serverless(self) -> bool:
        return self.serverless_memory_mb is not None


@dataclass(frozen=True)
class EndpointState:
    name: str
    arn: str
    status: str
    config_name: str
    created: datetime
    failure_reason: str | None = None


@dataclass(frozen=True)
class ConfigState:
    name: str
    arn: str
    variants: tuple[Variant, ...]


@dataclass(frozen=True)
class ModelState:
    name: str
    arn: str
    image: str | None
    model_data_url: str | None


@dataclass(frozen=True)
class Resource:
    """A model, endpoint config or endpoint, with its tags."""

    kind: str  # "endpoint", "endpoint-config" or "model"
    name: str
    arn: str
    created: datetime
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Inventory:
    """Everything in the account and region that carries the project's tag."""

    endpoints: tuple[Resource, ...]
    configs: tuple[Resource, ...]
    models: tuple[Resource, ...]


def _describe(call: Callable[..., Any], what: str, **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except AWS_ERRORS as exc:
        if is_not_found(exc):
            return None
        raise translate(exc, what) from exc


def describe_endpoint(sm: SageMakerClient, name: str) -> EndpointState | None:
    """The endpoint's status and config, or ``None`` if there is no such endpoint."""
    r = _describe(sm.describe_endpoint, f"describing endpoint {name}", EndpointName=name)
    if r is None:
        return None
    return EndpointState(
        name=r["EndpointName"],
        arn=r["EndpointArn"],
        status=r["EndpointStatus"],
        config_name=r["EndpointConfigName"],
        created=r["CreationTime"],
        failure_reason=r.get("FailureReason"),
    )


def describe_endpoint_config(sm: SageMakerClient, name: str) -> ConfigState | None:
    r = _describe(
        sm.describe_endpoint_config,
        f"describing endpoint config {name}",
        EndpointConfigName=name,
    )
    if r is None:
        return None
    variants = []
    for v in r.get("ProductionVariants", []):
        serverless = v.get("ServerlessConfig") or {}
        variants.append(
            Variant(
                name=v["VariantName"],
                model_name=v["ModelName"],
                instance_type=v.get("InstanceType"),
                instance_count=int(v.get("InitialInstanceCount") or 0),
                serverless_memory_mb=serverless.get("MemorySizeInMB"),
                serverless_max_concurrency=serverless.get("MaxConcurrency"),
            )
        )
    return ConfigState(r["EndpointConfigName"], r["EndpointConfigArn"], tuple(variants))


def describe_model(sm: SageMakerClient, name: str) -> ModelState | None:
    r = _describe(sm.describe_model, f"describing model {name}", ModelName=name)
    if r is None:
        return None
    container = r.get("PrimaryContainer") or {}
    return ModelState(
        r["ModelName"], r["ModelArn"], container.get("Image"), container.get("ModelDataUrl")
    )


def tags_of(sm: SageMakerClient, arn: str) -> dict[str, str]:
    """All tags of a resource, as a dict."""
    tags: dict[str, str] = {}
    kwargs: dict[str, Any] = {"ResourceArn": arn}
    while True:
        try:
            r = sm.list_tags(**kwargs)
        except AWS_ERRORS as exc:
            if is_not_found(exc):
                return tags
            raise translate(exc, f"reading the tags of {arn}") from exc
        tags.update({t["Key"]: t["Value"] for t in r.get("Tags", [])})
        if not r.get("NextToken"):
            return tags
        kwargs["NextToken"] = r["NextToken"]
        kwargs["NextToken"] = r["NextToken"]


_LISTS = {
    # kind: (operation, result key, name key, arn key)
    "endpoint": ("list_endpoints", "Endpoints", "EndpointName", "EndpointArn"),
    "endpoint-config": (
        "list_endpoint_configs",
        "EndpointConfigs",
        "EndpointConfigName",
        "EndpointConfigArn",
    ),
    "model": ("list_models", "Models", "ModelName", "ModelArn"),
}


def _listed(sm: SageMakerClient, kind: str) -> Iterator[dict[str, Any]]:
    operation, key, _, _ = _LISTS[kind]
    kwargs: dict[str, Any] = {"NameContains": NAME_PREFIX, "MaxResults": 100}
    while True:
        try:
            r = getattr(sm, operation)(**kwargs)
        except AWS_ERRORS as exc:
            raise translate(exc, f"listing {kind}s") from exc
        yield from r.get(key, [])
        if not r.get("NextToken"):
            return
        kwargs["NextToken"] = r["NextToken"]


def project_resources(sm: SageMakerClient, kind: str) -> tuple[Resource, ...]:
    """The project's resources of one ``kind``: named ``sentiment-...`` *and* tagged
    ``sentiment-api:project=sentiment-api``. The tag is what proves ownership."""
    _, _, name_key, arn_key = _LISTS[kind]
    found = []
    for item in _listed(sm, kind):
        name = item[name_key]
        if not name.startswith(NAME_PREFIX):
            continue
        tags = tags_of(sm, item[arn_key])
        if is_project(tags):
            found.append(Resource(kind, name, item[arn_key], item["CreationTime"], tags))
    return tuple(sorted(found, key=lambda r: r.name))


def project_inventory(sm: SageMakerClient) -> Inventory:
    return Inventory(
        endpoints=project_resources(sm, "endpoint"),
        configs=project_resources(sm, "endpoint-config"),
        models=project_resources(sm, "model"),
    )


def _delete(call: Callable[..., Any], what: str, **kwargs: Any) -> bool:
    try:
        call(**kwargs)
    except AWS_ERRORS as exc:
        if is_not_found(exc):
            return False
        raise translate(exc, what) from exc
    return True


def delete_endpoint(sm: SageMakerClient, name: str) -> bool:
    """Delete an endpoint; ``False`` when it was already gone."""
    return _delete(sm.delete_endpoint, f"deleting endpoint {name}", EndpointName=name)


def delete_endpoint_config(sm: SageMakerClient, name: str) -> bool:
    return _delete(
        sm.delete_endpoint_config,
        f"deleting endpoint config {name}",
        EndpointConfigName=name,
    )


def delete_model(sm: SageMakerClient, name: str) -> bool:
    return _delete(sm.delete_model, f"deleting model {name}", ModelName=name)


def wait_in_service(
    sm: SageMakerClient,
    name: str,
    *,
    progress: Progress | None = None,
    poll_seconds: float = 15.0,
    timeout_seconds: float = 1800.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> EndpointState:
    """Poll the endpoint until it is ``InService``, reporting each status change.

    Like boto3's ``endpoint_in_service`` waiter, but it shows progress and says why an
    endpoint failed (``FailureReason``).
    """
    deadline = clock() + timeout_seconds
    last = ""
    while True:
        state = describe_endpoint(sm, name)
        if state is None:
            raise AwsError(f"endpoint {name} disappeared while waiting for it")
        if state.status != last and progress is not None:
            progress(f"endpoint {name}: {state.status}")
        last = state.status
        if state.status == "InService":
            return state
        if state.status in ("Failed", "OutOfService", "Deleting"):
            reason = state.failure_reason or "no reason given"
            raise AwsError(
                f"endpoint {name} is {state.status}: {reason}; see its CloudWatch logs, then "
                f"`sentiment teardown {name}`"
            )
        if clock() >= deadline:
            raise AwsError(
                f"endpoint {name} is still {state.status} after {timeout_seconds:.0f} s; "
                "check it with `sentiment endpoints`"
            )
        sleep(poll_seconds)
