"""The Lambdas' collaborators, built once per process in one place; :func:`reset` for tests.

Both functions import this module: the API (``service``) and the S3 handler (``refresh``).
Nothing else in ``chalicelib`` or ``vocab_store`` builds a client, a store or a cache; they
receive them as arguments.

Time budget of the API's worst request. Each client gets explicit timeouts and botocore's
``standard`` retry mode, counted with ``total_max_attempts`` (which includes the first
attempt; ``max_attempts`` would count retries only). One endpoint call: 2 attempts x (1 s
connect + 3 s read) plus at most 1 s of backoff (standard mode's first retry after a
throttling error), 9 s. A cold start, or a request after the pointer changed, also reads S3
twice first (the pointer, then the vocabulary), each at most 2 x (1 s + 2 s) + 1 s = 7 s:
7 + 7 + 9 = 23 s, inside the API Lambda's timeout (25 s), which sits below API Gateway's
29 s, so even then the client gets our own 503 or 504, with CORS.

``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL_SAGEMAKER`` and
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` reach the local stand-ins: there is no local branch.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from chalicelib import settings
from chalicelib.clients import LazyClient
from chalicelib.probe import LastResult

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

    from vocab_store.store import CachedVocabulary, VocabularyStore

ENDPOINT_CONNECT_TIMEOUT = 1
ENDPOINT_READ_TIMEOUT = 3
ENDPOINT_ATTEMPTS = 2

runtime: LazyClient[SageMakerRuntimeClient] = LazyClient(
    "sagemaker-runtime",
    connect_timeout=ENDPOINT_CONNECT_TIMEOUT,
    read_timeout=ENDPOINT_READ_TIMEOUT,
    retries={"mode": "standard", "total_max_attempts": ENDPOINT_ATTEMPTS},
)
s3: LazyClient[S3Client] = LazyClient(
    "s3", connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2}
)
# Only the S3 handler asks the control plane; it has its own, longer timeout.
sagemaker: LazyClient[SageMakerClient] = LazyClient(
    "sagemaker", connect_timeout=2, read_timeout=10, retries={"mode": "standard"}
)

# /health's endpoint check, reused for 30 s per instance.
endpoint_checks: LastResult[Any] = LastResult()

_store: VocabularyStore | None = None
_cache: CachedVocabulary | None = None
_lock = threading.Lock()


def vocabulary_store() -> VocabularyStore:
    """The vocabulary store the settings describe, with the process's S3 client."""
    global _store
    with _lock:
        if _store is None:
            from vocab_store.store import VocabularyStore

            s = settings.get()
            _store = VocabularyStore(
                s.bucket,
                incoming_prefix=s.vocab_prefix,
                pointer_key=s.pointer_key,
                max_bytes=s.max_vocab_bytes,
                s3_client=s3.get(),
            )
        return _store


def vocabulary_cache() -> CachedVocabulary:
    """The API's live-vocabulary cache (TTL from the settings), built on first use."""
    global _cache
    store = vocabulary_store()
    with _lock:
        if _cache is None:
            from vocab_store.store import CachedVocabulary

            ttl = settings.get().vocab_ttl
            _cache = CachedVocabulary(store, max_age=ttl, retry_after=min(5.0, ttl))
        return _cache


def set_cache(cache: CachedVocabulary | None) -> None:
    """Use ``cache`` from now on (``None``: build it again from the settings)."""
    global _cache
    with _lock:
        _cache = cache


def reset() -> None:
    """Forget everything built here and the settings, so the next use builds it all again
    from the environment as it is then (tests that point the clients somewhere else)."""
    global _store, _cache, endpoint_checks
    settings.clear()
    for client in (runtime, s3, sagemaker):
        client.set(None)
    endpoint_checks = LastResult()
    with _lock:
        _store = None
        _cache = None
