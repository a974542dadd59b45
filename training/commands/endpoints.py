"""``sentiment endpoints``: the project's endpoints, their size, age and estimated cost."""

from __future__ import annotations

import argparse

from training.aws import settings as aws_settings
from training.commands import options


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_aws_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from training.aws.clients import AwsClients
    from training.aws.listing import endpoint_rows, format_rows
    from training.aws.teardown import live_endpoint
    from vocab_store import StoreError
    from vocab_store.store import VocabularyStore

    settings = aws_settings.settings_from(args)
    clients = AwsClients(settings.region)
    live = None
    if settings.bucket:
        store = VocabularyStore(
            settings.bucket, pointer_key=settings.pointer_key, s3_client=clients.s3
        )
        try:
            live = live_endpoint(store)
        except StoreError as exc:
            print(f"(cannot tell which endpoint is live: {exc})")
    rows = endpoint_rows(clients.sagemaker, now=datetime.now(UTC), live=live)
    if not rows:
        print(f"no endpoints of the project in {clients.region}")
        return 0
    for line in format_rows(rows):
        print(line)
    return 0
