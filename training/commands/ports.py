"""``sentiment ports``: where the local stand-ins listen, and the one step that moves them.

The ``local`` stage of ``sentiment_api/.chalice/config.json`` names the stand-ins' URLs, so
``chalice local --stage local`` typed by hand finds them; ``sentiment up`` starts them on
the ports it names. Changing a port here changes both at once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from devstack.errors import DevstackError
from devstack.stage_config import StagePorts, config_path, read_ports, write_ports
from training.commands.options import port_number
from training.errors import UsageError
from training.local_stack import LocalSettings


def configure(parser: argparse.ArgumentParser) -> None:
    """Flags of ``sentiment ports``."""
    add = parser.add_argument
    add(
        "--moto-port",
        type=port_number,
        help="moto's new port (S3 and the SageMaker control plane; 1024-65535)",
    )
    add("--runtime-port", type=port_number, help="the local SageMaker runtime's new port")
    add(
        "--app-dir",
        type=Path,
        default=LocalSettings().app_dir,
        help="the Chalice project whose local stage names them (%(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the ports; with a port option, write it into the local stage first."""
    try:
        ports = read_ports(args.app_dir)
        if args.moto_port is not None or args.runtime_port is not None:
            ports = StagePorts(
                ports.moto if args.moto_port is None else args.moto_port,
                ports.runtime if args.runtime_port is None else args.runtime_port,
            )
            path = write_ports(args.app_dir, ports)
            print(
                f"wrote the stand-ins' ports into {path} (stage 'local'); restart "
                "`sentiment up` and `chalice local --stage local` to use them"
            )
    except DevstackError as exc:
        raise UsageError(str(exc)) from exc
    print(f"moto (S3, SageMaker control plane): {ports.moto}")
    print(f"local SageMaker runtime:            {ports.runtime}")
    print(f"(named by {config_path(args.app_dir)}, stage 'local')")
    return 0
