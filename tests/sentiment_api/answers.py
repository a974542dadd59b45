"""What every answer of the HTTP contract must be, and what reached the runtime: the checks
that ``test_contract.py`` applies to each case of ``contract.py`` whichever way it was sent,
and that the stack tests apply to any answer. Also the OpenAPI document, read once with its
references resolved, and the check that an answer is what it says."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from tests.conftest import REPO
from tests.e2e.conftest import Answer
from tests.sentiment_api.contract import FEEDBACK_ID, JSON, UUID7, Case

# One sentence for a person: a capital letter, no line break, one final full stop.
SENTENCE = re.compile(r"[A-Z][^\n]*\.")
# What an error body must never carry.
LEAKS = (
    "Traceback",
    'File "',
    "File ",
    "line ",
    "arn:",
    "127.0.0.1",
    "localhost",
    "secret",
    "boom",
    "botocore",
    "Error:",
    "Exception",
    "RuntimeError",
    "KeyError",
    "ValueError",
    "RecursionError",
    "LookupError",
    "UnicodeError",
    "UnicodeDecodeError",
    "ClientError",
    "ReadTimeoutError",
    "EndpointConnectionError",
    "StoreUnavailable",
    "InvalidVocabulary",
)
MEDIA_TYPES = ("text/plain", "application/json")
# The API's own routes may be named, to point a request to the right one.
ROUTES = ("/predict", "/batch")


# -- answers ---------------------------------------------------------------------------------


def check_sentence(message: Any) -> None:
    """One sentence for a person, naming no internals."""
    assert isinstance(message, str) and SENTENCE.fullmatch(message), message
    assert not any(leak in message for leak in LEAKS), message
    without_media_types = message
    for allowed in MEDIA_TYPES + ROUTES:
        without_media_types = without_media_types.replace(allowed, "")
    assert "/" not in without_media_types, message  # no path, URL or key


def check_cors(answer: Answer) -> None:
    assert answer.headers.get("access-control-allow-origin") == "*", answer.headers
    assert "access-control-allow-credentials" not in answer.headers
    assert "set-cookie" not in answer.headers


def check_answer(case: Case, answer: Answer) -> None:
    """Everything the contract says about ``case``'s answer."""
    assert answer.status == case.status, (case.id, answer.status, answer.body[:300])
    check_cors(answer)
    prediction_id = answer.headers.get("x-prediction-id", "")
    assert UUID7.fullmatch(prediction_id), answer.headers
    media = answer.headers.get("content-type", "")
    if case.method == "HEAD" and not answer.body:  # over HTTP a HEAD answer has no body
        assert media.startswith(JSON), media
        assert int(answer.headers.get("content-length", "0")) > 0, answer.headers
        assert answer.headers["allow"] == case.allow, answer.headers
        return
    check_body(answer)
    if case.answer == "error":
        assert media.startswith(JSON), media
        body = json.loads(answer.body)
        if case.message is not None:
            assert re.fullmatch(case.message, body["message"]), body["message"]
        if case.error is not None:
            assert body["error"] == case.error, body
        if case.allow is not None:
            assert answer.headers["allow"] == case.allow, answer.headers
    elif case.answer == "text":
        assert media.startswith("text/plain"), media
    elif case.answer == "json":
        assert media.startswith(JSON), media
        body = json.loads(answer.body)
        check_label(body)
        assert body["prediction_id"] == prediction_id, body
        assert isinstance(body["vocabulary_version"], int) and body["model"], body
    elif case.answer == "batch":
        results = json.loads(answer.body)["results"]
        assert [r["index"] for r in results] == list(range(len(results)))
        assert case.items is not None
        assert [("sentiment" in r) for r in results] == list(case.items), results
        for result in results:
            if "sentiment" in result:
                check_label(result)
    elif case.answer == "feedback":
        assert json.loads(answer.body) == {"prediction_id": FEEDBACK_ID, "stored": True}
    elif case.answer == "health":
        body = json.loads(answer.body)
        assert body["status"] == "ok" and body["endpoint"]["answers"] is True, body
        assert isinstance(body["vocabulary"]["version"], int), body


def check_label(verdict: dict[str, Any]) -> None:
    """A verdict's label agrees with its sentiment (``uncertain``: the probability is in the
    vocabulary's uncertain band, either side of 0.5), and its probability is one."""
    assert 0.0 <= verdict["probability"] <= 1.0, verdict
    assert verdict["sentiment"] == (1 if verdict["probability"] >= 0.5 else 0), verdict
    expected = {"positive": 1, "negative": 0}.get(verdict["label"])
    assert expected == verdict["sentiment"] or verdict["label"] == "uncertain", verdict


def check_body(answer: Answer) -> None:
    """What every answer's body must be, whatever was asked: no case needed."""
    if answer.status >= 400:
        body = json.loads(answer.body)
        assert set(body) == {"error", "message"}, body
        check_sentence(body["message"])
    elif answer.headers["content-type"].startswith("text/plain"):
        assert answer.body in (b"0", b"1"), answer.body
    else:
        body = json.loads(answer.body)
        if "sentiment" in body:
            assert body["sentiment"] in (0, 1), body
        for item in body.get("results", []):
            if "error" in item:
                check_sentence(item["message"])
                assert 400 <= item["status"] < 500, item
            else:
                assert item["sentiment"] in (0, 1), item


def check_sent(
    rows: int,
    sent: list[dict[str, Any]],
    served: tuple[int, str, str] | None,
    *,
    explained: bool = False,
) -> None:
    """What reached the runtime: ``rows`` rows of exactly the vocabulary's width (``served``:
    its feature count, content type and endpoint), in one invocation; nothing at all for 0.
    ``explained``: sentence rows may follow the reviews' rows in that one call. A libsvm
    row's width is its highest 1-based index: never past the last column."""
    if rows == 0:
        assert sent == [], sent
        return
    assert served is not None
    features, content_type, endpoint = served
    assert len(sent) == 1, sent
    (invocation,) = sent
    assert invocation["endpoint"] == endpoint
    assert invocation["content_type"] == content_type
    if explained:
        assert invocation["rows"] >= rows, invocation
    else:
        assert invocation["rows"] == rows, invocation
    if content_type == "text/csv":  # dense: every row has every column
        assert list(invocation["widths"]) == [features] * invocation["rows"]
    else:
        assert all(1 <= w <= features for w in invocation["widths"]), invocation
    assert invocation["status"] == 200


# -- the OpenAPI document --------------------------------------------------------------------

DOCUMENT = REPO / "docs" / "openapi.yaml"


@cache
def document() -> dict[str, Any]:
    """docs/openapi.yaml with every ``$ref`` replaced by what it names."""
    import yaml

    raw = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target: Any = raw
                for part in node["$ref"].removeprefix("#/").split("/"):
                    target = target[part]
                return resolve(target)
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return dict(resolve(raw))


def check_documented(method: str, path: str, answer: Answer) -> None:
    """``answer`` is what docs/openapi.yaml says ``method path`` answers with that status:
    the status is listed (a method the route does not serve: the 405), the content type and
    body match its schema, and every required header is there and matches."""
    from openapi_schema_validator import OAS30Validator

    operation = document()["paths"][path].get(method.lower())
    if operation is None:
        assert answer.status == 405, answer.status
        response = document()["components"]["responses"]["MethodNotAllowed"]
    else:
        assert str(answer.status) in operation["responses"], (method, path, answer.status)
        response = operation["responses"][str(answer.status)]
    for name, header in response.get("headers", {}).items():
        value = answer.headers.get(name.lower())
        if header.get("required"):
            assert value is not None, (name, answer.headers)
        if value is not None:
            OAS30Validator(header["schema"]).validate(value)
    media = answer.headers.get("content-type", "").split(";")[0].strip()
    content = response.get("content", {})
    assert media in content, (media, list(content))
    if method == "HEAD" and not answer.body:  # the headers alone, over HTTP
        return
    body: Any = answer.body.decode("utf-8")
    if media == JSON:
        body = json.loads(body)
    OAS30Validator(content[media]["schema"]).validate(body)
