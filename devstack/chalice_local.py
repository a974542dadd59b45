"""``chalice local``, tuned for the local stack: ``python -m devstack.chalice_local ARGS``
takes exactly the arguments of the ``chalice`` command.

Two changes for many clients: Nagle's algorithm off on its sockets (it writes a response's
headers and body in two sends, so on a kept-alive connection the body waited for the
client's delayed ACK, 40 ms on Linux loopback, on every request), and a listen backlog of
128 instead of socketserver's 5 (32 clients connecting at once got resets).

And two answers of its HTTP server made like the app's: a HEAD answer's body is dropped, as
HTTP requires (chalice local wrote it after the headers, where a kept-alive client reads it
as the start of the next answer), its headers kept; TRACE and CONNECT, which http.server
answers with a 501 HTML page and API Gateway refuses itself (the app never sees them), get
a JSON 405 with the CORS header the app's answers carry.

With ``--autoreload`` chalice restarts its worker as ``sys.argv``, which must therefore be
a command line that runs this module again, not the ``-c`` of an inline script. Its worker
writes no bytecode then: chalice's stat() watcher (watchdog is not installed) starts
walking the project while the worker imports ``app.py``, so the ``__pycache__/*.pyc`` that
import writes after an edit is a "file added" and the worker restarted a second time about
a second later, dropping the requests in between.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from chalice.local import ChaliceRequestHandler

# What a method no route can serve gets: the app's error shape, for any origin.
_NOT_SERVED = json.dumps(
    {"error": "MethodNotAllowed", "message": "This API serves GET, POST and OPTIONS only."}
).encode()


class _HeadersOnly:
    """A HEAD answer's stream: the first write (http.server sends the header block in one)
    goes through, the body after it does not."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._headers_sent = False

    def write(self, data: bytes) -> int:
        if self._headers_sent:
            return len(data)
        self._headers_sent = True
        return int(self._stream.write(data))

    def flush(self) -> None:
        self._stream.flush()


def _head(self: ChaliceRequestHandler) -> None:
    stream = self.wfile
    self.wfile = cast(Any, _HeadersOnly(stream))
    try:
        self._generic_handle()
    finally:
        self.wfile = stream


def _not_served(self: ChaliceRequestHandler) -> None:
    self.send_response(405)
    for name, value in (
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(_NOT_SERVED))),
        ("Allow", "GET, POST, OPTIONS"),
        ("Access-Control-Allow-Origin", "*"),
    ):
        self.send_header(name, value)
    self.end_headers()
    self.wfile.write(_NOT_SERVED)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``chalice ARGS`` with the tuned server; chalice's exit status."""
    import chalice.local
    from chalice import cli

    chalice.local.ChaliceRequestHandler.disable_nagle_algorithm = True
    chalice.local.ThreadedHTTPServer.request_queue_size = 128
    chalice.local.ChaliceRequestHandler.do_HEAD = _head
    chalice.local.ChaliceRequestHandler.do_TRACE = _not_served
    chalice.local.ChaliceRequestHandler.do_CONNECT = _not_served
    args = list(sys.argv[1:] if argv is None else argv)
    if "--autoreload" in args:
        sys.dont_write_bytecode = True  # a .pyc written after a reload restarts it again
    # The reloader's worker is started as sys.argv; click is given ARGS explicitly.
    sys.argv = [sys.executable, "-m", "devstack.chalice_local", *args]
    # Standalone: click prints usage errors and exits with chalice's status itself.
    cli.cli.main(args=args, obj={}, prog_name="chalice")
    return 0


if __name__ == "__main__":
    sys.exit(main())
