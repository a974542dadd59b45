"""``sentiment deploy-api --stage dev``: ``chalice deploy``, then API Gateway's own limits.

Runs ``chalice deploy --stage STAGE`` in ``sentiment_api/``, then sets the stage's
throttling and the CORS-carrying ``DEFAULT_4XX``/``DEFAULT_5XX`` gateway responses (which
every ``chalice deploy`` resets), creates the stage's CloudWatch dashboard and 5xx alarm and
the feedback retention rule (:mod:`training.aws.monitoring`), writes ``web/config.js`` for
the page, and prints the API's URL. ``sentiment teardown-api`` undoes it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from training.aws import settings as aws_settings
from training.aws.monitoring import DEFAULT_RETENTION_DAYS
from training.commands.options import add_stage_arguments, stage_environment


def configure(parser: argparse.ArgumentParser) -> None:
    add_stage_arguments(parser)
    parser.add_argument(
        "--rate",
        type=float,
        help=f"requests per second (default: ${aws_settings.ENV_THROTTLE_RATE} or 50)",
    )
    parser.add_argument(
        "--burst", type=int, help=f"burst (default: ${aws_settings.ENV_THROTTLE_BURST} or 100)"
    )
    parser.add_argument(
        "--origin",
        help=f"origin allowed on errors (default: ${aws_settings.ENV_ALLOW_ORIGIN} or *)",
    )
    parser.add_argument(
        "--web-dir", type=Path, default=Path("web"), help="where to write config.js (default: web)"
    )
    parser.add_argument(
        "--skip-chalice", action="store_true", help="only apply the limits to a deployed stage"
    )
    parser.add_argument(
        "--rest-api-id",
        help="the REST API to set up when chalice did not deploy it (Terraform from `sentiment "
        "package`: `terraform output -raw RestAPIId`); implies --skip-chalice",
    )
    parser.add_argument(
        "--feedback-days",
        type=int,
        default=DEFAULT_RETENTION_DAYS,
        help="days POST /feedback objects are kept before S3 expires them (%(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    import subprocess

    from training.aws.apigateway import (
        apply_gateway_settings,
        deployed_api,
        named_api,
        write_web_config,
    )
    from training.aws.clients import AwsClients
    from training.errors import AwsError

    limits = aws_settings.gateway_limits_from(args)
    command = chalice_command(args.project_dir)
    clients = AwsClients(args.region)
    clients.require_credentials()  # chalice would print a traceback instead
    if not (args.skip_chalice or args.rest_api_id):
        print(f"chalice deploy --stage {args.stage}  (in {args.project_dir})")
        argv, env = chalice_deploy_command(command, args.stage, args.region)
        done = subprocess.run(argv, cwd=args.project_dir, env=env)
        if done.returncode != 0:
            raise AwsError(f"chalice deploy --stage {args.stage} failed (exit {done.returncode})")
    if args.rest_api_id:
        api = named_api(args.project_dir, args.stage, args.rest_api_id, clients.region)
    else:
        api = deployed_api(args.project_dir, args.stage)
    apply_gateway_settings(clients.apigateway, api.rest_api_id, api.stage_name, limits)
    print(
        f"API Gateway {api.rest_api_id}/{api.stage_name}: throttled at {limits.rate_limit:g} "
        f"requests/s (burst {limits.burst_limit}); 4XX/5XX errors carry CORS headers"
    )
    _monitoring(args, clients)
    if args.web_dir.is_dir():
        path = write_web_config(args.web_dir, api.url)
        print(f"wrote {path}: the page now calls {api.url}")
    print(f"the API lives at {api.url}")
    print(f"  curl -s -X POST -H 'Content-Type: text/plain' --data 'A great film' {api.url}")
    return 0


def _monitoring(args: argparse.Namespace, clients: Any) -> None:
    """The stage's CloudWatch dashboard, 5xx alarm and feedback retention."""
    from training.aws.monitoring import apply_monitoring, plan_monitoring

    plan = plan_monitoring(
        args.stage,
        clients.region,
        stage_environment(args.project_dir, args.stage),
        args.feedback_days,
    )
    apply_monitoring(clients.cloudwatch, clients.s3, plan)
    for line in plan.describe():
        print(line)


def chalice_command(project_dir: Path) -> str:
    """The ``chalice`` beside this Python (or on PATH); a clear error for a wrong project."""
    import shutil
    import sys

    from training.errors import UsageError

    if not (project_dir / "app.py").is_file():
        raise UsageError(
            f"{project_dir} is not the Chalice project (no app.py); pass --project-dir"
        )
    chalice = Path(sys.executable).with_name("chalice")
    command = str(chalice) if chalice.exists() else shutil.which("chalice")
    if command is None:
        raise UsageError("chalice is not installed; pip install -e . installs it")
    return command


def chalice_deploy_command(
    chalice: str, stage: str, region: str | None
) -> tuple[list[str], dict[str, str]]:
    """``chalice deploy``'s command line and environment. It has no ``--region`` option:
    the region reaches it, like any boto3 program, through ``AWS_DEFAULT_REGION``."""
    return [chalice, "deploy", "--stage", stage], chalice_env(region)


def chalice_env(region: str | None) -> dict[str, str]:
    """The environment for a chalice command: this one, with ``region`` if given."""
    env = dict(os.environ)
    if region:
        env["AWS_DEFAULT_REGION"] = env["AWS_REGION"] = region
    return env
