"""Security checks of issue 8 that need no running stack: the IAM policy files, no debug in
a deployed stage, error bodies that name no internals, CORS without credentials, and the
linter catching pickle and joblib. (Preflight over real HTTP and the stack listening on
127.0.0.1 only are in ``tests/e2e/test_security_stack.py``: they need the ``local_stack``
fixture of ``tests/e2e``.)

The functions need exactly these actions (read from ``app.py``, ``chalicelib`` and
``vocab_store.store``):

- ``api_handler``: ``sagemaker:InvokeEndpoint`` on the project's endpoints, ``s3:GetObject``
  on the pointer and the published vocabularies, ``s3:PutObject`` on the feedback prefix
  alone (``POST /feedback``), and the three ``logs`` actions;
- ``refresh_vocabulary``: ``s3:GetObject`` on the same objects, ``s3:PutObject`` on the
  pointer only, ``s3:ListBucket`` on the bucket limited to ``vocab/*`` (so a missing
  pointer is a 404, not a 403), ``sagemaker:DescribeEndpoint``,
  ``DescribeEndpointConfig``, ``DescribeModel`` and ``ListTags`` on the project's
  resources, and the three ``logs`` actions.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.conftest import REPO, free_port
from tests.sentiment_api.answers import LEAKS, MEDIA_TYPES
from vocab_store.layout import LIVE_PREFIX, OUTCOMES_PREFIX

APP_DIR = REPO / "sentiment_api"
CHALICE = APP_DIR / ".chalice"
CONFIG = json.loads((CHALICE / "config.json").read_text())
DEPLOYED = ("dev", "prod")
LOGS = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
ALLOWED = {
    "api": LOGS | {"sagemaker:InvokeEndpoint", "s3:GetObject", "s3:PutObject"},
    "refresh": LOGS
    | {
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListBucket",
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DescribeModel",
        "sagemaker:ListTags",
    },
}
FUNCTIONS = {"api": "api_handler", "refresh": "refresh_vocabulary"}
PROJECT_RESOURCE = re.compile(
    r"arn:aws:sagemaker:us-east-1:\*:(endpoint|endpoint-config|model)/sentiment-\*"
)


# -- IAM policies --------------------------------------------------------------------------------


def _variables(stage: str) -> dict[str, str]:
    return {
        **CONFIG.get("environment_variables", {}),
        **CONFIG["stages"][stage].get("environment_variables", {}),
    }


def _statements(path: Path) -> list[dict[str, Any]]:
    policy = json.loads(path.read_text())
    assert policy["Version"] == "2012-10-17"
    return list(policy["Statement"])


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _grants(path: Path) -> dict[str, list[str]]:
    """Action -> the resources it is granted on."""
    grants: dict[str, list[str]] = {}
    for statement in _statements(path):
        for action in _listed(statement["Action"]):
            grants.setdefault(action, []).extend(_listed(statement["Resource"]))
    return grants


POLICIES = [
    (stage, kind, CHALICE / f"policy-{kind}-{stage}.json")
    for stage in DEPLOYED
    for kind in FUNCTIONS
]


def test_every_deployed_function_has_its_own_policy_file_and_no_autogen() -> None:
    assert CONFIG["autogen_policy"] is False
    referenced = set()
    for stage in DEPLOYED:
        functions = CONFIG["stages"][stage]["lambda_functions"]
        for kind, name in FUNCTIONS.items():
            assert functions[name]["iam_policy_file"] == f"policy-{kind}-{stage}.json"
            referenced.add(functions[name]["iam_policy_file"])
    assert {p.name for p in CHALICE.glob("policy-*.json")} == referenced


@pytest.mark.parametrize(("stage", "kind", "path"), POLICIES, ids=[p[2].name for p in POLICIES])
def test_policy_grants_only_what_the_function_needs(stage: str, kind: str, path: Path) -> None:
    for statement in _statements(path):
        assert statement["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "NotPrincipal", "Principal"} & set(statement)
        for resource in _listed(statement["Resource"]):
            assert resource != "*" and not resource.endswith(":::*"), resource
        for action in _listed(statement["Action"]):
            assert "*" not in action, action
    grants = _grants(path)
    assert set(grants) == ALLOWED[kind]

    variables = _variables(stage)
    bucket = f"arn:aws:s3:::{variables['SENTIMENT_BUCKET']}"
    pointer = f"{bucket}/{variables['SENTIMENT_POINTER_KEY']}"
    incoming = f"{bucket}/{variables['SENTIMENT_VOCAB_PREFIX']}*"
    live, outcomes = f"{bucket}/{LIVE_PREFIX}*", f"{bucket}/{OUTCOMES_PREFIX}*"
    # The API reads only what was promoted; the handler reads uploads, never the live copies.
    assert set(grants["s3:GetObject"]) == (
        {pointer, live} if kind == "api" else {pointer, incoming}
    )
    for action in LOGS:
        assert grants[action] == ["arn:aws:logs:us-east-1:*:log-group:/aws/lambda/sentiment-api-*"]
    if kind == "api":
        assert grants["sagemaker:InvokeEndpoint"] == [
            "arn:aws:sagemaker:us-east-1:*:endpoint/sentiment-*"
        ]
        # Feedback only: never a vocabulary, never the pointer, nothing the trigger watches.
        feedback = variables["SENTIMENT_FEEDBACK_PREFIX"]
        assert grants["s3:PutObject"] == [f"{bucket}/{feedback}*"]
        assert not feedback.startswith(variables["SENTIMENT_VOCAB_PREFIX"])
        return
    # The pointer, the immutable live copies and the outcomes, never an upload.
    assert set(grants["s3:PutObject"]) == {pointer, live, outcomes}
    assert grants["s3:ListBucket"] == [bucket]
    (listing,) = [s for s in _statements(path) if "s3:ListBucket" in _listed(s["Action"])]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["vocab/*"]}}
    for action in ALLOWED["refresh"]:
        if action.startswith("sagemaker:"):
            assert grants[action] and all(PROJECT_RESOURCE.fullmatch(r) for r in grants[action])


def _aws_calls() -> set[str]:
    """IAM actions of the AWS operations the Lambda code calls (method names of the s3,
    sagemaker and sagemaker-runtime clients)."""
    operations: dict[str, str] = {}
    for service, prefix in (
        ("s3", "s3"),
        ("sagemaker", "sagemaker"),
        ("sagemaker-runtime", "sagemaker"),
    ):
        client = boto3.client(service, region_name="us-east-1")
        for method, operation in client.meta.method_to_api_mapping.items():
            operations[method] = f"{prefix}:{operation}"
    files = [APP_DIR / "app.py", *sorted((APP_DIR / "chalicelib").glob("*.py"))]
    files += sorted((REPO / "vocab_store").glob("*.py"))
    called = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in operations:
                    called.add(operations[node.func.attr])
    return called


def test_the_code_calls_what_the_policies_grant_and_nothing_more() -> None:
    called = _aws_calls()
    granted = set().union(*ALLOWED.values()) - LOGS
    # ListBucket is never called: it only turns a missing pointer's 403 into a 404.
    assert called == granted - {"s3:ListBucket"}


# -- debug ---------------------------------------------------------------------------------------


def test_no_debug_in_a_deployed_stage() -> None:
    assert not CONFIG.get("debug")  # the top level applies to every stage
    for stage in DEPLOYED:
        assert not CONFIG["stages"][stage].get("debug"), stage
        for function in CONFIG["stages"][stage].get("lambda_functions", {}).values():
            assert not function.get("debug")
    tree = ast.parse((APP_DIR / "app.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "debug":
            pytest.fail("app.py sets app.debug")
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Chalice":
            assert not [k for k in node.keywords if k.arg == "debug"]


# -- error bodies and CORS, through chalice's test client -----------------------------------------


def _check_body(body: bytes) -> None:
    text = body.decode("utf-8")
    for leak in LEAKS:
        assert leak not in text, (leak, text)
    without_media_types = text
    for media_type in MEDIA_TYPES:
        without_media_types = without_media_types.replace(media_type, "")
    assert "/" not in without_media_types, text  # no path, URL or key


def _check_cors(response: Any) -> None:
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


SETTINGS = {"SENTIMENT_STAGE": "test", "SENTIMENT_BUCKET": "sentiment-api-local"}


def _clear() -> None:
    from chalicelib import wiring

    wiring.reset()


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """``app.py`` as Lambda imports it, with fresh settings, clients and cache."""
    monkeypatch.syspath_prepend(str(APP_DIR))
    for name in list(os.environ):
        if name.startswith("SENTIMENT_"):
            monkeypatch.delenv(name)
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    module = importlib.import_module("app")
    _clear()
    yield module
    _clear()


@pytest.fixture
def client(app: ModuleType, tmp_path: Path) -> Any:
    from chalice.test import Client

    return Client(app.app, stage_name="test", project_dir=str(tmp_path))


def test_no_route_allows_credentials(app: ModuleType, client: Any) -> None:
    for path, methods in app.app.routes.items():
        for method, entry in methods.items():
            if entry.cors is None:
                # The app's own 405 for the methods a route does not serve: left out of the
                # preflight's Allow-Methods, and still answered with the CORS header.
                response = client.http.request(method, path)
                assert response.status_code == 405, (path, method)
                _check_cors(response)
                continue
            assert not getattr(entry.cors, "allow_credentials", None), (path, method)
            assert entry.cors.allow_origin == "*"


TEXT = {"Content-Type": "text/plain"}
JSON = {"Content-Type": "application/json"}
# The request errors and 405s (statuses, CORS, bodies that name no internals) are cases of
# the contract table (tests/sentiment_api/contract.py), run three ways.


def test_s3_unreachable_names_no_internals(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_port()}")  # closed
    response = client.http.post("/", headers=TEXT, body=b"a good film")
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    _check_cors(response)
    _check_body(response.body)
    health = client.http.get("/health")
    assert health.status_code == 503
    _check_cors(health)
    _check_body(health.body)


@pytest.fixture
def vocabulary(moto_env: str, app: ModuleType) -> Any:
    """A live vocabulary in moto's S3 (what the S3 handler would have promoted)."""
    from vocab_store import ModelRecord, TokenizerSettings, build_vocabulary
    from vocab_store.store import VocabularyStore

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=SETTINGS["SENTIMENT_BUCKET"])
    store = VocabularyStore(SETTINGS["SENTIMENT_BUCKET"], s3_client=s3)
    base = build_vocabulary([["good", "film"], ["bad", "film"]], TokenizerSettings())
    record = ModelRecord("f" * 64, base.feature_count, "sentiment-secret-endpoint")
    vocab = base.with_version(7).with_model(record)
    assert store.promote(store.publish(vocab), vocab)
    return vocab


class _Failing:
    """A sagemaker-runtime client that fails the way ``make`` says."""

    def __init__(self, make: Any) -> None:
        self.make = make

    def invoke_endpoint(self, **kwargs: Any) -> Any:
        raise self.make()


def _client_error(code: str) -> Exception:
    from botocore.exceptions import ClientError

    if code == "ValidationError-not-found":
        code = "ValidationError"
        message = "Endpoint sentiment-secret-boom of account 123456789012 not found."
    else:
        message = "Endpoint arn:aws:sagemaker:us-east-1:123456789012:endpoint/secret failed (boom)"
    return ClientError({"Error": {"Code": code, "Message": message}}, "InvokeEndpoint")


def _answer(body: bytes) -> Any:
    from botocore.response import StreamingBody

    class Answering:
        def invoke_endpoint(self, **kwargs: Any) -> Any:
            return {"Body": StreamingBody(io.BytesIO(body), len(body))}

    return Answering()


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ("ValidationError-not-found", 503),
        ("ValidationError", 502),
        ("ModelNotReadyException", 503),
        ("ModelError", 502),
        ("AccessDeniedException", 500),
        ("read-timeout", 504),
        ("unreachable", 503),
        ("garbage", 502),
        ("forced-internal-error", 500),
        ("forced-internal-error-in-batch", 500),
    ],
)
def test_endpoint_and_internal_errors_name_no_internals(
    client: Any,
    app: ModuleType,
    vocabulary: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fault: str,
    status: int,
) -> None:
    from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
    from chalicelib import service, wiring

    url = "http://127.0.0.1:9/endpoints/secret/invocations"
    if fault == "read-timeout":
        wiring.runtime.set(_Failing(lambda: ReadTimeoutError(endpoint_url=url)))
    elif fault == "unreachable":
        wiring.runtime.set(_Failing(lambda: EndpointConnectionError(endpoint_url=url)))
    elif fault == "garbage":
        wiring.runtime.set(_answer(b"Traceback (most recent call last): /opt/ml/boom"))
    elif fault.startswith("forced-internal-error"):

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom in /var/task/chalicelib/service.py arn:aws:iam::1:role/x")

        monkeypatch.setattr(
            service, "predict" if fault.endswith("error") else "predict_batch", broken
        )
    else:
        wiring.runtime.set(_Failing(lambda: _client_error(fault)))
    if fault.endswith("batch"):
        response = client.http.post("/batch", headers=JSON, body=b'{"reviews": ["a good film"]}')
    else:
        response = client.http.post("/predict", headers=JSON, body=b'{"review": "a good film"}')
    assert response.status_code == status
    _check_cors(response)
    _check_body(response.body)
    assert set(json.loads(response.body)) == {"error", "message"}
    if fault.startswith("forced"):  # the catch-all logged what happened, for us
        assert any(r.exc_info for r in caplog.records if r.levelname == "ERROR")


# -- the linter ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _probe(source: str) -> Iterator[Path]:
    """A Python file inside the repository (so the project's ruff config applies), under
    ``build/`` (which ``ruff check .`` and git skip, so nobody else's lint sees it)."""
    build = REPO / "build"
    made = not build.exists()
    folder = build / f"ruff-probe-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    path = folder / "probe.py"
    path.write_text(source)
    try:
        yield path
    finally:
        path.unlink()
        folder.rmdir()
        if made:
            with contextlib.suppress(OSError):
                build.rmdir()


@pytest.mark.parametrize(
    "source",
    [
        "import pickle\n",
        "from pickle import loads\n",
        "import _pickle\n",
        "import cPickle\n",
        "import shelve\n",
        "import dill\n",
        "import cloudpickle\n",
        "import joblib\n",
        "from joblib import load\n",
        "from sklearn.externals import joblib\n",
        "import pandas as pd\n\npd.read_pickle('model.pkl')\n",
        "import numpy as np\n\nnp.load('x.npy', allow_pickle=True)\n",
    ],
)
def test_the_linter_catches_pickle_and_joblib(source: str) -> None:
    with _probe(source) as path:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "ruff"), "check", "--no-cache", str(path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"\b(TID251|S301)\b", result.stdout), result.stdout


def test_make_test_runs_the_linter() -> None:
    makefile = (REPO / "Makefile").read_text()
    (test_target,) = re.findall(r"^test:(.*)$", makefile, flags=re.MULTILINE)
    assert "lint" in test_target.split()
    lint_recipe = re.search(r"^lint:.*\n\t(.*)$", makefile, flags=re.MULTILINE)
    assert lint_recipe is not None and "ruff check ." in lint_recipe.group(1)
