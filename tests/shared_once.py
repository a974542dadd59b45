"""Costly session fixtures produced once per test run, however many pytest-xdist workers
run it, and checked unchanged when the session ends.

Each xdist worker is a session of its own, so a plain session fixture (a training, a
package build) would be paid once per worker. As pytest-xdist's documentation describes
("making session-scoped fixtures execute only once"), the first worker to need the value
produces it into the folder every worker of the run shares (the parent of each worker's
``basetemp``) under a file lock; the others wait on the lock and read what it made. Without
xdist (``-n 0``, ``-p no:xdist``) the value is produced in the session's own temp dir.

What is shared is read-only for the tests: each session fixture records a digest of the
tree it produced and fails at the session's end when a test changed anything in it, so a
test that writes into a shared run is caught instead of quietly changing another worker's
inputs (copy the run first, as ``stack_settings`` does).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """The folder every xdist worker of this run shares, or ``None`` outside xdist (the
    basetemp's parent is then pytest's folder of all runs, not this run's)."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return None
    return tmp_path_factory.getbasetemp().parent


def shared_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A folder named ``name`` that every worker of the run gets the same of (for content
    that is safe to write concurrently, e.g. the token cache, whose files are keyed by
    content and written atomically); the session's own ``mktemp(name)`` outside xdist."""
    root = shared_root(tmp_path_factory)
    if root is None:
        return tmp_path_factory.mktemp(name)
    path = root / name
    path.mkdir(exist_ok=True)
    return path


def tree_digest(root: Path) -> str:
    """SHA-256 over every path under ``root`` with its file content or link target."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        if path.is_symlink():
            digest.update(b"link:" + os.readlink(path).encode())
        elif path.is_file():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        digest.update(b"\0")
    return digest.hexdigest()


def _produce(folder: Path, produce: Callable[[Path], Path]) -> dict[str, str]:
    shutil.rmtree(folder, ignore_errors=True)  # what a worker that failed half-way left
    folder.mkdir(parents=True)
    result = produce(folder)
    return {"result": str(result.relative_to(folder)), "digest": tree_digest(folder)}


@contextlib.contextmanager
def produced_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, produce: Callable[[Path], Path]
) -> Iterator[Path]:
    """``produce(folder)`` run once per test run into an empty ``folder``; yields the path
    it returned (inside ``folder``). On leaving, fails if anything under ``folder`` changed:
    tests read it, never write it."""
    root = shared_root(tmp_path_factory)
    if root is None:
        folder = tmp_path_factory.mktemp(name)
        made = _produce(folder, produce)
    else:
        folder = root / name
        record = root / f"{name}.json"
        with (root / f"{name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if not record.exists():
                record.write_text(json.dumps(_produce(folder, produce)))
            made = json.loads(record.read_text())
    yield folder / made["result"]
    assert tree_digest(folder) == made["digest"], (
        f"a test changed the shared {name} in {folder}: copy it before changing anything"
    )
