"""With no AWS credentials anywhere, the AWS commands say so in one sentence that points
at credentials (no chalice traceback, no advice to skip a safety check)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from training.cli import main


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _one_sentence_about_credentials(err: str) -> None:
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert "credentials" in err and "aws configure" in err


def test_deploy_api_without_credentials(
    no_credentials: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = ["--project-dir", str(REPO / "sentiment_api"), "--web-dir", str(tmp_path)]
    assert main(["deploy-api", "--stage", "dev", *project]) == 4
    captured = capsys.readouterr()
    _one_sentence_about_credentials(captured.err)
    assert "chalice deploy" not in captured.out  # stopped before running it
    assert not (tmp_path / "config.js").exists()


def test_teardown_without_credentials_points_at_credentials(
    no_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["teardown", "--all", "--yes", "--bucket", "some-bucket"]) == 4
    err = capsys.readouterr().err
    _one_sentence_about_credentials(err)
    assert "--force-live" not in err
