"""Logs, metrics and traces of both Lambdas, from AWS Lambda Powertools.

- **Logs**: Powertools' ``Logger`` writes JSON lines to stdout (CloudWatch Logs on AWS,
  ``.devstack/api.log`` locally); ``chalicelib`` and ``vocab_store`` loggers write through
  it too. Each request ends with exactly one ``"message": "request"`` line (route, status,
  latency total and at the endpoint, label or error code, vocabulary version, model and its
  fingerprint, prediction id(s), and, from ``inject_lambda_context``, cold start and request
  id); each record the refresh handler looks at, one ``"message": "refresh"`` line. Never the
  review's text.
- **Metrics**: one CloudWatch embedded-metric-format (EMF) object per request, with the
  model (endpoint name) as a dimension beside the service, and a second dimension set of
  the service alone, which the 5xx alarm watches. ``EphemeralMetrics``, one per thread:
  ``chalice local`` serves requests on threads, and ``Metrics`` shares its state.
- **Traces**: Powertools' ``Tracer`` needs the X-Ray SDK (``aws-xray-sdk``), which brings
  its own botocore: 4 MB of zip become 22 MB, so the zip leaves it out and the Tracer runs
  only where the SDK is importable (an X-Ray SDK layer, see docs/operate.md), on Lambda,
  unless ``POWERTOOLS_TRACE_DISABLED``. It is built on the first request, never at import
  (importing the SDK takes ~0.4 s). Locally it is off.

The service name and namespace come from ``POWERTOOLS_SERVICE_NAME`` and
``POWERTOOLS_METRICS_NAMESPACE`` (``.chalice/config.json``: ``sentiment-api-<stage>``), which
``sentiment deploy-api``'s dashboard and alarm read back.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import EphemeralMetrics

from chalicelib import ids

SERVICE = "sentiment-api"
NAMESPACE = "SentimentApi"
NO_MODEL = "none"
COUNT, MS = "Count", "Milliseconds"  # CloudWatch units

# Powertools' formatter hands every log message that is a str to its JSON deserializer and
# keeps the str when that raises: our "request" line paid a raised and caught JSONDecodeError
# each time. Text that cannot begin a JSON value (what json.loads accepts: whitespace, an
# object, array, string, number, true, false, null, NaN, Infinity) is kept as it is without
# trying, exactly as that failure would keep it; the rest goes to json.loads as before.
_JSON_START = frozenset(' \t\n\r{["-0123456789tfnNI')


def _log_message(message: Any) -> Any:
    if isinstance(message, str) and message[:1] not in _JSON_START:
        return message
    return json.loads(message)


logger = Logger(
    service=os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE,
    use_rfc3339=True,
    json_deserializer=_log_message,
)
# The app's own loggers (module loggers under these names) write through Powertools' handler.
for _name in ("chalicelib", "vocab_store"):
    logging.getLogger(_name).setLevel(logging.INFO)
copy_config_to_registered_loggers(source_logger=logger, include={"chalicelib", "vocab_store"})


@dataclass
class Served:
    """What one request was served with, collected while it runs (:func:`note`)."""

    route: str
    prediction_id: str = field(default_factory=ids.new_id)
    start: float = field(default_factory=time.perf_counter)
    facts: dict[str, Any] = field(default_factory=dict)


_served: ContextVar[Served | None] = ContextVar("served", default=None)


def note(**facts: Any) -> None:
    """Record facts about the current request for its log line and metrics (vocabulary
    version, endpoint, label...; ``route`` replaces the route the request began with)."""
    served = _served.get()
    if served is not None:
        if "route" in facts:
            served.route = str(facts.pop("route"))
        served.facts.update(facts)


def prediction_id() -> str:
    """The current request's prediction id (a new one outside a request)."""
    served = _served.get()
    return served.prediction_id if served is not None else ids.new_id()


@contextmanager
def request(route: str) -> Iterator[Served]:
    """Collect facts about one request; the caller reports it with :func:`finish`."""
    served = Served(route)
    token = _served.set(served)
    try:
        yield served
    finally:
        _served.reset(token)


def finish(served: Served, status: int, error: str | None = None) -> None:
    """Write the request's one log line and its metrics."""
    facts = served.facts
    line: dict[str, Any] = {
        "route": served.route,
        "status": status,
        "latency_ms": round((time.perf_counter() - served.start) * 1000, 2),
        "prediction_id": served.prediction_id,
        **facts,
    }
    if error is not None:
        line["error"] = error
    logger.info("request", extra=line)
    _metrics(line)


_per_thread = threading.local()


def _metric_set() -> EphemeralMetrics:
    # One per thread, reused: a flush clears it, and building one costs more than using it.
    metrics: EphemeralMetrics | None = getattr(_per_thread, "metrics", None)
    if metrics is None:
        namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE
        metrics = _per_thread.metrics = EphemeralMetrics(namespace=namespace)
    return metrics


def _metrics(line: dict[str, Any]) -> None:
    metrics = _metric_set()
    service = logger.service
    metrics.add_dimension("service", service)
    metrics.add_dimension("model", str(line.get("endpoint") or NO_MODEL))
    metrics.add_dimensions(service=service)
    status = int(line["status"])
    # Units by name, not MetricUnit members: Powertools resolves a name with one lookup,
    # a member with several enum accesses (a third of this function's time). No separate
    # request or prediction counters (a quarter more): they are the SampleCount of
    # Latency and of Uncertain.
    metrics.add_metric("Latency", MS, line["latency_ms"])
    metrics.add_metric("Errors4xx", COUNT, int(400 <= status < 500))
    metrics.add_metric("Errors5xx", COUNT, int(status >= 500))
    if "endpoint_ms" in line:
        metrics.add_metric("EndpointLatency", MS, line["endpoint_ms"])
    labels = line.get("labels") or ({line["label"]: 1} if "label" in line else {})
    predicted = sum(labels.values())
    if predicted:
        # One 0/1 value per prediction: the Average is the "not sure" rate.
        unsure = labels.get("uncertain", 0)
        for value in [1] * unsure + [0] * (predicted - unsure):
            metrics.add_metric("Uncertain", COUNT, value)
    metrics.flush_metrics()


def refresh_outcome(key: str, result: str, reason: str = "") -> None:
    """The refresh handler's one line per record it looked at."""
    logger.info("refresh", extra={"key": key, "result": result, "reason": reason})


# -- tracing ------------------------------------------------------------------------------------

_tracer: Any = None
_tracer_lock = threading.Lock()


def tracer(enabled: bool) -> Any:
    """The process's Tracer when ``enabled``, on Lambda, with the X-Ray SDK installed; else
    ``None``. Built on the first traced request; botocore's calls are traced from then."""
    global _tracer
    if not enabled or not os.environ.get("LAMBDA_TASK_ROOT") or not _xray_sdk():
        return None
    with _tracer_lock:
        if _tracer is None:
            from aws_lambda_powertools import Tracer

            _tracer = Tracer(service=logger.service, auto_patch=False)
            _tracer.patch(["botocore"])
        return _tracer


@functools.cache
def _xray_sdk() -> bool:
    # Once per process: on Lambda every request asks, and a search of sys.path for a
    # package the zip leaves out costs file system lookups each time.
    from importlib.util import find_spec

    return find_spec("aws_xray_sdk") is not None


def instrument(app: Any) -> None:
    """Wire Powertools into ``app`` as Chalice's docs show: ``inject_lambda_context`` on
    every handler (cold start, request id and function on each line), and the tracer's
    ``capture_lambda_handler`` where tracing is on."""
    from chalice.app import ConvertToMiddleware

    app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context), "all")
    app.register_middleware(_traced, "all")


def _traced(event: Any, get_response: Any) -> Any:
    traced = tracer(_tracing_wanted())
    if traced is None:
        return get_response(event)
    from chalice.app import ConvertToMiddleware

    def lambda_handler(handler: Any) -> Any:
        # Named so: ConvertToMiddleware gives the wrapped handler this name, and the
        # tracer's subsegment is "## lambda_handler", as in Powertools' documentation.
        return traced.capture_lambda_handler(handler, capture_response=False)

    return ConvertToMiddleware(lambda_handler)(event, get_response)


def _tracing_wanted() -> bool:
    # Powertools' own switch; a Lambda without active tracing has nothing to trace into.
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower()
    return disabled not in ("1", "true", "yes", "on")
