"""What the benchmarks against the whole local stack share (``bench_stack``, ``bench_load``).

- which run to serve: ``artifacts/latest``, or ``$SENTIMENT_ARTIFACTS/latest``;
- the IMDB test reviews: a seeded sample, the same one ``sentiment evaluate latest
  --limit N`` scores (``training.data.sample`` with the evaluate command's seed);
- the stack itself: :class:`training.local_stack.LocalStack`, the composition of
  ``sentiment up``, on free ports with its state in a temporary directory;
- a small load generator: threads, each with one keep-alive ``http.client`` connection,
  sending reviews to ``POST /`` as JSON or ``text/plain`` and recording every answer.

Not a benchmark itself: ``python -m bench`` only runs the ``bench_*`` modules.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import percentile_ms
from tests.sentiment_api.conftest import local_project
from training.data import Reviews, load_split, sample
from training.errors import UsageError
from training.local_stack import LocalSettings, LocalStack

REPO = Path(__file__).resolve().parent.parent
IMDB = REPO.parent / "shared" / "data" / "imdb"
SEED = 42  # `sentiment evaluate`'s default sample seed
JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"


def artifacts_dir() -> Path:
    """Where runs are: ``$SENTIMENT_ARTIFACTS`` or the repository's ``artifacts/``."""
    return Path(os.environ.get("SENTIMENT_ARTIFACTS") or REPO / "artifacts")


def env_int(name: str, default: int) -> int:
    """An integer setting from the environment (for quick tries with smaller figures)."""
    value = os.environ.get(name)
    return default if not value else int(value)


def latest_run(artifacts: Path) -> Path | None:
    """The run ``latest`` names, or ``None`` after saying how to make one."""
    from training.artifacts import resolve_run

    try:
        return resolve_run(artifacts, "latest")
    except UsageError:
        print(
            f"No trained run at {artifacts}/latest: these figures need the real model. "
            "Run `.venv/bin/sentiment train` (or `make demo`, which trains first) and try "
            "again, or point SENTIMENT_ARTIFACTS at a folder holding a `latest` run."
        )
        return None


def imdb_sample(limit: int) -> Reviews:
    """``limit`` IMDB test reviews, a seeded sample (both labels, in IMDB's proportions)."""
    return sample(load_split(IMDB, "test"), seed=SEED, limit=limit)


def start_stack(artifacts: Path, state_dir: Path) -> LocalStack:
    """The whole local stack serving ``artifacts/latest``, every port a free one (moto's
    and the runtime's named by a private copy of the Chalice project's local stage)."""
    settings = LocalSettings(
        artifacts_dir=artifacts,
        state_dir=state_dir,
        app_dir=local_project(state_dir / "project"),
        api_port=0,
        web_port=0,
        ready_timeout=120.0,
    )
    return LocalStack(settings, progress=lambda message: None).start()


def silent(message: str) -> None:
    """A progress callback that says nothing (figures only on the terminal)."""


# -- the load generator ------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One request and its answer. ``status`` 0: the connection failed."""

    seq: int
    index: int  # which review
    json: bool  # JSON route (else text/plain)
    start: float  # time.monotonic() when sent
    latency_ns: int
    status: int
    body: bytes

    def answer(self) -> dict[str, Any] | None:
        """The JSON answer (``None`` for text answers and failures)."""
        if not self.json or self.status != 200:
            return None
        data: dict[str, Any] = json.loads(self.body)
        return data

    def label(self) -> int | None:
        """The 0/1 verdict of a successful answer, from either route."""
        if self.status != 200:
            return None
        if self.json:
            return int(json.loads(self.body)["sentiment"])
        return int(self.body) if self.body in (b"0", b"1") else None


class Connection:
    """One keep-alive HTTP/1.1 connection to the API; reconnects after a failure."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None, content_type: str) -> Any:
        """``(status, body)``; raises ``OSError``/``HTTPException`` when the connection fails
        (and drops it, so the next request opens a new one)."""
        headers = {"Content-Type": content_type} if body is not None else {}
        try:
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self._conn.connect()
                # As browsers and curl do: a request's second segment is not held back
                # (Nagle) until the server's delayed ACK of the first.
                self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn.request(method, path, body=body, headers=headers)
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if response.will_close:
            self.close()
        return response.status, data

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def request_body(text: str, as_json: bool) -> tuple[bytes, str]:
    if as_json:
        return json.dumps({"review": text}).encode("utf-8"), JSON_TYPE
    return text.encode("utf-8"), TEXT_TYPE


def drive(
    url: str,
    texts: Sequence[str],
    clients: int,
    *,
    seconds: float | None = None,
    as_json: Callable[[int], bool] = lambda seq: True,
) -> tuple[list[Sent], float]:
    """Send reviews from ``clients`` threads at once, each waiting for its answer before
    the next request. Without ``seconds``, each review once; with it, the reviews in a
    cycle until ``seconds`` have passed. Returns every request and the wall time.

    ``as_json(seq)`` picks the route of the ``seq``-th request (JSON or text/plain).
    """
    lock = threading.Lock()
    counter = iter(range(10**12))
    results: list[list[Sent]] = [[] for _ in range(clients)]
    path = urllib.parse.urlsplit(url).path or "/"
    bodies = [
        (request_body(t, as_json=False), request_body(t, as_json=True)) for t in texts
    ]  # encoded before the clock starts
    start = time.monotonic()
    deadline = None if seconds is None else start + seconds

    def client(slot: int) -> None:
        conn = Connection(url)
        out = results[slot]
        try:
            while True:
                with lock:
                    seq = next(counter)
                if deadline is None:
                    if seq >= len(texts):
                        return
                elif time.monotonic() >= deadline:
                    return
                index = seq % len(texts)
                wants_json = as_json(seq)
                body, content_type = bodies[index][1 if wants_json else 0]
                sent = time.monotonic()
                t0 = time.perf_counter_ns()
                try:
                    status, data = conn.request("POST", path, body, content_type)
                except (OSError, http.client.HTTPException) as exc:
                    status, data = 0, repr(exc).encode()
                elapsed = time.perf_counter_ns() - t0
                out.append(Sent(seq, index, wants_json, sent, elapsed, status, data))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - start
    return sorted((s for part in results for s in part), key=lambda s: s.seq), wall


def latency_line(sent: Sequence[Sent], wall: float) -> tuple[float, float, float]:
    """p50 (ms), p99 (ms) and requests/s of the answered requests."""
    times = sorted(s.latency_ns for s in sent if s.status == 200)
    if not times:
        return float("nan"), float("nan"), 0.0
    return percentile_ms(times, 0.50), percentile_ms(times, 0.99), len(sent) / wall
