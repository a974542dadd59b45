"""Answers, CORS and the outer error edge of every route.

:func:`handled` wraps every route: it turns an :class:`ApiError` into its status and one
sentence, turns anything else into a logged 500 (the only catch-all in the app), adds the
CORS header and the request's ``X-Prediction-Id`` to every answer, and reports the request
(one log line, its metrics) through :mod:`chalicelib.observability`, never the review.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib import observability
from chalicelib.errors import ApiError, InternalError, ServiceUnavailable
from chalicelib.observability import note

__all__ = ["CORS", "error", "handled", "json_response", "note", "text"]

log = logging.getLogger("chalicelib.responses")

PREDICTION_ID = "X-Prediction-Id"
# A cross-origin page can read only safelisted response headers unless told otherwise; the
# page shows Retry-After ("retry in 10 s") and sends the prediction id back with feedback.
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": f"Retry-After, {PREDICTION_ID}",
}


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
            code = None
            with observability.request(route) as served:
                try:
                    response = view(*args, **kwargs)
                except ApiError as exc:
                    if exc.status >= 500:
                        # A 503's cause was logged in one line where it was translated.
                        trace = exc.__cause__ is not None and not isinstance(
                            exc, ServiceUnavailable
                        )
                        log.warning("%s: %s", route, exc.code, exc_info=trace)
                    code, response = exc.code, error(exc)
                except Exception:  # noqa: BLE001  the one catch-all, at the outer edge
                    log.exception("unexpected error on %s", route)
                    code, response = InternalError().code, error(InternalError())
                response.headers[PREDICTION_ID] = served.prediction_id
                observability.finish(served, response.status_code, code)
            return response

        return wrapper

    return decorate
