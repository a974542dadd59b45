"""The local SageMaker runtime through boto3's unchanged ``sagemaker-runtime`` client:
real models in moto's S3, registered in moto's control plane, served over HTTP."""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from tests.devstack.conftest import N_FEATURES, Control

pytestmark = pytest.mark.stack

ROWS = np.array([[0, 1, 2, 0, 1], [2, 0, 2, 1, 0], [1, 1, 0, 2, 2]], dtype=float)


def csv_body(rows: np.ndarray) -> str:
    return "\n".join(",".join(f"{v:g}" for v in row) for row in rows)


def libsvm_body(rows: np.ndarray) -> str:
    """1-based, every value written (so that 0 is a value, as in the dense CSV)."""
    return "\n".join(" ".join(f"{i + 1}:{v:g}" for i, v in enumerate(row)) for row in rows)


def expected(booster: xgb.Booster, rows: np.ndarray) -> list[float]:
    return [float(p) for p in booster.predict(xgb.DMatrix(rows))]


def invoke(runtime: Any, endpoint: str, body: str, content_type: str = "text/csv") -> Any:
    return runtime.invoke_endpoint(EndpointName=endpoint, ContentType=content_type, Body=body)


def answers(response: Any) -> list[float]:
    return [float(line) for line in response["Body"].read().decode().split("\n")]


def test_csv_single_row(runtime: Any, control: Control, model_a: xgb.Booster) -> None:
    endpoint = control.deploy(model_a)
    response = invoke(runtime, endpoint, csv_body(ROWS[:1]))
    assert response["ContentType"].startswith("text/csv")
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert answers(response) == pytest.approx(expected(model_a, ROWS[:1]))


def test_csv_multi_row_one_prediction_per_line(
    runtime: Any, control: Control, model_a: xgb.Booster
) -> None:
    endpoint = control.deploy(model_a)
    response = invoke(runtime, endpoint, csv_body(ROWS) + "\n")  # payload is stripped
    assert answers(response) == pytest.approx(expected(model_a, ROWS))


@pytest.mark.parametrize("content_type", ["text/libsvm", "text/x-libsvm"])
def test_libsvm_one_based_equals_csv(
    runtime: Any, control: Control, model_a: xgb.Booster, content_type: str
) -> None:
    endpoint = control.deploy(model_a)
    via_csv = answers(invoke(runtime, endpoint, csv_body(ROWS)))
    via_libsvm = answers(invoke(runtime, endpoint, libsvm_body(ROWS), content_type))
    assert via_libsvm == pytest.approx(via_csv)


def test_libsvm_absent_column_is_missing_not_zero(
    runtime: Any, control: Control, model_a: xgb.Booster
) -> None:
    endpoint = control.deploy(model_a)
    row = np.array([[np.nan, 2, np.nan, 1, np.nan]])
    got = answers(invoke(runtime, endpoint, "2:2 4:1", "text/libsvm"))
    assert got == pytest.approx(expected(model_a, row))


def test_unknown_endpoint_is_validation_error(runtime: Any, control: Control) -> None:
    with pytest.raises(runtime.exceptions.ValidationError) as info:
        invoke(runtime, "no-such-endpoint", "1,2,3")
    error = info.value.response["Error"]
    assert error["Message"] == "Endpoint no-such-endpoint of account 123456789012 not found."
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    ("body", "content_type", "status", "fragment"),
    [
        ("0,1,0,1,0,1", "text/csv", 400, "Unable to evaluate payload provided"),
        ("1:1 7:1", "text/libsvm", 400, "Unable to evaluate payload provided"),
        ("good,bad,ugly,x,y", "text/csv", 415, "Loading csv data failed"),
        ("1,2\n1,2,3", "text/csv", 415, "Loading csv data failed"),
        ("1:x 2:1", "text/libsvm", 415, "Loading libsvm data failed"),
        ('{"review": "x"}', "application/json", 415, "application/json not supported"),
    ],
)
def test_model_errors_carry_the_containers_status(
    runtime: Any,
    control: Control,
    model_a: xgb.Booster,
    body: str,
    content_type: str,
    status: int,
    fragment: str,
) -> None:
    endpoint = control.deploy(model_a)
    with pytest.raises(runtime.exceptions.ModelError) as info:
        invoke(runtime, endpoint, body, content_type)
    response = info.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == status
    assert fragment in response["OriginalMessage"]
    assert "Stack trace" not in response["OriginalMessage"]


def test_fewer_columns_are_accepted_like_the_container(
    runtime: Any, control: Control, model_a: xgb.Booster
) -> None:
    endpoint = control.deploy(model_a)
    assert len(answers(invoke(runtime, endpoint, "1,0,2,1"))) == 1


def test_concurrent_requests_all_answer_correctly(
    runtime: Any, control: Control, model_a: xgb.Booster
) -> None:
    endpoint = control.deploy(model_a)
    rng = np.random.default_rng(7)
    batches = [rng.integers(0, 3, size=(1 + i % 3, N_FEATURES)).astype(float) for i in range(48)]

    def call(rows: np.ndarray) -> list[float]:
        return answers(invoke(runtime, endpoint, csv_body(rows)))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, batches))
    for rows, got in zip(batches, results, strict=True):
        assert got == pytest.approx(expected(model_a, rows))


def test_reloads_when_the_endpoint_points_at_a_new_model(
    runtime: Any, control: Control, model_a: xgb.Booster, model_b: xgb.Booster
) -> None:
    # moto has no UpdateEndpoint: the endpoint is deleted and created again under the same
    # name with a new endpoint config, which is what the runtime must notice.
    endpoint = control.deploy(model_a)
    assert answers(invoke(runtime, endpoint, csv_body(ROWS))) == pytest.approx(
        expected(model_a, ROWS)
    )
    assert expected(model_a, ROWS) != pytest.approx(expected(model_b, ROWS))
    control.sagemaker.delete_endpoint(EndpointName=endpoint)
    with pytest.raises(runtime.exceptions.ValidationError):
        invoke(runtime, endpoint, csv_body(ROWS))
    control.deploy(model_b, endpoint=endpoint)
    assert answers(invoke(runtime, endpoint, csv_body(ROWS))) == pytest.approx(
        expected(model_b, ROWS)
    )


def test_target_variant(runtime: Any, control: Control, model_a: xgb.Booster) -> None:
    endpoint = control.deploy(model_a)
    response = runtime.invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Body="1,1,1,1,1", TargetVariant="AllTraffic"
    )
    assert response["InvokedProductionVariant"] == "AllTraffic"
    with pytest.raises(runtime.exceptions.ValidationError):
        runtime.invoke_endpoint(
            EndpointName=endpoint, ContentType="text/csv", Body="1,1,1,1,1", TargetVariant="Nope"
        )


def _faults(runtime_url: str, method: str, spec: dict[str, Any] | None = None) -> None:
    data = None if spec is None else json.dumps(spec).encode()
    request = urllib.request.Request(f"{runtime_url}/_devstack/faults", data=data, method=method)
    urllib.request.urlopen(request, timeout=5).close()


def test_fault_hook_garbage_and_errors(
    runtime: Any, runtime_url: str, control: Control, model_a: xgb.Booster
) -> None:
    endpoint = control.deploy(model_a)
    try:
        _faults(runtime_url, "POST", {"endpoint": endpoint, "body": "not a probability"})
        assert invoke(runtime, endpoint, "1,1,1,1,1")["Body"].read() == b"not a probability"
        _faults(runtime_url, "POST", {"endpoint": endpoint, "error": "ModelNotReadyException"})
        with pytest.raises(runtime.exceptions.ModelNotReadyException):
            invoke(runtime, endpoint, "1,1,1,1,1")
    finally:
        _faults(runtime_url, "DELETE")
    assert len(answers(invoke(runtime, endpoint, "1,1,1,1,1"))) == 1


def test_serves_the_model_training_writes(runtime: Any, control: Control, small_run: Any) -> None:
    """The real training artifact (issue 4) loads and answers at the vocabulary's width."""
    record = json.loads((small_run / "vocabulary.json").read_text())
    width = _feature_count(record)
    config = control.register("sentiment-small-run", (small_run / "model.tar.gz").read_bytes())
    control.sagemaker.create_endpoint(EndpointName="sentiment-small-run", EndpointConfigName=config)
    row = ",".join(["0"] * width)
    (probability,) = answers(invoke(runtime, "sentiment-small-run", row))
    assert 0.0 <= probability <= 1.0
    with pytest.raises(runtime.exceptions.ModelError) as info:
        invoke(runtime, "sentiment-small-run", row + ",0")
    assert info.value.response["OriginalStatusCode"] == 400


def _feature_count(document: dict[str, Any]) -> int:
    for key in ("feature_count", "model"):
        value = document.get(key)
        if isinstance(value, int):
            return value
        if isinstance(value, dict) and isinstance(value.get("feature_count"), int):
            return int(value["feature_count"])
    raise AssertionError(f"no feature_count in vocabulary.json keys {sorted(document)}")
