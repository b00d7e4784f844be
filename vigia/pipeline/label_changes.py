"""Which days' window labels went stale because a dataset's ``label_windows`` file changed.

Used by ``<ds>_label_windows_sensor``. Dagster-free: the caller passes the file reader and what it knows of
the warehouse as functions (is a day a partition, when were a day's features last written). The state kept
between evaluations (the sensor's cursor) is one :class:`LabelFileState`.

Rules:

* A file modified less than ``settle_s`` seconds ago may still be being written: it is waited for.
* The file is read only when its size or modification time changed. A file that cannot be read is
  reported with the reason and read again once it changes; the days known before stay the reference.
* Each day gets a digest of the intervals that can label its windows: an interval ``[start, end]`` can
  reach the windows that start from ``start - lead`` (``lead``: the span of one window, so a window that
  begins the day before and overlaps the interval counts) to ``end``. The days whose digest changed,
  appeared or disappeared are the candidates. On the first evaluation (no state: the sensor turned on
  over processed days) the candidates are the days of the current intervals.
* A candidate that is a partition needs relabelling when its features were written before the file's
  modification time. One written after it already used this file; one never written gets its labels when
  it is first processed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import polars as pl

from vigia.config import DatasetConfig
from vigia.pipeline.file_arrivals import describe_days


@dataclass(frozen=True)
class LabelFileState:
    """What the last evaluation learnt of the file (JSON-ready)."""

    size: int
    mtime_ns: int
    days: dict[str, str] | None  # day -> digest of its intervals; None until the file was read once
    error: str | None = None


@dataclass
class RelabelPlan:
    state: LabelFileState | None  # the next state (None: still nothing known)
    days: list[str] = field(default_factory=list)  # to relabel, sorted
    current: list[str] = field(default_factory=list)  # changed, but their features are newer than the file
    not_processed: list[str] = field(default_factory=list)  # changed partitions whose features were never written
    outside: int = 0  # changed days that are not partitions
    message: str = ""  # why nothing is to be done

    def summary(self) -> str:
        """One line for a skip reason or a log entry."""
        parts = [self.message] if self.message else []
        if self.current:
            parts.append(f"features already newer than the file: {describe_days(self.current)}")
        if self.not_processed:
            parts.append(f"not processed yet (labelled when they are): {describe_days(self.not_processed)}")
        if self.outside:
            parts.append(f"{self.outside} changed day(s) outside the partitions")
        return "; ".join(parts) or "no labelled day changed"


def window_span(cfg: DatasetConfig) -> timedelta:
    """How long before an interval a window can start and still overlap it (0 for event rows, instants)."""
    if cfg.kind == "sensor_timeseries":
        return timedelta(seconds=cfg.series.window * cfg.series.freq_seconds)
    if cfg.kind == "network_conn":
        return timedelta(seconds=cfg.window.size_seconds)
    return timedelta(0)


def interval_day_digests(intervals: pl.DataFrame, lead: timedelta) -> dict[str, str]:
    """Per day whose windows an interval can label, a digest of those intervals (start, end, entity, note)."""
    per_day: dict[str, list[str]] = {}
    for start, end, entity, note in intervals.select("start", "end", "entity", "note").iter_rows():
        text = f"{start.isoformat()}|{end.isoformat()}|{entity}|{note}"
        day, last = (start - lead).date(), end.date()
        while day <= last:
            per_day.setdefault(day.isoformat(), []).append(text)
            day += timedelta(days=1)
    return {d: hashlib.sha256("\n".join(sorted(t)).encode()).hexdigest()[:16] for d, t in per_day.items()}


def changed_days(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """Days whose digest differs, or that only one of the two knows."""
    return sorted(d for d in set(old) | set(new) if old.get(d) != new.get(d))


def plan_relabel(
    path: Path,
    previous: LabelFileState | None,
    *,
    read: Callable[[Path], pl.DataFrame],
    lead: timedelta,
    is_partition: Callable[[str], bool],
    written_at: Callable[[list[str]], Mapping[str, float]],
    settle_s: float,
    now: float | None = None,
) -> RelabelPlan:
    """Decide the days to relabel (see the module docstring). ``written_at(days)``: epoch seconds of the latest
    features materialization of each of those days that has one. ``read`` may raise; its message is kept."""
    now = time.time() if now is None else now
    try:
        st = path.stat()
    except FileNotFoundError:
        return RelabelPlan(previous, message=f"label_windows file not found: {path}")
    if previous is not None and (previous.size, previous.mtime_ns) == (st.st_size, st.st_mtime_ns):
        return RelabelPlan(previous, message="label_windows file unchanged")
    if now - st.st_mtime_ns / 1e9 < settle_s:
        return RelabelPlan(previous, message=f"waiting for {path.name} to settle")
    known = None if previous is None else previous.days
    try:
        intervals = read(path)
    except Exception as exc:  # any reader failure is reported (its first line), never raised
        text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        return RelabelPlan(LabelFileState(st.st_size, st.st_mtime_ns, known, text), message=f"unreadable: {text}")
    digests = interval_day_digests(intervals, lead)
    plan = RelabelPlan(LabelFileState(st.st_size, st.st_mtime_ns, digests))
    candidates = sorted(digests) if known is None else changed_days(known, digests)
    partitions = [d for d in candidates if is_partition(d)]
    plan.outside = len(candidates) - len(partitions)
    written = written_at(partitions)
    changed_at = st.st_mtime_ns / 1e9
    for day in partitions:
        if day not in written:
            plan.not_processed.append(day)
        elif written[day] >= changed_at:
            plan.current.append(day)
        else:
            plan.days.append(day)
    return plan


def encode_state(state: LabelFileState | None) -> dict[str, object] | None:
    return None if state is None else {"size": state.size, "mtime_ns": state.mtime_ns, "days": state.days,
                                       "error": state.error}  # fmt: skip


def decode_state(raw: Mapping[str, object] | None) -> LabelFileState | None:
    if raw is None:
        return None
    return LabelFileState(**raw)  # type: ignore[arg-type]
