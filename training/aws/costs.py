"""Estimated SageMaker costs, for the confirmation before a deploy and for ``endpoints``.

These are **estimates**: on-demand real-time inference prices in us-east-1 (USD per
instance-hour, Linux), as listed on https://aws.amazon.com/sagemaker/pricing/ in
:data:`PRICES_AS_OF`. Other regions cost somewhat more; savings plans less. Serverless
endpoints cost nothing while idle and are billed per request (compute time by memory size,
plus data processed), so they have no hourly figure.
"""

from __future__ import annotations

from datetime import datetime

PRICES_AS_OF = "2025-06"
PRICES_REGION = "us-east-1"

HOURLY_USD: dict[str, float] = {
    "ml.t2.medium": 0.056,
    "ml.t2.large": 0.111,
    "ml.t2.xlarge": 0.223,
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.m5.2xlarge": 0.461,
    "ml.m5.4xlarge": 0.922,
    "ml.c5.large": 0.102,
    "ml.c5.xlarge": 0.204,
    "ml.c5.2xlarge": 0.408,
    "ml.c5.4xlarge": 0.816,
    "ml.m4.xlarge": 0.28,
    "ml.g4dn.xlarge": 0.736,
}

# Serverless inference compute, USD per GB-second of memory while a request runs.
SERVERLESS_USD_PER_GB_SECOND = 0.00002


def hourly_cost(instance_type: str, count: int = 1) -> float | None:
    """Estimated USD per hour for ``count`` instances, or ``None`` if the type is unknown."""
    price = HOURLY_USD.get(instance_type)
    return None if price is None else price * count


def cost_since(hourly: float | None, created: datetime, now: datetime) -> float | None:
    """Estimated USD spent by an endpoint billed ``hourly`` since ``created``."""
    if hourly is None:
        return None
    hours = max(0.0, (now - created).total_seconds() / 3600.0)
    return hourly * hours


def describe_hourly(instance_type: str, count: int = 1) -> str:
    """One sentence for the confirmation prompt before a real-time deploy."""
    hourly = hourly_cost(instance_type, count)
    what = f"{count} x {instance_type}"
    if hourly is None:
        return (
            f"{what}: no price known here for this instance type; check "
            "https://aws.amazon.com/sagemaker/pricing/ before going on. It is billed every "
            "hour it runs, used or not."
        )
    return (
        f"{what}: about ${hourly:.3f} per hour, ${hourly * 24:.2f} per day, "
        f"${hourly * 24 * 30:.0f} per 30 days, billed while it runs, used or not "
        f"(estimate: {PRICES_REGION} on-demand prices as of {PRICES_AS_OF})."
    )


def format_usd(value: float | None) -> str:
    return "?" if value is None else f"${value:,.2f}"
