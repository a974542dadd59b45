"""boto3 clients built once per process, on first use, thread-safely (``chalice local``
serves requests on threads); boto3 is imported only then, so ``import app`` stays cheap."""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

C = TypeVar("C")  # the client's stub type, e.g. mypy_boto3_s3.S3Client


class LazyClient(Generic[C]):
    """One boto3 client for ``service`` with botocore ``Config(**config)``."""

    def __init__(self, service: str, **config: Any) -> None:
        self.service = service
        self.config = config
        self._client: C | None = None
        self._lock = threading.Lock()

    def get(self) -> C:
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                make: Any = boto3.client  # the stubs type only literal service names
                self._client = make(self.service, config=Config(**self.config))
            return self._client

    def set(self, client: C | None) -> None:
        """Use ``client`` from now on (``None``: build the default again on next use)."""
        with self._lock:
            self._client = client
