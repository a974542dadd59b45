"""Local feedback kept on disk, so a restart of the local stack does not lose it.

moto keeps S3 in memory and every start re-seeds it from ``artifacts/``; feedback is the
one thing the local stack makes that exists nowhere else. So the stack mirrors the
bucket's feedback objects into a folder (``.devstack/feedback/`` by default, gitignored)
while it runs and when it stops, and puts them back into the fresh bucket at start. A
feedback object never changes once stored (the first feedback for an id wins), so a file
already on disk is not written again.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path, PurePosixPath
from typing import Any

log = logging.getLogger(__name__)


def _relative(key: str, prefix: str) -> PurePosixPath | None:
    """``key`` below ``prefix`` as a relative path, or ``None`` for a key that could leave
    the folder (absolute, ``..``) or is a folder marker."""
    parts = key[len(prefix) :].split("/")
    if not key.startswith(prefix) or any(part in ("", ".", "..") for part in parts):
        return None  # also a folder marker ("x/") and an absolute path ("/x")
    return PurePosixPath(*parts)


def save(s3: Any, bucket: str, prefix: str, folder: Path) -> int:
    """Write the bucket's objects under ``prefix`` that ``folder`` lacks; how many."""
    written = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            rest = _relative(item["Key"], prefix)
            if rest is None:
                continue
            path = folder.joinpath(*rest.parts)
            if path.is_file():
                continue
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            partial.write_bytes(body)
            os.replace(partial, path)  # never a torn file, even if stopped half-way
            written += 1
    return written


def restore(s3: Any, bucket: str, prefix: str, folder: Path) -> int:
    """Put every file of ``folder`` back under ``prefix``; how many."""
    if not folder.is_dir():
        return 0
    count = 0
    for path in sorted(folder.rglob("*.json")):
        key = prefix + path.relative_to(folder).as_posix()
        s3.put_object(
            Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType="application/json"
        )
        count += 1
    return count
