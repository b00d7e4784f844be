"""Which day partitions of a file-backed daily dataset need a run because source files arrived or changed.

Used by ``<ds>_new_files_sensor`` (Zeek, sensor and event file sources). Dagster-free: the caller passes
what it knows of the warehouse as functions (is a day a partition, when was a day's raw partition last
written). The state kept between evaluations (the sensor's cursor) is one ``SeenFile`` per path.

Rules:

* A file modified less than ``settle_s`` seconds ago may still be being written: it is waited for.
* A new or changed file is read once (``probe``: the dataset's own reader, in memory, never the
  warehouse) for the first and last day of its accepted records. A file that cannot be read is
  remembered with the reason and read again only once it changes; one without accepted records needs
  nothing.
* Each day (first..last) of a file read in this evaluation that is a partition needs a run. On the
  first evaluation (no state: the sensor turned on over an archive), and for days that waited, a day
  whose raw partition was written after the file's modification time is already ingested and is not
  requested. (Later arrivals are always requested: a file copied with its old modification time, or
  arriving just after its day's run, would otherwise be missed.) Days after the last partition
  (today's data) wait for it to exist; days outside the partitions' range are reported and dropped.
* Needed days are grouped into runs of consecutive days, one request each.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from vigia.config import DatasetConfig
from vigia.pipeline.file_manifest import DayRange, frame_day_ranges, table_day_ranges

FILE_SOURCE_TYPES = ("zeek_files", "sensor_files", "event_files")


@dataclass(frozen=True)
class SeenFile:
    """What an earlier evaluation learnt of one file (dates as ISO strings, JSON-ready)."""

    size: int
    mtime_ns: int
    first_day: str | None = None
    last_day: str | None = None
    rows: int = 0
    done: bool = False  # every day handled (requested, already current, or out of range)
    error: str | None = None

    def days(self) -> list[str]:
        if self.first_day is None or self.last_day is None:
            return []
        first, last = date.fromisoformat(self.first_day), date.fromisoformat(self.last_day)
        return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


@dataclass(frozen=True)
class DayRun:
    """One run to request: consecutive days and the files that need them."""

    start: str
    end: str
    files: list[str]
    digest: str  # of the files' paths, sizes and modification times: one request per state


@dataclass
class ArrivalPlan:
    runs: list[DayRun] = field(default_factory=list)
    seen: dict[str, SeenFile] = field(default_factory=dict)  # the next state
    settling: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)  # probe budget spent: next evaluation
    unreadable: dict[str, str] = field(default_factory=dict)  # read this evaluation and failed
    empty: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)  # days already written after their files changed
    waiting: list[str] = field(default_factory=list)  # days that are not partitions yet
    out_of_range: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for a skip reason."""
        return self.notes() or "no new or changed files"

    def notes(self) -> str:
        """What was waited for, dropped or found already done ("" when nothing was)."""
        parts = []
        if self.settling:
            parts.append(f"waiting for {_names(self.settling)} to settle")
        if self.deferred:
            parts.append(f"{len(self.deferred)} file(s) left for the next evaluation")
        if self.unreadable:
            parts.append("unreadable: " + "; ".join(f"{Path(p).name}: {e}" for p, e in self.unreadable.items()))
        if self.empty:
            parts.append(f"no accepted records in {_names(self.empty)}")
        if self.current:
            parts.append(f"already ingested after the files changed: {describe_days(self.current)}")
        if self.waiting:
            parts.append(f"days not yet a partition: {describe_days(self.waiting)}")
        if self.out_of_range:
            parts.append(f"days outside the partitions: {describe_days(self.out_of_range)}")
        return "; ".join(parts)


def _names(paths: list[str], limit: int = 5) -> str:
    names = [Path(p).name for p in paths[:limit]]
    return ", ".join(names) + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def describe_days(days: list[str]) -> str:
    """A day, or the first and last of several with their count, for a log line."""
    days = sorted(set(days))
    return days[0] if len(days) == 1 else f"{days[0]}..{days[-1]} ({len(days)} days)"


def encode_seen(seen: Mapping[str, SeenFile]) -> dict[str, dict[str, object]]:
    return {path: asdict(entry) for path, entry in seen.items()}


def decode_seen(raw: Mapping[str, Mapping[str, object]]) -> dict[str, SeenFile]:
    return {path: SeenFile(**entry) for path, entry in raw.items()}  # type: ignore[arg-type]


def plan_arrivals(
    files: Iterable[Path],
    seen: Mapping[str, SeenFile],
    *,
    probe: Callable[[Path], DayRange],
    is_partition: Callable[[str], bool],
    after_last_partition: Callable[[str], bool],
    written_at: Callable[[list[str]], Mapping[str, float]],
    settle_s: float,
    budget_s: float,
    first_evaluation: bool,
    now: float | None = None,
) -> ArrivalPlan:
    """Decide the runs (see the module docstring). ``written_at(days)``: epoch seconds of the latest raw
    materialization of each of those days that has one. ``probe`` may raise; its message is kept.
    ``first_evaluation``: there is no earlier state, so files already ingested cannot be told from new ones
    but by the write times."""
    now = time.time() if now is None else now
    plan = ArrivalPlan()
    started, probed = time.perf_counter(), 0
    for path in sorted(files):
        key = str(path.resolve())  # the same key whatever the working directory
        try:
            st = path.stat()
        except FileNotFoundError:  # removed since it was listed
            continue
        prev = seen.get(key)
        if prev is not None and (prev.size, prev.mtime_ns) == (st.st_size, st.st_mtime_ns):
            plan.seen[key] = prev
            continue
        if now - st.st_mtime_ns / 1e9 < settle_s:
            plan.settling.append(key)
            continue
        if probed and time.perf_counter() - started > budget_s:  # at least one file per evaluation
            plan.deferred.append(key)
            continue
        probed += 1
        try:
            first, last, rows = probe(path)
        except Exception as exc:  # any reader failure is reported with its type, never raised
            text = str(exc).splitlines()[0][:300] if str(exc) else ""
            message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
            plan.seen[key] = SeenFile(st.st_size, st.st_mtime_ns, done=True, error=message)
            plan.unreadable[key] = message
            continue
        plan.seen[key] = SeenFile(st.st_size, st.st_mtime_ns, _iso(first), _iso(last), rows, done=rows == 0)
        if rows == 0:
            plan.empty.append(key)
    pending = {k: v for k, v in plan.seen.items() if not v.done}
    needed: dict[str, list[str]] = {}
    forced: set[str] = set()  # days of files that arrived or changed since the last evaluation
    for key, entry in pending.items():
        waits = False
        for day in entry.days():
            if is_partition(day):
                needed.setdefault(day, []).append(key)
                if not first_evaluation and seen.get(key) != entry:
                    forced.add(day)
            elif after_last_partition(day):
                waits = True
                plan.waiting.append(day)
            else:
                plan.out_of_range.append(day)
        plan.seen[key] = SeenFile(**{**asdict(entry), "done": not waits})
    written = written_at(sorted(set(needed) - forced))
    run_days = []
    for day, keys in sorted(needed.items()):
        newest = max(plan.seen[k].mtime_ns for k in keys) / 1e9
        if day not in forced and day in written and written[day] >= newest:
            plan.current.append(day)
        else:
            run_days.append(day)
    plan.runs = [_day_run(group, needed, plan.seen) for group in _consecutive(run_days)]
    return plan


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _consecutive(days: list[str]) -> list[list[str]]:
    groups: list[list[str]] = []
    for day in days:
        if groups and date.fromisoformat(day) - date.fromisoformat(groups[-1][-1]) == timedelta(days=1):
            groups[-1].append(day)
        else:
            groups.append([day])
    return groups


def _day_run(days: list[str], needed: Mapping[str, list[str]], seen: Mapping[str, SeenFile]) -> DayRun:
    files = sorted({k for d in days for k in needed[d]})
    state = "\n".join(f"{k}\t{seen[k].size}\t{seen[k].mtime_ns}" for k in files)
    return DayRun(days[0], days[-1], files, hashlib.sha256(state.encode()).hexdigest()[:16])


def source_files(cfg: DatasetConfig) -> list[Path]:
    """The files the dataset's ingest would consider (raises ``SourceError`` when there are none)."""
    assert cfg.source.path is not None
    if cfg.source.type == "zeek_files":
        from vigia.sources.zeek_sniff import discover_files

        return discover_files(cfg.source.path)
    if cfg.source.type == "sensor_files":
        from vigia.timeseries.sensor_files import discover_sensor_files

        return discover_sensor_files(cfg.source.path)
    if cfg.source.type == "event_files":
        from vigia.events.files import event_files

        return event_files(cfg.source.path)
    raise ValueError(f"source type {cfg.source.type!r} is not one of {FILE_SOURCE_TYPES}")


def probe_file_days(cfg: DatasetConfig, path: Path) -> DayRange:
    """First and last day of ``path``'s accepted records, and their count, read by the dataset's own reader
    in memory (the warehouse is not opened)."""
    if cfg.source.type == "zeek_files":
        return _zeek_days(cfg, path)
    if cfg.source.type == "sensor_files":
        from vigia.pipeline.sensor_ingest import read_sensor_source

        frame = read_sensor_source(cfg, "probe", path).frame
        return _only(frame_day_ranges(frame.with_columns(pl.col("ts").dt.date().alias("day"))))
    if cfg.source.type == "event_files":
        from vigia.events.files import read_event_files
        from vigia.pipeline.events_ingest import with_event_day

        return _only(frame_day_ranges(with_event_day(read_event_files(path, dataset=cfg.name, run_id="probe").events)))
    raise ValueError(f"source type {cfg.source.type!r} is not one of {FILE_SOURCE_TYPES}")


def _only(ranges: Mapping[str, DayRange]) -> DayRange:
    """The day range of the one file read (none when it had no accepted record)."""
    return next(iter(ranges.values()), (None, None, 0))


def _zeek_days(cfg: DatasetConfig, path: Path) -> DayRange:
    import tempfile

    import duckdb

    from vigia.sources.zeek_files import parse_conn_files

    with tempfile.TemporaryDirectory(prefix="vigia-probe-") as spill:
        con = duckdb.connect(config={"memory_limit": "1GB", "temp_directory": spill})
        try:
            parse_conn_files(
                con, path, dataset=cfg.name, run_id="probe", staging_table="probe_staging",
                rejects_table="probe_rejects",
            )  # fmt: skip
            return _only(table_day_ranges(con, "probe_staging"))
        finally:
            con.close()
