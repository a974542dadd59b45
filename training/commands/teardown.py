"""``sentiment teardown [NAME ... | --all | --except-live]``: delete endpoints, their
configs and models; only the project's, and never the live one unless ``--force-live``."""

from __future__ import annotations

import argparse

from training.aws import settings as aws_settings
from training.commands import options


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_aws_arguments(parser)
    parser.add_argument("names", nargs="*", metavar="NAME", help="endpoint names (sentiment-RUN)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every endpoint of the project")
    which.add_argument(
        "--except-live",
        action="store_true",
        help="every endpoint of the project but the one the live vocabulary names",
    )
    parser.add_argument(
        "--force-live",
        action="store_true",
        help="also delete the live vocabulary's endpoint (the API stops answering)",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask before deleting")


def run(args: argparse.Namespace) -> int:
    from training.aws.clients import AwsClients
    from training.aws.teardown import execute_teardown, live_endpoint, plan_teardown
    from training.errors import UsageError
    from vocab_store import StoreError
    from vocab_store.store import VocabularyStore

    settings = aws_settings.settings_from(args)
    clients = AwsClients(settings.region)
    clients.require_credentials()
    live = None
    if not args.force_live:
        if not settings.bucket:
            raise UsageError(
                "teardown reads the live vocabulary to spare its endpoint: pass --bucket or "
                f"set {aws_settings.ENV_BUCKET} (or --force-live to skip that safety)"
            )
        store = VocabularyStore(
            settings.bucket, pointer_key=settings.pointer_key, s3_client=clients.s3
        )
        try:
            live = live_endpoint(store)
        except StoreError as exc:
            raise UsageError(
                f"cannot tell which endpoint is live ({exc}); nothing deleted: check your "
                "credentials, region and bucket (--force-live deletes without that check)"
            ) from exc
    plan = plan_teardown(
        clients.sagemaker,
        names=args.names,
        everything=args.all,
        except_live=args.except_live,
        live=live,
        force_live=args.force_live,
    )
    if plan.spared_live:
        print(f"keeping {plan.spared_live}: the live vocabulary names it")
    if plan.empty:
        print("nothing of the project's to delete")
        return 0
    print("to delete:")
    for line in plan.describe():
        print(f"  {line}")
    options.confirm("Delete these?", assume_yes=args.yes, what="deletes endpoints")
    count = execute_teardown(clients.sagemaker, plan, progress=print)
    print(f"deleted {count} resources; the model files in S3 are kept (models/<run_id>/)")
    return 0
