"""Reading IMDB: both layouts, clear errors, seeded shuffles, a train-only validation split."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.training.conftest import write_jsonl
from training.data import (
    GROUP_BLOCK,
    Reviews,
    load_sentences,
    load_split,
    review_group,
    sample,
    shuffled_split,
)
from training.errors import DataError


def test_reads_jsonl(tiny_data: Path) -> None:
    reviews = load_split(tiny_data, "train")
    assert len(reviews) == 40
    assert set(reviews.labels) == {0, 1}
    assert reviews.checksum == load_split(tiny_data, "train").checksum


def test_missing_data_names_files_and_source(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_split(tmp_path / "nowhere", "train")
    message = str(err.value)
    assert "train.jsonl.gz" in message and "test.jsonl.gz" in message
    assert "aclImdb" in message and "stanford.edu" in message


def test_damaged_gzip_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="train.jsonl.gz"):
        load_split(tmp_path, "train")


def test_truncated_gzip_is_a_data_error(tiny_data: Path) -> None:
    path = tiny_data / "train.jsonl.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError):
        load_split(tiny_data, "train")


def test_bad_record_names_its_line(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "train.jsonl.gz", [{"text": "fine", "label": 1}, {"text": "x"}])
    with pytest.raises(DataError, match="line 2"):
        load_split(tmp_path, "train")


def test_bad_label_is_refused(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "train.jsonl.gz", [{"text": "fine", "label": 5}])
    with pytest.raises(DataError, match="label"):
        load_split(tmp_path, "train")


def test_reads_extracted_aclimdb_folder(tmp_path: Path) -> None:
    for label, text in (("pos", "Loved it"), ("neg", "Hated it")):
        folder = tmp_path / "aclImdb" / "test" / label
        folder.mkdir(parents=True)
        (folder / "0_9.txt").write_text(text, encoding="utf-8")
        (folder / "1_8.txt").write_text(text + "!", encoding="utf-8")
    reviews = load_split(tmp_path, "test")
    assert reviews.labels == (1, 1, 0, 0)
    assert reviews.texts[0] == "Loved it"
    assert reviews.ids[0] == "test/pos/0_9.txt"


def test_gzip_is_read_not_modified(tiny_data: Path) -> None:
    before = (tiny_data / "train.jsonl.gz").read_bytes()
    load_split(tiny_data, "train")
    assert (tiny_data / "train.jsonl.gz").read_bytes() == before
    assert gzip.decompress(before)


def test_split_is_seeded_disjoint_and_shuffled(tiny_data: Path) -> None:
    reviews = load_split(tiny_data, "train")
    fit, val = shuffled_split(reviews, validation_fraction=0.25, seed=1)
    fit2, val2 = shuffled_split(reviews, validation_fraction=0.25, seed=1)
    assert (fit.ids, val.ids) == (fit2.ids, val2.ids)
    assert len(val) == 10 and len(fit) == 30
    assert not set(fit.ids) & set(val.ids)
    assert set(fit.ids) | set(val.ids) == set(reviews.ids)
    other, _ = shuffled_split(reviews, validation_fraction=0.25, seed=2)
    assert other.ids != fit.ids
    # The source is sorted (all positive first); a shuffle mixes the labels.
    assert fit.labels != tuple(sorted(fit.labels, reverse=True))
    assert fit.checksum != val.checksum != reviews.checksum


def test_limit_and_sample(tiny_data: Path) -> None:
    reviews = load_split(tiny_data, "test")
    fit, val = shuffled_split(reviews, validation_fraction=0.5, seed=3, limit=8)
    assert len(fit) + len(val) == 8
    assert sample(reviews, seed=3, limit=5).ids == sample(reviews, seed=3, limit=5).ids
    assert len(sample(reviews, seed=3, limit=None)) == len(reviews)


def test_reads_raw_utf8_jsonl(tmp_path: Path) -> None:
    # JSON Lines written with ensure_ascii=False: raw UTF-8, not \u escapes.
    line = '{"text": "Un café délicieux — bravo", "label": 1}\n'
    (tmp_path / "train.jsonl.gz").write_bytes(gzip.compress(line.encode("utf-8")))
    reviews = load_split(tmp_path, "train")
    assert reviews.texts == ("Un café délicieux — bravo",) and reviews.labels == (1,)


def _block_reviews(per_label: int) -> Reviews:
    ids = [f"train/{d}/{i}_{s}.txt" for d, s in (("pos", 9), ("neg", 2)) for i in range(per_label)]
    labels = [1] * per_label + [0] * per_label
    return Reviews(tuple(ids), tuple(f"review {i}" for i in ids), tuple(labels), "x")


def test_validation_holds_whole_blocks_of_ids_in_the_labels_balance() -> None:
    reviews = _block_reviews(12_500)
    fit, val = shuffled_split(reviews, validation_fraction=0.1, seed=42)
    assert not set(fit.ids) & set(val.ids) and len(fit) + len(val) == 25_000
    held = {review_group(i) for i in val.ids}
    assert not held & {review_group(i) for i in fit.ids}  # a movie's block on one side
    assert sum(val.labels) == len(val) - sum(val.labels)
    assert abs(len(val) - 2500) <= 2 * GROUP_BLOCK
    assert review_group("train/pos/1234_9.txt") == review_group("train/pos/1299_7.txt")
    assert review_group("train/pos/1234_9.txt") != review_group("train/pos/1300_9.txt")
    assert review_group("feedback:abc") == "feedback:abc"


def test_sentences_split_on_newline_and_last_tab_only(tmp_path: Path) -> None:
    path = tmp_path / "short.txt"
    path.write_text('A "great"\tfilm\u0085 really.\t1\nDull.\t0\n', encoding="utf-8")
    found = load_sentences(path)
    assert found.texts == ('A "great"\tfilm\u0085 really.', "Dull.")
    assert found.labels == (1, 0)
    path.write_text("no label here\n", encoding="utf-8")
    with pytest.raises(DataError, match=":1:"):
        load_sentences(path)
