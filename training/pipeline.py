"""One training run, end to end: IMDB files in, a complete ``artifacts/<run_id>/`` out.

:func:`train_run` is the public entry point (``sentiment train`` and the tests' ``small_run``
fixture call it). Every knob is in :class:`training.config.TrainConfig`, whose defaults meet
the targets (docs/model.md).
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training import artifacts
from training.augment import sentence_counts, with_sentences
from training.config import TrainConfig, choose_content_type, classifier_params
from training.data import load_sentences, load_split, sample, shuffled_split
from training.features import (
    PretokenizedTokenizer,
    encode_matrix,
    fit_vocabulary,
    without_negations,
    words_by_text,
)
from training.feedback import join, read_reviewed
from vocab_store import (
    Encoder,
    ModelRecord,
    TokenizerSettings,
    next_version,
    read_stopwords,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    import scipy.sparse
    import xgboost

    from training.model import LinearSentimentClassifier

    ClassifierFactory = Callable[..., LinearSentimentClassifier]

log = logging.getLogger(__name__)


def train_run(
    config: TrainConfig,
    *,
    make_classifier: ClassifierFactory | None = None,
    set_latest: bool = True,
) -> Path:
    """Train on IMDB per ``config`` and write a complete run directory; return its path.
    ``set_latest``: also point ``artifacts/latest`` (what ``sentiment up`` serves) at it.

    ``make_classifier(run_id=..., content_type=..., **params)`` builds the classifier in
    place of the local :class:`~training.model.LinearSentimentClassifier` (``train
    --sagemaker`` passes one whose ``fit`` runs in a SageMaker training job); everything
    else, the run folder included, is the same.
    """
    from importlib.metadata import version

    import numpy as np
    import scipy
    import xgboost

    from training.calibration import calibrate, corrected
    from training.explain import (
        BAND_ACCURACY_CEILING,
        band_report,
        choose_band,
        linear_model,
        verify_linear,
    )
    from training.metrics import body_sizes, classification_metrics, sentence_metrics
    from training.model import LinearSentimentClassifier, linear_coefficients
    from training.report import render_markdown, render_png, top_terms

    start = time.perf_counter()
    run_id = artifacts.new_run_id()
    timings: dict[str, float] = {}

    # Checked before the minutes of loading and tokenising IMDB, so a bad file fails fast.
    extra = read_reviewed(config.extra_reviews) if config.extra_reviews else None
    path = config.sentences_path
    short = load_sentences(path) if path is not None and path.is_file() else None
    stopwords: tuple[str, ...] = ()
    if config.remove_stopwords:
        stopwords = read_stopwords(config.stopwords_path)
        if config.keep_negations:
            stopwords = without_negations(stopwords)
    train_all = load_split(config.data_dir, "train")
    test_all = load_split(config.data_dir, "test")
    fit_set, val_set = shuffled_split(
        train_all,
        validation_fraction=config.validation_fraction,
        seed=config.seed,
        limit=config.train_limit,
    )
    test_set = sample(test_all, seed=config.seed, limit=config.test_limit)
    timings["load_seconds"] = time.perf_counter() - start

    settings = TokenizerSettings(
        stopwords=stopwords, stemmer=config.stemmer, ngram_range=(1, config.ngram_max)
    )
    t0 = time.perf_counter()
    cache = (settings, config.cache_dir, config.progress)
    known = words_by_text(train_all, [fit_set, val_set], *cache)
    known.update(words_by_text(test_all, [test_set], *cache))
    if extra is not None:
        known.update(words_by_text(extra, [extra], *cache))
        fit_set = join(fit_set, extra)
        log.info("added %d reviewed feedback reviews to training", len(extra))
    if short is not None:  # only reported, but tokenised once like the reviews
        known.update(words_by_text(short, [short], *cache))
    timings["tokenise_seconds"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    content_type = choose_content_type(config.content_type, config.max_terms)
    vocab = fit_vocabulary(
        [known.words[t] for t in fit_set.texts],
        fit_set.labels,
        settings,
        max_terms=config.max_terms,
        min_df=config.min_df,
        weighting=config.weighting,
        values=config.values,
        norm=config.norm,
        content_type=content_type,
        progress=config.progress,
    )
    content_type = choose_content_type(config.content_type, vocab.feature_count)
    if content_type != vocab.content_type:
        vocab = replace(vocab, content_type=content_type)
    timings["vocabulary_seconds"] = time.perf_counter() - t0
    log.info("vocabulary: %d terms, %s", vocab.feature_count, vocab.content_type)

    t0 = time.perf_counter()
    encoder = Encoder(vocab, PretokenizedTokenizer(settings, known.words, known.sentences))
    x_fit = encode_matrix(encoder, fit_set.texts, progress=config.progress, label="encode fit")
    x_val = encode_matrix(encoder, val_set.texts, progress=config.progress, label="encode val")
    y_fit = np.array(fit_set.labels, dtype=np.float32)
    y_val = np.array(val_set.labels, dtype=np.float32)
    timings["encode_seconds"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    train, refit_extra = with_sentences(
        encoder,
        (fit_set, x_fit, y_fit),
        val_set,
        config.sentence_weight,
        refit=config.refit,
        per=config.sentence_weight_per,
    )
    timings["sentences_seconds"] = time.perf_counter() - t0

    params = classifier_params(config)
    if make_classifier is None:
        clf = LinearSentimentClassifier(**params)
    else:
        clf = make_classifier(run_id=run_id, content_type=vocab.content_type, **params)
    clf.fit(train.x, train.y, x_val, y_val, sample_weight=train.weight, refit_extra=refit_extra)
    timings["fit_seconds"] = clf.fit_seconds_

    # The served model is the calibrated one: Platt's correction is inside its weights,
    # fitted (as the band is chosen) with the validation-phase model.
    chosen = clf.validation_booster_ if config.refit else None
    booster, calibration = clf.booster_, None
    if config.calibrate:
        booster, calibration = calibrate(booster, x_val, y_val, n_jobs=config.n_jobs, chosen=chosen)
    model_bytes = bytes(booster.save_raw("ubj"))
    fingerprint = artifacts.fingerprint(model_bytes)
    # The weights travel with the vocabulary (exact evidence, the per-request check) once
    # they reproduce the model.
    linear = linear_model(booster)
    served_val = _predict(booster, x_val, config.n_jobs)
    reproduced = None if linear is None else verify_linear(linear, x_val, served_val)
    val_proba = corrected(clf.validation_booster_, calibration, x_val, n_jobs=config.n_jobs)
    band = choose_band(y_val, val_proba)
    in_band = band_report(y_val, val_proba, band)
    log.info(
        "uncertain band %s: %d of %d validation reviews inside; accuracy on the rest %s",
        band,
        in_band["uncertain"],
        in_band["count"],
        "-" if in_band["accuracy_rest"] is None else f"{in_band['accuracy_rest']:.4f}",
    )
    vocab = replace(
        vocab,
        linear=linear,
        uncertain=band,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        extra={**vocab.extra, **_vocab_notes(config, run_id)},
        model=ModelRecord(fingerprint, vocab.feature_count),
        version=next_version(),
    )

    # The test set is touched only now, after the model is fixed.
    t0 = time.perf_counter()
    x_test = encode_matrix(encoder, test_set.texts, progress=config.progress, label="encode test")
    proba = _predict(booster, x_test, config.n_jobs)
    y_test = np.array(test_set.labels)
    test_metrics = classification_metrics(y_test, proba)
    val_metrics = classification_metrics(y_val, val_proba)
    timings["evaluate_seconds"] = time.perf_counter() - t0

    sentences = None
    if short is not None:
        x_short = encode_matrix(encoder, short.texts, progress=False)
        sentences = {
            "sha256": short.checksum,
            **sentence_metrics(np.array(short.labels), _predict(booster, x_short, config.n_jobs)),
        }
    coefs, bias = linear_coefficients(booster)
    terms = top_terms(vocab, coefs)
    timings["total_seconds"] = time.perf_counter() - start
    metrics: dict[str, Any] = {
        "run_id": run_id,
        "test": test_metrics,
        "validation": val_metrics,
        "sentences": sentences,
        "calibration": calibration,
        "counts": {"train": len(fit_set), "validation": len(val_set), "test": len(test_set)}
        | sentence_counts(train, refit_extra, len(fit_set)),
        "extra_reviews": None
        if extra is None
        else {"path": str(config.extra_reviews), "sha256": extra.checksum, "count": len(extra)},
        "model": {
            "booster": "gblinear",
            "params": clf.xgb_params(),
            "best_iteration": clf.best_iteration_,
            "rounds_run": len(clf.evals_result_["validation"]["logloss"]),
            "best_validation_logloss": clf.best_score_,
            "refit": clf.refit,
            "fingerprint": fingerprint,
            "bias": bias,
            "nonzero_weights": sum(1 for c in coefs if c != 0.0),
            "bytes": len(model_bytes),
            **clf.fit_record(),
        },
        "vocabulary": {
            "feature_count": vocab.feature_count,
            "version": vocab.version,
            "fingerprint": vocab.fingerprint,
            "content_type": vocab.content_type,
            "ngram_range": list(settings.ngram_range),
            "min_df": config.min_df,
            "weighting": config.weighting,
            "values": vocab.values,
            "norm": vocab.norm,
            "stopwords": list(stopwords),
            "remove_stopwords": config.remove_stopwords,
            "keep_negations": config.keep_negations,
        },
        "body": body_sizes(encoder, test_set.texts[:1000]),
        "top_terms": terms,
        "evidence": {
            "linear_weights": linear is not None,
            "intercept": None if linear is None else linear.intercept,
            "reproduced": reproduced,
        },
        "uncertain": {
            "rule": "widest band [0.5-d, 0.5+d] within which the model is right on at most "
            f"{BAND_ACCURACY_CEILING:.0%} of validation reviews",
            "validation": in_band,
            "test": band_report(y_test, proba, band),
        },
        "timings": timings,
        "train_time_seconds": timings["fit_seconds"],
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
        "data": {"train_sha256": train_all.checksum, "test_sha256": test_all.checksum},
        "versions": {
            "python": platform.python_version(),
            "xgboost": xgboost.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "nltk": version("nltk"),
        },
    }
    png = render_png(test_metrics, y_test, proba, terms, f"run {run_id}")
    md = render_markdown(run_id, metrics).encode("utf-8")
    run_dir = artifacts.write_run(
        config.artifacts_dir,
        run_id,
        model_bytes=model_bytes,
        vocabulary=vocab,
        metrics=metrics,
        extra_files={artifacts.REPORT_PNG: png, artifacts.REPORT_MD: md},
        set_latest=set_latest,
    )
    log.info(
        "run %s: test accuracy %.4f, AUC %.4f, %.0f s",
        run_id,
        test_metrics["accuracy"],
        test_metrics["roc_auc"] or float("nan"),
        timings["total_seconds"],
    )
    return run_dir


def _predict(booster: xgboost.Booster, X: scipy.sparse.csr_matrix, n_jobs: int) -> np.ndarray:
    import xgboost

    return booster.predict(xgboost.DMatrix(X, nthread=n_jobs))


def _vocab_notes(config: TrainConfig, run_id: str) -> dict[str, Any]:
    from importlib.metadata import version

    # The stems are nltk's: a Lambda on another nltk version could stem differently.
    notes: dict[str, Any] = {"run_id": run_id, "min_df": config.min_df}
    notes["nltk_version"] = version("nltk")
    if config.remove_stopwords and config.keep_negations:
        notes["stopwords_note"] = (
            "negation words (not, no, nor, never, don't, ...) are kept out of NLTK's "
            "stopword list: they carry sentiment, and word pairs such as 'not good' need them"
        )
    return notes
