"""Fault injection for the local SageMaker runtime (tests of issue 8), kept apart from the
wire protocol. Nothing here exists on AWS: it is reached only through
``/_devstack/faults`` on the runtime's port.

``POST /_devstack/faults`` with JSON ``{"endpoint": NAME, "latency": SECONDS,
"body": TEXT, "error": CODE}`` sets the fault for one endpoint (``"*"`` for all), replacing
the previous one; ``DELETE /_devstack/faults`` clears every fault; ``GET`` lists them.

- ``latency``: sleep before answering (an endpoint slower than the client's read timeout);
- ``body``: answer 200 with this text instead of the model's predictions (garbage);
- ``error``: answer with this rest-json error instead: one of ``ModelNotReadyException``
  (429), ``ServiceUnavailable`` (503), ``InternalFailure`` (500), ``ThrottlingException``
  (400), ``ModelError`` (424, OriginalStatusCode 500).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from typing import Any

ERROR_STATUS = {
    "ModelNotReadyException": 429,
    "ServiceUnavailable": 503,
    "InternalFailure": 500,
    "ThrottlingException": 400,
    "ModelError": 424,
}


class FaultSpecError(ValueError):
    """The fault request is malformed."""


@dataclass(frozen=True)
class Fault:
    latency: float = 0.0
    body: str | None = None
    error: str | None = None


def parse_fault(raw: bytes) -> tuple[str, Fault]:
    """``(endpoint, fault)`` from a POST body, or :class:`FaultSpecError`."""
    try:
        spec: Any = json.loads(raw)
    except ValueError as exc:
        raise FaultSpecError(f"not JSON: {exc}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("endpoint"), str):
        raise FaultSpecError('expected {"endpoint": NAME, ...}')
    unknown = set(spec) - {"endpoint", "latency", "body", "error"}
    if unknown:
        raise FaultSpecError(f"unknown fields {sorted(unknown)}")
    latency = spec.get("latency", 0.0)
    if not isinstance(latency, int | float) or latency < 0:
        raise FaultSpecError("latency must be a number of seconds >= 0")
    body = spec.get("body")
    if body is not None and not isinstance(body, str):
        raise FaultSpecError("body must be a string")
    error = spec.get("error")
    if error is not None and error not in ERROR_STATUS:
        raise FaultSpecError(f"error must be one of {sorted(ERROR_STATUS)}")
    return spec["endpoint"], Fault(float(latency), body, error)


class Faults:
    """The faults in force, per endpoint name (``"*"`` matches every endpoint)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}

    def set(self, endpoint: str, fault: Fault) -> None:
        with self._lock:
            self._faults[endpoint] = fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def for_endpoint(self, endpoint: str) -> Fault | None:
        with self._lock:
            return self._faults.get(endpoint) or self._faults.get("*")

    def as_json(self) -> bytes:
        with self._lock:
            return json.dumps({name: asdict(f) for name, f in self._faults.items()}).encode()
