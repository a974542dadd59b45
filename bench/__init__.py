"""Benchmarks: each ``bench_*.py`` module's ``main()`` prints its figures and returns
:func:`check_targets`' verdict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def check_targets(figures: Mapping[str, float], targets: Mapping[str, float]) -> int:
    """Print a ``MISSED TARGET`` line per figure on the wrong side of its target; 1 if any.

    A target whose name ends in ``_min`` is a floor (accuracy); every other one a ceiling.
    """
    missed = []
    for name, target in targets.items():
        value = figures[name]
        floor = name.endswith("_min")
        if (value < target) if floor else (value > target):
            missed.append(f"{name} {value:.4g} {'<' if floor else '>'} {target}")
    for line in missed:
        print(f"MISSED TARGET: {line}")
    return 1 if missed else 0


def percentile_ms(sorted_ns: list[int], q: float) -> float:
    """The ``q`` quantile (0..1) of sorted nanosecond timings, in milliseconds."""
    return sorted_ns[min(len(sorted_ns) - 1, int(len(sorted_ns) * q))] / 1e6


def time_encoding(encoder: Any, texts: list[str]) -> tuple[list[int], list[int]]:
    """Each review's encode time (ns, sorted) and body size (bytes), through ``encoder.body``.

    The first review is encoded once untimed: nltk's stemmer loads on the first stemmed
    word, which is the import's cost, not the encoder's.
    """
    import time

    encoder.body(texts[0])
    times, sizes = [], []
    for text in texts:
        start = time.perf_counter_ns()
        body = encoder.body(text)
        times.append(time.perf_counter_ns() - start)
        sizes.append(len(body))
    times.sort()
    return times, sizes


def encode_figures(vocabulary: Any, texts: list[str]) -> dict[str, float]:
    """Encode figures of ``texts`` with a fresh encoder: p50/p99/mean ms, body sizes."""
    import statistics

    from vocab_store import Encoder

    times, sizes = time_encoding(Encoder(vocabulary), texts)
    return {
        "p50_ms": percentile_ms(times, 0.5),
        "p99_ms": percentile_ms(times, 0.99),
        "mean_ms": statistics.fmean(times) / 1e6,
        "body_mean": statistics.fmean(sizes),
        "body_max": max(sizes),
    }


def encode_figures_in_fresh_process(vocabulary_path: str, data_dir: str) -> dict[str, float]:
    """:func:`encode_figures` over the shuffled IMDB test reviews, in a new interpreter, as
    a Lambda runs it: not in a process whose heap is full of training's objects, where
    the garbage collector's full passes would be billed to the encoder."""
    import json
    import subprocess
    import sys

    code = (
        "import json, random, sys; from pathlib import Path\n"
        "from bench import encode_figures\n"
        "from training.data import load_split\n"
        "from vocab_store import loads\n"
        "vocab = loads(Path(sys.argv[1]).read_bytes())\n"
        "texts = list(load_split(Path(sys.argv[2]), 'test').texts)\n"
        "random.Random(1).shuffle(texts)\n"
        "print(json.dumps(encode_figures(vocab, texts)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, vocabulary_path, data_dir],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures
