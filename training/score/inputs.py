"""Reviews to score, streamed from JSON Lines, CSV or plain text, a file or an ``s3://`` URI.

Every record of the input becomes exactly one :class:`Review`, in input order, so the output
has one row per input record: a record that cannot be scored (not UTF-8, empty, over the
API's size limit, not JSON, no text field) carries its reason in ``error`` instead of a text.
Nothing is read whole: lines are read with a length cap, so a hostile line costs at most the
cap in memory, and the rest of it is skipped.

- **JSON Lines**: one object per line; the review is ``text_field``, the id ``id_field``
  (optional: line numbers when the first object has no such field). A blank line is an
  error row, so ids by line number stay true. Ids never mix: see :func:`_without_id`.
- **CSV** (RFC 4180, Python's ``csv`` module): a header row names the columns; text and id
  are found by name. UTF-8 with or without a byte-order mark; bytes that are not UTF-8 make
  that row an error row. The id defaults to the record's number (1 = first data row).
  Quoted fields may hold newlines; a quote open at the end of the input, text after a
  closing quote, and a row with more fields than the header are error rows.
- **Plain text**: one review per line; the id is the line number.

A ``.gz`` suffix is read through gzip.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from training.errors import DataError, UsageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# The API's review size limit (sentiment_api's SENTIMENT_MAX_REVIEW_BYTES default): a review
# the API would refuse with 413 is an error row here too.
MAX_REVIEW_BYTES = 100_000
# A JSON line may escape each UTF-8 byte into at most 6 characters (as the API allows).
JSON_ESCAPE_FACTOR = 6
LINE_SLACK = 1024
FORMATS = ("jsonl", "csv", "txt")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
# surrogateescape turns each byte that is not UTF-8 into one of these; real text never has them.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_READ_BLOCK = 1 << 16


@dataclass(frozen=True, slots=True)
class Review:
    """One input record: its 1-based position, its id, and its text or why it has none."""

    position: int
    id: Any
    text: str | None
    error: str | None = None


def format_of(name: str) -> str:
    """The input or output format a file name implies (``.gz`` looked through); ``txt`` when
    the extension says nothing."""
    suffixes = [s.lower() for s in Path(name.rstrip("/")).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return _EXTENSIONS.get(suffixes[-1], "txt") if suffixes else "txt"


def check_review(text: str, max_bytes: int = MAX_REVIEW_BYTES) -> str | None:
    """Why the API would refuse ``text`` (one sentence), or ``None`` when it is scorable."""
    if _ESCAPED_BYTE.search(text):
        return "the review is not valid UTF-8 text"
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        return f"the review is {size} bytes, over the {max_bytes}-byte limit"
    if not text.strip():
        return "the review is empty"
    return None


def _review(position: int, id_: Any, text: str, max_bytes: int) -> Review:
    error = check_review(text, max_bytes)
    return Review(position, id_, None if error else text, error)


def _lines(stream: IO[bytes], cap: int) -> Iterator[tuple[bytes, bool]]:
    """Lines without their ending, and whether each fitted in ``cap`` bytes; the rest of a
    longer line is read and dropped in blocks, never held."""
    while True:
        line = stream.readline(cap + 1)
        if not line:
            return
        if line.endswith(b"\n") or len(line) <= cap:
            yield line.rstrip(b"\r\n"), True
            continue
        while not line.endswith(b"\n"):
            line = stream.readline(_READ_BLOCK)
            if not line:
                break
        yield b"", False


def read_text(stream: IO[bytes], max_bytes: int = MAX_REVIEW_BYTES) -> Iterator[Review]:
    """Plain text: one review per line, the line number as id."""
    for number, (line, whole) in enumerate(_lines(stream, max_bytes + 2), start=1):
        if not whole:
            yield Review(number, number, None, f"the review is over the {max_bytes}-byte limit")
            continue
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        yield _review(number, number, line.decode("utf-8", "surrogateescape"), max_bytes)


def read_jsonl(
    stream: IO[bytes],
    text_field: str = "text",
    id_field: str | None = None,
    max_bytes: int = MAX_REVIEW_BYTES,
    source: str = "the input",
) -> Iterator[Review]:
    """JSON Lines: ``text_field`` of each object; ``id_field`` (default ``id`` when the first
    object has one). See :func:`_without_id` for rows whose id cannot be read."""
    cap = JSON_ESCAPE_FACTOR * max_bytes + LINE_SLACK
    # Whether the input has ids: known from --id-field, else from its first object. Error
    # rows before that object wait for the answer (they hold no text).
    has_ids: bool | None = True if id_field else None
    waiting: list[Review] = []
    for number, (line, whole) in enumerate(_lines(stream, cap), start=1):
        error, record = _parse_line(line, whole, number, cap)
        if record is not None and has_ids is None:
            _check_fields(record, text_field, id_field, source)
            has_ids = (id_field or "id") in record
            yield from (_without_id(r, has_ids, r.position) for r in waiting)
            waiting.clear()
        if record is None:
            bad = Review(number, number, None, error)
            if has_ids is None:
                waiting.append(bad)
            else:
                yield _without_id(bad, has_ids, number)
            continue
        id_ = record.get(id_field or "id") if has_ids else number
        if isinstance(id_, dict | list) or (isinstance(id_, str) and _ESCAPED_BYTE.search(id_)):
            id_ = None  # not an id that can be written back
        text = record.get(text_field)
        if isinstance(text, str):
            review = _review(number, id_, text, max_bytes)
        else:
            review = Review(number, id_, None, f"the record has no {text_field!r} string")
        yield review if id_ is not None else _without_id(review, True, number)
    yield from waiting  # no object at all: no ids, line numbers


def _parse_line(
    line: bytes, whole: bool, number: int, cap: int
) -> tuple[str | None, dict[str, Any] | None]:
    """A JSON Lines line's object, or why it has none."""
    if not whole:
        return f"the line is over the {cap}-byte limit", None
    if number == 1 and line.startswith(codecs.BOM_UTF8):
        line = line[len(codecs.BOM_UTF8) :]
    try:
        # Bytes that are not UTF-8 stay as escapes: the id around them is still read, and
        # the text is refused as the API refuses it (check_review).
        record = json.loads(line.decode("utf-8", "surrogateescape"))
    except (ValueError, RecursionError):
        return ("the line is empty" if not line.strip() else "the line is not valid JSON"), None
    if not isinstance(record, dict):
        return "the line is not a JSON object", None
    return None, record


def _without_id(review: Review, has_ids: bool, line: int) -> Review:
    """The one id rule: in an input with ids, a row whose id cannot be read has none
    (``null``; an error then names the row's ``line``), so the input's ids never mix with
    numbers; in an input without ids every row's id is its line or record number."""
    if not has_ids:
        return review
    error = review.error
    if error is not None and not re.search(r"\bline \d", error):
        error = f"{error} (line {line})"
    return replace(review, id=None, error=error)


def _check_fields(
    record: dict[str, Any], text_field: str, id_field: str | None, source: str
) -> None:
    for field, flag in ((text_field, "--text-field"), (id_field, "--id-field")):
        if field is not None and field not in record:
            raise UsageError(
                f"{source} has no field {field!r} (its first record has "
                f"{', '.join(map(repr, record)) or 'none'}); pass {flag} NAME"
            )


def read_csv(
    stream: IO[bytes],
    text_field: str = "text",
    id_field: str | None = None,
    max_bytes: int = MAX_REVIEW_BYTES,
    source: str = "the input",
) -> Iterator[Review]:
    """CSV with a header row: the ``text_field`` column, and ``id_field`` (default ``id``
    when there is such a column)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    # A field may be a few times the limit and still be reported as one error row; a longer
    # one (an unclosed quote, usually) cannot be told from the rows after it.
    csv.field_size_limit(max(csv.field_size_limit(), 8 * max_bytes))
    # strict: a quote left open at the end of the input, or text after a closing quote, is
    # an error, not a field silently made of everything up to the end.
    reader = csv.reader(text, strict=True)
    try:
        header = _next_record(reader, source)
    except _BadRecord as bad:
        raise DataError(f"{source}: its header is not valid CSV ({bad.problem})") from bad
    if header is None:
        return
    text_col = _column(header, text_field, "--text-field", source)
    id_name = id_field or ("id" if "id" in header else None)
    id_col = None if id_name is None else _column(header, id_name, "--id-field", source)
    has_ids = id_col is not None
    number = 0
    while True:
        number += 1
        start = reader.line_num + 1
        try:
            row = _next_record(reader, source)
        except _BadRecord as bad:
            yield _without_id(Review(number, number, None, bad.reason(start)), has_ids, start)
            continue
        if row is None:
            return
        id_: Any = number
        if id_col is not None:  # the column's text; none when the row has no readable one
            id_ = row[id_col] if id_col < len(row) else None
            if id_ is not None and _ESCAPED_BYTE.search(id_):
                id_ = None
        if len(row) > len(header):
            review = Review(
                number,
                id_,
                None,
                f"the record on line {start} has {len(row)} fields but the header has "
                f"{len(header)}; quote a text that holds commas",
            )
        elif text_col >= len(row):
            review = Review(number, id_, None, f"the row has no {text_field!r} value")
        else:
            review = _review(number, id_, row[text_col], max_bytes)
        yield review if id_ is not None else _without_id(review, True, start)


class _BadRecord(Exception):
    """One CSV record the reader refused; the rest of the input is still readable."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem

    def reason(self, line: int) -> str:
        if self.problem == "unexpected end of data":
            return (
                f"the record starting on line {line} opens a quote that is never closed; "
                "every line after it up to the end was read into it"
            )
        return f"the record starting on line {line} is not valid CSV ({self.problem})"


def _next_record(reader: Any, source: str) -> list[str] | None:
    """The reader's next record, ``None`` at the end; :class:`_BadRecord` for a record that
    is malformed, :class:`DataError` when the input cannot be read on past one."""
    start = reader.line_num + 1
    try:
        return next(reader, None)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise DataError(
                f"{source}: a quoted field of the record starting on line {start} runs past "
                f"{csv.field_size_limit():,} characters (a quote left open?); check its quoting"
            ) from exc
        raise _BadRecord(str(exc)) from exc


def _column(header: list[str], name: str, flag: str, source: str) -> int:
    if name not in header:
        raise UsageError(
            f"{source} has no column {name!r} (its columns are "
            f"{', '.join(map(repr, header))}); pass {flag} NAME"
        )
    return header.index(name)


def read_reviews(
    stream: IO[bytes],
    fmt: str,
    *,
    text_field: str = "text",
    id_field: str | None = None,
    max_bytes: int = MAX_REVIEW_BYTES,
    source: str = "the input",
) -> Iterator[Review]:
    """Every record of ``stream`` in ``fmt`` (one of :data:`FORMATS`) as a :class:`Review`."""
    if fmt == "jsonl":
        return read_jsonl(stream, text_field, id_field, max_bytes, source)
    if fmt == "csv":
        return read_csv(stream, text_field, id_field, max_bytes, source)
    if fmt == "txt":
        return read_text(stream, max_bytes)
    raise UsageError(f"unknown input format {fmt!r}; use one of {', '.join(FORMATS)}")


class _Counted(io.RawIOBase):
    """A ``read(n)`` source (a file, a botocore streaming body) as a raw stream that counts
    the bytes it gave, so it can be buffered, read by line, and shown as progress."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        self.consumed += len(data)
        return len(data)

    def close(self) -> None:
        self._source.close()
        super().close()


@dataclass
class InputSource:
    """An opened input: its stream, its size in bytes (``None`` if unknown) and a counter
    of the bytes read from it so far (before decompression)."""

    stream: IO[bytes]
    size: int | None
    _raw: _Counted

    @property
    def consumed(self) -> int:
        return self._raw.consumed

    def close(self) -> None:
        self.stream.close()


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` to ``(bucket, key)``; :class:`UsageError` for anything else."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise UsageError(f"{uri!r} is not an s3://BUCKET/KEY URI")
    return bucket, key


def open_input(source: str, s3: S3Client | None = None) -> InputSource:
    """A local file or an ``s3://`` object (``s3``: its client) as a buffered binary stream,
    decompressed when the name ends in ``.gz``."""
    if source.startswith("s3://"):
        from training.aws.clients import AWS_ERRORS, translate

        bucket, key = split_s3_uri(source)
        if s3 is None:
            raise TypeError(f"open_input({source!r}) needs an S3 client")
        try:
            answer = s3.get_object(Bucket=bucket, Key=key)
        except AWS_ERRORS as exc:
            raise translate(exc, f"reading {source}") from exc
        raw, size = _Counted(answer["Body"]), answer.get("ContentLength")
    else:
        try:
            file = Path(source).open("rb", buffering=0)
        except OSError as exc:
            raise DataError(f"cannot read {source}: {exc.strerror or exc}") from exc
        raw, size = _Counted(file), os.fstat(file.fileno()).st_size
    stream: IO[bytes] = io.BufferedReader(raw, buffer_size=1 << 20)
    if source.lower().endswith(".gz"):
        stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
    return InputSource(stream, size, raw)
