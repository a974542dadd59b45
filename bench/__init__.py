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
