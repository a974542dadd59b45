"""The local runtime's record of what it was sent (``/_devstack/invocations``): the shape of
each invocation (content type, rows, width of each row, status), never its text."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
import xgboost as xgb

from devstack.invocations import Invocations, describe, row_widths
from tests.devstack.conftest import N_FEATURES, Control

pytestmark = pytest.mark.stack


@pytest.mark.parametrize(
    ("body", "content_type", "widths"),
    [
        (b"0,1,0", "text/csv", (3,)),
        (b"0,1,0\n1,1\n", "text/csv; charset=utf-8", (3, 2)),
        (b"", "text/csv", ()),
        (b"  \n ", None, ()),
        (b"1:1 7:0.5\n3:1", "text/libsvm", (7, 3)),
        (b"1 2:1 5:1", "text/x-libsvm", (5,)),  # a leading label is ignored
        (b"1:x 2:1", "text/libsvm", (2,)),
        (b"a:1", "text/libsvm", (None,)),
        (b"\xff\xfe", "text/csv", (None,)),
        (b"{}", "application/json", (None,)),
    ],
)
def test_row_widths(body: bytes, content_type: str | None, widths: tuple[int | None, ...]) -> None:
    assert row_widths(body, content_type) == widths


def test_the_record_is_bounded_and_keeps_no_text() -> None:
    record = Invocations(kept=2)
    for i in range(3):
        record.record(describe(f"e{i}", b"secret,words,0", "text/csv", 200))
    assert [i.endpoint for i in record.snapshot()] == ["e1", "e2"]
    assert b"secret" not in record.as_json()
    assert json.loads(record.as_json())[0] == {
        "endpoint": "e1",
        "content_type": "text/csv",
        "bytes": 14,
        "rows": 1,
        "widths": [3],
        "status": 200,
    }
    record.clear()
    assert record.snapshot() == []


def _hook(runtime_url: str, method: str) -> Any:
    request = urllib.request.Request(f"{runtime_url}/_devstack/invocations", method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
    return json.loads(body) if body else None


def test_the_runtime_records_each_invocation(
    runtime: Any, runtime_url: str, control: Control, model_a: xgb.Booster
) -> None:
    endpoint = control.deploy(model_a)
    _hook(runtime_url, "DELETE")
    row = ",".join(["1"] * N_FEATURES)
    runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=f"{row}\n{row}")
    runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/libsvm", Body="2:1 4:1")
    with pytest.raises(runtime.exceptions.ValidationError):
        runtime.invoke_endpoint(EndpointName="no-such-endpoint", ContentType="text/csv", Body=row)
    mine = [i for i in _hook(runtime_url, "GET") if i["endpoint"] in (endpoint, "no-such-endpoint")]
    assert [(i["content_type"], i["rows"], i["widths"], i["status"]) for i in mine] == [
        ("text/csv", 2, [N_FEATURES, N_FEATURES], 200),
        ("text/libsvm", 1, [4], 200),
        ("text/csv", 1, [N_FEATURES], 400),
    ]
    assert _hook(runtime_url, "DELETE") is None
    assert _hook(runtime_url, "GET") == []
