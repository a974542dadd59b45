"""The evaluation report of a run: ``report.png`` (confusion matrix, ROC curve, the terms
that push hardest each way) and a short ``report.md``."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from vocab_store import Vocabulary

if TYPE_CHECKING:
    import numpy as np


def top_terms(
    vocabulary: Vocabulary, coefficients: Sequence[float], k: int = 15
) -> dict[str, list[tuple[str, float]]]:
    """The ``k`` terms that push hardest towards positive and towards negative.

    A term's push is the model's weight times the vocabulary's per-term weight: what one
    occurrence adds to the score before L2 normalisation.
    """
    weights = vocabulary.weights or (1.0,) * vocabulary.feature_count
    push = [(c * w, t) for c, w, t in zip(coefficients, weights, vocabulary.terms, strict=True)]
    push.sort()
    return {
        "positive": [(t, round(v, 6)) for v, t in reversed(push[-k:])],
        "negative": [(t, round(v, 6)) for v, t in push[:k]],
    }


def render_png(
    metrics: dict[str, Any],
    labels: np.ndarray,
    proba: np.ndarray,
    terms: dict[str, list[tuple[str, float]]],
    title: str,
) -> bytes:
    """Confusion matrix, ROC curve and top terms in one PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from training.metrics import roc_curve

    fig, axes = plt.subplots(1, 4, figsize=(21, 5.5))
    try:
        ax = axes[0]
        cm = metrics["confusion_matrix"]
        ax.imshow(cm, cmap="Blues")
        for i in range(2):
            for j in range(2):
                dark = cm[i][j] > max(max(r) for r in cm) / 2
                colour = "white" if dark else "black"
                ax.text(j, i, f"{cm[i][j]:,}", ha="center", va="center", fontsize=14, c=colour)
        ax.set_xticks([0, 1], ["negative", "positive"])
        ax.set_yticks([0, 1], ["negative", "positive"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"confusion matrix (accuracy {metrics['accuracy']:.4f})")

        ax = axes[1]
        fpr, tpr = roc_curve(labels, proba)
        ax.plot(fpr, tpr, lw=2)
        ax.plot([0, 1], [0, 1], ls="--", c="grey")
        auc = metrics["roc_auc"]
        ax.set_title("ROC curve" + ("" if auc is None else f" (AUC {auc:.4f})"))
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")

        _reliability_panel(axes[2], metrics)

        ax = axes[3]
        rows = list(reversed(terms["negative"])) + list(reversed(terms["positive"]))
        ax.barh(
            range(len(rows)),
            [v for _, v in rows],
            color=["#c0392b" if v < 0 else "#27ae60" for _, v in rows],
        )
        ax.set_yticks(range(len(rows)), [t for t, _ in rows], fontsize=8)
        ax.set_title("terms that push hardest (weight x term weight)")
        fig.suptitle(title)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=90)
        return out.getvalue()
    finally:
        plt.close(fig)


def _reliability_panel(ax: Any, metrics: dict[str, Any]) -> None:
    """The reliability diagram: per probability bin, the fraction of reviews that are
    positive against the mean predicted probability; a calibrated model sits on the
    diagonal. Point area follows the bin's count."""
    bins = [b for b in metrics["reliability"] if b["count"]]
    ax.plot([0, 1], [0, 1], ls="--", c="grey")
    ax.plot(
        [b["mean_probability"] for b in bins], [b["positive_fraction"] for b in bins], c="#2c7fb8"
    )
    most = max((b["count"] for b in bins), default=1)
    ax.scatter(
        [b["mean_probability"] for b in bins],
        [b["positive_fraction"] for b in bins],
        s=[20 + 200 * b["count"] / most for b in bins],
        c="#2c7fb8",
        zorder=3,
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability of positive")
    ax.set_ylabel("fraction positive")
    ax.set_title(f"reliability (ECE {metrics['ece']:.4f})")


def render_markdown(run_id: str, metrics: dict[str, Any]) -> str:
    """A short human summary of ``metrics.json``."""
    test = metrics["test"]
    tn, fp = test["confusion_matrix"][0]
    fn, tp = test["confusion_matrix"][1]
    vocab = metrics["vocabulary"]
    model = metrics["model"]
    auc = "n/a" if test["roc_auc"] is None else f"{test['roc_auc']:.4f}"
    terms = metrics.get("top_terms", {})
    lines = [
        f"# Run {run_id}",
        "",
        f"Test set: {test['count']:,} reviews ({test['positives']:,} positive). "
        + _trained_on(metrics),
        "",
        "| metric | value |",
        "| --- | --- |",
        f"| accuracy | {test['accuracy']:.4f} |",
        f"| precision | {test['precision']:.4f} |",
        f"| recall | {test['recall']:.4f} |",
        f"| F1 | {test['f1']:.4f} |",
        f"| ROC AUC | {auc} |",
        f"| expected calibration error ({len(test['reliability'])} bins) | {test['ece']:.4f} |",
        "",
        f"Confusion matrix (rows true, columns predicted): TN {tn:,}, FP {fp:,}, "
        f"FN {fn:,}, TP {tp:,}.",
        "",
        f"Model: `gblinear`, best round {model['best_iteration'] + 1} of "
        f"{model['rounds_run']} (validation log loss {model['best_validation_logloss']:.4f}), "
        f"fingerprint `{model['fingerprint'][:16]}...`, trained in "
        f"{metrics['timings']['fit_seconds']:.1f} s; whole run "
        f"{metrics['timings']['total_seconds']:.1f} s.",
        "",
        f"Vocabulary: {vocab['feature_count']:,} terms, n-grams {vocab['ngram_range']}, "
        f"min_df {vocab['min_df']}, weights `{vocab['weighting']}`, values "
        f"`{vocab['values']}`, norm `{vocab['norm']}`, content type `{vocab['content_type']}`, "
        + _stopwords(vocab)
        + ".",
        "",
        f"Request body: {metrics['body']['mean_bytes']:.0f} bytes per review on average "
        f"as `{vocab['content_type']}`; a dense CSV row would be "
        f"{metrics['body']['dense_csv_bytes_min']:,}+ bytes.",
    ]
    if terms:
        lines += [
            "",
            "Pushes hardest towards positive: "
            + ", ".join(f"`{t}`" for t, _ in terms["positive"][:10]),
            "",
            "Pushes hardest towards negative: "
            + ", ".join(f"`{t}`" for t, _ in terms["negative"][:10]),
        ]
    short = metrics.get("sentences")
    if short:
        lines += [
            "",
            f"Short labelled sentences ({short['count']:,}, a proxy, never fitted on): "
            f"accuracy {short['accuracy']:.4f}, positive rate {short['positive_rate']:.3f}.",
        ]
    lines += ["", "![report](report.png)", ""]
    return "\n".join(lines)


def _stopwords(vocab: dict[str, Any]) -> str:
    if not vocab["stopwords"]:
        return "every word kept (no stopword list)"
    kept = " (negations kept: they carry sentiment)" if vocab["keep_negations"] else ""
    return f"{len(vocab['stopwords'])} stopwords removed{kept}"


def _trained_on(metrics: dict[str, Any]) -> str:
    """What the served model was trained on, in words: the fit reviews and their sentence
    rows, the validation split, and the refit on both."""
    counts, config = metrics["counts"], metrics["config"]
    sentences = counts.get("sentence_rows", 0)
    per = config.get("sentence_weight_per", "sentence")
    how = (
        f"a review's sentences together weighing {config['sentence_weight']:g}"
        if per == "review"
        else f"each weighing {config['sentence_weight']:g}"
    )
    said = f"Trained on {counts['train']:,} reviews"
    if sentences:
        said += f" and their {sentences:,} sentence rows ({how})"
    said += f", validated on {counts['validation']:,} (split from the training set)."
    if metrics["model"].get("refit"):
        rounds = metrics["model"]["best_iteration"] + 1
        total = counts["train"] + counts["validation"]
        extra = sentences + counts.get("refit_sentence_rows", 0)
        said += f" The served model is the same {rounds} rounds trained again on all {total:,}"
        said += f" reviews and their {extra:,} sentence rows." if extra else " reviews."
    return said
