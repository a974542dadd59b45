"""What ``bench app`` puts where the handler's collaborators are: an endpoint that answers at
once (its own time recorded, so it can be taken out) and a vocabulary that is already live."""

from __future__ import annotations

import io
import time
from typing import Any


class InstantEndpoint:
    """An endpoint client that answers at once: one probability per row, the one the
    vocabulary's weights give (so the per-request sum check passes), or 0.73 for a
    vocabulary without weights. Its own time is recorded in ``spent_ns`` and taken out of
    the handler's, and every call's rows and bytes in ``calls``."""

    def __init__(self, vocabulary: Any) -> None:
        self.linear = vocabulary.linear
        self.spent_ns = 0
        self.calls: list[tuple[int, int]] = []

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        start = time.perf_counter_ns()
        body = kwargs["Body"]
        rows = body.decode("ascii").split("\n")
        self.calls.append((len(rows), len(body)))
        if self.linear is None:
            answer = b"\n".join([b"0.73"] * len(rows))
        else:
            libsvm = kwargs["ContentType"] == "text/libsvm"
            answer = "\n".join(repr(self._probability(r, libsvm)) for r in rows).encode()
        self.spent_ns += time.perf_counter_ns() - start
        return {"Body": io.BytesIO(answer)}

    def _probability(self, row: str, libsvm: bool) -> float:
        from vocab_store.linear import sigmoid

        weights = self.linear.coefficients
        if libsvm:
            pairs = [item.split(":") for item in row.split(" ")]
            total = sum(weights[int(i) - 1] * float(v) for i, v in pairs)
        else:
            total = sum(w * float(v) for w, v in zip(weights, row.split(","), strict=True))
        return sigmoid(self.linear.intercept + total)


class LiveCache:
    """Stands in for CachedVocabulary: the vocabulary is already live (fresh, within TTL)."""

    def __init__(self, live: Any) -> None:
        self.live = live

    def get(self, *, force: bool = False) -> Any:
        return self.live
