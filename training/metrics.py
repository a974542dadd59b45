"""Binary classification metrics, computed with numpy alone (no scikit-learn needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vocab_store.labels import POSITIVE, THRESHOLD, label

if TYPE_CHECKING:
    import numpy as np

    from vocab_store import Encoder

# Equal-width probability bins of the reliability diagram and the ECE.
BINS = 10


def classification_metrics(labels: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    """Accuracy, precision, recall, F1, ROC AUC and the confusion matrix of ``proba``
    (probability of positive) labelled by :func:`vocab_store.labels.label` (``p >= 0.5``
    is positive), as the API answers ``1`` or ``0``.

    ``confusion_matrix`` is ``[[tn, fp], [fn, tp]]`` (rows: true label 0, 1).
    """
    import numpy as np

    y = np.asarray(labels).astype(int)
    p = np.asarray(proba, dtype=np.float64)
    pred = np.array([label(x) == POSITIVE for x in p.tolist()], dtype=int)
    tp = int(((pred == 1) & (y == 1)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "count": int(y.size),
        "positives": int((y == 1).sum()),
        "negatives": int((y == 0).sum()),
        "threshold": THRESHOLD,
        "accuracy": (tp + tn) / y.size if y.size else 0.0,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": roc_auc(y, p),
        "confusion_matrix": [[tn, fp], [fn, tp]],
        "ece": expected_calibration_error(y, p),
        "reliability": reliability(y, p),
    }


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties); None when
    only one class is present."""
    import numpy as np
    from scipy.stats import rankdata

    y = np.asarray(labels).astype(int)
    n_pos = int((y == 1).sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates at every distinct threshold, for plotting."""
    import numpy as np

    y = np.asarray(labels).astype(int)
    order = np.argsort(-np.asarray(scores), kind="mergesort")
    y_sorted = y[order]
    tps = np.concatenate([[0], np.cumsum(y_sorted)])
    fps = np.concatenate([[0], np.cumsum(1 - y_sorted)])
    return fps / max(1, fps[-1]), tps / max(1, tps[-1])


def reliability(labels: np.ndarray, proba: np.ndarray, bins: int = BINS) -> list[dict[str, Any]]:
    """Equal-width probability bins: how many reviews fall in each, their mean predicted
    probability of positive and the fraction that are positive (the diagram's points)."""
    import numpy as np

    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(proba, dtype=np.float64)
    which = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for k in range(bins):
        inside = which == k
        n = int(inside.sum())
        rows.append(
            {
                "low": k / bins,
                "high": (k + 1) / bins,
                "count": n,
                "mean_probability": float(p[inside].mean()) if n else None,
                "positive_fraction": float(y[inside].mean()) if n else None,
            }
        )
    return rows


def expected_calibration_error(labels: np.ndarray, proba: np.ndarray, bins: int = BINS) -> float:
    """Mean gap between predicted probability and observed positive fraction over the
    :func:`reliability` bins, weighted by how many reviews each holds."""
    rows = reliability(labels, proba, bins)
    total = sum(r["count"] for r in rows)
    if not total:
        return 0.0
    return sum(
        r["count"] * abs(r["mean_probability"] - r["positive_fraction"]) for r in rows if r["count"]
    ) / float(total)


def sentence_metrics(labels: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    """What matters on short sentences: accuracy, how often the answer is positive (on a
    balanced set a model biased by its intercept drifts from 0.5), ECE, mean probability."""
    import numpy as np

    found = classification_metrics(labels, proba)
    pred = found["confusion_matrix"][0][1] + found["confusion_matrix"][1][1]
    return {
        "count": found["count"],
        "accuracy": found["accuracy"],
        "positive_rate": pred / found["count"] if found["count"] else 0.0,
        "ece": found["ece"],
        "mean_probability": float(np.mean(proba)) if found["count"] else 0.0,
    }


def body_sizes(encoder: Encoder, texts: tuple[str, ...]) -> dict[str, Any]:
    """Bytes per review in the vocabulary's content type, and what dense CSV would cost."""
    sizes = [len(encoder.row(t)) for t in texts]
    return {
        "content_type": encoder.content_type,
        "sample": len(sizes),
        "mean_bytes": sum(sizes) / max(1, len(sizes)),
        "max_bytes": max(sizes, default=0),
        "dense_csv_bytes_min": 2 * encoder.feature_count - 1,
    }
