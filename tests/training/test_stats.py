"""sentiment stats: the structured request lines of the local API's log, summarised."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from training import stats
from training.cli import COMMANDS, main

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _line(age_s: float, **fields: Any) -> str:
    when = (NOW - timedelta(seconds=age_s)).isoformat(timespec="milliseconds")
    return json.dumps({"level": "INFO", "message": "request", "timestamp": when, **fields})


LOG = [
    '127.0.0.1 - - [01/Dec/2026 11:58:00] "POST / HTTP/1.1" 200 -',
    _line(10, status=200, latency_ms=4.0, endpoint_ms=3.0, endpoint="m1", label="positive"),
    _line(20, status=200, latency_ms=6.0, endpoint_ms=5.0, endpoint="m1", label="uncertain"),
    _line(30, status=200, latency_ms=8.0, endpoint="m2", labels={"negative": 3, "uncertain": 1}),
    _line(40, status=413, latency_ms=1.0, error="PayloadTooLarge"),
    _line(50, status=503, latency_ms=2.0, endpoint="m1", error="EndpointUnavailable"),
    _line(600, status=200, latency_ms=99.0, endpoint="m1", label="positive"),  # too old
    '{"_aws": {"CloudWatchMetrics": []}, "Requests": [1.0]}',
    '{"message": "request", "timestamp": "torn',
]


def test_the_last_minutes_per_model_and_in_all() -> None:
    records = stats.request_lines(LOG, NOW - timedelta(minutes=5))
    rows = {r.model: r for r in stats.summarise(records)}
    assert set(rows) == {"m1", "m2", "none", stats.ALL}
    m1, total = rows["m1"], rows[stats.ALL]
    assert (m1.requests, m1.errors_5xx, m1.predictions, m1.uncertain) == (3, 1, 2, 1)
    assert (m1.p50_ms, m1.p99_ms, m1.endpoint_p50_ms) == (4.0, 6.0, 3.0)
    assert (total.requests, total.errors_4xx, total.errors_5xx) == (5, 1, 1)
    assert total.uncertain_rate == pytest.approx(2 / 6)
    assert rows["none"].errors_4xx == 1


def test_the_command_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC)
    lines = [
        json.dumps(
            {
                "message": "request",
                "timestamp": (now - timedelta(seconds=s)).isoformat(),
                "status": 200,
                "latency_ms": float(s),
                "endpoint": "sentiment-run",
                "label": "positive",
            }
        )
        for s in (1, 2, 3)
    ]
    (tmp_path / "api.log").write_text("\n".join(lines) + "\n")
    assert main(["stats", "--state-dir", str(tmp_path), "--minutes", "1"]) == 0
    out = capsys.readouterr().out
    assert "3 requests" in out
    header, row = out.splitlines()[1:3]
    assert header.split()[:4] == ["model", "requests", "p50", "ms"]
    assert row.split()[:4] == ["sentiment-run", "3", "2.0", "3.0"]


def test_health_checks_are_counted_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh stack's own start-up probes (503 until ready) are no 5xx of the traffic."""
    now = datetime.now(UTC)

    def line(age_s: float, route: str, status: int, **fields: Any) -> str:
        when = (now - timedelta(seconds=age_s)).isoformat()
        return json.dumps(
            {"message": "request", "timestamp": when, "route": route, "status": status, **fields}
        )

    lines = [
        line(9, "GET /health", 503, latency_ms=1.0, error="NoVocabulary"),
        line(8, "GET /health", 503, latency_ms=1.0, error="NoVocabulary"),
        line(7, "GET /health", 200, latency_ms=2.0, endpoint="m1"),
        line(5, "POST /", 200, latency_ms=4.0, endpoint="m1", label="positive"),
        line(4, "POST /predict", 502, latency_ms=6.0, endpoint="m1", error="BadGateway"),
    ]
    (tmp_path / "api.log").write_text("\n".join(lines) + "\n")
    assert main(["stats", "--state-dir", str(tmp_path), "--minutes", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "2 requests" in out[0]
    row = out[2].split()
    assert (row[0], row[1], row[-4]) == ("m1", "2", "1")  # 5xx: the 502 alone
    assert out[-1].startswith("GET /health: 3 checks, not counted above (2 answered 5xx;")
    assert main(["stats", "--state-dir", str(tmp_path), "--minutes", "1", "--json"]) == 0
    (figures,) = json.loads(capsys.readouterr().out)
    assert (figures["requests"], figures["errors_5xx"]) == (2, 1)


def test_no_log_is_a_clear_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--state-dir", str(tmp_path)]) == 2
    assert "sentiment up" in capsys.readouterr().err


def _request_log(path: Path, end: datetime, ages_s: tuple[float, ...]) -> None:
    path.write_text(
        "".join(
            json.dumps(
                {
                    "message": "request",
                    "timestamp": (end - timedelta(seconds=age)).isoformat(),
                    "status": 200,
                    "latency_ms": 1.0,
                    "endpoint": "sentiment-run",
                    "label": "positive",
                }
            )
            + "\n"
            for age in ages_s
        )
    )


def test_a_stopped_stacks_log_says_when_it_was_written_and_that_nothing_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "api.log"
    written = datetime.now(UTC) - timedelta(minutes=38)
    _request_log(log, written, (10, 20, 400))  # two in its last 5 minutes, one before
    os.utime(log, (written.timestamp(), written.timestamp()))
    assert main(["stats", "--state-dir", str(tmp_path)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert f"from {log}, last written {written.astimezone():%H:%M} (38 min ago)" in first
    assert "the stack that wrote it is not running" in first
    assert first.endswith("before then: 2 requests")
    assert "last 5 minutes of" not in first


def test_a_log_a_process_writes_is_the_last_minutes_before_now(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "api.log"
    _request_log(log, datetime.now(UTC), (10, 20, 400))
    with log.open("a") as out:  # a real process holding it, as chalice local under `up` does
        writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdout=out)
    try:
        assert main(["stats", "--state-dir", str(tmp_path)]) == 0
    finally:
        writer.kill()
        writer.wait()
    assert capsys.readouterr().out.splitlines()[0] == f"last 5 minutes of {log}: 2 requests"


def test_the_help_does_not_promise_a_running_api() -> None:
    assert "running" not in COMMANDS["stats"][1]
