"""Run directories: ``artifacts/<run_id>/`` with the model, vocabulary, metrics and report.

A run is written into a hidden staging folder and renamed into place when complete, so a
run directory is never half-written and never overwritten. ``artifacts/latest`` is a
relative symlink to the newest run, replaced atomically. :func:`load_run` reads one back,
checked, for the commands that deploy, publish or score it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import secrets
import tarfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.errors import UsageError
from vocab_store import VocabError, Vocabulary, loads

if TYPE_CHECKING:
    import xgboost

MODEL_ARCHIVE = "model.tar.gz"
MODEL_MEMBER = "xgboost-model"
VOCABULARY = "vocabulary.json"
METRICS = "metrics.json"
# The key of metrics.json under which training records the content fingerprints.
FINGERPRINTS = "fingerprints"
REPORT_PNG = "report.png"
REPORT_MD = "report.md"
LATEST = "latest"
RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4}$")


def new_run_id(now: datetime | None = None) -> str:
    """``YYYYMMDD-HHMMSS`` in UTC plus ``-xxxx`` random hex."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


def fingerprint(model_bytes: bytes) -> str:
    """The model fingerprint: sha256 hex of the ``xgboost-model`` file's bytes."""
    return hashlib.sha256(model_bytes).hexdigest()


def model_archive(model_bytes: bytes) -> bytes:
    """A ``model.tar.gz`` holding only ``xgboost-model``, byte-for-byte reproducible."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(MODEL_MEMBER)
        info.size = len(model_bytes)
        info.mode = 0o644
        info.mtime = 0
        tar.addfile(info, io.BytesIO(model_bytes))
    return gzip.compress(raw.getvalue(), mtime=0)


def read_model_bytes(archive: Path) -> bytes:
    """The ``xgboost-model`` bytes inside ``archive``; it must be the only member."""
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            members = tar.getmembers()
            names = [m.name for m in members]
            if names != [MODEL_MEMBER] or not members[0].isfile():
                raise UsageError(f"{archive} must hold only {MODEL_MEMBER}, found {names}")
            fh = tar.extractfile(members[0])
            if fh is None:
                raise UsageError(f"{archive}: {MODEL_MEMBER} is not a regular file")
            return fh.read()
    except (OSError, tarfile.TarError) as exc:
        raise UsageError(f"{archive} is not a readable model archive ({exc})") from exc


def load_booster(archive: Path) -> xgboost.Booster:
    """Load the model the way the container does: ``Booster.load_model`` on the file."""
    import tempfile

    import xgboost

    data = read_model_bytes(archive)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / MODEL_MEMBER
        path.write_bytes(data)
        booster = xgboost.Booster()
        try:
            with warnings.catch_warnings():
                # The container's file has no extension either; XGBoost warns, then reads
                # it as UBJSON, which is the format we save.
                warnings.filterwarnings("ignore", message=".*Unknown file format")
                booster.load_model(str(path))
        except xgboost.core.XGBoostError as exc:
            raise UsageError(f"{archive}: XGBoost cannot load {MODEL_MEMBER} ({exc})") from exc
    # The container predicts on one thread per worker; a thread pool for a row or a few
    # costs more than the prediction (and spins when the cores are busy).
    booster.set_param("nthread", "1")
    return booster


def load_vocabulary(run_dir: Path) -> Vocabulary:
    """The run's vocabulary, validated by ``vocab_store``."""
    path = run_dir / VOCABULARY
    try:
        return loads(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"{path} is missing or unreadable ({exc})") from exc
    except VocabError as exc:
        raise UsageError(
            f"{path} is not the file training wrote ({exc}): restore it from a copy, or train "
            "a new run with `sentiment train`"
        ) from exc


def resolve_run(artifacts_dir: Path, run: str) -> Path:
    """A run directory from a path, a run id, or ``latest``."""
    candidates = [Path(run), artifacts_dir / run]
    for path in candidates:
        if (path / MODEL_ARCHIVE).is_file() and (path / VOCABULARY).is_file():
            return path.resolve()
    raise UsageError(
        f"no run {run!r} in {artifacts_dir.resolve()} (a run directory holds {MODEL_ARCHIVE} "
        f"and {VOCABULARY}; a run is named by its path, its id or 'latest'): pass --artifacts "
        "PATH/TO/artifacts if your runs are elsewhere, or run `sentiment train` first"
    )


def write_run(
    artifacts_dir: Path,
    run_id: str,
    *,
    model_bytes: bytes,
    vocabulary: Vocabulary,
    metrics: dict[str, Any],
    extra_files: dict[str, bytes],
    set_latest: bool = True,
) -> Path:
    """Write a complete run directory atomically and (``set_latest``) point ``latest`` at
    it.

    ``metrics.json`` also records the model's and the vocabulary's content fingerprints,
    so deploy tags the endpoint with what training produced, and a vocabulary file edited
    afterwards is refused (:func:`recorded_fingerprints`)."""
    final = artifacts_dir / run_id
    if final.exists():
        raise UsageError(f"run {final} already exists; runs are never overwritten")
    recorded = {
        **metrics,
        FINGERPRINTS: {"model": fingerprint(model_bytes), "vocabulary": vocabulary.fingerprint},
    }
    staging = artifacts_dir / f".{run_id}.partial"
    staging.mkdir(parents=True)
    files = {
        MODEL_ARCHIVE: model_archive(model_bytes),
        VOCABULARY: vocabulary.to_json().encode("utf-8"),
        METRICS: (json.dumps(recorded, indent=2, sort_keys=True) + "\n").encode("utf-8"),
        **extra_files,
    }
    for name, blob in files.items():
        (staging / name).write_bytes(blob)
    staging.rename(final)
    if set_latest:
        point_latest(artifacts_dir, run_id)
    return final


def recorded_fingerprints(run_dir: Path) -> dict[str, str]:
    """The fingerprints training recorded in the run's ``metrics.json`` (empty for a run
    written before they were recorded, or without readable metrics)."""
    try:
        data = json.loads((run_dir / METRICS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = data.get(FINGERPRINTS) if isinstance(data, dict) else None
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}


def point_latest(artifacts_dir: Path, run_id: str) -> None:
    """Make ``artifacts/latest`` a relative symlink to ``run_id``, atomically."""
    tmp = artifacts_dir / f".{LATEST}.{os.getpid()}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(run_id, target_is_directory=True)
    tmp.replace(artifacts_dir / LATEST)


@dataclass(frozen=True)
class RunFiles:
    """A complete run, checked: the vocabulary belongs to the model in the archive."""

    run_id: str
    directory: Path
    model_archive: Path
    fingerprint: str
    vocabulary: Vocabulary


def load_run(run_dir: Path) -> RunFiles:
    """Read and check ``run_dir`` (``artifacts/latest`` is resolved to the run it names).

    Raises :class:`UsageError` when files are missing, the directory is not named by a run
    id, or the vocabulary's model record does not match the model's fingerprint.
    """
    directory = Path(run_dir).resolve()
    run_id = directory.name
    if not RUN_ID.match(run_id):
        raise UsageError(
            f"{run_dir} is not a run directory: its name must be a run id like 20261123-091500-a1b2"
        )
    archive = directory / MODEL_ARCHIVE
    if not archive.is_file():
        raise UsageError(f"{archive} is missing; run `sentiment train` first")
    model_fingerprint = fingerprint(read_model_bytes(archive))
    vocabulary = load_vocabulary(directory)
    record = vocabulary.model
    if record is None or record.fingerprint != model_fingerprint:
        raise UsageError(
            f"{directory}/{VOCABULARY} does not belong to the model in {archive} "
            "(fingerprints differ); the run is damaged, train again"
        )
    recorded = recorded_fingerprints(directory).get("vocabulary")
    if recorded is not None and recorded != vocabulary.fingerprint:
        raise UsageError(
            f"{directory}/{VOCABULARY} was changed after training (its content "
            "fingerprint is not the one training recorded); restore it or train again"
        )
    return RunFiles(run_id, directory, archive, model_fingerprint, vocabulary)
