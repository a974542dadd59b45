"""``sentiment evaluate RUN``: re-score a run on the test set from its files alone."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from training.config import DEFAULT_DATA


def configure(parser: argparse.ArgumentParser) -> None:
    """Flags of ``sentiment evaluate``."""
    add = parser.add_argument
    add("run", help="a run directory, a run id, or 'latest'")
    add("--artifacts", type=Path, default=Path("artifacts"), help="where run ids are looked up")
    add("--data", type=Path, default=DEFAULT_DATA, help="IMDB folder (default: %(default)s)")
    add("--limit", type=int, default=None, help="a seeded sample of this many test reviews")
    add("--seed", type=int, default=42, help="sample seed (as in training) (%(default)s)")
    add("--json", action="store_true", help="print the metrics as JSON")
    add("--no-progress", action="store_true", help="no progress bars")


def format_metrics(m: dict[str, Any]) -> str:
    """The metrics as a few aligned lines."""
    (tn, fp), (fn, tp) = m["confusion_matrix"]
    auc = "n/a" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"
    return "\n".join(
        [
            f"reviews    {m['count']:>8,}  ({m['positives']:,} positive)",
            f"accuracy   {m['accuracy']:>8.4f}",
            f"precision  {m['precision']:>8.4f}",
            f"recall     {m['recall']:>8.4f}",
            f"F1         {m['f1']:>8.4f}",
            f"ROC AUC    {auc:>8}",
            f"confusion  TN {tn:,}  FP {fp:,}  FN {fn:,}  TP {tp:,}",
        ]
    )


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the metrics."""
    from training.artifacts import resolve_run
    from training.evaluate import evaluate_run

    run_dir = resolve_run(args.artifacts, args.run)
    metrics = evaluate_run(
        run_dir, args.data, limit=args.limit, seed=args.seed, progress=not args.no_progress
    )
    if args.json:
        print(json.dumps(metrics, indent=2, sort_keys=True))
    else:
        print(f"run: {run_dir}")
        print(format_metrics(metrics))
    return 0
