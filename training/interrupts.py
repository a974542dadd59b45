"""SIGTERM stops a long command the way Ctrl-C does: one mechanism for every command.

A script stops a process with ``kill PID`` (SIGTERM). Python's default for SIGTERM is to die
on the spot, without the clean-up Ctrl-C gets (``finally`` blocks, ``atexit``): child
processes stay behind and multiprocessing's semaphores are reported leaked. Inside
:func:`stop_on_signals`, SIGTERM and SIGINT raise :class:`KeyboardInterrupt` in the main
thread instead, so the command stops through the same path as Ctrl-C. SIGINT is caught even
when the process was started with it ignored (a shell's background job).

Only the first signal counts: later ones are ignored until the block ends, so they cannot
cut short the clean-up the first one started. A step that must not be torn in half (handing
a new worker process its start-up data) runs inside :func:`deferred`: a signal that arrives
meanwhile stops the command as soon as the step is done.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Deferral:
    depth = 0  # how many deferred() blocks the main thread is in
    pending = False  # a stop signal came inside one


_deferral = _Deferral()


class Stopping:
    """The block's handle: :meth:`hold` ignores the stop signals from now on (a clean-up
    that must not be interrupted, whether a signal started it or not)."""

    def hold(self) -> None:
        """Ignore further stop signals until the block ends."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


@contextmanager
def stop_on_signals() -> Iterator[Stopping]:
    """Within the block, the first SIGTERM or SIGINT raises :class:`KeyboardInterrupt`;
    the previous handlers come back when it ends. Main thread only (Python's rule)."""
    stopping = Stopping()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.hold()
        if _deferral.depth:
            _deferral.pending = True
            return
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}
    try:
        yield stopping
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Inside :func:`stop_on_signals`, a stop signal that arrives within this block raises
    :class:`KeyboardInterrupt` when the block ends, not in the middle of it."""
    _deferral.depth += 1
    try:
        yield
    finally:
        _deferral.depth -= 1
    if not _deferral.depth and _deferral.pending:
        _deferral.pending = False
        raise KeyboardInterrupt
