"""Errors of the ``training`` package and the ``sentiment`` command.

Each knows the exit code the command line ends with. Errors from boto3, xgboost or the OS
are translated into these where they happen (``raise ... from exc``); the command line
prints the message, one sentence that says what to do, and exits with the code.
"""

from __future__ import annotations


class CommandError(Exception):
    """Base of every error the ``sentiment`` command reports to a person."""

    exit_code = 1


class UsageError(CommandError):
    """The person asked for something that cannot work as asked (a flag, a missing run)."""

    exit_code = 2


class DataError(CommandError):
    """The IMDB data (or another input file) is missing or damaged."""

    exit_code = 3


class AwsError(CommandError):
    """AWS (or its local stand-in) refused or failed a call."""

    exit_code = 4


class StackError(CommandError):
    """The local stack could not start or stay up."""

    exit_code = 5


class TrainingError(CommandError):
    """A trained model fails a check of its own (e.g. its weights do not reproduce it)."""

    exit_code = 6
