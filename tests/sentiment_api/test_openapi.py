"""docs/openapi.yaml: a valid OpenAPI 3 document that says every route, method and error of
the app (tests/e2e/test_openapi_stack.py fuzzes the running local stack from it)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import yaml

from tests.conftest import REPO
from tests.sentiment_api import answers

DOCUMENT = answers.DOCUMENT


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
