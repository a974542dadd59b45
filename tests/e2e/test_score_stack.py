"""``sentiment score`` against the running local stack (the composition of ``sentiment up``):
its rows are the API's answers for the same text, and ``--sagemaker`` runs on the stack as it
is (moto keeps the job, the runtime runs it on the model the stack deployed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IMDB_DIR
from tests.e2e.conftest import call
from training.cli import main
from training.data import load_split, sample
from training.local_stack import LocalStack

pytestmark = pytest.mark.stack


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_score_rows_are_the_apis_answers(
    local_stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = list(sample(load_split(IMDB_DIR, "test"), seed=7, limit=24).texts)
    texts[5] = "Xyzzy plugh."  # no known term: "uncertain" for both
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    run = ["--artifacts", str(local_stack.settings.artifacts_dir), "--no-progress"]
    local_out = tmp_path / "local.jsonl"
    assert main(["score", str(source), "-o", str(local_out), "--workers", "1", *run]) == 0

    answers = []
    for start in range(0, len(texts), 12):
        body = json.dumps({"reviews": texts[start : start + 12]}).encode()
        answer = call(
            local_stack.api_url + "batch", body, headers={"Content-Type": "application/json"}
        )
        assert answer.status == 200
        answers += answer.json()["results"]
    rows = _rows(local_out)
    assert [r["probability"] for r in rows] == [a["probability"] for a in answers]
    assert [r["label"] for r in rows] == [a["label"] for a in answers]
    assert rows[5]["label"] == "uncertain"

    for name, value in local_stack.aws_env().items():
        monkeypatch.setenv(name, value)
    remote_out = tmp_path / "remote.jsonl"
    bucket = ["--bucket", local_stack.settings.bucket, "--yes", "--poll-seconds", "0.2"]
    code = main(
        ["score", str(source), "-o", str(remote_out), "--sagemaker", *bucket, "--workers", "1"]
        + run
    )
    assert code == 0
    assert _rows(remote_out) == rows
