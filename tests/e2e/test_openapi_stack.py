"""The running local stack keeps docs/openapi.yaml: Schemathesis fuzzes it from the
document (no 5xx, every answer as documented, CORS on every answer). The document itself is
checked in tests/sentiment_api/test_openapi.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.sentiment_api import answers, contract

DOCUMENT = answers.DOCUMENT
# Each documented operation gets this many generated requests: enough to reach every content
# type and the edges of each schema, few enough to stay well under a minute in all.
EXAMPLES = 12

pytestmark = pytest.mark.stack


def cors_on_every_answer(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis check: CORS for any origin, never with credentials, on every answer."""
    headers = {name.lower(): values for name, values in response.headers.items()}
    origin = headers.get("access-control-allow-origin")
    assert origin in (["*"], "*"), f"Access-Control-Allow-Origin is {origin!r}"
    assert "access-control-allow-credentials" not in headers
    body = json.loads(response.content) if response.status_code >= 400 else {}
    if "error" in body:  # every error: one sentence naming no internals (/health's 503 is
        answers.check_sentence(body["message"])  # its report, checked by the schema)
    return None


def _schema() -> Any:
    """The document as Schemathesis reads it. Of the methods a route does not document, its
    coverage phase sends only those a Lambda can be reached with: TRACE (or QUERY) never
    gets to the app (chalice local answers 501, API Gateway 403)."""
    import schemathesis

    schema = schemathesis.openapi.from_path(DOCUMENT)
    schema.config.phases.coverage.unexpected_methods = {"get", "post", "put", "patch", "delete"}
    return schema


@_schema().parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_stack_keeps_the_document(case: Any, local_stack: Any) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
        unsupported_method,
    )

    case.call_and_validate(
        base_url=local_stack.api_url.rstrip("/"),
        headers={"Origin": contract.ORIGIN},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
            unsupported_method,
        ],
        additional_checks=[cors_on_every_answer],
        timeout=30,
    )
