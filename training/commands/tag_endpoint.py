"""``sentiment tag-endpoint RUN``: give an endpoint deployed before the vocabulary tag existed
the content fingerprint of its run's vocabulary, so the S3 handler will pair them.

Only a run's own endpoint is tagged: every model behind it must carry the run's model
fingerprint, and a model already tagged with another vocabulary is never re-tagged.
"""

from __future__ import annotations

import argparse

from training.aws import settings as aws_settings
from training.commands import options


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_run_argument(parser)
    options.add_aws_arguments(parser)
    parser.add_argument("--endpoint", help="endpoint to tag (default: sentiment-RUN)")


def run(args: argparse.Namespace) -> int:
    from training import artifacts
    from training.artifacts import load_run
    from training.aws.clients import AwsClients
    from training.aws.naming import resource_name
    from training.aws.publish import tag_endpoint

    settings = aws_settings.settings_from(args)
    run_files = load_run(artifacts.resolve_run(args.artifacts, args.run))
    name = args.endpoint or resource_name(run_files.run_id)
    tagged = tag_endpoint(AwsClients(settings.region).sagemaker, run_files, name)
    print(
        f"tagged endpoint {name} and its {len(tagged) - 1} model(s) with the vocabulary of run "
        f"{run_files.run_id} ({run_files.vocabulary.fingerprint[:12]}); publish it now"
    )
    return 0
