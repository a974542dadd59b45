"""The local API's recent requests, summarised from its structured log lines.

The API writes one Powertools JSON line per request (``"message": "request"``, see
``sentiment_api/chalicelib/observability.py``); ``sentiment up`` keeps chalice local's
output in ``.devstack/api.log``. These are the figures the AWS dashboard shows (requests,
p50/p99 latency, 4xx/5xx, the "not sure" rate, per model), for the terminal. The log
outlives the stack: :func:`held_open` tells whether a process still writes it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ALL = "all models"
# Health checks are not traffic: `sentiment up` itself asks /health until the API is ready
# (503s while it starts), so they are counted apart (see :func:`split_health`).
HEALTH_ROUTE = "GET /health"


@dataclass(frozen=True)
class Figures:
    """One row of the summary."""

    model: str
    requests: int
    p50_ms: float | None
    p99_ms: float | None
    endpoint_p50_ms: float | None
    errors_4xx: int
    errors_5xx: int
    predictions: int
    uncertain: int

    @property
    def uncertain_rate(self) -> float | None:
        return self.uncertain / self.predictions if self.predictions else None


def request_lines(lines: Iterable[str], since: datetime) -> list[dict[str, Any]]:
    """The request records among ``lines`` logged at ``since`` or later; anything else
    (chalice's own lines, EMF metric objects, a torn last line) is skipped."""
    found = []
    for line in lines:
        if not line.startswith("{") or '"request"' not in line:
            continue
        try:
            record = json.loads(line)
            when = datetime.fromisoformat(record["timestamp"])
        except (ValueError, KeyError, TypeError):
            continue
        if record.get("message") == "request" and when >= since:
            found.append(record)
    return found


def split_health(
    records: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``records`` as (traffic, health checks): ``GET /health`` lines apart, since the
    stack's own start-up probes are among them and cannot be told from a monitor's."""
    traffic = [r for r in records if r.get("route") != HEALTH_ROUTE]
    checks = [r for r in records if r.get("route") == HEALTH_ROUTE]
    return traffic, checks


def health_line(checks: list[dict[str, Any]]) -> str:
    """One line on the health checks left out of the table."""
    failed = sum(int(r.get("status", 0)) >= 500 for r in checks)
    return (
        f"{HEALTH_ROUTE}: {len(checks)} checks, not counted above ({failed} answered 5xx;"
        " `sentiment up` asks it until the API is ready, so its start-up probes are among them)"
    )


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (``None`` for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def figures(model: str, records: list[dict[str, Any]]) -> Figures:
    """The summary row of ``records``."""
    statuses = [int(r.get("status", 0)) for r in records]
    labels: dict[str, int] = {}
    for r in records:
        found = r.get("labels") or ({r["label"]: 1} if "label" in r else {})
        for name, count in found.items():
            labels[name] = labels.get(name, 0) + int(count)
    latencies = [float(r["latency_ms"]) for r in records if "latency_ms" in r]
    endpoint = [float(r["endpoint_ms"]) for r in records if "endpoint_ms" in r]
    return Figures(
        model=model,
        requests=len(records),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        endpoint_p50_ms=percentile(endpoint, 50),
        errors_4xx=sum(400 <= s < 500 for s in statuses),
        errors_5xx=sum(s >= 500 for s in statuses),
        predictions=sum(labels.values()),
        uncertain=labels.get("uncertain", 0),
    )


def summarise(records: list[dict[str, Any]]) -> list[Figures]:
    """One row per model (the endpoint that answered; ``none`` before any did), then all."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_model.setdefault(str(r.get("endpoint") or "none"), []).append(r)
    rows = [figures(model, by_model[model]) for model in sorted(by_model)]
    return [*rows, figures(ALL, records)] if len(rows) != 1 else rows


def read_log(path: Path, minutes: float, now: datetime) -> list[dict[str, Any]]:
    """The request records of the last ``minutes`` in the log at ``path``."""
    with path.open(encoding="utf-8", errors="replace") as fh:
        return request_lines(fh, now - timedelta(minutes=minutes))


def held_open(path: Path) -> bool | None:
    """Whether a live process holds ``path`` open (the stack's API still writing its log),
    from ``/proc``; ``None`` where there is no ``/proc`` to ask."""
    proc = Path("/proc")
    if not (proc / "self" / "fd").is_dir():
        return None
    target = str(path.resolve())
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) == target for fd in (entry / "fd").iterdir()):
                return True
        except OSError:  # gone meanwhile, or another user's
            continue
    return False


def ago(seconds: float) -> str:
    """ "38 min": a rough age, in the unit a person would say it."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def format_table(rows: list[Figures]) -> str:
    """The rows as an aligned table for the terminal."""
    header = ("model", "requests", "p50 ms", "p99 ms", "endpoint p50", "4xx", "5xx", "not sure")
    body = [
        (
            r.model,
            str(r.requests),
            _ms(r.p50_ms),
            _ms(r.p99_ms),
            _ms(r.endpoint_p50_ms),
            str(r.errors_4xx),
            str(r.errors_5xx),
            "-" if r.uncertain_rate is None else f"{r.uncertain_rate:.0%} of {r.predictions}",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *body]
    )
