"""A run directory as the AWS path sees it: its id, model archive, fingerprint, vocabulary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from training import artifacts
from training.errors import UsageError
from vocab_store import Vocabulary


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
    if not artifacts.RUN_ID.match(run_id):
        raise UsageError(
            f"{run_dir} is not a run directory: its name must be a run id like 20261123-091500-a1b2"
        )
    archive = directory / artifacts.MODEL_ARCHIVE
    if not archive.is_file():
        raise UsageError(f"{archive} is missing; run `sentiment train` first")
    fingerprint = artifacts.fingerprint(artifacts.read_model_bytes(archive))
    vocabulary = artifacts.load_vocabulary(directory)
    record = vocabulary.model
    if record is None or record.fingerprint != fingerprint:
        raise UsageError(
            f"{directory}/{artifacts.VOCABULARY} does not belong to the model in {archive} "
            "(fingerprints differ); the run is damaged, train again"
        )
    return RunFiles(run_id, directory, archive, fingerprint, vocabulary)
