"""``chalice local``, tuned for the local stack: ``python -m devstack.chalice_local ARGS``
takes exactly the arguments of the ``chalice`` command.

Two changes for many clients: Nagle's algorithm off on its sockets (it writes a response's
headers and body in two sends, so on a kept-alive connection the body waited for the
client's delayed ACK, 40 ms on Linux loopback, on every request), and a listen backlog of
128 instead of socketserver's 5 (32 clients connecting at once got resets).

With ``--autoreload`` chalice restarts its worker as ``sys.argv``, which must therefore be
a command line that runs this module again, not the ``-c`` of an inline script.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``chalice ARGS`` with the tuned server; chalice's exit status."""
    import chalice.local
    from chalice import cli

    chalice.local.ChaliceRequestHandler.disable_nagle_algorithm = True
    chalice.local.ThreadedHTTPServer.request_queue_size = 128
    args = list(sys.argv[1:] if argv is None else argv)
    # The reloader's worker is started as sys.argv; click is given ARGS explicitly.
    sys.argv = [sys.executable, "-m", "devstack.chalice_local", *args]
    # Standalone: click prints usage errors and exits with chalice's status itself.
    cli.cli.main(args=args, obj={}, prog_name="chalice")
    return 0


if __name__ == "__main__":
    sys.exit(main())
