"""Fixtures shared by every test area.

- ``aws_env``: fake credentials and region, and no leftover endpoint URLs, per test.
- ``moto_server``: moto's real server process on a free 127.0.0.1 port (S3, SQS and the
  SageMaker control plane), one per session (per xdist worker: each resets its own);
  stopped at the end, never left behind.
- ``imdb_sample``: a data folder of IMDB's layout holding a seeded sample of the real
  reviews, one per run: what the tests train and evaluate on.
- ``small_run``: a complete training run dir (real model and vocabulary, 2,000 IMDB
  reviews), one per run; ``train_sample(root, **TrainConfig fields)`` makes others.
- ``libsvm_run``: the same with a ``text/libsvm`` vocabulary (1,500 reviews).
- ``packaged``: ``sentiment package --stage dev`` (the Lambda zip and Terraform template),
  built once per run.
- ``local_stack``: the whole local stack (``sentiment up``'s composition) on free ports,
  serving ``small_run``'s model, one per session; only for tests marked ``stack``.

"One per run": made once however many xdist workers run the tests, shared read-only, and
checked unchanged at the end (tests/shared_once.py).

Tiers: a test that starts processes of the local stack (the local runtime, the relay,
``chalice local``, the whole stack) is marked ``stack`` (and ``browser`` when it drives
Chromium), so ``pytest -m "not stack"`` is the fast loop. moto's server alone is not the
stack: it starts in a second and the fast tier uses it. A test that asks for a stack
fixture is put in that tier even without the mark (:func:`pytest_collection_modifyitems`).
"""

from __future__ import annotations

import functools
import gc
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.shared_once import produced_once, shared_dir

if TYPE_CHECKING:
    from training.local_stack import LocalSettings, LocalStack

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
IMDB_DIR = SHARED_DATA / "imdb"
STOPWORDS = SHARED_DATA / "nltk_stopwords_english.txt"

_AWS_VARS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_SAGEMAKER",
    "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until ``url`` answers any HTTP status; fail early if ``proc`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a process started with ``start_new_session=True`` and its whole group."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
        except ProcessLookupError:
            pass


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test ever reaches real AWS: fake credentials, a fixed region, no endpoint URLs
    left over from the developer's shell."""
    for name in _AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server as a real process; yields its base URL."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/moto-api/", proc=proc)
        yield url
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture
def moto_env(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 at the moto server for S3, SQS, SageMaker and CloudWatch; reset moto's
    state."""
    urllib.request.urlopen(
        urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=10
    ).close()
    for name in (
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_SAGEMAKER",
        "AWS_ENDPOINT_URL_CLOUDWATCH",
    ):
        monkeypatch.setenv(name, moto_server)
    return moto_server


def moto_client(service: str) -> Any:
    """A boto3 client of moto's server for ``service`` (as ``moto_env`` points it), made
    once per worker: building a client costs 20-50 ms (its operations' methods, endpoint
    rules), and every test of a worker talks to the same server."""
    url = os.environ["AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")]
    return _moto_client(service, url)


@functools.cache
def _moto_client(service: str, url: str) -> Any:
    import boto3

    make: Any = boto3.client  # the stubs type only literal service names
    return make(service, endpoint_url=url, region_name="us-east-1")


# Reviews per split in ``imdb_sample``: more than any test trains, tests or evaluates on.
SAMPLE_REVIEWS = 3000


def write_imdb_sample(data_dir: Path, out: Path, per_split: int = SAMPLE_REVIEWS) -> Path:
    """``out`` as an IMDB data folder (``{train,test}.jsonl.gz``) holding a seeded random
    sample of ``per_split`` reviews of each split of ``data_dir``, ids kept."""
    import gzip
    import json

    from training.data import SPLITS, load_split, sample

    out.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        reviews = sample(load_split(data_dir, split), seed=0, limit=per_split)
        lines = (
            json.dumps({"id": i, "text": t, "label": y})
            for i, t, y in zip(reviews.ids, reviews.texts, reviews.labels, strict=True)
        )
        blob = "\n".join(lines).encode("utf-8")
        (out / f"{split}.jsonl.gz").write_bytes(gzip.compress(blob, compresslevel=1, mtime=0))
    return out


@pytest.fixture(scope="session")
def imdb_sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """IMDB's layout with 3,000 seeded reviews of each split (real reviews, real ids, so
    validation is still cut by movie), written once per session. The tests train and
    evaluate on it: a run reads both splits whole, and the full files cost about a second
    a training for samples of a few hundred to 2,000 reviews."""
    with produced_once(tmp_path_factory, "imdb", lambda out: write_imdb_sample(IMDB_DIR, out)) as d:
        yield d


def train_sample(root: Path, **overrides: Any) -> Path:
    """A real training run on a seeded IMDB sample, written under ``root``; ``overrides``
    are :class:`training.config.TrainConfig` fields (``data_dir=imdb_sample`` in tests:
    the full data is the default)."""
    from training.config import TrainConfig
    from training.pipeline import train_run

    settings: dict[str, Any] = {
        "data_dir": IMDB_DIR,
        "stopwords_path": STOPWORDS,
        "artifacts_dir": root / "artifacts",
        "cache_dir": root / "cache",
        "train_limit": 2000,
        "test_limit": 1000,
        "max_terms": 2000,
        "progress": False,
    }
    return train_run(TrainConfig(**{**settings, **overrides}))


@pytest.fixture(scope="session")
def token_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One token cache (``TrainConfig.cache_dir``) for the session's trainings: a run on
    the same sample as another (``small_run`` and a run with extra reviews) tokenises
    nothing twice. Its files are keyed by content and written atomically, so the xdist
    workers share one."""
    return shared_dir(tmp_path_factory, "token_cache")


@pytest.fixture(scope="session")
def small_run(
    tmp_path_factory: pytest.TempPathFactory, imdb_sample: Path, token_cache: Path
) -> Iterator[Path]:
    """A complete, real training run (``training.pipeline.train_run``) on a seeded sample:
    2,000 training reviews (10% of them for validation), 1,000 test reviews, a 2,000-term
    word 1-2-gram vocabulary (``text/csv``). Returns the run directory, holding
    ``model.tar.gz``, ``vocabulary.json``, ``metrics.json``, ``report.png``, ``report.md``;
    its parent is an artifacts dir whose ``latest`` points at it. Trained once per session
    (about 10 s). Treat it as read-only: copy it before changing anything."""
    with produced_once(
        tmp_path_factory,
        "small_run",
        lambda root: train_sample(root, data_dir=imdb_sample, cache_dir=token_cache),
    ) as run:
        yield run


@pytest.fixture(scope="session")
def libsvm_run(
    tmp_path_factory: pytest.TempPathFactory, imdb_sample: Path, token_cache: Path
) -> Iterator[Path]:
    """A small real run whose vocabulary asks for 1-based ``text/libsvm`` bodies, one per
    session (the training and the AWS scoring tests share it)."""
    settings: dict[str, Any] = {"train_limit": 1500, "test_limit": 400, "max_terms": 3000}
    settings |= {"content_type": "text/libsvm", "data_dir": imdb_sample, "cache_dir": token_cache}
    with produced_once(
        tmp_path_factory, "libsvm_run", lambda root: train_sample(root, **settings)
    ) as run:
        yield run


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """``sentiment package --stage dev OUT`` (``chalice package`` plus the Terraform fix),
    run once per session: the output dir (``deployment.zip``, ``chalice.tf.json``) and what
    the command printed. Read-only: copy it before changing anything."""
    import contextlib
    import io

    from training.cli import main

    def package(root: Path) -> Path:
        out = root / "out"
        printed = io.StringIO()
        with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(printed):
            for name in [n for n in os.environ if n.startswith("SENTIMENT_")]:
                mp.delenv(name)
            mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
            project = str(REPO / "sentiment_api")
            code = main(["package", str(out), "--stage", "dev", "--project-dir", project])
        assert code == 0, printed.getvalue()
        (root / "printed.txt").write_text(printed.getvalue())
        return out

    with produced_once(tmp_path_factory, "package", package) as out:
        yield out, (out.parent / "printed.txt").read_text()


# Fixtures that start processes of the local stack: whoever uses one is in the stack tier.
STACK_FIXTURES = frozenset({"local_stack", "runtime_url", "stack"})
# Every test here is in the stack tier (checked at collection), so the fast loop does not
# even import it: its modules, and the Schemathesis fuzz's cases built as it is collected,
# cost about 2 s of every worker's collection.
STACK_ONLY_DIR = REPO / "tests" / "e2e"
FAST_LOOP = "not stack"
# Fixtures that drive headless Chromium (tests/e2e/test_page.py).
BROWSER_FIXTURES = frozenset({"browser", "page"})
# The xdist group of every stack test: all on one worker.
STACK_GROUP = "stack"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The fast loop's ``-m "not stack"`` deselects every test of :data:`STACK_ONLY_DIR`:
    do not collect it at all. Any other selection collects it as usual."""
    fast_loop = " ".join(str(config.getoption("markexpr") or "").split()) == FAST_LOOP
    return True if fast_loop and collection_path == STACK_ONLY_DIR else None


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that starts the stack is in the ``stack`` tier (one that drives Chromium also
    ``browser``) even if its module forgot the marker: unmarked, it would slow the fast loop
    (``pytest -m "not stack"``) down without anyone noticing.

    Under pytest-xdist (``--dist loadgroup``, pyproject's addopts) each group runs whole on
    one worker. The whole stack tier is one group, run in order: one session's stack, and
    its processes, ports, Chromium and timing-sensitive signals never run beside each other.
    Every other test is grouped with its module, as ``--dist loadfile`` would: a module's
    fixtures, caches and heavy imports are paid once, not once per worker (split test by
    test, the fast tier took 85 s instead of 76 s on the 2-core machine). A module that
    names its own group (``pytestmark = pytest.mark.xdist_group(...)``) shares a worker
    with the others of that group, e.g. to import a heavy library once."""
    grouped = config.pluginmanager.hasplugin("xdist")  # not with -p no:xdist
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        for fixtures, marker in ((STACK_FIXTURES, "stack"), (BROWSER_FIXTURES, "browser")):
            if fixtures & uses and item.get_closest_marker(marker) is None:
                item.add_marker(getattr(pytest.mark, marker))
        if item.path.is_relative_to(STACK_ONLY_DIR) and not item.get_closest_marker("stack"):
            raise pytest.UsageError(
                f"{item.nodeid} is not marked stack: the fast loop skips {STACK_ONLY_DIR.name}/"
            )
        if grouped and item.get_closest_marker("stack") is not None:
            item.add_marker(pytest.mark.xdist_group(STACK_GROUP))
        elif grouped and item.get_closest_marker("xdist_group") is None:
            module = item.nodeid.partition("::")[0].removeprefix("tests/").removesuffix(".py")
            item.add_marker(pytest.mark.xdist_group(module))


# Last: after pytest's own reordering of the items by their fixtures, which would
# otherwise move some of them back.
@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_last(items: list[pytest.Item]) -> None:
    """The order in which the xdist groups are handed to the workers (pyproject's addopts
    keep xdist to the collection order, ``--no-loadscope-reorder``; a group goes where
    its first test is): the stack tier first (the longest group), then the modules marked
    ``heavy`` (long, or mostly waiting on processes they start), then the rest, so that no
    worker ends the run alone with a long group while the others are done. A stable sort:
    within each of the three, pytest's order stays."""
    items[:] = sorted(items, key=_schedule_rank)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What is imported and collected by now lives to the end of the run: take it out of
    the garbage collector's sight (:func:`gc.freeze`). A worker holds most of a million
    objects (XGBoost, NumPy, botocore's models, moto, the SDK, the collected tests) and
    every full collection walked them all again, about 0.3 s each: the fast tier's workers
    spent 4-6 s each in the collector, and 2-3 s more in the interpreter's last
    collections at exit, which the controller waits for before its summary.

    The price: an object frozen while alive that later dies in a reference cycle is never
    collected (nor its finalizer run), a few MB a worker (docs/development.md, "Tests")."""
    gc.freeze()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """After a module's last test, once its fixtures are torn down and the test has let go
    of their values: collect the garbage, then freeze what is left (the session's
    fixtures and caches), as above. After the worker's last test, freeze without a
    collection: the process is about to exit."""
    result = yield
    if nextitem is None:
        gc.freeze()
    elif getattr(nextitem, "module", None) is not getattr(item, "module", None):
        gc.collect()
        gc.freeze()
    return result


def _schedule_rank(item: pytest.Item) -> int:
    if item.get_closest_marker("stack") is not None:
        return 0
    return 1 if item.get_closest_marker("heavy") is not None else 2


def stack_settings(small_run: Path, root: Path) -> LocalSettings:
    """Settings for a whole local stack in ``root`` on free ports, serving a copy of the
    artifacts of ``small_run``."""
    import shutil

    from tests.sentiment_api.conftest import local_project
    from training.local_stack import LocalSettings

    artifacts = root / "artifacts"
    shutil.copytree(small_run.parent, artifacts, symlinks=True)
    return LocalSettings(
        artifacts_dir=artifacts,
        state_dir=root / "state",
        app_dir=local_project(root / "project"),
        api_port=0,
        web_port=0,
    )


@pytest.fixture(scope="session")
def local_stack(small_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The whole local stack, started once per session on free ports, serving the real
    model of ``small_run``: the same composition as ``sentiment up``. No process of it
    outlives the session."""
    from tests.processes import start_time, still_running
    from training.local_stack import LocalStack

    stack = LocalStack(stack_settings(small_run, tmp_path_factory.mktemp("stack")))
    stack.start()
    try:
        yield stack
    finally:
        started = [p.pid for p in (stack.stack.processes.values() if stack.stack else [])]
        processes = {pid: t for pid in started if pid and (t := start_time(pid)) is not None}
        stack.stop()
        deadline = time.monotonic() + 10
        while still_running(processes) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert still_running(processes) == [], "processes of the local stack still running"
