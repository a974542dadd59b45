"""A run whose ``vocabulary.json`` was edited after training is refused by every command that
reads it, in one sentence naming the file and the fix, before any heavy work (reading
25,000 reviews, starting the local stack's processes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from training.cli import main


@pytest.fixture
def edited_run(tmp_path: Path, small_run: Path) -> Path:
    """A copy of ``small_run`` whose vocabulary has one term renamed by hand."""
    run = tmp_path / "artifacts" / small_run.name
    shutil.copytree(small_run, run)
    vocabulary = run / "vocabulary.json"
    data = json.loads(vocabulary.read_text())
    data["terms"][0] = data["terms"][0] + "x"
    vocabulary.write_text(json.dumps(data))
    return run


@pytest.mark.parametrize(
    "command",
    [
        ["score", "{reviews}", "--output", "{tmp}/out.jsonl", "--run", "{run}", "--workers", "1"],
        # No IMDB here: a refusal about the data would mean the reviews came first.
        ["evaluate", "{run}", "--data", "{tmp}/no-imdb"],
        ["up", "--run", "{run}", "--state-dir", "{tmp}/state", "--no-train"],
    ],
    ids=["score", "evaluate", "up"],
)
def test_an_edited_vocabulary_is_named_with_its_fix_before_any_work(
    command: list[str], edited_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("great\n")
    argv = [part.format(reviews=reviews, tmp=tmp_path, run=edited_run.name) for part in command]
    code = main([*argv, "--artifacts", str(edited_run.parent)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.count("\n") == 0
    assert f"{edited_run.name}/vocabulary.json" in err and "sentiment train" in err
    assert "restore" in err
    assert not (tmp_path / "out.jsonl").exists()
    assert not list((tmp_path / "state").glob("*.log"))  # up started no process
