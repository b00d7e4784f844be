"""Load raw conn records for a set of daily partitions into ``<dataset>.raw_conn``.

Synthetic sources generate each day deterministically; file sources are parsed once (DuckDB),
malformed lines go to ``<dataset>.raw_conn_rejects`` with their reason, and only rows whose event
day is one of the requested partitions are written. The partition swap is one transaction.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from vigia.config import DatasetConfig
from vigia.pipeline.file_manifest import FileManifest, table_day_ranges
from vigia.schema import CONN_COLUMNS, PROVENANCE_COLUMNS, RAW_CONN_COMPRESSION, REJECT_COLUMNS
from vigia.sources.zeek_files import parse_conn_files
from vigia.sources.zeek_synth import generate_conn_day
from vigia.warehouse.duck import append_frame, ensure_schema, qualified, replace_partitions

RAW_TABLE = "raw_conn"
REJECTS_TABLE = "raw_conn_rejects"
FILES_TABLE = f"{RAW_TABLE}_files"  # the file manifest (vigia.pipeline.file_manifest)
_STAGING = "__vigia_staging_conn"


@dataclass
class IngestResult:
    """Accounting of one ingest: ``read == accepted + rejected`` (accepted = in range + out of range)."""

    read: int
    accepted: int
    rejected: int
    written: int
    out_of_range: int
    rows_by_day: dict[str, int]
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    ignored_fields: list[str] = field(default_factory=list)
    files: list[dict[str, object]] = field(default_factory=list)
    files_unchanged: list[str] = field(default_factory=list)  # not re-read: unchanged, none of the requested days
    truncated_files: list[str] = field(default_factory=list)  # gzip cut short: only the lines before the cut
    other_log_records: dict[str, int] = field(default_factory=dict)  # records of other Zeek logs, not read
    unknown_labels: int = 0  # accepted records whose label is outside the vocabulary: stored as unknown (null)
    seconds: float = 0.0


def ensure_rejects_table(con: duckdb.DuckDBPyConnection, schema: str, table: str = REJECTS_TABLE) -> None:
    """Create ``schema.table`` with the shared rejects layout if it does not exist."""
    cols = ", ".join(f"{name} {typ}" for name, typ in REJECT_COLUMNS.items())
    con.execute(f'CREATE TABLE IF NOT EXISTS "{schema}"."{table}" ({cols})')


def replace_rejects(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, rejects: pl.DataFrame, files: list[str] | None
) -> int:
    """In one transaction: drop the earlier rejects of ``files`` (every earlier reject when None), add ``rejects``.

    The rejects table then holds each file's rejects from its latest read, so a re-run does not duplicate them.
    """
    ensure_rejects_table(con, schema, table)
    con.begin()
    try:
        if files is None:
            con.execute(f"DELETE FROM {qualified(schema, table)}")
        elif files:
            con.execute(f"DELETE FROM {qualified(schema, table)} WHERE list_contains(?, source_file)", [files])
        n = append_frame(con, schema, table, rejects.select(list(REJECT_COLUMNS)))
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return n


def day_seed(seed: int, day: date) -> int:
    """A per-day generator seed, stable across runs and independent of which days a run covers."""
    return zlib.crc32(f"{seed}:{day.isoformat()}".encode()) & 0x7FFFFFFF


def _stage_synthetic(con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, keys: list[str]) -> IngestResult:
    """Generate each requested day; ``source.params.drift_days`` maps days to a ``traffic_shift``."""
    params = dict(cfg.source.params)
    rows = int(params.pop("rows_per_day", 250_000))
    shifted_days = {str(d): float(v) for d, v in dict(params.pop("drift_days", {})).items()}
    frames = []
    for key in keys:
        day = date.fromisoformat(key)
        day_params = {**params, "traffic_shift": shifted_days[key]} if key in shifted_days else params
        frames.append(generate_conn_day(day, rows, day_seed(cfg.seed, day), **day_params))
    import polars as pl

    df = pl.concat(frames) if frames else None
    if df is None or df.height == 0:
        raise ValueError(f"synthetic source for dataset {cfg.name!r} produced no rows for {keys}")
    df = df.with_columns(pl.col("ts").dt.date().alias("day"), pl.lit("synthetic").alias("source_file"))
    con.register("__vigia_synth_frame", df.to_arrow())
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGING} AS SELECT * FROM __vigia_synth_frame")
    finally:
        con.unregister("__vigia_synth_frame")
    n = df.height
    return IngestResult(read=n, accepted=n, rejected=0, written=0, out_of_range=0, rows_by_day={})


def _stage_files(
    con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, manifest: FileManifest, run_id: str
) -> IngestResult:
    assert cfg.source.path is not None
    parsed = parse_conn_files(
        con,
        cfg.source.path,
        dataset=cfg.name,
        run_id=run_id,
        staging_table=_STAGING,
        rejects_table=f"{cfg.name}.{REJECTS_TABLE}",
        skip=manifest.skip,
    )
    return IngestResult(
        read=parsed.read,
        accepted=parsed.accepted,
        rejected=parsed.rejected,
        written=0,
        out_of_range=0,
        rows_by_day={},
        rejects_by_reason=dict(parsed.rejects_by_reason),
        ignored_fields=list(parsed.ignored_fields),
        files=[
            {"path": str(f.path), "format": f.format, "read": f.read, "accepted": f.accepted, "rejected": f.rejected}
            for f in parsed.files
        ],
        files_unchanged=manifest.not_read(f.path for f in parsed.files),
        truncated_files=list(parsed.truncated_files),
        other_log_records=dict(parsed.other_log_records),
    )


def ingest_conn(
    con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, partition_keys: list[str], run_id: str
) -> IngestResult:
    """Stage the source, then atomically replace the requested day partitions of ``raw_conn``."""
    if not partition_keys:
        raise ValueError("ingest needs at least one daily partition key")
    start = time.perf_counter()
    ensure_schema(con, cfg.name)
    ensure_rejects_table(con, cfg.name)
    manifest = None
    if cfg.source.type == "synthetic_zeek":
        result = _stage_synthetic(con, cfg, partition_keys)
    else:
        manifest = FileManifest(con, cfg.name, RAW_TABLE, partition_keys)
        result = _stage_files(con, cfg, manifest, run_id)
    columns = ", ".join([*CONN_COLUMNS, *PROVENANCE_COLUMNS])
    result.written = replace_partitions(
        con, cfg.name, RAW_TABLE, "day", partition_keys, f"SELECT {columns} FROM {_STAGING}",
        compression=RAW_CONN_COMPRESSION,
    )
    if manifest is not None:  # after the write: an entry never claims days the raw table lacks
        manifest.record([str(f["path"]) for f in result.files], table_day_ranges(con, _STAGING), run_id)
    by_day = [
        (None if d is None else d.isoformat(), n)
        for d, n in con.execute(f"SELECT day, count(*) FROM {_STAGING} GROUP BY day ORDER BY day").fetchall()
    ]
    keyset = set(partition_keys)
    result.rows_by_day = {d: int(n) for d, n in by_day if d in keyset}
    result.out_of_range = int(sum(n for d, n in by_day if d not in keyset))
    con.execute(f"DROP TABLE IF EXISTS {_STAGING}")
    result.seconds = time.perf_counter() - start
    return result
