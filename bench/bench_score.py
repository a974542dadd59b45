"""``sentiment score`` in local mode (issue 18): reviews per second, flat memory, accuracy.

Scores the 25,000 IMDB test reviews (JSON Lines) with the ``latest`` run, as a person runs
the command (a fresh process, one worker per core), then the same reviews repeated 10 times
(250,000). While each runs, the whole process tree's resident memory (the command and its
workers, from /proc) is sampled every 0.1 s; its peak must not grow with the input. The
output's accuracy must equal ``sentiment evaluate``'s on the same reviews, and every
probability must be the serving path's exactly.

Targets on the 2-core machine: >= 4,000 reviews/s on the 25,000; the 250,000 run's peak
memory within 10 % of the 25,000 run's; accuracy equal (difference 0). Other work on the
machine slows the figures; the load average is printed. ``SCORE_BENCH_REPEAT`` changes the
repeat count (10).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import check_targets
from bench.local import IMDB, artifacts_dir, env_int, latest_run

TARGETS = {"reviews_per_s_min": 4000.0, "memory_growth": 0.10, "accuracy_delta": 0.0}


def _sample(root: int, cpu: dict[int, float]) -> int:
    """Resident bytes of ``root`` and every process below it (the forkserver and the
    workers too); records each one's CPU seconds so far in ``cpu``."""
    from tests.processes import descendants

    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in [root, *descendants(root)]:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        cpu[pid] = max(cpu.get(pid, 0.0), (int(fields[11]) + int(fields[12])) / tick)
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def score_file(run: Path, source: Path, output: Path) -> tuple[float, int, float]:
    """Run ``sentiment score`` in a fresh process: wall seconds, peak tree RSS, and the CPU
    seconds the command and its workers used (as last seen, every 0.1 s)."""
    argv = [sys.executable, "-m", "training.cli", "score", str(source), "-o", str(output)]
    argv += ["--run", str(run), "--no-progress"]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    peak = 0
    cpu: dict[int, float] = {}
    while proc.poll() is None:
        peak = max(peak, _sample(proc.pid, cpu))
        time.sleep(0.1)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"sentiment score failed: {proc.stderr.read() if proc.stderr else ''}")
    return wall, peak, sum(cpu.values())


def main() -> int:
    import numpy as np

    from training.data import load_split
    from training.evaluate import serving_probabilities
    from training.metrics import classification_metrics

    run = latest_run(artifacts_dir())
    if run is None:
        return 1
    repeat = env_int("SCORE_BENCH_REPEAT", 10)
    test = load_split(IMDB, "test")
    one, five, _ = os.getloadavg()
    print(
        f"run {run.name}; load average {one:.2f} (1 min), {five:.2f} (5 min), {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="bench-score-") as tmp:
        small, large, out = Path(tmp) / "test.jsonl", Path(tmp) / "large.jsonl", Path(tmp) / "o"
        lines = [
            json.dumps({"id": i, "text": t}) + "\n"
            for i, t in zip(test.ids, test.texts, strict=True)
        ]
        small.write_text("".join(lines), encoding="utf-8")
        with large.open("w", encoding="utf-8") as fh:
            for _ in range(repeat):
                fh.writelines(lines)
        wall, peak, cpu = score_file(run, small, out.with_suffix(".jsonl"))
        rows = [json.loads(line) for line in out.with_suffix(".jsonl").read_text().splitlines()]
        rate = len(rows) / wall
        print(
            f"{len(rows):,} reviews in {wall:.1f} s: {rate:,.0f} reviews/s, "
            f"peak memory {peak / 1e6:.0f} MB"
        )
        cores = len(os.sched_getaffinity(0))
        print(
            f"CPU: {cpu:.1f} s in all, {cpu / len(rows) * 1000:.3f} ms per review (start-up "
            f"included): {cores} unshared cores would score ~{cores * len(rows) / cpu:,.0f}/s"
        )
        big_wall, big_peak, _ = score_file(run, large, out.with_suffix(".large.jsonl"))
        big_rows = len(test) * repeat
        print(
            f"{big_rows:,} reviews in {big_wall:.1f} s: {big_rows / big_wall:,.0f} reviews/s, "
            f"peak memory {big_peak / 1e6:.0f} MB"
        )
    served = serving_probabilities(run, test.texts)
    scored = [r["probability"] for r in rows]
    labels = np.array(test.labels)
    ours = classification_metrics(labels, np.array(scored))["accuracy"]
    theirs = classification_metrics(labels, np.array(served))["accuracy"]
    max_delta = max(abs(a - b) for a, b in zip(scored, served, strict=True))
    print(
        f"accuracy: score output {ours:.4f}, sentiment evaluate {theirs:.4f}; max |dp| {max_delta}"
    )
    figures = {
        "reviews_per_s_min": rate,
        "memory_growth": big_peak / peak - 1.0,
        "accuracy_delta": abs(ours - theirs) + max_delta,
    }
    return check_targets(figures, TARGETS)


if __name__ == "__main__":
    sys.exit(main())
