import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from vigia.config import DetectorConfig
from vigia.models.detectors import (
    build_detector,
    estimator_params,
    fit_detector,
    normalized_scores,
    raw_scores,
    scoring_threads,
)
from vigia.models.preprocess import FeaturePreprocessor

DETECTORS = [
    DetectorConfig(name="iforest", type="isolation_forest", params={"n_estimators": 100}),
    DetectorConfig(name="lof", type="lof", params={"n_neighbors": 20}),
    DetectorConfig(name="ocsvm", type="ocsvm", params={"nu": 0.05}),
]


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(7)
    train = rng.normal(0, 1, size=(400, 2))
    normal = rng.normal(0, 1, size=(200, 2))
    angles = rng.uniform(0, 2 * np.pi, 20)
    radius = rng.uniform(7, 10, 20)
    outliers = np.column_stack([radius * np.cos(angles), radius * np.sin(angles)])
    X = np.vstack([normal, outliers])
    y = np.r_[np.zeros(200), np.ones(20)]
    return train, X, y


@pytest.mark.parametrize("cfg", DETECTORS, ids=lambda c: c.type)
def test_detector_ranks_outliers_and_normalises(cfg, toy):
    train, X, y = toy
    fitted = fit_detector(cfg, train, seed=1)
    assert fitted.n_train == 400 and fitted.name == cfg.name and fitted.type == cfg.type
    raw = raw_scores(fitted, X)
    assert roc_auc_score(y, raw) > 0.95
    norm = normalized_scores(fitted, X)
    assert norm.min() >= 0 and norm.max() <= 1
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(norm[order]) >= 0)  # monotonic in raw score
    assert np.median(norm[y == 1]) > 0.99 and 0.2 < np.median(norm[y == 0]) < 0.8
    # batch scoring equals unbatched
    np.testing.assert_allclose(raw_scores(fitted, X, batch_size=7), raw, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cfg", DETECTORS, ids=lambda c: c.type)
def test_deterministic_with_seed(cfg, toy):
    train, X, _ = toy
    a = raw_scores(fit_detector(cfg, train, seed=3), X)
    b = raw_scores(fit_detector(cfg, train, seed=3), X)
    np.testing.assert_array_equal(a, b)


def test_train_subsample_cap_is_deterministic(toy):
    train, X, _ = toy
    cfg = DetectorConfig(name="svm", type="ocsvm", params={"max_train_samples": 100, "batch_size": 50})
    f1, f2 = fit_detector(cfg, train, seed=5), fit_detector(cfg, train, seed=5)
    assert f1.n_train == 400 and f1.n_train_used == 100 and f1.batch_size == 50
    np.testing.assert_array_equal(raw_scores(f1, X), raw_scores(f2, X))


def test_build_detector_params_and_errors():
    est = build_detector(DetectorConfig(name="i", type="isolation_forest", params={"n_jobs": 2}), seed=9)
    assert est.random_state == 9 and est.n_jobs == 2
    assert build_detector(DetectorConfig(name="l", type="lof"), seed=0).novelty is True
    with pytest.raises(ValueError, match="novelty"):
        build_detector(DetectorConfig(name="l", type="lof", params={"novelty": False}), seed=0)


def test_autoencoder_batch_size_is_its_training_batch():
    params = {"batch_size": 64, "max_train_samples": 1000, "n_jobs": 2, "epochs": 3}
    cfg = DetectorConfig(name="ae", type="lstm_autoencoder", params={**params, "timesteps": 10})
    ae = build_detector(cfg, seed=0)
    assert ae.config().batch_size == 64 and ae.config().epochs == 3  # Keras trains in batches of 64
    assert estimator_params(cfg) == {"batch_size": 64, "epochs": 3, "timesteps": 10}  # what the sweep passes on
    forest = DetectorConfig(name="i", type="isolation_forest", params={"batch_size": 64, "n_estimators": 10})
    assert estimator_params(forest) == {"n_estimators": 10}  # a scoring batch for the scikit-learn detectors


def test_normalised_scores_beyond_training_range_stay_ranked(toy):
    train, _, _ = toy
    fitted = fit_detector(DETECTORS[1], train, seed=0)  # LOF: raw score keeps growing with distance
    far = np.array([[5.0, 0.0], [8.0, 0.0], [20.0, 0.0], [1e6, 0.0]])
    n = normalized_scores(fitted, far)
    assert np.all(n < 1) and np.all(np.diff(n) > 0)  # strictly increasing, never saturates


def test_preprocessor_fitted_on_normal_rows_only():
    rng = np.random.default_rng(0)
    normal = rng.normal(10, 2, size=(300, 3))
    malicious = np.full((30, 3), 1e9)
    X = np.vstack([normal, malicious])
    y = np.r_[np.zeros(300), np.ones(30)]
    pre = FeaturePreprocessor(log_columns=None).fit(X, y)
    assert pre.fit_on_ == "normal" and pre.n_fit_rows_ == 300
    np.testing.assert_allclose(pre.scaler_.mean_, normal.mean(axis=0))
    np.testing.assert_allclose(pre.scaler_.scale_, normal.std(axis=0))
    Z = pre.transform(X)
    assert np.abs(Z[:300].mean(axis=0)).max() < 1e-9
    assert np.all(Z[300:] == 50.0)  # clipped, not inf
    # unknown labels are not normal; all-unknown falls back to all rows
    y_unknown = np.r_[np.full(300, np.nan), np.ones(30)].astype(object)
    y_unknown[0] = None
    assert FeaturePreprocessor(log_columns=None).fit(X, y_unknown).n_fit_rows_ == 330
    assert FeaturePreprocessor(log_columns=None).fit(X, None).fit_on_ == "all"


def test_preprocessor_log_constant_and_nan():
    rng = np.random.default_rng(1)
    heavy = rng.pareto(1.5, 500) * 100
    const = np.full(500, 4.0)
    gauss = rng.normal(0, 1, 500)
    X = np.column_stack([heavy, const, gauss])
    pre = FeaturePreprocessor(feature_names=["bytes", "const", "g"]).fit(X)
    assert pre.log_feature_names == ["bytes"]
    Z = pre.transform(np.array([[np.nan, 4.0, np.inf], [1e300, 5.0, -1e300]]))
    assert np.isfinite(Z).all() and np.abs(Z).max() <= 50
    assert Z[0, 1] == 0.0  # constant column: no division by zero
    explicit = FeaturePreprocessor(log_columns=["bytes"], feature_names=["bytes", "const", "g"], scaler="robust")
    assert explicit.fit(X).log_mask_.tolist() == [True, False, False]


@pytest.mark.parametrize("kind", ["isolation_forest", "lof", "ocsvm"])
def test_batches_scored_on_threads_equal_serial_scoring(kind, toy):
    x_train, x_test, _ = toy
    many = np.vstack([x_test] * 20)
    serial, threaded = (
        fit_detector(DetectorConfig(name="d", type=kind, params={"batch_size": 97, "n_jobs": n}), x_train, seed=3)
        for n in (1, 3)
    )
    assert (scoring_threads(serial), scoring_threads(threaded)) == (1, 3)
    assert np.array_equal(serial.train_scores, threaded.train_scores)
    assert np.array_equal(raw_scores(serial, many), raw_scores(threaded, many))
    assert np.array_equal(raw_scores(threaded, many[:97]), raw_scores(serial, many[:97]))  # one batch
