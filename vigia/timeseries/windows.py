"""Sliding windows over multivariate series, window labels, and point scores from window scores."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import DTypeLike


def window_starts(n: int, size: int, step: int) -> np.ndarray:
    """Start indices of the windows ``[s, s + size)`` that fit in ``n`` samples."""
    if size < 1 or step < 1:
        raise ValueError(f"window size and step must be positive, got size={size}, step={step}")
    if n < size:
        return np.empty(0, dtype=np.int64)
    return np.arange(0, n - size + 1, step, dtype=np.int64)


def sliding_windows(values: np.ndarray, size: int, step: int, dtype: DTypeLike = np.float32) -> np.ndarray:
    """``(n, f)`` samples -> ``(m, size, f)`` windows (a C-contiguous copy; float32 by default, for Keras)."""
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    starts = window_starts(len(values), size, step)
    if starts.size == 0:
        return np.empty((0, size, values.shape[1]), dtype=dtype)
    view = sliding_window_view(values, size, axis=0)  # (n - size + 1, f, size)
    return np.ascontiguousarray(view[starts].transpose(0, 2, 1), dtype=dtype)


def window_labels(labels: np.ndarray, size: int, step: int) -> np.ndarray:
    """A window is positive if any of its samples is (``labels`` 0/1 per sample)."""
    labels = np.asarray(labels, dtype=np.int8)
    starts = window_starts(len(labels), size, step)
    if starts.size == 0:
        return np.empty(0, dtype=np.int8)
    csum = np.concatenate([[0], np.cumsum(labels, dtype=np.int64)])
    return ((csum[starts + size] - csum[starts]) > 0).astype(np.int8)


def known_window_labels(labels: np.ndarray, starts: np.ndarray, size: int) -> np.ndarray:
    """Labels of the windows ``[s, s + size)`` from per-sample labels 0 / 1 / NaN (unknown), as floats:
    1 if any sample is 1, else NaN if any sample is unknown, else 0."""
    lab = np.asarray(labels, dtype=np.float64)
    starts = np.asarray(starts, dtype=np.int64)
    unknown = np.isnan(lab)

    def count(mask: np.ndarray) -> np.ndarray:
        csum = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
        return csum[starts + size] - csum[starts]

    positive = count(~unknown & (lab > 0)) > 0
    return np.where(positive, 1.0, np.where(count(unknown) > 0, np.nan, 0.0))


def point_scores(window_scores: np.ndarray, n: int, size: int, step: int, how: str = "max") -> np.ndarray:
    """Spread window scores back to samples: each sample gets the max (or mean) over windows covering it.

    Samples covered by no window (only possible when ``step > 1`` at the series end) get NaN.
    """
    starts = window_starts(n, size, step)
    if len(window_scores) != len(starts):
        raise ValueError(f"{len(window_scores)} window scores for {len(starts)} windows")
    out = np.full(n, -np.inf if how == "max" else 0.0)
    counts = np.zeros(n)
    for offset in range(size):
        idx = starts + offset
        if how == "max":
            np.maximum.at(out, idx, window_scores)
        else:
            np.add.at(out, idx, window_scores)
        np.add.at(counts, idx, 1)
    if how == "mean":
        out = np.divide(out, counts, out=np.full(n, np.nan), where=counts > 0)
    out[counts == 0] = np.nan
    return out
