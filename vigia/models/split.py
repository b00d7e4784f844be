"""Temporal train / validation / test split.

Rows are ordered by time (stable sort) and cut by row count into three contiguous
periods. Rows sharing a timestamp never straddle a cut: a cut that falls inside a run of
equal timestamps moves forward to the next distinct time (or back, when moving forward
would leave a later part empty). There is no shuffling, so no future row can leak into
an earlier part: ``max(train) < min(validation)`` and ``max(validation) < min(test)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vigia.config import SplitConfig

Fractions = tuple[float, float, float]


@dataclass(frozen=True)
class SplitIndices:
    """Integer row indices (into the original, unsorted array) of each part, in time order."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}

    def parts(self) -> dict[str, np.ndarray]:
        return {"train": self.train, "validation": self.validation, "test": self.test}


def _fractions(fractions: Fractions | SplitConfig) -> Fractions:
    if isinstance(fractions, SplitConfig):
        return (fractions.train, fractions.validation, fractions.test)
    f = tuple(float(x) for x in fractions)
    if len(f) != 3 or min(f) <= 0 or abs(sum(f) - 1.0) > 1e-6:
        raise ValueError(f"split fractions must be three positive numbers summing to 1, got {fractions}")
    return f  # type: ignore[return-value]


def _sortable(times: np.ndarray) -> np.ndarray:
    t = np.asarray(times)
    if t.ndim != 1:
        raise ValueError(f"times must be one-dimensional, got shape {t.shape}")
    if np.issubdtype(t.dtype, np.datetime64) or np.issubdtype(t.dtype, np.timedelta64):
        if np.isnat(t).any():
            raise ValueError("times contain NaT; drop or impute missing timestamps before splitting")
    elif np.issubdtype(t.dtype, np.number) and np.isnan(t.astype(float)).any():
        raise ValueError("times contain NaN; drop or impute missing timestamps before splitting")
    return t


def temporal_split(times: np.ndarray, fractions: Fractions | SplitConfig = (0.6, 0.2, 0.2)) -> SplitIndices:
    """Split rows into contiguous train / validation / test periods by time.

    Each part is non-empty; raises ``ValueError`` when that is impossible (fewer than 3 rows,
    or fewer than 3 distinct timestamps).
    """
    f = _fractions(fractions)
    t = _sortable(times)
    n = len(t)
    if n < 3:
        raise ValueError(f"temporal_split needs at least 3 rows to make three non-empty parts, got {n}")
    order = np.argsort(t, kind="stable")
    ts = t[order]
    # Valid cut positions: i such that ts[i] != ts[i - 1] (the cut lies between distinct times).
    cuts = np.flatnonzero(ts[1:] != ts[:-1]) + 1
    if len(cuts) < 2:
        raise ValueError(
            f"temporal_split needs at least 3 distinct timestamps to make three non-empty parts, got {len(cuts) + 1}"
        )
    target1 = max(1, round(n * f[0]))
    target2 = max(target1 + 1, round(n * (f[0] + f[1])))
    i1 = min(int(np.searchsorted(cuts, target1, side="left")), len(cuts) - 2)
    c1 = int(cuts[i1])
    i2 = int(np.searchsorted(cuts, max(target2, c1 + 1), side="left"))
    i2 = min(max(i2, i1 + 1), len(cuts) - 1)
    c2 = int(cuts[i2])
    return SplitIndices(train=order[:c1], validation=order[c1:c2], test=order[c2:])


def _to_builtin(value: Any) -> Any:
    if isinstance(value, np.datetime64):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def split_boundaries(times: np.ndarray, split: SplitIndices) -> dict[str, Any]:
    """First / last time of each part plus the times at the two cuts (JSON-friendly values)."""
    t = np.asarray(times)
    out: dict[str, Any] = {}
    for name, idx in split.parts().items():
        part = t[idx]
        out[name] = {
            "start": _to_builtin(part.min()) if len(part) else None,
            "end": _to_builtin(part.max()) if len(part) else None,
            "rows": len(part),
        }
    out["cuts"] = [out["validation"]["start"], out["test"]["start"]]
    return out
