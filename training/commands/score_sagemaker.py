"""``sentiment score INPUT --sagemaker``: the same rows, scored by a Batch Transform job.

Steps: plan (names, prefixes, price) -> ask -> encode locally on every core into line-split
shards in S3 -> create the run's SageMaker model if it has none -> create the transform job
-> stream its status (Ctrl-C or a failure stops it) -> download the answers -> join them to
the input's ids, in input order -> the same output file as the local mode.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from training.aws import settings as aws_settings
from training.commands import options


def run_sagemaker(args: argparse.Namespace, run_dir: Path, fmt: str) -> int:
    """Score ``args.input`` on SageMaker Batch Transform with the run in ``run_dir``."""
    from training.artifacts import load_run
    from training.aws import batch_transform as bt
    from training.aws.clients import AwsClients
    from training.commands.score import Progress, reviews_of
    from training.score.inputs import open_input
    from training.score.local import default_workers, encode_task, map_chunks
    from training.score.outputs import ScoreWriter, counted, plural
    from training.score.shards import ShardWriter, join, read_answers

    settings = aws_settings.settings_from(args)
    clients = AwsClients(settings.region)
    sagemaker, s3 = clients.sagemaker, clients.s3
    run = load_run(run_dir)
    plan = bt.plan_transform(
        run,
        bucket=settings.need_bucket(),
        instance_type=args.instance_type,
        instance_count=args.instance_count,
    )
    has_model = bt.model_exists(sagemaker, plan)
    role = None if has_model else settings.need_role()
    model = plan.model_name + ("" if has_model else " (created first: the run is not deployed)")
    print(f"transform job {plan.job_name} on model {model}")
    print(f"  {plan.describe_cost()}")
    options.confirm(
        "Start it?", assume_yes=args.yes, what="starts a transform job billed while it runs"
    )
    say = print
    with tempfile.TemporaryDirectory(prefix="sentiment-score-") as tmp:
        spool_path = Path(tmp) / "spool.jsonl"
        source = open_input(args.input, s3)
        progress = Progress(source, enabled=not args.no_progress, what="encode")
        try:
            with spool_path.open("w", encoding="utf-8") as spool:
                shards = ShardWriter(plan, s3, spool)
                workers = args.workers or default_workers()
                for chunk, body in map_chunks(encode_task, reviews_of(args, source), run, workers):
                    shards.add(chunk, body)
                    progress.advance(len(chunk))
                rows = shards.close()
        finally:
            progress.close()
            source.close()
        answers: dict[int, Path] = {}
        if rows:
            say(
                f"{plural(sum(rows), 'row')} in {plural(len(rows), 'shard')} of at most "
                f"{bt.SHARD_BYTES:,} bytes "
                f"under s3://{plan.bucket}/{plan.input_prefix}"
            )
            if role is not None:
                bt.create_model(
                    plan, role_arn=role, s3=s3, sagemaker=sagemaker, region=clients.region, say=say
                )
            bt.start_job(plan, sagemaker)
            bt.wait_job(sagemaker, plan.job_name, say=say, poll_seconds=args.poll_seconds)
            answers = bt.download_outputs(plan, len(rows), s3, Path(tmp))
        else:
            say("no row can be scored: no transform job is needed")
        with ScoreWriter(args.output, fmt) as writer, spool_path.open(encoding="utf-8") as spool:
            band = run.vocabulary.uncertain
            writer.write(join(spool, lambda i: read_answers(answers[i]), rows, band))
    print(
        f"scored {counted(writer.rows, writer.errors)} on SageMaker with "
        f"{plan.model_name} -> {args.output} (answers under "
        f"s3://{plan.bucket}/{plan.output_prefix})",
        file=sys.stderr,
    )
    return 0
