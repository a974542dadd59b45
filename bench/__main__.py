"""``make bench``: run every benchmark module (or those named) and print their figures.

Usage: ``python -m bench [NAME ...]`` where NAME is a module suffix (``encode`` for
``bench/bench_encode.py``).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench


def main(argv: list[str]) -> int:
    names = sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")
    )
    chosen = [n for n in names if not argv or n.removeprefix("bench_") in argv]
    if not chosen:
        print(f"no benchmark matches {argv}; have: {[n.removeprefix('bench_') for n in names]}")
        return 2
    failed = []
    for name in chosen:
        print(f"\n== {name.removeprefix('bench_')} ==", flush=True)
        start = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        code = module.main()
        print(f"({time.perf_counter() - start:.1f} s)")
        if code:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that missed a target or failed: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
