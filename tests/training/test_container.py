"""Bodies parsed as the SageMaker XGBoost container 3.2-0 parses them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import xgboost

from training.container import (
    TooManyColumns,
    UnparsableBody,
    media_type,
    parse_body,
    predict,
)


def _dense(body: bytes, content_type: str) -> np.ndarray:
    matrix = parse_body(body, content_type)
    out = np.full((matrix.num_row(), matrix.num_col()), np.nan)
    csr = matrix.get_data()
    for r in range(csr.shape[0]):
        row = csr.getrow(r)
        out[r, row.indices] = row.data
    return out


def test_csv_rows_and_zeros_are_values() -> None:
    m = _dense(b"1,0,2.5\n0,0,0\n", "text/csv")
    assert m.shape == (2, 3)
    assert m[0].tolist() == [1.0, 0.0, 2.5]
    assert m[1].tolist() == [0.0, 0.0, 0.0]


def test_csv_empty_field_is_missing() -> None:
    m = _dense(b"1,,3", "text/csv")
    assert np.isnan(m[0, 1])


def test_libsvm_one_based_rows_are_shifted() -> None:
    m = _dense(b"1:0.5 3:2\n2:1", "text/libsvm")
    assert m.shape == (2, 3)
    assert m[0, 0] == 0.5 and m[0, 2] == 2.0 and m[1, 1] == 1.0
    assert np.isnan(m[0, 1])  # absent means missing


def test_libsvm_zero_based_row_is_not_shifted() -> None:
    m = _dense(b"0:1 2:1", "text/x-libsvm")
    assert m.shape == (1, 3) and m[0, 0] == 1.0 and m[0, 2] == 1.0


def test_libsvm_shift_is_decided_for_the_whole_body() -> None:
    # The container looks at the smallest index of the whole body, not row by row.
    m = _dense(b"2:1\n0:5", "text/libsvm")
    assert m[0, 2] == 1.0 and m[1, 0] == 5.0


def test_libsvm_as_the_container_splits_it() -> None:
    # Any whitespace separates pairs, a repeated index keeps its last value, and a pair is
    # split at its first colon only ("1:2:3" is not a number).
    assert _dense(b"1:1\t2:5", "text/libsvm").tolist() == [[1.0, 5.0]]
    assert _dense(b"1:1 1:2", "text/libsvm").tolist() == [[2.0]]
    with pytest.raises(UnparsableBody):
        parse_body(b"1:2:3", "text/libsvm")


def test_libsvm_label_tokens_are_ignored() -> None:
    m = _dense(b"1 1:7", "text/libsvm")
    assert m.shape == (1, 1) and m[0, 0] == 7.0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"1,x,3", "text/csv"),
        (b"1,2\n1,2,3", "text/csv"),
        (b"a:1", "text/libsvm"),
        (b"1:x", "text/libsvm"),
        (b"\xff\xfe", "text/csv"),
    ],
)
def test_unparsable_bodies(body: bytes, content_type: str) -> None:
    with pytest.raises(UnparsableBody):
        parse_body(body, content_type)


def test_content_type_is_normalised() -> None:
    assert media_type("Text/CSV; charset=utf-8") == "text/csv"
    assert media_type(None) == "text/csv"
    with pytest.raises(UnparsableBody):
        media_type("application/json")


def _booster(n_features: int) -> xgboost.Booster:
    x = scipy.sparse.random(50, n_features, density=0.3, format="csr", random_state=0)
    y = (np.arange(50) % 2).astype(np.float32)
    params = {"booster": "gblinear", "objective": "binary:logistic"}
    return xgboost.train(params, xgboost.DMatrix(x, label=y), num_boost_round=3)


def test_too_many_columns_is_refused_fewer_accepted() -> None:
    booster = _booster(4)
    with pytest.raises(TooManyColumns):
        predict(booster, parse_body(b"1,2,3,4,5", "text/csv"))
    with pytest.raises(TooManyColumns):
        predict(booster, parse_body(b"5:1", "text/libsvm"))
    assert predict(booster, parse_body(b"1,2,3", "text/csv")).shape == (1,)
    assert predict(booster, parse_body(b"4:1", "text/libsvm")).shape == (1,)


# `sentiment evaluate` (training.container) and the local runtime (devstack.xgb_container)
# each parse bodies as the container does; the design forbids one importing the other, so
# this keeps the two copies of that one behaviour from drifting apart.
AGREEMENT_BODIES = [
    (b"1,0,2.5\n0,0,0\n", "text/csv"),
    (b"1,,3", "text/csv"),
    (b"0.5\t1\t0", "text/csv"),
    (b"1:0.5 3:2\n2:1", "text/libsvm"),
    (b"0:1 2:1", "text/x-libsvm"),
    (b"1 1:7", "text/libsvm; charset=utf-8"),
    (b"3:1\n\n1:1", "text/libsvm"),
    (b"0:1\n2:1", "text/libsvm"),
    (b"2:1\n0:1 1:1", "text/libsvm"),
    (b"1:1\t2:1", "text/libsvm"),
    (b"1:2:3", "text/libsvm"),
    (b"1:1 1:2", "text/libsvm"),
    (b"1,2\n3", "text/csv"),
    (b"a,b", "text/csv"),
    (b"1:x", "text/libsvm"),
    (b"\xff,1", "text/csv"),
]


@pytest.mark.parametrize(("body", "content_type"), AGREEMENT_BODIES)
def test_evaluate_parses_bodies_as_the_local_runtime_does(body: bytes, content_type: str) -> None:
    from devstack import xgb_container

    try:
        ours = parse_body(body, content_type)
    except UnparsableBody:
        with pytest.raises(xgb_container.ContainerError):
            xgb_container.parse(body, content_type)
        return
    theirs = xgb_container.parse(body, content_type)
    assert (ours.num_row(), ours.num_col()) == (theirs.num_row(), theirs.num_col())
    a, b = ours.get_data().toarray(), theirs.get_data().toarray()
    np.testing.assert_array_equal(a, b)
