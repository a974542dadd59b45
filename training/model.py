"""The classifier: XGBoost's linear booster on the vocabulary's features.

:class:`LinearSentimentClassifier` follows scikit-learn's conventions: the constructor only
stores its parameters, :meth:`~LinearSentimentClassifier.fit` does the work and returns
``self``, fitted attributes end in ``_``, randomness comes in through ``seed``.

A ``gblinear`` booster cannot be sliced to its best iteration (slicing is for trees), and
its last round is not its best one after early stopping. So a callback keeps the serialised
model of the best validation round, and that exact model is what :attr:`booster_` holds and
what is saved: the container uses whatever model it is given, in full.

With ``refit`` the rounds chosen that way are then trained again on the training and
validation rows together (the standard last step once a setting is chosen on validation);
the validation-phase model stays available as :attr:`validation_booster_` for what is
chosen on validation (calibration, the uncertain band).
"""

from __future__ import annotations

import inspect
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse
    import xgboost

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rows:
    """Training rows with a weight each (XGBoost's instance weights)."""

    x: scipy.sparse.csr_matrix
    y: np.ndarray
    weight: np.ndarray


def stack(*parts: Rows) -> Rows:
    """The rows of ``parts`` one after the other, in that order."""
    import numpy as np
    import scipy.sparse

    return Rows(
        scipy.sparse.vstack([p.x for p in parts], format="csr"),
        np.concatenate([p.y for p in parts]),
        np.concatenate([p.weight for p in parts]),
    )


def unweighted(x: scipy.sparse.csr_matrix, y: np.ndarray) -> Rows:
    """``x, y`` with weight 1 on every row."""
    import numpy as np

    return Rows(x, y, np.ones(x.shape[0], dtype=np.float32))


def _best_snapshot_callback(patience: int, metric: str) -> Any:
    """A TrainingCallback that remembers the best round's model and stops after
    ``patience`` rounds without improvement (lower is better); with ``patience`` 0 it
    keeps every round's model in turn, so the last one is kept (no early stopping)."""
    import xgboost

    class KeepBest(xgboost.callback.TrainingCallback):
        def __init__(self) -> None:
            super().__init__()
            self.best_score = float("inf")
            self.best_iteration = -1
            self.best_raw: bytes | None = None

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            score = float(evals_log["validation"][metric][-1])
            if patience == 0 or score < self.best_score:
                self.best_score = score
                self.best_iteration = epoch
                self.best_raw = bytes(model.save_raw("ubj"))
            return patience > 0 and epoch - self.best_iteration >= patience

    return KeepBest()


def _progress_callback(total: int) -> Any:
    """A TrainingCallback showing a tqdm bar over boosting rounds."""
    import xgboost
    from tqdm import tqdm

    class Progress(xgboost.callback.TrainingCallback):
        def before_training(self, model: Any) -> Any:
            self.bar = tqdm(total=total, desc="fit", unit="round", leave=False)
            return model

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            self.bar.update(1)
            self.bar.set_postfix(val_logloss=f"{evals_log['validation']['logloss'][-1]:.4f}")
            return False

        def after_training(self, model: Any) -> Any:
            self.bar.close()
            return model

    return Progress()


class LinearSentimentClassifier:
    """Logistic regression fitted by XGBoost's ``gblinear`` booster, with early stopping
    on a validation set.

    Parameters mirror XGBoost's: ``reg_lambda`` (L2) and ``reg_alpha`` (L1) penalties,
    ``eta`` step size, ``updater`` (``shotgun`` or ``coord_descent``), ``feature_selector``.
    ``early_stopping_rounds`` 0 trains exactly ``n_rounds`` rounds and keeps the last.
    ``refit``: train the chosen number of rounds again on ``X`` and ``X_val`` stacked.
    """

    def __init__(
        self,
        *,
        n_rounds: int = 300,
        eta: float = 0.5,
        reg_lambda: float = 1e-5,
        reg_alpha: float = 0.0,
        updater: str = "coord_descent",
        feature_selector: str = "cyclic",
        early_stopping_rounds: int = 10,
        n_jobs: int = 1,
        seed: int = 0,
        progress: bool = False,
        refit: bool = False,
    ) -> None:
        self.n_rounds = n_rounds
        self.eta = eta
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.updater = updater
        self.feature_selector = feature_selector
        self.early_stopping_rounds = early_stopping_rounds
        self.n_jobs = n_jobs
        self.seed = seed
        self.progress = progress
        self.refit = refit

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters (scikit-learn's convention), e.g. to fit a copy."""
        names = inspect.signature(LinearSentimentClassifier.__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    def fit_record(self) -> dict[str, Any]:
        """What the run's metrics say of how the model was fitted, beyond its parameters."""
        return {}

    def xgb_params(self) -> dict[str, Any]:
        """The parameters handed to ``xgboost.train``."""
        return {
            "booster": "gblinear",
            "objective": "binary:logistic",
            "eval_metric": ["error", "logloss"],
            "eta": self.eta,
            "lambda": self.reg_lambda,
            "alpha": self.reg_alpha,
            "updater": self.updater,
            "feature_selector": self.feature_selector,
            "nthread": self.n_jobs,
            "seed": self.seed,
        }

    def fit(
        self,
        X: scipy.sparse.csr_matrix,
        y: np.ndarray,
        X_val: scipy.sparse.csr_matrix,
        y_val: np.ndarray,
        *,
        sample_weight: np.ndarray | None = None,
        refit_extra: Rows | None = None,
    ) -> LinearSentimentClassifier:
        """Train on ``X, y`` (rows weighted by ``sample_weight``, 1 when None); stop when
        validation log loss stops improving (unless ``early_stopping_rounds`` is 0); keep
        the best round's model. ``refit_extra``: rows the refit adds after the validation
        rows (:func:`served_rows`). Sets ``booster_``, ``best_iteration_``, ``best_score_``,
        ``evals_result_``, ``n_features_in_``, ``fit_seconds_``, ``validation_booster_``
        (the best round's model, before any refit; ``booster_`` itself without ``refit``)."""
        import xgboost

        start = time.perf_counter()
        dtrain = xgboost.DMatrix(X, label=y, weight=sample_weight, nthread=self.n_jobs)
        dval = xgboost.DMatrix(X_val, label=y_val, nthread=self.n_jobs)
        keeper = _best_snapshot_callback(self.early_stopping_rounds, "logloss")
        callbacks = [keeper, *([_progress_callback(self.n_rounds)] if self.progress else [])]
        evals_result: dict[str, Any] = {}
        xgboost.train(
            self.xgb_params(),
            dtrain,
            num_boost_round=self.n_rounds,
            evals=[(dtrain, "train"), (dval, "validation")],
            evals_result=evals_result,
            callbacks=callbacks,
            verbose_eval=False,
        )
        if keeper.best_raw is None:
            raise RuntimeError("training produced no model")
        booster = xgboost.Booster(model_file=bytearray(keeper.best_raw))
        booster.set_param({"nthread": self.n_jobs})
        self.validation_booster_ = booster
        self.booster_ = booster
        self.best_iteration_ = int(keeper.best_iteration)
        self.best_score_ = float(keeper.best_score)
        self.evals_result_ = evals_result
        self.n_features_in_ = int(X.shape[1])
        # The best round first: the refit that follows trains exactly that many rounds.
        log.info(
            "gblinear: best round %d of %d, validation logloss %.4f, error %.4f (%.1f s)",
            self.best_iteration_ + 1,
            len(evals_result["validation"]["logloss"]),
            self.best_score_,
            evals_result["validation"]["error"][self.best_iteration_],
            time.perf_counter() - start,
        )
        if self.refit:
            rows = served_rows(X, y, X_val, y_val, sample_weight, refit_extra, refit=True)
            self.booster_ = self._refit(rows, keeper.best_iteration + 1)
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _refit(self, rows: Rows, rounds: int) -> xgboost.Booster:
        """Exactly ``rounds`` rounds on ``rows`` (:func:`served_rows`: the order a SageMaker
        job reads its concatenated channel in)."""
        import xgboost

        matrix = xgboost.DMatrix(rows.x, label=rows.y, weight=rows.weight, nthread=self.n_jobs)
        booster = xgboost.train(self.xgb_params(), matrix, rounds)
        booster.set_param({"nthread": self.n_jobs})
        log.info("refit: %d rounds on %d training + validation rows", rounds, rows.x.shape[0])
        return booster

    def predict_proba(self, X: scipy.sparse.csr_matrix) -> np.ndarray:
        """Probability that each row is positive (the endpoint's answer)."""
        import xgboost

        return self.booster_.predict(xgboost.DMatrix(X, nthread=self.n_jobs))

    def coefficients(self) -> tuple[list[float], float]:
        """The fitted per-feature weights and the bias (from the model's JSON dump)."""
        return linear_coefficients(self.booster_)


def linear_coefficients(booster: xgboost.Booster) -> tuple[list[float], float]:
    """Per-feature weights and bias of a ``gblinear`` booster with one output."""
    import json

    model = json.loads(bytes(booster.save_raw("json")))
    weights = [float(w) for w in model["learner"]["gradient_booster"]["model"]["weights"]]
    return weights[:-1], weights[-1]


def served_rows(
    X: scipy.sparse.csr_matrix,
    y: np.ndarray,
    X_val: scipy.sparse.csr_matrix,
    y_val: np.ndarray,
    sample_weight: np.ndarray | None,
    refit_extra: Rows | None,
    *,
    refit: bool,
) -> Rows:
    """The rows the served model trains on, in order: the training rows (weighted), then
    with ``refit`` the validation rows (weight 1) and ``refit_extra``. One rule for the
    local refit and the SageMaker job's train channel, so both fit the same model."""
    import numpy as np

    weight = np.ones(X.shape[0], dtype=np.float32) if sample_weight is None else sample_weight
    parts = [Rows(X, y, np.asarray(weight, dtype=np.float32))]
    if refit:
        parts.append(unweighted(X_val, y_val))
        parts.extend([refit_extra] if refit_extra is not None else [])
    return parts[0] if len(parts) == 1 else stack(*parts)
