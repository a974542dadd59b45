"""``sentiment feedback``: what people said about the API's answers, and a file to review.

Reads ``feedback/`` of the bucket (``--local``: the running local stack's), prints how many
came in, how often the person agreed with the model (each review re-scored by a run's model
through the serving encoder, ``--run``, default ``latest``) and the terms found most often in
the reviews where they did not; ``--list`` prints each one, ``--export FILE`` writes them
for a person to review before ``sentiment train --extra FILE`` uses them.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from training.commands.options import add_aws_arguments, stage_environment
from training.errors import CommandError

DEFAULT_APP_DIR = Path(__file__).resolve().parents[2] / "sentiment_api"


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add_aws_arguments(parser)
    add("--local", action="store_true", help="read the running local stack's S3 (sentiment up)")
    add(
        "--project-dir",
        type=Path,
        default=DEFAULT_APP_DIR,
        help="with --local: the Chalice project whose local stage names the stand-ins",
    )
    add("--prefix", default="feedback/", help="where the API files feedback (%(default)s)")
    add("--since", help="only feedback on predictions from this date on (YYYY-MM-DD)")
    add("--run", default="latest", help="the run whose model is compared (%(default)s)")
    add("--artifacts", type=Path, default=Path("artifacts"), help="where runs are looked up")
    add("--list", action="store_true", help="print every feedback, one a line")
    add("--export", type=Path, metavar="FILE", help="write them as JSON Lines for review")


def run(args: argparse.Namespace) -> int:
    from training import feedback
    from training.errors import UsageError

    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since).replace(tzinfo=UTC)
        except ValueError as exc:
            raise UsageError(f"--since must be a date like 2026-12-01, not {args.since!r}") from exc
    s3, bucket = _source(args)
    items = feedback.read_feedback(s3, bucket, args.prefix, since=since)
    model_labels, terms = _model_view(args, [i.review for i in items])
    summary = feedback.summarise(items, model_labels, terms)
    print(f"s3://{bucket}/{args.prefix}")
    print(feedback.format_summary(summary))
    if model_labels is None:
        print(
            f"(no run {args.run!r} in {args.artifacts.resolve()}: agreement with the model not "
            "shown; pass --artifacts PATH/TO/artifacts if your runs are elsewhere)"
        )
    if args.list:
        for index, item in enumerate(items):
            said = f"  model {model_labels[index]}" if model_labels else ""
            excerpt = " ".join(item.review.split())[:60]
            print(f"{item.prediction_id}  {item.label:<8}{said}  {excerpt}")
    if args.export:
        count = feedback.export(items, args.export, model_labels)
        print(f"wrote {count} reviews to {args.export}: review it (delete lines, fix labels),")
        print(f"then: sentiment train --extra {args.export}")
    return 0


def _source(args: argparse.Namespace) -> tuple[Any, str]:
    """The S3 client and bucket: the local stack's (its ``local`` stage), or AWS's."""
    if not args.local:
        from training.aws import settings as aws_settings
        from training.aws.clients import AwsClients

        settings = aws_settings.settings_from(args)
        try:
            return AwsClients(settings.region).s3, settings.need_bucket()
        except CommandError as exc:
            # Most people asking are trying the product locally, where there is no region.
            raise type(exc)(
                f"{exc}; or pass --local to read the local stack's feedback (sentiment up)"
            ) from exc
    import boto3

    env = stage_environment(args.project_dir, "local")
    client = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL_S3"],
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "testing"),
        region_name=env.get("AWS_REGION", "us-east-1"),
    )
    return client, args.bucket or env["SENTIMENT_BUCKET"]


def _model_view(
    args: argparse.Namespace, reviews: list[str]
) -> tuple[list[str] | None, list[list[str]] | None]:
    """The run's label for each review and each review's vocabulary terms (``None, None``
    when there is no such run)."""
    from training import artifacts
    from training.errors import UsageError

    try:
        run_dir = artifacts.resolve_run(args.artifacts, args.run)
    except UsageError:
        return None, None
    if not reviews:
        return [], []
    from training.evaluate import serving_probabilities
    from vocab_store import Tokenizer
    from vocab_store.labels import label

    vocabulary = artifacts.load_vocabulary(run_dir)
    probabilities = serving_probabilities(run_dir, reviews)
    tokenizer, known = Tokenizer(vocabulary.tokenizer), vocabulary.index
    terms = [[t for t in tokenizer.terms(r) if t in known] for r in reviews]
    labels: list[str] = [
        label(p, vocabulary.uncertain, known=bool(found))
        for p, found in zip(probabilities, terms, strict=True)
    ]
    return labels, terms
