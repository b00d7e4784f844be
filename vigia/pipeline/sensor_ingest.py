"""Load sensor readings for a set of daily partitions into ``<dataset>.raw_sensor`` (+ rejects).

The synthetic pumping station is generated once for the dataset's whole configured range (so physics
and the event schedule do not depend on which days a run asks for) and the requested days are kept.
Files (CSV / Parquet, SKAB's ``;`` layout included) are read with their rejects; each file is a
``station`` named by its path under the source folder (``valve1/0``), so series from different files,
even files of the same name in different subfolders, are never mixed. Without ``series.columns`` the value
columns of an existing ``raw_sensor`` are kept (``read_sensor_files``), so a run reading a subset of the
files writes the columns earlier runs did. ``raw_sensor_rejects`` holds, per file, the rejects of its latest
read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from vigia.config import DatasetConfig
from vigia.pipeline.file_manifest import FileManifest, frame_day_ranges
from vigia.pipeline.ingest import IngestResult, ensure_rejects_table, replace_rejects
from vigia.timeseries.pump_synth import generate_pump_station
from vigia.timeseries.sensor_files import SensorReadResult, read_sensor_files, series_name
from vigia.warehouse.duck import (
    ensure_schema,
    relation_type,
    table_schema,
    write_frame_partitions,
)

RAW_TABLE = "raw_sensor"
REJECTS_TABLE = "raw_sensor_rejects"
SENSOR_EVIDENCE_COLUMNS = ("ts", "station", "label", "source_file")
RAW_KEY_COLUMNS = ("ts", "label", "source_file", "station", "day")  # the columns of raw_sensor besides values


def _synthetic(cfg: DatasetConfig) -> pl.DataFrame:
    days = cfg.partitions.days()
    start = datetime.combine(days[0], datetime.min.time())
    minutes = int((days[-1] + timedelta(days=1) - days[0]).total_seconds() // 60)
    frame = generate_pump_station(start, minutes, cfg.seed, **cfg.source.params)
    return frame.with_columns(pl.lit(cfg.name).alias("station"), pl.lit("synthetic").alias("source_file"))


def raw_value_columns(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str] | None:
    """The value columns of ``<dataset>.raw_sensor`` in table order, None when there is no such table."""
    if relation_type(con, dataset, RAW_TABLE) != "BASE TABLE":
        return None
    return [name for name, _ in table_schema(con, dataset, RAW_TABLE) if name not in RAW_KEY_COLUMNS] or None


def read_sensor_source(
    cfg: DatasetConfig,
    run_id: str,
    path: str | Path | None = None,
    skip: Callable[[Path], bool] | None = None,
    table_columns: list[str] | None = None,
) -> SensorReadResult:
    """The dataset's sensor files (or one of them, ``path``) read with its declared columns (else
    ``table_columns``, those of the existing raw table)."""
    source = path if path is not None else cfg.source.path
    assert source is not None
    return read_sensor_files(
        source,
        time_column=cfg.time_column,
        value_columns=cfg.series.columns,
        label_column=cfg.label_column,
        separator=cfg.series.separator,
        dataset=cfg.name,
        run_id=run_id,
        exclude_columns=["changepoint"],
        skip=skip,
        decimal=cfg.series.decimal,
        time_zone=cfg.series.time_zone,
        table_columns=table_columns,
    )


def _files(
    con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, run_id: str, manifest: FileManifest
) -> tuple[pl.DataFrame, SensorReadResult]:
    assert cfg.source.path is not None
    result = read_sensor_source(cfg, run_id, skip=manifest.skip, table_columns=raw_value_columns(con, cfg.name))
    names = {f: series_name(f, cfg.source.path) for f in result.frame["source_file"].unique().to_list()}
    frame = result.frame.with_columns(
        pl.col("source_file").replace_strict(names, return_dtype=pl.String).alias("station")
    )
    return frame, result


def ingest_sensors(
    con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, partition_keys: list[str], run_id: str
) -> IngestResult:
    """Stage the source, then atomically replace the requested day partitions of ``raw_sensor``."""
    if not partition_keys:
        raise ValueError("ingest needs at least one daily partition key")
    start = time.perf_counter()
    ensure_schema(con, cfg.name)
    ensure_rejects_table(con, cfg.name, REJECTS_TABLE)
    manifest, read_files, result = None, [], None
    if cfg.source.type == "synthetic_pump":
        frame, rejects = _synthetic(cfg), None
        read = frame.height
    else:
        manifest = FileManifest(con, cfg.name, RAW_TABLE, partition_keys)
        frame, result = _files(con, cfg, run_id, manifest)
        rejects, read, read_files = result.rejects, result.read, [f.path for f in result.files]
    frame = frame.with_columns(pl.col("ts").dt.date().alias("day"))
    written = write_frame_partitions(con, cfg.name, RAW_TABLE, frame, partition_keys)
    if rejects is not None:
        replace_rejects(con, cfg.name, REJECTS_TABLE, rejects, files=list(read_files))
    if manifest is not None:  # after the write: an entry never claims days the raw table lacks
        manifest.record(read_files, frame_day_ranges(frame), run_id)
    keyset = set(partition_keys)
    by_day = frame.group_by(pl.col("day").cast(pl.String)).len()
    rows_by_day = {d: int(n) for d, n in by_day.iter_rows() if d in keyset}
    rejected = 0 if rejects is None else rejects.height
    reasons = {} if rejects is None else dict(rejects.group_by("reason").len().iter_rows())
    return IngestResult(
        read=read,
        accepted=frame.height,
        rejected=rejected,
        written=written,
        out_of_range=frame.height - sum(rows_by_day.values()),
        rows_by_day=dict(sorted(rows_by_day.items())),
        rejects_by_reason={str(k).split(":")[0]: int(v) for k, v in reasons.items()},
        ignored_fields=[] if result is None else result.notes,
        files=[] if result is None else [asdict(f) for f in result.files if f.missing_columns or f.ignored_columns],
        files_unchanged=[] if manifest is None else manifest.not_read(read_files),
        seconds=time.perf_counter() - start,
    )
