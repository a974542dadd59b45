"""The whole product on one machine: the stand-ins, seeded from the artifacts on disk.

``sentiment up`` and the end-to-end tests use this. It starts the devstack stand-ins and
then does what a person does on AWS, with the same code: upload the run's model and deploy
it (low level: model, endpoint config, endpoint), publish its vocabulary to the watched
prefix (the S3 handler validates and promotes it), and wait until the API serves it. moto
keeps everything in memory, so every start re-seeds the local S3 from ``artifacts/``: the
folder on disk is the source of truth.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.errors import DevstackError, PortInUseError
from devstack.stack import Stack, StackSettings
from devstack.stage_config import StagePorts, disagreement, read_ports, stage_variables
from training import local_feedback
from training.artifacts import load_run, load_vocabulary, resolve_run
from training.aws.deploy import DeployedEndpoint, DeployRequest, deploy_run
from training.aws.naming import LOCAL_ROLE_ARN
from training.aws.publish import Published, publish_run, wait_for_outcome
from training.errors import AwsError, StackError
from vocab_store.store import VocabularyStore

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
HANDLER = "app.py:refresh_vocabulary"
# What children inherit from this process; AWS_* come from the stack, never from the shell.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "SSL_CERT_FILE")


@dataclass(frozen=True)
class LocalSettings:
    """Where things are and which ports to use (0: any free port). moto and the runtime
    listen where the Chalice project's ``local`` stage says (``sentiment ports`` moves
    them); a port given here must agree with it."""

    artifacts_dir: Path = Path("artifacts")
    run: str = "latest"
    state_dir: Path = Path(".devstack")
    app_dir: Path = REPO / "sentiment_api"
    web_dir: Path = REPO / "web"
    bucket: str = "sentiment-api-local"
    api_port: int = 8000
    web_port: int = 8080
    moto_port: int | None = None  # None: the port the local stage names
    runtime_port: int | None = None
    services_only: bool = False  # everything but the API: the developer runs chalice local
    autoreload: bool = False  # the API restarts itself when app.py or chalicelib/ change
    ready_timeout: float = 60.0
    app_env: dict[str, str] = field(default_factory=dict)
    feedback_dir: Path | None = None  # None: <state_dir>/feedback

    @property
    def feedback_folder(self) -> Path:
        """Where the local feedback is kept across restarts (``training/local_feedback.py``)."""
        return self.feedback_dir or self.state_dir / "feedback"

    @property
    def feedback_prefix(self) -> str:
        return self.app_env.get("SENTIMENT_FEEDBACK_PREFIX", "").strip() or "feedback/"


@dataclass
class LocalStack:
    """The running stand-ins and what was deployed on them. Use as a context manager."""

    settings: LocalSettings
    progress: Callable[[str], None] = log.info
    stack: Stack | None = None
    endpoint: DeployedEndpoint | None = None
    vocabulary_version: int | None = None

    @property
    def running(self) -> bool:
        """Whether any of the stack's processes is started (and not stopped yet)."""
        return self.stack is not None and bool(self.stack.processes)

    @property
    def api_url(self) -> str:
        return self._stack().api_url

    @property
    def web_url(self) -> str:
        return self._stack().web_url

    def _stack(self) -> Stack:
        if self.stack is None:
            raise StackError("the local stack is not started")
        return self.stack

    def client(self, service: str) -> Any:
        """A boto3 client on the local stand-ins."""
        return self._stack().client(service)

    def aws_env(self) -> dict[str, str]:
        """Environment variables that point boto3 at the stand-ins."""
        return self._stack().aws_env()

    def start(self) -> LocalStack:
        s = self.settings
        ports = stand_in_ports(s)
        # Checked whole before any process starts: an edited vocabulary is one sentence.
        run_dir = load_run(resolve_run(s.artifacts_dir, s.run)).directory
        s.state_dir.mkdir(parents=True, exist_ok=True)
        config_js = s.state_dir / "config.js"
        stack = Stack(
            StackSettings(
                state_dir=s.state_dir,
                app_dir=s.app_dir,
                handler=HANDLER,
                web_dir=s.web_dir,
                web_files={"/config.js": config_js},
                app_env={
                    # The relay runs the S3 handler outside chalice: it gets the stage's
                    # Powertools settings here (service name, tracing off), as on Lambda.
                    **{
                        k: v
                        for k, v in stage_variables(s.app_dir, "local").items()
                        if k.startswith("POWERTOOLS_")
                    },
                    "SENTIMENT_STAGE": "local",
                    "SENTIMENT_BUCKET": s.bucket,
                    **s.app_env,
                },
                base_env={k: v for k, v in os.environ.items() if k in _INHERITED},
                bucket=s.bucket,
                api_port=s.api_port,
                web_port=s.web_port,
                moto_port=ports.moto,
                runtime_port=ports.runtime,
                autoreload=s.autoreload,
                api=not s.services_only,
            )
        )
        self.stack = stack
        try:
            stack.check_ports()
            self.progress("starting moto (S3 and the SageMaker control plane)")
            stack.start_moto()
            s3, sagemaker = stack.client("s3"), stack.client("sagemaker")
            s3.create_bucket(Bucket=s.bucket)
            kept = local_feedback.restore(s3, s.bucket, s.feedback_prefix, s.feedback_folder)
            if kept:
                self.progress(f"put back {kept} feedback objects from {s.feedback_folder}")
            self.progress("starting the local SageMaker runtime")
            stack.start_runtime()
            self.progress(f"deploying {run_dir.name}: model, endpoint config, endpoint")
            self.endpoint = deploy_run(
                DeployRequest(run_dir, s.bucket, LOCAL_ROLE_ARN, poll_seconds=0),
                s3=s3,
                sagemaker=sagemaker,
                progress=self.progress,
            )
            if s.services_only:
                self.progress("starting S3 event delivery and the page (not the API)")
            else:
                self.progress("starting S3 event delivery, the API (chalice local) and the page")
            stack.start_relay()
            if not s.services_only:
                stack.start_api()
            config_js.write_text(_page_config(stack.api_url), encoding="utf-8")
            stack.start_web()
            store = VocabularyStore(s.bucket, s3_client=s3)
            published = publish_run(run_dir, store=store, sagemaker=sagemaker)
            self.vocabulary_version = published.vocabulary.version
            waiting = "the S3 handler to make it live" if s.services_only else "the API to serve it"
            self.progress(f"published the vocabulary ({published.key}); waiting for {waiting}")
            promoted(store, published, s.ready_timeout)
            if not s.services_only:
                self.wait_serving(self.vocabulary_version, s.ready_timeout)
        except PortInUseError as exc:
            self.stop()
            raise StackError(_port_taken(exc, s, ports)) from exc
        except DevstackError as exc:
            self.stop()
            raise StackError(str(exc)) from exc
        except BaseException:
            self.stop()
            raise
        log.debug("vocabulary of %s live", load_vocabulary(run_dir).fingerprint[:12])
        return self

    def health(self) -> tuple[int, dict[str, Any]]:
        """The API's ``GET /health`` status and body."""
        return get_json(self.api_url + "health")

    def wait_serving(self, version: int | None, timeout: float) -> dict[str, Any]:
        """Wait until ``/health`` is ok and reports ``version`` (any, when ``None``)."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                status, body = self.health()
                last = body
                served = (body.get("vocabulary") or {}).get("version")
                if status == 200 and (version is None or served == version):
                    return body
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise StackError(
            f"the API did not serve vocabulary version {version} within {timeout:.0f} s "
            f"(last /health: {last}); see the logs in {self.settings.state_dir}"
        )

    def save_feedback(self) -> int:
        """Copy the feedback the stack received to disk; how many objects were new. Never
        raises: with moto gone there is nothing more to save."""
        from botocore.exceptions import BotoCoreError, ClientError

        stack, s = self.stack, self.settings
        moto = stack.processes.get("moto") if stack is not None else None
        if stack is None or moto is None or not moto.running:
            return 0
        try:
            return local_feedback.save(
                stack.client("s3"), s.bucket, s.feedback_prefix, s.feedback_folder
            )
        except (BotoCoreError, ClientError, OSError) as exc:
            log.warning("local feedback not saved to %s: %s", s.feedback_folder, exc)
            return 0

    def stop(self) -> None:
        if self.stack is not None:
            self.save_feedback()
            self.stack.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _port_taken(exc: PortInUseError, settings: LocalSettings, ports: StagePorts) -> str:
    """The taken port's sentence, naming how to move that part: its option of ``sentiment
    up``, or ``sentiment ports`` for moto and the runtime (the app's local stage names
    theirs)."""
    if exc.port in (ports.moto, ports.runtime):
        how = "move moto and the runtime with `sentiment ports`"
    else:
        option = "--api-port" if exc.port == settings.api_port else "--web-port"
        how = f"pass {option} with a free port"
    return (
        f"port {exc.port} on {exc.host} is already in use, so {exc.name} cannot start there: "
        f"stop whatever listens on it, or {how}"
    )


def stand_in_ports(settings: LocalSettings) -> StagePorts:
    """moto's and the runtime's ports: those the app's ``local`` stage names, so a
    ``chalice local --stage local`` typed by hand finds them. Ports given in ``settings``
    must agree; otherwise one sentence says how to make them."""
    try:
        named = read_ports(settings.app_dir)
        wanted = StagePorts(
            named.moto if settings.moto_port is None else settings.moto_port,
            named.runtime if settings.runtime_port is None else settings.runtime_port,
        )
        problem = disagreement(settings.app_dir, wanted)
    except DevstackError as exc:
        raise StackError(str(exc)) from exc
    if problem:
        raise StackError(problem)
    return named


def promoted(store: VocabularyStore, published: Published, timeout: float) -> None:
    """Wait for the S3 handler's outcome for ``published``; a refusal says why."""
    try:
        outcome = wait_for_outcome(store, published, timeout_seconds=timeout)
    except AwsError as exc:
        raise StackError(f"{exc} (locally: see relay.log in the state directory)") from exc
    if outcome.result != "promoted":
        raise StackError(f"the S3 handler did not promote the vocabulary: {outcome.reason}")


def get_json(url: str, timeout: float = 5.0) -> tuple[int, dict[str, Any]]:
    """GET ``url``; its status and JSON body, for errors too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        try:
            return err.code, json.loads(err.read())
        except ValueError:
            return err.code, {}


def _page_config(api_url: str) -> str:
    return (
        "// Written by `sentiment up`: the page calls the local API.\n"
        f"window.SENTIMENT_CONFIG = {json.dumps({'apiUrl': api_url})};\n"
    )
