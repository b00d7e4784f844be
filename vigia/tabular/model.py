"""Supervised tabular model: preprocessing, gradient boosting + logistic baseline (+ their blend),
calibration, threshold, selection.

Protocol of :func:`fit_and_select` / :func:`fit_credit_model` (everything below sees only the training
frame it is given):

0. Optional hyper-parameter tuning (``tune=False``, the default, skips it; ``"auto"``: with a value matrix
   and ``cv`` validation, i.e. below 5,000 training rows; ``True`` forces it). It is off by default
   because it multiplies the fit time by 4-6 and, on German credit, kept the defaults. Every point of a small
   regularisation grid per base kind (:data:`HGB_GRID`, :data:`LOGREG_GRID`, or ``grids``) goes through
   steps 1-5 on *tuning* partitions of the training frame (CV seeds ``seed + TUNE_SEED_OFFSET + repeat``,
   other than those of step 1) and is scored by its cross-validated value per record (step 5). The best
   point replaces the defaults (the first point of each grid) only if it beats them by more than one
   standard error of their paired per-row difference; the grid table is kept in
   ``validation["tuning"]`` and the chosen parameters in ``validation["params"]``. The blend takes the
   tuned members. Steps 1-6 then run for the chosen parameters on the usual partitions, so the reported
   validation figures do not reuse the partitions that chose the grid point.
1. Validation predictions, on the training frame only: ``validation="holdout"`` splits it (stratified,
   ``seed``) into a *fit* part and a *validation* part (``validation_size``, default 25 %);
   ``validation="cv"`` uses out-of-fold predictions of a stratified 5-fold cross-validation over the
   whole training frame (every training row is a validation row once per repeat), repeated
   ``cv_repeats`` times with different partitions (default 3 below 2,000 training rows, where one
   partition is noisy, else 1); ``"auto"`` (default) = ``cv`` below 5,000 training rows, else ``holdout``.
2. Preprocessing is a ``ColumnTransformer``: numeric → median imputation (+ ``StandardScaler`` for
   the logistic regression only; trees need no scaling); categorical → most-frequent imputation +
   ``OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=...)`` (unseen categories at
   predict time map to the infrequent bucket when one exists, else to all zeros).
3. Model: ``HistGradientBoostingClassifier`` (``kind="hgb"``) or ``LogisticRegression``
   (``kind="logreg"``), both with ``class_weight="balanced"`` for the class imbalance; ``"blend"``
   (from :func:`fit_and_select`) is the mean of the two calibrated models' probabilities
   (:class:`ProbabilityAverage`); its validation predictions are the mean of theirs (same partitions).
4. Calibration: ``CalibratedClassifierCV(cv=3)`` with ``sigmoid`` and with ``isotonic``; the method
   with the lower **validation Brier score** is kept (the uncalibrated Brier is reported beside them).
   The validation predictions of the methods share their ``cv`` base fits (:func:`_fit_calibrations`,
   the same probabilities as one ``CalibratedClassifierCV`` per method).
5. Decision threshold, on the validation predictions. Without a value matrix: the one maximising F1.
   With a :class:`~vigia.tabular.value.ValueMatrix`, two rules are candidates: ``"value"`` (the
   threshold maximising the realised value of the validation predictions) and ``"bayes"`` (the
   cost-derived threshold :meth:`~vigia.tabular.value.ValueMatrix.bayes_threshold`, right for
   calibrated probabilities, nothing fitted). Each rule is scored by its **cross-validated value per
   record**: the validation rows are cut into folds (the CV folds of each repeat, or a stratified 5-fold
   partition of the hold-out part); each fold is decided with the threshold that the rule picks on the
   other folds of the same repeat, so a fitted threshold is never scored on the labels it was fitted on.
   The better rule is kept (ties: ``"bayes"``), with its threshold on all validation predictions.
6. ``refit=True`` (default; always with ``cv``): the chosen calibrated pipeline is refitted on the
   whole training frame with the same method; the threshold is kept (it is expressed on calibrated
   probabilities, so it carries over).

:func:`selection_score` (which :func:`fit_and_select` maximises over the kinds) is that
cross-validated value per record with a value matrix, else the validation ROC-AUC.

The fitted :class:`CreditModel` is what gets persisted (``save_model`` → joblib + SHA-256 through
``vigia.models.bundle``); versioning is the caller's job.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import polars as pl
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, check_cv, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from vigia.models.bundle import load_bundle, save_bundle
from vigia.tabular.value import (
    ThresholdChoice,
    ValueMatrix,
    batch_value,
    choose_f1_threshold,
    choose_threshold,
    confusion,
    outcome_values,
    threshold_choice_at,
)

ModelKind = Literal["hgb", "logreg", "blend"]
Calibration = Literal["auto", "sigmoid", "isotonic", "none"]
NON_FEATURE_COLUMNS = frozenset({"source_file", "__line_number"})
CV_BELOW_ROWS = 5000
CV_FOLDS = 5
CV_REPEATS = 3  # repeats of the 5-fold CV below REPEAT_BELOW_ROWS training rows
REPEAT_BELOW_ROWS = 2000
THRESHOLD_FOLDS = 5  # folds of a hold-out validation part, to cross-validate the threshold rules
THRESHOLD_RULES = ("bayes", "value")
BLEND = "blend"
MIN_CLASS_ROWS = 10  # of each class, to fit: every CV fold and calibration split then sees both classes
SINGLE_THREAD_BELOW_ROWS = 5000  # small tables: OpenMP threads cost more than they save (and stall on shared cores)
TUNE_SEED_OFFSET = 1000  # the tuning partitions: seed + TUNE_SEED_OFFSET + repeat (validation: seed + repeat)
# Hyper-parameter grids (step 0 of the protocol); the first point of each grid is the default of
# build_estimator, which wins ties. Regularisation only: shallower / smaller / more penalised trees,
# stronger or weaker L2, and L1 for the logistic regression.
HGB_GRID: tuple[dict[str, Any], ...] = (
    {},  # depth 4, learning rate 0.05, L2 1, min_samples_leaf n_rows // 100 in [20, 100]
    {"max_depth": 2},
    {"max_depth": 3, "min_samples_leaf": 40, "l2_regularization": 5.0},
    {"max_depth": 2, "learning_rate": 0.03, "min_samples_leaf": 50, "l2_regularization": 10.0},
    {"max_depth": None, "max_leaf_nodes": 8, "learning_rate": 0.1},
    {"max_depth": 6, "min_samples_leaf": 10},
)
LOGREG_GRID: tuple[dict[str, Any], ...] = (
    {},  # L2, C = 0.5
    {"C": 0.02},
    {"C": 0.05},
    {"C": 0.15},
    {"C": 2.0},
    {"C": 0.1, "l1_ratio": 1.0},
    {"C": 0.5, "l1_ratio": 1.0},
)
TUNING_GRIDS: dict[str, tuple[dict[str, Any], ...]] = {"hgb": HGB_GRID, "logreg": LOGREG_GRID}


@dataclass(frozen=True)
class FeatureSpec:
    """Model input columns by kind."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]


def infer_features(
    frame: pl.DataFrame,
    target: str,
    *,
    exclude: Sequence[str] = (),
    categorical: Sequence[str] = (),
) -> FeatureSpec:
    """Numeric dtypes → numeric, string/bool/categorical dtypes (or declared) → categorical; others skipped."""
    skip = {target, *exclude, *NON_FEATURE_COLUMNS}
    declared = set(categorical)
    missing = sorted(declared - set(frame.columns))
    if missing:
        raise ValueError(f"declared categorical columns not in the frame: {missing}")
    num, cat = [], []
    for name, dtype in frame.schema.items():
        if name in skip:
            continue
        if name in declared or dtype in (pl.String, pl.Categorical, pl.Boolean) or isinstance(dtype, pl.Enum):
            cat.append(name)
        elif dtype.is_numeric():
            num.append(name)
    if not num and not cat:
        raise ValueError(f"no usable feature column in {frame.columns}")
    return FeatureSpec(tuple(num), tuple(cat))


def to_model_input(frame: pl.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """pandas input for the pipeline: numeric → float64 (null → NaN), categorical → object (null → NaN).

    A numeric column that arrives as text (a later extract made it categorical) is cast leniently: a value
    that is not a number becomes NaN, imputed like a missing one (:func:`non_numeric_values` counts them)."""
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise ValueError(f"model input columns missing from the frame: {missing}")
    exprs = [pl.col(c).cast(pl.Float64, strict=False) for c in spec.numeric]
    exprs += [pl.col(c).cast(pl.String) for c in spec.categorical]
    pdf = frame.select(exprs).to_pandas()
    for c in spec.categorical:
        pdf[c] = pdf[c].astype(object).where(pdf[c].notna(), np.nan)
    return pdf


def kind_changes(spec: FeatureSpec, frame: pl.DataFrame) -> dict[str, str]:
    """Numeric model inputs that ``frame`` holds as non-numeric columns: ``{column: dtype}``."""
    return {c: str(frame.schema[c]) for c in spec.numeric if c in frame.columns and not frame.schema[c].is_numeric()}


def non_numeric_values(spec: FeatureSpec, frame: pl.DataFrame) -> dict[str, int]:
    """Per numeric model input held as text in ``frame``, the non-null cells that are not numbers (→ NaN)."""
    out = {}
    for c in kind_changes(spec, frame):
        s = frame.get_column(c)
        if n := int((s.is_not_null() & s.cast(pl.Float64, strict=False).is_null()).sum()):
            out[c] = n
    return out


def build_preprocessor(
    spec: FeatureSpec, *, scale: bool, min_frequency: float | int | None = 0.01
) -> ColumnTransformer:
    """Median (+ scaling) for numeric columns, most-frequent + one-hot for categorical ones."""
    num_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median", keep_empty_features=True))]
    if scale:
        num_steps.append(("scale", StandardScaler()))
    cat = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            (
                "onehot",
                OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=min_frequency, sparse_output=False),
            ),
        ]
    )
    transformers = []
    if spec.numeric:
        transformers.append(("num", Pipeline(num_steps), list(spec.numeric)))
    if spec.categorical:
        transformers.append(("cat", cat, list(spec.categorical)))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


def build_estimator(
    kind: ModelKind,
    spec: FeatureSpec,
    seed: int = 42,
    n_rows: int = 10_000,
    params: Mapping[str, Any] | None = None,
) -> Pipeline:
    """Uncalibrated pipeline (preprocessing + classifier), class-weighted for the imbalance.

    Defaults (``params`` overrides them, e.g. a point of :data:`TUNING_GRIDS`). Gradient boosting:
    depth-4 trees, learning rate 0.05, L2 1.0, early stopping on an internal 15 % split,
    ``min_samples_leaf`` = ``n_rows // 100`` clipped to [20, 100] (settings compared on the Taiwan
    validation split, inside the train part). Logistic regression: L2 with ``C = 0.5``.
    """
    params = dict(params or {})
    if kind == "hgb":
        settings: dict[str, Any] = {
            "learning_rate": 0.05,
            "max_iter": 400,
            "max_depth": 4,
            "min_samples_leaf": int(np.clip(n_rows // 100, 20, 100)),
            "l2_regularization": 1.0,
            "early_stopping": True,
            "validation_fraction": 0.15,
            "n_iter_no_change": 30,
            "class_weight": "balanced",
            "random_state": seed,
        }
        clf: Any = HistGradientBoostingClassifier(**{**settings, **params})
        return Pipeline([("prep", build_preprocessor(spec, scale=False)), ("model", clf)])
    if kind == "logreg":
        settings = {"C": 0.5, "class_weight": "balanced", "max_iter": 5000, "random_state": seed}
        if params.get("l1_ratio"):  # L1 / elastic net: a solver that supports it
            settings["solver"] = "liblinear" if params["l1_ratio"] == 1 else "saga"
        clf = LogisticRegression(**{**settings, **params})
        return Pipeline([("prep", build_preprocessor(spec, scale=True)), ("model", clf)])
    raise ValueError(f"model kind must be 'hgb' or 'logreg', got {kind!r}")


def stratified_split(
    frame: pl.DataFrame, target: str, *, test_size: float = 0.2, seed: int = 42
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stratified (train, test) split with a fixed seed (row order inside each part follows the input)."""
    y = frame.get_column(target).to_numpy()
    idx = np.arange(frame.height)
    train_idx, test_idx = train_test_split(idx, test_size=test_size, random_state=seed, stratify=y)
    return frame[np.sort(train_idx)], frame[np.sort(test_idx)]


def heldout_mask(
    frame: pl.DataFrame, target: str, *, test_size: float, seed: int, key: str | None = None
) -> np.ndarray:
    """True for the held-out rows: those whose seeded hash (BLAKE2b of ``seed`` and the row's ``key`` value, or,
    without a key value, of its content: every column but ``target``, ``source_file`` and ``__line_number``)
    falls below ``test_size`` in [0, 1). A row's part depends on the row alone, so it never moves when other
    rows are added or removed (the held-out share is ``test_size`` on average, not exactly, and not stratified)."""
    skip = {target, *NON_FEATURE_COLUMNS}
    content = pl.concat_str(
        [pl.col(c).cast(pl.String).fill_null("\x00") for c in frame.columns if c not in skip], separator="\x1f"
    )
    ident = content if key is None else pl.coalesce(pl.lit("k\x1f") + pl.col(key).cast(pl.String), content)
    texts = frame.select(ident.alias("id")).get_column("id").to_list()
    salt = f"{seed}\x1f".encode()
    hashes = [int.from_bytes(hashlib.blake2b(salt + t.encode(), digest_size=8).digest(), "big") for t in texts]
    return np.asarray(hashes, dtype=np.float64) / 2.0**64 < test_size


def check_trainable(frame: pl.DataFrame, target: str, test_size: float) -> None:
    """Fail clearly, before any split, when a class of ``target`` is too rare to hold out ``test_size`` and
    still fit (:data:`MIN_CLASS_ROWS` of each class left for the fit)."""
    need = math.ceil(MIN_CLASS_ROWS / (1 - test_size)) if 0 < test_size < 1 else MIN_CLASS_ROWS
    _require_classes(_labels(frame, target), target, need, f"{MIN_CLASS_ROWS} to fit after the {test_size:.0%} "
                     "held-out split")  # fmt: skip


def _require_classes(y: np.ndarray, target: str, need: int, why: str) -> None:
    """A clear error when a class has fewer than ``need`` rows (scikit-learn's would name no column)."""
    counts = [int((y == c).sum()) for c in (1, 0)]
    if min(counts) < need:
        raise ValueError(
            f"target {target!r} has {counts[0]} rows of class 1 and {counts[1]} of class 0: training needs at "
            f"least {need} of each ({why})"
        )


def _labels(frame: pl.DataFrame, target: str) -> np.ndarray:
    y = frame.get_column(target)
    if y.len() == 0:
        raise ValueError(f"target {target!r} has no rows")
    if y.null_count():
        raise ValueError(f"target {target!r} has {y.null_count()} null values")
    arr = y.cast(pl.Int64).to_numpy()
    if not np.isin(arr, (0, 1)).all():
        raise ValueError(f"target {target!r} must be 0/1, got values {sorted(set(arr.tolist()))[:10]}")
    if arr.min() == arr.max():
        raise ValueError(f"target {target!r} holds a single class")
    return arr


def probability_metrics(y_true: np.ndarray, prob: np.ndarray, threshold: float, n_bins: int = 10) -> dict[str, Any]:
    """ROC-AUC, average precision, F1 / precision / recall at ``threshold``, Brier, calibration curve."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(prob, dtype=float)
    decision = (p >= threshold).astype(int)
    c = confusion(y, decision)
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    both = 0 < y.sum() < y.size
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="uniform") if both else ([], [])
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else None,
        "average_precision": float(average_precision_score(y, p)) if both else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "brier": float(brier_score_loss(y, p)),
        "threshold": float(threshold),
        "n": int(y.size),
        "positives": int(y.sum()),
        "n_flagged": int(decision.sum()),
        **c,
        "calibration_curve": {"prob_pred": [float(v) for v in prob_pred], "prob_true": [float(v) for v in prob_true]},
    }


@dataclass
class CreditModel:
    """A fitted, calibrated pipeline with its decision threshold: the persisted bundle."""

    pipeline: Any
    kind: str
    spec: FeatureSpec
    target: str
    threshold: float
    calibration: str
    known_categories: dict[str, frozenset[str]]
    value_matrix: ValueMatrix | None
    threshold_choice: dict[str, Any]
    validation: dict[str, Any]
    n_train: int
    positive_rate: float
    seed: int
    trained_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def predict_proba(self, frame: pl.DataFrame) -> np.ndarray:
        return self.pipeline.predict_proba(to_model_input(frame, self.spec))[:, 1]

    def summary(self) -> dict[str, Any]:
        """JSON-ready description (no pipeline)."""
        return {
            "kind": self.kind,
            "calibration": self.calibration,
            "threshold": self.threshold,
            "threshold_choice": self.threshold_choice,
            "numeric_features": list(self.spec.numeric),
            "categorical_features": list(self.spec.categorical),
            "target": self.target,
            "value_matrix": None if self.value_matrix is None else self.value_matrix.to_dict(),
            "validation": self.validation,
            "n_train": self.n_train,
            "positive_rate": self.positive_rate,
            "seed": self.seed,
            "trained_at": self.trained_at,
        }


class ProbabilityAverage(ClassifierMixin, BaseEstimator):
    """Soft vote: the mean of the members' predicted probabilities (every member fitted on the same data)."""

    def __init__(self, estimators: Sequence[Any]) -> None:
        self.estimators = estimators

    def fit(self, x: Any, y: Any) -> ProbabilityAverage:
        self.estimators_ = [clone(e).fit(x, y) for e in self.estimators]
        self.classes_ = self.estimators_[0].classes_
        return self

    @classmethod
    def from_fitted(cls, fitted: Sequence[Any]) -> ProbabilityAverage:
        """Wrap already fitted members (no refit)."""
        out = cls(list(fitted))
        out.estimators_ = list(fitted)
        out.classes_ = out.estimators_[0].classes_
        return out

    def predict_proba(self, x: Any) -> np.ndarray:
        return np.mean([e.predict_proba(x) for e in self.estimators_], axis=0)

    def predict(self, x: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(x).argmax(axis=1)]


def _calibrated(base: Pipeline, method: str, cv: int) -> Any:
    if method == "none":
        return clone(base)
    return CalibratedClassifierCV(clone(base), method=method, cv=cv)


class _Scores(ClassifierMixin, BaseEstimator):
    """The first column of ``x`` as the decision function: lets ``CalibratedClassifierCV`` fit its
    calibrator on precomputed scores."""

    def fit(self, x: Any, y: Any) -> _Scores:
        self.classes_ = np.unique(y)
        return self

    def decision_function(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=float)[:, 0]

    def predict(self, x: Any) -> np.ndarray:
        return self.classes_[(self.decision_function(x) > 0).astype(int)]


def _decision_scores(model: Any, x: Any) -> np.ndarray:
    """What ``CalibratedClassifierCV`` calibrates: the decision function, else the positive-class probability."""
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(x), dtype=float).reshape(-1, 1)
    return np.asarray(model.predict_proba(x), dtype=float)[:, 1:2]


class _ScoreCalibrated(ClassifierMixin, BaseEstimator):
    """A fitted classifier followed by a calibrator of its decision function (one fold model of a
    ``CalibratedClassifierCV`` ensemble)."""

    def __init__(self, model: Any, calibrator: Any) -> None:
        self.model = model
        self.calibrator = calibrator
        self.classes_ = model.classes_

    def predict_proba(self, x: Any) -> np.ndarray:
        return self.calibrator.predict_proba(_decision_scores(self.model, x))


def _fit_calibrations(
    base: Pipeline, methods: Sequence[str], cv: int, x: pd.DataFrame, y: np.ndarray
) -> dict[str, Any]:
    """``{method: _calibrated(base, method, cv).fit(x, y)}`` with the ``cv`` base fits shared by the methods.

    Same probabilities as one ``CalibratedClassifierCV(base, method=m, cv=cv)`` per method (ensemble:
    the mean of the ``cv`` fold models, each calibrated on the decision function of its held-out part,
    the same splits) in ``cv + 1`` base fits instead of ``cv`` per method + 1 (a validation-time
    shortcut; the persisted model is a plain ``CalibratedClassifierCV``)."""
    out: dict[str, Any] = {}
    if "none" in methods:
        out["none"] = clone(base).fit(x, y)
    calibrated = [m for m in methods if m != "none"]
    if not calibrated:
        return out
    members: dict[str, list[Any]] = {m: [] for m in calibrated}
    for train_idx, test_idx in check_cv(cv, y, classifier=True).split(x, y):
        fold_model = clone(base).fit(x.iloc[train_idx], y[train_idx])
        scores = _decision_scores(fold_model, x.iloc[test_idx])
        scorer = FrozenEstimator(_Scores().fit(scores, y[test_idx]))
        for m in calibrated:
            calibrator = CalibratedClassifierCV(scorer, method=m).fit(scores, y[test_idx])
            members[m].append(_ScoreCalibrated(fold_model, calibrator))
    out.update({m: ProbabilityAverage.from_fitted(v) for m, v in members.items()})
    return out


@dataclass
class _Validation:
    """Validation predictions of one candidate, pooled over the CV repeats (``repeat``/``fold`` per entry)."""

    y: np.ndarray
    probs: dict[str, np.ndarray]  # calibration method -> probabilities, aligned with y
    repeat: np.ndarray
    fold: np.ndarray
    mode: str
    rows: int
    repeats: int
    fitted: dict[str, Any]  # holdout only: method -> pipeline fitted on the fit part


def _cv_repeats(n_rows: int, cv_repeats: int | None) -> int:
    if cv_repeats is None:
        return CV_REPEATS if n_rows < REPEAT_BELOW_ROWS else 1
    if cv_repeats < 1:
        raise ValueError(f"cv_repeats must be >= 1, got {cv_repeats}")
    return int(cv_repeats)


def _validation_predictions(
    train: pl.DataFrame,
    target: str,
    spec: FeatureSpec,
    base: Pipeline,
    methods: Sequence[str],
    *,
    mode: str,
    validation_size: float,
    seed: int,
    cv: int,
    repeats: int,
) -> _Validation:
    """Validation probabilities of ``base`` under each calibration method (step 1 of the protocol)."""
    all_methods = list(dict.fromkeys(("none", *methods)))
    if mode == "holdout":
        fit_part, val_part = stratified_split(train, target, test_size=validation_size, seed=seed)
        x_fit, y_fit = to_model_input(fit_part, spec), _labels(fit_part, target)
        x_val, y_val = to_model_input(val_part, spec), _labels(val_part, target)
        fitted = _fit_calibrations(base, all_methods, cv, x_fit, y_fit)
        probs = {m: est.predict_proba(x_val)[:, 1] for m, est in fitted.items()}
        fold = np.zeros(y_val.size, dtype=int)
        n_folds = min(THRESHOLD_FOLDS, int(np.bincount(y_val, minlength=2).min()))
        if n_folds >= 2:
            for k, (_, idx) in enumerate(
                StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(x_val, y_val)
            ):
                fold[idx] = k
        return _Validation(y_val, probs, np.zeros(y_val.size, dtype=int), fold, mode, y_val.size, 1, fitted)
    x, y = to_model_input(train, spec), _labels(train, target)
    pooled: dict[str, list[np.ndarray]] = {m: [] for m in all_methods}
    repeat_ids, fold_ids = [], []
    for r in range(repeats):
        splits = list(StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=seed + r).split(x, y))
        fold = np.zeros(y.size, dtype=int)
        for k, (_, idx) in enumerate(splits):
            fold[idx] = k
        oof = {m: np.zeros(y.size) for m in all_methods}
        for train_idx, test_idx in splits:
            fitted = _fit_calibrations(base, all_methods, cv, x.iloc[train_idx], y[train_idx])
            for m, est in fitted.items():
                oof[m][test_idx] = est.predict_proba(x.iloc[test_idx])[:, 1]
        for m in all_methods:
            pooled[m].append(oof[m])
        repeat_ids.append(np.full(y.size, r))
        fold_ids.append(fold)
    return _Validation(
        np.tile(y, repeats),
        {m: np.concatenate(v) for m, v in pooled.items()},
        np.concatenate(repeat_ids),
        np.concatenate(fold_ids),
        mode,
        y.size,
        repeats,
        {},
    )


def _rule_threshold(rule: str, y: np.ndarray, p: np.ndarray, vm: ValueMatrix) -> ThresholdChoice:
    if rule == "bayes":
        return threshold_choice_at(y, p, vm.bayes_threshold(), vm, "bayes")
    return choose_threshold(y, p, vm)


def _cross_validated_rule_values(val: _Validation, p: np.ndarray, rule: str, vm: ValueMatrix) -> np.ndarray:
    """Realised value of every validation entry (aligned with ``val.y``) when each validation fold is
    decided with the threshold that the rule picks on the other folds of the same repeat."""
    values = np.zeros(val.y.size)
    for r in np.unique(val.repeat):
        in_r = val.repeat == r
        for k in np.unique(val.fold[in_r]):
            here = in_r & (val.fold == k)
            rest = in_r & (val.fold != k)
            if not rest.any():  # a single fold (tiny hold-out): the rule is scored in-sample
                rest = here
            threshold = _rule_threshold(rule, val.y[rest], p[rest], vm).threshold
            values[here] = outcome_values(vm, val.y[here], (p[here] >= threshold).astype(int))
    return values


def _cross_validated_rule_value(val: _Validation, p: np.ndarray, rule: str, vm: ValueMatrix) -> float:
    """Value per record of a threshold rule, each validation fold decided with the threshold the rule picks
    on the other folds of the same repeat (mean over repeats)."""
    return float(_cross_validated_rule_values(val, p, rule, vm).sum() / val.y.size)


def _per_row(val: _Validation, values: np.ndarray) -> np.ndarray:
    """Per training row (cv) or validation row (hold-out): the mean of its entries over the repeats."""
    return values.reshape(val.repeats, val.rows).mean(axis=0)


def _decide(val: _Validation, p: np.ndarray, vm: ValueMatrix | None) -> tuple[ThresholdChoice, dict[str, Any]]:
    """Threshold on all validation predictions and, with a value matrix, the rule comparison (step 5)."""
    if vm is None:
        return choose_f1_threshold(val.y, p), {}
    cv_value = {rule: _cross_validated_rule_value(val, p, rule, vm) for rule in THRESHOLD_RULES}
    rule = max(THRESHOLD_RULES, key=lambda r: cv_value[r])  # ties: first rule ("bayes")
    choice = _rule_threshold(rule, val.y, p, vm)
    rules = {
        r: {"threshold": _rule_threshold(r, val.y, p, vm).threshold, "cv_value_per_record": cv_value[r]}
        for r in THRESHOLD_RULES
    }
    return choice, {"threshold_rule": rule, "threshold_rules": rules, "selection_value_per_record": cv_value[rule]}


def _candidate(
    val: _Validation,
    p: np.ndarray,
    briers: dict[str, float],
    value_matrix: ValueMatrix | None,
) -> tuple[ThresholdChoice, dict[str, Any]]:
    choice, rules = _decide(val, p, value_matrix)
    metrics = probability_metrics(val.y, p, choice.threshold)
    metrics.update(brier_by_calibration=briers, mode=val.mode, rows=val.rows, repeats=val.repeats, **rules)
    if value_matrix is not None:
        metrics["value"] = batch_value(value_matrix, p, (p >= choice.threshold).astype(int), val.y)
    return choice, metrics


def _validation_score(metrics: dict[str, Any], value_matrix: ValueMatrix | None) -> float:
    """The selection score of validation metrics (see :func:`selection_score`)."""
    if value_matrix is not None:
        return float(metrics["selection_value_per_record"])
    return float(metrics["roc_auc"] or 0.0)


def _calibrated_validation(
    train: pl.DataFrame,
    target: str,
    spec: FeatureSpec,
    base: Pipeline,
    methods: Sequence[str],
    **kwargs: Any,
) -> tuple[_Validation, str, dict[str, float]]:
    """Validation predictions of ``base`` and the calibration method with the lowest validation Brier."""
    val = _validation_predictions(train, target, spec, base, methods, **kwargs)
    briers = {m: float(brier_score_loss(val.y, p)) for m, p in val.probs.items()}
    return val, min(methods, key=lambda m: briers[m]), briers


def _pick_grid_point(scores: Sequence[float], per_row: Sequence[np.ndarray]) -> tuple[int, int, float, float]:
    """``(best, chosen, gain, standard_error)``: ``best`` has the highest score (ties: the earlier point);
    it is ``chosen`` only if its mean per-row gain over point 0 (the defaults) exceeds one standard error
    of the paired per-row difference, else point 0 is."""
    best = max(range(len(scores)), key=lambda i: scores[i])
    gain, se = paired_gain(per_row[best], per_row[0])
    return best, (best if gain > se else 0), gain, se


def paired_gain(candidate: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """Mean per-row gain of ``candidate`` over ``reference`` (values of the same rows) and its standard error."""
    diff = np.asarray(candidate, dtype=float) - np.asarray(reference, dtype=float)
    se = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else 0.0
    return float(diff.mean()), se


def validation_values(
    val: _Validation, p: np.ndarray, value_matrix: ValueMatrix, briers: dict[str, float] | None = None
) -> tuple[dict[str, Any], np.ndarray]:
    """A candidate's validation metrics (step 5, with its chosen threshold rule) and each training row's
    cross-validated value under that rule, averaged over the repeats (what grid points are compared on)."""
    _, metrics = _candidate(val, p, briers or {}, value_matrix)
    values = _cross_validated_rule_values(val, p, metrics["threshold_rule"], value_matrix)
    return metrics, _per_row(val, values)


def _tune(
    kind: str,
    grid: Sequence[Mapping[str, Any]],
    train: pl.DataFrame,
    target: str,
    spec: FeatureSpec,
    methods: Sequence[str],
    value_matrix: ValueMatrix,
    *,
    seed: int,
    **kwargs: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Step 0: every grid point goes through steps 1-5 on the *tuning* partitions of the training frame
    (seeds ``seed + TUNE_SEED_OFFSET + repeat``, not those of the final validation) and is scored by its
    cross-validated value per record. The best point replaces the first one (the defaults) only if it
    beats it by more than one standard error of their paired per-row difference (each row's value
    averaged over the repeats); otherwise the defaults are kept."""
    start = time.perf_counter()
    rows, per_row = [], []
    for params in grid:
        base = build_estimator(kind, spec, seed, n_rows=train.height, params=params)  # type: ignore[arg-type]
        val, chosen, briers = _calibrated_validation(
            train, target, spec, base, methods, seed=seed + TUNE_SEED_OFFSET, **kwargs
        )
        metrics, values = validation_values(val, val.probs[chosen], value_matrix, briers)
        rule = metrics["threshold_rule"]
        per_row.append(values)
        rows.append(
            {
                "params": dict(params),
                "cv_value_per_record": _validation_score(metrics, value_matrix),
                "calibration": chosen,
                "threshold_rule": rule,
                "roc_auc": metrics["roc_auc"],
                "brier": briers[chosen],
            }
        )
    best, chosen_point, gain, se = _pick_grid_point([r["cv_value_per_record"] for r in rows], per_row)
    report = {
        "criterion": "cross-validated value per record, tuning partitions",
        "rule": "defaults unless the best point beats them by more than one standard error",
        "seed": seed + TUNE_SEED_OFFSET,
        "best": best,
        "gain_over_defaults": gain,
        "standard_error": se,
        "chosen": chosen_point,
        "grid": rows,
        "seconds": round(time.perf_counter() - start, 2),
    }
    return dict(grid[chosen_point]), report


def _fit_candidates(
    train: pl.DataFrame,
    *,
    target: str,
    kinds: Sequence[str],
    spec: FeatureSpec | None = None,
    calibration: Calibration = "auto",
    value_matrix: ValueMatrix | None = None,
    validation: Literal["auto", "cv", "holdout"] = "auto",
    validation_size: float = 0.25,
    seed: int = 42,
    cv: int = 3,
    refit: bool = True,
    cv_repeats: int | None = None,
    tune: bool | Literal["auto"] = False,
    grids: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> dict[str, CreditModel]:
    """Tune, fit, calibrate and threshold every kind of ``kinds`` (the protocol of the module docstring);
    the blend reuses the hgb and logreg fits. The options are those of :func:`fit_credit_model`."""
    spec = spec or infer_features(train, target)
    y_train = _labels(train, target)
    _require_classes(y_train, target, MIN_CLASS_ROWS, "cross-validated calibration and thresholds")
    unknown = [k for k in kinds if k not in ("hgb", "logreg", BLEND)]
    if unknown or not kinds:
        raise ValueError(f"model kind must be 'hgb', 'logreg' or 'blend', got {list(kinds)!r}")
    if validation == "auto":
        validation = "cv" if train.height < CV_BELOW_ROWS else "holdout"
    if validation not in ("cv", "holdout"):
        raise ValueError(f"validation must be 'auto', 'cv' or 'holdout', got {validation!r}")
    repeats = _cv_repeats(train.height, cv_repeats) if validation == "cv" else 1
    if tune == "auto":
        tune = validation == "cv" and value_matrix is not None
    elif not isinstance(tune, bool):
        raise ValueError(f"tune must be 'auto', True or False, got {tune!r}")
    if tune and value_matrix is None:
        raise ValueError("tune=True scores the grids by cross-validated value: it needs a value_matrix")
    grids = TUNING_GRIDS if grids is None else grids
    for kind, grid in grids.items():
        if kind not in TUNING_GRIDS or not grid:
            raise ValueError(f"grids: expected non-empty grids for 'hgb' / 'logreg', got {kind!r}: {grid!r}")
    refit = refit or validation == "cv"
    methods = ("sigmoid", "isotonic") if calibration == "auto" else (calibration,)
    base_kinds = list(
        dict.fromkeys([*(k for k in kinds if k != BLEND), *(("hgb", "logreg") if BLEND in kinds else ())])
    )
    x_train = to_model_input(train, spec) if refit else None
    found: dict[str, tuple[Any, str, _Validation, np.ndarray, dict[str, float]]] = {}
    tuned: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {}
    shared = {"mode": validation, "validation_size": validation_size, "cv": cv, "repeats": repeats}
    for kind in base_kinds:
        grid = grids.get(kind, ({},))
        if tune and len(grid) > 1 and value_matrix is not None:
            tuned[kind] = _tune(kind, grid, train, target, spec, methods, value_matrix, seed=seed, **shared)
        else:
            tuned[kind] = (dict(grid[0]) if tune else {}, None)  # a one-point grid is applied as is
        base = build_estimator(kind, spec, seed, n_rows=train.height, params=tuned[kind][0])  # type: ignore[arg-type]
        val, chosen, briers = _calibrated_validation(train, target, spec, base, methods, seed=seed, **shared)
        est = _calibrated(base, chosen, cv).fit(x_train, y_train) if refit else val.fitted[chosen]
        found[kind] = (est, chosen, val, val.probs[chosen], briers)
    if BLEND in kinds:
        (h_est, h_cal, val, h_p, _), (l_est, l_cal, _, l_p, _) = found["hgb"], found["logreg"]
        p = (h_p + l_p) / 2
        found[BLEND] = (
            ProbabilityAverage.from_fitted([h_est, l_est]),
            f"hgb:{h_cal}+logreg:{l_cal}",
            val,
            p,
            {"mean": float(brier_score_loss(val.y, p))},
        )
        tuned[BLEND] = ({"hgb": tuned["hgb"][0], "logreg": tuned["logreg"][0]}, None)
    known = {
        c: frozenset(train.get_column(c).cast(pl.String).drop_nulls().unique().to_list()) for c in spec.categorical
    }
    models: dict[str, CreditModel] = {}
    for kind in kinds:
        est, cal, val, p, briers = found[kind]
        choice, metrics = _candidate(val, p, briers, value_matrix)
        metrics["params"], metrics["tuning"] = tuned[kind]
        models[kind] = CreditModel(
            pipeline=est,
            kind=kind,
            spec=spec,
            target=target,
            threshold=choice.threshold,
            calibration=cal,
            known_categories=known,
            value_matrix=value_matrix,
            threshold_choice=choice.to_dict(),
            validation=metrics,
            n_train=train.height,
            positive_rate=float(y_train.mean()),
            seed=seed,
        )
    return models


def fit_credit_model(train: pl.DataFrame, *, target: str, kind: ModelKind = "hgb", **options: Any) -> CreditModel:
    """Fit, calibrate and threshold one model kind on ``train`` (protocol in the module docstring).

    ``options`` (defaults in :func:`_fit_candidates`): ``spec``, ``calibration`` ("auto" | "sigmoid" |
    "isotonic" | "none"), ``value_matrix``, ``validation`` ("auto" | "cv" | "holdout"), ``validation_size``,
    ``seed``, ``cv`` (calibration folds), ``refit``, ``cv_repeats``, ``tune`` (False | "auto" | True) and
    ``grids`` (``{"hgb": [params, ...], "logreg": [...]}``, first point = reference; default
    :data:`TUNING_GRIDS`).
    """
    with _thread_limit(train.height):
        return _fit_candidates(train, target=target, kinds=(kind,), **options)[kind]


def selection_score(model: CreditModel) -> float:
    """Validation score used to pick between kinds: the cross-validated value per record of the chosen
    threshold rule with a value matrix, else the validation ROC-AUC."""
    return _validation_score(model.validation, model.value_matrix)


def fit_and_select(
    train: pl.DataFrame,
    *,
    target: str,
    kinds: Sequence[ModelKind] = ("hgb", "logreg", "blend"),
    **kwargs: Any,
) -> tuple[CreditModel, dict[str, CreditModel]]:
    """Fit every kind (the blend reuses the hgb and logreg fits); the chosen one has the best validation
    :func:`selection_score` (ties: first kind)."""
    with _thread_limit(train.height):
        models = _fit_candidates(train, target=target, kinds=list(kinds), **kwargs)
    best = max(models.values(), key=selection_score)
    return best, models


def _thread_limit(n_rows: int) -> contextlib.AbstractContextManager[Any]:
    """One OpenMP thread for the gradient boosting below :data:`SINGLE_THREAD_BELOW_ROWS` rows (same results)."""
    if n_rows < SINGLE_THREAD_BELOW_ROWS:
        return threadpool_limits(limits=1, user_api="openmp")
    return contextlib.nullcontext()


def evaluate_model(model: CreditModel, frame: pl.DataFrame, probability: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics of ``model`` on a labelled frame at its own threshold (+ value with its value matrix);
    ``probability``: the model's predictions for ``frame`` when the caller already has them."""
    y = _labels(frame, model.target)
    p = model.predict_proba(frame) if probability is None else np.asarray(probability, dtype=float)
    out = probability_metrics(y, p, model.threshold)
    if model.value_matrix is not None:
        out["value"] = batch_value(model.value_matrix, p, (p >= model.threshold).astype(int), y)
    return out


def unseen_categories(model: CreditModel, frame: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Per categorical column, the values not seen in training and their counts (nulls are not unseen)."""
    out: dict[str, dict[str, int]] = {}
    for c, known in model.known_categories.items():
        if c not in frame.columns:
            continue
        s = frame.get_column(c).cast(pl.String).drop_nulls()
        new = s.filter(~s.is_in(list(known)))
        if new.len():
            counts = new.value_counts(sort=True)
            out[c] = dict(zip(counts.get_column(c).to_list(), counts.get_column("count").to_list(), strict=True))
    return out


def predict_batch(model: CreditModel, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` plus ``probability`` (calibrated), ``decision`` (Int8, 1 = flagged at the model threshold),
    ``unseen_categories`` (per row, how many categorical cells hold a value unseen in training) and,
    with a value matrix, ``expected_value`` of the decision."""
    p = model.predict_proba(frame)
    decision = (p >= model.threshold).astype(np.int8)
    unseen = np.zeros(frame.height, dtype=np.int32)
    for c, known in model.known_categories.items():
        s = frame.get_column(c).cast(pl.String)
        unseen += (s.is_not_null() & ~s.is_in(list(known))).to_numpy().astype(np.int32)
    cols = [
        pl.Series("probability", p, dtype=pl.Float64),
        pl.Series("decision", decision, dtype=pl.Int8),
        pl.Series("unseen_categories", unseen, dtype=pl.Int32),
    ]
    if model.value_matrix is not None:
        from vigia.tabular.value import expected_values

        cols.append(pl.Series("expected_value", expected_values(model.value_matrix, p, decision), dtype=pl.Float64))
    return frame.with_columns(cols)


def save_model(model: CreditModel, path: str | Path) -> str:
    """Persist the model (pipeline + threshold + metadata) with joblib; returns the SHA-256."""
    return save_bundle(model, path)


def load_model(path: str | Path, sha256: str) -> CreditModel:
    """Load a model saved by :func:`save_model` after checking its SHA-256."""
    model = load_bundle(path, sha256)
    if not isinstance(model, CreditModel):
        raise TypeError(f"{path} holds a {type(model).__name__}, not a CreditModel")
    return model


def calibration_plot(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path, *, n_bins: int = 10, title: str = "Calibration"
) -> str:
    """Reliability diagram (``{name: (y_true, probability)}``) with the Brier score in the legend; PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8, label="perfect")
    for name, (y, p) in curves.items():
        y, p = np.asarray(y).astype(int), np.asarray(p, dtype=float)
        prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
        ax.plot(prob_pred, prob_true, marker="o", label=f"{name} (Brier {brier_score_loss(y, p):.3f})")
    ax.set(xlabel="Mean predicted probability", ylabel="Observed positive rate", xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
    return str(path)


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start
