"""Stop when the ``make`` that started this process is interrupted.

``make demo`` runs ``sentiment up`` as its child. Ctrl-C in a terminal reaches both, but a
script that signals make's own PID (``kill -INT``) reaches make only, and GNU make then
stops catching that signal and waits for its children, which never hear of it: the stack
kept serving and make never exited. So when the parent is make, a thread watches the
signals make catches (``SigCgt`` in ``/proc/PPID/status``, Linux) and turns make letting
go of one of them, or make disappearing, into this process's own SIGINT.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

_MAKES = {"make", "gmake"}
_WATCHED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def _caught(pid: int) -> int | None:
    """The mask of signals ``pid`` has a handler for, or ``None`` when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return int(line.split()[1], 16)
    except (OSError, ValueError):
        return None
    return None


def _is_make(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() in _MAKES
    except OSError:
        return False


def watch_make_parent(stop: threading.Event, interval: float = 0.2) -> threading.Thread | None:
    """When the parent is make, start a daemon thread that sends this process SIGINT once
    make is interrupted; it ends when ``stop`` is set. ``None`` when there is nothing to
    watch (another parent, or no ``/proc``)."""
    parent = os.getppid()
    before = _caught(parent) if _is_make(parent) else None
    if before is None:
        return None
    watched = sum(1 << (int(s) - 1) for s in _WATCHED) & before

    def watch() -> None:
        while not stop.wait(interval):
            now = _caught(parent)
            if now is None or watched & ~now or os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGINT)
                return

    thread = threading.Thread(target=watch, name="make-parent", daemon=True)
    thread.start()
    return thread
