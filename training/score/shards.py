"""Reviews to line-split shards in S3 for Batch Transform, and its answers back to the rows.

While the shards are written, a local spool (JSON Lines, one line per input record, in input
order) remembers each record's id and either its error or the shard its row went to. Rows
go to shards in input order, so the join reads the spool once and each shard's answers
once, in step: memory holds one shard's answers at a time, whatever the input's size. The
answers are matched by shard name, never by the order S3 lists them in, and every shard must
answer exactly as many rows as it was sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from training.aws import batch_transform
from training.aws.batch_transform import TransformPlan
from training.aws.clients import AWS_ERRORS, translate
from training.errors import AwsError, UsageError
from training.score.inputs import Review
from training.score.outputs import Scored
from vocab_store.labels import Band, label

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class ShardWriter:
    """Appends encoded rows to shards of at most ``limit`` bytes, uploading each when full,
    and writes the spool."""

    def __init__(
        self, plan: TransformPlan, s3: S3Client, spool: IO[str], limit: int | None = None
    ) -> None:
        self.plan = plan
        self.rows_per_shard: list[int] = []
        self._s3 = s3
        self._spool = spool
        self._limit = limit or batch_transform.SHARD_BYTES
        self._buffer: list[bytes] = []
        self._size = 0

    def add(self, chunk: list[Review], encoded: tuple[bytes, list[bool]] | None) -> None:
        """One chunk of reviews, and the body its scorable texts were encoded to with
        whether each has a known term."""
        body, known = encoded or (b"", [])
        rows = iter(zip(body.split(b"\n"), known, strict=True) if known else ())
        for review in chunk:
            if review.text is None:
                self._spool.write(json.dumps({"id": review.id, "error": review.error}) + "\n")
                continue
            row, has_terms = next(rows)
            if len(row) + 1 > self._limit:
                raise UsageError(
                    f"review {review.id} encodes to {len(row)} bytes, more than a shard may hold"
                )
            if self._size + len(row) + 1 > self._limit:
                self._upload()
            self._buffer.append(row)
            self._size += len(row) + 1
            record = {"id": review.id, "shard": len(self.rows_per_shard)}
            if not has_terms:
                record["known"] = False  # no known term: "uncertain", whatever p is
            self._spool.write(json.dumps(record) + "\n")

    def close(self) -> list[int]:
        """Upload the last shard; the number of rows of each shard."""
        if self._buffer:
            self._upload()
        return self.rows_per_shard

    def _upload(self) -> None:
        key = self.plan.shard_key(len(self.rows_per_shard))
        try:
            self._s3.put_object(
                Bucket=self.plan.bucket,
                Key=key,
                Body=b"\n".join(self._buffer) + b"\n",
                ContentType=self.plan.content_type,
            )
        except AWS_ERRORS as exc:
            raise translate(exc, f"uploading s3://{self.plan.bucket}/{key}") from exc
        self.rows_per_shard.append(len(self._buffer))
        self._buffer, self._size = [], 0


def read_answers(path: Path) -> Iterator[float]:
    """The probabilities of one output file, one a line (blank lines skipped)."""
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield float(line)
            except ValueError as exc:
                raise AwsError(f"{path.name} line {number} is not a probability") from exc


def join(
    spool: Iterable[str],
    answers: Callable[[int], Iterable[float]],
    rows_per_shard: list[int],
    band: Band | None = None,
) -> Iterator[Scored]:
    """The output rows in input order: each spooled record with its error, or with the next
    answer of its shard (``answers(index)``) and its label (the API's rule, with the run's
    uncertain ``band``). A shard answering more or fewer rows than it was sent is an
    :class:`AwsError`."""
    index = -1
    current: Iterator[float] = iter(())
    used = 0

    def finish() -> None:
        if index >= 0 and (used != rows_per_shard[index] or next(current, None) is not None):
            raise AwsError(
                f"shard {index} was sent {rows_per_shard[index]} rows but answered otherwise"
            )

    for line in spool:
        record = json.loads(line)
        if "error" in record:
            yield Scored(record["id"], None, None, record["error"])
            continue
        if record["shard"] != index:
            finish()
            index, current, used = record["shard"], iter(answers(record["shard"])), 0
        p = next(current, None)
        if p is None:
            raise AwsError(f"shard {index} answered fewer rows than it was sent")
        used += 1
        yield Scored(record["id"], label(p, band, known=record.get("known", True)), p)
    finish()
