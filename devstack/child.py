"""What every stand-in does as a child process: log to stderr, exit cleanly on SIGTERM
(so ``finally`` blocks close sockets), serve until stopped."""

from __future__ import annotations

import logging
import signal
from http.server import HTTPServer
from types import FrameType


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def setup(level: str = "INFO") -> None:
    """Logging to stderr (the parent sends it to the log file) and SIGTERM -> exit 0."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    signal.signal(signal.SIGTERM, _exit)


def serve(server: HTTPServer) -> int:
    """Serve until SIGTERM or Ctrl-C; always close the listening socket."""
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
