"""Helpers for the hardening tests (issue 8) against the running local stack: the local
runtime's devstack hooks (faults, recorded invocations), the live vocabulary, the S3
handler's log lines, and what every answer must look like."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Answer
from tests.sentiment_api import answers
from training.local_stack import LocalStack
from vocab_store import Vocabulary
from vocab_store.store import Pointer, VocabularyStore


def hook(stack: LocalStack, name: str, method: str = "GET", spec: Any = None) -> Any:
    """Call the local runtime's ``/_devstack/NAME`` hook; its JSON answer, if any."""
    assert stack.stack is not None
    data = None if spec is None else json.dumps(spec).encode()
    request = urllib.request.Request(
        f"{stack.stack.runtime_url}/_devstack/{name}", data=data, method=method
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


def clear_invocations(stack: LocalStack) -> None:
    hook(stack, "invocations", "DELETE")


def invocations(stack: LocalStack) -> list[dict[str, Any]]:
    """What the runtime was sent since the last :func:`clear_invocations`."""
    return list(hook(stack, "invocations"))


def set_fault(stack: LocalStack, **fault: Any) -> None:
    hook(stack, "faults", "POST", fault)


def clear_faults(stack: LocalStack) -> None:
    hook(stack, "faults", "DELETE")


def store(stack: LocalStack) -> VocabularyStore:
    return VocabularyStore(stack.settings.bucket, s3_client=stack.client("s3"))


def live(stack: LocalStack) -> tuple[Pointer, Vocabulary]:
    """The promoted pointer and the vocabulary it names."""
    vocabularies = store(stack)
    pointer = vocabularies.current_pointer()
    assert pointer is not None
    return pointer, vocabularies.read(pointer.key)


def check_answer(answer: Answer) -> None:
    """Every answer: CORS without credentials, and either a verdict or an error with one
    clear sentence (the contract's rules, ``tests/sentiment_api/answers.py``)."""
    answers.check_cors(answer)
    answers.check_body(answer)


def refresh_log_lines(stack: LocalStack) -> list[dict[str, Any]]:
    """The S3 handler's outcome lines (it runs in the relay's process, which logs to
    ``relay.log`` in the stack's state dir): Powertools JSON lines with ``"message":
    "refresh"`` and ``key``, ``result``, ``reason``."""
    path = Path(stack.settings.state_dir) / "relay.log"
    lines = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{") and '"message":"refresh"' in line.replace(" ", ""):
            lines.append(json.loads(line))
    return lines


def wait_for(what: str, found: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll ``found`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = found()
        if result:
            return result
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def handled(stack: LocalStack, key: str, timeout: float = 20.0) -> dict[str, Any]:
    """Wait until the S3 handler has logged its outcome for ``key``; that line."""
    return dict(
        wait_for(
            f"the S3 handler's outcome for {key}",
            lambda: next((x for x in refresh_log_lines(stack) if x.get("key") == key), None),
            timeout,
        )
    )
