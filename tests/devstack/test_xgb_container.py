"""Bodies parsed as the SageMaker XGBoost container 3.2-0 parses them: the one emulation,
used by the local runtime and by `sentiment evaluate`."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import xgboost

from devstack.xgb_container import ContainerError, media_type, parse, predict


def _dense(body: bytes, content_type: str) -> np.ndarray:
    matrix = parse(body, content_type)
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
    with pytest.raises(ContainerError) as refused:
        parse(b"1:2:3", "text/libsvm")
    assert refused.value.status == 415


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
    with pytest.raises(ContainerError) as refused:
        parse(body, content_type)
    assert refused.value.status == 415


def test_content_type_is_normalised() -> None:
    assert media_type("Text/CSV; charset=utf-8") == "text/csv"
    assert media_type(None) == "text/csv"
    with pytest.raises(ContainerError) as refused:
        media_type("application/json")
    assert refused.value.status == 415


def _booster(n_features: int) -> xgboost.Booster:
    x = scipy.sparse.random(50, n_features, density=0.3, format="csr", random_state=0)
    y = (np.arange(50) % 2).astype(np.float32)
    params = {"booster": "gblinear", "objective": "binary:logistic"}
    return xgboost.train(params, xgboost.DMatrix(x, label=y), num_boost_round=3)


def test_too_many_columns_is_refused_fewer_accepted() -> None:
    booster = _booster(4)
    for body, content_type in [(b"1,2,3,4,5", "text/csv"), (b"5:1", "text/libsvm")]:
        with pytest.raises(ContainerError, match="Unable to evaluate payload") as refused:
            predict(booster, parse(body, content_type))
        assert refused.value.status == 400
    assert len(predict(booster, parse(b"1,2,3", "text/csv"))) == 1
    assert len(predict(booster, parse(b"4:1", "text/libsvm"))) == 1
