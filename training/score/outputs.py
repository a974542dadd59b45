"""Scored rows to JSON Lines or CSV, written as they come, one row per input record.

Each row has the input's ``id`` (or its record number), ``label``, ``probability`` (the
model's probability of positive, exactly the float the endpoint answers) and, on a row that
could not be scored, ``error`` (one sentence) with no label or probability. The file is
written under a ``.partial`` name and renamed when complete, so a run that stops half-way
never leaves a file that looks finished.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from training.errors import DataError, UsageError

OUTPUT_FORMATS = ("jsonl", "csv")
CSV_COLUMNS = ("id", "label", "probability", "error")


@dataclass(frozen=True, slots=True)
class Scored:
    """One output row."""

    id: Any
    label: str | None
    probability: float | None
    error: str | None = None


# What an output's name may end with when --format is not given; ``.json`` is JSON Lines too,
# as on input (one object per line, not one JSON array).
OUTPUT_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}


def output_format(output: str, fmt: str | None) -> str:
    """``fmt`` when given, else what the output's extension says (``-``: JSON Lines); an
    extension we do not write is refused rather than filled with something else."""
    if fmt is not None:
        if fmt not in OUTPUT_FORMATS:
            raise UsageError(f"unknown output format {fmt!r}; use jsonl or csv")
        return fmt
    if output == "-":
        return "jsonl"
    chosen = OUTPUT_EXTENSIONS.get(Path(output).suffix.lower())
    if chosen is None:
        raise UsageError(
            f"cannot tell the output format of {output!r}: name it "
            f"{', '.join(OUTPUT_EXTENSIONS)} (JSON Lines or CSV, uncompressed) or pass --format"
        )
    return chosen


def refuse_output_over_input(source: str, output: str) -> None:
    """Refuse an output that is the input itself (the same path, or another name of the same
    file): the finished output would replace the reviews it was scored from."""
    if output == "-" or source.startswith("s3://"):
        return
    same = Path(source).resolve() == Path(output).resolve()
    try:
        same = same or os.path.samefile(source, output)
    except OSError:
        pass  # one of them does not exist (yet): not the same file
    if same:
        raise UsageError(
            f"--output {output} is the input file itself: scoring would overwrite the reviews; "
            "choose another output name"
        )


def plural(count: int, noun: str) -> str:
    """ "1 shard", "3 shards": a count with its noun agreeing."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def counted(rows: int, errors: int) -> str:
    """ "3 rows (1 error)": the summary's counts, each noun agreeing with its number."""
    return f"{plural(rows, 'row')} ({plural(errors, 'error')})"


class ScoreWriter:
    """Writes :class:`Scored` rows to ``output`` (``-``: standard output) in ``fmt``."""

    def __init__(self, output: str, fmt: str) -> None:
        self.output = output
        self.fmt = fmt
        self.rows = 0
        self.errors = 0
        self._partial = None if output == "-" else Path(f"{output}.partial")
        self._file: IO[str] | None = None
        self._csv: Any = None

    def __enter__(self) -> ScoreWriter:
        if self._partial is None:
            self._file = sys.stdout
        else:
            try:
                self._file = self._partial.open(
                    "w", encoding="utf-8", errors="backslashreplace", newline=""
                )
            except OSError as exc:
                raise DataError(f"cannot write {self.output}: {exc.strerror or exc}") from exc
        if self.fmt == "csv":
            self._csv = csv.writer(self._file, lineterminator="\n")
            self._csv.writerow(CSV_COLUMNS)
        return self

    def write(self, rows: Iterable[Scored]) -> None:
        """Append rows in order."""
        assert self._file is not None, "use ScoreWriter as a context manager"
        for row in rows:
            self.rows += 1
            self.errors += row.error is not None
            if self._csv is not None:
                prob = "" if row.probability is None else repr(row.probability)
                self._csv.writerow([row.id, row.label or "", prob, row.error or ""])
            else:
                record: dict[str, Any] = {
                    "id": row.id,
                    "label": row.label,
                    "probability": row.probability,
                }
                if row.error is not None:
                    record["error"] = row.error
                self._file.write(json.dumps(record) + "\n")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is None:
            return
        if self._partial is None:
            self._file.flush()
            return
        self._file.close()
        if exc_type is None:
            os.replace(self._partial, self.output)
