"""Unsupervised detectors: build, fit on normal training rows, score.

Supported ``DetectorConfig.type`` values and their ``params``:

* ``isolation_forest``: ``sklearn.ensemble.IsolationForest`` (``random_state`` = seed).
* ``lof``: ``sklearn.neighbors.LocalOutlierFactor(novelty=True)``. Fitted on at most
  ``max_train_samples`` rows (default 50 000).
* ``ocsvm``: ``sklearn.svm.OneClassSVM`` (rbf kernel, ``nu`` default 0.05). Fitted on at most
  ``max_train_samples`` rows (default 20 000); kernel SVMs scale quadratically or worse.
* ``lstm_autoencoder`` / ``conv_autoencoder``: a Keras window autoencoder
  (:class:`vigia.timeseries.ae_estimator.WindowAutoencoder`) over rows that are flattened windows;
  ``timesteps`` plus the :class:`~vigia.timeseries.autoencoders.AutoencoderConfig` fields as params.

Larger training sets are reduced to a deterministic subsample (``numpy.random.default_rng(seed)``,
without replacement, original order kept). Extra keys understood for every type:
``max_train_samples`` (``None`` = no cap), ``batch_size`` (scoring batch, default 65 536 rows; for the
autoencoders it is the Keras training batch instead) and ``n_jobs`` (passed to estimators that accept
it). All other params go to the estimator.
Scikit-learn detectors score their batches on a thread pool (``n_jobs`` threads, default one per
core; the tree and neighbour queries release the GIL): the same scores, about 2x faster on 2 cores.

Raw scores are oriented so that HIGHER = MORE ANOMALOUS (sklearn's ``score_samples`` negated).
Normalised scores map a raw score to ``[0, 1]`` through the empirical CDF of the training
scores (see :func:`normalized_scores`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor
from sklearn.svm import OneClassSVM

from vigia.config import DetectorConfig

DEFAULT_BATCH_SIZE = 65_536
DEFAULT_MAX_TRAIN = {
    "isolation_forest": None,
    "lof": 50_000,
    "ocsvm": 20_000,
    "lstm_autoencoder": 50_000,
    "conv_autoencoder": 50_000,
}
AUTOENCODERS = {"lstm_autoencoder": "lstm", "conv_autoencoder": "conv"}
MAX_REFERENCE_SCORES = 100_000
_OWN_KEYS = ("max_train_samples", "batch_size", "n_jobs")


@dataclass
class FittedDetector:
    """A fitted estimator plus what is needed to score and normalise consistently."""

    name: str
    type: str
    estimator: Any
    params: dict[str, Any]
    n_train: int
    n_train_used: int
    train_scores: np.ndarray = field(repr=False)  # sorted raw scores (higher = more anomalous)
    batch_size: int = DEFAULT_BATCH_SIZE

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description (no estimator)."""
        q = np.quantile(self.train_scores, [0.0, 0.5, 0.99, 1.0]).tolist() if len(self.train_scores) else []
        return {
            "name": self.name,
            "type": self.type,
            "params": dict(self.params),
            "n_train": self.n_train,
            "n_train_used": self.n_train_used,
            "train_score_quantiles": dict(zip(["min", "median", "p99", "max"], q, strict=False)),
        }


def _split_params(cfg: DetectorConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """(estimator params, Vigia's own keys). An autoencoder's ``batch_size`` is its Keras training batch."""
    params = dict(cfg.params)
    own_keys = [k for k in _OWN_KEYS if not (k == "batch_size" and cfg.type in AUTOENCODERS)]
    own = {k: params.pop(k) for k in own_keys if k in params}
    return params, own


def estimator_params(cfg: DetectorConfig) -> dict[str, Any]:
    """The params that go to the estimator itself (without ``max_train_samples``, ``n_jobs``, scoring batch)."""
    return _split_params(cfg)[0]


def build_detector(cfg: DetectorConfig, seed: int) -> Any:
    """Unfitted scikit-learn estimator for ``cfg`` (seeded where the estimator is random)."""
    params, own = _split_params(cfg)
    n_jobs = own.get("n_jobs")
    if cfg.type == "isolation_forest":
        return IsolationForest(**{"n_estimators": 200, "n_jobs": n_jobs, **params, "random_state": seed})
    if cfg.type == "lof":
        if params.get("novelty") is False:
            raise ValueError(f"detector {cfg.name!r}: lof must use novelty=True to score unseen rows")
        return LocalOutlierFactor(**{"n_neighbors": 20, "n_jobs": n_jobs, **params, "novelty": True})
    if cfg.type == "ocsvm":
        if params.get("kernel", "rbf") != "rbf":
            raise ValueError(f"detector {cfg.name!r}: only the rbf kernel is supported for ocsvm")
        return OneClassSVM(**{"nu": 0.05, "gamma": "scale", **params, "kernel": "rbf"})
    if cfg.type in AUTOENCODERS:
        from vigia.timeseries.ae_estimator import WindowAutoencoder

        return WindowAutoencoder(kind=AUTOENCODERS[cfg.type], seed=seed, **params)
    raise ValueError(f"unknown detector type {cfg.type!r}")


def check_detector(cfg: DetectorConfig) -> None:
    """Raise ``ValueError`` naming the detector when its params would fail at training: unknown names, or
    values the estimator refuses (scikit-learn's own parameter validation; the autoencoder's config)."""
    try:
        estimator = build_detector(cfg, seed=0)
        if hasattr(estimator, "_validate_params"):  # scikit-learn >= 1.2: the checks ``fit`` runs first
            estimator._validate_params()
        elif hasattr(estimator, "config"):
            estimator.config()
    except (TypeError, ValueError) as exc:  # scikit-learn's InvalidParameterError is both
        raise ValueError(f"detector {cfg.name!r} ({cfg.type}): {exc}") from exc


def deterministic_subsample(n: int, size: int | None, seed: int) -> np.ndarray | None:
    """Sorted row indices of a seeded subsample of ``size`` rows, or ``None`` when no cap applies."""
    if size is None or n <= size:
        return None
    if size < 1:
        raise ValueError(f"max_train_samples must be >= 1, got {size}")
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _score_block(estimator: Any, X: np.ndarray) -> np.ndarray:
    return -np.asarray(estimator.score_samples(X), dtype=float)


def scoring_threads(fitted: FittedDetector) -> int:
    """Threads for batch scoring on this machine: ``n_jobs`` (joblib's convention, -1 = every core), else
    one per core; 1 for the Keras autoencoders, which parallelise on their own."""
    if fitted.type in AUTOENCODERS:
        return 1
    n_jobs = fitted.params.get("n_jobs")
    cores = os.cpu_count() or 1
    if n_jobs is None:
        return cores
    n = int(n_jobs)
    return max(1, cores + 1 + n if n < 0 else n)  # joblib's convention: -1 = every core


def fit_detector(cfg: DetectorConfig, X_train_normal: np.ndarray, seed: int) -> FittedDetector:
    """Fit ``cfg`` on (preprocessed) normal training rows and record the training-score distribution."""
    X = np.asarray(X_train_normal, dtype=float)
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(f"detector {cfg.name!r}: need a 2-D training matrix with >= 2 rows, got shape {X.shape}")
    _, own = _split_params(cfg)
    cap = own.get("max_train_samples", DEFAULT_MAX_TRAIN[cfg.type])
    batch_size = int(own.get("batch_size", DEFAULT_BATCH_SIZE))
    if batch_size < 1:
        raise ValueError(f"detector {cfg.name!r}: batch_size must be >= 1")
    idx = deterministic_subsample(len(X), cap, seed)
    X_fit = X if idx is None else X[idx]
    estimator = build_detector(cfg, seed)
    if cfg.type == "lof":
        estimator.set_params(n_neighbors=min(estimator.n_neighbors, len(X_fit) - 1))
    estimator.fit(X_fit)
    fitted = FittedDetector(
        name=cfg.name,
        type=cfg.type,
        estimator=estimator,
        params=dict(cfg.params),
        n_train=len(X),
        n_train_used=len(X_fit),
        train_scores=np.empty(0),
        batch_size=batch_size,
    )
    if cfg.type == "lof":
        # Training rows scored as "new" points would count themselves as neighbours; use the
        # in-sample LOF instead (same scale as score_samples on unseen rows).
        ref = -np.asarray(estimator.negative_outlier_factor_, dtype=float)
    else:
        ref_idx = deterministic_subsample(len(X_fit), MAX_REFERENCE_SCORES, seed + 1)
        ref = raw_scores(fitted, X_fit if ref_idx is None else X_fit[ref_idx])
    fitted.train_scores = np.sort(ref)
    return fitted


def raw_scores(fitted: FittedDetector, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
    """Anomaly scores, higher = more anomalous, computed in batches of ``batch_size`` rows."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}")
    bs = int(batch_size or fitted.batch_size)
    if len(X) <= bs:
        return _score_block(fitted.estimator, X)
    starts = range(0, len(X), bs)
    out = np.empty(len(X), dtype=float)

    def score(start: int) -> None:
        out[start : start + bs] = _score_block(fitted.estimator, X[start : start + bs])

    threads = min(scoring_threads(fitted), len(starts))
    if threads <= 1:
        for start in starts:
            score(start)
    else:
        with ThreadPoolExecutor(threads, thread_name_prefix="vigia-score") as pool:
            list(pool.map(score, starts))  # list(): re-raise a batch's error here
    return out


def normalize_raw(train_scores: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Map raw scores to ``[0, 1]`` via the interpolated empirical CDF of ``train_scores``.

    Inside the training range: linear interpolation of the mid-rank ``(count(train < s) + count(train <= s))
    / 2 / (m + 1)`` over the distinct training scores, so a score tied with many training scores (a constant
    series) sits in the middle of them, not at their top. Outside it, hyperbolic tails
    ``1 - (1 - cdf_max) / (1 + d / scale)``
    (``d`` = distance past the training maximum, scale = training score std; mirrored below the
    minimum) keep the mapping strictly increasing, so outliers far beyond the training maximum stay
    ranked in ``(cdf_max, 1)`` instead of all collapsing to 1.
    """
    ref = np.asarray(train_scores, dtype=float)
    raw = np.asarray(raw, dtype=float)
    if len(ref) == 0:
        raise ValueError("no training scores to normalise against")
    values, counts = np.unique(ref, return_counts=True)
    cdf = (np.cumsum(counts) - counts / 2.0) / (len(ref) + 1.0)
    scale = float(ref.std()) or 1.0
    lo, hi = values[0], values[-1]
    out = np.interp(raw, values, cdf)
    below, above = raw < lo, raw > hi
    if below.any():
        out[below] = cdf[0] / (1.0 + (lo - raw[below]) / scale)
    if above.any():
        out[above] = 1.0 - (1.0 - cdf[-1]) / (1.0 + (raw[above] - hi) / scale)
    out = np.where(np.isnan(raw), np.nan, out)
    return np.clip(out, 0.0, 1.0)


def normalized_scores(fitted: FittedDetector, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
    """Scores in ``[0, 1]`` (monotonic in the raw score), comparable across detectors."""
    return normalize_raw(fitted.train_scores, raw_scores(fitted, X, batch_size))
