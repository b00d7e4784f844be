"""Supervised tabular model: preprocessing, gradient boosting + logistic baseline, calibration, threshold.

Protocol of :func:`fit_credit_model` (everything below sees only the training frame it is given):

1. Validation predictions, on the training frame only: ``validation="holdout"`` splits it (stratified,
   ``seed``) into a *fit* part and a *validation* part (``validation_size``, default 25 %);
   ``validation="cv"`` uses out-of-fold predictions of a stratified 5-fold cross-validation over the
   whole training frame (every training row is a validation row once: steadier on small tables);
   ``"auto"`` (default) = ``cv`` below 5,000 training rows, else ``holdout``.
2. Preprocessing is a ``ColumnTransformer``: numeric → median imputation (+ ``StandardScaler`` for
   the logistic regression only; trees need no scaling); categorical → most-frequent imputation +
   ``OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=...)`` (unseen categories at
   predict time map to the infrequent bucket when one exists, else to all zeros).
3. Model: ``HistGradientBoostingClassifier`` (``kind="hgb"``) or ``LogisticRegression``
   (``kind="logreg"``), both with ``class_weight="balanced"`` for the class imbalance.
4. Calibration: ``CalibratedClassifierCV(cv=3)`` with ``sigmoid`` and with ``isotonic``; the method
   with the lower **validation Brier score** is kept (the uncalibrated Brier is reported beside them).
5. Decision threshold, on the validation predictions: the one maximising the value of a
   :class:`~vigia.tabular.value.ValueMatrix` when given, else the one maximising F1.
6. ``refit=True`` (default; always with ``cv``): the chosen calibrated pipeline is refitted on the
   whole training frame with the same method; the threshold is kept (it is expressed on calibrated
   probabilities, so it carries over).

The fitted :class:`CreditModel` is what gets persisted (``save_model`` → joblib + SHA-256 through
``vigia.models.bundle``); versioning is the caller's job.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import polars as pl
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from vigia.models.bundle import load_bundle, save_bundle
from vigia.tabular.value import (
    ThresholdChoice,
    ValueMatrix,
    batch_value,
    choose_f1_threshold,
    choose_threshold,
    confusion,
)

ModelKind = Literal["hgb", "logreg"]
Calibration = Literal["auto", "sigmoid", "isotonic", "none"]
NON_FEATURE_COLUMNS = frozenset({"source_file", "__line_number"})
CV_BELOW_ROWS = 5000
CV_FOLDS = 5


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
    """pandas input for the pipeline: numeric → float64 (null → NaN), categorical → object (null → NaN)."""
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise ValueError(f"model input columns missing from the frame: {missing}")
    exprs = [pl.col(c).cast(pl.Float64) for c in spec.numeric] + [pl.col(c).cast(pl.String) for c in spec.categorical]
    pdf = frame.select(exprs).to_pandas()
    for c in spec.categorical:
        pdf[c] = pdf[c].astype(object).where(pdf[c].notna(), np.nan)
    return pdf


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


def build_estimator(kind: ModelKind, spec: FeatureSpec, seed: int = 42, n_rows: int = 10_000) -> Pipeline:
    """Uncalibrated pipeline (preprocessing + classifier), class-weighted for the imbalance.

    Gradient boosting: depth-4 trees, learning rate 0.05, early stopping on an internal 15 % split,
    ``min_samples_leaf`` = ``n_rows // 100`` clipped to [20, 100] (settings compared on the Taiwan
    validation split, inside the train part).
    """
    if kind == "hgb":
        clf = HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=400,
            max_depth=4,
            min_samples_leaf=int(np.clip(n_rows // 100, 20, 100)),
            l2_regularization=1.0,
            early_stopping=True,
            validation_fraction=0.15,
            n_iter_no_change=30,
            class_weight="balanced",
            random_state=seed,
        )
        return Pipeline([("prep", build_preprocessor(spec, scale=False)), ("model", clf)])
    if kind == "logreg":
        clf = LogisticRegression(C=0.5, class_weight="balanced", max_iter=5000)
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


def _labels(frame: pl.DataFrame, target: str) -> np.ndarray:
    y = frame.get_column(target)
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


def _calibrated(base: Pipeline, method: str, cv: int) -> Any:
    if method == "none":
        return clone(base)
    return CalibratedClassifierCV(clone(base), method=method, cv=cv)


def fit_credit_model(
    train: pl.DataFrame,
    *,
    target: str,
    spec: FeatureSpec | None = None,
    kind: ModelKind = "hgb",
    calibration: Calibration = "auto",
    value_matrix: ValueMatrix | None = None,
    validation: Literal["auto", "cv", "holdout"] = "auto",
    validation_size: float = 0.25,
    seed: int = 42,
    cv: int = 3,
    refit: bool = True,
) -> CreditModel:
    """Fit, calibrate and threshold one model kind on ``train`` (protocol in the module docstring)."""
    spec = spec or infer_features(train, target)
    _labels(train, target)
    if validation == "auto":
        validation = "cv" if train.height < CV_BELOW_ROWS else "holdout"
    if validation not in ("cv", "holdout"):
        raise ValueError(f"validation must be 'auto', 'cv' or 'holdout', got {validation!r}")
    base = build_estimator(kind, spec, seed, n_rows=train.height)
    methods = ("sigmoid", "isotonic") if calibration == "auto" else (calibration,)
    briers: dict[str, float] = {}
    fitted: dict[str, tuple[Any, np.ndarray]] = {}
    if validation == "holdout":
        fit_part, val_part = stratified_split(train, target, test_size=validation_size, seed=seed)
        x_fit, y_fit = to_model_input(fit_part, spec), _labels(fit_part, target)
        x_val, y_val = to_model_input(val_part, spec), _labels(val_part, target)
    else:
        x_fit, y_fit = to_model_input(train, spec), _labels(train, target)
        x_val, y_val = x_fit, y_fit
        folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=seed)
    for method in dict.fromkeys(("none", *methods)):
        if validation == "holdout":
            est = _calibrated(base, method, cv).fit(x_fit, y_fit)
            p = est.predict_proba(x_val)[:, 1]
        else:
            est = None
            p = cross_val_predict(_calibrated(base, method, cv), x_fit, y_fit, cv=folds, method="predict_proba")[:, 1]
        briers[method] = float(brier_score_loss(y_val, p))
        fitted[method] = (est, p)
    chosen = min(methods, key=lambda m: briers[m])
    est, p_val = fitted[chosen]
    if est is None:
        refit = True
    choice: ThresholdChoice = (
        choose_threshold(y_val, p_val, value_matrix) if value_matrix else choose_f1_threshold(y_val, p_val)
    )
    val_metrics = probability_metrics(y_val, p_val, choice.threshold)
    val_metrics["brier_by_calibration"] = briers
    val_metrics["mode"] = validation
    if value_matrix is not None:
        val_metrics["value"] = batch_value(value_matrix, p_val, (p_val >= choice.threshold).astype(int), y_val)
    if refit:
        est = _calibrated(base, chosen, cv).fit(to_model_input(train, spec), _labels(train, target))
    known = {
        c: frozenset(train.get_column(c).cast(pl.String).drop_nulls().unique().to_list()) for c in spec.categorical
    }
    return CreditModel(
        pipeline=est,
        kind=kind,
        spec=spec,
        target=target,
        threshold=choice.threshold,
        calibration=chosen,
        known_categories=known,
        value_matrix=value_matrix,
        threshold_choice=choice.to_dict(),
        validation=val_metrics,
        n_train=train.height,
        positive_rate=float(_labels(train, target).mean()),
        seed=seed,
    )


def selection_score(model: CreditModel) -> float:
    """Validation score used to pick between kinds: value per record with a value matrix, else ROC-AUC."""
    v = model.validation
    if model.value_matrix is not None:
        return float(v["value"]["realised_value_per_record"])
    return float(v["roc_auc"] or 0.0)


def fit_and_select(
    train: pl.DataFrame, *, target: str, kinds: Sequence[ModelKind] = ("hgb", "logreg"), **kwargs: Any
) -> tuple[CreditModel, dict[str, CreditModel]]:
    """Fit every kind; the chosen one has the best validation :func:`selection_score` (ties: first kind)."""
    models = {k: fit_credit_model(train, target=target, kind=k, **kwargs) for k in kinds}
    best = max(models.values(), key=selection_score)
    return best, models


def evaluate_model(model: CreditModel, frame: pl.DataFrame) -> dict[str, Any]:
    """Metrics of ``model`` on a labelled frame at its own threshold (+ value with its value matrix)."""
    y = _labels(frame, model.target)
    p = model.predict_proba(frame)
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
