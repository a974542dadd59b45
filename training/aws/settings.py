"""Settings of the AWS commands, read once, here: flags first, then environment variables.

| flag | environment variable | meaning |
| --- | --- | --- |
| ``--bucket`` | ``SENTIMENT_BUCKET`` | the project's bucket (models, features, vocabularies) |
| ``--role`` | ``SENTIMENT_SAGEMAKER_ROLE`` | ARN of the SageMaker execution role |
| ``--region`` | ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` | the region (boto3's usual lookup) |
| ``--artifacts`` | | the artifacts folder (default ``./artifacts``) |

A missing bucket or role fails with the flag's and the variable's names. Library code
never reads the environment: it receives these values. The flags themselves are declared
in :mod:`training.commands.options`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass

from training.aws.apigateway import GatewayLimits
from training.errors import UsageError
from vocab_store.layout import INCOMING_PREFIX, POINTER_KEY

ENV_BUCKET = "SENTIMENT_BUCKET"
ENV_ROLE = "SENTIMENT_SAGEMAKER_ROLE"
ENV_POINTER = "SENTIMENT_POINTER_KEY"
ENV_PREFIX = "SENTIMENT_VOCAB_PREFIX"


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
                "role SageMaker can assume (docs/aws.md, 'Once per account', says how to make one)"
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
