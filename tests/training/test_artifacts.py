"""Run directories: the container-ready archive, never overwritten, latest, run lookup."""

from __future__ import annotations

import json
import os
import re
import tarfile
from pathlib import Path

import pytest

from training import artifacts
from training.errors import UsageError
from vocab_store import loads


def test_run_id_format() -> None:
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", artifacts.new_run_id())


def test_archive_holds_only_the_model(small_run: Path) -> None:
    with tarfile.open(small_run / "model.tar.gz", "r:gz") as tar:
        assert tar.getnames() == ["xgboost-model"]
    model = artifacts.read_model_bytes(small_run / "model.tar.gz")
    assert model[:1] == b"{"  # UBJSON object, which Booster.load_model reads
    assert artifacts.model_archive(model) == (small_run / "model.tar.gz").read_bytes()


def test_vocabulary_carries_the_model_record(small_run: Path) -> None:
    vocab = loads((small_run / "vocabulary.json").read_bytes())
    model = artifacts.read_model_bytes(small_run / "model.tar.gz")
    assert vocab.model is not None and vocab.model.endpoint is None
    assert vocab.model.fingerprint == artifacts.fingerprint(model)
    assert vocab.model.feature_count == vocab.feature_count
    # By default every word is kept ("but", "too", "the worst" carry sentiment).
    assert vocab.tokenizer.stopwords == () and {"the", "but", "not"} <= set(vocab.terms)
    assert "stopwords_note" not in vocab.extra
    assert vocab.version > 1_600_000_000_000  # next_version(): milliseconds


def test_metrics_have_what_the_issue_asks(small_run: Path) -> None:
    m = json.loads((small_run / "metrics.json").read_text())
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "confusion_matrix", "count"):
        assert key in m["test"]
    assert {"train", "validation", "test"} <= set(m["counts"])
    assert m["model"]["best_iteration"] >= 0 and m["train_time_seconds"] > 0
    assert m["versions"]["xgboost"] == "3.2.0"
    assert (small_run / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "accuracy" in (small_run / "report.md").read_text()


def test_runs_are_never_overwritten(tmp_path: Path, small_run: Path) -> None:
    vocab = artifacts.load_vocabulary(small_run)
    kwargs = {"model_bytes": b"{}", "vocabulary": vocab, "metrics": {}, "extra_files": {}}
    first = artifacts.write_run(tmp_path, "20260101-000000-aaaa", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="never overwritten"):
        artifacts.write_run(tmp_path, "20260101-000000-aaaa", **kwargs)  # type: ignore[arg-type]
    second = artifacts.write_run(tmp_path, "20260101-000001-bbbb", **kwargs)  # type: ignore[arg-type]
    latest = tmp_path / "latest"
    assert latest.is_symlink() and os.readlink(latest) == second.name
    assert first.is_dir() and not list(tmp_path.glob(".*partial"))


def test_resolve_run(small_run: Path) -> None:
    root = small_run.parent
    assert artifacts.resolve_run(root, "latest") == small_run.resolve()
    assert artifacts.resolve_run(root, small_run.name) == small_run.resolve()
    assert artifacts.resolve_run(Path("elsewhere"), str(small_run)) == small_run.resolve()
    with pytest.raises(UsageError, match="sentiment train"):
        artifacts.resolve_run(root, "20990101-000000-ffff")


def test_archive_with_extra_members_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name in ("xgboost-model", "notes.txt"):
            (tmp_path / name).write_text("x")
            tar.add(tmp_path / name, arcname=name)
    with pytest.raises(UsageError, match="only xgboost-model"):
        artifacts.read_model_bytes(path)
