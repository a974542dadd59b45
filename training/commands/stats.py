"""``sentiment stats [--minutes N]``: the local API's last minutes, from its log file.

Reads the structured request lines of ``.devstack/api.log`` (``sentiment up``'s record of
chalice local) and prints requests, p50/p99 latency, endpoint latency, 4xx/5xx and the
"not sure" rate per model: what the AWS dashboard shows, for the local stack. The file
stays after the stack stops: then the figures are its last minutes before it was last
written, and the first line says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--minutes", type=float, default=5.0, help="how far back, in minutes")
    add(
        "--state-dir",
        type=Path,
        default=Path(".devstack"),
        help="the local stack's state folder, where api.log is (%(default)s)",
    )
    add("--json", action="store_true", help="print the rows as JSON")


def run(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict
    from datetime import UTC, datetime

    from training import stats
    from training.errors import UsageError

    if args.minutes <= 0:
        raise UsageError("--minutes must be more than 0")
    path = args.state_dir / "api.log"
    if not path.is_file():
        raise UsageError(f"{path} does not exist: start the local stack with `sentiment up`")
    now = datetime.now(UTC)
    written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    stopped = stats.held_open(path) is False
    # A stopped stack's log: its last minutes before it was last written, not before now.
    records, checks = stats.split_health(
        stats.read_log(path, args.minutes, written if stopped else now)
    )
    rows = stats.summarise(records)
    source = f"last {args.minutes:g} minutes of {path}"
    if stopped:
        source = (
            f"from {path}, last written {written.astimezone():%H:%M} "
            f"({stats.ago((now - written).total_seconds())} ago): the stack that wrote it is "
            f"not running; its last {args.minutes:g} minutes before then"
        )
    if args.json:
        if stopped:
            print(source, file=sys.stderr)
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return 0
    print(f"{source}: {len(records)} requests")
    if rows:
        print(stats.format_table(rows))
    if checks:
        print(stats.health_line(checks))
    return 0
