"""``sentiment publish RUN``: the run's vocabulary to the watched prefix, naming its endpoint.

The S3 handler validates it and promotes it; this command waits for that outcome and says
it (promoted, or refused and why). The API switches to it (and to the endpoint it names)
within its refresh TTL.
"""

from __future__ import annotations

import argparse

from training.aws import settings as aws_settings
from training.commands import options


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_run_argument(parser)
    options.add_aws_arguments(parser)
    parser.add_argument("--endpoint", help="endpoint serving the model (default: sentiment-RUN)")
    parser.add_argument("--variant", help="production variant to target (default: none)")
    parser.add_argument(
        "--no-check",
        action="store_true",
        help="skip checking that the endpoint is in service and serves this run's model",
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="return once uploaded, without waiting for the S3 handler's outcome",
    )
    parser.add_argument(
        "--wait-seconds",
        type=float,
        default=120.0,
        help="how long to wait for the S3 handler's outcome (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    from training import artifacts
    from training.aws.clients import AwsClients
    from training.aws.publish import publish_run, wait_for_outcome
    from training.errors import AwsError
    from vocab_store.store import VocabularyStore

    settings = aws_settings.settings_from(args)
    run_dir = artifacts.resolve_run(args.artifacts, args.run)
    clients = AwsClients(settings.region)
    store = VocabularyStore(
        settings.need_bucket(),
        incoming_prefix=settings.incoming_prefix,
        pointer_key=settings.pointer_key,
        s3_client=clients.s3,
    )
    published = publish_run(
        run_dir,
        store=store,
        endpoint=args.endpoint,
        variant=args.variant,
        sagemaker=None if args.no_check else clients.sagemaker,
    )
    key, vocabulary = published.key, published.vocabulary
    print(f"published s3://{store.bucket}/{key} (version {vocabulary.version})")
    if not args.no_wait:
        outcome = wait_for_outcome(store, published, timeout_seconds=args.wait_seconds)
        if outcome.result == "rejected":
            raise AwsError(f"the S3 handler refused it: {outcome.reason}")
        if outcome.result == "not-newer":
            raise AwsError(
                f"the S3 handler did not promote it: a newer version is live ({outcome.reason}"
                " is not newer); publish again to get a newer version"
            )
        print(f"the S3 handler promoted it: version {vocabulary.version} is live")
    print(
        "each API instance switches within its TTL (30-36 s).\n"
        f"Watch /health on your API (the URL `sentiment deploy-api` printed) until its "
        f"vocabulary version is {vocabulary.version}:\n"
        "  curl -s https://YOUR-API/api/health\n"
        f"or check the pointer: aws s3 cp s3://{store.bucket}/{store.pointer_key} -\n"
        "Tear the previous endpoint down only after that (sentiment teardown --except-live)."
    )
    return 0
