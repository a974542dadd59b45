"""Start and stop the stand-ins' server processes so that none is ever left behind.

Each child runs in its own session (so its process group is its own, a terminal's Ctrl-C
does not reach it, and stopping it also stops anything it spawned), binds 127.0.0.1 only,
writes stdout and stderr to a log file, and is asked on Linux to receive SIGTERM when the
thread that started it dies (``PR_SET_PDEATHSIG``), so even a parent killed with SIGKILL
leaves nothing running. Readiness is polled with a timeout and fails early, with the end of
the child's log, when the child exits. A port is checked before the child starts, so a
taken port is a clear :class:`PortInUseError` instead of a child dying with EADDRINUSE.

Every started process is recorded; :func:`stop_all` (registered with ``atexit``) stops
those still running.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from devstack.errors import PortInUseError, StartupError

log = logging.getLogger(__name__)

LOCALHOST = "127.0.0.1"
Readiness = Callable[[], bool]

_PR_SET_PDEATHSIG = 1


def free_port(host: str = LOCALHOST) -> int:
    """A port that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = LOCALHOST) -> bool:
    """Whether a server could bind ``host:port`` now (SO_REUSEADDR, like our servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def ensure_port_free(name: str, port: int, host: str = LOCALHOST) -> None:
    """Raise :class:`PortInUseError` naming ``name`` when ``host:port`` is taken."""
    if not port_is_free(port, host):
        raise PortInUseError(name, host, port)


def http_ready(url: str, timeout: float = 1.0) -> Readiness:
    """Readiness check: ``url`` answers with any HTTP status."""

    def check() -> bool:
        try:
            urllib.request.urlopen(url, timeout=timeout).close()
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    return check


def file_ready(path: Path) -> Readiness:
    """Readiness check: the child has created ``path`` (for servers without HTTP)."""
    return path.exists


@dataclass(frozen=True)
class ProcessSpec:
    """What to run: argv, the complete environment, where, and how to know it is ready."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: Path | None = None
    port: int | None = None
    host: str = LOCALHOST
    ready: Readiness | None = None
    ready_timeout: float = 60.0


def _load_prctl() -> Callable[[int, int], int] | None:
    if not hasattr(os, "getppid") or os.uname().sysname != "Linux":
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    prctl: Callable[[int, int], int] = libc.prctl
    return prctl


# Loaded in the parent: a child between fork and exec must not call dlopen.
_PRCTL = _load_prctl()


def _child_setup(parent_pid: int) -> Callable[[], None] | None:
    if _PRCTL is None:
        return None
    prctl = _PRCTL

    def setup() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return setup


class ManagedProcess:
    """One child process: start it, wait until it is ready, stop it and its group."""

    def __init__(self, spec: ProcessSpec, log_path: Path) -> None:
        self.spec = spec
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> ManagedProcess:
        """Check the port, start the child and wait until it is ready."""
        spec = self.spec
        if spec.port is not None:
            ensure_port_free(spec.name, spec.port, spec.host)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        log.info("starting %s: %s (log: %s)", spec.name, " ".join(spec.argv), self.log_path)
        self._proc = subprocess.Popen(
            list(spec.argv),
            env=dict(spec.env),
            cwd=spec.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_child_setup(os.getpid()),
        )
        _register(self)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        spec = self.spec
        if spec.ready is None:
            return
        deadline = time.monotonic() + spec.ready_timeout
        delay = 0.02
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise StartupError(
                    f"{spec.name} exited with status {self._proc.returncode} before it was "
                    f"ready; its log is {self.log_path}",
                    self.log_tail(),
                )
            if spec.ready():
                log.info("%s is ready (pid %s)", spec.name, self.pid)
                return
            if time.monotonic() > deadline:
                raise StartupError(
                    f"{spec.name} was not ready within {spec.ready_timeout:.0f} s; "
                    f"its log is {self.log_path}",
                    self.log_tail(),
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the child's log (for error messages)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the child's process group, then SIGKILL whatever is left. Idempotent."""
        proc = self._proc
        if proc is not None:
            pgid = proc.pid  # start_new_session: the child leads its own group
            if proc.poll() is None:
                _signal_group(pgid, signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    log.warning("%s ignored SIGTERM for %.0f s; killing it", self.name, timeout)
                    _signal_group(pgid, signal.SIGKILL)
                    proc.wait(timeout=timeout)
            # Anything the child spawned into its group and left behind.
            if _group_alive(pgid):
                _signal_group(pgid, signal.SIGTERM)
                time.sleep(0.2)
                _signal_group(pgid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
        _unregister(self)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


_live: list[ManagedProcess] = []
_live_lock = threading.Lock()


def _register(proc: ManagedProcess) -> None:
    with _live_lock:
        _live.append(proc)


def _unregister(proc: ManagedProcess) -> None:
    with _live_lock:
        if proc in _live:
            _live.remove(proc)


def live_processes() -> list[ManagedProcess]:
    """Processes started by this interpreter and not yet stopped."""
    with _live_lock:
        return list(_live)


def stop_all() -> None:
    """Stop every process this interpreter started and has not stopped, newest first."""
    for proc in reversed(live_processes()):
        try:
            proc.stop()
        except Exception:  # noqa: BLE001 - keep stopping the others
            log.exception("could not stop %s", proc.name)


atexit.register(stop_all)
