"""What decides a training run: :class:`TrainConfig` (every knob, with the defaults that
meet the targets), the default data paths, and the two rules derived from it that the
SageMaker path needs too (:func:`choose_content_type`, :func:`classifier_params`).
:mod:`training.pipeline` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "imdb"
DEFAULT_STOPWORDS = REPO.parent / "shared" / "data" / "nltk_stopwords_english.txt"
DEFAULT_SENTENCES = REPO.parent / "shared" / "data" / "short" / "imdb_labelled.txt"
# Whose a sentence weight is: each sentence row's, or shared by a review's sentence rows
# (training.augment).
WeightPer = Literal["sentence", "review"]
WEIGHT_PER: tuple[WeightPer, ...] = ("sentence", "review")
# Dense CSV up to this many features (a row of at least 2 bytes per feature); libsvm above.
CSV_MAX_FEATURES = 10_000


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run. Paths are resolved by the caller."""

    data_dir: Path = DEFAULT_DATA
    stopwords_path: Path = DEFAULT_STOPWORDS
    artifacts_dir: Path = Path("artifacts")
    cache_dir: Path | None = Path(".cache")
    seed: int = 42
    validation_fraction: float = 0.1
    train_limit: int | None = None
    test_limit: int | None = None
    # Every word is kept by default: "but", "too", "very", "only", "the worst" carry
    # sentiment, and removing NLTK's list costs 1.1-1.6 points of validation accuracy
    # (docs/model.md). ``remove_stopwords`` removes the list at ``stopwords_path``, with
    # the negations kept out of it unless ``keep_negations`` is false.
    remove_stopwords: bool = False
    keep_negations: bool = True
    ngram_max: int = 2
    stemmer: str = "porter"
    max_terms: int = 50_000
    min_df: int = 2
    weighting: str = "nb"
    values: str = "binary"
    norm: str = "l2"
    content_type: str = "auto"
    n_rounds: int = 300
    eta: float = 0.5
    reg_lambda: float = 1e-5
    reg_alpha: float = 0.0
    # shotgun fits the same model as coord_descent here, 3-4 times faster (docs/model.md).
    updater: str = "shotgun"
    early_stopping_rounds: int = 10
    # One thread: on 2 shared cores XGBoost's OpenMP threads spin against other processes
    # (fit took 117 s with 2 threads under load, 6 s with 1; 14 s with 2 on an idle machine).
    n_jobs: int = 1
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    # A reviewed feedback file (``sentiment feedback --export``): added to the training
    # reviews only, never to validation or test, and recorded in the run's metrics.
    extra_reviews: Path | None = None
    # Platt scaling fitted on the validation split and folded into the served model.
    calibrate: bool = True
    # Retrain the chosen rounds on fit + validation reviews (+0.24 points in CV, docs/model.md).
    refit: bool = True
    # Each sentence of a training review is also a training row, labelled with its review's
    # label (training.augment; weight 0 for none); a review's sentence rows together weigh
    # sentence_weight ("review") or each row does ("sentence"). Default: a review's sentences
    # weigh what the review weighs: IMDB validation level with the alternatives, short
    # sentences +1.8 points over none, +0.7 over 0.03 each (docs/model.md).
    sentence_weight: float = 1.0
    sentence_weight_per: WeightPer = "review"
    # Short labelled sentences, only reported (accuracy, positive rate); None to skip.
    sentences_path: Path | None = DEFAULT_SENTENCES


def choose_content_type(requested: str, feature_count: int) -> str:
    """``text/csv`` while a dense row stays small, else 1-based ``text/libsvm``."""
    if requested != "auto":
        return requested
    return "text/csv" if feature_count <= CSV_MAX_FEATURES else "text/libsvm"


def classifier_params(config: TrainConfig) -> dict[str, Any]:
    """The classifier's parameters from ``config`` (every setting that reaches XGBoost)."""
    return {
        "n_rounds": config.n_rounds,
        "eta": config.eta,
        "reg_lambda": config.reg_lambda,
        "reg_alpha": config.reg_alpha,
        "updater": config.updater,
        "early_stopping_rounds": config.early_stopping_rounds,
        "n_jobs": config.n_jobs,
        "seed": config.seed,
        "progress": config.progress,
        "refit": config.refit,
    }
