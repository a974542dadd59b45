"""sentiment feedback (moto's S3, a real run's model) and train --extra: the round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import train_sample
from training.cli import main
from training.errors import DataError
from training.feedback import read_reviewed

BUCKET = "sentiment-api-feedback-test"
POSITIVE = "A wonderful, moving film with brilliant acting. I loved it, a masterpiece."
NEGATIVE = "The worst, most boring film ever made. Awful acting and a stupid plot."
SAID = [  # (prediction id, what the person said, review)
    ("01000000-0000-7000-8000-000000000001", "positive", POSITIVE),
    ("01000000-0000-7000-8000-000000000002", "positive", NEGATIVE),  # disputes the model
    ("01000000-0000-7000-8000-000000000003", "negative", NEGATIVE),
]


@pytest.fixture
def stored(moto_env: str) -> Any:
    """Feedback objects as the API writes them, and one object that is not one."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for pid, label, review in SAID:
        body = {
            "prediction_id": pid,
            "label": label,
            "review": review,
            "received_at": "2026-12-01T10:00:00+00:00",
        }
        s3.put_object(
            Bucket=BUCKET, Key=f"feedback/2026/12/01/10/{pid}.json", Body=json.dumps(body)
        )
    s3.put_object(Bucket=BUCKET, Key="feedback/2026/12/01/10/junk.json", Body=b"{not json")
    return s3


def test_feedback_summarises_and_exports_then_train_extra_uses_it(
    stored: Any,
    small_run: Path,
    imdb_sample: Path,
    token_cache: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    exported = tmp_path / "reviewed.jsonl"
    argv = ["feedback", "--bucket", BUCKET, "--run", str(small_run), "--list"]
    assert main([*argv, "--export", str(exported)]) == 0
    out = capsys.readouterr().out
    assert "feedback  3" in out and "said positive" in out
    assert "agreed with the model  2 of 3 (67%)" in out
    assert "most disputed terms" in out and "worst" in out.split("most disputed terms")[1]
    lines = [json.loads(x) for x in exported.read_text().splitlines()]
    assert [(x["id"], x["label"], x["text"]) for x in lines] == [
        (pid, 1 if label == "positive" else 0, review) for pid, label, review in SAID
    ]
    assert [x["model_label"] for x in lines] == ["positive", "negative", "negative"]

    # A person reviews the file: the disputed line goes.
    exported.write_text("\n".join(json.dumps(x) for x in lines if x["id"] != SAID[1][0]) + "\n")
    run = train_sample(
        tmp_path / "with-extra",
        extra_reviews=exported,
        data_dir=imdb_sample,
        cache_dir=token_cache,
    )
    metrics = json.loads((run / "metrics.json").read_text())
    base = json.loads((small_run / "metrics.json").read_text())["counts"]
    assert metrics["extra_reviews"]["count"] == 2
    assert metrics["extra_reviews"]["sha256"] == read_reviewed(exported).checksum
    assert metrics["config"]["extra_reviews"] == str(exported)
    # Training reviews only: validation and test are the same reviews as without it. The
    # sentence rows are cut from the training (and, for the refit, validation) reviews and
    # kept when they hold a term of the vocabulary, which the extra reviews change too.
    reviews = {k: v for k, v in metrics["counts"].items() if "sentence" not in k}
    assert reviews == {k: v for k, v in base.items() if "sentence" not in k} | {
        "train": base["train"] + 2
    }
    assert metrics["counts"]["sentence_rows"] > 0


def test_without_a_run_the_summary_says_so(stored: Any, tmp_path: Path, capsys: Any) -> None:
    assert main(["feedback", "--bucket", BUCKET, "--artifacts", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "feedback  3" in out and "agreement with the model not shown" in out


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"id": "a", "text": "fine", "label": 2}\n', "line 1: label must be 1"),
        ('{"id": "a", "text": "fine", "label": 1}\n{"id": "a", "text": "x", "label": 0}', "twice"),
        ('{"id": "a", "label": 1}\n', "line 1 is not a review record"),
        ("\n\n", "holds no reviews"),
    ],
)
def test_a_bad_reviewed_file_is_refused_with_its_line(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "reviewed.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=problem):
        read_reviewed(path)


def test_train_checks_the_extra_file_before_loading_imdb(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "reviewed.jsonl"
    bad.write_text('{"id": "a", "review": "fine", "label": "pos"}\n')
    missing_data = tmp_path / "no-imdb-here"  # loading IMDB first would fail on this
    argv = ["train", "--data", str(missing_data), "--artifacts", str(tmp_path / "art")]
    assert main([*argv, "--extra", str(bad), "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert str(bad) in err and "line 1" in err and '"label": 1' in err
    assert str(missing_data) not in err
