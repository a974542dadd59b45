"""Answers, CORS, the outer error edge and the one log line per request.

:func:`handled` wraps every route: it turns an :class:`ApiError` into its status and one
sentence, turns anything else into a logged 500 (the only catch-all in the app), adds the
CORS header to every answer, and logs one JSON line per request with the route, status,
latency, vocabulary version and endpoint, never the review.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from chalice import Response

from chalicelib.errors import ApiError, InternalError, ServiceUnavailable

log = logging.getLogger("sentiment_api.requests")

# A cross-origin page can read only safelisted response headers unless told otherwise; the
# page shows Retry-After ("retry in 10 s"), so it is exposed.
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Retry-After"}

# What the request was served with, for the log line (a context variable: chalice local
# serves requests on threads).
_served: ContextVar[dict[str, Any] | None] = ContextVar("served", default=None)


def note(**fields: Any) -> None:
    """Record facts about this request (vocabulary version, endpoint; ``route`` replaces the
    one given to :func:`handled`) for its log line."""
    served = _served.get()
    if served is not None:
        served.update(fields)


def text(body: str, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers={**CORS, "Content-Type": "text/plain"})


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={**CORS, **(headers or {}), "Content-Type": "application/json"},
    )


def error(exc: ApiError) -> Response:
    return json_response(
        {"error": exc.code, "message": exc.message}, status=exc.status, headers=exc.headers()
    )


def handled(route: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """The outer edge of a route (see the module's docstring)."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            start = time.perf_counter()
            served: dict[str, Any] = {}
            token = _served.set(served)
            try:
                response = view(*args, **kwargs)
            except ApiError as exc:
                if exc.status >= 500:
                    # A 503's cause was logged in one line where it was translated.
                    trace = exc.__cause__ is not None and not isinstance(exc, ServiceUnavailable)
                    log.warning("%s: %s", route, exc.code, exc_info=trace)
                response = error(exc)
            except Exception:  # noqa: BLE001  the one catch-all, at the outer edge
                log.exception("unexpected error on %s", route)
                response = error(InternalError())
            finally:
                _served.reset(token)
            log.info(
                json.dumps(
                    {
                        "route": served.get("route", route),
                        "status": response.status_code,
                        "latency_ms": round((time.perf_counter() - start) * 1000, 2),
                        "vocabulary_version": served.get("vocabulary_version"),
                        "endpoint": served.get("endpoint"),
                        **({"items": served["items"]} if "items" in served else {}),
                    }
                )
            )
            return response

        return wrapper

    return decorate
