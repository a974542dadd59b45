"""``sentiment train``: IMDB to a run directory (model, vocabulary, metrics, report)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from training.aws import settings as aws_settings
from training.aws.sagemaker_training import DEFAULT_TRAINING_INSTANCE
from training.commands import options
from training.config import WEIGHT_PER, TrainConfig

log = logging.getLogger(__name__)
_DEFAULTS = TrainConfig()


def configure(parser: argparse.ArgumentParser) -> None:
    """Flags of ``sentiment train``; defaults are the ones that meet the accuracy target."""
    d = _DEFAULTS
    add = parser.add_argument
    add("--data", type=Path, default=d.data_dir, help="IMDB folder (default: %(default)s)")
    add("--stopwords", type=Path, default=d.stopwords_path, help="stopword list, one a line")
    add("--artifacts", type=Path, default=d.artifacts_dir, help="runs go here (%(default)s)")
    add("--cache", type=Path, default=d.cache_dir, help="token cache dir (%(default)s)")
    add("--no-cache", action="store_true", help="tokenise again, write no cache")
    add("--seed", type=int, default=d.seed, help="shuffle and training seed (%(default)s)")
    add("--validation", type=float, default=d.validation_fraction, help="validation fraction")
    add(
        "--limit",
        type=int,
        default=None,
        help="train on this many reviews only (a quick run: it does not become 'latest')",
    )
    add("--test-limit", type=int, default=None, help="evaluate on this many test reviews only")
    add(
        "--extra",
        type=Path,
        default=None,
        metavar="FILE",
        help="a reviewed feedback file (sentiment feedback --export): its reviews join the "
        "training reviews only, never validation or test",
    )
    add(
        "--set-latest",
        action="store_true",
        help="point artifacts/latest (what `sentiment up` serves) at this run even when "
        "--limit or --test-limit makes it a partial one",
    )
    add(
        "--remove-stopwords",
        action="store_true",
        help="remove the words of the --stopwords list (by default every word is kept: "
        "'but', 'too', 'very', 'the worst' carry sentiment)",
    )
    add(
        "--drop-negations",
        action="store_true",
        help="with --remove-stopwords, remove negation words (not, no, don't, ...) too; by "
        "default they are kept because they carry sentiment",
    )
    add("--ngram-max", type=int, default=d.ngram_max, choices=(1, 2, 3), help="longest n-gram")
    add("--max-terms", type=int, default=d.max_terms, help="vocabulary size (%(default)s)")
    add("--min-df", type=int, default=d.min_df, help="minimum document frequency of a term")
    add("--weighting", choices=("nb", "idf", "none"), default=d.weighting, help="term weights")
    add(
        "--values",
        choices=("binary", "count", "log_count"),
        default=d.values,
        help="a present term's value before weighting: 1 (binary), its count, or "
        "1 + log(count) (log_count)",
    )
    add(
        "--norm",
        choices=("l2", "none"),
        default=d.norm,
        help="scale each review's vector to unit length (l2), or leave it",
    )
    add(
        "--content-type",
        choices=("auto", "text/csv", "text/libsvm"),
        default=d.content_type,
        help="request body format; auto: dense CSV up to 10,000 terms, else 1-based libsvm",
    )
    add("--rounds", type=int, default=d.n_rounds, help="maximum boosting rounds")
    add("--eta", type=float, default=d.eta, help="step size")
    add("--lambda", dest="reg_lambda", type=float, default=d.reg_lambda, help="L2 penalty")
    add("--alpha", dest="reg_alpha", type=float, default=d.reg_alpha, help="L1 penalty")
    add("--early-stopping", type=int, default=d.early_stopping_rounds, help="patience (rounds)")
    add(
        "--no-calibration",
        action="store_true",
        help="serve the fitted model as it is, without the Platt correction fitted on the "
        "validation split",
    )
    add(
        "--no-refit",
        action="store_true",
        help="serve the validation-phase model instead of training the chosen rounds again "
        "on training + validation reviews (also in the --sagemaker job)",
    )
    add(
        "--sentence-weight",
        type=_instance_weight,
        default=d.sentence_weight,
        help="also train on each sentence of the training reviews, labelled with its "
        "review's label: the instance weight of a review's sentences together, or of each "
        "sentence, as --sentence-weight-per says (0: whole reviews only; default: "
        "%(default)s)",
    )
    add(
        "--sentence-weight-per",
        choices=WEIGHT_PER,
        default=d.sentence_weight_per,
        help="review: a review's n sentence rows share --sentence-weight, each weighs 1/n of "
        "it; sentence: each row weighs --sentence-weight (the previous default was "
        "--sentence-weight 0.03 --sentence-weight-per sentence) (default: %(default)s)",
    )
    add("--threads", type=int, default=d.n_jobs, help="XGBoost threads (%(default)s)")
    add("--no-progress", action="store_true", help="no progress bars")
    aws = parser.add_argument_group(
        "SageMaker training (--sagemaker; needs the aws extra and AWS credentials)"
    )
    aws.add_argument(
        "--sagemaker",
        action="store_true",
        help="fit the model in a SageMaker training job (built-in XGBoost 3.2-0); the rest "
        "of the run, vocabulary and evaluation included, stays local and identical",
    )
    options.add_aws_arguments(aws, role=True)
    aws.add_argument(
        "--instance-type", default=DEFAULT_TRAINING_INSTANCE, help="the training job's instances"
    )
    aws.add_argument("--instance-count", type=int, default=1, help="how many instances")
    aws.add_argument("--spot", action="store_true", help="managed spot training (cheaper)")
    aws.add_argument(
        "--max-run", type=int, default=3600, help="stop the job after this many seconds"
    )


def _instance_weight(text: str) -> float:
    """An argparse ``type``: a finite weight of 0 or more."""
    try:
        weight = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= weight < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a weight of 0 or more")
    return weight


def run(args: argparse.Namespace) -> int:
    """Train and print where the run went and its test metrics."""
    from training.pipeline import train_run

    config = TrainConfig(
        data_dir=args.data,
        stopwords_path=args.stopwords,
        artifacts_dir=args.artifacts,
        cache_dir=None if args.no_cache else args.cache,
        seed=args.seed,
        validation_fraction=args.validation,
        train_limit=args.limit,
        extra_reviews=args.extra,
        test_limit=args.test_limit,
        remove_stopwords=args.remove_stopwords,
        keep_negations=not args.drop_negations,
        ngram_max=args.ngram_max,
        max_terms=args.max_terms,
        min_df=args.min_df,
        weighting=args.weighting,
        values=args.values,
        norm=args.norm,
        content_type=args.content_type,
        n_rounds=args.rounds,
        eta=args.eta,
        reg_lambda=args.reg_lambda,
        reg_alpha=args.reg_alpha,
        early_stopping_rounds=args.early_stopping,
        calibrate=not args.no_calibration,
        refit=not args.no_refit,
        sentence_weight=args.sentence_weight,
        sentence_weight_per=args.sentence_weight_per,
        n_jobs=args.threads,
        progress=not args.no_progress,
    )
    partial = args.limit is not None or args.test_limit is not None
    run_dir = train_run(
        config,
        make_classifier=_sagemaker_factory(args, config) if args.sagemaker else None,
        set_latest=args.set_latest or not partial,
    )
    import json

    from training.commands.evaluate import format_metrics

    metrics = json.loads((run_dir / "metrics.json").read_text())
    print(f"run: {run_dir}")
    print(format_metrics(metrics["test"]))
    print(f"report: {run_dir / 'report.md'}")
    if partial and not args.set_latest:
        print(_kept_latest(args.artifacts, run_dir))
    return 0


def _kept_latest(artifacts: Path, run_dir: Path) -> str:
    """What a partial run left alone, and how to use it anyway."""
    latest = artifacts / "latest"
    now = f"still {latest.resolve().name}" if latest.exists() else "not set"
    return (
        f"{latest} is {now}: a partial run (--limit/--test-limit) does not replace the "
        f"model `sentiment up` and `make demo` serve. Serve this one with `sentiment up "
        f"--run {run_dir.name}`, or train with --set-latest to make it the default."
    )


def _sagemaker_factory(args: argparse.Namespace, config: TrainConfig) -> Any:
    """A classifier factory whose ``fit`` runs a SageMaker training job. Everything it needs
    (the SDK, bucket, role, region, settings the container can take) is checked now, before
    any local work starts."""
    from training.aws.clients import AwsClients
    from training.aws.job_hyperparameters import job_hyperparameters
    from training.aws.sagemaker_training import SageMakerClassifier, SageMakerTrainingSettings
    from training.aws.sdk import import_sdk
    from training.config import classifier_params
    from training.model import LinearSentimentClassifier

    job_hyperparameters(
        LinearSentimentClassifier(**classifier_params(config)).xgb_params(), config.n_rounds
    )
    settings = aws_settings.settings_from(args)
    bucket, role = settings.need_bucket(), settings.need_role()
    clients = AwsClients(settings.region)
    region = clients.region
    # Last: a missing role or bucket is named whether the aws extra is installed or not.
    import_sdk("sagemaker.train")

    def make(*, run_id: str, content_type: str, **params: Any) -> SageMakerClassifier:
        job = SageMakerTrainingSettings(
            bucket=bucket,
            role_arn=role,
            region=region,
            run_id=run_id,
            instance_type=args.instance_type,
            instance_count=args.instance_count,
            spot=args.spot,
            max_run_seconds=args.max_run,
        )
        return SageMakerClassifier(
            settings=job, s3=clients.s3, content_type=content_type, on_status=print, **params
        )

    return make
