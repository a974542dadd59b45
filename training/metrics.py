"""Binary classification metrics, computed with numpy alone (no scikit-learn needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vocab_store.labels import POSITIVE, THRESHOLD, label

if TYPE_CHECKING:
    import numpy as np


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
