"""Settings of the AWS commands, read once, here: flags first, then environment variables.

| flag | environment variable | meaning |
| --- | --- | --- |
| ``--bucket`` | ``SENTIMENT_BUCKET`` | the project's bucket (models, features, vocabularies) |
| ``--role`` | ``SENTIMENT_SAGEMAKER_ROLE`` | ARN of the SageMaker execution role |
| ``--region`` | ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` | the region (boto3's usual lookup) |
| ``--artifacts`` | | the artifacts folder (default ``./artifacts``) |

A missing bucket or role fails with the flag's and the variable's names. Library code
never reads the environment: it receives these values.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from training.aws.apigateway import GatewayLimits
from training.errors import UsageError
from vocab_store.layout import INCOMING_PREFIX, POINTER_KEY

ENV_BUCKET = "SENTIMENT_BUCKET"
ENV_ROLE = "SENTIMENT_SAGEMAKER_ROLE"
ENV_POINTER = "SENTIMENT_POINTER_KEY"
ENV_PREFIX = "SENTIMENT_VOCAB_PREFIX"
DEFAULT_ARTIFACTS = Path("artifacts")


def add_aws_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, role: bool = False
) -> None:
    parser.add_argument("--bucket", help=f"the project's S3 bucket (default: ${ENV_BUCKET})")
    parser.add_argument("--region", help="AWS region (default: boto3's, e.g. $AWS_REGION)")
    if role:
        parser.add_argument(
            "--role", help=f"ARN of the SageMaker execution role (default: ${ENV_ROLE})"
        )


def add_run_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run", nargs="?", default="latest", help="run id, run directory or 'latest' (default)"
    )
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=DEFAULT_ARTIFACTS,
        help="artifacts folder (default: ./artifacts)",
    )


@dataclass(frozen=True)
class AwsSettings:
    bucket: str | None
    role_arn: str | None
    region: str | None
    incoming_prefix: str = INCOMING_PREFIX
    pointer_key: str = POINTER_KEY

    def need_bucket(self) -> str:
        if not self.bucket:
            raise UsageError(f"no bucket: pass --bucket or set {ENV_BUCKET}")
        return self.bucket

    def need_role(self) -> str:
        if not self.role_arn:
            raise UsageError(
                f"no SageMaker execution role: pass --role or set {ENV_ROLE} to the ARN of a "
                "role SageMaker can assume (the README's deployment section says how to make one)"
            )
        return self.role_arn


def settings_from(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> AwsSettings:
    env = os.environ if environ is None else environ
    return AwsSettings(
        bucket=getattr(args, "bucket", None) or env.get(ENV_BUCKET) or None,
        role_arn=getattr(args, "role", None) or env.get(ENV_ROLE) or None,
        region=getattr(args, "region", None) or None,
        incoming_prefix=env.get(ENV_PREFIX) or INCOMING_PREFIX,
        pointer_key=env.get(ENV_POINTER) or POINTER_KEY,
    )


def confirm(question: str, *, assume_yes: bool, what: str) -> None:
    """Ask before spending money or deleting; without a terminal to ask on, refuse unless
    ``--yes``. ``what`` completes "this ..." in the refusal."""
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            f"this {what} and there is no terminal to confirm on; nothing was done. "
            "Pass --yes to go ahead"
        )
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise UsageError("cancelled; nothing was done")


ENV_THROTTLE_RATE = "SENTIMENT_THROTTLE_RATE"
ENV_THROTTLE_BURST = "SENTIMENT_THROTTLE_BURST"
ENV_ALLOW_ORIGIN = "SENTIMENT_ALLOW_ORIGIN"


def gateway_limits_from(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> GatewayLimits:
    """Throttling and CORS origin: flags, then environment variables, then defaults."""
    env = os.environ if environ is None else environ
    defaults = GatewayLimits()
    try:
        rate = float(args.rate or env.get(ENV_THROTTLE_RATE) or defaults.rate_limit)
        burst = int(args.burst or env.get(ENV_THROTTLE_BURST) or defaults.burst_limit)
    except ValueError as exc:
        raise UsageError(
            f"{ENV_THROTTLE_RATE} must be a number and {ENV_THROTTLE_BURST} an integer"
        ) from exc
    origin = args.origin or env.get(ENV_ALLOW_ORIGIN) or defaults.allow_origin
    return GatewayLimits(rate, burst, origin)
