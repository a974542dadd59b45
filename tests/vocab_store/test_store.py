"""The S3 store against moto's real server process."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.conftest import free_port
from vocab_store import InvalidVocabulary, ModelRecord, Vocabulary, VocabularyNotFound
from vocab_store.store import CachedVocabulary, VocabularyStore

BUCKET = "vocab-test"


@pytest.fixture
def s3(moto_env: str) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def store(s3: Any) -> VocabularyStore:
    return VocabularyStore(BUCKET, s3_client=s3, max_bytes=1_000_000)


def _version(vocabulary: Vocabulary, version: int) -> Vocabulary:
    record = ModelRecord("a" * 64, vocabulary.feature_count, "sentiment-test")
    return vocabulary.with_version(version).with_model(record)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_publish_is_immutable_and_idempotent(
    store: VocabularyStore, s3: Any, vocabulary: Vocabulary
) -> None:
    v = _version(vocabulary, 5)
    key = store.publish(v)
    assert key.startswith("vocab/incoming/") and store.is_incoming(key)
    etag = s3.head_object(Bucket=BUCKET, Key=key)["ETag"]
    assert store.publish(v) == key  # the same upload again: a no-op
    assert s3.head_object(Bucket=BUCKET, Key=key)["ETag"] == etag
    assert store.read(key) == v


def test_publish_never_writes_over_an_existing_object(
    store: VocabularyStore, s3: Any, vocabulary: Vocabulary
) -> None:
    v = _version(vocabulary, 6)
    key = store.key_for(v)
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"already here")
    assert store.publish(v) == key
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"already here"


def test_read_refuses_oversized_objects_before_downloading(store: VocabularyStore, s3: Any) -> None:
    small = VocabularyStore(BUCKET, s3_client=s3, max_bytes=10)
    s3.put_object(Bucket=BUCKET, Key="vocab/incoming/big.json", Body=b"{" + b" " * 100 + b"}")
    with pytest.raises(InvalidVocabulary, match="over the 10-byte limit"):
        small.read("vocab/incoming/big.json")


def test_read_missing_key(store: VocabularyStore) -> None:
    with pytest.raises(VocabularyNotFound):
        store.read("vocab/incoming/none.json")


def test_promote_only_newer_versions(store: VocabularyStore, vocabulary: Vocabulary) -> None:
    assert store.current_pointer() is None
    v5, v3, v7 = (_version(vocabulary, n) for n in (5, 3, 7))
    k5, k3, k7 = (store.publish(v) for v in (v5, v3, v7))
    assert store.promote(k5, v5) is True
    assert store.promote(k5, v5) is False  # the same event twice
    assert store.promote(k3, v3) is False  # an older one after a newer one
    assert store.current_pointer().version == 5  # type: ignore[union-attr]
    assert store.promote(k7, v7) is True
    pointer = store.current_pointer()
    assert pointer is not None and (pointer.source, pointer.version) == (k7, 7)


def test_concurrent_promotions_end_on_the_newest(
    store: VocabularyStore, vocabulary: Vocabulary
) -> None:
    versions = [_version(vocabulary, n) for n in range(10, 18)]
    keys = [store.publish(v) for v in versions]
    threads = [
        threading.Thread(target=store.promote, args=(k, v))
        for k, v in zip(keys, versions, strict=True)
    ]
    for t in reversed(threads):
        t.start()
    for t in threads:
        t.join()
    assert store.current_pointer().version == 17  # type: ignore[union-attr]


def test_pointer_conditional_get(store: VocabularyStore, vocabulary: Vocabulary) -> None:
    v = _version(vocabulary, 2)
    store.promote(store.publish(v), v)
    first = store.pointer()
    assert first is not None and first.etag
    assert store.pointer(etag=first.etag) is None  # 304 Not Modified


def test_pointer_must_be_outside_the_watched_prefix(s3: Any) -> None:
    with pytest.raises(Exception, match="outside"):
        VocabularyStore(BUCKET, s3_client=s3, pointer_key="vocab/incoming/current.json")


def test_cache_loads_once_and_revalidates_after_ttl(
    store: VocabularyStore, vocabulary: Vocabulary
) -> None:
    v1, v2 = _version(vocabulary, 1), _version(vocabulary, 2)
    store.promote(store.publish(v1), v1)
    clock = Clock()
    cache = CachedVocabulary(store, max_age=30, jitter=0.0, clock=clock)
    live = cache.get()
    assert live.vocabulary.version == 1
    store.promote(store.publish(v2), v2)
    clock.now += 29
    assert cache.get() is live  # still fresh: no S3 call at all
    clock.now += 2
    assert cache.get().vocabulary.version == 2


def test_cache_keeps_the_vocabulary_when_the_pointer_is_unchanged(
    store: VocabularyStore, vocabulary: Vocabulary
) -> None:
    v1 = _version(vocabulary, 1)
    store.promote(store.publish(v1), v1)
    clock = Clock()
    cache = CachedVocabulary(store, max_age=1, jitter=0.0, clock=clock)
    first = cache.get()
    clock.now += 5
    again = cache.get()
    assert again.vocabulary is first.vocabulary and again.encoder is first.encoder


def test_jitter_spreads_expiry(store: VocabularyStore, vocabulary: Vocabulary) -> None:
    v1 = _version(vocabulary, 1)
    store.promote(store.publish(v1), v1)
    clock = Clock()
    cache = CachedVocabulary(store, max_age=10, jitter=0.5, clock=clock, rng=lambda: 1.0)
    live = cache.get()
    clock.now += 14.9
    assert cache.get() is live
    clock.now += 0.2
    cache.get()
    assert cache._expires == pytest.approx(clock.now + 15)


def test_stale_if_error_serves_the_last_good_vocabulary(
    store: VocabularyStore, vocabulary: Vocabulary, s3: Any
) -> None:
    v1 = _version(vocabulary, 1)
    store.promote(store.publish(v1), v1)
    clock = Clock()
    cache = CachedVocabulary(store, max_age=1, jitter=0.0, retry_after=5, clock=clock)
    assert cache.get().vocabulary.version == 1
    # S3 becomes unreachable: a real connection failure, not a mock.
    store.client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    clock.now += 2
    assert cache.get().vocabulary.version == 1
    store.client = s3
    v2 = _version(vocabulary, 2)
    store.promote(store.publish(v2), v2)
    clock.now += 2  # inside retry_after: no new attempt yet
    assert cache.get().vocabulary.version == 1
    clock.now += 4
    assert cache.get().vocabulary.version == 2


def test_no_vocabulary_at_all_is_an_error(store: VocabularyStore) -> None:
    with pytest.raises(VocabularyNotFound):
        CachedVocabulary(store).get()


def test_a_corrupt_promoted_object_keeps_the_last_good_one(
    store: VocabularyStore, vocabulary: Vocabulary, s3: Any
) -> None:
    v1 = _version(vocabulary, 1)
    store.promote(store.publish(v1), v1)
    clock = Clock()
    cache = CachedVocabulary(store, max_age=1, jitter=0.0, clock=clock)
    cache.get()
    v9 = _version(vocabulary, 9)
    assert store.promote(store.publish(v9), v9)
    # Promotion copied v9 to its immutable live key; damage that copy behind its back.
    pointer = store.current_pointer()
    assert pointer is not None and pointer.key.startswith("vocab/live/")
    s3.put_object(Bucket=BUCKET, Key=pointer.key, Body=b"{not json")
    clock.now += 2
    assert cache.get().vocabulary.version == 1
    # Valid JSON, but not the bytes that were promoted: refused all the same.
    s3.put_object(
        Bucket=BUCKET, Key=pointer.key, Body=_version(vocabulary, 9).to_json().encode() + b" "
    )
    clock.now += 10
    assert cache.get().vocabulary.version == 1


def test_an_overwritten_upload_never_changes_what_is_live(
    store: VocabularyStore, vocabulary: Vocabulary, s3: Any
) -> None:
    """The pointer names a copy of what was validated: overwriting the upload (anyone who
    may upload can) changes nothing that is served, even for a brand-new reader."""
    v1 = _version(vocabulary, 1)
    key = store.publish(v1)
    assert store.promote(key, v1)
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"{garbage")
    fresh = CachedVocabulary(store)  # a cold start
    assert fresh.get().vocabulary == v1


def test_a_pointer_that_cannot_be_used_is_replaced_by_the_next_promotion(
    store: VocabularyStore, vocabulary: Vocabulary, s3: Any
) -> None:
    from vocab_store.records import POINTER_FORMAT, InvalidPointer

    giant = '{"format": "%s", "key": "k", "version": %s, "fingerprint": "%s"}'
    for body in (
        b"{garbage",
        (giant % (POINTER_FORMAT, "9" * 4300, "a" * 64)).encode(),
        (giant % (POINTER_FORMAT, "9" * 5000, "a" * 64)).encode(),
        (giant % (POINTER_FORMAT, str(2**53), "a" * 64)).encode(),
    ):
        s3.put_object(Bucket=BUCKET, Key=store.pointer_key, Body=body)
        with pytest.raises(InvalidPointer):
            store.pointer()
        v2 = _version(vocabulary, 2)
        assert store.promote(store.publish(v2), v2)
        pointer = store.current_pointer()
        assert pointer is not None and pointer.version == 2


def test_a_version_far_ahead_is_refused_and_a_live_one_no_longer_counts(
    store: VocabularyStore, vocabulary: Vocabulary
) -> None:
    import time

    from vocab_store.vocabulary import MAX_AHEAD_MS, next_version

    now = int(time.time() * 1000)
    ahead = _version(vocabulary, now + MAX_AHEAD_MS + 60_000)
    with pytest.raises(InvalidVocabulary, match="ahead of the clock"):
        store.promote(store.publish(ahead), ahead)
    assert next_version(now + MAX_AHEAD_MS + 60_000, now_ms=now) == now
    assert next_version(now + 5, now_ms=now) == now + 6


def test_threads_share_one_refresh(store: VocabularyStore, vocabulary: Vocabulary) -> None:
    v1 = _version(vocabulary, 1)
    store.promote(store.publish(v1), v1)
    cache = CachedVocabulary(store)
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get().vocabulary.version))
        for _ in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [1] * 16
