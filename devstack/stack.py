"""The whole offline stack, composed: moto (S3, SQS, SageMaker control plane), the local
SageMaker runtime, the S3 event relay, ``chalice local`` and the page's static server.

    settings = StackSettings(app_dir=Path("sentiment_api"), web_dir=Path("web"),
                             handler="app.py:refresh_vocabulary", state_dir=Path(".devstack"),
                             app_env={"SENTIMENT_STAGE": "local", ...})
    with Stack(settings) as stack:          # or stack.start() ... stack.stop()
        s3 = stack.client("s3")             # boto3 on the local S3
        print(stack.api_url, stack.web_url)

Every port is checked before anything starts; a port of 0 means a free one, chosen when
the Stack is built (so URLs are known before ``start``). Parts can be started one by one
(``start_moto``, ``start_runtime``, ``start_relay``, ``start_api``, ``start_web``) in that
order; ``start`` starts those the settings ask for. ``stop`` stops all, newest first, and
never leaves a process behind. Settings come in as values: nothing here reads
``os.environ``; children get ``base_env`` plus the stack's AWS variables plus ``app_env``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from devstack.errors import DevstackError
from devstack.processes import (
    LOCALHOST,
    ManagedProcess,
    ProcessSpec,
    ensure_port_free,
    file_ready,
    free_port,
    http_ready,
)
from devstack.stage_config import FIX, StageConfigError, stage_variables

# Variables that would send a child somewhere else than the stand-ins.
_STRIPPED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE")
_ENDPOINT_VARS = (
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_SAGEMAKER",
    "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
)


@dataclass(frozen=True)
class StackSettings:
    """What to run and where. Paths may be relative to the current directory."""

    state_dir: Path  # logs (<name>.log) and ready files
    app_dir: Path | None = None  # the Chalice project; None: no `chalice local`
    api: bool = True  # start `chalice local` (False: the developer runs it by hand)
    handler: str | None = None  # "app.py:NAME" (relative to app_dir) or "module:NAME"
    web_dir: Path | None = None  # the page; None: no static server
    web_files: Mapping[str, Path] = field(default_factory=dict)  # URL path -> generated file
    app_env: Mapping[str, str] = field(default_factory=dict)  # SENTIMENT_* for app and relay
    base_env: Mapping[str, str] = field(default_factory=dict)  # e.g. PATH, HOME, LANG
    bucket: str = "sentiment-api-local"
    watch_prefix: str = "vocab/incoming/"
    watch_suffix: str = ".json"
    stage: str = "local"
    host: str = LOCALHOST
    moto_port: int = 0
    runtime_port: int = 0
    api_port: int = 0
    web_port: int = 0
    region: str = "us-east-1"
    python: str = sys.executable
    startup_timeout: float = 60.0
    resolve_ttl: float = 1.0  # seconds the runtime trusts an endpoint's resolution
    relay_retry_delay: int = 1
    relay_max_attempts: int = 3
    autoreload: bool = False  # `chalice local --autoreload`: edits of the app are served


def aws_env(s3_url: str, sagemaker_url: str, runtime_url: str, region: str) -> dict[str, str]:
    """The environment that points boto3 (and so the unchanged app) at the stand-ins."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_S3": s3_url,
        "AWS_ENDPOINT_URL_SQS": s3_url,
        "AWS_ENDPOINT_URL_SAGEMAKER": sagemaker_url,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime_url,
    }


def chalice_env_conflicts(app_dir: Path, stage: str, env: Mapping[str, str]) -> list[str]:
    """Endpoint variables that the Chalice config sets for ``stage`` to other values than
    ``env``. ``chalice local`` lets its config override the process environment, so such
    a variable would send the app to the wrong port."""
    try:
        merged = stage_variables(app_dir, stage)
    except StageConfigError:
        return []
    return [
        f"{name}={merged[name]} (the stack's is {env[name]})"
        for name in _ENDPOINT_VARS
        if name in merged and name in env and merged[name] != env[name]
    ]


class Stack:
    """The stand-ins as child processes of this one."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.ports = {
            "moto": settings.moto_port or free_port(settings.host),
            "runtime": settings.runtime_port or free_port(settings.host),
            "api": settings.api_port or free_port(settings.host),
            "web": settings.web_port or free_port(settings.host),
        }
        self._started: dict[str, ManagedProcess] = {}

    # -- addresses and environment ---------------------------------------------------
    def _url(self, name: str) -> str:
        return f"http://{self.settings.host}:{self.ports[name]}"

    @property
    def moto_url(self) -> str:
        return self._url("moto")

    @property
    def runtime_url(self) -> str:
        return self._url("runtime")

    @property
    def api_url(self) -> str:
        return self._url("api") + "/"

    @property
    def web_url(self) -> str:
        return self._url("web") + "/"

    def aws_env(self) -> dict[str, str]:
        """AWS_* variables for boto3 clients of the stand-ins (fake credentials)."""
        return aws_env(self.moto_url, self.moto_url, self.runtime_url, self.settings.region)

    def child_env(self) -> dict[str, str]:
        """The environment every child gets: base_env, the AWS variables, app_env."""
        env = {"PATH": os.defpath, **self.settings.base_env}
        for name in _STRIPPED:
            env.pop(name, None)
        return {**env, **self.aws_env(), **self.settings.app_env}

    def client(self, service: str) -> Any:
        """A boto3 client on the stand-ins (s3, sqs, sagemaker, sagemaker-runtime)."""
        import boto3

        urls = {"sagemaker-runtime": self.runtime_url}
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=self.settings.region,
        )
        make: Any = session.client  # the stubs only type literal service names
        return make(service, endpoint_url=urls.get(service, self.moto_url))

    @property
    def processes(self) -> dict[str, ManagedProcess]:
        return dict(self._started)

    # -- lifecycle -------------------------------------------------------------------
    def check_ports(self) -> None:
        """Raise PortInUseError for the first wanted port that is taken."""
        names = {"moto": "moto", "runtime": "the SageMaker runtime"}
        if self.settings.app_dir is not None and self.settings.api:
            names["api"] = "the API (chalice local)"
        if self.settings.web_dir is not None:
            names["web"] = "the web page's server"
        for key, label in names.items():
            if key not in self._started:
                ensure_port_free(label, self.ports[key], self.settings.host)

    def start(self) -> Stack:
        """Start every part the settings ask for; on any failure stop what started."""
        self.check_ports()
        try:
            self.start_moto()
            self.start_runtime()
            if self.settings.handler is not None:
                self.start_relay()
            if self.settings.app_dir is not None and self.settings.api:
                self.start_api()
            if self.settings.web_dir is not None:
                self.start_web()
        except BaseException:
            self.stop()
            raise
        return self

    def _run(self, name: str, spec: ProcessSpec) -> ManagedProcess:
        if name in self._started:
            return self._started[name]
        proc = ManagedProcess(spec, self.settings.state_dir / f"{name}.log")
        proc.start()
        self._started[name] = proc
        return proc

    def _spec(self, name: str, argv: list[str], **kwargs: Any) -> ProcessSpec:
        kwargs.setdefault("env", self.child_env())
        return ProcessSpec(
            name=name,
            argv=argv,
            host=self.settings.host,
            ready_timeout=self.settings.startup_timeout,
            **kwargs,
        )

    def start_moto(self) -> ManagedProcess:
        """moto's server: S3, SQS and the SageMaker control plane (with transform jobs that
        the runtime runs: ``devstack.control_plane``)."""
        s, port = self.settings, self.ports["moto"]
        argv = [s.python, "-m", "devstack.control_plane", "-H", s.host, "-p", str(port)]
        ready = http_ready(f"{self.moto_url}/moto-api/")
        return self._run("moto", self._spec("moto", argv, port=port, ready=ready))

    def start_runtime(self) -> ManagedProcess:
        """The local SageMaker runtime (needs moto)."""
        s, port = self.settings, self.ports["runtime"]
        argv = [s.python, "-m", "devstack.runtime", "--host", s.host, "--port", str(port)]
        argv += ["--control-url", self.moto_url, "--s3-url", self.moto_url]
        argv += ["--region", s.region, "--resolve-ttl", str(s.resolve_ttl)]
        ready = http_ready(f"{self.runtime_url}/ping")
        return self._run("runtime", self._spec("runtime", argv, port=port, ready=ready))

    def start_relay(self) -> ManagedProcess:
        """S3 events under the watched prefix -> the app's S3 handler (needs moto; creates
        the bucket if missing and sets its notification configuration)."""
        s = self.settings
        if s.handler is None:
            raise DevstackError("no S3 handler given: set StackSettings.handler")
        handler = s.handler
        target = handler.rpartition(":")[0]
        if target.endswith(".py") and not Path(target).is_absolute() and s.app_dir is not None:
            handler = f"{(s.app_dir / target).resolve()}:{handler.rpartition(':')[2]}"
        ready = s.state_dir / "relay.ready"
        ready.unlink(missing_ok=True)
        argv = [s.python, "-m", "devstack.relay", "--s3-url", self.moto_url]
        argv += ["--sqs-url", self.moto_url, "--bucket", s.bucket, "--prefix", s.watch_prefix]
        argv += ["--suffix", s.watch_suffix, "--handler", handler, "--region", s.region]
        argv += ["--function-name", handler.rpartition(":")[2], "--ready-file", str(ready)]
        argv += ["--retry-delay", str(s.relay_retry_delay)]
        argv += ["--max-attempts", str(s.relay_max_attempts)]
        return self._run("relay", self._spec("relay", argv, ready=file_ready(ready)))

    def start_api(self) -> ManagedProcess:
        """``chalice local --stage STAGE`` in the app's directory."""
        s, port = self.settings, self.ports["api"]
        if s.app_dir is None:
            raise DevstackError("no Chalice project given: set StackSettings.app_dir")
        env = self.child_env()
        conflicts = chalice_env_conflicts(s.app_dir, s.stage, env)
        if conflicts:
            raise DevstackError(
                f"{s.app_dir}/.chalice/config.json stage {s.stage!r} sets "
                + "; ".join(conflicts)
                + ", which chalice local puts over the environment, so the app would miss "
                f"these stand-ins: run `{FIX} --moto-port {self.ports['moto']} "
                f"--runtime-port {self.ports['runtime']} --app-dir {s.app_dir}` to name "
                "them there, or start the stand-ins on the ports it names"
            )
        chalice = [s.python, "-m", "devstack.chalice_local"]
        argv = chalice + ["local", "--stage", s.stage, "--host", s.host, "--port", str(port)]
        argv += ["--autoreload" if s.autoreload else "--no-autoreload"]
        ready = http_ready(self.api_url)
        spec = self._spec("api", argv, env=env, cwd=s.app_dir, port=port, ready=ready)
        return self._run("api", spec)

    def start_web(self) -> ManagedProcess:
        """The static server for the page."""
        s, port = self.settings, self.ports["web"]
        if s.web_dir is None:
            raise DevstackError("no web directory given: set StackSettings.web_dir")
        argv = [s.python, "-m", "devstack.static", "--host", s.host, "--port", str(port)]
        argv += ["--root", str(s.web_dir.resolve())]
        for url_path, file in s.web_files.items():
            argv += ["--override", f"{url_path}={file.resolve()}"]
        return self._run("web", self._spec("web", argv, port=port, ready=http_ready(self.web_url)))

    def stop(self) -> None:
        """Stop every part, newest first. Idempotent."""
        for name in reversed(list(self._started)):
            self._started.pop(name).stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
