"""Load API / application events for daily partitions into ``<dataset>.raw_events`` (+ rejects).

Sources: the synthetic API-event generator (each day generated deterministically), NDJSON / JSON-array
exports (``event_files``), or an OpenSearch cluster (``opensearch``): the daily index of each requested
day (``source.params.index_template``, e.g. ``events-{day:%Y%m%d}``) is downloaded with point-in-time +
``search_after`` (scroll as a fallback) into ``data/raw/<dataset>/<days>/<index>.ndjson`` and read like a file
(only the files this run downloaded; an index that exists but is empty gives its day 0 rows, not an error).
Malformed events go to ``raw_events_rejects`` with their reason; read = accepted + rejected. Events whose
``label`` is outside the vocabulary are kept with a null label (noted in ``notes``) and counted in a warning.
"""

from __future__ import annotations

import logging
import string
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from vigia.config import DEFAULT_INDEX_TEMPLATE, DatasetConfig
from vigia.events.files import EVENT_COLUMNS, canonical_events, read_event_files
from vigia.events.synth import generate_api_events
from vigia.paths import data_dir
from vigia.pipeline.file_manifest import FileManifest, frame_day_ranges
from vigia.pipeline.ingest import IngestResult, day_seed, ensure_rejects_table, replace_rejects
from vigia.warehouse.duck import ensure_schema, write_frame_partitions

if TYPE_CHECKING:
    from vigia.sources.opensearch import DownloadResult

LOG = logging.getLogger("vigia.opensearch")  # captured into the run log (dagster.yaml: managed_python_loggers)
EVENTS_LOG = logging.getLogger("vigia.events")
RAW_TABLE = "raw_events"
REJECTS_TABLE = "raw_events_rejects"
EVENT_EVIDENCE_COLUMNS = ("event_id", "ts", "client_ip", "user_name", "method", "path", "query", "status",
                          "user_agent", "service", "raw_record")  # fmt: skip


def _synthetic(cfg: DatasetConfig, keys: list[str]) -> pl.DataFrame:
    params = dict(cfg.source.params)
    n = int(params.pop("events_per_day", 50_000))
    frames = []
    for key in keys:
        day = date.fromisoformat(key)
        raw = generate_api_events(datetime.combine(day, datetime.min.time()), n, day_seed(cfg.seed, day), **params)
        frames.append(canonical_events(raw))
    return pl.concat(frames, how="diagonal_relaxed").with_columns(pl.lit("synthetic").alias("source_file"))


def opensearch_index(cfg: DatasetConfig, day: str) -> str:
    template = str(cfg.source.params.get("index_template", DEFAULT_INDEX_TEMPLATE))
    return template.format(day=date.fromisoformat(day))


def index_pattern(cfg: DatasetConfig) -> str:
    """The ``index_template`` as an index pattern: each ``{day...}`` field becomes ``*`` (``events-*``)."""
    template = str(cfg.source.params.get("index_template", DEFAULT_INDEX_TEMPLATE))
    return "".join(text + ("*" if name is not None else "") for text, name, _, _ in string.Formatter().parse(template))


def index_days(cfg: DatasetConfig, indices: list[str]) -> dict[str, str]:
    """``{index: day}`` of the indices that are some configured day's daily index."""
    by_index = {opensearch_index(cfg, d.isoformat()): d.isoformat() for d in cfg.partitions.days()}
    return {name: by_index[name] for name in indices if name in by_index}


def download_day_indices(cfg: DatasetConfig, keys: list[str], landing: Path | None = None) -> list[DownloadResult]:
    """Download the daily index of each requested day from OpenSearch (settings from ``VIGIA_OPENSEARCH_*``)
    into one landing folder per run's day range (checkpoints make reruns resume); returns one result per index,
    whose ``path`` is the file this run wrote (other files in the folder are not this run's)."""
    from vigia.sources.opensearch import OpenSearchSettings, download_index, make_client

    settings = OpenSearchSettings.from_env()
    client = make_client(settings)
    landing = landing or data_dir() / "raw" / cfg.name / f"{keys[0]}_{keys[-1]}"
    landing.mkdir(parents=True, exist_ok=True)
    results = []
    for key in keys:
        index = opensearch_index(cfg, key)
        checkpoint = landing / f"{index}.checkpoint"

        def progress(done: int, total: int | None, index: str = index) -> None:
            LOG.info("downloading %s: %d of %s documents", index, done, total if total is not None else "?")

        result = download_index(
            client, index, landing / f"{index}.ndjson", settings=settings, checkpoint_path=checkpoint, progress=progress
        )
        LOG.info("downloaded %s: %d documents in %.1f s (%s, resumed=%s)", index, result.docs, result.seconds,
                 result.method, result.resumed)  # fmt: skip
        if result.docs == 0:
            LOG.warning("index %s exists but holds no documents: %s is ingested with 0 rows", index, key)
        results.append(result)
    return results


def _downloaded_files(results: list[DownloadResult]) -> tuple[Path, Callable[[Path], bool]] | None:
    """(landing folder, ``skip``) reading only the files this run downloaded with documents in them (not other
    files left in the folder by earlier runs); None when every index was empty."""
    wanted = {r.path.resolve() for r in results if r.docs > 0}
    if not wanted:
        return None
    return results[0].path.parent, lambda f: f.resolve() not in wanted


def with_event_day(frame: pl.DataFrame) -> pl.DataFrame:
    """Event times as naive UTC and their ``day`` (the partition key)."""
    ts = pl.col("ts").dt.replace_time_zone(None)
    return frame.with_columns(ts, ts.dt.date().alias("day"))


def ingest_events(
    con: duckdb.DuckDBPyConnection,
    cfg: DatasetConfig,
    partition_keys: list[str],
    run_id: str,
    files: Path | None = None,
) -> IngestResult:
    """Stage the events (synthetic, downloaded, or the given / configured files), then swap in the days."""
    if not partition_keys:
        raise ValueError("ingest needs at least one daily partition key")
    start = time.perf_counter()
    ensure_schema(con, cfg.name)
    ensure_rejects_table(con, cfg.name, REJECTS_TABLE)
    rejects, reasons, manifest, read_files, truncated_files, unknown_labels = None, {}, None, [], [], 0
    empty_indices: list[str] = []
    if cfg.source.type == "synthetic_api":
        frame = _synthetic(cfg, partition_keys)
        read = frame.height
    else:
        source, skip = files, None
        if files is None and cfg.source.type == "opensearch":
            downloads = download_day_indices(cfg, partition_keys)
            empty_indices = [r.index for r in downloads if r.docs == 0]
            source, skip = _downloaded_files(downloads) or (None, None)
        elif files is None:  # the configured export folder: remember which days each file holds
            manifest = FileManifest(con, cfg.name, RAW_TABLE, partition_keys)
            source, skip = cfg.source.path, manifest.skip
        if source is None:  # every index of the run exists but is empty: quiet days, not an error
            frame, read = pl.DataFrame(schema=EVENT_COLUMNS), 0
        else:
            result = read_event_files(source, dataset=cfg.name, run_id=run_id, skip=skip)
            frame, rejects, read, read_files = result.events, result.rejects, result.read, result.files
            truncated_files, unknown_labels = result.truncated_files, result.unknown_labels
            if result.unknown_labels:
                EVENTS_LOG.warning(
                    "%d events have a label outside the vocabulary (1 / true / malicious / anomalous / anomaly /"
                    " attack, 0 / false / benign / normal): stored as unknown (null), see their notes in %s.%s",
                    result.unknown_labels, cfg.name, RAW_TABLE,
                )  # fmt: skip
            reasons = dict(rejects.group_by(pl.col("reason").str.split(":").list.first()).len().iter_rows())
    missing = [pl.lit(None, dtype).alias(c) for c, dtype in EVENT_COLUMNS.items() if c not in frame.columns]
    frame = frame.with_columns(missing).select(list(EVENT_COLUMNS))
    frame = with_event_day(frame)
    if rejects is not None:  # each file read replaces its earlier rejects: a re-run does not duplicate them
        replace_rejects(con, cfg.name, REJECTS_TABLE, rejects, files=list(read_files))
    written = write_frame_partitions(con, cfg.name, RAW_TABLE, frame, partition_keys)
    if manifest is not None:  # after the write: an entry never claims days the raw table lacks
        manifest.record(read_files, frame_day_ranges(frame), run_id)
    keyset = set(partition_keys)
    rows_by_day = {str(d): int(n) for d, n in frame.group_by("day").len().iter_rows() if str(d) in keyset}
    return IngestResult(
        read=read,
        accepted=frame.height,
        rejected=0 if rejects is None else rejects.height,
        written=written,
        out_of_range=frame.height - sum(rows_by_day.values()),
        rows_by_day=dict(sorted(rows_by_day.items())),
        rejects_by_reason={str(k): int(v) for k, v in reasons.items()},
        files=[{"index": name, "docs": 0, "note": "the index exists but is empty: 0 rows"} for name in empty_indices],
        files_unchanged=[] if manifest is None else manifest.not_read(read_files),
        truncated_files=truncated_files,
        unknown_labels=unknown_labels,
        seconds=time.perf_counter() - start,
    )


def day_bounds(day: str) -> tuple[datetime, datetime]:
    start = datetime.combine(date.fromisoformat(day), datetime.min.time())
    return start, start + timedelta(days=1)
