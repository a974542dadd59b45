"""A static file server for the page (``web/``), on its own port so the page calls the API
cross-origin and CORS is exercised for real.

Run: ``python -m devstack.static --port P --root web/ [--override /config.js=FILE ...]``.

Binds 127.0.0.1 only; answers with the right content types and ``Cache-Control:
no-store`` (a reload always shows the current page); no directory listings (``/`` serves
``index.html``); ``--override`` serves a generated file at a URL path without writing it
into the source tree (``sentiment up`` uses it for ``/config.js``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from devstack import child

log = logging.getLogger("devstack.static")

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}


class StaticHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}

    def __init__(self, *args: Any, overrides: dict[str, Path], **kwargs: Any) -> None:
        self.overrides = overrides
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        log.info("%s " + format, self.address_string(), *args)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def list_directory(self, path: str | os.PathLike[str]) -> BytesIO | None:
        self.send_error(HTTPStatus.NOT_FOUND, "Not found")
        return None

    def send_head(self) -> BytesIO | BinaryIO | None:
        override = self.overrides.get(urlsplit(self.path).path)
        if override is None:
            return super().send_head()
        try:
            body = override.read_bytes()
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return None
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(str(override)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return BytesIO(body)


class StaticServer(ThreadingHTTPServer):
    daemon_threads = True


def build_server(
    host: str, port: int, root: Path, overrides: dict[str, Path] | None = None
) -> StaticServer:
    handler = partial(StaticHandler, directory=str(root), overrides=dict(overrides or {}))
    return StaticServer((host, port), handler)


def _override(text: str) -> tuple[str, Path]:
    url_path, sep, file = text.partition("=")
    if not sep or not url_path.startswith("/") or not file:
        raise argparse.ArgumentTypeError(f"{text!r} is not /URL/PATH=FILE")
    return url_path, Path(file)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.static", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--override", type=_override, action="append", default=[])
    args = parser.parse_args(argv)
    child.setup()
    server = build_server(args.host, args.port, args.root.resolve(), dict(args.override))
    log.info("serving %s on http://%s:%d", args.root, args.host, args.port)
    return child.serve(server)


if __name__ == "__main__":
    sys.exit(main())
