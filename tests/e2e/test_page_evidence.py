"""The page shows why, in a real headless Chromium against the running local stack:
highlighted words (readable without colour and by a screen reader), sentences from most
negative to most positive, "Not sure" in words; at desktop width and at 390 px; and the
verdict alone from an API that sends no evidence (an older deploy)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.test_page import _screenshot, browser  # noqa: F401  (the module's browser)
from tests.e2e.test_stack import NEGATIVE, POSITIVE
from training.local_stack import LocalStack

pytestmark = [pytest.mark.stack, pytest.mark.browser]

MIXED = (
    "The acting was brilliant and the music is wonderful. But the plot was boring, the "
    "dialogue stupid and the ending awful. Still, I loved the photography!"
)
GIBBERISH = "xyzzy plugh frobozz"
EMOJI = "\U0001f600\U0001f600 A wonderful film \U0001f3ac with brilliant acting."
WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture(params=list(WIDTHS))
def sized(request: pytest.FixtureRequest, browser, local_stack: LocalStack) -> Iterator[tuple]:  # type: ignore[no-untyped-def]  # noqa: F811
    width = WIDTHS[request.param]
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(local_stack.web_url)
    yield page, request.param, width
    context.close()


def _submit(page, review: str) -> str:  # type: ignore[no-untyped-def]
    page.fill("#review", review)
    page.evaluate("document.querySelector('#verdict').textContent = ''")
    page.click("#submit")
    page.wait_for_function("document.querySelector('#verdict').textContent !== ''", timeout=15_000)
    return str(page.locator("#verdict").inner_text())


def _fits(page, width: int) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize(
    "name, review, verdicts",
    [
        ("positive", POSITIVE, {"Positive"}),
        ("negative", NEGATIVE, {"Negative"}),
        ("mixed", MIXED, {"Positive", "Negative", "Not sure"}),
        ("gibberish", GIBBERISH, {"Not sure"}),
    ],
)
def test_the_page_shows_why(sized, name: str, review: str, verdicts: set[str]) -> None:  # type: ignore[no-untyped-def]
    page, size, width = sized
    assert _submit(page, review) in verdicts
    _fits(page, width)
    _screenshot(page, f"evidence-{name}-{size}")
    marks = page.locator("#why-review mark")
    if name == "gibberish":
        assert "knows none of these words" in page.locator("#probability").inner_text()
        assert marks.count() == 0
        return
    assert page.locator("#why").is_visible()
    shown = page.evaluate(
        "() => { const c = document.querySelector('#why-review').cloneNode(true);"
        " c.querySelectorAll('.sign, .sr-only').forEach(n => n.remove());"
        " return c.textContent; }"
    )
    assert shown == review  # every character, in order, highlighted or not
    assert marks.count() > 0
    for i in range(marks.count()):
        mark = marks.nth(i)
        css = mark.get_attribute("class")
        sign = mark.locator(".sign").inner_text()
        spoken = mark.locator(".sr-only").text_content()
        # Without colour: a sign and the underline's style; for a screen reader: words.
        assert (css, sign, spoken) in (
            ("pos", "\u25b2", " (for positive)"),
            ("neg", "\u25bc", " (for negative)"),
        )
    scores = [
        float(t.split(" %")[0]) for t in page.locator("#why-sentences .score").all_inner_texts()
    ]
    assert scores == sorted(scores) and len(scores) >= 1
    if name == "positive":
        assert page.locator("#why-review mark.pos").count() > 0
    if name == "negative":
        assert page.locator("#why-review mark.neg").count() > 0


def test_offsets_after_emoji_highlight_exactly_the_words(sized) -> None:  # type: ignore[no-untyped-def]
    page, _, _ = sized
    _submit(page, EMOJI)
    texts = page.locator("#why-review mark").evaluate_all(
        "marks => marks.map(m => Array.from(m.childNodes).filter(n => n.nodeType === 3)"
        ".map(n => n.textContent).join(''))"
    )
    assert texts, "nothing highlighted"
    for text in texts:
        assert text in EMOJI and text.strip() == text and "\ufffd" not in text
        assert text[0].isalpha() and text[-1].isalpha(), texts


def test_an_api_without_evidence_still_gets_its_verdict_shown(
    sized, local_stack: LocalStack
) -> None:  # type: ignore[no-untyped-def]
    page, size, _ = sized
    old = {"sentiment": 1, "label": "positive", "probability": 0.93, "model": "m"}

    def answer(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method == "OPTIONS":
            route.continue_()
            return
        route.fulfill(
            status=200,
            headers={"Access-Control-Allow-Origin": "*", "Content-Type": "application/json"},
            body=json.dumps(old),
        )

    page.route(local_stack.api_url + "**", answer)
    assert _submit(page, POSITIVE) == "Positive"
    assert page.locator("#why").is_hidden()
    assert "93.0 %" in page.locator("#probability").inner_text()
    _screenshot(page, f"evidence-old-api-{size}")
