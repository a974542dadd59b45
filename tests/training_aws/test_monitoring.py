"""deploy-api's dashboard, 5xx alarm and feedback retention, and teardown-api removing them,
against moto's server; and the metric names they watch are the ones the API emits."""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import REPO
from tests.training_aws.test_apigateway import apigateway, rest_api  # noqa: F401  (fixtures)
from training.aws.monitoring import (
    RETENTION_RULE,
    apply_monitoring,
    dashboard_body,
    plan_monitoring,
)
from training.cli import main

BUCKET = "sentiment-api-dev"
VARIABLES = {"POWERTOOLS_SERVICE_NAME": "sentiment-api-dev", "SENTIMENT_BUCKET": BUCKET}


@pytest.fixture
def aws(moto_env: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    return boto3.client("cloudwatch", region_name="us-east-1"), s3


def _emitted_metrics() -> dict[str, Any]:
    """One request's EMF object, from the API's own observability code."""
    sys.path.insert(0, str(REPO / "sentiment_api"))
    try:
        from chalicelib import observability
    finally:
        sys.path.remove(str(REPO / "sentiment_api"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        observability._metrics(
            {"status": 503, "latency_ms": 3.0, "endpoint": "m", "endpoint_ms": 2.0, "label": "x"}
        )
    return dict(json.loads(out.getvalue()))


def test_the_dashboard_and_alarm_watch_what_the_api_emits() -> None:
    plan = plan_monitoring("dev", "us-east-1", VARIABLES, 30)
    emf = _emitted_metrics()
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    emitted = {m["Name"] for m in directive["Metrics"]}
    assert directive["Namespace"] == plan.namespace
    expressions = [
        m[0]["expression"]
        for w in dashboard_body(plan)["widgets"]
        for m in w["properties"]["metrics"]
    ]
    searched = re.findall(r'MetricName="(\w+)"', " ".join(expressions))
    assert set(searched) == {"Latency", "Errors4xx", "Errors5xx", "Uncertain"}
    assert set(searched) - {"Uncertain"} <= emitted  # Uncertain: only when there is a label
    # The alarm's dimensions are one of the emitted dimension sets.
    assert ["service"] in directive["Dimensions"] and ["service", "model"] in directive[
        "Dimensions"
    ]
    assert "Errors5xx" in emitted


def test_apply_creates_dashboard_alarm_and_retention_keeping_other_rules(
    aws: tuple[Any, Any],
) -> None:
    cloudwatch, s3 = aws
    other = {
        "ID": "keep-me",
        "Filter": {"Prefix": "tmp/"},
        "Status": "Enabled",
        "Expiration": {"Days": 1},
    }
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [other]})
    plan = plan_monitoring("dev", "us-east-1", VARIABLES, 30)
    apply_monitoring(cloudwatch, s3, plan)
    apply_monitoring(cloudwatch, s3, plan_monitoring("dev", "us-east-1", VARIABLES, 45))
    body = json.loads(cloudwatch.get_dashboard(DashboardName="sentiment-api-dev")["DashboardBody"])
    assert len(body["widgets"]) == 4
    assert all('service=\\"sentiment-api-dev\\"' in json.dumps(w) for w in body["widgets"])
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["sentiment-api-dev-5xx-rate"])["MetricAlarms"]
    assert (alarm["MetricName"], alarm["Statistic"], alarm["Threshold"]) == (
        "Errors5xx",
        "Average",
        0.05,
    )
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "sentiment-api-dev"}]
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    assert set(rules) == {"keep-me", RETENTION_RULE}
    assert rules[RETENTION_RULE]["Expiration"]["Days"] == 45
    assert rules[RETENTION_RULE]["Filter"]["Prefix"] == "feedback/"


def test_deploy_api_then_teardown_api(
    aws: tuple[Any, Any],
    apigateway: Any,  # noqa: F811
    rest_api: str,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cloudwatch, s3 = aws
    project = tmp_path / "sentiment_api"
    (project / ".chalice" / "deployed").mkdir(parents=True)
    (project / "app.py").write_text("")
    config = REPO / "sentiment_api" / ".chalice" / "config.json"
    (project / ".chalice" / "config.json").write_text(config.read_text())
    deployed = {
        "resources": [
            {"resource_type": "rest_api", "rest_api_id": rest_api, "rest_api_url": "https://x/api/"}
        ]
    }
    (project / ".chalice" / "deployed" / "dev.json").write_text(json.dumps(deployed))
    common = ["--stage", "dev", "--skip-chalice", "--project-dir", str(project)]
    assert (
        main(["deploy-api", *common, "--feedback-days", "7", "--web-dir", str(tmp_path / "no")])
        == 0
    )
    out = capsys.readouterr().out
    assert "dashboard sentiment-api-dev" in out and "expires after 7 days" in out
    assert cloudwatch.describe_alarms(AlarmNames=["sentiment-api-dev-5xx-rate"])["MetricAlarms"]

    assert main(["teardown-api", *common, "--yes"]) == 0
    assert (
        "deleted dashboard sentiment-api-dev, alarm sentiment-api-dev-5xx-rate"
        in capsys.readouterr().out
    )
    assert cloudwatch.list_dashboards()["DashboardEntries"] == []
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    # The feedback's retention stays with the bucket.
    assert s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"][0]["ID"] == RETENTION_RULE
    assert main(["teardown-api", *common, "--yes"]) == 0
    assert "no dashboard or alarm to delete" in capsys.readouterr().out


def test_a_stage_without_a_service_name_is_a_usage_error() -> None:
    from training.errors import UsageError

    with pytest.raises(UsageError, match="POWERTOOLS_SERVICE_NAME"):
        plan_monitoring("dev", "us-east-1", {"SENTIMENT_BUCKET": BUCKET}, 30)
    with pytest.raises(UsageError, match="feedback-days"):
        plan_monitoring("dev", "us-east-1", VARIABLES, 0)
