"""What the SageMaker XGBoost container accepts as hyperparameters, and the local fit's
parameters turned into them.

The container validates a training job's hyperparameters against a fixed list before it
trains and refuses the job on any other name (``UserError: Extraneous hyperparameter
found``). :func:`job_hyperparameters` maps every parameter the local fit hands to
``xgboost.train`` (:meth:`~training.model.LinearSentimentClassifier.xgb_params`): a name the
container accepts is passed on; a name it does not is left out only where its value is the
one XGBoost uses anyway (so the job still trains the same model) and refused otherwise. A
parameter added to the local fit later is therefore refused here until someone decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from training.errors import UsageError

# The names `hyperparameter_validation.py` of aws/sagemaker-xgboost-container declares for
# the 3.2-0 image (src/sagemaker_xgboost_container/algorithm_mode/, branch
# upgrade-xgboost-3.2.0-remove-mlio, with `device`), and its four aliases. Keep in step
# with the image that `training.aws.images.XGBOOST_VERSION` names.
CONTAINER_HYPERPARAMETERS = frozenset(
    {
        "num_round", "csv_weights", "early_stopping_rounds", "booster", "verbosity",
        "nthread", "eta", "gamma", "max_depth", "min_child_weight", "max_delta_step",
        "subsample", "colsample_bytree", "colsample_bylevel", "colsample_bynode", "lambda",
        "alpha", "tree_method", "sketch_eps", "scale_pos_weight", "updater", "dsplit",
        "refresh_leaf", "process_type", "grow_policy", "max_leaves", "max_bin", "predictor",
        "monotone_constraints", "interaction_constraints", "sample_type", "normalize_type",
        "rate_drop", "one_drop", "skip_drop", "lambda_bias", "tweedie_variance_power",
        "objective", "num_class", "base_score", "_kfold", "_num_cv_round",
        "_tuning_objective_metric", "eval_metric", "seed", "num_parallel_tree",
        "save_model_on_termination", "aft_loss_distribution", "aft_loss_distribution_scale",
        "deterministic_histogram", "sampling_method", "prob_buffer_row", "device",
        "use_dask_gpu_training",
        # aliases
        "learning_rate", "min_split_loss", "reg_lambda", "reg_alpha",
    }
)  # fmt: skip

# The container's ranges for the numeric names the local fit sends (same file): a value
# outside them is refused by the container, so it is refused here first.
CONTAINER_RANGES: dict[str, tuple[float, float]] = {
    "num_round": (1, float("inf")),
    "nthread": (1, float("inf")),
    "eta": (0.0, 1.0),
    "lambda": (0.0, float("inf")),
    "alpha": (0.0, float("inf")),
    "seed": (-(2**31) + 1, 2**31 - 2),
}

# Parameters of the local fit the container has no hyperparameter for, with the value
# XGBoost takes when the parameter is not given (xgboost 3.2, gblinear). Left out of the
# job at that value; any other value cannot be reproduced there and is refused.
XGBOOST_DEFAULTS: dict[str, Any] = {"feature_selector": "cyclic"}


@dataclass(frozen=True)
class JobHyperparameters:
    """The job's hyperparameters (strings, as SageMaker takes them) and what was left out
    of them, each with the reason, for the run's record."""

    values: dict[str, str]
    left_out: dict[str, str]


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)  # repr of a float: it reads back to the same float


def job_hyperparameters(params: Mapping[str, Any], num_round: int) -> JobHyperparameters:
    """Container hyperparameters for a job training exactly ``num_round`` rounds with the
    local fit's ``params``; :class:`UsageError` naming the first one it cannot take."""
    values: dict[str, str] = {}
    left_out: dict[str, str] = {}
    for name, value in {**params, "num_round": num_round}.items():
        if name in CONTAINER_HYPERPARAMETERS:
            low, high = CONTAINER_RANGES.get(name, (float("-inf"), float("inf")))
            if isinstance(value, int | float) and not low <= value <= high:
                raise UsageError(
                    f"the SageMaker XGBoost container accepts {name} from {low} to {high}, "
                    f"not {value}: change it or train without --sagemaker"
                )
            values[name] = _text(value)
        elif name in XGBOOST_DEFAULTS and value == XGBOOST_DEFAULTS[name]:
            left_out[name] = f"not a container hyperparameter; {value} is XGBoost's default"
        else:
            raise UsageError(
                f"the SageMaker XGBoost container has no hyperparameter {name} "
                f"(here {value!r}): train without --sagemaker, or use XGBoost's default"
                + (f" {XGBOOST_DEFAULTS[name]!r}" if name in XGBOOST_DEFAULTS else "")
            )
    return JobHyperparameters(values, left_out)
