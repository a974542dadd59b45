"""devstack's exception tree: everything it raises on purpose is a ``DevstackError``.

Each error says in one sentence what went wrong and what to do; the command line that
starts the stand-ins (``sentiment up``) maps them to its own errors and exit codes.
"""

from __future__ import annotations


class DevstackError(Exception):
    """Base of every error devstack raises on purpose."""


class PortInUseError(DevstackError):
    """A port that a stand-in must listen on is already taken."""

    def __init__(self, name: str, host: str, port: int) -> None:
        super().__init__(
            f"port {port} on {host} is already in use, so {name} cannot start there: "
            f"stop whatever listens on it or choose another port"
        )
        self.name = name
        self.host = host
        self.port = port


class StartupError(DevstackError):
    """A stand-in did not become ready: it exited early or never answered in time."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        tail = f"\n--- last lines of its log ---\n{log_tail}" if log_tail else ""
        super().__init__(message + tail)
        self.log_tail = log_tail
