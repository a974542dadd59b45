"""What the SageMaker XGBoost container (algorithm mode, 3.2-0) does with one invocation.

Mirrors ``sagemaker_xgboost_container.algorithm_mode.serve`` / ``serve_utils`` / ``encoder``
(github.com/aws/sagemaker-xgboost-container), without Flask or gunicorn:

- the content type is lower-cased and its parameters dropped; none means ``text/csv``;
  anything but csv, libsvm, x-libsvm and recordio-protobuf is a 415;
- an empty body is a 204 with an empty answer;
- ``text/csv``: the payload is stripped, rows are split on ``\\n``, the delimiter is sniffed
  from the first row (``,`` when the sniffer answers a letter or digit), empty fields are
  NaN, no header and no label column; anything that does not parse is a 415;
- ``text/libsvm``: tokens without ``:`` (labels) are ignored; a row whose smallest index is
  1 or more is 1-based and shifted to 0-based; anything that does not parse is a 415;
- prediction errors (more columns than the model's ``num_feature``) are a 400 "Unable to
  evaluate payload provided: ..."; fewer columns are accepted, as XGBoost does;
- the answer is ``text/csv``: one prediction per line.

``application/x-recordio-protobuf`` is accepted by the real container; this stand-in does
not implement it and answers 415 saying so.
"""

from __future__ import annotations

import contextlib
import csv
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    import xgboost

CSV = "text/csv"
LIBSVM = "text/libsvm"
X_LIBSVM = "text/x-libsvm"
RECORDIO_PROTOBUF = "application/x-recordio-protobuf"
SUPPORTED_CONTENT_TYPES = (CSV, LIBSVM, X_LIBSVM, RECORDIO_PROTOBUF)
# Threads to build a request's DMatrix with. The container leaves XGBoost's default (every
# core); the matrix is the same either way, and for the few rows of a request a thread
# pool costs far more than the copy: about 10 ms a body instead of 0.5 ms when the cores
# are busy, since OpenMP's threads spin waiting for one another.
_THREADS = 1


class ContainerError(Exception):
    """The container answered with a non-2xx status; ``message`` is its body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ContainerAnswer:
    status: int
    body: bytes
    content_type: str


def media_type(content_type: str | None) -> str:
    """The container's ``get_content_type``: normalised media type, or a 415."""
    media = (content_type or CSV).lower().split(";")[0].strip()
    if media not in SUPPORTED_CONTENT_TYPES:
        raise ContainerError(
            415,
            f"Content-type {media} not supported. Supported content-type is text/csv, "
            "text/libsvm, application/x-recordio-protobuf",
        )
    return media


def _csv_rows(text: str) -> list[list[str]]:
    sniffed = csv.Sniffer().sniff(text.split("\n")[0][:512]).delimiter
    delimiter = "," if sniffed.isalnum() else sniffed
    return [
        ["nan" if field == "" else field for field in row.split(delimiter)]
        for row in text.split("\n")
    ]


def _parse_failure(kind: str, exc: Exception) -> ContainerError:
    return ContainerError(
        415,
        f"Loading {kind} data failed with Exception, please ensure data is in {kind} format:\n"
        f" {type(exc)}\n {exc}",
    )


def _csv_matrix(payload: bytes) -> xgboost.DMatrix:
    import numpy as np
    import xgboost as xgb

    try:
        rows = _csv_rows(payload.strip().decode("utf-8"))
        return xgb.DMatrix(np.array(rows).astype(float), nthread=_THREADS)
    except Exception as exc:  # noqa: BLE001 - the container turns any parse failure into 415
        raise _parse_failure("csv", exc) from exc


def _libsvm_matrix(payload: bytes) -> xgboost.DMatrix:
    import numpy as np
    import xgboost as xgb
    from scipy.sparse import csr_matrix

    try:
        rows: list[int] = []
        cols: list[int] = []
        values: list[float] = []
        lines = payload.strip().decode("utf-8").split("\n")
        for row_idx, line in enumerate(lines):
            row: dict[int, float] = {}  # a repeated index: the last one wins
            for item in line.split():
                if ":" in item:
                    index, value = item.split(":", 1)
                    row[int(index)] = float(value)
            rows.extend([row_idx] * len(row))
            cols.extend(row)
            values.extend(row.values())
        # As the container: indices are 1-based, and shifted down, when the smallest index
        # of the whole body is >= 1.
        shift = 1 if cols and min(cols) >= 1 else 0
        if cols and min(cols) < 0:
            raise ValueError(f"negative feature index {min(cols)}")
        cols = [c - shift for c in cols]
        width = max(cols) + 1 if cols else 0
        matrix = csr_matrix(
            (np.array(values, dtype=float), (np.array(rows, dtype=int), np.array(cols, dtype=int))),
            shape=(len(lines), width),
        )
        return xgb.DMatrix(matrix, nthread=_THREADS)
    except Exception as exc:  # noqa: BLE001 - the container turns any parse failure into 415
        raise _parse_failure("libsvm", exc) from exc


def parse(payload: bytes, content_type: str | None) -> xgboost.DMatrix:
    """The request body as a DMatrix, or a :class:`ContainerError` (415)."""
    media = media_type(content_type)
    if media == CSV:
        return _csv_matrix(payload)
    if media in (LIBSVM, X_LIBSVM):
        return _libsvm_matrix(payload)
    raise ContainerError(
        415, f"Content-type {media} is not supported by the local SageMaker runtime."
    )


def _first_line(error: Exception) -> str:
    # XGBoost appends a native stack trace; the first line carries the reason.
    return str(error).split("\n", 1)[0].strip()


def predict(
    booster: xgboost.Booster,
    matrix: xgboost.DMatrix,
    lock: AbstractContextManager[object] | None = None,
) -> list[float]:
    """Predictions, one per row, or a :class:`ContainerError` (400). ``lock`` serialises
    calls on one Booster: XGBoost guarantees thread-safe prediction only for tree boosters
    (the container runs one process per worker instead)."""
    import xgboost as xgb

    try:
        with lock or contextlib.nullcontext():
            predictions = booster.predict(matrix, validate_features=False)
    except xgb.core.XGBoostError as exc:
        raise ContainerError(
            400, f"Unable to evaluate payload provided: {_first_line(exc)}"
        ) from exc
    return [float(p) for p in predictions.reshape(-1).tolist()]


def format_predictions(predictions: list[float]) -> bytes:
    """``text/csv`` answer: one prediction per line, as ``str(float)``."""
    return "\n".join(str(p) for p in predictions).encode("ascii")


def invoke(
    booster: xgboost.Booster,
    payload: bytes,
    content_type: str | None,
    lock: AbstractContextManager[object] | None = None,
) -> ContainerAnswer:
    """One ``/invocations`` call: the container's status, body and content type."""
    if len(payload) == 0:
        return ContainerAnswer(204, b"", CSV)
    matrix = parse(payload, content_type)
    return ContainerAnswer(200, format_predictions(predict(booster, matrix, lock)), CSV)
