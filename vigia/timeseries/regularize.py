"""Put an irregular sensor series on a fixed time grid, in gap-free segments, with no NaN left.

Steps (all vectorised numpy / polars):

1. drop rows without a timestamp; count rows out of order (``ts`` earlier than the previous row's),
   sort by time (stable) and count duplicate timestamps;
2. bin onto the grid ``floor(ts / freq)`` (epoch aligned): values are the mean of the raw samples in
   the bin (NaN / null ignored), the label is 1 if any raw sample in the bin is positive;
3. a run of up to ``max_gap`` missing grid steps is filled in; a longer run is left out and starts a
   new segment (``gaps_split``);
4. per column, runs of up to ``max_gap`` missing values with a known value on both sides in the same
   segment are linearly interpolated (never extrapolated); inserted rows take the label of their
   neighbouring bins (positive if either is: an event keeps no hole; null if neither is positive and one
   is unknown); a bin whose raw labels are all null keeps a null label (unknown: neither normal nor anomalous);
5. constant columns (zero variance, or no value at all, over the leading ``constant_fraction`` of the
   grid, i.e. the training part of the default temporal split) are reported and dropped;
6. rows still holding a NaN in a kept column are dropped (``dropped_nan_rows``) and segments are cut
   there too, so consecutive rows of a segment are always exactly one step apart.

The output frame (``ts``, ``segment``, kept value columns, ``label``) never holds NaN or null values in
``ts``, ``segment`` or the value columns (``label`` is null where unknown): windows taken within a segment
never span a gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

__all__ = ["RegularizeResult", "constant_columns", "regularize"]


@dataclass
class RegularizeResult:
    """The regular frame, the model feature columns and the counts for run metadata."""

    frame: pl.DataFrame
    value_columns: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    constant_columns: list[str] = field(default_factory=list)
    freq_seconds: int = 1

    def metadata(self) -> dict[str, object]:
        return {**self.counts, "constant_columns": list(self.constant_columns), "freq_seconds": self.freq_seconds}


def constant_columns(frame: pl.DataFrame, columns: Sequence[str], *, rtol: float = 1e-12) -> list[str]:
    """Columns with zero variance over their finite values (or no finite value at all), in the given order."""
    out = []
    for c in columns:
        x = frame[c].cast(pl.Float64).to_numpy()
        x = x[np.isfinite(x)]
        if x.size == 0:
            out.append(c)
            continue
        spread = float(x.max() - x.min())
        if spread <= rtol * max(1.0, float(np.abs(x).max())):
            out.append(c)
    return out


def _runs_mask(missing: np.ndarray, seg: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each position: previous / next known index (-1 / n when none) and whether it may be interpolated."""
    n = len(missing)
    idx = np.arange(n)
    prev = np.maximum.accumulate(np.where(~missing, idx, -1))
    nxt = np.minimum.accumulate(np.where(~missing, idx, n)[::-1])[::-1]
    ok = missing & (prev >= 0) & (nxt < n)
    p = np.clip(prev, 0, n - 1)
    q = np.clip(nxt, 0, n - 1)
    ok &= (seg[p] == seg) & (seg[q] == seg) & (nxt - prev - 1 <= max_gap)
    return prev, nxt, ok


def _interpolate(values: np.ndarray, seg: np.ndarray, max_gap: int) -> tuple[np.ndarray, int]:
    """Bounded linear interpolation of NaN runs (per column) inside segments; returns (values, cells filled)."""
    out = values.copy()
    filled = 0
    for j in range(values.shape[1]):
        col = out[:, j]
        missing = np.isnan(col)
        if not missing.any() or missing.all():
            continue
        prev, nxt, ok = _runs_mask(missing, seg, max_gap)
        if not ok.any():
            continue
        i = np.flatnonzero(ok)
        a, b = prev[i], nxt[i]
        w = (i - a) / (b - a)
        col[i] = col[a] + (col[b] - col[a]) * w
        filled += len(i)
    return out, filled


def regularize(
    frame: pl.DataFrame,
    *,
    freq_seconds: int,
    max_gap: int,
    value_columns: Sequence[str],
    time_column: str = "ts",
    label_column: str | None = "label",
    constant_fraction: float = 0.6,
    drop_constant: bool = True,
) -> RegularizeResult:
    """Resample ``frame`` onto a ``freq_seconds`` grid in gap-free segments (see the module docstring).

    ``label_column`` may be absent from ``frame`` (or None): the output ``label`` is then all null.
    Counts: rows_in, rows_out, out_of_order, duplicates, null_timestamps, bins, interpolated_rows (grid rows
    inserted and filled), interpolated_values (cells filled), gaps_split, dropped_nan_rows, segments,
    positive_rows.
    """
    if freq_seconds < 1:
        raise ValueError(f"freq_seconds must be a positive integer, got {freq_seconds}")
    if max_gap < 0:
        raise ValueError(f"max_gap must be >= 0, got {max_gap}")
    if not 0 < constant_fraction <= 1:
        raise ValueError(f"constant_fraction must be in (0, 1], got {constant_fraction}")
    cols = list(value_columns)
    missing = [c for c in [time_column, *cols] if c not in frame.columns]
    if missing:
        raise ValueError(f"regularize: frame lacks column(s) {', '.join(missing)}")
    has_label = (
        label_column is not None and label_column in frame.columns and frame[label_column].null_count() < len(frame)
    )
    rows_in = frame.height

    f = frame.select(
        pl.col(time_column).cast(pl.Datetime("us")).alias("ts"),
        *[pl.col(c).cast(pl.Float64).fill_nan(None).alias(c) for c in cols],
        (pl.col(label_column).cast(pl.Int8) if has_label else pl.lit(None, dtype=pl.Int8)).alias("label"),
    )
    null_ts = f["ts"].null_count()
    f = f.filter(pl.col("ts").is_not_null())
    t_raw = f["ts"].to_physical().to_numpy()
    out_of_order = int((np.diff(t_raw) < 0).sum()) if len(t_raw) > 1 else 0
    f = f.sort("ts", maintain_order=True)
    t_sorted = f["ts"].to_physical().to_numpy()
    duplicates = int((np.diff(t_sorted) == 0).sum()) if len(t_sorted) > 1 else 0

    step_us = int(freq_seconds) * 1_000_000
    binned = (
        f.with_columns(_bin=pl.col("ts").to_physical() // step_us)
        .group_by("_bin", maintain_order=True)
        .agg(*[pl.col(c).mean() for c in cols], pl.col("label").max())
        .sort("_bin")
    )
    bins = binned["_bin"].to_numpy().astype(np.int64)
    counts: dict[str, int] = {
        "rows_in": rows_in,
        "null_timestamps": null_ts,
        "out_of_order": out_of_order,
        "duplicates": duplicates,
        "bins": len(bins),
    }
    if len(bins) == 0:
        empty = pl.DataFrame(
            schema={"ts": pl.Datetime("us"), "segment": pl.Int64, **dict.fromkeys(cols, pl.Float64), "label": pl.Int8}
        )
        counts.update(
            rows_out=0,
            interpolated_rows=0,
            interpolated_values=0,
            gaps_split=0,
            dropped_nan_rows=0,
            segments=0,
            positive_rows=0,
        )
        return RegularizeResult(empty, cols, counts, [], freq_seconds)

    # Grid with short gaps filled in, long gaps cut into segments.
    missing_steps = np.diff(bins) - 1
    long_gap = missing_steps > max_gap
    seg_first = np.concatenate([[0], np.flatnonzero(long_gap) + 1])
    seg_last = np.concatenate([np.flatnonzero(long_gap), [len(bins) - 1]])
    lengths = bins[seg_last] - bins[seg_first] + 1
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    grid_seg = np.repeat(np.arange(len(lengths)), lengths)
    grid = bins[seg_first][grid_seg] + (np.arange(lengths.sum()) - offsets[grid_seg])
    pos = np.searchsorted(grid, bins)
    observed = np.zeros(len(grid), dtype=bool)
    observed[pos] = True

    values = np.full((len(grid), len(cols)), np.nan)
    if cols:
        values[pos] = binned.select(cols).to_numpy().astype(np.float64)
    lab_obs = binned["label"].to_numpy()
    lab_known = np.zeros(len(grid), dtype=bool)
    labels = np.zeros(len(grid), dtype=np.int8)
    if has_label:
        known = ~binned["label"].is_null().to_numpy()
        lab_known[pos[known]] = True
        labels[pos[known]] = lab_obs[known].astype(np.int8)

    values, interp_values = _interpolate(values, grid_seg, max_gap)
    if has_label:
        # Inserted rows only (an observed bin keeps its own label, null included): positive if either neighbouring
        # bin is, normal if both are known normal, else unknown (``labels`` is 0 where unknown).
        prev, nxt, ok = _runs_mask(~observed, grid_seg, max_gap)
        i = np.flatnonzero(ok)
        labels[i] = np.maximum(labels[prev[i]], labels[nxt[i]])
        lab_known[i] = (labels[i] > 0) | (lab_known[prev[i]] & lab_known[nxt[i]])

    # Constant columns over the leading (training) part of the grid.
    lead = max(1, int(np.ceil(len(grid) * constant_fraction)))
    lead_frame = pl.DataFrame(values[:lead], schema=cols, orient="row") if cols else pl.DataFrame()
    const = constant_columns(lead_frame, cols) if cols else []
    keep_cols = [c for c in cols if c not in const] if drop_constant else list(cols)
    kept = values[:, [cols.index(c) for c in keep_cols]] if keep_cols else np.empty((len(grid), 0))

    good = ~np.isnan(kept).any(axis=1)
    dropped = int((~good).sum())
    inserted_filled = int((good & ~observed).sum())
    g_grid, g_vals, g_labels, g_known = grid[good], kept[good], labels[good], lab_known[good]
    # Segments: cut wherever consecutive kept rows are not exactly one step apart.
    segment = np.concatenate([[0], np.cumsum(np.diff(g_grid) != 1)]) if len(g_grid) else np.empty(0, np.int64)

    out = pl.DataFrame(
        {
            "ts": pl.Series("ts", g_grid * step_us, dtype=pl.Int64).cast(pl.Datetime("us")),
            "segment": pl.Series("segment", segment, dtype=pl.Int64),
            **{c: pl.Series(c, g_vals[:, j], dtype=pl.Float64) for j, c in enumerate(keep_cols)},
            "label": pl.Series("label", g_labels, dtype=pl.Int8).set(pl.Series(~g_known), None)
            if has_label
            else pl.Series("label", [None] * len(g_grid), dtype=pl.Int8),
        }
    )
    counts.update(
        rows_out=out.height,
        interpolated_rows=inserted_filled,
        interpolated_values=interp_values,
        gaps_split=int(long_gap.sum()),
        dropped_nan_rows=dropped,
        segments=int(segment[-1] + 1) if len(segment) else 0,
        positive_rows=int(g_labels.sum()) if has_label else 0,
    )
    return RegularizeResult(out, keep_cols, counts, const, freq_seconds)
