"""The Chalice project's ``local`` stage names the stand-ins: the committed file agrees
with their default ports, ``sentiment ports`` moves them in one step, and a disagreement
or a broken stage is one sentence that names the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devstack.stage_config import (
    DEFAULT_PORTS,
    StageConfigError,
    StagePorts,
    disagreement,
    read_ports,
    stage_variables,
    write_ports,
)
from tests.conftest import REPO
from tests.sentiment_api.conftest import chalice_project
from training.cli import main as sentiment
from training.errors import StackError
from training.local_stack import LocalSettings, stand_in_ports

APP_DIR = REPO / "sentiment_api"


def test_the_committed_local_stage_names_the_stand_ins_default_ports() -> None:
    assert read_ports(APP_DIR) == DEFAULT_PORTS
    variables = stage_variables(APP_DIR)
    # Everything `chalice local --stage local` needs, offline, with nothing exported.
    assert variables["AWS_ENDPOINT_URL_S3"] == f"http://127.0.0.1:{DEFAULT_PORTS.moto}"
    assert variables["AWS_ENDPOINT_URL_SAGEMAKER"] == f"http://127.0.0.1:{DEFAULT_PORTS.moto}"
    runtime = f"http://127.0.0.1:{DEFAULT_PORTS.runtime}"
    assert variables["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] == runtime
    assert variables["AWS_ACCESS_KEY_ID"] and variables["AWS_SECRET_ACCESS_KEY"]
    assert variables["AWS_DEFAULT_REGION"] == variables["AWS_REGION"]
    assert variables["SENTIMENT_BUCKET"] == LocalSettings().bucket
    # `sentiment up` with no port option starts them there.
    assert stand_in_ports(LocalSettings()) == DEFAULT_PORTS


def test_sentiment_ports_moves_both_in_one_step_and_keeps_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = chalice_project(tmp_path / "project", {})
    before = json.loads((project / ".chalice" / "config.json").read_text())
    code = sentiment(["ports", "--app-dir", str(project), "--moto-port", "9101"])
    assert code == 0
    assert read_ports(project) == StagePorts(9101, DEFAULT_PORTS.runtime)
    assert "9101" in capsys.readouterr().out
    after = json.loads((project / ".chalice" / "config.json").read_text())
    local = after["stages"]["local"]["environment_variables"]
    assert local["AWS_ENDPOINT_URL_S3"] == local["AWS_ENDPOINT_URL_SAGEMAKER"]
    assert local["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:9101"
    # Nothing else changed: the other stages, the other variables.
    before["stages"]["local"]["environment_variables"].update(
        AWS_ENDPOINT_URL_S3=local["AWS_ENDPOINT_URL_S3"],
        AWS_ENDPOINT_URL_SAGEMAKER=local["AWS_ENDPOINT_URL_SAGEMAKER"],
    )
    assert after == before
    # and `sentiment up` now starts moto there.
    assert stand_in_ports(LocalSettings(app_dir=project)).moto == 9101


def test_a_disagreement_is_refused_with_the_command_that_fixes_it(tmp_path: Path) -> None:
    project = chalice_project(tmp_path / "project", {})
    assert disagreement(project, DEFAULT_PORTS) is None
    with pytest.raises(StackError) as info:
        stand_in_ports(LocalSettings(app_dir=project, moto_port=9201))
    message = str(info.value)
    assert f"sentiment ports --moto-port 9201 --runtime-port {DEFAULT_PORTS.runtime}" in message
    assert message.count(". ") == 0 and "\n" not in message  # one sentence


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({"AWS_ENDPOINT_URL_SAGEMAKER": "http://127.0.0.1:9301"}, "two ports"),
        ({"AWS_ENDPOINT_URL_S3": "https://s3.amazonaws.com"}, "not a stand-in's address"),
    ],
)
def test_a_broken_stage_is_refused_and_named(
    tmp_path: Path, variables: dict[str, str], says: str
) -> None:
    project = chalice_project(tmp_path / "project", variables)
    with pytest.raises(StageConfigError, match=says) as info:
        read_ports(project)
    assert "sentiment ports" in str(info.value)


def test_a_stage_without_the_urls_says_how_to_write_them(tmp_path: Path) -> None:
    project = chalice_project(tmp_path / "project", {})
    config = json.loads((project / ".chalice" / "config.json").read_text())
    del config["stages"]["local"]["environment_variables"]["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"]
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    with pytest.raises(StageConfigError, match="does not set AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"):
        read_ports(project)
    write_ports(project, StagePorts(9401, 9402))
    assert read_ports(project) == StagePorts(9401, 9402)


def test_ports_that_cannot_work_are_not_written(tmp_path: Path) -> None:
    project = chalice_project(tmp_path / "project", {})
    for ports in (StagePorts(9501, 9501), StagePorts(0, 9502), StagePorts(9503, 70000)):
        with pytest.raises(StageConfigError):
            write_ports(project, ports)
    assert read_ports(project) == DEFAULT_PORTS
