"""Flags and prompts shared by the ``sentiment`` commands that reach AWS.

The values the flags carry are read, with their environment variables, in
:mod:`training.aws.settings`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.aws.settings import ENV_BUCKET, ENV_ROLE
from training.errors import UsageError

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
        help="artifacts folder",
    )


def port_number(text: str) -> int:
    """An argparse ``type``: a TCP port a user's process may listen on (1024 to 65535)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1024 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{port} is not a port from 1024 to 65535 (ports below 1024 need root)"
        )
    return port


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


def stage_environment(project_dir: Path, stage: str) -> dict[str, str]:
    """The environment a Chalice stage's functions get (``.chalice/config.json``: the
    top-level variables with the stage's over them)."""
    from devstack.errors import DevstackError
    from devstack.stage_config import stage_variables

    try:
        return stage_variables(project_dir, stage)
    except DevstackError as exc:
        raise UsageError(str(exc)) from exc


def add_stage_arguments(parser: argparse.ArgumentParser) -> None:
    """``--stage``, ``--region`` and ``--project-dir`` of the commands that act on a deployed
    Chalice stage (``deploy-api``, ``teardown-api``)."""
    parser.add_argument("--stage", required=True, help="Chalice stage: dev or prod")
    parser.add_argument("--region", help="AWS region (default: boto3's)")
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=Path("sentiment_api"),
        help="the Chalice project (default: sentiment_api)",
    )
