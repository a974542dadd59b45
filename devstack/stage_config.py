"""Where the stand-ins listen, as the Chalice project's ``local`` stage names it.

``chalice local --stage local``, typed by hand in ``sentiment_api/``, must find the
stand-ins with nothing exported. chalice copies a stage's ``environment_variables`` into
the app's environment (over whatever the shell has), so that stage names the stand-ins'
URLs (``AWS_ENDPOINT_URL_S3`` and ``AWS_ENDPOINT_URL_SAGEMAKER``: moto;
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``: the local runtime), dummy credentials and a region.
That file is the one place the ports live: the stand-ins are started on the ports it names
(:func:`read_ports`), and moving them is one step that rewrites it (:func:`write_ports`).

The committed ports are :data:`DEFAULT_PORTS`; a test keeps the two in agreement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devstack.errors import DevstackError
from devstack.processes import LOCALHOST

STAGE = "local"
# moto (S3, SQS, SageMaker control plane) and the local SageMaker runtime; the API itself
# is `chalice local`'s own default, 8000, and the page's server 8080.
DEFAULT_MOTO_PORT = 8001
DEFAULT_RUNTIME_PORT = 8002
# Which stand-in each variable names.
MOTO_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SAGEMAKER")
RUNTIME_VARS = ("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",)
FIX = "sentiment ports"  # the one step that changes them (named in every refusal)


class StageConfigError(DevstackError):
    """The stage's config does not name the stand-ins in a usable way."""


@dataclass(frozen=True)
class StagePorts:
    """The ports of moto and of the local SageMaker runtime."""

    moto: int
    runtime: int


DEFAULT_PORTS = StagePorts(DEFAULT_MOTO_PORT, DEFAULT_RUNTIME_PORT)


def config_path(app_dir: Path) -> Path:
    """The Chalice project's config file."""
    return app_dir / ".chalice" / "config.json"


def _load(app_dir: Path) -> dict[str, Any]:
    path = config_path(app_dir)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise StageConfigError(f"{path} does not exist: is {app_dir} the Chalice project?") from exc
    except (OSError, ValueError) as exc:
        raise StageConfigError(f"{path} is not readable JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise StageConfigError(f"{path} is not a Chalice config (not a JSON object)")
    return config


def stage_variables(app_dir: Path, stage: str = STAGE) -> dict[str, str]:
    """The environment chalice gives the app in ``stage``: the top-level variables with the
    stage's over them."""
    config = _load(app_dir)
    merged = dict(config.get("environment_variables") or {})
    staged = (config.get("stages") or {}).get(stage) or {}
    merged.update(staged.get("environment_variables") or {})
    return {str(k): str(v) for k, v in merged.items()}


def _port_of(app_dir: Path, variables: dict[str, str], names: tuple[str, ...]) -> int:
    found: set[int] = set()
    for name in names:
        url = variables.get(name)
        if url is None:
            raise StageConfigError(
                f"{config_path(app_dir)} stage {STAGE!r} does not set {name}: run `{FIX}` "
                "to write the stand-ins' URLs there"
            )
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme != "http" or parts.hostname != LOCALHOST or port is None:
            raise StageConfigError(
                f"{config_path(app_dir)} stage {STAGE!r} sets {name}={url}, which is not a "
                f"stand-in's address (http://{LOCALHOST}:PORT): run `{FIX}` to write them"
            )
        found.add(port)
    if len(found) != 1:
        listed = ", ".join(f"{n}={variables[n]}" for n in names)
        raise StageConfigError(
            f"{config_path(app_dir)} stage {STAGE!r} sends one stand-in to two ports "
            f"({listed}): run `{FIX}` to write one port for it"
        )
    return found.pop()


def read_ports(app_dir: Path) -> StagePorts:
    """The stand-ins' ports named by the ``local`` stage of ``app_dir``'s config."""
    variables = stage_variables(app_dir)
    return StagePorts(
        moto=_port_of(app_dir, variables, MOTO_VARS),
        runtime=_port_of(app_dir, variables, RUNTIME_VARS),
    )


def stage_urls(ports: StagePorts, host: str = LOCALHOST) -> dict[str, str]:
    """The endpoint variables that send boto3 to stand-ins on ``ports``."""
    moto, runtime = f"http://{host}:{ports.moto}", f"http://{host}:{ports.runtime}"
    return {**dict.fromkeys(MOTO_VARS, moto), **dict.fromkeys(RUNTIME_VARS, runtime)}


def write_ports(app_dir: Path, ports: StagePorts) -> Path:
    """Rewrite the ``local`` stage's endpoint URLs for ``ports``, leaving everything else in
    the file as it is; returns the file's path."""
    for port in (ports.moto, ports.runtime):
        if not 0 < port < 65536:
            raise StageConfigError(f"{port} is not a TCP port (1-65535)")
    if ports.moto == ports.runtime:
        raise StageConfigError(f"moto and the runtime cannot share port {ports.moto}")
    config = _load(app_dir)
    stage = (config.setdefault("stages", {})).setdefault(STAGE, {})
    stage.setdefault("environment_variables", {}).update(stage_urls(ports))
    path = config_path(app_dir)
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path


def disagreement(app_dir: Path, wanted: StagePorts) -> str | None:
    """One sentence saying how ``wanted`` differs from the ports the stage names and how to
    fix it; ``None`` when they agree."""
    named = read_ports(app_dir)
    if named == wanted:
        return None
    return (
        f"{config_path(app_dir)} stage {STAGE!r} sends the app to moto on port {named.moto} "
        f"and the runtime on {named.runtime}, not {wanted.moto} and {wanted.runtime}: run "
        f"`{FIX} --moto-port {wanted.moto} --runtime-port {wanted.runtime}` to move both, "
        "or start the stand-ins without port options"
    )
