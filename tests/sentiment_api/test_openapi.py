"""docs/openapi.yaml: a valid OpenAPI 3 document that says every route, method and error of
the app, and that the running local stack keeps (Schemathesis fuzzes it from the document:
no 5xx, every answer as documented, CORS on every answer)."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, settings

from tests.conftest import REPO
from tests.sentiment_api import answers, contract

DOCUMENT = answers.DOCUMENT
# Each documented operation gets this many generated requests: enough to reach every content
# type and the edges of each schema, few enough to stay well under a minute in all.
EXAMPLES = 12


def _document() -> dict[str, Any]:
    return dict(yaml.safe_load(DOCUMENT.read_text(encoding="utf-8")))


def test_the_document_is_valid_openapi_3() -> None:
    from openapi_spec_validator import validate

    document = _document()
    assert document["openapi"].startswith("3.")
    validate(document)


def test_the_readme_links_the_document() -> None:
    assert "docs/openapi.yaml" in (REPO / "README.md").read_text(encoding="utf-8")


def test_every_route_and_method_the_app_serves_is_documented(app_module: ModuleType) -> None:
    """A route's methods that have CORS are the ones it serves (the others are its 405
    views); each is an operation of the document, with the preflight, and nothing else is."""
    served = {
        (path, method.lower())
        for path, methods in app_module.app.routes.items()
        for method, entry in methods.items()
        if entry.cors is not None
    }
    served |= {(path, "options") for path, _ in served}
    documented = {
        (path, method)
        for path, item in _document()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete", "options", "head")
    }
    assert documented == served


def test_every_error_code_is_documented(app_module: ModuleType) -> None:
    """Every error the app can answer with (the app imported, so every module's errors are
    known) is in the document's ErrorCode, and nothing else is."""
    from chalicelib import errors

    def codes(cls: type) -> set[str]:
        return {cls.__name__}.union(*(codes(sub) for sub in cls.__subclasses__()))

    documented = _document()["components"]["schemas"]["ErrorCode"]["enum"]
    assert set(documented) == codes(errors.ApiError) - {"ApiError"}


# -- the fuzz ------------------------------------------------------------------------------


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


@pytest.mark.stack
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
