"""The ``sentiment`` command: one subcommand per module, imported only when it runs.

Each command module defines ``configure(parser)`` (its flags) and ``run(args) -> int``.
Modules keep heavy imports (xgboost, numpy, the SageMaker SDK) inside their functions, so
``sentiment --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from training.errors import CommandError
from vocab_store import VocabError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("training.commands.train", "train a model and vocabulary on IMDB"),
    "evaluate": ("training.commands.evaluate", "re-score a run on the test set from its files"),
    "score": ("training.commands.score", "score a file of reviews, locally or on SageMaker"),
    "up": ("training.commands.up", "run the whole product locally, offline"),
    "ports": ("training.commands.ports", "show or move the local stand-ins' ports"),
    "deploy": ("training.commands.deploy", "deploy a run's model to a SageMaker endpoint"),
    "publish": ("training.commands.publish", "publish a run's vocabulary so it goes live"),
    "tag-endpoint": (
        "training.commands.tag_endpoint",
        "tag an endpoint deployed before pairing tags with its run's vocabulary",
    ),
    "endpoints": ("training.commands.endpoints", "list the project's endpoints and their cost"),
    "teardown": ("training.commands.teardown", "delete endpoints, configs and models"),
    "package": (
        "training.commands.package",
        "chalice package --pkg-format terraform, made acceptable to current Terraform",
    ),
    "feedback": (
        "training.commands.feedback",
        "what people said about the API's answers; export it for review",
    ),
    "stats": (
        "training.commands.stats",
        "the local API's last minutes, from the log file `sentiment up` writes",
    ),
    "deploy-api": (
        "training.commands.deploy_api",
        "chalice deploy, then API Gateway throttling and CORS on its own errors",
    ),
    "teardown-api": (
        "training.commands.teardown_api",
        "chalice delete, and the dashboard and alarm deploy-api made",
    ),
}

log = logging.getLogger("sentiment")
# Whose INFO lines a person sees without --verbose: ours. Libraries (botocore's "Found
# credentials in environment variables", the SDK's) speak at WARNING and up, or with -v.
OWN_LOGGERS = ("sentiment", "training", "vocab_store", "devstack")


def configure_logging(verbose: bool) -> None:
    """Our INFO messages and everyone's warnings; with ``verbose``, everything at DEBUG."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)


class DefaultsFormatter(argparse.HelpFormatter):
    """Shows each option's default after its help, unless the help already says it; a flag
    (default False) or an option with no default shows none."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        shown = "%(default)" in text or "default" in text.lower()
        if shown or default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentiment", description="Train, run and deploy the sentiment API."
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log debug details, the libraries' too"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(
            name, help=help_text, description=help_text, formatter_class=DefaultsFormatter
        )
        if name == chosen:
            importlib.import_module(module).configure(cmd)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    configure_logging(args.verbose)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except CommandError as exc:
        print(f"sentiment {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except VocabError as exc:
        print(f"sentiment {args.command}: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print(f"sentiment {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
