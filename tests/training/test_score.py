"""``sentiment score`` locally: every input format, error rows, order, refusals, and the same
probabilities as the serving path (encoder -> container parsing -> model)."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.training.conftest import NEGATIVE, POSITIVE
from training.artifacts import load_vocabulary
from training.cli import main
from training.errors import DataError, UsageError
from training.evaluate import serving_probabilities
from training.score import inputs, local
from training.score.inputs import MAX_REVIEW_BYTES, read_reviews
from training.score.outputs import counted, output_format, plural
from vocab_store import Encoder
from vocab_store.labels import label

# Long (scores files with the command): handed to a worker first (tests/conftest.py).
pytestmark = pytest.mark.heavy

TEXTS = POSITIVE + NEGATIVE


@pytest.fixture(autouse=True, scope="module")
def _fork_server_stopped() -> Iterator[None]:
    """The pool's tests start multiprocessing's fork server and resource tracker in this
    process; stop them with the module. Left running, they outlive the xdist worker and
    hold its pipes open, and pytest-xdist waits for them before the run can end."""
    yield
    # The standard library's own way to stop them, for its tests. The tracker's stop waits
    # for it to exit, which it does once nothing holds its pipe: every pool of this module
    # has shut down by now (``score_reviews`` shuts its pool down, even on errors).
    multiprocessing.forkserver._forkserver._stop()  # type: ignore[attr-defined]
    multiprocessing.resource_tracker._resource_tracker._stop()  # type: ignore[attr-defined]


def _score(tmp_path: Path, run: Path, source: Path, output: str, *extra: str) -> tuple[int, str]:
    code = main(
        ["score", str(source), "--output", str(tmp_path / output), "--run", str(run)]
        + ["--no-progress", "--workers", "1", *extra]
    )
    return code, (tmp_path / output).read_text(encoding="utf-8") if code == 0 else ""


def _jsonl_rows(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_jsonl_in_jsonl_out_matches_the_serving_path(tmp_path: Path, libsvm_run: Path) -> None:
    texts = [*TEXTS, "Xyzzy plugh qwertyuiop."]  # the last has no known term
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"id": f"r{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    )
    code, out = _score(tmp_path, libsvm_run, source, "out.jsonl")
    assert code == 0
    rows = _jsonl_rows(out)
    expected = serving_probabilities(libsvm_run, texts)
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(len(texts))]
    assert [r["probability"] for r in rows] == expected  # exactly, not approximately
    vocabulary = load_vocabulary(libsvm_run)
    encoder = Encoder(vocabulary)
    assert [r["label"] for r in rows] == [
        label(p, vocabulary.uncertain, known=any(v for _, v in encoder.vector(t)))
        for p, t in zip(expected, texts, strict=True)
    ]
    assert rows[-1]["label"] == "uncertain"
    assert all("error" not in r for r in rows)


def test_csv_with_bom_quotes_and_multiline_fields(tmp_path: Path, small_run: Path) -> None:
    texts = ['He said "superb", truly.', "Line one,\nline two: dull.", TEXTS[0]]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["stars", "review", "key"])
    for i, text in enumerate(texts):
        writer.writerow([5, text, f"k{i}"])
    source = tmp_path / "in.csv"
    source.write_bytes(codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8"))
    code, out = _score(
        tmp_path, small_run, source, "out.csv", "--text-field", "review", "--id-field", "key"
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["id", "label", "probability", "error"]
    assert [r["id"] for r in rows] == ["k0", "k1", "k2"]
    assert [float(r["probability"]) for r in rows] == serving_probabilities(small_run, texts)
    assert all(r["error"] == "" for r in rows)


def test_plain_text_gzip_ids_are_line_numbers(tmp_path: Path, small_run: Path) -> None:
    source = tmp_path / "in.txt.gz"
    source.write_bytes(gzip.compress(("\n".join(TEXTS[:3]) + "\n").encode()))
    code, out = _score(tmp_path, small_run, source, "out.jsonl")
    assert code == 0
    rows = _jsonl_rows(out)
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert [r["probability"] for r in rows] == serving_probabilities(small_run, TEXTS[:3])


def test_bad_rows_become_error_rows_in_place(tmp_path: Path, small_run: Path) -> None:
    too_long = "good " * (MAX_REVIEW_BYTES // 5 + 1)
    lines = [
        json.dumps({"id": 1, "text": TEXTS[0]}).encode(),
        b'{"id": 2, "text": "caf\xe9 awful"}',  # Latin-1, not UTF-8
        json.dumps({"id": 3, "text": "   "}).encode(),
        json.dumps({"id": 4, "text": too_long}).encode(),
        b"{not json",
        json.dumps({"id": 6, "body": "no text field"}).encode(),
        b"",
        json.dumps({"id": 8, "text": TEXTS[5]}).encode(),
    ]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    code, out = _score(tmp_path, small_run, source, "out.jsonl")
    assert code == 0
    rows = _jsonl_rows(out)
    # The input's ids; the lines with none readable have none (their errors name the line).
    assert [r["id"] for r in rows] == [1, 2, 3, 4, None, 6, None, 8]
    errors = dict(enumerate((r.get("error") for r in rows), start=1))
    assert errors[1] is None and errors[8] is None
    assert "line 5" in errors[5] and "line 7" in errors[7]
    assert "UTF-8" in errors[2]
    assert "empty" in errors[3]
    assert f"{MAX_REVIEW_BYTES}-byte limit" in errors[4]
    assert "JSON" in errors[5]
    assert "'text'" in errors[6]
    assert "empty" in errors[7]
    for row in rows:
        if row.get("error"):
            assert row["label"] is None and row["probability"] is None
    good = serving_probabilities(small_run, [TEXTS[0], TEXTS[5]])
    assert [rows[0]["probability"], rows[7]["probability"]] == good


def test_csv_row_not_utf8_and_short_row(tmp_path: Path, small_run: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(b"id,text\na,great film\nb,caf\xe9 bad\nc\n")
    code, out = _score(tmp_path, small_run, source, "out.csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert rows[0]["error"] == "" and rows[0]["label"] in ("positive", "negative")
    assert "UTF-8" in rows[1]["error"] and rows[1]["probability"] == ""
    assert "'text'" in rows[2]["error"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_ids_are_the_inputs_or_line_numbers_never_both(fmt: str) -> None:
    # "r6" then 7 in one output was the old way: a row whose id cannot be read has none.
    with_ids = {
        "jsonl": b'{"id": "r1", "text": "fine"}\n{not json\n{"text": "no id"}\n',
        "csv": b'id,text\nr1,fine\n"r2,"open" quote\n\xff,bad id\n',
    }[fmt]
    ids = [r.id for r in read_reviews(io.BytesIO(with_ids), fmt)]
    assert ids == ["r1", None, None]
    without = {"jsonl": b'{"text": "fine"}\n{not json\n', "csv": b'text\nfine\n"open\n'}[fmt]
    assert [r.id for r in read_reviews(io.BytesIO(without), fmt)] == [1, 2]


def test_a_hostile_line_is_skipped_not_held(tmp_path: Path) -> None:
    huge = b"x" * (3 * MAX_REVIEW_BYTES)
    rows = list(read_reviews(io.BytesIO(huge + b"\nfine\n"), "txt"))
    assert [(r.id, r.text) for r in rows] == [(1, None), (2, "fine")]
    assert "limit" in (rows[0].error or "")


@pytest.mark.parametrize(
    ("name", "content", "flag"),
    [
        ("in.csv", "id,body\n1,great\n", "--text-field"),
        ("in.jsonl", '{"id": 1, "body": "great"}\n', "--text-field"),
    ],
)
def test_missing_text_column_is_one_sentence(
    tmp_path: Path,
    small_run: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str,
    flag: str,
) -> None:
    source = tmp_path / name
    source.write_text(content)
    code, _ = _score(tmp_path, small_run, source, "out.jsonl")
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "'text'" in err and flag in err
    assert not (tmp_path / "out.jsonl").exists()


def test_run_without_model_is_refused(
    tmp_path: Path, small_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "artifacts" / small_run.name
    run.mkdir(parents=True)
    (run / "vocabulary.json").write_bytes((small_run / "vocabulary.json").read_bytes())
    source = tmp_path / "in.txt"
    source.write_text("great\n")
    code, _ = _score(tmp_path, run, source, "out.jsonl")
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "model.tar.gz" in err and "sentiment train" in err


@pytest.mark.parametrize("alias", ["same", "relative", "hardlink", "symlink"])
def test_output_over_its_own_input_is_refused_and_the_input_kept(
    tmp_path: Path,
    small_run: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    alias: str,
) -> None:
    source = tmp_path / "same.txt"
    source.write_text("great\nawful\n")
    monkeypatch.chdir(tmp_path)
    output = {"same": str(source), "relative": "same.txt"}.get(alias, str(tmp_path / "other"))
    if alias == "hardlink":
        os.link(source, output)
    elif alias == "symlink":
        os.symlink(source, output)
    code = main(
        ["score", str(source), "--output", output, "--format", "jsonl", "--run", str(small_run)]
        + ["--no-progress", "--workers", "1"]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "input file itself" in err
    assert source.read_text() == "great\nawful\n"


def test_pool_keeps_input_order_across_chunks(
    tmp_path: Path, small_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "CHUNK_REVIEWS", 7)
    texts = [TEXTS[i % len(TEXTS)] + f" {i}" for i in range(60)]
    reviews = [inputs.Review(i + 1, i + 1, t) for i, t in enumerate(texts)]
    reviews[10] = inputs.Review(11, 11, None, "the review is empty")
    pooled = list(local.score_reviews(reviews, small_run, workers=2))
    single = list(local.score_reviews(reviews, small_run, workers=1))
    assert pooled == single
    assert [r.id for r in pooled] == list(range(1, 61))
    assert pooled[10].error and pooled[10].probability is None


def test_the_size_limit_is_the_apis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "sentiment_api"))
    from chalicelib import settings

    api = settings.load({"SENTIMENT_STAGE": "dev", "SENTIMENT_BUCKET": "b"})
    assert api.max_review_bytes == MAX_REVIEW_BYTES


def test_a_damaged_run_is_one_sentence_before_any_worker_starts(
    tmp_path: Path, small_run: Path, libsvm_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "artifacts" / small_run.name
    run.mkdir(parents=True)
    (run / "model.tar.gz").write_bytes((small_run / "model.tar.gz").read_bytes())
    (run / "vocabulary.json").write_bytes((libsvm_run / "vocabulary.json").read_bytes())
    source = tmp_path / "in.txt"
    source.write_text("great\n")
    code, _ = _score(tmp_path, run, source, "out.jsonl", "--workers", "2")
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "does not belong" in err


def test_csv_quote_left_open_is_an_error_row_naming_its_line() -> None:
    data = b'id,text\n0,fine\n1,"great film\n2,awful film\n3,boring\n'
    rows = list(read_reviews(io.BytesIO(data), "csv"))
    assert [(r.id, r.text) for r in rows] == [("0", "fine"), (None, None)]
    assert "line 3" in (rows[1].error or "") and "never closed" in (rows[1].error or "")


def test_csv_text_after_a_closing_quote_is_an_error_row_and_reading_goes_on() -> None:
    data = b'id,text\n1,"good" film\n2,"quoted, ok\nacross lines"\n3,dull\n'
    rows = list(read_reviews(io.BytesIO(data), "csv"))
    assert [r.text for r in rows] == [None, "quoted, ok\nacross lines", "dull"]
    assert "line 2" in (rows[0].error or "")
    assert [r.id for r in rows] == [None, "2", "3"]


def test_csv_row_with_more_fields_than_the_header_is_an_error_row() -> None:
    data = "id,text\nr5,fine\nr6,café was bad,extra\n".encode()
    rows = list(read_reviews(io.BytesIO(data), "csv"))
    assert [(r.id, r.text) for r in rows] == [("r5", "fine"), ("r6", None)]
    assert "3 fields" in (rows[1].error or "") and "header has 2" in (rows[1].error or "")


def test_csv_quote_swallowing_past_the_limit_is_refused_with_its_line() -> None:
    data = b'id,text\n1,"open\n' + (b"x" * 99 + b"\n") * (9 * MAX_REVIEW_BYTES // 100)
    with pytest.raises(DataError, match="line 2"):
        list(read_reviews(io.BytesIO(data), "csv"))


@pytest.mark.parametrize(
    ("output", "fmt", "expected"),
    [
        ("x.jsonl", None, "jsonl"),
        ("x.JSON", None, "jsonl"),
        ("x.csv", None, "csv"),
        ("-", None, "jsonl"),
        ("x.parquet", "csv", "csv"),
        ("x", "jsonl", "jsonl"),
    ],
)
def test_output_format_from_a_known_extension_or_the_flag(
    output: str, fmt: str | None, expected: str
) -> None:
    assert output_format(output, fmt) == expected


@pytest.mark.parametrize("output", ["x.parquet", "x.txt", "scores", "x.jsonl.gz"])
def test_unknown_output_extension_is_refused_naming_the_known_ones(output: str) -> None:
    with pytest.raises(UsageError, match=r"\.jsonl.*\.csv.*--format"):
        output_format(output, None)


@pytest.mark.parametrize(
    ("rows", "errors", "said"),
    [(1, 1, "1 row (1 error)"), (2, 0, "2 rows (0 errors)"), (1200, 3, "1,200 rows (3 errors)")],
)
def test_summary_counts_agree_with_their_numbers(rows: int, errors: int, said: str) -> None:
    assert counted(rows, errors) == said


@pytest.mark.parametrize(("count", "said"), [(1, "1 shard"), (3, "3 shards"), (0, "0 shards")])
def test_the_sagemaker_summary_counts_shards_in_agreement(count: int, said: str) -> None:
    # "3 rows in 1 shards" was what --sagemaker said for a small input.
    assert plural(count, "shard") == said


def test_a_tiny_input_shows_its_time_not_a_rate(
    tmp_path: Path, small_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.txt"
    source.write_text("a fine film\n\n")
    code, _ = _score(tmp_path, small_run, source, "out.jsonl")
    err = capsys.readouterr().err
    assert code == 0
    assert "scored 2 rows (1 error)" in err and " s -> " in err and "reviews/s" not in err
