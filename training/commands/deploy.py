"""``sentiment deploy RUN``: the run's model on a SageMaker endpoint of its own.

Low level (plain boto3) by default; ``--high-level`` uses the SageMaker SDK v3 (the ``aws``
extra). ``--serverless`` makes a serverless endpoint (no idle cost). A real-time endpoint's
hourly cost is shown before anything is created, and must be confirmed (``--yes``).
"""

from __future__ import annotations

import argparse

from training.aws import settings as aws_settings
from training.commands import options


def configure(parser: argparse.ArgumentParser) -> None:
    from training.aws.deploy import DEFAULT_INSTANCE_TYPE

    options.add_run_argument(parser)
    options.add_aws_arguments(parser, role=True)
    parser.add_argument(
        "--instance-type",
        default=DEFAULT_INSTANCE_TYPE,
        help=f"real-time instance type (default: {DEFAULT_INSTANCE_TYPE})",
    )
    parser.add_argument("--instance-count", type=int, default=1, help="instances (default: 1)")
    parser.add_argument(
        "--serverless", action="store_true", help="serverless endpoint: billed per request"
    )
    parser.add_argument(
        "--memory", type=int, default=2048, help="serverless memory in MB (default: 2048)"
    )
    parser.add_argument(
        "--max-concurrency", type=int, default=5, help="serverless concurrency (default: 5)"
    )
    parser.add_argument(
        "--high-level", action="store_true", help="use the SageMaker SDK v3 (the aws extra)"
    )
    parser.add_argument(
        "--image", help="container image URI (default: XGBoost 3.2-0 of the region)"
    )
    parser.add_argument("--yes", action="store_true", help="do not ask before creating")
    parser.add_argument(
        "--no-wait", action="store_true", help="return once the endpoint is being created"
    )


def run(args: argparse.Namespace) -> int:
    from training import artifacts
    from training.aws import costs, deploy
    from training.aws.clients import AwsClients

    settings = aws_settings.settings_from(args)
    run_dir = artifacts.resolve_run(args.artifacts, args.run)
    clients = AwsClients(settings.region)
    serverless = (
        deploy.ServerlessConfig(memory_mb=args.memory, max_concurrency=args.max_concurrency)
        if args.serverless
        else None
    )
    request = deploy.DeployRequest(
        run_dir,
        bucket=settings.need_bucket(),
        role_arn=settings.need_role(),
        instance_type=args.instance_type,
        instance_count=args.instance_count,
        serverless=serverless,
        image_uri=args.image,
        wait=not args.no_wait,
    )
    # Check everything that needs no AWS before asking anyone to pay.
    plan = deploy.plan_deploy(request, clients.region)
    if serverless is None:
        hourly = costs.describe_hourly(args.instance_type, args.instance_count)
        print(f"endpoint {plan.name}: {hourly}")
        options.confirm(
            "Create it?", assume_yes=args.yes, what="creates an endpoint billed by the hour"
        )
    else:
        print(
            f"endpoint {plan.name}: serverless, {serverless.memory_mb} MB; no cost while idle, "
            "billed per request"
        )
    backend: deploy.DeployBackend = deploy.Boto3Backend(clients.sagemaker)
    if args.high_level:
        from training.aws.deploy_sdk import SdkBackend

        backend = SdkBackend(clients.session, deploy.Boto3Backend(clients.sagemaker))
    result = deploy.deploy_run(
        request, s3=clients.s3, sagemaker=clients.sagemaker, backend=backend, progress=print
    )
    print(f"endpoint {result.name} is {result.status}")
    print(f"next: sentiment publish {result.run_id}   (makes its vocabulary live)")
    print(f"when done: sentiment teardown {result.name}")
    return 0
