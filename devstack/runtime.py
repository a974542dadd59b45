"""The local SageMaker runtime: ``InvokeEndpoint`` over HTTP, serving the real model.

Run: ``python -m devstack.runtime --port P --control-url URL --s3-url URL``.

It speaks the ``sagemaker-runtime`` rest-json wire protocol, so boto3's unchanged client
works against it through ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``:

- ``POST /endpoints/{EndpointName}/invocations`` with the body, ``Content-Type`` and
  optionally ``X-Amzn-SageMaker-Target-Variant``; answers the container's body with its
  ``Content-Type`` and ``x-Amzn-Invoked-Production-Variant``;
- unknown endpoint: 400 ``ValidationError`` "Endpoint NAME of account ACCOUNT not found.";
- the container answering 4xx/5xx: 424 ``ModelError`` with ``OriginalStatusCode`` and
  ``OriginalMessage`` (botocore raises ``client.exceptions.ModelError``);
- a body over 6 MB: 400 ``ValidationError``.

The endpoint's model is found through the control plane (``devstack.endpoints``) and
evaluated as the XGBoost container would (``devstack.xgb_container``). ``GET /ping``
answers 200 (readiness). ``/_devstack/faults`` is the separate fault-injection hook
(``devstack.faults``); ``/_devstack/invocations`` lists the shapes (content type, row count,
width of each row) of the last invocations, for tests of what the API sends
(``devstack.invocations``; ``DELETE`` clears).

It also runs the Batch Transform jobs the control plane holds (``devstack.transform``): a
background thread picks up each ``InProgress`` job, scores its input shards from the local
S3 with the container emulation and the job's model, writes the outputs, and reports the
outcome to the control plane (``devstack.control_plane``). ``--no-transform-jobs`` turns it
off.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from devstack import child, xgb_container
from devstack.endpoints import EndpointModels, EndpointNotFound, ModelLoadError, VariantNotFound
from devstack.faults import ERROR_STATUS, Faults, FaultSpecError, parse_fault
from devstack.invocations import Invocations
from devstack.invocations import describe as describe_invocation
from devstack.transform import TransformRunner

log = logging.getLogger("devstack.runtime")

DEFAULT_ACCOUNT = "123456789012"  # moto's account
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
_INVOKE_PATH = re.compile(r"/endpoints/([^/]+)/invocations")
_FAULTS_PATH = "/_devstack/faults"
_INVOCATIONS_PATH = "/_devstack/invocations"


class RuntimeServer(ThreadingHTTPServer):
    """A threaded HTTP server holding what every request needs."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        models: EndpointModels,
        account_id: str = DEFAULT_ACCOUNT,
        region: str = "us-east-1",
    ) -> None:
        super().__init__(address, RuntimeHandler)
        self.models = models
        self.account_id = account_id
        self.region = region
        self.faults = Faults()
        self.invocations = Invocations()
        self.transforms: TransformRunner | None = None


class RuntimeHandler(BaseHTTPRequestHandler):
    server: RuntimeServer
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    # Headers and body go out in two writes; with Nagle on, the second waits for the
    # client's delayed ACK (40 ms on Linux loopback) on every keep-alive request.
    disable_nagle_algorithm = True
    # The invocation being answered: (endpoint, body, content type), recorded by _send.
    _pending: tuple[str, bytes, str | None] | None = None

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        log.debug("%s " + format, self.address_string(), *args)

    # -- plumbing ---------------------------------------------------------------------
    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        if self._pending is not None:
            # Recorded before answering, so whoever got the answer can already see it.
            endpoint, sent, content_type = self._pending
            self._pending = None
            self.server.invocations.record(
                describe_invocation(endpoint, sent, content_type, status)
            )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error(self, status: int, code: str, fields: dict[str, Any]) -> None:
        headers = {
            "Content-Type": "application/json",
            # botocore's rest-json parser takes the error code from this header.
            "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.sagemaker/",
        }
        self._send(status, json.dumps(fields).encode(), headers)

    def _validation_error(self, message: str) -> None:
        self._send_error(400, "ValidationError", {"message": message})

    def _model_error(self, endpoint: str, variant: str, status: int, message: str) -> None:
        side = "client" if status < 500 else "server"
        log_group = f"/aws/sagemaker/Endpoints/{endpoint}"
        self._send_error(
            424,
            "ModelError",
            {
                "ErrorCode": f"{side.upper()}_ERROR_FROM_MODEL",
                "LogStreamArn": (
                    f"arn:aws:logs:{self.server.region}:{self.server.account_id}:"
                    f"log-group:{log_group}"
                ),
                "Message": (
                    f'Received {side} error ({status}) from {variant} with message "{message}". '
                    f"See the local runtime's log for more information."
                ),
                "OriginalMessage": message,
                "OriginalStatusCode": status,
            },
        )

    # -- routes -----------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        path = urlsplit(self.path).path
        if path == "/ping":
            self._send(200, b"", {"Content-Type": "text/plain"})
        elif path == _FAULTS_PATH:
            self._send(200, self.server.faults.as_json(), {"Content-Type": "application/json"})
        elif path == _INVOCATIONS_PATH:
            self._send(200, self.server.invocations.as_json(), {"Content-Type": "application/json"})
        else:
            self._send_error(404, "UnknownOperationException", {"message": "Not found"})

    def do_DELETE(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if path == _FAULTS_PATH:
            self._read_body()
            self.server.faults.clear()
            self._send(204, b"", {})
        elif path == _INVOCATIONS_PATH:
            self._read_body()
            self.server.invocations.clear()
            self._send(204, b"", {})
        else:
            self._send_error(404, "UnknownOperationException", {"message": "Not found"})

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        body = self._read_body()
        if path == _FAULTS_PATH:
            try:
                endpoint, fault = parse_fault(body)
            except FaultSpecError as exc:
                self._validation_error(f"bad fault: {exc}")
                return
            self.server.faults.set(endpoint, fault)
            self._send(204, b"", {})
            return
        match = _INVOKE_PATH.fullmatch(path)
        if match is None:
            self._send_error(404, "UnknownOperationException", {"message": "Not found"})
            return
        started = time.perf_counter()
        endpoint = unquote(match[1])
        self._pending = (endpoint, body, self.headers.get("Content-Type"))
        status = self._invoke(endpoint, body)
        log.info(
            "invoke endpoint=%s status=%s bytes=%d ms=%.1f",
            endpoint,
            status,
            len(body),
            (time.perf_counter() - started) * 1000,
        )

    def _invoke(self, endpoint: str, body: bytes) -> int:
        if len(body) > MAX_PAYLOAD_BYTES:
            self._validation_error(
                f"Request body of {len(body)} bytes exceeds the maximum of {MAX_PAYLOAD_BYTES}."
            )
            return 400
        fault = self.server.faults.for_endpoint(endpoint)
        if fault is not None and fault.latency:
            time.sleep(fault.latency)
        target = self.headers.get("X-Amzn-SageMaker-Target-Variant")
        try:
            serving = self.server.models.serving_variant(endpoint, target)
        except EndpointNotFound:
            self._validation_error(
                f"Endpoint {endpoint} of account {self.server.account_id} not found."
            )
            return 400
        except VariantNotFound:
            self._validation_error(
                f"Variant {target} not found for endpoint {endpoint} "
                f"of account {self.server.account_id}."
            )
            return 400
        except ModelLoadError as exc:
            log.error("endpoint %s: %s", endpoint, exc)
            self._model_error(endpoint, "primary", 500, f"Unable to load model: {exc}")
            return 424
        variant = serving.variant.name
        if fault is not None and fault.error:
            if fault.error == "ModelError":
                self._model_error(endpoint, variant, 500, "injected fault")
            else:
                self._send_error(
                    ERROR_STATUS[fault.error], fault.error, {"message": "injected fault"}
                )
            return ERROR_STATUS[fault.error]
        try:
            answer = xgb_container.invoke(
                serving.booster, body, self.headers.get("Content-Type"), serving.lock
            )
        except xgb_container.ContainerError as exc:
            self._model_error(endpoint, variant, exc.status, exc.message)
            return 424
        payload = answer.body if fault is None or fault.body is None else fault.body.encode()
        self._send(
            200,
            payload,
            {
                # What Flask sends for mimetype="text/csv".
                "Content-Type": f"{answer.content_type}; charset=utf-8",
                "x-Amzn-Invoked-Production-Variant": variant,
            },
        )
        return 200


def build_server(
    host: str,
    port: int,
    control_url: str,
    s3_url: str,
    region: str = "us-east-1",
    account_id: str = DEFAULT_ACCOUNT,
    resolve_ttl: float = 1.0,
) -> RuntimeServer:
    """A ready-to-serve runtime with boto3 clients for the control plane and S3."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )
    config = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=32)
    sagemaker = session.client("sagemaker", endpoint_url=control_url, config=config)
    s3 = session.client("s3", endpoint_url=s3_url, config=config)
    models = EndpointModels(sagemaker, s3, ttl=resolve_ttl)
    server = RuntimeServer((host, port), models, account_id=account_id, region=region)
    server.transforms = TransformRunner(sagemaker, s3, control_url)
    return server


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack.runtime", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-url", required=True, help="SageMaker control plane (moto)")
    parser.add_argument("--s3-url", required=True, help="S3 holding model.tar.gz (moto)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT)
    parser.add_argument(
        "--resolve-ttl",
        type=float,
        default=1.0,
        help="seconds an endpoint's resolution is trusted before DescribeEndpoint again",
    )
    parser.add_argument(
        "--no-transform-jobs",
        action="store_true",
        help="do not run the control plane's Batch Transform jobs",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    child.setup(args.log_level)
    server = build_server(
        args.host,
        args.port,
        args.control_url,
        args.s3_url,
        region=args.region,
        account_id=args.account_id,
        resolve_ttl=args.resolve_ttl,
    )
    log.info("SageMaker runtime on http://%s:%d", args.host, args.port)
    if server.transforms is not None and not args.no_transform_jobs:
        server.transforms.start()
    return child.serve(server)


if __name__ == "__main__":
    sys.exit(main())
