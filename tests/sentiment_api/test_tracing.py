"""The tracer: built on Lambda on the first request (never at import), off elsewhere.

Each case runs in its own interpreter: the X-Ray SDK patches botocore for the whole process.
The segments the SDK would send to the X-Ray daemon are caught by an emitter of the test's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.sentiment_api.conftest import APP_DIR

PROBE = """
import json, sys
from types import SimpleNamespace
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/vendor"]
import app
imported_at_import = "aws_xray_sdk" in sys.modules
sent = []
if sys.argv[2] == "catch":
    from aws_xray_sdk.core import xray_recorder

    class Emitter:
        def send_entity(self, entity):
            sent.append({"name": entity.name, "annotations": entity.to_dict().get("annotations")})

        def set_daemon_address(self, address):
            pass

    xray_recorder.configure(emitter=Emitter())
event = {
    "resource": "/", "path": "/", "httpMethod": "POST", "headers": {"Content-Type": "text/plain"},
    "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": None, "stageVariables": None, "body": "   ", "isBase64Encoded": False,
    "requestContext": {"resourcePath": "/", "httpMethod": "POST", "stage": "api"},
}
context = SimpleNamespace(
    function_name="api_handler", memory_limit_in_mb=512, invoked_function_arn="arn",
    aws_request_id="r",
)
status = [app.app(event, context)["statusCode"] for _ in range(2)]
patched = []
if "aws_xray_sdk" in sys.modules:
    from aws_xray_sdk.core import patcher
    patched = sorted(patcher._PATCHED_MODULES)
print(json.dumps({"imported_at_import": imported_at_import, "status": status,
                  "sdk": "aws_xray_sdk" in sys.modules, "patched": patched, "sent": sent}))
"""
LAMBDA = {
    "LAMBDA_TASK_ROOT": "/var/task",
    "_X_AMZN_TRACE_ID": (
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    ),
}


def _probe(env: dict[str, str], catch: bool) -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SENTIMENT_", "LAMBDA_"))}
    base.pop("POWERTOOLS_TRACE_DISABLED", None)
    base.update(
        SENTIMENT_STAGE="dev",
        SENTIMENT_BUCKET="b",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR",
        **env,
    )
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(APP_DIR), "catch" if catch else "-"],
        env=base,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_on_lambda_the_handler_is_traced_from_the_first_request() -> None:
    found = _probe(LAMBDA, catch=True)
    assert not found["imported_at_import"]  # the cold start does not pay for the SDK
    assert found["status"] == [400, 400] and found["patched"] == ["botocore"]
    first, second = found["sent"]
    assert first["name"] == second["name"] == "## lambda_handler"
    assert first["annotations"]["ColdStart"] is True
    assert second["annotations"]["ColdStart"] is False


def test_off_lambda_nothing_loads_the_sdk() -> None:
    found = _probe({}, catch=False)
    assert found["status"] == [400, 400] and not found["sdk"]


def test_powertools_switch_turns_it_off_on_lambda() -> None:
    found = _probe({**LAMBDA, "POWERTOOLS_TRACE_DISABLED": "true"}, catch=False)
    assert found["status"] == [400, 400] and not found["sdk"]
