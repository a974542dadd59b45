"""``sentiment score INPUT --output OUTPUT``: score a whole file of reviews with a run's model.

Locally by default (every core, in input order, flat memory); ``--sagemaker`` runs the
scoring as a SageMaker Batch Transform job on the run's model instead. Both write the same
rows: ``id``, ``label``, ``probability``, and ``error`` on rows that could not be scored.
See docs/scoring.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.aws import settings as aws_settings
from training.commands import options
from training.interrupts import stop_on_signals

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from training.score.inputs import InputSource

RATE_MIN_ROWS = 1000  # the summary shows reviews per second from this many rows on


def configure(parser: argparse.ArgumentParser) -> None:
    """Flags of ``sentiment score``."""
    add = parser.add_argument
    add("input", help="reviews: .jsonl, .csv or one review per line (.txt); a path or s3:// URI")
    add(
        "--output",
        "-o",
        required=True,
        help="where the scored rows go: .jsonl/.ndjson/.json (JSON Lines), .csv, or '-' "
        "(JSON Lines on standard output); any other name needs --format",
    )
    add("--run", default="latest", help="run id, run directory or 'latest'")
    add("--artifacts", type=Path, default=Path("artifacts"), help="where run ids are looked up")
    add(
        "--format",
        choices=("jsonl", "csv"),
        help="output format (default: from --output's extension)",
    )
    add(
        "--input-format",
        choices=("jsonl", "csv", "txt"),
        help="input format (default: from the input's name; .txt or anything else: one per line)",
    )
    add("--text-field", default="text", help="JSON field or CSV column of the review (text)")
    add("--id-field", help="JSON field or CSV column of the id (default: 'id' if present)")
    add("--workers", type=int, help="local worker processes (default: one per core)")
    add("--no-progress", action="store_true", help="no progress bar")
    aws = parser.add_argument_group("SageMaker Batch Transform (--sagemaker)")
    aws.add_argument("--sagemaker", action="store_true", help="score on SageMaker Batch Transform")
    aws.add_argument("--instance-type", default="ml.m5.large", help="the transform job's instances")
    aws.add_argument("--instance-count", type=int, default=1, help="how many instances")
    aws.add_argument("--yes", action="store_true", help="do not ask before starting the job")
    aws.add_argument(
        "--poll-seconds", type=float, default=15.0, help="how often the job's status is read"
    )
    options.add_aws_arguments(aws, role=True)


def reviews_of(args: argparse.Namespace, source: InputSource) -> Any:
    """The input's records, as the flags say to read them."""
    from training.score.inputs import format_of, read_reviews

    return read_reviews(
        source.stream,
        args.input_format or format_of(args.input),
        text_field=args.text_field,
        id_field=args.id_field,
        source=args.input,
    )


class Progress:
    """A tqdm bar over the input's bytes, with reviews per second and time left."""

    def __init__(self, source: InputSource, *, enabled: bool, what: str = "score") -> None:
        from tqdm import tqdm

        self._source = source
        self._bar = tqdm(
            total=source.size,
            unit="B",
            unit_scale=True,
            desc=what,
            disable=None if enabled else True,  # None: only on a terminal
            file=sys.stderr,
        )
        self._started = time.perf_counter()
        self._shown = 0
        self.rows = 0

    def advance(self, rows: int) -> None:
        self.rows += rows
        consumed = self._source.consumed
        self._bar.update(consumed - self._shown)
        self._shown = consumed
        rate = self.rows / max(time.perf_counter() - self._started, 1e-9)
        self._bar.set_postfix_str(f"{self.rows:,} reviews, {rate:,.0f}/s", refresh=False)

    def close(self) -> None:
        self._bar.close()


def run(args: argparse.Namespace) -> int:
    """Score the input and write the output; a summary line on standard error."""
    from training import artifacts
    from training.score.inputs import open_input
    from training.score.outputs import (
        ScoreWriter,
        counted,
        output_format,
        refuse_output_over_input,
    )

    fmt = output_format(args.output, args.format)
    refuse_output_over_input(args.input, args.output)
    run_dir = artifacts.resolve_run(args.artifacts, args.run)
    if args.sagemaker:
        from training.commands.score_sagemaker import run_sagemaker

        return run_sagemaker(args, run_dir, fmt)
    from training.score.local import default_workers, score_reviews, start_early

    workers = args.workers or default_workers()
    # `kill PID` stops the scoring as Ctrl-C does: the workers and the server they are
    # forked from stop with it, and the output is left as OUTPUT.partial.
    with stop_on_signals():
        start_early(workers)
        s3 = _s3_client(args) if args.input.startswith("s3://") else None
        source = open_input(args.input, s3)
        started = time.perf_counter()
        progress = Progress(source, enabled=not args.no_progress)
        try:
            with ScoreWriter(args.output, fmt) as writer:
                rows = score_reviews(
                    reviews_of(args, source), run_dir, workers=workers, on_chunk=progress.advance
                )
                with closing(rows):  # the workers stop here, not when the traceback goes
                    writer.write(rows)
        finally:
            progress.close()
            source.close()
    seconds = time.perf_counter() - started
    # A small input's time is mostly the workers' start-up: a rate from it says nothing.
    rate = f", {writer.rows / seconds:,.0f} reviews/s" if writer.rows >= RATE_MIN_ROWS else ""
    print(
        f"scored {counted(writer.rows, writer.errors)} with {run_dir.name} in "
        f"{seconds:.1f} s{rate} -> {args.output}",
        file=sys.stderr,
    )
    return 0


def _s3_client(args: argparse.Namespace) -> S3Client:
    from training.aws.clients import AwsClients

    return AwsClients(aws_settings.settings_from(args).region).s3
