"""Load raw conn records for a set of daily partitions into ``<dataset>.raw_conn``.

Synthetic sources generate each day deterministically; file sources are parsed once (DuckDB),
malformed lines go to ``<dataset>.raw_conn_rejects`` with their reason, and only rows whose event
day is one of the requested partitions are written. The partition swap is one transaction.

File sources first try the direct path (:mod:`vigia.sources.zeek_direct`): clean files whose rows all
fall in the requested days are validated on their way into ``raw_conn``, in one pass. Any other source,
or a direct attempt that meets a row it cannot take, goes through the staged path (parse into a TEMP
table, then copy the requested days); both give the same rows, rejects and counts.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import zlib
from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from vigia.config import DatasetConfig
from vigia.pipeline.file_manifest import DayRange, FileManifest, table_day_ranges
from vigia.schema import CONN_COLUMNS, PROVENANCE_COLUMNS, RAW_CONN_COMPRESSION, REJECT_COLUMNS
from vigia.sources.zeek_direct import MISS, DirectPlan, plan_direct
from vigia.sources.zeek_files import has_later_header, parse_conn_files
from vigia.sources.zeek_sniff import discover_files
from vigia.sources.zeek_synth import generate_conn_day
from vigia.warehouse.duck import (
    append_frame,
    ensure_schema,
    insertion_order_relaxed,
    partition_predicate,
    qualified,
    replace_partitions,
)

log = logging.getLogger(__name__)

RAW_TABLE = "raw_conn"
REJECTS_TABLE = "raw_conn_rejects"
FILES_TABLE = f"{RAW_TABLE}_files"  # the file manifest (vigia.pipeline.file_manifest)
_STAGING = "__vigia_staging_conn"
_NEW_REJECTS = "temp.main.__vigia_staging_conn_rejects"  # a staged read's rejects, moved in the write's transaction


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
    method: str = ""  # conn ingest: "generated", or for files "direct" / "staged" (module docstring)
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
    con.execute(f"DROP TABLE IF EXISTS {_NEW_REJECTS}")
    parsed = parse_conn_files(
        con,
        cfg.source.path,
        dataset=cfg.name,
        run_id=run_id,
        staging_table=_STAGING,
        rejects_table=_NEW_REJECTS,
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


class _NotDirect(Exception):
    """The direct path cannot take this source; the staged path will."""


def _replace_file_rejects(con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, files: list[str]) -> None:
    """Inside the raw write's transaction: the rejects of ``files`` found now (in ``_NEW_REJECTS``) replace their
    earlier ones, so a failed write changes no rejects and a re-read does not duplicate them."""
    target = qualified(cfg.name, REJECTS_TABLE)
    con.execute(f"DELETE FROM {target} WHERE dataset = ? AND list_contains(?, source_file)", [cfg.name, files])
    con.execute(f"INSERT INTO {target} SELECT * FROM {_NEW_REJECTS} ORDER BY source_file, line_number")


def _direct_rejects(con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, plan: DirectPlan, run_id: str) -> None:
    """Inside the write's transaction: the reader's rejects of every file into ``_NEW_REJECTS``, then into the
    rejects table. Raises ``_NotDirect`` for a TSV with a second ``#fields`` header (the staged path reads it)."""
    con.execute("RESET preserve_insertion_order")  # the rejects keep their line order
    columns = ", ".join(f"{name} {typ}" for name, typ in REJECT_COLUMNS.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_NEW_REJECTS.removeprefix('temp.main.')} ({columns})")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for read in plan.reads:
        src = str(read.spec.path)
        n = con.execute(
            f"INSERT INTO {_NEW_REJECTS} SELECT ?, ?, line_number, reason, left(raw, 2000), ?, ? "
            f"FROM ({read.rejects_select()}) ORDER BY line_number",
            [cfg.name, src, run_id, now],
        ).fetchall()[0][0]
        if read.tsv and has_later_header(read.spec, int(n)):
            raise _NotDirect(f"{src}: a second #fields header")
    _replace_file_rejects(con, cfg, plan.files)


def _direct_result(con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, plan: DirectPlan,
                   keys: list[str]) -> tuple[IngestResult, dict[str, DayRange]]:
    """Inside the write's transaction: the counts of a direct ingest (accepted rows from ``raw_conn``, whose requested
    days hold this read's rows only; rejects from ``_NEW_REJECTS``) and each file's day range. Raises ``_NotDirect``
    when there are no data rows (the staged path reports it)."""
    days = con.execute(
        f"SELECT source_file, day, count(*) FROM {qualified(cfg.name, RAW_TABLE)} "
        f"WHERE {partition_predicate('day', keys, 'DATE')} GROUP BY ALL"
    ).fetchall()
    reasons = con.execute(
        f"SELECT source_file, trim(split_part(reason, ':', 1)), count(*) FROM {_NEW_REJECTS} GROUP BY ALL"
    ).fetchall()
    if not days and not reasons:
        raise _NotDirect("no data rows")
    rows_by_day: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    ranges: dict[str, DayRange] = {}
    files = {f: {"path": f, "format": r.spec.format, "read": 0, "accepted": 0, "rejected": 0}
             for f, r in zip(plan.files, plan.reads, strict=True)}  # fmt: skip
    for src, day, n in days:
        rows_by_day[day.isoformat()] = rows_by_day.get(day.isoformat(), 0) + n
        files[src]["accepted"] += n
        first, last, total = ranges.get(src, (day, day, 0))
        ranges[src] = (min(first, day), max(last, day), total + n)
    for src, code, n in reasons:
        by_reason[code] = by_reason.get(code, 0) + n
        files[src]["rejected"] += n
    for f in files.values():
        f["read"] = f["accepted"] + f["rejected"]
    accepted, rejected = sum(rows_by_day.values()), sum(by_reason.values())
    result = IngestResult(
        read=accepted + rejected,
        accepted=accepted,
        rejected=rejected,
        written=accepted,
        out_of_range=0,
        rows_by_day=dict(sorted(rows_by_day.items())),
        rejects_by_reason=dict(sorted(by_reason.items())),
        ignored_fields=list(dict.fromkeys(f for r in plan.reads for f in r.ignored)),
        files=list(files.values()),
        method="direct",
    )
    return result, ranges


def _ingest_direct(
    con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, keys: list[str], manifest: FileManifest, run_id: str
) -> IngestResult | None:
    """The direct path (module docstring); None, with nothing written, when the source needs the staged path."""
    assert cfg.source.path is not None
    plan = plan_direct([f for f in discover_files(cfg.source.path) if not manifest.skip(f)], keys)
    if plan is None:
        return None
    con.execute("SET TimeZone = 'UTC'")  # as the staged path
    found: list[tuple[IngestResult, dict[str, DayRange]]] = []

    def before_commit(c: duckdb.DuckDBPyConnection) -> None:
        _direct_rejects(c, cfg, plan, run_id)
        found.append(_direct_result(c, cfg, plan, keys))

    try:
        with insertion_order_relaxed(con):  # a raw table's row order means nothing: readers order or group
            replace_partitions(
                con, cfg.name, RAW_TABLE, "day", keys, plan.select, compression=RAW_CONN_COMPRESSION,
                before_commit=before_commit,
            )
    except (_NotDirect, duckdb.Error) as exc:  # duckdb.Error: the guard (module docstring) or a reader failure
        why = "a row outside the requested days or rejected by the SQL checks" if MISS in str(exc) else str(exc)
        log.info("conn ingest of %s: staged path (%s)", cfg.source.path, why)
        return None
    finally:
        for table in [*plan.reader_tables(), _NEW_REJECTS]:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    result, ranges = found[0]
    manifest.record(plan.files, ranges, run_id)  # after the write: an entry never claims days the raw table lacks
    result.files_unchanged = manifest.not_read(plan.files)
    return result


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
    if cfg.source.type != "synthetic_zeek":
        manifest = FileManifest(con, cfg.name, RAW_TABLE, partition_keys)
        direct = _ingest_direct(con, cfg, partition_keys, manifest, run_id)
        if direct is not None:
            direct.seconds = time.perf_counter() - start
            return direct
    try:
        if manifest is None:
            result = _stage_synthetic(con, cfg, partition_keys)
        else:
            result = _stage_files(con, cfg, manifest, run_id)
        columns = ", ".join([*CONN_COLUMNS, *PROVENANCE_COLUMNS])
        read_files = [str(f["path"]) for f in result.files]
        result.written = replace_partitions(
            con, cfg.name, RAW_TABLE, "day", partition_keys, f"SELECT {columns} FROM {_STAGING}",
            compression=RAW_CONN_COMPRESSION,
            before_commit=None if manifest is None else lambda c: _replace_file_rejects(c, cfg, read_files),
        )
        if manifest is not None:  # after the write: an entry never claims days the raw table lacks
            manifest.record(read_files, table_day_ranges(con, _STAGING), run_id)
        by_day = [
            (None if d is None else d.isoformat(), n)
            for d, n in con.execute(f"SELECT day, count(*) FROM {_STAGING} GROUP BY day ORDER BY day").fetchall()
        ]
    finally:
        for table in (_STAGING, _NEW_REJECTS):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    keyset = set(partition_keys)
    result.rows_by_day = {d: int(n) for d, n in by_day if d in keyset}
    result.method = "generated" if manifest is None else "staged"
    result.out_of_range = int(sum(n for d, n in by_day if d not in keyset))
    result.seconds = time.perf_counter() - start
    return result
