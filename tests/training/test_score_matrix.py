"""Local scoring builds the model's matrix for a whole chunk of reviews with numpy, without
writing and parsing libsvm text: its rows must be :meth:`Encoder.vector`'s, value for value,
for every vocabulary setting, and its probabilities the container emulation's (the path of
the local runtime, so of the API's local endpoint), bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack import xgb_container
from tests.conftest import REPO
from training.artifacts import load_run
from training.data import Reviews, load_split, sample
from training.evaluate import serving_probabilities
from training.score import matrix
from training.score.local import RunModel
from training.score.matrix import MatrixEncoder, SparseRows, rows_of
from vocab_store import Encoder, TokenizerSettings, Vocabulary
from vocab_store.encode import SparseVector, float32_texts

# Long (scores thousands of reviews): handed to a worker first (tests/conftest.py).
pytestmark = pytest.mark.heavy

NO_KNOWN_TERM = "Xyzzy plugh qwertyuiop."


@pytest.fixture(scope="module")
def imdb_test(imdb_sample: Path) -> Reviews:
    """Real IMDB test reviews (the session's sample of 3,000, read once for the module)."""
    return load_split(imdb_sample, "test")


def test_probabilities_are_the_containers_exactly_on_real_reviews(
    libsvm_run: Path, imdb_test: Reviews, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(REPO / "sentiment_api"))
    from chalicelib.endpoint import parse_probabilities

    texts = [*sample(imdb_test, seed=18, limit=2500).texts, NO_KNOWN_TERM]
    model = RunModel(load_run(libsvm_run))
    scored = [
        p
        for start in range(0, len(texts), 500)
        for p, _ in model.verdicts(texts[start : start + 500])
    ]
    assert scored == serving_probabilities(libsvm_run, texts)  # ==, not approximately
    # And the API's answer for a sample: its one-review body, the container's text answer,
    # read back as the API's endpoint client reads it.
    for text, probability in list(zip(texts, scored, strict=True))[::250] + [
        (texts[-1], scored[-1])
    ]:
        answer = xgb_container.invoke(model.booster, model.encoder.body(text), "text/libsvm")
        assert parse_probabilities(answer.body, 1) == [probability]


def _body(vectors: list[SparseVector]) -> bytes:
    rows = [
        " ".join(
            f"{c + 1}:{t}" for (c, _), t in zip(v, float32_texts(x for _, x in v), strict=True)
        )
        for v in vectors
    ]
    return "\n".join(rows).encode("ascii")


_FLOAT32 = st.floats(
    min_value=-3e38, max_value=3e38, allow_nan=False, allow_infinity=False, allow_subnormal=True
)
_VECTOR = st.one_of(
    st.just([(0, 0.0)]),  # a review with no known term: the explicit "1:0"
    st.dictionaries(st.integers(0, 39), _FLOAT32, min_size=1, max_size=12).map(
        lambda d: sorted(d.items())
    ),
)


def _tree_booster() -> xgb.Booster:
    # Trees, unlike the linear booster, tell a present 0 from a missing column.
    rng = np.random.default_rng(18)
    data = rng.normal(size=(400, 40))
    data[rng.random(size=data.shape) < 0.5] = np.nan
    labels = (np.nan_to_num(data[:, 0]) + np.nan_to_num(data[:, 3]) > 0).astype(float)
    return xgb.train(
        {"objective": "binary:logistic", "max_depth": 4, "nthread": 1},
        xgb.DMatrix(data, label=labels),
        num_boost_round=8,
    )


_TREES = _tree_booster()


@settings(max_examples=60, deadline=None)
@given(st.lists(_VECTOR, min_size=1, max_size=30))
def test_matrix_is_what_the_container_parses_from_the_text(vectors: list[SparseVector]) -> None:
    ours = xgb_container.predict(_TREES, rows_of(vectors).dmatrix())
    theirs = xgb_container.predict(_TREES, xgb_container.parse(_body(vectors), "text/libsvm"))
    assert ours == theirs


def _same(ours: SparseRows, theirs: SparseRows) -> None:
    assert ours.indptr.tolist() == theirs.indptr.tolist()
    assert ours.columns.tolist() == theirs.columns.tolist()
    assert ours.values.tolist() == theirs.values.tolist()  # float64, exactly
    assert ours.known == theirs.known


def _rows_are_the_encoders(encoded: MatrixEncoder, texts: list[str]) -> None:
    _same(encoded.rows(texts), rows_of([encoded.encoder.vector(t) for t in texts]))


def test_rows_are_the_encoders_on_real_reviews(libsvm_run: Path, imdb_test: Reviews) -> None:
    model = RunModel(load_run(libsvm_run))
    assert model.matrices is not None
    texts = [*sample(imdb_test, seed=19, limit=600).texts, NO_KNOWN_TERM, ""]
    _rows_are_the_encoders(model.matrices, texts)


# Few words, most of them their own Porter stem, so that n-grams recur, across reviews too.
WORDS = ["good", "bad", "film", "plot", "not", "loved"]
_TEXT = st.lists(
    st.sampled_from(WORDS) | st.sampled_from(["xyzzy", "Films!", "<br />", "&amp;", "don't", "é"]),
    max_size=12,
)


@st.composite
def _vocabularies(draw: st.DrawFn) -> Vocabulary:
    low = draw(st.integers(1, 3))
    high = draw(st.integers(low, 3))
    grams = {
        " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=n, max_size=n)))
        for n in draw(st.lists(st.integers(1, 3), min_size=1, max_size=30))
    }
    terms = tuple(sorted(grams))
    weights = draw(
        st.none()
        | st.lists(
            st.sampled_from([0.0, -0.0, 1.0, 0.1, 1 / 3, -2.25, 3e-5, 0.7, 1e6]),
            min_size=len(terms),
            max_size=len(terms),
        ).map(tuple)
    )
    return Vocabulary(
        terms=terms,
        tokenizer=TokenizerSettings(
            stopwords=tuple(draw(st.lists(st.sampled_from(WORDS), max_size=2))),
            stemmer=draw(st.sampled_from(["none", "porter"])),
            ngram_range=(low, high),
        ),
        values=draw(st.sampled_from(["binary", "count", "log_count"])),
        weights=weights,
        norm=draw(st.sampled_from(["none", "l2"])),
        content_type="text/libsvm",
    )


@settings(max_examples=300, deadline=None)
@given(_vocabularies(), st.lists(_TEXT.map(" ".join), min_size=1, max_size=8))
def test_rows_are_the_encoders_for_every_setting(vocabulary: Vocabulary, texts: list[str]) -> None:
    _rows_are_the_encoders(MatrixEncoder(Encoder(vocabulary)), texts)


def test_too_many_words_for_an_integer_key_falls_back_to_the_encoder(
    libsvm_run: Path, imdb_test: Reviews, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix, "_KEY_LIMIT", 10)
    encoded = MatrixEncoder(RunModel(load_run(libsvm_run)).encoder)
    assert not encoded.exact
    texts = [*sample(imdb_test, seed=20, limit=20).texts, NO_KNOWN_TERM]
    _rows_are_the_encoders(encoded, texts)


def test_the_token_memo_stays_bounded_and_exact(
    libsvm_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix, "_MEMO_ENTRIES", 50)
    encoded = MatrixEncoder(RunModel(load_run(libsvm_run)).encoder)
    # Unique words, and one longer than the memo takes: none of them may pile up.
    texts = [f"good film w{i}x w{i}y {'z' * 40}" for i in range(200)]
    for start in range(0, len(texts), 20):
        _rows_are_the_encoders(encoded, texts[start : start + 20])
        assert len(encoded._token_ids) <= 50
    assert "z" * 40 not in encoded._token_ids
