"""Windowed per-host features from the cleaned conn table, stored in ``<dataset>.window_features``."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

import duckdb
import polars as pl

from vigia.config import DatasetConfig
from vigia.features.conn_windows import (
    CONN_FEATURE_COLUMNS,
    build_conn_features,
    build_conn_features_chunked,
    feature_input_columns,
    window_index,
    window_start_us,
)
from vigia.features.conn_windows_sql import build_conn_features_duckdb
from vigia.warehouse.duck import (
    BeforeCommit,
    column_type,
    partition_predicate,
    qualified,
    quote_ident,
    read_frame,
    read_relation,
    replace_partitions,
    scoped_relation,
    table_exists,
    table_schema,
    write_frame_partitions,
)

CLEAN_TABLE = "stg_conn"
FEATURES_TABLE = "window_features"
# Tumbling windows are computed over time chunks of about this many connections (read from DuckDB one at a
# time), so peak memory follows the chunk, not the partitions; sliding windows read everything at once.
CHUNK_ROWS = 500_000


@dataclass
class FeatureResult:
    windows: int
    connections: int
    windows_by_day: dict[str, int]
    malicious_windows: int | None
    seconds: float
    engine: str  # where the features were computed: "duckdb" or "polars"
    without_windows: list[str] = field(default_factory=list)  # sensor kind: "<station> <day>: why"


def _input_columns(con: duckdb.DuckDBPyConnection, dataset: str, cfg: DatasetConfig | None) -> list[str] | None:
    """The stg_conn columns the features read (optional ones only when present); ``None``: all columns."""
    if cfg is None:
        return None
    present = {name for name, _ in table_schema(con, dataset, CLEAN_TABLE)}
    wanted = feature_input_columns(cfg.entity_key, cfg.time_column, cfg.label_column or "label")
    return [c for c in wanted if c in present]


def read_clean_conn(
    con: duckdb.DuckDBPyConnection, dataset: str, partition_keys: list[str] | None, cfg: DatasetConfig | None = None
) -> pl.DataFrame:
    """Cleaned connections of some days; with ``cfg`` only the columns its features use."""
    columns = _input_columns(con, dataset, cfg)
    return read_frame(con, dataset, CLEAN_TABLE, partition_column="day", keys=partition_keys, columns=columns)


def _time_chunks(
    con: duckdb.DuckDBPyConnection,
    cfg: DatasetConfig,
    relation: str,
    scope: str,
    columns: list[str] | None,
    chunk_rows: int,
) -> tuple[int, Iterator[pl.DataFrame]]:
    """(connections, frames): the scoped connections split on window starts (tumbling windows).

    Rows with a null time are left out (the features ignore them); the count includes them.
    """
    t = quote_ident(cfg.time_column)
    n, lo, hi = con.execute(
        f"SELECT count(*), min(epoch_us({t})), max(epoch_us({t})) FROM {relation} WHERE {scope}"
    ).fetchall()[0]
    size = cfg.window.size_seconds
    in_chunk = f"{t} >= make_timestamp(CAST(? AS BIGINT)) AND {t} < make_timestamp(CAST(? AS BIGINT))"

    def frames() -> Iterator[pl.DataFrame]:
        if lo is None:
            return
        first, last = window_index(lo, size), window_index(hi, size) + 1  # window indexes [first, last)
        parts = max(1, min(math.ceil(n / chunk_rows), last - first))
        bounds = [first + (last - first) * i // parts for i in range(parts + 1)]
        for a, b in pairwise(bounds):
            yield read_relation(
                con,
                relation,
                columns=columns,
                conditions=[scope, in_chunk],
                params=[window_start_us(a, size), window_start_us(b, size)],
            )

    return int(n), frames()


def compute_features(conn: pl.DataFrame, cfg: DatasetConfig) -> pl.DataFrame:
    """Build the per-entity window features for a frame of cleaned connections."""
    return build_conn_features(
        conn.lazy(),
        window_seconds=cfg.window.size_seconds,
        step_seconds=cfg.window.step_seconds,
        entity=cfg.entity_key,
        time_col=cfg.time_column,
        label_col=cfg.label_column or "label",
    ).collect()


def _materialize_in_duckdb(
    con: duckdb.DuckDBPyConnection,
    cfg: DatasetConfig,
    partition_keys: list[str],
    start: float,
    before_commit: BeforeCommit | None = None,
) -> FeatureResult:
    """The features computed by DuckDB into a TEMP table, then swapped into the partitions (nothing on failure).

    ``connections``: those in the requested days' windows (with a time and an entity), from the windows'
    ``n_conn`` (counted in the scoped rows when sliding windows are cut at midnight).
    """
    days = partition_predicate("day", partition_keys, column_type(con, cfg.name, CLEAN_TABLE, "day"))
    columns = [name for name, _ in table_schema(con, cfg.name, CLEAN_TABLE)]
    into = "__vigia_window_features"
    try:
        n = build_conn_features_duckdb(
            con,
            qualified(cfg.name, CLEAN_TABLE),
            columns,
            into=into,
            scope=days,
            window_seconds=cfg.window.size_seconds,
            step_seconds=cfg.window.step_seconds,
            entity=cfg.entity_key,
            time_col=cfg.time_column,
            label_col=cfg.label_column or "label",
        )
        if n == 0:
            raise ValueError(f"no cleaned connections in {cfg.name}.{CLEAN_TABLE} for partitions {partition_keys}")
        relation = f"temp.main.{quote_ident(into)}"
        written = replace_partitions(
            con, cfg.name, FEATURES_TABLE, "day", partition_keys, f"SELECT * FROM {relation}",
            before_commit=before_commit,
        )  # fmt: skip
        kept = partition_predicate("day", partition_keys, "DATE")
        by_day = con.execute(
            f"SELECT CAST(day AS VARCHAR), count(*), sum(n_conn), count(label), count(*) FILTER (WHERE label = 1) "
            f"FROM {relation} WHERE {kept} GROUP BY day ORDER BY day"
        ).fetchall()
    finally:
        con.execute(f"DROP TABLE IF EXISTS temp.main.{quote_ident(into)}")
    n_win = cfg.window.size_seconds // cfg.window.step_seconds
    connections = sum(int(row[2]) for row in by_day)
    if n_win > 1:  # a connection is in n_win windows, fewer near midnight
        entity, t = quote_ident(cfg.entity_key), quote_ident(cfg.time_column)
        connections = int(
            con.execute(
                f"SELECT count(*) FROM {qualified(cfg.name, CLEAN_TABLE)} "
                f"WHERE {days} AND {t} IS NOT NULL AND {entity} IS NOT NULL"
            ).fetchall()[0][0]
        )
    return FeatureResult(
        windows=written,
        connections=connections,
        windows_by_day={row[0]: int(row[1]) for row in by_day},
        malicious_windows=sum(int(row[4]) for row in by_day) if sum(int(row[3]) for row in by_day) else None,
        seconds=time.perf_counter() - start,
        engine="duckdb",
    )


def materialize_features(
    con: duckdb.DuckDBPyConnection,
    cfg: DatasetConfig,
    partition_keys: list[str],
    chunk_rows: int = CHUNK_ROWS,
    engine: Literal["duckdb", "polars"] | None = None,
    before_commit: BeforeCommit | None = None,
) -> FeatureResult:
    """Compute features for the given days and swap them into ``window_features`` atomically.

    ``engine`` (default: the dataset's ``window.engine``): ``duckdb`` computes them in the warehouse;
    ``polars`` computes tumbling windows chunk by chunk (see :data:`CHUNK_ROWS`; same values as in one
    piece). Both give the same rows. ``before_commit``: see ``replace_partitions``.
    """
    start = time.perf_counter()
    if (engine or cfg.window.engine) == "duckdb":
        return _materialize_in_duckdb(con, cfg, partition_keys, start, before_commit)
    if cfg.window.step_seconds == cfg.window.size_seconds:
        columns = _input_columns(con, cfg.name, cfg)
        # A view (stg_conn's default) is evaluated once into a TEMP snapshot, not once per chunk.
        days = partition_predicate("day", partition_keys, column_type(con, cfg.name, CLEAN_TABLE, "day"))
        with scoped_relation(con, cfg.name, CLEAN_TABLE, days, columns) as (relation, scope):
            connections, chunks = _time_chunks(con, cfg, relation, scope, columns, chunk_rows)
            if connections == 0:
                raise ValueError(
                    f"no cleaned connections in {cfg.name}.{CLEAN_TABLE} for partitions {partition_keys}"
                )
            features = build_conn_features_chunked(
                chunks,
                window_seconds=cfg.window.size_seconds,
                entity=cfg.entity_key,
                time_col=cfg.time_column,
                label_col=cfg.label_column or "label",
            )
    else:
        conn = read_clean_conn(con, cfg.name, partition_keys, cfg)
        connections = conn.height
        if connections == 0:
            raise ValueError(f"no cleaned connections in {cfg.name}.{CLEAN_TABLE} for partitions {partition_keys}")
        features = compute_features(conn, cfg)
        del conn
    written = write_frame_partitions(
        con, cfg.name, FEATURES_TABLE, features, partition_keys, before_commit=before_commit
    )
    features = features.filter(pl.col("day").cast(pl.String).is_in(partition_keys))  # the report: stored rows
    by_day = features.group_by("day").len().sort("day")
    malicious = int(features["label"].fill_null(0).sum()) if features["label"].null_count() < features.height else None
    return FeatureResult(
        windows=written,
        connections=connections,
        windows_by_day={str(d): int(n) for d, n in by_day.iter_rows()},
        malicious_windows=malicious,
        seconds=time.perf_counter() - start,
        engine="polars",
    )


def load_features(
    con: duckdb.DuckDBPyConnection, dataset: str, partition_keys: list[str] | None = None
) -> pl.DataFrame:
    """All stored feature windows (optionally for some days) in one total order: by time, then by the other columns.

    A table keeps no row order, and DuckDB's sort is not stable: ordered by time alone, the windows of one
    time came back in an order that changed from read to read, and so did the detectors fitted on them
    (``bench/read_order.py`` measures both). Every column is a tie-breaker, so equal times (one window per
    entity, events of the same instant) always come back in the same order.
    """
    if not table_exists(con, dataset, FEATURES_TABLE):
        raise ValueError(f"{dataset}.{FEATURES_TABLE} does not exist: materialize the window features first")
    others = [quote_ident(name) for name, _ in table_schema(con, dataset, FEATURES_TABLE) if name != "window_start"]
    return read_frame(
        con, dataset, FEATURES_TABLE, partition_column="day", keys=partition_keys,
        order_by=", ".join(["window_start", *others]),
    )  # fmt: skip


__all__ = ["CONN_FEATURE_COLUMNS", "FeatureResult", "compute_features", "load_features", "materialize_features"]
