"""An API process of its own beside the shared stack, and a TCP proxy that can be cut.

``own_api`` runs ``chalice local --stage local`` on the real project with the local stage's
variables pointed where a test wants (e.g. S3 through a :class:`CuttableProxy`), so a test
can break what this API depends on without touching the shared stack's API.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from devstack.processes import ManagedProcess, ProcessSpec, free_port, http_ready
from tests.sentiment_api.conftest import chalice_project


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 to ``target`` that can be cut and restored.

    While cut, open connections are closed and every new one is accepted and closed at
    once (``dropped`` counts those), which a client sees as S3 hanging up. Not started yet,
    its port is simply closed: connections are refused.
    """

    def __init__(self, target: tuple[str, int], port: int | None = None) -> None:
        self.target = target
        self.port = port or free_port()
        self.dropped = 0
        self._cut = False
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._server: socket.socket | None = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CuttableProxy:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        server.settimeout(0.2)
        self._server = server
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            for conn in list(self._open):
                _close(conn)
            self._open.clear()

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def stop(self) -> None:
        self._stopping.set()
        self.cut()
        if self._server is not None:
            self._server.close()

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                if self._cut:
                    self.dropped += 1
                    _close(client)
                    continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            source.settimeout(None)
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@contextlib.contextmanager
def own_api(root: Path, env: dict[str, str], variables: dict[str, str]) -> Iterator[str]:
    """``chalice local --stage local`` on a free port with the stage's variables updated
    by ``variables`` (chalice lets the config override the environment, so endpoint URLs go
    there); yields its URL (with a trailing slash). Stopped on exit, with its group."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    chalice = [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())"]
    argv = chalice + ["local", "--stage", "local", "--port", str(port), "--no-autoreload"]
    spec = ProcessSpec(
        name="own-api",
        argv=argv,
        env=env,
        cwd=chalice_project(root / "project", variables),
        port=port,
        ready=http_ready(url),
        ready_timeout=60,
    )
    proc = ManagedProcess(spec, root / "api.log").start()
    try:
        yield url
    finally:
        proc.stop()
