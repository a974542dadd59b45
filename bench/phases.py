"""Where the API handler's time goes, phase by phase (``bench app`` prints it).

A separate pass over the same reviews after :func:`bench.bench_app.handler_times` has set the
app up, with the handler's phases wrapped in timers; the timed pass whose p50 is the figure
is never wrapped. Wall clock, like that pass; the endpoint client's own time is taken out
of its phase. The phases do not overlap; "the rest" is the handler's time outside them:
Chalice turning the event into a request and routing it, the Powertools middleware, the
prediction id, building the Lambda response.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

# (what the phase is, the module or class holding the function, the function's name)
PHASES = (
    ("parse the request", "chalicelib.parsing", "predict_request"),
    ("live vocabulary", "chalicelib.service", "live"),
    ("tokenise and encode (with evidence: spans, sentence rows)", "chalicelib.evidence", "plan"),
    ("write the body", "vocab_store.encode:Encoder", "body_of"),
    ("row width check", "vocab_store.encode:Encoder", "widths"),
    ("endpoint call around the client, parse its answer", "chalicelib.endpoint", "invoke"),
    ("sum check, label (with evidence: terms, sentences)", "chalicelib.evidence", "verdicts"),
    ("the answer (JSON: json.dumps)", "chalicelib.responses", "json_response"),
    ("the answer (text/plain)", "chalicelib.responses", "text"),
    ("log line and EMF metrics (Powertools)", "chalicelib.observability", "finish"),
)


def _owner(where: str) -> Any:
    import importlib

    module, _, cls = where.partition(":")
    owner = importlib.import_module(module)
    return getattr(owner, cls) if cls else owner


def _timed(function: Callable[..., Any], label: str, spent: dict[str, int], endpoint: Any) -> Any:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        before = endpoint.spent_ns
        start = time.perf_counter_ns()
        try:
            return function(*args, **kwargs)
        finally:
            took = time.perf_counter_ns() - start - (endpoint.spent_ns - before)
            spent[label] = spent.get(label, 0) + took

    return timed


def breakdown(
    handler: Callable[..., Any],
    events: list[dict[str, Any]],
    context: SimpleNamespace,
    endpoint: Any,
) -> dict[str, float]:
    """Mean milliseconds per request of each phase (and ``"total"``, ``"the rest"``) over
    ``events`` sent to ``handler``; ``endpoint`` records its own time in ``spent_ns``."""
    spent: dict[str, int] = {}
    saved = []
    for label, where, name in PHASES:
        owner = _owner(where)
        saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, _timed(getattr(owner, name), label, spent, endpoint))
    total = 0
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            for event in events:
                endpoint.spent_ns = 0
                start = time.perf_counter_ns()
                handler(event, context)
                total += time.perf_counter_ns() - start - endpoint.spent_ns
    finally:
        for owner, name, function in saved:
            setattr(owner, name, function)
    n = len(events)
    figures = {label: ns / n / 1e6 for label, ns in spent.items()}
    figures["the rest (Chalice, middleware, ids, Lambda response)"] = (
        (total - sum(spent.values())) / n / 1e6
    )
    figures["total"] = total / n / 1e6
    return figures


def describe(figures: dict[str, float]) -> str:
    """One line per phase, largest first, the total last."""
    lines = [
        f"    {ms:6.3f} ms  {label}"
        for label, ms in sorted(figures.items(), key=lambda kv: -kv[1])
        if label != "total"
    ]
    return "\n".join([*lines, f"    {figures['total']:6.3f} ms  total (mean)"])
