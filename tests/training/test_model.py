"""The classifier follows scikit-learn's conventions and keeps exactly its best round."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import xgboost

from training.model import LinearSentimentClassifier, Rows, linear_coefficients, served_rows


def _data(seed: int, n: int) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = scipy.sparse.random(n, 60, density=0.1, format="csr", random_state=seed)
    w = np.linspace(-3, 3, 60)
    y = (x @ w + rng.normal(0, 0.3, n) > 0).astype(np.float32)
    return x, y


@pytest.fixture(scope="module")
def fitted() -> LinearSentimentClassifier:
    x, y = _data(0, 400)
    x_val, y_val = _data(1, 200)
    # A large step and no penalty overshoot, so the last round is not the best.
    clf = LinearSentimentClassifier(eta=1.0, n_rounds=60, early_stopping_rounds=5, seed=0)
    return clf.fit(x, y, x_val, y_val)


def test_init_does_no_work() -> None:
    clf = LinearSentimentClassifier(reg_lambda=0.5, seed=3)
    assert clf.reg_lambda == 0.5 and clf.seed == 3
    assert not any(name.endswith("_") and not name.startswith("_") for name in vars(clf))


def test_fit_returns_self_and_sets_fitted_attributes() -> None:
    x, y = _data(0, 100)
    clf = LinearSentimentClassifier(n_rounds=5)
    assert clf.fit(x, y, x, y) is clf
    assert clf.n_features_in_ == 60 and clf.best_iteration_ >= 0


def test_saved_model_is_the_best_round(fitted: LinearSentimentClassifier) -> None:
    x_val, y_val = _data(1, 200)
    losses = fitted.evals_result_["validation"]["logloss"]
    assert fitted.best_iteration_ == int(np.argmin(losses))
    assert len(losses) > fitted.best_iteration_ + 1, "the test needs rounds past the best"
    p = fitted.predict_proba(x_val).astype(np.float64)
    eps = 1e-7
    logloss = -np.mean(y_val * np.log(p + eps) + (1 - y_val) * np.log(1 - p + eps))
    assert logloss == pytest.approx(losses[fitted.best_iteration_], abs=1e-5)
    assert fitted.best_score_ == pytest.approx(min(losses))


def test_early_stopping_stops(fitted: LinearSentimentClassifier) -> None:
    rounds = len(fitted.evals_result_["validation"]["logloss"])
    assert rounds <= fitted.best_iteration_ + 1 + fitted.early_stopping_rounds
    assert (
        fitted.booster_.attributes() == {} or "best_iteration" not in fitted.booster_.attributes()
    )


def test_coefficients_match_predictions(fitted: LinearSentimentClassifier) -> None:
    x_val, _ = _data(1, 200)
    weights, bias = linear_coefficients(fitted.booster_)
    assert len(weights) == 60
    margin = x_val @ np.array(weights) + bias
    raw = fitted.booster_.predict(xgboost.DMatrix(x_val), output_margin=True)
    # binary:logistic's base score enters as a logit offset; it is the same for every row.
    assert np.ptp(raw - margin) < 1e-4


def test_refit_trains_the_chosen_rounds_on_training_and_validation_rows() -> None:
    x, y = _data(0, 400)
    x_val, y_val = _data(1, 200)
    params = {"eta": 1.0, "n_rounds": 60, "early_stopping_rounds": 5, "seed": 0}
    plain = LinearSentimentClassifier(**params).fit(x, y, x_val, y_val)
    refit = LinearSentimentClassifier(**params, refit=True).fit(x, y, x_val, y_val)
    rows = xgboost.DMatrix(scipy.sparse.vstack([x, x_val]), label=np.concatenate([y, y_val]))
    by_hand = xgboost.train(refit.xgb_params(), rows, plain.best_iteration_ + 1)
    probe = xgboost.DMatrix(x_val)
    # The rounds and the validation-phase model are the plain fit's; the served one is new.
    assert refit.best_iteration_ == plain.best_iteration_
    assert np.allclose(refit.validation_booster_.predict(probe), plain.predict_proba(x_val))
    assert np.allclose(refit.predict_proba(x_val), by_hand.predict(probe), atol=1e-6)
    assert not np.allclose(refit.predict_proba(x_val), plain.predict_proba(x_val), atol=1e-3)
    assert plain.validation_booster_ is plain.booster_


def test_sample_weights_reach_the_fit_and_the_refit() -> None:
    x, y = _data(0, 400)
    x_val, y_val = _data(1, 200)
    params = {"eta": 1.0, "n_rounds": 20, "early_stopping_rounds": 0, "seed": 0}
    # A zero weight is a row left out: the first 100 rows then count for nothing.
    weight = np.ones(400, dtype=np.float32)
    weight[:100] = 0.0
    weighted = LinearSentimentClassifier(**params).fit(x, y, x_val, y_val, sample_weight=weight)
    dropped = LinearSentimentClassifier(**params).fit(x[100:], y[100:], x_val, y_val)
    probe = xgboost.DMatrix(x_val)
    assert np.allclose(weighted.booster_.predict(probe), dropped.booster_.predict(probe), atol=1e-5)
    # The refit trains on the weighted rows, the validation rows, then refit_extra, in order.
    extra = Rows(x[:50], y[:50], np.full(50, 0.5, dtype=np.float32))
    refit = LinearSentimentClassifier(**params, refit=True).fit(
        x, y, x_val, y_val, sample_weight=weight, refit_extra=extra
    )
    rows = served_rows(x, y, x_val, y_val, weight, extra, refit=True)
    assert rows.x.shape[0] == 650 and rows.weight[:100].sum() == 0 and rows.weight[-1] == 0.5
    assert (rows.x[600:] != x[:50]).nnz == 0 and (rows.x[400:600] != x_val).nnz == 0
    by_hand = xgboost.train(
        refit.xgb_params(), xgboost.DMatrix(rows.x, label=rows.y, weight=rows.weight), 20
    )
    assert np.allclose(refit.booster_.predict(probe), by_hand.predict(probe), atol=1e-6)
    assert served_rows(x, y, x_val, y_val, None, extra, refit=False).x.shape[0] == 400
