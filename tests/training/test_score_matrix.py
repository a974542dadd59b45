"""Local scoring builds the model's matrix from the encoder's vectors, without writing and
parsing libsvm text: its probabilities must be the container emulation's (the path of the
local runtime, so of the API's local endpoint), bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack import xgb_container
from tests.conftest import IMDB_DIR, REPO
from training.data import load_split, sample
from training.evaluate import serving_probabilities
from training.score.local import RunModel, libsvm_matrix
from vocab_store.encode import SparseVector, float32_texts

NO_KNOWN_TERM = "Xyzzy plugh qwertyuiop."


def test_probabilities_are_the_containers_exactly_on_real_reviews(
    libsvm_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(REPO / "sentiment_api"))
    from chalicelib.endpoint import parse_probabilities

    texts = [*sample(load_split(IMDB_DIR, "test"), seed=18, limit=2500).texts, NO_KNOWN_TERM]
    model = RunModel(libsvm_run)
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
    ours = xgb_container.predict(_TREES, libsvm_matrix(vectors))
    theirs = xgb_container.predict(_TREES, xgb_container.parse(_body(vectors), "text/libsvm"))
    assert ours == theirs
