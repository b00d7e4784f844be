"""Sliding windows taken within segments of a regular series, so no window spans a gap."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from vigia.timeseries.windows import sliding_windows, window_labels, window_starts

__all__ = ["segment_bounds", "segment_windows"]


def segment_bounds(segments: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` row ranges of each run of equal segment ids (rows ordered by time)."""
    s = np.asarray(segments)
    if s.size == 0:
        return []
    cuts = np.flatnonzero(s[1:] != s[:-1]) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(s)]])
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def segment_windows(
    values: np.ndarray,
    segments: np.ndarray,
    size: int,
    step: int,
    labels: np.ndarray | None = None,
    dtype: DTypeLike = np.float32,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Windows ``(m, size, f)`` (``dtype``) of each segment, their labels (any positive sample) and start rows.

    Segments shorter than ``size`` give no window. ``values`` must be NaN-free.
    """
    x = np.asarray(values)
    if x.ndim == 1:
        x = x[:, None]
    if np.isnan(x).any():
        raise ValueError("segment_windows: values hold NaN; regularize the series first")
    xs, ys, starts = [], [], []
    for a, b in segment_bounds(segments):
        xs.append(sliding_windows(x[a:b], size, step, dtype))
        starts.append(window_starts(b - a, size, step) + a)
        if labels is not None:
            ys.append(window_labels(np.asarray(labels)[a:b], size, step))
    if not xs:
        return (
            np.empty((0, size, x.shape[1]), dtype),
            None if labels is None else np.empty(0, np.int8),
            np.empty(0, np.int64),
        )
    return (
        np.concatenate(xs),
        None if labels is None else np.concatenate(ys),
        np.concatenate(starts).astype(np.int64),
    )
