"""Where to look on AWS: a CloudWatch dashboard, a 5xx alarm, and how long feedback is kept.

The API writes its metrics in CloudWatch's embedded metric format (namespace
``SentimentApi``; see ``sentiment_api/chalicelib/observability.py``): per request
``Latency`` (its SampleCount: the requests), ``EndpointLatency``, ``Errors4xx`` and
``Errors5xx`` (0 or 1) and one ``Uncertain`` value (0 or 1) per prediction, with the
dimensions ``service, model`` and ``service`` alone. So:

- the dashboard shows, per model, requests, p50/p99 latency, 4xx/5xx and the "not sure"
  rate (the Average of ``Uncertain``), with ``SEARCH`` expressions, so a new model appears
  without redeploying the dashboard;
- the alarm watches the Average of ``Errors5xx`` over the service (the share of requests
  answered 5xx) and fires above 5 % for two 5-minute periods;
- a lifecycle rule expires ``feedback/`` objects after a number of days (the feedback text
  is a stranger's words: it is kept only as long as it is useful), merged into the bucket's
  other rules.

:func:`plan_monitoring` works out what to create (a plain value, printed by the command);
:func:`apply_monitoring` creates it; :func:`remove_monitoring` is the API teardown's part.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from training.aws.clients import AWS_ERRORS, error_code, translate
from training.errors import UsageError

NAMESPACE = "SentimentApi"
RETENTION_RULE = "sentiment-api-feedback-retention"
DEFAULT_RETENTION_DAYS = 90
ALARM_THRESHOLD = 0.05  # the share of requests answered 5xx
PERIOD = 300


def dashboard_name(stage: str) -> str:
    return f"sentiment-api-{stage}"


def alarm_name(stage: str) -> str:
    return f"sentiment-api-{stage}-5xx-rate"


@dataclass(frozen=True)
class MonitoringPlan:
    """What ``sentiment deploy-api`` creates for one stage."""

    stage: str
    region: str
    service: str
    namespace: str
    bucket: str
    feedback_prefix: str
    retention_days: int

    @property
    def dashboard(self) -> str:
        return dashboard_name(self.stage)

    @property
    def alarm(self) -> str:
        return alarm_name(self.stage)

    def describe(self) -> list[str]:
        """One line per thing created, for the terminal."""
        return [
            f"dashboard {self.dashboard}: requests, p50/p99 latency, 4xx/5xx, not-sure rate "
            f"per model ({self.namespace}, service {self.service})",
            f"alarm {self.alarm}: over {ALARM_THRESHOLD:.0%} of requests answered 5xx for "
            f"2 periods of {PERIOD // 60} minutes",
            f"s3://{self.bucket}/{self.feedback_prefix}: feedback expires after "
            f"{self.retention_days} days (lifecycle rule {RETENTION_RULE})",
        ]


def plan_monitoring(
    stage: str, region: str, variables: dict[str, str], retention_days: int
) -> MonitoringPlan:
    """The plan for ``stage`` from its Chalice environment ``variables`` (the service name
    and bucket the deployed functions use)."""
    if retention_days < 1:
        raise UsageError("--feedback-days must be at least 1")
    try:
        service, bucket = variables["POWERTOOLS_SERVICE_NAME"], variables["SENTIMENT_BUCKET"]
    except KeyError as exc:
        raise UsageError(
            f"stage {stage} of .chalice/config.json sets no {exc.args[0]}; the dashboard "
            "and alarm need it"
        ) from exc
    return MonitoringPlan(
        stage=stage,
        region=region,
        service=service,
        namespace=variables.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE,
        bucket=bucket,
        feedback_prefix=variables.get("SENTIMENT_FEEDBACK_PREFIX") or "feedback/",
        retention_days=retention_days,
    )


def _search(plan: MonitoringPlan, metric: str, stat: str, label: str, ident: str) -> dict:
    query = (
        f'SEARCH(\'{{{plan.namespace},model,service}} service="{plan.service}" '
        f"MetricName=\"{metric}\"', '{stat}', {PERIOD})"
    )
    return {"expression": query, "label": label, "id": ident}


def _widget(plan: MonitoringPlan, title: str, metrics: list[list[Any]], x: int, y: int) -> dict:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": plan.region,
            "view": "timeSeries",
            "stat": "Sum",
            "period": PERIOD,
            "metrics": metrics,
        },
    }


def dashboard_body(plan: MonitoringPlan) -> dict[str, Any]:
    """The dashboard's JSON body: four widgets, each per model."""
    return {
        "widgets": [
            _widget(plan, "Requests", [[_search(plan, "Latency", "SampleCount", "", "r")]], 0, 0),
            _widget(
                plan,
                "Latency (ms), p50 and p99",
                [
                    [_search(plan, "Latency", "p50", "p50", "p50")],
                    [_search(plan, "Latency", "p99", "p99", "p99")],
                ],
                12,
                0,
            ),
            _widget(
                plan,
                "Errors: 4xx and 5xx",
                [
                    [_search(plan, "Errors4xx", "Sum", "4xx", "e4")],
                    [_search(plan, "Errors5xx", "Sum", "5xx", "e5")],
                ],
                0,
                6,
            ),
            _widget(
                plan,
                "Not sure (share of predictions)",
                [[_search(plan, "Uncertain", "Average", "", "u")]],
                12,
                6,
            ),
        ]
    }


def alarm_parameters(plan: MonitoringPlan) -> dict[str, Any]:
    """``put_metric_alarm``'s parameters: the service-wide share of 5xx answers."""
    return {
        "AlarmName": plan.alarm,
        "AlarmDescription": (
            f"More than {ALARM_THRESHOLD:.0%} of {plan.service}'s requests answered 5xx "
            f"in two {PERIOD // 60}-minute periods (sentiment deploy-api)"
        ),
        "Namespace": plan.namespace,
        "MetricName": "Errors5xx",
        "Dimensions": [{"Name": "service", "Value": plan.service}],
        "Statistic": "Average",
        "Period": PERIOD,
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "Threshold": ALARM_THRESHOLD,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    }


def retention_rules(existing: list[dict[str, Any]], plan: MonitoringPlan) -> list[dict[str, Any]]:
    """The bucket's lifecycle rules with ours put in (replacing an older version of it)."""
    ours = {
        "ID": RETENTION_RULE,
        "Filter": {"Prefix": plan.feedback_prefix},
        "Status": "Enabled",
        "Expiration": {"Days": plan.retention_days},
    }
    return [r for r in existing if r.get("ID") != RETENTION_RULE] + [ours]


def apply_monitoring(cloudwatch: Any, s3: Any, plan: MonitoringPlan) -> None:
    """Create or update the dashboard, the alarm and the retention rule."""
    try:
        cloudwatch.put_dashboard(
            DashboardName=plan.dashboard, DashboardBody=json.dumps(dashboard_body(plan))
        )
        cloudwatch.put_metric_alarm(**alarm_parameters(plan))
    except AWS_ERRORS as exc:
        raise translate(exc, f"creating the dashboard and alarm of stage {plan.stage}") from exc
    try:
        try:
            existing = s3.get_bucket_lifecycle_configuration(Bucket=plan.bucket)["Rules"]
        except AWS_ERRORS as exc:
            if error_code(exc) != "NoSuchLifecycleConfiguration":
                raise
            existing = []
        s3.put_bucket_lifecycle_configuration(
            Bucket=plan.bucket,
            LifecycleConfiguration={"Rules": retention_rules(existing, plan)},
        )
    except AWS_ERRORS as exc:
        raise translate(exc, f"setting the feedback retention on {plan.bucket}") from exc


def remove_monitoring(cloudwatch: Any, stage: str) -> list[str]:
    """Delete the stage's dashboard and alarm (the feedback and its retention rule stay
    with the bucket); returns what was deleted."""
    dashboard, alarm = dashboard_name(stage), alarm_name(stage)
    deleted = []
    try:
        listed = cloudwatch.list_dashboards(DashboardNamePrefix=dashboard)["DashboardEntries"]
        if any(d["DashboardName"] == dashboard for d in listed):
            cloudwatch.delete_dashboards(DashboardNames=[dashboard])
            deleted.append(f"dashboard {dashboard}")
        if cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]:
            cloudwatch.delete_alarms(AlarmNames=[alarm])
            deleted.append(f"alarm {alarm}")
    except AWS_ERRORS as exc:
        raise translate(exc, f"deleting the dashboard and alarm of stage {stage}") from exc
    return deleted
