"""``sentiment train`` and ``sentiment evaluate`` from the command line."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from tests.conftest import STOPWORDS
from training.cli import COMMANDS, build_parser, main


def test_train_then_evaluate_latest(
    tmp_path: Path,
    imdb_sample: Path,
    token_cache: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    art = tmp_path / "artifacts"
    args = ["--data", str(imdb_sample), "--stopwords", str(STOPWORDS), "--artifacts", str(art)]
    code = main(
        [
            "train",
            *args,
            "--cache",
            str(token_cache),
            "--limit",
            "300",
            "--test-limit",
            "200",
            "--max-terms",
            "800",
            "--no-progress",
            "--set-latest",  # a partial run, made the default on purpose
            *("--sentence-weight", "0.05", "--sentence-weight-per", "sentence"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "accuracy" in out and "run:" in out
    (run,) = [p for p in art.iterdir() if p.name != "latest"]
    assert (art / "latest").resolve() == run
    config = json.loads((run / "metrics.json").read_text())["config"]
    assert (config["sentence_weight"], config["sentence_weight_per"]) == (0.05, "sentence")
    assert "does not replace" not in out
    # The training log reads in order (the best round, then the refit of that many rounds),
    # with figures a person reads (4 decimals).
    said = [r.getMessage() for r in caplog.records]
    best = next(i for i, m in enumerate(said) if "best round" in m)
    refit = next(i for i, m in enumerate(said) if m.startswith("refit:"))
    assert best < refit
    (band,) = [m for m in said if "accuracy on the rest" in m]
    assert re.search(r"accuracy on the rest (-|\d\.\d{4})$", band), band

    code = main(
        [
            "evaluate",
            "latest",
            "--artifacts",
            str(art),
            "--data",
            str(imdb_sample),
            "--limit",
            "200",
            "--no-progress",
        ]
    )
    out2 = capsys.readouterr().out
    assert code == 0
    # Same sample, same numbers as the training run printed.
    assert out2.split("reviews", 1)[1] == out.split("reviews", 1)[1].split("report:")[0]


def test_a_quick_run_does_not_replace_latest_and_says_so(
    tmp_path: Path, imdb_sample: Path, token_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    art = tmp_path / "artifacts"
    args = ["--data", str(imdb_sample), "--stopwords", str(STOPWORDS), "--artifacts", str(art)]
    args += ["--cache", str(token_cache), "--max-terms", "500", "--no-progress"]
    assert main(["train", *args, "--limit", "200", "--test-limit", "100", "--set-latest"]) == 0
    default = (art / "latest").resolve()
    capsys.readouterr()

    assert main(["train", *args, "--seed", "7", "--limit", "200", "--test-limit", "100"]) == 0
    out = capsys.readouterr().out
    (quick,) = [p for p in art.iterdir() if p.name not in ("latest", default.name)]
    assert (art / "latest").resolve() == default  # untouched
    assert f"still {default.name}" in out and "does not replace" in out
    assert f"sentiment up --run {quick.name}" in out and "--set-latest" in out


def test_a_missing_stopword_list_is_named_before_the_data_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "stopwords.txt"
    code = main(
        ["train", "--data", str(tmp_path / "no-imdb"), "--artifacts", str(tmp_path / "a")]
        + ["--remove-stopwords", "--stopwords", str(missing)]
    )
    err = capsys.readouterr().err
    assert code != 0
    assert str(missing) in err and "train.jsonl.gz" not in err


def test_missing_data_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--data", str(tmp_path), "--artifacts", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert code == 3
    assert "train.jsonl.gz" in err and "--data" in err


def test_evaluate_unknown_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "nope", "--artifacts", str(tmp_path)]) == 2
    assert "sentiment train" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["score", "in.csv", "-o", "-"],
        ["evaluate", "latest"],
        ["deploy", "--yes"],
        ["publish"],
    ],
)
def test_a_missing_run_names_the_folder_looked_in_and_artifacts(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # another folder than the repository's
    (tmp_path / "in.csv").write_text("id,text\n1,fine\n")
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert str(tmp_path / "artifacts") in err and "--artifacts" in err
    assert err.count("\n") == 0


def test_up_without_a_run_names_the_folder_looked_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["up", "--no-train"]) == 2
    out = capsys.readouterr().out
    assert str(tmp_path / "artifacts") in out and "--artifacts" in out


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser([name])
    (subs,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return subs.choices[name]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_option_has_help_and_shows_its_default(name: str) -> None:
    sub = _subparser(name)
    # argparse wraps long lines, also inside a path at its hyphens: compare without spaces.
    text = "".join(sub.format_help().split())
    for action in sub._actions:
        if not action.option_strings or "-h" in action.option_strings:
            continue
        said = (action.help or "").strip()
        assert said and not said.startswith(("%(default", "(default")), action.option_strings
        if action.default not in (None, False):
            shown = "".join(str(action.default).split())
            assert f"default:{shown}" in text or f"({shown})" in text, action.option_strings


def test_up_help_shows_the_stand_ins_ports() -> None:
    text = " ".join(_subparser("up").format_help().split())
    assert "8001 as shipped" in text and "8002 as shipped" in text


@pytest.mark.parametrize("port", ["80", "0", "70000", "http"])
def test_ports_refuses_a_privileged_or_impossible_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], port: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["ports", "--app-dir", str(tmp_path), "--moto-port", port])
    assert exited.value.code == 2
    assert "port" in capsys.readouterr().err.splitlines()[-1]


@pytest.mark.parametrize("weight", ["-0.1", "nan", "inf", "heavy"])
def test_train_refuses_an_impossible_sentence_weight(
    capsys: pytest.CaptureFixture[str], weight: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["train", "--sentence-weight", weight])
    assert exited.value.code == 2
    assert "--sentence-weight" in capsys.readouterr().err.splitlines()[-1]
