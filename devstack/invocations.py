"""What the local SageMaker runtime was sent (tests of issue 8), kept apart from the wire
protocol. Nothing here exists on AWS: it is reached only through
``/_devstack/invocations`` on the runtime's port.

The runtime records the last :data:`KEPT` ``InvokeEndpoint`` calls, newest last, each as
``{"endpoint", "content_type", "bytes", "rows", "widths", "status"}``:

- ``rows``: the rows the container would score (the stripped body split on ``\\n``; 0 for
  an empty body);
- ``widths``: per row, the field count for CSV, the highest (1-based) index for libsvm,
  ``null`` for a row that is neither; so a test can check that every row the API sent has
  exactly its vocabulary's width;
- ``status``: what the runtime answered (200, 400 ValidationError, 424 ModelError, ...).

``GET /_devstack/invocations`` lists them (JSON array, oldest first);
``DELETE /_devstack/invocations`` forgets them. The review text itself is never kept: only
shapes.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import asdict, dataclass

KEPT = 256


@dataclass(frozen=True)
class Invocation:
    endpoint: str
    content_type: str
    bytes: int
    rows: int
    widths: tuple[int | None, ...]
    status: int


def _libsvm_width(row: str) -> int | None:
    indices = []
    for item in row.split():
        index, sep, _ = item.partition(":")
        if not sep:
            continue  # a label, which the container ignores
        try:
            indices.append(int(index))
        except ValueError:
            return None
    return max(indices) if indices else None


def row_widths(body: bytes, content_type: str | None) -> tuple[int | None, ...]:
    """Width of each row of ``body`` as the container would split it."""
    try:
        text = body.strip().decode("utf-8")
    except UnicodeDecodeError:
        return (None,)
    if not text:
        return ()
    media = (content_type or "text/csv").lower().split(";")[0].strip()
    rows = text.split("\n")
    if media == "text/csv":
        return tuple(row.count(",") + 1 for row in rows)
    if media in ("text/libsvm", "text/x-libsvm"):
        return tuple(_libsvm_width(row) for row in rows)
    return tuple(None for _ in rows)


def describe(endpoint: str, body: bytes, content_type: str | None, status: int) -> Invocation:
    """The shape of one invocation (never its text)."""
    widths = row_widths(body, content_type)
    return Invocation(endpoint, content_type or "", len(body), len(widths), widths, status)


class Invocations:
    """The last ``kept`` invocations, thread-safe."""

    def __init__(self, kept: int = KEPT) -> None:
        self._lock = threading.Lock()
        self._recent: deque[Invocation] = deque(maxlen=kept)

    def record(self, invocation: Invocation) -> None:
        with self._lock:
            self._recent.append(invocation)

    def clear(self) -> None:
        with self._lock:
            self._recent.clear()

    def snapshot(self) -> list[Invocation]:
        with self._lock:
            return list(self._recent)

    def as_json(self) -> bytes:
        return json.dumps([asdict(i) for i in self.snapshot()]).encode()
