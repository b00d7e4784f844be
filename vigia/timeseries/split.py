"""Temporal train / validation / test split of a regular series, and a scaler fitted on normal rows only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.preprocessing import StandardScaler

from vigia.config import SplitConfig
from vigia.models.preprocess import normal_row_mask
from vigia.models.split import Fractions, SplitIndices, split_boundaries, temporal_split

__all__ = ["SeriesSplit", "fit_scaler_on_normal", "temporal_split_series"]


@dataclass(frozen=True)
class SeriesSplit:
    """Three contiguous periods (each sorted by time) plus the row indices and boundaries behind them."""

    train: pl.DataFrame
    validation: pl.DataFrame
    test: pl.DataFrame
    indices: SplitIndices
    boundaries: dict[str, object]

    def parts(self) -> dict[str, pl.DataFrame]:
        return {"train": self.train, "validation": self.validation, "test": self.test}

    def sizes(self) -> dict[str, int]:
        return {name: part.height for name, part in self.parts().items()}


def temporal_split_series(
    frame: pl.DataFrame, fractions: Fractions | SplitConfig = (0.6, 0.2, 0.2), *, time_column: str = "ts"
) -> SeriesSplit:
    """Cut ``frame`` by time into contiguous train / validation / test periods (``vigia.models.split.temporal_split``).

    No shuffling and no period mixing: ``max(train.ts) < min(validation.ts)`` and ``max(validation.ts) <
    min(test.ts)``. A segment that straddles a cut is simply cut too (window each part per segment).
    """
    times = frame[time_column].to_numpy()
    idx = temporal_split(times, fractions)
    parts = [frame[np.asarray(i, dtype=np.int64)] for i in (idx.train, idx.validation, idx.test)]
    return SeriesSplit(*parts, indices=idx, boundaries=split_boundaries(times, idx))


def fit_scaler_on_normal(train_values: np.ndarray, train_labels: np.ndarray | Sequence | None = None) -> StandardScaler:
    """A ``StandardScaler`` fitted on the rows labelled normal (``0``) only.

    Unknown labels (null / NaN) are not normal; when no row is labelled normal (or ``train_labels`` is
    None) every row is used. The input must be NaN-free (``regularize`` guarantees it): NaN or inf raise
    ``ValueError`` rather than reaching a model. Zero-variance columns get scale 1.
    """
    x = np.asarray(train_values, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"train_values must be a non-empty (n, f) array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"train_values hold {int((~np.isfinite(x)).sum())} NaN / inf value(s); regularize first")
    labels = (
        None
        if train_labels is None
        else np.array([np.nan if v is None else v for v in np.asarray(train_labels, dtype=object)], dtype=float)
    )
    mask = normal_row_mask(labels, len(x))
    return StandardScaler().fit(x[mask])
