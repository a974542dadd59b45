"""A bounded load test on loopback, with a vocabulary switch mid-run (issue 8, "Load").

Against the whole local stack (``LocalStack``, the composition of ``sentiment up``, on free
ports) serving ``artifacts/latest`` (``$SENTIMENT_ARTIFACTS/latest`` if set):

- 8, then 32 concurrent clients, each a thread with one keep-alive connection sending IMDB
  test reviews back to back to ``POST /``, half as ``text/plain``, half as JSON, for
  :data:`SECONDS` each (``$SENTIMENT_LOAD_SECONDS`` for quick tries). Any answer but a
  200, and any connection error, is a failed request (target: none).
- A vocabulary switch in the middle of each run that changes answers: before the load, a
  second, small model is trained (:func:`training.pipeline.train_run` on 3,000 reviews into
  a temporary folder) and deployed to its own endpoint with the deploy code ``LocalStack``
  uses (:func:`training.aws.deploy.deploy_run`). Halfway through the 8-client run its
  vocabulary is published (``publish_run``, as ``sentiment publish``); halfway through the
  32-client run the big run's vocabulary is published again, switching back. Every JSON
  answer is checked against the offline scoring (``serving_probabilities``) of the model
  its ``vocabulary_version`` belongs to, and every text answer against one of the two.
- The API process's memory (VmRSS of ``chalice local``, from ``/proc/PID/status``, each
  second): in each run, the mean of the last 10 s against the mean of the first 10 s.
  Target: last <= first x 1.10 + 5 MB (flat: no growth with requests served; the margin
  covers the switch, which builds the new vocabulary's encoder while the old one serves).
  The mean of the 10 s before the switch is printed too, to tell a step at the switch
  from a steady climb.

The load generator shares the 2 cores with the stack, so requests/s is what this machine
sustains with both, not the API's ceiling.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import check_targets
from bench.local import (
    Sent,
    artifacts_dir,
    drive,
    env_int,
    imdb_sample,
    latency_line,
    latest_run,
    silent,
    start_stack,
)
from training.local_stack import LocalStack

SECONDS = env_int("SENTIMENT_LOAD_SECONDS", 60)
REVIEWS = env_int("SENTIMENT_BENCH_REVIEWS", 2000)
CLIENTS = (8, 32)
SWITCH_TRAIN_REVIEWS = 3000
WINDOW = min(10.0, SECONDS / 3)  # "first" and "last" memory windows, seconds
MEMORY_RATIO, MEMORY_SLACK_MB = 1.10, 5.0


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class MemorySampler(threading.Thread):
    """Samples a process's RSS every second until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.samples.append((time.monotonic(), rss_mb(self.pid)))
            self.done.wait(1.0)

    def mean(self, start: float, end: float) -> float:
        values = [mb for t, mb in self.samples if start <= t <= end]
        return statistics.fmean(values) if values else float("nan")


@dataclass
class Switch:
    """A vocabulary published at ``at`` seconds into a run."""

    run_dir: Path
    at: float
    version: int | None = None
    started: float = 0.0
    published: float = 0.0
    error: str = ""
    thread: threading.Thread | None = field(default=None, repr=False)

    def schedule(self, stack: LocalStack, run_start: float) -> None:
        def publish() -> None:
            from training.aws.publish import publish_run
            from vocab_store.store import VocabularyStore

            time.sleep(max(0.0, run_start + self.at - time.monotonic()))
            try:
                store = VocabularyStore(stack.settings.bucket, s3_client=stack.client("s3"))
                self.started = time.monotonic()
                published = publish_run(
                    self.run_dir, store=store, sagemaker=stack.client("sagemaker")
                )
                self.published = time.monotonic()
                self.version = published.vocabulary.version
            except Exception as exc:  # noqa: BLE001 - reported as a figure, not raised
                self.error = repr(exc)

        self.thread = threading.Thread(target=publish, daemon=True)
        self.thread.start()


def train_switch_run(root: Path) -> Path:
    """A second, small model (other reviews, other vocabulary, other answers)."""
    from training.config import TrainConfig
    from training.pipeline import train_run

    return train_run(
        TrainConfig(
            artifacts_dir=root,
            cache_dir=None,
            seed=7,
            train_limit=SWITCH_TRAIN_REVIEWS,
            test_limit=200,
            # libsvm like the big run, so both halves of a run encode the same way.
            content_type="text/libsvm",
            progress=False,
        )
    )


def check_answers(
    sent: Sequence[Sent], expected: dict[int, list[float]], labels: list[list[int]]
) -> tuple[Counter[int], int, int]:
    """JSON answers by vocabulary version; answers that do not match the model of their
    version (JSON) or either model (text)."""
    versions: Counter[int] = Counter()
    wrong_json = wrong_text = 0
    for s in sent:
        if s.status != 200:
            continue
        answer = s.answer()
        if answer is None:
            wrong_text += s.label() not in {model[s.index] for model in labels}
            continue
        version = int(answer["vocabulary_version"])
        versions[version] += 1
        p = expected.get(version)
        wrong_json += p is None or abs(float(answer["probability"]) - p[s.index]) > 1e-6
    return versions, wrong_json, wrong_text


def changed_answers(sent: Sequence[Sent], old: int, new: int) -> tuple[int, int]:
    """Reviews answered as JSON under both versions in this run: how many got another
    label after the switch, and how many there were."""
    by_review: dict[int, dict[int, int]] = {}
    for s in sent:
        answer = s.answer()
        if answer is not None:
            by_review.setdefault(s.index, {})[int(answer["vocabulary_version"])] = int(
                answer["sentiment"]
            )
    both = [v for v in by_review.values() if old in v and new in v]
    return sum(v[old] != v[new] for v in both), len(both)


def main() -> int:
    artifacts = artifacts_dir()
    run = latest_run(artifacts)
    if run is None:
        return 1
    from training.aws.deploy import DeployRequest, deploy_run
    from training.aws.naming import LOCAL_ROLE_ARN
    from training.evaluate import serving_probabilities

    texts = list(imdb_sample(REVIEWS).texts)
    figures: dict[str, float] = {"failed": 0, "wrong_answers": 0, "switch_failed": 0}
    targets: dict[str, float] = dict(figures)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        t0 = time.perf_counter()
        small = train_switch_run(Path(tmp) / "switch-artifacts")
        print(
            f"second model for the switch: {small.name}, trained on {SWITCH_TRAIN_REVIEWS:,} "
            f"reviews in {time.perf_counter() - t0:.0f} s"
        )
        scores = {
            run: serving_probabilities(run, texts),
            small: serving_probabilities(small, texts),
        }
        labels = [[int(p >= 0.5) for p in s] for s in scores.values()]
        differ = sum(a != b for a, b in zip(*labels, strict=True))
        print(
            f"{len(texts):,} IMDB test reviews; the two models' labels differ on {differ:,} "
            f"of them (offline)"
        )
        stack = start_stack(artifacts, Path(tmp) / "state")
        try:
            assert stack.stack is not None and stack.vocabulary_version is not None
            sagemaker, s3 = stack.client("sagemaker"), stack.client("s3")
            deploy_run(
                DeployRequest(small, stack.settings.bucket, LOCAL_ROLE_ARN, poll_seconds=0),
                s3=s3,
                sagemaker=sagemaker,
                progress=silent,
            )
            expected = {stack.vocabulary_version: scores[run]}
            api_pid = stack.stack.processes["api"].pid
            assert api_pid is not None
            drive(stack.api_url, texts[:200], 8)  # warm-up: model loads, nltk import
            memory = MemorySampler(api_pid)
            memory.start()
            live, version = run, stack.vocabulary_version
            for clients in CLIENTS:
                switch = Switch(small if live == run else run, at=SECONDS / 2)
                start = time.monotonic()
                switch.schedule(stack, start)
                sent, wall = drive(
                    stack.api_url,
                    texts,
                    clients,
                    seconds=SECONDS,
                    as_json=lambda seq: (seq + seq // len(texts)) % 2 == 0,
                )
                end = time.monotonic()
                assert switch.thread is not None
                switch.thread.join()
                if switch.version is None:
                    print(f"the vocabulary switch failed: {switch.error}")
                    figures["switch_failed"] += 1
                else:
                    expected[switch.version] = scores[switch.run_dir]
                failed = [s for s in sent if s.status != 200]
                figures["failed"] += len(failed)
                p50, p99, rps = latency_line(sent, wall)
                print(
                    f"\n{clients} clients, {wall:.0f} s, text/plain and JSON: {len(sent):,} "
                    f"requests, {len(failed)} failed; p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
                    f"{rps:.0f} requests/s"
                )
                for s in failed[:5]:
                    print(f"  failed: status {s.status}: {s.body[:200]!r}")
                versions, wrong_json, wrong_text = check_answers(sent, expected, labels)
                figures["wrong_answers"] += wrong_json + wrong_text
                new = switch.version
                first_new = min(
                    (s.start for s in sent if (s.answer() or {}).get("vocabulary_version") == new),
                    default=None,
                )
                changed, both = changed_answers(sent, version, new or -1)
                print(
                    f"  switch at {switch.started - start:.1f} s to {switch.run_dir.name} "
                    f"(version {new}); first answer with it "
                    + (
                        f"{first_new - switch.started:.2f} s after publishing"
                        if first_new is not None
                        else "never"
                    )
                )
                print(
                    "  JSON answers by vocabulary version: "
                    + ", ".join(f"{v}: {n:,}" for v, n in sorted(versions.items()))
                    + f"; answers not matching their version's model: {wrong_json} JSON, "
                    f"{wrong_text} text"
                )
                print(
                    f"  reviews answered under both versions: {both:,}, of which "
                    f"{changed:,} changed label"
                )
                first_mb = memory.mean(start, start + WINDOW)
                before_switch_mb = memory.mean(switch.started - WINDOW, switch.started)
                last_mb = memory.mean(end - WINDOW, end)
                name = f"rss_last_{clients}_clients_mb"
                figures[name] = last_mb
                targets[name] = first_mb * MEMORY_RATIO + MEMORY_SLACK_MB
                print(
                    f"  API process RSS: first {WINDOW:.0f} s {first_mb:.1f} MB, the "
                    f"{WINDOW:.0f} s before the switch {before_switch_mb:.1f} MB, last "
                    f"{WINDOW:.0f} s {last_mb:.1f} MB (target <= {targets[name]:.1f} MB)"
                )
                live, version = switch.run_dir, new or version
            memory.done.set()
            memory.join()
            values = [mb for _, mb in memory.samples]
            print(
                f"\nAPI process RSS over both runs: min {min(values):.1f} MB, max "
                f"{max(values):.1f} MB ({len(values)} samples); "
                f"/health after: {stack.health()[0]}"
            )
        finally:
            stack.stop()
    return check_targets(figures, targets)


if __name__ == "__main__":
    sys.exit(main())
