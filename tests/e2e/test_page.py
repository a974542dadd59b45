"""The page in a real headless Chromium (Debian's package, driven by Playwright), calling
the local API cross-origin: CORS and the preflight happen for real."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.conftest import call
from tests.e2e.test_stack import NEGATIVE, POSITIVE
from training.local_stack import LocalStack

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "test-output"

pytestmark = [pytest.mark.stack, pytest.mark.browser]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, local_stack: LocalStack):  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    page.goto(local_stack.web_url)
    yield page
    context.close()


def _screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_type_submit_and_see_the_verdict(page, local_stack: LocalStack) -> None:  # type: ignore[no-untyped-def]
    assert local_stack.api_url in page.locator("#api-info").inner_text()
    page.fill("#review", POSITIVE)
    page.click("#submit")
    verdict = page.locator("#verdict")
    verdict.wait_for(state="visible", timeout=15_000)
    assert verdict.inner_text() == "Positive"
    assert "Probability of a positive review" in page.locator("#probability").inner_text()
    _screenshot(page, "page-positive")

    page.fill("#review", NEGATIVE)
    page.click("#submit")
    page.wait_for_function(
        "document.querySelector('#verdict').textContent === 'Negative'", timeout=15_000
    )
    assert page.locator("#error").is_hidden()


def test_an_empty_review_shows_an_error_without_calling_the_api(page) -> None:  # type: ignore[no-untyped-def]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.fill("#review", "   ")
    page.click("#submit")
    error = page.locator("#error")
    error.wait_for(state="visible", timeout=5_000)
    assert error.inner_text() == "Please type a review first."
    assert page.locator("#result").is_hidden()
    assert not [u for u in requests if u.endswith(":/") or "/predict" in u]
    _screenshot(page, "page-empty")


def test_a_too_long_review_is_stopped_before_sending(page) -> None:  # type: ignore[no-untyped-def]
    page.evaluate("document.querySelector('#review').value = 'a'.repeat(100001)")
    page.click("#submit")
    error = page.locator("#error")
    error.wait_for(state="visible", timeout=5_000)
    assert "too long" in error.inner_text()


def _error_with_api_at(browser, local_stack: LocalStack, api: str) -> str:  # type: ignore[no-untyped-def]
    """Submit a review from a page told the API is at ``api``; the error it shows."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{local_stack.web_url}?api={api}")
        page.fill("#review", POSITIVE)
        page.click("#submit")
        error = page.locator("#error")
        error.wait_for(state="visible", timeout=15_000)
        return str(error.inner_text())
    finally:
        context.close()


def test_the_api_down_is_a_readable_message(browser, local_stack: LocalStack) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import free_port

    message = _error_with_api_at(browser, local_stack, f"http://127.0.0.1:{free_port()}/")
    assert "Could not reach the service" in message


def test_the_length_limit_counts_bytes_not_characters(page) -> None:  # type: ignore[no-untyped-def]
    # 60,000 characters but 120,000 UTF-8 bytes: over the 100 kB limit the API enforces.
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.method))
    page.evaluate("document.querySelector('#review').value = '\u00e9'.repeat(60000)")
    page.click("#submit")
    error = page.locator("#error")
    error.wait_for(state="visible", timeout=5_000)
    assert "too long" in error.inner_text()
    assert "POST" not in requests


@pytest.fixture
def fault(local_stack: LocalStack) -> Iterator[Callable[[dict[str, object]], None]]:
    """Sets a fault on the local SageMaker runtime (every endpoint); cleared afterwards."""
    faults_url = local_stack.stack.runtime_url + "/_devstack/faults"  # type: ignore[union-attr]

    def set_fault(spec: dict[str, object]) -> None:
        answer = call(faults_url, json.dumps({"endpoint": "*", **spec}).encode())
        assert answer.status == 204, answer.body

    yield set_fault
    call(faults_url, method="DELETE")


@pytest.mark.parametrize(
    ("spec", "sentence"),
    [
        ({"body": "not a probability"}, "The model gave an answer we could not understand."),
        (
            {"error": "ModelNotReadyException"},
            "The service is starting up or being updated. Please try again in a few seconds.",
        ),
    ],
)
def test_an_api_error_status_is_shown_as_its_sentence(  # type: ignore[no-untyped-def]
    page, fault, spec: dict[str, object], sentence: str
) -> None:
    # Real failures of the real API (a garbage answer is a 502; a model that is not ready
    # is a 503 with Retry-After), not a canned response.
    fault(spec)
    page.fill("#review", POSITIVE)
    page.click("#submit")
    error = page.locator("#error")
    error.wait_for(state="visible", timeout=15_000)
    assert error.inner_text().startswith(sentence)
    if "error" in spec:  # a 503 with Retry-After: the page can read it cross-origin
        assert re.search(r"\(retry in \d+ s\)$", error.inner_text())
    assert page.locator("#result").is_hidden()
    assert page.locator("#submit").is_enabled()
    _screenshot(page, "page-error-" + ("502" if "body" in spec else "503"))


def test_an_api_url_that_is_not_the_api_says_so(browser, local_stack: LocalStack) -> None:  # type: ignore[no-untyped-def]
    # The page's own static server stands for a wrong address: a real server, not the API.
    message = _error_with_api_at(browser, local_stack, local_stack.web_url)
    assert "not the sentiment API" in message


def test_loading_the_page_asks_for_nothing_that_is_missing(
    browser, local_stack: LocalStack
) -> None:  # type: ignore[no-untyped-def]
    """No 404 in the console: the icon is inline, so no /favicon.ico is asked for."""
    context = browser.new_context()
    try:
        page = context.new_page()
        failed: list[str] = []
        page.on(
            "response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )
        page.goto(local_stack.web_url, wait_until="networkidle")
        assert page.locator("link[rel='icon']").count() == 1
        assert failed == []
    finally:
        context.close()
