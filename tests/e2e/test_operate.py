"""Operating the running local stack (issue 17): feedback over real HTTP into the local S3,
the page's "Was this right?" in headless Chromium, and the structured lines in its log."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import call
from tests.e2e.test_page import browser, page  # noqa: F401  (fixtures)
from tests.e2e.test_stack import NEGATIVE, POSITIVE
from training.local_stack import LocalStack

pytestmark = pytest.mark.stack

JSON = {"Content-Type": "application/json"}


def _feedback_objects(stack: LocalStack, prediction_id: str) -> list[dict[str, Any]]:
    s3 = stack.client("s3")
    bucket = stack.settings.bucket
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="feedback/").get("Contents", [])
    keys = [o["Key"] for o in listed if o["Key"].endswith(f"/{prediction_id}.json")]
    return [json.loads(s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in keys]


def test_feedback_posted_twice_lands_once(local_stack: LocalStack) -> None:
    answer = call(
        local_stack.api_url + "predict", json.dumps({"review": POSITIVE}).encode(), headers=JSON
    )
    pid = answer.json()["prediction_id"]
    assert answer.headers["x-prediction-id"] == pid
    body = {"prediction_id": pid, "review": POSITIVE, "label": "negative"}
    first = call(local_stack.api_url + "feedback", json.dumps(body).encode(), headers=JSON)
    again = call(
        local_stack.api_url + "feedback",
        json.dumps({**body, "label": "positive"}).encode(),
        headers=JSON,
    )
    assert (first.status, again.status) == (201, 200)
    assert first.headers["access-control-allow-origin"] == "*"
    (stored,) = _feedback_objects(local_stack, pid)
    assert (stored["label"], stored["review"]) == ("negative", POSITIVE)


def test_sentiment_feedback_local_reads_the_stacks_feedback(
    local_stack: LocalStack, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from training.cli import main

    answer = call(
        local_stack.api_url + "predict", json.dumps({"review": NEGATIVE}).encode(), headers=JSON
    )
    pid = answer.json()["prediction_id"]
    body = {"prediction_id": pid, "review": NEGATIVE, "label": "positive"}
    assert (
        call(local_stack.api_url + "feedback", json.dumps(body).encode(), headers=JSON).status
        == 201
    )
    exported = tmp_path / "reviewed.jsonl"
    project = str(local_stack.settings.app_dir)
    argv = ["feedback", "--local", "--project-dir", project, "--artifacts", str(tmp_path)]
    assert main([*argv, "--export", str(exported)]) == 0
    assert "s3://sentiment-api-local/feedback/" in capsys.readouterr().out
    mine = [json.loads(x) for x in exported.read_text().splitlines() if pid in x]
    assert [(x["label"], x["text"]) for x in mine] == [(1, NEGATIVE)]


@pytest.mark.browser
def test_the_page_asks_was_this_right_and_files_the_answer(page, local_stack: LocalStack) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    box = page.locator("#feedback")
    assert box.is_hidden()
    page.fill("#review", NEGATIVE)
    page.click("#submit")
    box.wait_for(state="visible", timeout=15_000)
    assert page.locator("#verdict").inner_text() == "Negative"
    assert page.locator("#feedback-question").inner_text() == "Was this right?"
    with page.expect_response(lambda r: r.url.endswith("/feedback")) as sent:
        page.click("#feedback-no")
    response = sent.value
    assert response.status == 201
    posted = json.loads(response.request.post_data)
    page.wait_for_function(
        "document.querySelector('#feedback-status').textContent === 'Thanks, noted.'",
        timeout=15_000,
    )
    assert page.locator("#feedback-yes").is_hidden()
    (stored,) = _feedback_objects(local_stack, posted["prediction_id"])
    assert (stored["label"], stored["review"]) == ("positive", NEGATIVE)
    # A new answer asks again.
    page.fill("#review", POSITIVE)
    page.click("#submit")
    page.wait_for_function(
        "document.querySelector('#verdict').textContent === 'Positive'", timeout=15_000
    )
    assert page.locator("#feedback-yes").is_visible()
    assert page.locator("#feedback-status").inner_text() == ""
    # A "not sure" answer (no known word) asks which it is.
    page.fill("#review", "zzyzx qwertyuiop")
    page.click("#submit")
    page.wait_for_function(
        "document.querySelector('#feedback-question').textContent"
        " === 'Was it positive or negative?'",
        timeout=15_000,
    )
    with page.expect_response(lambda r: r.url.endswith("/feedback")) as sent:
        page.click("#feedback-yes")
    (stored,) = _feedback_objects(
        local_stack, json.loads(sent.value.request.post_data)["prediction_id"]
    )
    assert stored["label"] == "positive"


def test_stats_reads_the_running_stacks_own_lines(
    local_stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    from training.cli import main

    for review in (POSITIVE, NEGATIVE):
        call(local_stack.api_url, review.encode(), headers={"Content-Type": "text/plain"})
    call(local_stack.api_url, b"   ", headers={"Content-Type": "text/plain"})
    state = str(local_stack.settings.state_dir)
    assert main(["stats", "--state-dir", state, "--minutes", "1", "--json"]) == 0
    rows = {row["model"]: row for row in json.loads(capsys.readouterr().out)}
    assert local_stack.endpoint is not None
    served = rows[local_stack.endpoint.name]
    assert served["requests"] >= 2 and served["p50_ms"] > 0
    assert sum(row["errors_4xx"] for row in rows.values()) >= 1


def test_the_s3_handler_logs_each_outcome_as_powertools_lines(local_stack: LocalStack) -> None:
    from tests.e2e.support import refresh_log_lines

    lines = refresh_log_lines(local_stack)
    promoted = [x for x in lines if x["result"] == "promoted"]
    assert promoted and all(x["function_name"] == "refresh_vocabulary" for x in lines)
    # The relay gets the stage's Powertools settings, as the Lambda would.
    assert {x["service"] for x in lines} == {"sentiment-api-local"}
    assert isinstance(lines[0]["cold_start"], bool) and lines[0]["function_request_id"]
