"""``sentiment up`` refusing to start, in process: nothing is started, so it says nothing
about stopping, and a taken port names the option that moves it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.sentiment_api.conftest import local_project
from training.cli import main


@pytest.mark.parametrize("option", ["--api-port", "--web-port"])
def test_a_taken_port_names_its_option_and_nothing_is_stopping(
    option: str, tmp_path: Path, small_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app_dir = local_project(tmp_path / "project")  # moto and the runtime on free ports
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = {"--api-port": free_port(), "--web-port": free_port(), option: port}
        code = main(
            ["up", "--artifacts", str(small_run.parent), "--run", small_run.name]
            + ["--app-dir", str(app_dir), "--state-dir", str(tmp_path / "state"), "--no-train"]
            + [str(part) for pair in ports.items() for part in pair]
        )
    captured = capsys.readouterr()
    assert code != 0
    assert f"port {port}" in captured.err and f"pass {option} with a free port" in captured.err
    assert "stopping" not in captured.out
