"""``sentiment endpoints``: the project's endpoints with status, size, age and cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from training.aws import costs
from training.aws import sagemaker_adapter as sma
from training.aws.naming import RUN_TAG

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


@dataclass(frozen=True)
class EndpointRow:
    name: str
    run_id: str
    status: str
    kind: str  # "1 x ml.m5.large" or "serverless 2048 MB"
    created: datetime
    age: timedelta
    hourly_usd: float | None  # None: serverless (per request) or unknown instance type
    cost_so_far_usd: float | None
    serverless: bool
    live: bool


def endpoint_rows(
    sagemaker: SageMakerClient, *, now: datetime, live: str | None = None
) -> list[EndpointRow]:
    """One row per project endpoint, oldest first."""
    rows = []
    for resource in sma.project_resources(sagemaker, "endpoint"):
        state = sma.describe_endpoint(sagemaker, resource.name)
        if state is None:  # deleted meanwhile
            continue
        config = sma.describe_endpoint_config(sagemaker, state.config_name)
        variants = config.variants if config else ()
        serverless = any(v.serverless for v in variants)
        hourly: float | None = None
        if serverless:
            kind = ", ".join(f"serverless {v.serverless_memory_mb} MB" for v in variants)
        elif variants:
            kind = ", ".join(f"{v.instance_count} x {v.instance_type}" for v in variants)
            prices = [costs.hourly_cost(v.instance_type or "", v.instance_count) for v in variants]
            hourly = None if None in prices else sum(p for p in prices if p is not None)
        else:
            kind = "?"
        rows.append(
            EndpointRow(
                name=state.name,
                run_id=resource.tags.get(RUN_TAG, "?"),
                status=state.status,
                kind=kind,
                created=state.created,
                age=now - state.created,
                hourly_usd=hourly,
                cost_so_far_usd=costs.cost_since(hourly, state.created, now),
                serverless=serverless,
                live=state.name == live,
            )
        )
    return sorted(rows, key=lambda r: r.created)


def format_age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d{hours % 24}h"


def format_rows(rows: list[EndpointRow]) -> list[str]:
    """A plain-text table, with a footer saying what the costs are."""
    header = ("ENDPOINT", "STATUS", "SIZE", "AGE", "PER HOUR", "SO FAR", "")
    table = [header]
    for r in rows:
        table.append(
            (
                r.name,
                r.status,
                r.kind,
                format_age(r.age),
                "per request" if r.serverless else costs.format_usd(r.hourly_usd),
                "per request" if r.serverless else costs.format_usd(r.cost_so_far_usd),
                "live" if r.live else "",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    ]
    lines.append(
        f"Costs are estimates from {costs.PRICES_REGION} on-demand prices as of "
        f"{costs.PRICES_AS_OF}; serverless endpoints bill per request and nothing while idle."
    )
    return lines
