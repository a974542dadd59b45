"""Re-score a run on the test set from its files alone, through the serving path.

Each review is encoded by ``vocab_store`` exactly as the Lambda does (:meth:`Encoder.body`),
the body is read as the container reads it (the one emulation of that,
:mod:`devstack.xgb_container`, which the local SageMaker runtime serves with), and the model
is loaded from ``model.tar.gz`` as the container loads it. Nothing from training is reused.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from devstack import xgb_container
from training import artifacts
from training.data import load_split, sample
from training.errors import UsageError
from vocab_store import Encoder

log = logging.getLogger(__name__)


def serving_probabilities(
    run_dir: Path, texts: list[str] | tuple[str, ...], *, batch: int = 500, progress: bool = False
) -> list[float]:
    """Probability of positive for each text, via body -> container parse -> model."""
    vocab = artifacts.load_vocabulary(run_dir)
    archive = run_dir / artifacts.MODEL_ARCHIVE
    model_bytes = artifacts.read_model_bytes(archive)
    if vocab.model is None or vocab.model.fingerprint != artifacts.fingerprint(model_bytes):
        raise UsageError(
            f"{run_dir}: the vocabulary's model fingerprint does not match model.tar.gz; "
            "the two files do not belong together"
        )
    booster = artifacts.load_booster(archive)
    encoder = Encoder(vocab)
    starts: Any = range(0, len(texts), batch)
    if progress and len(texts) > 2000:
        from tqdm import tqdm

        starts = tqdm(starts, desc="score", unit="batch", leave=False)
    out: list[float] = []
    for i in starts:
        body = encoder.body(list(texts[i : i + batch]))
        try:
            out.extend(
                xgb_container.predict(booster, xgb_container.parse(body, vocab.content_type))
            )
        except xgb_container.ContainerError as exc:
            raise UsageError(
                f"{run_dir}: the endpoint would answer {exc.status} to this run's bodies "
                f"({exc.message.splitlines()[0]}); the vocabulary and model do not fit"
            ) from exc
    return out


def evaluate_run(
    run_dir: Path,
    data_dir: Path,
    *,
    limit: int | None = None,
    seed: int = 42,
    progress: bool = True,
) -> dict[str, Any]:
    """Metrics of the run's model on the test split (or a seeded sample of ``limit``
    reviews, the same sample training used with the same seed and limit)."""
    import numpy as np

    from training.metrics import classification_metrics

    start = time.perf_counter()
    artifacts.load_run(run_dir)  # a damaged run is refused before 25,000 reviews are read
    test = load_split(data_dir, "test")
    if limit is not None:
        test = sample(test, seed=seed, limit=limit)
    proba = serving_probabilities(run_dir, test.texts, progress=progress)
    metrics = classification_metrics(np.array(test.labels), np.array(proba))
    metrics["seconds"] = time.perf_counter() - start
    log.info("evaluated %s on %d reviews in %.1f s", run_dir.name, len(test), metrics["seconds"])
    return metrics
