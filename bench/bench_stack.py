"""The whole product offline, end to end (issue 6).

Against the whole local stack (``training.local_stack.LocalStack``: what ``sentiment up``
starts, on free ports, state in a temporary directory) serving the real model of
``artifacts/latest`` (``$SENTIMENT_ARTIFACTS/latest`` if set):

- latency p50/p99 and requests/s at 1 and at 8 concurrent clients, each a keep-alive
  connection, over 2,000 IMDB test reviews (``$SENTIMENT_BENCH_REVIEWS``; the seeded sample
  ``sentiment evaluate latest --limit 2000`` scores), through the JSON route of ``POST /``;
- agreement of every answer with ``sentiment evaluate``'s scoring of the same reviews
  (``training.evaluate.serving_probabilities``, from the run's files alone): 0/1 labels must
  agree on every review (target 100 %), and the largest probability difference;
- the time from publishing a new vocabulary version (as ``sentiment publish`` does) to
  ``/health`` reporting it: upload, S3 event, the S3 handler's validation and promotion,
  the API's pointer revalidation (target <= 2 s, the slowest of 5);
- the time from ``sentiment up`` (what ``make demo`` runs once installed, on a machine that
  has trained) to its URLs being printed, which happens once the API serves; then Ctrl-C
  (SIGINT to its process group, as a terminal sends it): it must exit and leave no process.
"""

from __future__ import annotations

import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import check_targets
from bench.local import (
    REPO,
    Connection,
    Sent,
    artifacts_dir,
    drive,
    env_int,
    imdb_sample,
    latency_line,
    latest_run,
    local_project,
    start_stack,
)
from devstack.processes import free_port
from tests.processes import descendants, still_running
from training.local_stack import LocalStack

REVIEWS = env_int("SENTIMENT_BENCH_REVIEWS", 2000)
CLIENTS = (1, 8)
UPLOADS = 5
READY_LINE = "the page:"  # `sentiment up` prints the URLs once the API serves
DEMO_TIMEOUT = 180.0
TARGETS = {
    "agreement_min": 1.0,
    "upload_to_serving_s": 2.0,
    "demo_leftover_processes": 0,
    "demo_stop_failed": 0,
}


def agreement(sent: list[Sent], expected: list[float]) -> tuple[int, int, float]:
    """Answers whose 0/1 label equals the offline one, answers, and the largest
    |probability difference| (a failed request counts as a disagreement)."""
    agree, delta = 0, 0.0
    for s in sent:
        answer = s.answer()
        if answer is None:
            continue
        p = expected[s.index]
        agree += int(answer["sentiment"]) == int(p >= 0.5)
        delta = max(delta, abs(float(answer["probability"]) - p))
    return agree, len(sent), delta


def upload_to_serving(stack: LocalStack, run: Path) -> list[float]:
    """Seconds from publishing a new version of the run's vocabulary (``publish_run``, as
    ``sentiment publish``) to ``/health`` answering 200 with that version."""
    import json

    from training.aws.publish import publish_run
    from vocab_store.store import VocabularyStore

    store = VocabularyStore(stack.settings.bucket, s3_client=stack.client("s3"))
    sagemaker = stack.client("sagemaker")
    health = Connection(stack.api_url)
    times = []
    for _ in range(UPLOADS):
        start = time.monotonic()
        version = publish_run(run, store=store, sagemaker=sagemaker).vocabulary.version
        while True:
            status, body = health.request("GET", "/health", None, "")
            if (
                status == 200
                and (json.loads(body).get("vocabulary") or {}).get("version") == version
            ):
                break
            if time.monotonic() - start > 30:
                raise RuntimeError(f"version {version} not served after 30 s: {body!r}")
            time.sleep(0.02)
        times.append(time.monotonic() - start)
        time.sleep(0.5)  # let the API's pointer TTL start afresh, as between real uploads
    health.close()
    return times


# -- `sentiment up` as a subprocess ------------------------------------------------------


def demo_start(artifacts: Path, state_dir: Path) -> tuple[float, float, int, int]:
    """Seconds to the URLs, seconds to exit after SIGINT, exit code, processes left."""
    api_port, web_port = free_port(), free_port()
    argv = [str(Path(sys.executable).parent / "sentiment"), "up", "--no-train"]
    argv += ["--api-port", str(api_port), "--web-port", str(web_port)]
    argv += ["--artifacts", str(artifacts), "--state-dir", str(state_dir)]
    argv += ["--app-dir", str(local_project(state_dir / "project"))]
    lines: queue.Queue[str | None] = queue.Queue()
    start = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a job in a terminal
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    stdout = proc.stdout

    def read() -> None:
        for line in stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    output: list[str] = []
    ready = None
    try:
        while ready is None:
            line = lines.get(timeout=max(0.1, DEMO_TIMEOUT - (time.monotonic() - start)))
            if line is None:
                raise RuntimeError("`sentiment up` exited before it was ready:\n" + "".join(output))
            output.append(line)
            if READY_LINE in line:
                ready = time.monotonic() - start
        health = Connection(f"http://127.0.0.1:{api_port}/")
        status, _ = health.request("GET", "/health", None, "")
        health.close()
        if status != 200:
            raise RuntimeError(f"`sentiment up` printed its URLs but /health answers {status}")
        children = descendants(proc.pid)
        stop = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        code = proc.wait(timeout=60)
        stopped = time.monotonic() - stop
    except BaseException:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        raise
    left = still_running(children)
    if left:
        print(f"processes left running after Ctrl-C: {left}")
    return ready, stopped, code, len(left)


def main() -> int:
    artifacts = artifacts_dir()
    run = latest_run(artifacts)
    if run is None:
        return 1
    from training.evaluate import serving_probabilities

    reviews = imdb_sample(REVIEWS)
    texts = list(reviews.texts)
    t0 = time.perf_counter()
    expected = serving_probabilities(run, texts)
    offline_s = time.perf_counter() - t0
    print(
        f"run {run.name}; {len(texts):,} IMDB test reviews ({sum(reviews.labels):,} positive), "
        f"the sample of `sentiment evaluate latest --limit {len(texts)}`; scored offline "
        f"by its code path in {offline_s:.1f} s"
    )
    figures: dict[str, float] = {}
    answers: list[Sent] = []
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        t0 = time.perf_counter()
        stack = start_stack(artifacts, Path(tmp) / "state")
        print(f"local stack started and serving in {time.perf_counter() - t0:.1f} s")
        try:
            drive(stack.api_url, texts[:20], 1)  # warm-up: first model load, nltk import
            for clients in CLIENTS:
                sent, wall = drive(stack.api_url, texts, clients)
                answers += sent
                p50, p99, rps = latency_line(sent, wall)
                failed = sum(s.status != 200 for s in sent)
                print(
                    f"{clients} client{'s' if clients > 1 else ''}, JSON route, "
                    f"{len(sent):,} requests: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
                    f"{rps:.0f} requests/s, {failed} failed"
                )
            agree, total, delta = agreement(answers, expected)
            labels = [reviews.labels[s.index] for s in answers]
            correct = sum(s.label() == y for s, y in zip(answers, labels, strict=True))
            figures["agreement_min"] = agree / total
            print(
                f"agreement with `sentiment evaluate` (0/1 labels): {agree:,}/{total:,} "
                f"= {agree / total:.2%}; max |Δprobability| {delta:.2e}; "
                f"accuracy of the stack's answers {correct / total:.4f}"
            )
            uploads = upload_to_serving(stack, run)
            figures["upload_to_serving_s"] = max(uploads)
            print(
                f"vocabulary upload to served (/health), {UPLOADS} uploads: median "
                f"{statistics.median(uploads):.2f} s, max {max(uploads):.2f} s "
                f"({', '.join(f'{u:.2f}' for u in uploads)})"
            )
        finally:
            stack.stop()
        ready, stopped, code, left = demo_start(artifacts, Path(tmp) / "demo")
    figures["demo_leftover_processes"] = left
    figures["demo_stop_failed"] = float(code != 0)
    print(
        f"`sentiment up` (make demo, already trained) to its URLs printed and /health "
        f"ready: {ready:.1f} s; Ctrl-C to exit: {stopped:.1f} s, exit code {code}, "
        f"{left} processes left"
    )
    return check_targets(figures, TARGETS)


if __name__ == "__main__":
    sys.exit(main())
