"""Request bodies as API Gateway's REST proxy integration delivers them to Lambda: ``body``
a string, ``isBase64Encoded`` true or false, through the app's real handler entry point.
The same rules hold through ``chalice local`` (test_routes.py, the running stack)."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from tests.sentiment_api.conftest import Runtime, live, make_vocabulary
from tests.sentiment_api.contract import Case
from tests.sentiment_api.ways import proxy_event
from vocab_store.store import VocabularyStore


@pytest.fixture
def handler(app_module: ModuleType, store: VocabularyStore, runtime: Runtime) -> Any:
    from chalice.local import LambdaContext

    live(store, make_vocabulary(3))
    context = LambdaContext("api_handler", memory_size=512, max_runtime_ms=25_000)
    return lambda event: app_module.app(event, context)


REVIEW = "Superb acting, a wonderful film."


@pytest.mark.parametrize(
    ("body", "content_type", "marked_base64", "status"),
    [
        # What API Gateway delivers for a latin-1 request: already a UTF-8 string, the
        # header unchanged. Honouring the charset cannot be done here, so it is refused
        # (locally too: tests/sentiment_api/contract.py runs the other charset cases).
        (REVIEW, "text/plain; charset=latin-1", False, 415),
        ("caf\u00e9 superb", "text/plain; charset=iso-8859-1", False, 415),
        (REVIEW, "text/plain; charset=utf-8", False, 200),
        # Marked base64, and not base64: our 400, not a 500.
        ("this is not base64!", "text/plain", True, 400),
        ("QUJ", "text/plain", True, 400),
    ],
)
def test_what_api_gateway_delivers_gets_the_same_rule_as_locally(
    handler: Any,
    runtime: Runtime,
    body: str,
    content_type: str,
    marked_base64: bool,
    status: int,
) -> None:
    case = Case("aws", "POST", "/", content_type, body.encode(), status)
    event = proxy_event(case, base64_body=False)
    event["isBase64Encoded"] = marked_base64  # the body itself stays as given
    if status == 200:
        runtime.answer("0.9")
    answer = handler(event)
    assert answer["statusCode"] == status, answer
    assert answer["headers"]["Access-Control-Allow-Origin"] == "*"
    if status != 200:
        message = json.loads(answer["body"])["message"]
        assert message[0].isupper() and message.endswith(".") and "\n" not in message


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
