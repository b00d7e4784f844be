"""Feature preprocessing fitted on normal training rows only.

Pipeline per column: optional signed ``log1p`` (``sign(x) * log1p(|x|)``) for heavy-tailed
non-negative features, NaN/inf imputation with the fitted median, then a scikit-learn
``StandardScaler`` (or ``RobustScaler``), then clipping to ``±clip``.

The statistics come from rows labelled normal (``y == 0``) only, so attack traffic in the
training period cannot inflate the mean / scale and hide itself. Unknown labels (NaN /
None) are neither normal nor malicious; only when no row is labelled normal are all rows
used. Constant columns get scale 1 (no division by zero) and clipping keeps an unseen
extreme value from producing ``inf``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from sklearn.preprocessing import RobustScaler, StandardScaler

LogColumns = Literal["auto"] | Sequence[int | str] | None


def signed_log1p(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``sign(x) * log1p(|x|)``: compresses heavy tails, keeps sign and order (into ``out`` when given)."""
    return np.copysign(np.log1p(np.abs(x)), x, out=out)


def normal_row_mask(y: np.ndarray | Sequence | None, n: int) -> np.ndarray:
    """Rows labelled normal (``y == 0``); all rows when no row is labelled normal."""
    if y is None:
        return np.ones(n, dtype=bool)
    labels = np.asarray(y, dtype=float)  # None -> NaN
    if labels.shape != (n,):
        raise ValueError(f"y has shape {labels.shape}, expected ({n},)")
    mask = labels == 0
    return mask if mask.any() else np.ones(n, dtype=bool)


def _heavy_tailed(col: np.ndarray, skew_threshold: float) -> bool:
    """Non-negative, non-binary column with sample skewness above ``skew_threshold``."""
    col = col[np.isfinite(col)]
    if len(col) < 3:
        return False
    lo, hi = col.min(), col.max()
    if lo < 0 or ((col == lo) | (col == hi)).all():  # at most two distinct values: binary (or constant)
        return False
    z = col - col.mean()
    zz = z * z
    var = float(zz.mean())
    if var == 0:
        return False
    skew = float((zz * z).mean()) / var**1.5
    return skew > skew_threshold


def _finite_medians(Z: np.ndarray) -> np.ndarray:
    """Median of the finite values of each column (NaN for a column without any)."""
    finite = np.isfinite(Z)
    if finite.all():
        return np.median(Z, axis=0)
    return np.array(
        [np.median(Z[finite[:, j], j]) if finite[:, j].any() else np.nan for j in range(Z.shape[1])]
    )


class FeaturePreprocessor:
    """Signed log1p + scaler + clip, fitted on normal training rows.

    ``log_columns``: ``"auto"`` (non-negative columns with skewness > ``skew_threshold`` on the
    fitting rows), an explicit list of column indices / names, or ``None`` (no log transform).
    ``scaler``: ``"standard"`` or ``"robust"``.
    """

    def __init__(
        self,
        log_columns: LogColumns = "auto",
        scaler: Literal["standard", "robust"] = "standard",
        clip: float = 50.0,
        feature_names: Sequence[str] | None = None,
        skew_threshold: float = 1.0,
    ) -> None:
        if scaler not in ("standard", "robust"):
            raise ValueError(f"scaler must be 'standard' or 'robust', got {scaler!r}")
        if clip <= 0:
            raise ValueError(f"clip must be positive, got {clip}")
        self.log_columns = log_columns
        self.scaler = scaler
        self.clip = clip
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.skew_threshold = skew_threshold

    def _resolve_log_mask(self, X: np.ndarray) -> np.ndarray:
        d = X.shape[1]
        if self.log_columns is None:
            return np.zeros(d, dtype=bool)
        if isinstance(self.log_columns, str):
            if self.log_columns != "auto":
                raise ValueError(f"log_columns must be 'auto', None or a list, got {self.log_columns!r}")
            return np.array([_heavy_tailed(X[:, j], self.skew_threshold) for j in range(d)], dtype=bool)
        mask = np.zeros(d, dtype=bool)
        for c in self.log_columns:
            if isinstance(c, str):
                if self.feature_names is None or c not in self.feature_names:
                    raise ValueError(f"log column {c!r} not in feature_names")
                mask[self.feature_names.index(c)] = True
            else:
                mask[int(c)] = True
        return mask

    def fit(self, X_train: np.ndarray, y_train: np.ndarray | Sequence | None = None) -> FeaturePreprocessor:
        """Fit on the rows of ``X_train`` labelled normal (all rows if none are)."""
        X = np.asarray(X_train, dtype=float)
        if X.ndim != 2 or len(X) == 0:
            raise ValueError(f"X_train must be a non-empty 2-D array, got shape {X.shape}")
        if self.feature_names is not None and len(self.feature_names) != X.shape[1]:
            raise ValueError(f"{len(self.feature_names)} feature_names for {X.shape[1]} columns")
        mask = normal_row_mask(y_train, len(X))
        Xn = np.asfortranarray(X[mask])  # column-contiguous: the statistics below run per column
        self.n_features_in_ = X.shape[1]
        self.n_fit_rows_ = int(mask.sum())
        self.fit_on_ = "normal" if y_train is not None and (np.asarray(y_train, dtype=float) == 0).any() else "all"
        self.log_mask_ = self._resolve_log_mask(Xn)
        Z = self._log(Xn, copy=False)  # Xn is already a private copy
        med = _finite_medians(Z)
        self.fill_values_ = np.where(np.isfinite(med), med, 0.0)
        Z = self._impute(Z)
        self.scaler_ = (StandardScaler() if self.scaler == "standard" else RobustScaler()).fit(Z)
        return self

    def _log(self, X: np.ndarray, copy: bool = True) -> np.ndarray:
        Z = X.copy() if copy else X
        for j in np.flatnonzero(self.log_mask_):  # in place, column by column
            signed_log1p(Z[:, j], out=Z[:, j])
        return Z

    def _impute(self, Z: np.ndarray) -> np.ndarray:
        bad = ~np.isfinite(Z)
        if bad.any():
            Z = np.where(bad, self.fill_values_[None, :], Z)
        return Z

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Scaled, clipped float64 matrix (never NaN / inf)."""
        if not hasattr(self, "scaler_"):
            raise RuntimeError("FeaturePreprocessor.transform called before fit")
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"expected a 2-D array with {self.n_features_in_} columns, got shape {X.shape}")
        with np.errstate(over="ignore", invalid="ignore"):
            Z = self.scaler_.transform(self._impute(self._log(X)))
        Z = np.nan_to_num(Z, nan=0.0, posinf=self.clip, neginf=-self.clip)
        return np.clip(Z, -self.clip, self.clip, out=Z)

    def fit_transform(self, X_train: np.ndarray, y_train: np.ndarray | Sequence | None = None) -> np.ndarray:
        return self.fit(X_train, y_train).transform(X_train)

    @property
    def log_feature_names(self) -> list[str | int]:
        """Columns that received the signed log1p (names when known, else indices)."""
        idx = np.flatnonzero(self.log_mask_)
        return [self.feature_names[i] for i in idx] if self.feature_names else [int(i) for i in idx]
