"""``sentiment teardown-api --stage dev``: ``chalice delete``, then the stage's dashboard and
5xx alarm that ``sentiment deploy-api`` created. The bucket, its feedback and the retention
rule that expires it stay (the bucket is not the API's)."""

from __future__ import annotations

import argparse

from training.commands import options


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_stage_arguments(parser)
    parser.add_argument(
        "--skip-chalice", action="store_true", help="only delete the dashboard and alarm"
    )
    parser.add_argument("--yes", action="store_true", help="do not ask before deleting")


def run(args: argparse.Namespace) -> int:
    import subprocess

    from training.aws.clients import AwsClients
    from training.aws.monitoring import alarm_name, dashboard_name, remove_monitoring
    from training.commands.deploy_api import chalice_command, chalice_deploy_command
    from training.errors import AwsError

    clients = AwsClients(args.region)
    clients.require_credentials()
    what = f"dashboard {dashboard_name(args.stage)}, alarm {alarm_name(args.stage)}"
    if not args.skip_chalice:
        what = f"the API of stage {args.stage} (chalice delete), {what}"
    options.confirm(f"Delete {what}?", assume_yes=args.yes, what="deletes the API")
    if not args.skip_chalice:
        chalice = chalice_command(args.project_dir)
        _, env = chalice_deploy_command(chalice, args.stage, args.region)  # the region's env
        argv = [chalice, "delete", "--stage", args.stage]
        print(f"chalice delete --stage {args.stage}  (in {args.project_dir})")
        done = subprocess.run(argv, cwd=args.project_dir, env=env)
        if done.returncode != 0:
            raise AwsError(f"chalice delete --stage {args.stage} failed (exit {done.returncode})")
    deleted = remove_monitoring(clients.cloudwatch, args.stage)
    print(f"deleted {', '.join(deleted)}" if deleted else "no dashboard or alarm to delete")
    return 0
