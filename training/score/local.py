"""Score a stream of reviews on every core, in input order, in flat memory.

Each worker process loads the run once: ``vocab_store``'s :class:`Encoder` makes each
review's vector exactly as the API does, and the run's Booster predicts from the matrix the
XGBoost container would read from the request body. For ``text/libsvm`` that matrix is built
for a whole chunk at once (:class:`~training.score.matrix.MatrixEncoder`: the same float32
values, no text written and parsed again); a dense ``text/csv`` body goes through the
container emulation (``devstack.xgb_container``, the one ``sentiment evaluate`` and the
local runtime use). So a probability here is the very float the endpoint answers for the
same text.

Memory bound: reviews go to the workers in chunks of at most :data:`CHUNK_REVIEWS` reviews
and :data:`CHUNK_BYTES` of text (plus one review, itself at most the API's 100 kB), and at
most :data:`IN_FLIGHT_PER_WORKER` chunks per worker are in flight while the next is read;
results are written in order as soon as the oldest chunk is done. With 2 workers that is at
most 5 chunks, about 10 MB of review text, whatever the size of the input; each process
also holds the run's vocabulary and model once.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.forkserver
import os
import signal
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from devstack import xgb_container
from training import artifacts
from training.artifacts import RunFiles, load_run
from training.errors import CommandError
from training.interrupts import deferred
from training.score.inputs import Review
from training.score.outputs import Scored
from vocab_store import Encoder
from vocab_store.labels import Band, label

if TYPE_CHECKING:
    import xgboost

    from training.score.matrix import MatrixEncoder

log = logging.getLogger(__name__)

CHUNK_REVIEWS = 500
CHUNK_BYTES = 2 * 1024 * 1024
IN_FLIGHT_PER_WORKER = 2
Result = TypeVar("Result")


class ScoringFailed(CommandError):
    """The model could not score what the encoder made: the run's files disagree."""


class RunModel:
    """A run's encoder and Booster, loaded in one process and checked to belong together."""

    def __init__(self, run: RunFiles) -> None:
        self.vocabulary = run.vocabulary
        self.encoder = Encoder(run.vocabulary)
        self.booster: xgboost.Booster = artifacts.load_booster(run.model_archive)
        # One thread per process, as each of the container's workers; the pool has a
        # process per core.
        self.booster.set_param("nthread", "1")

    @cached_property
    def matrices(self) -> MatrixEncoder | None:
        """The chunk encoder of a ``text/libsvm`` run (``None`` for dense CSV), built on
        first use: ``--sagemaker``'s workers only write bodies."""
        if self.encoder.content_type != xgb_container.LIBSVM:
            return None
        # Imported here: the command's own process never needs numpy.
        from training.score.matrix import MatrixEncoder

        return MatrixEncoder(self.encoder)

    def encode(self, texts: list[str]) -> tuple[bytes, list[bool]]:
        """The request body the API would send for ``texts``, and whether the vocabulary
        knows any term of each (a review with none is "uncertain", as the API says)."""
        vectors = [self.encoder.vector(text) for text in texts]
        known = [any(value != 0.0 for _, value in vector) for vector in vectors]
        return self.encoder.body_of(vectors), known

    def verdicts(self, texts: list[str]) -> list[tuple[float, bool]]:
        """Each text's probability, as the endpoint answers it, and whether any of its
        terms is known."""
        try:
            if self.matrices is not None:
                rows = self.matrices.rows(texts)
                matrix, known = rows.dmatrix(), rows.known
            else:
                # Dense CSV: a 0 is a value, not a missing column; through the text, as sent.
                body, known = self.encode(texts)
                matrix = xgb_container.parse(body, self.encoder.content_type)
            probabilities = xgb_container.predict(self.booster, matrix)
        except xgb_container.ContainerError as exc:
            raise ScoringFailed(f"the model refused the encoded reviews: {exc.message}") from exc
        return list(zip(probabilities, known, strict=True))


_model: RunModel | None = None
_model_key: tuple[Path, str] | None = None


def _start_worker(run: RunFiles, in_pool: bool = True) -> None:
    # The run comes checked and read (its vocabulary is a few MB to unpickle, where reading
    # and validating the JSON again took a fifth of a second in every worker).
    global _model, _model_key
    if in_pool:
        # Ctrl-C reaches the whole process group: the parent stops the pool, workers stay
        # quiet.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _model is None or _model_key != (run.directory, run.fingerprint):
        _model, _model_key = RunModel(run), (run.directory, run.fingerprint)


def _worker_model() -> RunModel:
    assert _model is not None, "worker not started"
    return _model


def verdicts_task(texts: list[str]) -> list[tuple[float, bool]]:
    """Worker task: probability and known-ness of each of ``texts``."""
    return _worker_model().verdicts(texts)


def encode_task(texts: list[str]) -> tuple[bytes, list[bool]]:
    """Worker task: the request body of ``texts`` (one row per line), and known-ness."""
    return _worker_model().encode(texts)


def chunks(reviews: Iterable[Review]) -> Iterator[list[Review]]:
    """Consecutive reviews in chunks bounded by count and by text size."""
    chunk: list[Review] = []
    size = 0
    for review in reviews:
        chunk.append(review)
        size += len(review.text or "")
        if len(chunk) >= CHUNK_REVIEWS or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def map_chunks(
    task: Callable[[list[str]], Result],
    reviews: Iterable[Review],
    run: RunFiles,
    workers: int,
) -> Iterator[tuple[list[Review], Result | None]]:
    """``task`` over the scorable texts of each chunk, on ``workers`` processes, yielded in
    input order with the chunk (``None`` for a chunk with nothing to score). ``run`` is the
    run as :func:`~training.artifacts.load_run` read and checked it, sent to each worker."""
    if workers <= 1:
        _start_worker(run, in_pool=False)
        for chunk in chunks(reviews):
            texts = [r.text for r in chunk if r.text is not None]
            yield chunk, task(texts) if texts else None
        return
    pending: deque[tuple[list[Review], Future[Result] | None]] = deque()
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_context(),
        initializer=_start_worker,
        initargs=(run,),
    )
    try:
        for chunk in chunks(reviews):
            texts = [r.text for r in chunk if r.text is not None]
            # Deferred: a submit may start a worker, and a Ctrl-C half-way through would
            # leave the new process reading a truncated start-up message.
            with deferred():
                future = pool.submit(task, texts) if texts else None
            pending.append((chunk, future))
            while len(pending) >= IN_FLIGHT_PER_WORKER * workers:
                yield _done(pending.popleft())
        while pending:
            yield _done(pending.popleft())
    except BrokenProcessPool as exc:
        raise ScoringFailed(
            "a worker process died (out of memory?); run again with fewer --workers"
        ) from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _context() -> multiprocessing.context.BaseContext:
    # Workers are forked from a fresh server process that has imported the heavy modules
    # once (not from this one, whose threads and OpenMP pool a fork would copy mid-state).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        [__name__, "training.score.matrix", "xgboost", "nltk.stem.porter"]
    )
    return context


def start_early(workers: int) -> None:
    """Start the server the workers will be forked from now: its imports (XGBoost, NumPy,
    NLTK, which imports SciPy's statistics: about a second) then overlap this process's own
    start-up, reading the run and the input. It loads no run, so a damaged run is still
    refused before any worker starts. Nothing to do for one worker."""
    if workers > 1:
        _context()
        multiprocessing.forkserver.ensure_running()


def _done(item: tuple[list[Review], Future[Any] | None]) -> tuple[list[Review], Any]:
    chunk, future = item
    return chunk, None if future is None else future.result()


def scored_rows(
    chunk: list[Review], verdicts: list[tuple[float, bool]] | None, band: Band | None
) -> list[Scored]:
    """A chunk's output rows: its errors as they are, the others with their probability
    and label (the API's rule, with the run's uncertain band)."""
    answers = iter(verdicts or ())
    rows = []
    for review in chunk:
        if review.text is None:
            rows.append(Scored(review.id, None, None, review.error))
        else:
            p, known = next(answers)
            rows.append(Scored(review.id, label(p, band, known=known), p))
    return rows


def score_reviews(
    reviews: Iterable[Review],
    run_dir: Path,
    *,
    workers: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> Generator[Scored, None, None]:
    """Every review's output row, in input order; ``on_chunk(rows)`` after each chunk.
    Closing it early stops the workers."""
    # Checked here, where a damaged run is one clear sentence, not a worker dying.
    run = load_run(run_dir)
    band = run.vocabulary.uncertain
    for chunk, verdicts in map_chunks(verdicts_task, reviews, run, workers or default_workers()):
        yield from scored_rows(chunk, verdicts, band)
        if on_chunk is not None:
            on_chunk(len(chunk))
