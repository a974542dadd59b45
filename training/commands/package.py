"""``sentiment package --stage dev OUT``: ``chalice package --pkg-format terraform OUT``,
then the one change current Terraform needs (:mod:`training.terraform`)."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from training.commands.deploy_api import chalice_command, chalice_env
from training.errors import AwsError
from training.terraform import TEMPLATE, relax_required_version


def configure(parser: argparse.ArgumentParser) -> None:
    """Flags of ``sentiment package``."""
    add = parser.add_argument
    add("out", type=Path, help="where chalice writes chalice.tf.json and deployment.zip")
    add("--stage", default="dev", help="Chalice stage (%(default)s)")
    add("--region", help="AWS region (default: boto3's)")
    add(
        "--project-dir",
        type=Path,
        default=Path("sentiment_api"),
        help="the Chalice project (default: sentiment_api)",
    )
    add(
        "--skip-chalice",
        action="store_true",
        help="only fix the chalice.tf.json already in OUT",
    )


def run(args: argparse.Namespace) -> int:
    """Package (unless --skip-chalice), then relax the template's required_version."""
    out = args.out.resolve()
    if not args.skip_chalice:
        command = chalice_command(args.project_dir)
        print(f"chalice package --pkg-format terraform --stage {args.stage} {out}")
        argv = [command, "package", "--pkg-format", "terraform", "--stage", args.stage, str(out)]
        done = subprocess.run(argv, cwd=args.project_dir, env=chalice_env(args.region))
        if done.returncode != 0:
            raise AwsError(f"chalice package failed (exit {done.returncode})")
    old, new = relax_required_version(out)
    print(f"{out / TEMPLATE}: required_version {old!r} -> {new!r} (current Terraform accepts it)")
    # docs/aws.md: Terraform, then what the template leaves out; run from here, where
    # deploy-api finds the Chalice project and the page.
    print(
        "next, from this folder:\n"
        f"  terraform -chdir={out} init && terraform -chdir={out} apply\n"
        f"  sentiment deploy-api --stage {args.stage} --rest-api-id "
        f'"$(terraform -chdir={out} output -raw RestAPIId)"   (API Gateway throttling and '
        "CORS on its own errors, the dashboard and alarm: what the template leaves out)"
    )
    return 0
