"""``sentiment up``: the whole product offline, on 127.0.0.1, until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from devstack.stage_config import DEFAULT_MOTO_PORT, DEFAULT_RUNTIME_PORT
from training.commands.options import port_number
from training.config import DEFAULT_DATA
from training.interrupts import stop_on_signals
from training.local_stack import LocalSettings, LocalStack
from training.make_parent import watch_make_parent

_D = LocalSettings()
# How often the running stack's new feedback is copied to disk (see training/local_feedback.py).
FEEDBACK_SAVE_SECONDS = 5


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--api-port", type=port_number, default=_D.api_port, help="the API's port")
    add("--web-port", type=port_number, default=_D.web_port, help="the page's port")
    add(
        "--moto-port",
        type=port_number,
        help="moto's port: must be the one the app's local stage names (default: the "
        f"stage's, {DEFAULT_MOTO_PORT} as shipped; `sentiment ports` moves it)",
    )
    add(
        "--runtime-port",
        type=port_number,
        help="the runtime's port: must be the one the local stage names (default: the "
        f"stage's, {DEFAULT_RUNTIME_PORT} as shipped; `sentiment ports` moves it)",
    )
    add("--app-dir", type=Path, default=_D.app_dir, help="the Chalice project (%(default)s)")
    add(
        "--services-only",
        action="store_true",
        help="start everything but the API; run `chalice local --stage local` yourself",
    )
    add(
        "--autoreload",
        action="store_true",
        help="the API restarts itself when app.py or chalicelib/ change",
    )
    add("--artifacts", type=Path, default=_D.artifacts_dir, help="runs (%(default)s)")
    add("--run", default=_D.run, help="the run to serve (%(default)s)")
    add("--state-dir", type=Path, default=_D.state_dir, help="logs go here (%(default)s)")
    add("--no-train", action="store_true", help="fail instead of training when there is no run")
    add(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="the IMDB folder to train on when there is no run yet (%(default)s)",
    )


def _train_first(artifacts: Path, data: Path) -> None:
    from training.config import TrainConfig
    from training.pipeline import train_run

    print(
        f"No trained model in {artifacts.resolve()} yet: training one first on IMDB "
        "(about a minute on 2 cores; later starts skip this; --artifacts PATH uses runs "
        "elsewhere)."
    )
    train_run(TrainConfig(data_dir=data, artifacts_dir=artifacts))


def run(args: argparse.Namespace) -> int:
    if args.run == "latest" and not (args.artifacts / "latest").exists():
        if args.no_train:
            print(
                f"No run in {args.artifacts.resolve()}: pass --artifacts PATH/TO/artifacts if "
                "your runs are elsewhere, or run `sentiment train` first."
            )
            return 2
        _train_first(args.artifacts, args.data)

    settings = LocalSettings(
        artifacts_dir=args.artifacts,
        run=args.run,
        state_dir=args.state_dir,
        api_port=args.api_port,
        web_port=args.web_port,
        moto_port=args.moto_port,
        runtime_port=args.runtime_port,
        app_dir=args.app_dir,
        services_only=args.services_only,
        autoreload=args.autoreload,
    )
    local = LocalStack(settings, progress=lambda msg: print(f"… {msg}", flush=True))
    code = 0
    make_stopped = threading.Event()
    # SIGTERM as Ctrl-C, and Ctrl-C even when started with SIGINT ignored: both stop a start
    # half-way as well as a running stack (a failed start stops what it started itself).
    with stop_on_signals() as stopping:
        watch_make_parent(make_stopped)  # `kill -INT <make's pid>` must stop us too
        try:
            local.start()
            if args.services_only:
                _print_services(local, settings)
            else:
                _print_running(local, settings)
            dead = _watch(local)
            print(
                f"\nthe {dead} process stopped unexpectedly: see {settings.state_dir}/{dead}.log",
                file=sys.stderr,
                flush=True,
            )
            code = 1
        except KeyboardInterrupt:
            pass
        finally:
            stopping.hold()  # a second Ctrl-C must not cut the clean-up short
            make_stopped.set()
            if local.running:  # a failed start has stopped what it started
                print("stopping…", flush=True)
            local.stop()
    return code


def _watch(local: LocalStack) -> str:
    """Wait until one of the stack's processes exits by itself; its name. Meanwhile the
    feedback that arrives is copied to disk every few seconds (not only at a clean stop)."""
    stack = local.stack
    assert stack is not None  # started
    tick = 0
    while True:
        for name, process in stack.processes.items():
            if not process.running:
                return name
        if tick % FEEDBACK_SAVE_SECONDS == 0:
            local.save_feedback()
        tick += 1
        time.sleep(1.0)


def _print_running(local: LocalStack, settings: LocalSettings) -> None:
    reload = " (restarts itself when app.py or chalicelib/ change)" if settings.autoreload else ""
    print(
        "\nsentiment-api is running offline.\n"
        f"  the page:  {local.web_url}\n"
        f"  the API:   {local.api_url}{reload}\n"
        "  try:       curl -H 'Content-Type: text/plain' -d 'A wonderful film' "
        f"{local.api_url}\n"
        f"  health:    {local.api_url}health\n"
        f"  logs:      {settings.state_dir}/\n"
        "Press Ctrl-C to stop every process.",
        flush=True,
    )


def _print_services(local: LocalStack, settings: LocalSettings) -> None:
    port = urlsplit(local.api_url).port
    app_dir = settings.app_dir
    try:
        app_dir = app_dir.relative_to(Path.cwd())
    except ValueError:
        pass
    print(
        "\nThe stand-ins are running offline (S3, SageMaker, S3 events, the page); "
        "the API is yours to run:\n"
        f"  cd {app_dir} && chalice local --stage local --port {port}\n"
        f"  the page:  {local.web_url} (it calls {local.api_url})\n"
        f"  logs:      {settings.state_dir}/\n"
        "Press Ctrl-C to stop every process.",
        flush=True,
    )
