from __future__ import annotations

import math
import subprocess
import sys
import unicodedata
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from vocab_store import Encoder, Vocabulary, body_width, format_value

HEAVY = {"numpy", "scipy", "sklearn", "xgboost", "pandas", "sagemaker"}

HOSTILE = [
    "a,b,c",
    'say "hello", "bye"',
    "line\nbreak\r\nand\rmore",
    "=cmd|' /C calc'!A0",
    "+1+1,@SUM(A1)",
    "nul\x00byte",
    "\x01\x02\x1b[31mred\x7f",
    "",
    "   ",
    "ok ::: 1:2 3:4",
]


def _check_shape(encoder: Encoder, body: bytes, rows: int) -> None:
    text = body.decode("ascii")
    lines = text.split("\n")
    assert len(lines) == rows
    for line in lines:
        assert line and line == line.strip()
        if encoder.content_type == "text/csv":
            fields = line.split(",")
            assert len(fields) == encoder.feature_count
            assert all(f == "0" or float(f) != 0.0 for f in fields)
        else:
            cols = [int(item.split(":")[0]) for item in line.split(" ")]
            assert cols == sorted(set(cols))
            assert 1 <= cols[0] and cols[-1] <= encoder.feature_count
            [float(item.split(":")[1]) for item in line.split(" ")]


@given(st.text())
@example("\ud800 lone surrogate")
def test_any_text_encodes_to_a_well_formed_row(any_vocabulary: Vocabulary, text: str) -> None:
    encoder = Encoder(any_vocabulary)
    _check_shape(encoder, encoder.body(text), 1)


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_many_reviews_make_one_row_each(any_vocabulary: Vocabulary, texts: list[str]) -> None:
    encoder = Encoder(any_vocabulary)
    body = encoder.body(texts)
    _check_shape(encoder, body, len(texts))
    assert body == b"\n".join(encoder.body(t) for t in texts)


@given(st.text())
def test_encoding_is_deterministic_and_nfc_nfd_agnostic(
    any_vocabulary: Vocabulary, text: str
) -> None:
    a, b = Encoder(any_vocabulary), Encoder(any_vocabulary)
    assert a.body(text) == b.body(text) == a.body(text)
    assert a.body(unicodedata.normalize("NFC", text)) == a.body(unicodedata.normalize("NFD", text))


def test_hostile_characters_never_change_the_shape(any_vocabulary: Vocabulary) -> None:
    encoder = Encoder(any_vocabulary)
    body = encoder.body(HOSTILE)
    _check_shape(encoder, body, len(HOSTILE))
    widths = body_width(body, encoder.content_type)
    if encoder.content_type == "text/csv":
        assert widths == [encoder.feature_count] * len(HOSTILE)
    else:
        assert all(1 <= w <= encoder.feature_count for w in widths)


def test_dense_csv_has_no_header_no_trailing_comma(vocabulary: Vocabulary) -> None:
    encoder = Encoder(vocabulary)
    row = encoder.csv_row("a wonderful movie")
    assert not row.endswith(",") and not row.startswith(",")
    assert len(row.split(",")) == vocabulary.feature_count
    assert row.split(",")[vocabulary.index["wonder"]] == "1"


def test_libsvm_indices_are_one_based(any_vocabulary: Vocabulary) -> None:
    encoder = Encoder(any_vocabulary)
    col = any_vocabulary.index["act"]
    row = encoder.libsvm_row("acting")
    assert row.split(":")[0] == str(col + 1)


def test_unknown_words_give_an_all_zero_row(any_vocabulary: Vocabulary) -> None:
    encoder = Encoder(any_vocabulary)
    body = encoder.body("zzzz qqqq")
    if encoder.content_type == "text/csv":
        assert body == b",".join([b"0"] * any_vocabulary.feature_count)
    else:
        assert body == b"1:0"  # a row must exist; column 1 explicitly 0


def test_values_follow_the_vocabulary_weighting(any_vocabulary: Vocabulary) -> None:
    encoder = Encoder(any_vocabulary)
    vector = encoder.vector("acting acting superb")
    norm = sum(v * v for _, v in vector)
    assert abs(norm - 1.0) < 1e-12  # l2-normalised
    weights = any_vocabulary.weights
    assert weights is not None
    act, sup = any_vocabulary.index["act"], any_vocabulary.index["superb"]
    values = dict(vector)
    # log_count: 1 + ln(2) for "act", 1 for "superb", each times its weight, then scaled.
    ratio = values[act] / values[sup]
    assert abs(ratio - (1 + math.log(2)) * weights[act] / weights[sup]) < 1e-12


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_formatted_values_parse_back_exactly(value: float) -> None:
    assert float(format_value(value)) == value


def test_body_width_reports_what_the_api_checks(vocabulary: Vocabulary) -> None:
    encoder = Encoder(vocabulary)
    assert body_width(encoder.body(["good", "bad"]), "text/csv") == [vocabulary.feature_count] * 2
    assert body_width(b"1:1 7:0.5\n3:2", "text/libsvm") == [7, 3]


def test_import_loads_no_heavy_modules(vocabulary: Vocabulary, tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text(vocabulary.to_json(), encoding="utf-8")
    code = (
        "import sys, vocab_store\n"
        f"v = vocab_store.loads(open({str(path)!r}, 'rb').read())\n"
        f"heavy = {sorted(HEAVY)!r}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_encoding_works_where_heavy_modules_do_not_exist(
    vocabulary: Vocabulary, tmp_path: Path
) -> None:
    # As in the Lambda zip: numpy & co. cannot be imported at all. (nltk imports numpy
    # when it can, so in this venv we block them to prove nothing of ours needs them.)
    path = tmp_path / "v.json"
    path.write_text(vocabulary.to_json(), encoding="utf-8")
    review = "Don't miss it: the acting was superb <br /> and the score great."
    code = (
        "import sys\n"
        f"for name in {sorted(HEAVY)!r}: sys.modules[name] = None\n"
        "import vocab_store\n"
        f"v = vocab_store.loads(open({str(path)!r}, 'rb').read())\n"
        f"sys.stdout.write(vocab_store.Encoder(v).body({review!r}).decode())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == Encoder(vocabulary).body(review).decode()
