"""Fixtures for the training tests: a tiny IMDB-shaped data folder (``libsvm_run`` is in
tests/conftest.py, shared with the AWS tests)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

POSITIVE = [
    "A wonderful, moving film. The acting was superb!",
    "One of the best films of the year; I loved every minute.",
    "Great story, great cast, a joy to watch.",
    "Brilliant and funny. Highly recommended.",
]
NEGATIVE = [
    "Terrible plot and awful acting; I hated it.",
    "The worst movie I have ever seen. Boring and predictable.",
    "Not good at all: a waste of time.",
    "Dull, badly written and far too long.",
]


def write_jsonl(path: Path, records: list[dict[str, object]]) -> None:
    lines = "\n".join(json.dumps(r, ensure_ascii=True) for r in records)
    path.write_bytes(gzip.compress(lines.encode("ascii"), mtime=0))


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """A data folder with train/test.jsonl.gz of a few hand-written reviews each."""
    for split in ("train", "test"):
        records = [
            {
                "id": f"{split}/{'pos' if y else 'neg'}/{i}_{9 if y else 2}.txt",
                "text": t,
                "label": y,
            }
            for y, texts in ((1, POSITIVE), (0, NEGATIVE))
            for i, t in enumerate(texts * 5)
        ]
        write_jsonl(tmp_path / f"{split}.jsonl.gz", records)
    return tmp_path
