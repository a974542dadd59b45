"""Request bodies read the way the SageMaker XGBoost container (3.2-0) reads them.

``sentiment evaluate`` and the no-skew test score through this, so what they measure is
what the endpoint would answer. Following the container's ``serve_utils`` / ``encoder``:

- ``text/csv``: the body is stripped and split on ``\\n``; the delimiter is sniffed from
  the first row (``,`` when the sniffer answers a letter or digit); empty fields are NaN;
  every field becomes a float; the rows make one dense array. A 0 is a value.
- ``text/libsvm`` (and ``text/x-libsvm``): rows split on ``\\n``, items on spaces; items
  without ``:`` (labels) are ignored; a row whose smallest index is 1 or more is 1-based and
  shifted to 0-based; the matrix is a CSR whose shape is inferred from the largest row and
  column seen (so an empty trailing row would vanish: vocab_store sends ``1:0``).
- prediction with more columns than the model has is an error; fewer are accepted.

Only what evaluation needs: the local SageMaker runtime (devstack) has its own copy, as it
may not import ``training``.
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

from training.errors import CommandError

if TYPE_CHECKING:
    import numpy as np
    import xgboost

CSV = "text/csv"
LIBSVM_TYPES = ("text/libsvm", "text/x-libsvm")


class BodyError(CommandError):
    """A body the container would refuse (HTTP 415) or fail to score (HTTP 400)."""

    status = 415


class UnparsableBody(BodyError):
    """The body does not parse as its content type (the container's 415)."""


class TooManyColumns(BodyError):
    """The body has more columns than the model has features (the container's 400)."""

    status = 400


def media_type(content_type: str | None) -> str:
    """The container's normalised media type: lower case, parameters dropped, CSV default."""
    media = (content_type or CSV).lower().split(";")[0].strip()
    if media != CSV and media not in LIBSVM_TYPES:
        raise UnparsableBody(f"content type {media} is not text/csv or text/libsvm")
    return media


def parse_body(body: bytes, content_type: str) -> xgboost.DMatrix:
    """The DMatrix the container builds from ``body``; :class:`UnparsableBody` if none."""
    media = media_type(content_type)
    try:
        text = body.strip().decode("utf-8")
        matrix = _parse_csv(text) if media == CSV else _parse_libsvm(text)
    except (ValueError, IndexError, csv.Error, UnicodeDecodeError) as exc:
        raise UnparsableBody(f"body is not {media}: {exc}") from exc
    import xgboost

    return xgboost.DMatrix(matrix)


def _parse_csv(text: str) -> np.ndarray:
    import numpy as np

    sniffed = csv.Sniffer().sniff(text.split("\n")[0][:512]).delimiter
    delimiter = "," if sniffed.isalnum() else sniffed
    rows = [["nan" if f == "" else f for f in line.split(delimiter)] for line in text.split("\n")]
    array = np.array(rows).astype(float)
    if array.ndim != 2:
        raise ValueError("rows have different numbers of fields")
    return array


def _parse_libsvm(text: str) -> object:
    import numpy as np
    from scipy.sparse import csr_matrix

    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    for row_number, line in enumerate(text.split("\n")):
        row: dict[int, float] = {}  # a repeated index: the last one wins
        for item in line.split():
            if ":" in item:
                index, value = item.split(":", 1)
                row[int(index)] = float(value)
        rows.extend([row_number] * len(row))
        cols.extend(row)
        values.extend(row.values())
    # 1-based, and shifted down, when the smallest index of the whole body is >= 1.
    shift = 1 if cols and min(cols) >= 1 else 0
    if cols and min(cols) < 0:
        raise ValueError(f"negative feature index {min(cols)}")
    cols = [c - shift for c in cols]
    return csr_matrix(
        (np.array(values, dtype=float), (np.array(rows, dtype=int), np.array(cols, dtype=int)))
    )


def predict(booster: xgboost.Booster, matrix: xgboost.DMatrix) -> np.ndarray:
    """Probabilities, one per row, as the container computes them; too many columns is
    :class:`TooManyColumns`."""
    import xgboost

    if matrix.num_col() > booster.num_features():
        raise TooManyColumns(
            f"body has {matrix.num_col()} columns; the model has {booster.num_features()}"
        )
    try:
        return booster.predict(matrix, validate_features=False)
    except xgboost.core.XGBoostError as exc:
        raise TooManyColumns(f"the model cannot score this body: {exc}") from exc
