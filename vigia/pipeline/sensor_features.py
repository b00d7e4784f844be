"""Sensor windows as a feature table: regularised series cut into flattened sample windows.

Each row is one window of ``series.window`` samples (step ``series.step``) inside one gap-free segment
of one station; its features are the window's values, column ``<sensor>__t<i>`` (time-major, so
autoencoders reshape rows back to ``(window, sensors)``). A window is positive if any sample is, normal if
every sample is labelled normal, else unknown (null label: an unlabelled sample may hide an anomaly).
Windows are cut within each daily partition: a window never spans midnight.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import duckdb
import numpy as np
import polars as pl

from vigia.config import DatasetConfig
from vigia.pipeline.features import FEATURES_TABLE, FeatureResult
from vigia.timeseries.regularize import regularize
from vigia.timeseries.segments import segment_windows
from vigia.timeseries.sensor_files import RESERVED_COLUMNS
from vigia.timeseries.windows import known_window_labels
from vigia.warehouse.duck import BeforeCommit, read_frame, write_frame_partitions

CLEAN_TABLE = "stg_sensor"
NON_VALUE_COLUMNS = RESERVED_COLUMNS  # ts, station, label, event_type, day, source_file, segment


def value_columns(frame: pl.DataFrame, cfg: DatasetConfig) -> list[str]:
    """``series.columns`` (each must be in ``frame``; the config refuses reserved names at load), else every
    numeric column that is not one of ``NON_VALUE_COLUMNS``."""
    if cfg.series.columns:
        missing = [c for c in cfg.series.columns if c not in frame.columns]
        if missing:
            raise ValueError(f"series columns missing from {cfg.name}.{CLEAN_TABLE}: {missing}")
        return list(cfg.series.columns)
    return [c for c, t in frame.schema.items() if c not in NON_VALUE_COLUMNS and t.is_numeric()]


def window_column_names(columns: list[str], size: int) -> list[str]:
    return [f"{c}__t{t:02d}" for t in range(size) for c in columns]


class SensorWindows(NamedTuple):
    table: pl.DataFrame
    counts: dict[str, int]  # regularisation counts, summed over stations
    without_windows: list[str]  # "<station> <day>: why" for each station-day that gave no window


def _no_window_reason(day_part: pl.DataFrame, cols: list[str], samples: int, size: int) -> str:
    dead = [c for c in cols if day_part[c].null_count() == day_part.height]
    if dead:
        return f"column(s) {', '.join(dead)} hold no value (leave them out with series.columns)"
    if samples < size:
        return f"{samples} regular samples, fewer than the window of {size}"
    return f"no gap-free run of {size} samples"


def sensor_windows(clean: pl.DataFrame, cfg: DatasetConfig) -> SensorWindows:
    """Window table of every station in ``clean``, regularisation counts, and the station-days without one."""
    cols = value_columns(clean, cfg)
    size, step, freq = cfg.series.window, cfg.series.step, cfg.series.freq_seconds
    names = window_column_names(cols, size)
    frames, counts, without = [], {}, []
    for (station,), part in clean.group_by(["station"], maintain_order=True):
        for (day,), day_part in part.group_by(pl.col("ts").dt.date(), maintain_order=True):
            reg = regularize(
                day_part, freq_seconds=freq, max_gap=cfg.series.max_gap, value_columns=cols, drop_constant=False
            )
            for key, value in reg.counts.items():
                counts[key] = counts.get(key, 0) + int(value)
            frame = reg.frame
            starts = np.empty(0, dtype=np.int64)
            if frame.height >= size:  # float64: the stored features keep the readings (float32 rounds 1.2e8 + 0.1)
                x, _, starts = segment_windows(
                    frame.select(cols).to_numpy(), frame["segment"].to_numpy(), size, step, dtype=np.float64
                )
            if len(starts) == 0:
                without.append(f"{station} {day}: {_no_window_reason(day_part, cols, frame.height, size)}")
                continue
            ts = frame["ts"]
            y = known_window_labels(frame["label"].cast(pl.Float64).fill_null(np.nan).to_numpy(), starts, size)
            flat = x.reshape(len(x), size * len(cols))
            block = pl.DataFrame(flat, schema=names, orient="row")
            start_ts = ts.gather(starts)
            frames.append(
                block.with_columns(
                    pl.lit(str(station)).alias("station"),
                    start_ts.alias("window_start"),
                    (ts.gather(starts + size - 1) + pl.duration(seconds=freq)).alias("window_end"),
                    start_ts.dt.date().alias("day"),
                    pl.Series("label", y, dtype=pl.Float64, nan_to_null=True).cast(pl.Int8),
                    pl.lit(None, pl.String).alias("attack_type"),
                )
            )
    if not frames:
        shown = "; ".join(without[:5]) + (f"; and {len(without) - 5} more" if len(without) > 5 else "")
        raise ValueError(f"no complete {size}-sample window in {cfg.name}.{CLEAN_TABLE} for these partitions: {shown}")
    table = pl.concat(frames).select("station", "window_start", "window_end", "day", *names, "label", "attack_type")
    return SensorWindows(table.sort("window_start", "station"), counts, without)


def materialize_sensor_windows(
    con: duckdb.DuckDBPyConnection,
    cfg: DatasetConfig,
    partition_keys: list[str],
    before_commit: BeforeCommit | None = None,
) -> FeatureResult:
    """Compute the windows of the given days and swap them into ``window_features`` atomically
    (``before_commit``: see ``replace_partitions``)."""
    start = time.perf_counter()
    clean = read_frame(con, cfg.name, CLEAN_TABLE, partition_column="day", keys=partition_keys)
    if clean.height == 0:
        raise ValueError(f"no sensor readings in {cfg.name}.{CLEAN_TABLE} for partitions {partition_keys}")
    windows, _, without = sensor_windows(clean, cfg)
    written = write_frame_partitions(
        con, cfg.name, FEATURES_TABLE, windows, partition_keys, before_commit=before_commit
    )
    by_day = windows.group_by("day").len().sort("day")
    labelled = windows["label"].null_count() < windows.height
    return FeatureResult(
        windows=written,
        connections=clean.height,
        windows_by_day={str(d): int(n) for d, n in by_day.iter_rows()},
        malicious_windows=int(windows["label"].fill_null(0).sum()) if labelled else None,
        seconds=time.perf_counter() - start,
        engine="polars",
        without_windows=without,
    )
