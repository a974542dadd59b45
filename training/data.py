"""The IMDB reviews: reading them, checking them, shuffling and splitting them.

Two layouts are read: the project's ``{train,test}.jsonl.gz`` (one JSON object per line with
``id``, ``text`` and ``label``) and Stanford's extracted ``aclImdb/`` folder
(``<split>/{pos,neg}/<id>_<stars>.txt``). The raw files are never modified. A missing or
damaged file is a :class:`~training.errors.DataError` that names the expected files and
where the dataset comes from.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from training.errors import DataError

log = logging.getLogger(__name__)

SPLITS = ("train", "test")
SOURCE = (
    "the Stanford Large Movie Review Dataset (https://ai.stanford.edu/~amaas/data/sentiment/); "
    "the project keeps it as ../shared/data/imdb/{train,test}.jsonl.gz beside the repository"
)


@dataclass(frozen=True)
class Reviews:
    """Labelled reviews in a fixed order: ``labels[i]`` is 1 (positive) or 0 for ``texts[i]``.

    ``checksum`` identifies the source data (sha256 of the file bytes for ``.jsonl.gz``),
    so caches keyed on it are invalidated when the data changes.
    """

    ids: tuple[str, ...]
    texts: tuple[str, ...]
    labels: tuple[int, ...]
    checksum: str

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, indices: Sequence[int], tag: str = "") -> Reviews:
        """The reviews at ``indices``, in that order; ``tag`` distinguishes the checksum."""
        digest = hashlib.sha256(f"{self.checksum}|{tag}|".encode())
        digest.update(",".join(map(str, indices)).encode())
        return Reviews(
            ids=tuple(self.ids[i] for i in indices),
            texts=tuple(self.texts[i] for i in indices),
            labels=tuple(self.labels[i] for i in indices),
            checksum=digest.hexdigest(),
        )


def _expected(data_dir: Path) -> str:
    return (
        f"expected {data_dir}/train.jsonl.gz and {data_dir}/test.jsonl.gz "
        f"(or an extracted aclImdb/ folder with train/ and test/ at {data_dir}); "
        f"the data is {SOURCE}; pass --data to read it from elsewhere"
    )


def load_split(data_dir: str | Path, split: str) -> Reviews:
    """Read one split (``train`` or ``test``) from ``data_dir``, in the file's order.

    Raises :class:`DataError` when the files are missing, unreadable, or malformed.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    root = Path(data_dir)
    jsonl = root / f"{split}.jsonl.gz"
    if jsonl.is_file():
        return _load_jsonl(jsonl, root)
    for folder in (root / "aclImdb" / split, root / split):
        if (folder / "pos").is_dir() and (folder / "neg").is_dir():
            return _load_folder(folder, root)
    raise DataError(f"IMDB {split} data not found: {_expected(root)}")


def _load_jsonl(path: Path, root: Path) -> Reviews:
    try:
        blob = path.read_bytes()
        lines = gzip.decompress(blob).decode("utf-8").split("\n")
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        raise DataError(
            f"{path} is unreadable or not gzip-compressed JSON Lines ({exc}); {_expected(root)}"
        ) from exc
    ids: list[str] = []
    texts: list[str] = []
    labels: list[int] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            text, label = record["text"], record["label"]
            ident = str(record.get("id", f"{path.name}:{number}"))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path} line {number} is not a review record ({exc})") from exc
        if not isinstance(text, str) or label not in (0, 1) or isinstance(label, bool):
            raise DataError(f"{path} line {number}: text must be a string and label 0 or 1")
        ids.append(ident)
        texts.append(text)
        labels.append(int(label))
    if not texts:
        raise DataError(f"{path} holds no reviews; {_expected(root)}")
    log.info("read %d reviews from %s", len(texts), path)
    return Reviews(tuple(ids), tuple(texts), tuple(labels), hashlib.sha256(blob).hexdigest())


def _load_folder(folder: Path, root: Path) -> Reviews:
    ids: list[str] = []
    texts: list[str] = []
    labels: list[int] = []
    digest = hashlib.sha256()
    for name, label in (("pos", 1), ("neg", 0)):
        files = sorted((folder / name).glob("*.txt"))
        for file in files:
            try:
                raw = file.read_bytes()
                text = raw.decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise DataError(f"{file} is unreadable ({exc}); {_expected(root)}") from exc
            ident = f"{folder.name}/{name}/{file.name}"
            digest.update(ident.encode() + b"\0" + raw + b"\0")
            ids.append(ident)
            texts.append(text)
            labels.append(label)
    if not texts:
        raise DataError(f"{folder} holds no reviews; {_expected(root)}")
    log.info("read %d reviews from %s", len(texts), folder)
    return Reviews(tuple(ids), tuple(texts), tuple(labels), digest.hexdigest())


# aclImdb numbers the reviews of one movie consecutively (within a split and a label), and
# its test set holds other movies than its training set. A validation part cut from
# blocks of consecutive ids keeps most movies wholly on one side, as the test set does; a
# review-by-review cut scores reviews of movies the model trained on, about 1.5 points of
# accuracy too high, and is overconfident for calibration and the early-stopping round.
GROUP_BLOCK = 100
MIN_GROUPS = 100


def review_group(review_id: str) -> str:
    """The block of consecutive aclImdb ids ``review_id`` is in (``train/pos/1234_9.txt``
    gives ``train/pos/12``), a stand-in for its movie; any other id is its own group."""
    head, _, name = review_id.rpartition("/")
    number = name.split("_", 1)[0]
    if not head or not number.isdigit():
        return review_id
    return f"{head}/{int(number) // GROUP_BLOCK}"


def shuffled_split(
    reviews: Reviews, *, validation_fraction: float, seed: int, limit: int | None = None
) -> tuple[Reviews, Reviews]:
    """Shuffle with ``seed`` and cut off a validation part of whole groups
    (:func:`review_group`, about one movie's reviews each), drawn in a seeded order until
    it holds ``validation_fraction`` of the reviews; with fewer than ``MIN_GROUPS`` groups
    (a small sample) each review is its own group. ``limit`` first keeps that many
    shuffled reviews (quick runs and tests). Returns ``(train, validation)``."""
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError("validation_fraction must be between 0 and 1")
    order = list(range(len(reviews)))
    random.Random(seed).shuffle(order)
    if limit is not None:
        order = order[:limit]
    groups: dict[str, list[int]] = {}
    for i in order:
        groups.setdefault(review_group(reviews.ids[i]), []).append(i)
    if len(groups) < MIN_GROUPS:
        groups = {reviews.ids[i]: [i] for i in order}
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    # Each label gives its own share, so validation has the training reviews' label balance
    # (a prior shifted by chance would bias the calibration's intercept).
    val: list[int] = []
    for label in sorted(set(reviews.labels[i] for i in order)):
        wanted = max(
            1, round(sum(1 for i in order if reviews.labels[i] == label) * validation_fraction)
        )
        taken = 0
        for key in keys:
            members = groups[key]
            if taken >= wanted:
                break
            if all(reviews.labels[i] == label for i in members):
                val.extend(members)
                taken += len(members)
    held = set(val)
    fit = [i for i in order if i not in held]
    if not fit:
        raise ValueError("validation_fraction leaves no review for training")
    tag = f"seed={seed}:grouped{GROUP_BLOCK}"
    return reviews.take(fit, tag + ":fit"), reviews.take(val, tag + ":val")


def sample(reviews: Reviews, *, seed: int, limit: int | None) -> Reviews:
    """A seeded random sample of ``limit`` reviews (all of them, shuffled, when None)."""
    order = list(range(len(reviews)))
    random.Random(seed).shuffle(order)
    if limit is not None:
        order = order[:limit]
    return reviews.take(order, f"sample:{seed}")


def load_sentences(path: str | Path) -> Reviews:
    """Labelled single sentences, ``sentence<TAB>label`` per line (the UCI "Sentiment
    Labelled Sentences" layout of ``../shared/data/short/``). Lines are split on ``\n``
    only (the file holds U+0085, which :meth:`str.splitlines` would also split on) and each
    on its last tab; quotes are text, not CSV quoting."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the labelled sentences at {path}: {exc}") from exc
    ids: list[str] = []
    texts: list[str] = []
    labels: list[int] = []
    for number, line in enumerate(blob.decode("utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        text, tab, label = line.rstrip("\r").rpartition("\t")
        if not tab or label.strip() not in ("0", "1"):
            raise DataError(f"{path}:{number}: expected 'sentence<TAB>0|1'")
        ids.append(f"{path.name}:{number}")
        texts.append(text)
        labels.append(int(label))
    return Reviews(tuple(ids), tuple(texts), tuple(labels), hashlib.sha256(blob).hexdigest())
