"""The three ways a contract case reaches the app, each answering an :class:`Answer`
(status, lower-cased headers, body bytes) and telling what reached the SageMaker runtime.

- :class:`ChaliceClientWay`: chalice's test client, in this process;
- :class:`ProxyEventWay`: an API Gateway REST proxy event (payload 1.0, as AWS sends it)
  through the Lambda handler, the body a string or base64 (``isBase64Encoded``);
- :class:`StackWay`: real HTTP to ``chalice local`` of the running local stack.

In this process the runtime is :class:`RecordingRuntime`, a sagemaker-runtime client that
answers every row and records each call's shape with ``devstack.invocations.describe``, the
very record the local runtime keeps for the stack way.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import time
import urllib.parse
import uuid
from dataclasses import asdict
from typing import Any, Protocol

from botocore.response import StreamingBody
from chalice.local import LambdaContext

from devstack.invocations import describe
from tests.e2e.conftest import Answer
from tests.sentiment_api.contract import Case


class Way(Protocol):
    def send(self, case: Case) -> Answer: ...

    def sent(self) -> list[dict[str, Any]]: ...


class RecordingRuntime:
    """A sagemaker-runtime client answering ``probability`` for every row it is sent."""

    def __init__(self, probability: float = 0.7) -> None:
        self.probability = probability
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        body = kwargs["Body"]
        shape = describe(kwargs["EndpointName"], body, kwargs.get("ContentType"), 200)
        self.calls.append(asdict(shape))
        answer = "\n".join([str(self.probability)] * shape.rows).encode()
        return {"Body": StreamingBody(io.BytesIO(answer), len(answer)), "ContentType": "text/csv"}


def _lower(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in dict(headers).items()}


class ChaliceClientWay:
    """chalice's test client (it builds chalice local's event, in this process)."""

    def __init__(self, client: Any, runtime: RecordingRuntime) -> None:
        self.client = client
        self.runtime = runtime

    def send(self, case: Case) -> Answer:
        self.runtime.calls.clear()
        response = self.client.http.request(
            case.method, case.path, headers=case.headers, body=case.body or b""
        )
        return Answer(response.status_code, _lower(response.headers), response.body)

    def sent(self) -> list[dict[str, Any]]:
        return list(self.runtime.calls)


def proxy_event(case: Case, *, base64_body: bool) -> dict[str, Any]:
    """The event API Gateway's Lambda proxy integration (REST API, payload 1.0) sends for
    ``case``: headers as the client spelled them, the body a string (what API Gateway sends
    for a media type that is not binary) or base64 with ``isBase64Encoded``."""
    body: str | None
    if case.body is None:
        body = None
    elif base64_body:
        body = base64.b64encode(case.body).decode("ascii")
    else:
        body = case.body.decode("utf-8")
    headers = case.headers
    return {
        "resource": case.path,
        "path": case.path,
        "httpMethod": case.method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": case.path,
            "httpMethod": case.method,
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "path": f"/api{case.path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "api",
            "domainPrefix": "abcdef1234",
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "contract-test"},
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "apiId": "abcdef1234",
        },
        "body": body,
        "isBase64Encoded": base64_body and body is not None,
    }


def text_body_allowed(case: Case) -> bool:
    """Whether API Gateway could hand ``case``'s body over as a string unchanged: only
    UTF-8 bodies (others arrive base64 or not at all)."""
    if case.body is None:
        return True
    try:
        case.body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class ProxyEventWay:
    """The Lambda handler (the chalice app object) called with API Gateway's event."""

    def __init__(self, app: Any, runtime: RecordingRuntime, *, base64_body: bool) -> None:
        self.app = app
        self.runtime = runtime
        self.base64_body = base64_body

    def send(self, case: Case) -> Answer:
        self.runtime.calls.clear()
        event = proxy_event(case, base64_body=self.base64_body)
        result = self.app(event, LambdaContext("api_handler", memory_size=512))
        headers = _lower(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name.lower()] = ", ".join(values)
        raw = result.get("body") or ""
        if result.get("isBase64Encoded"):
            body = base64.b64decode(raw)
        else:
            body = raw.encode("utf-8") if isinstance(raw, str) else raw
        return Answer(int(result["statusCode"]), headers, body)

    def sent(self) -> list[dict[str, Any]]:
        return list(self.runtime.calls)


class StackWay:
    """Real HTTP to the running stack's API; the runtime's own record of what it got."""

    def __init__(self, api_url: str, runtime_url: str) -> None:
        self.api = urllib.parse.urlsplit(api_url)
        self.runtime_url = runtime_url

    def _hook(self, method: str) -> Any:
        parts = urllib.parse.urlsplit(self.runtime_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            connection.request(method, "/_devstack/invocations")
            body = connection.getresponse().read()
        finally:
            connection.close()
        return json.loads(body) if body else None

    def send(self, case: Case) -> Answer:
        self._hook("DELETE")
        path = self.api.path.rstrip("/") + case.path
        connection = http.client.HTTPConnection(self.api.hostname, self.api.port, timeout=60)
        try:
            # putrequest, not request: http.client would add a Content-Type of its own.
            connection.putrequest(case.method, path, skip_accept_encoding=True)
            for name, value in case.headers.items():
                connection.putheader(name, value)
            body = case.body or b""
            if case.body is not None or case.method in ("POST", "PUT", "PATCH"):
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body if case.body is not None else None)
            response = connection.getresponse()
            return Answer(response.status, _lower(response.getheaders()), response.read())
        finally:
            connection.close()

    def sent(self) -> list[dict[str, Any]]:
        return list(self._hook("GET"))
