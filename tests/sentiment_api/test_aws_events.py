"""Request bodies as API Gateway's REST proxy integration delivers them to Lambda: ``body``
a string, ``isBase64Encoded`` true or false, through the app's real handler entry point.
The same rules hold through ``chalice local`` (test_routes.py, the running stack)."""

from __future__ import annotations

import base64
import json
from types import ModuleType
from typing import Any

import pytest

from tests.sentiment_api.conftest import Runtime, live, make_vocabulary
from vocab_store.store import VocabularyStore


def proxy_event(
    body: str | None, content_type: str, *, base64_encoded: bool = False, path: str = "/"
) -> dict[str, Any]:
    """An API Gateway (REST API, proxy integration) event for ``POST path``."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": {"Content-Type": content_type},
        "multiValueHeaders": {"Content-Type": [content_type]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": path, "httpMethod": "POST", "stage": "api"},
        "body": body,
        "isBase64Encoded": base64_encoded,
    }


@pytest.fixture
def handler(app_module: ModuleType, store: VocabularyStore, runtime: Runtime) -> Any:
    live(store, make_vocabulary(3))
    from chalice.local import LambdaContext

    context = LambdaContext("api_handler", memory_size=512, max_runtime_ms=25_000)
    return lambda event: app_module.app(event, context)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


REVIEW = "Superb acting, a wonderful film."


@pytest.mark.parametrize(
    ("body", "content_type", "base64_encoded", "status"),
    [
        # UTF-8 text, as a string and base64-encoded: answered.
        (REVIEW, "text/plain; charset=utf-8", False, 200),
        (_b64(REVIEW.encode()), "text/plain; charset=utf-8", True, 200),
        (REVIEW, "text/plain; charset=us-ascii", False, 200),
        # Another declared charset: API Gateway has already made the string UTF-8, so the
        # app cannot honour it on AWS; it is refused everywhere, with one sentence.
        (REVIEW, "text/plain; charset=latin-1", False, 415),
        (_b64(REVIEW.encode("latin-1")), "text/plain; charset=latin-1", True, 415),
        (_b64(REVIEW.encode("utf-16")), "text/plain; charset=utf-16", True, 415),
        # Not UTF-8 bytes, no charset declared: 400.
        (_b64(b"caf\xe9 superb"), "text/plain", True, 400),
        # Marked base64, and not base64: our 400, not a 500.
        ("this is not base64!", "text/plain", True, 400),
        ("QUJ", "text/plain", True, 400),
        # JSON with a UTF-8 byte order mark: accepted, as a string or base64.
        ("\ufeff" + json.dumps({"review": REVIEW}), "application/json", False, 200),
        (
            _b64(b"\xef\xbb\xbf" + json.dumps({"review": REVIEW}).encode()),
            "application/json",
            True,
            200,
        ),
    ],
)
def test_the_body_rules_hold_for_aws_shaped_events(
    handler: Any,
    runtime: Runtime,
    body: str,
    content_type: str,
    base64_encoded: bool,
    status: int,
) -> None:
    if status == 200:
        runtime.answer("0.9")
    answer = handler(proxy_event(body, content_type, base64_encoded=base64_encoded))
    assert answer["statusCode"] == status, answer
    assert answer["headers"]["Access-Control-Allow-Origin"] == "*"
    if status != 200:
        message = json.loads(answer["body"])["message"]
        assert message[0].isupper() and message.endswith(".") and "\n" not in message
    if status == 415:
        assert "UTF-8" in json.loads(answer["body"])["message"]


@pytest.mark.parametrize(
    ("answer", "value"),
    [("0", 0.0), ("1", 1.0), ("0.25", 0.25), ("1.0", 1.0), (".5", 0.5), ("1.2e-05", 1.2e-05)],
)
def test_an_endpoint_answer_is_a_plain_decimal_in_0_1(answer: str, value: float) -> None:
    from chalicelib.endpoint import parse_probabilities

    assert parse_probabilities(answer.encode(), 1) == [value]


@pytest.mark.parametrize("answer", ["-0", "0.5_0", "+1", "1e1", " nan", "inf", "0x1p-2", "١"])
def test_anything_else_from_the_endpoint_is_a_bad_gateway(answer: str) -> None:
    from chalicelib.endpoint import parse_probabilities
    from chalicelib.errors import BadGateway

    with pytest.raises(BadGateway):
        parse_probabilities(answer.encode(), 1)
