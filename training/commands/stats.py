"""``sentiment stats [--minutes N]``: the running local API's last minutes, from its log.

Reads the structured request lines of ``.devstack/api.log`` (``sentiment up``'s record of
chalice local) and prints requests, p50/p99 latency, endpoint latency, 4xx/5xx and the
"not sure" rate per model: what the AWS dashboard shows, for the local stack.
"""

from __future__ import annotations

import argparse
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
    records, checks = stats.split_health(stats.read_log(path, args.minutes, datetime.now(UTC)))
    rows = stats.summarise(records)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return 0
    print(f"last {args.minutes:g} minutes of {path}: {len(records)} requests")
    if rows:
        print(stats.format_table(rows))
    if checks:
        print(stats.health_line(checks))
    return 0
