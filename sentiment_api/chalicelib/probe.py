"""The last result of a check, reused for a while: ``/health`` asks the endpoint at most
once per instance per :data:`MAX_AGE` seconds (a check is billed on a serverless endpoint,
and an open route must not let anyone multiply calls to it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from chalicelib.errors import ApiError

T = TypeVar("T")
MAX_AGE = 30.0


@dataclass(frozen=True)
class _Last(Generic[T]):
    key: Hashable
    expires: float
    value: T | None
    error: ApiError | None


class LastResult(Generic[T]):
    """The value of ``check()`` for ``key`` (or the :class:`ApiError` it raised), reused
    until ``max_age`` seconds have passed or the key changes; the clock is passed in."""

    def __init__(
        self, max_age: float = MAX_AGE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_age = max_age
        self._clock = clock
        self._last: _Last[T] | None = None
        self._lock = threading.Lock()

    def get(self, key: Hashable, check: Callable[[], T]) -> T:
        with self._lock:
            last = self._last
        if last is not None and last.key == key and self._clock() < last.expires:
            if last.error is not None:
                raise last.error
            return last.value  # type: ignore[return-value]
        try:
            value = check()
        except ApiError as exc:
            self.record(key, error=exc)
            raise
        self.record(key, value)
        return value

    def record(self, key: Hashable, value: T | None = None, error: ApiError | None = None) -> None:
        """Keep an outcome learned another way (a prediction's own endpoint call is a
        fresher check than the last one), reused as if ``check()`` had returned it."""
        self._keep(_Last(key, self._clock() + self.max_age, value, error))

    def clear(self) -> None:
        self._keep(None)

    def _keep(self, last: _Last[T] | None) -> None:
        with self._lock:
            self._last = last
