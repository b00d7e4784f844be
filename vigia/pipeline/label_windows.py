"""Labels from a separate file of anomaly intervals (incident logs, red-team schedules, NAB's label windows).

``label_windows: PATH`` in a dataset file replaces the per-record label: a row of the window table is
positive (``label`` 1, ``attack_type`` = the interval's note) when its time span overlaps an interval of
its entity (or an interval that names no entity), else 0. A window row spans ``[window_start,
window_end)``; an event row (the events kind) is the instant ``ts``.

Formats (by suffix):

* CSV with a header: ``start``, ``end`` and optionally ``entity`` and ``note``.
* JSON: a list of ``[start, end]`` pairs or of ``{"start", "end", "entity"?, "note"?}`` objects, or a mapping
  ``{entity: [intervals]}``. A mapping key may be a file path, as in NAB's ``combined_windows.json``:
  ``realKnownCause/machine_temperature_system_failure.csv`` matches the entity (sensor series)
  ``machine_temperature_system_failure`` because, without its suffix, it ends with ``/<entity>``.

Times are ISO-8601 (``2014-02-07 14:55:00.000000``; an offset is converted to UTC) or epoch seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from vigia.sources.number_text import EPOCH_TEXT
from vigia.sources.text_encoding import decode_text, replace_lone_surrogates

LABEL_WINDOW_KINDS = ("network_conn", "sensor_timeseries", "api_events")
_SCHEMA = {"start": pl.Datetime("us"), "end": pl.Datetime("us"), "entity": pl.String, "note": pl.String}
_VIEW = "__vigia_label_windows"


@dataclass(frozen=True)
class LabelStats:
    """What applying the intervals did to the requested days' rows."""

    intervals: int
    rows: int
    positive_rows: int
    intervals_used: int  # intervals overlapping at least one row of these days




def _time(value: Any, where: str) -> datetime:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{where}: not a time: {value!r}")
    if isinstance(value, str) and EPOCH_TEXT.fullmatch(value.strip()):  # CSV cells are text: "1541117137.5"
        value = float(value)
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError) as exc:  # 1e300, nan
            raise ValueError(f"{where}: epoch seconds {value!r} out of range") from exc
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValueError(f"{where}: not an ISO-8601 time or epoch seconds: {value!r}") from exc
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _interval(item: Any, entity: str | None, where: str) -> dict[str, Any]:
    if isinstance(item, list | tuple) and len(item) == 2:
        start, end, note = item[0], item[1], None
    elif isinstance(item, dict) and "start" in item and "end" in item:
        start, end, note = item["start"], item["end"], item.get("note")
        entity = item.get("entity", entity)
    else:
        raise ValueError(f"{where}: expected [start, end] or {{start, end, entity?, note?}}, got {item!r}")
    row = {"start": _time(start, where), "end": _time(end, where), "entity": entity, "note": note}
    if row["end"] < row["start"]:
        raise ValueError(f"{where}: end {end!r} is before start {start!r}")
    row["entity"] = None if row["entity"] is None else str(row["entity"])
    row["note"] = None if row["note"] is None else str(row["note"])
    return row


def read_label_windows(path: str | Path) -> pl.DataFrame:
    """The intervals of ``path`` as a frame (``start``, ``end``, ``entity``, ``note``); errors name the file
    and the entry."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"label_windows file not found: {path}")
    rows: list[dict[str, Any]] = []
    if path.suffix.lower() == ".json":
        data = json.loads(decode_text(path.read_bytes()))  # UTF-8, or UTF-16/32 announced by a byte-order mark
        data, _ = replace_lone_surrogates(data)  # a "\\ud800" escape: U+FFFD, as in the event reader
        if isinstance(data, dict):
            for key, items in data.items():
                if not isinstance(items, list):
                    raise ValueError(f"{path}: entry {key!r} must be a list of intervals")
                rows += [_interval(it, str(key), f"{path}: {key!r}[{i}]") for i, it in enumerate(items)]
        elif isinstance(data, list):
            rows += [_interval(it, None, f"{path}: [{i}]") for i, it in enumerate(data)]
        else:
            raise ValueError(f"{path}: expected a JSON list or mapping of intervals")
    elif path.suffix.lower() == ".csv":
        frame = pl.read_csv(decode_text(path.read_bytes()).encode(), infer_schema=False)
        missing = [c for c in ("start", "end") if c not in frame.columns]
        if missing:
            raise ValueError(f"{path}: missing columns {missing} (has {frame.columns})")
        for i, rec in enumerate(frame.iter_rows(named=True)):
            item = {k: v for k, v in rec.items() if k in ("start", "end", "entity", "note") and v not in (None, "")}
            rows.append(_interval({"start": None, "end": None, **item}, None, f"{path}: line {i + 2}"))
    else:
        raise ValueError(f"{path}: label_windows must be a .csv or .json file")
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row")


def apply_label_windows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    intervals: pl.DataFrame,
    *,
    entity_column: str,
    days: list[str],
) -> LabelStats:
    """Set ``label`` and ``attack_type`` of ``table``'s rows of ``days`` from ``intervals`` (one UPDATE)."""
    columns = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    span = ("window_start", "window_end") if {"window_start", "window_end"} <= columns else ("ts", None)
    windows = intervals.with_columns(
        pl.col("entity").str.replace(r"\.[^./]*$", "").alias("stem"), pl.int_range(pl.len()).alias("i")
    )
    start, end = span
    ent = f'CAST(t."{entity_column}" AS VARCHAR)'
    overlap = f'w.start < t.{end} AND w."end" >= t.{start}' if end else f't.{start} BETWEEN w.start AND w."end"'
    match = (
        f"{overlap} AND (w.entity IS NULL OR w.entity = {ent} OR w.stem = {ent} "
        f"OR ends_with(w.stem, '/' || {ent}))"
    )
    sets = [f"label = CASE WHEN EXISTS (SELECT 1 FROM {_VIEW} w WHERE {match}) THEN 1 ELSE 0 END"]
    if "attack_type" in columns:
        sets.append(f"attack_type = (SELECT min(w.note) FROM {_VIEW} w WHERE {match})")
    marks = ", ".join("?" for _ in days)
    in_days = f"strftime(t.day, '%Y-%m-%d') IN ({marks})"
    con.register(_VIEW, windows.to_arrow())
    try:
        con.execute(f"UPDATE {table} AS t SET {', '.join(sets)} WHERE {in_days}", days)
        rows, positive = con.execute(
            f"SELECT count(*), count(*) FILTER (label = 1) FROM {table} t WHERE {in_days}", days
        ).fetchall()[0]
        used = con.execute(
            f"SELECT count(DISTINCT w.i) FROM {_VIEW} w JOIN {table} t ON {match} WHERE {in_days}", days
        ).fetchall()[0][0]
    finally:
        con.unregister(_VIEW)
    return LabelStats(intervals=intervals.height, rows=int(rows), positive_rows=int(positive), intervals_used=int(used))


def label_frame(frame: pl.DataFrame, intervals: pl.DataFrame, *, entity_column: str) -> pl.DataFrame:
    """``frame`` (rows with ``day``) with ``label`` and ``attack_type`` set from ``intervals`` by the rule of
    :func:`apply_label_windows`, run on an in-memory copy (row order kept)."""
    if frame.height == 0:
        return frame
    con = duckdb.connect()
    try:
        con.register("__vigia_frame", frame.with_row_index("__row").to_arrow())
        con.execute("CREATE TABLE labelled AS SELECT * FROM __vigia_frame")
        con.unregister("__vigia_frame")
        days = sorted({d.isoformat() for d in frame["day"].unique().drop_nulls().to_list()})
        apply_label_windows(con, "labelled", intervals, entity_column=entity_column, days=days)
        out = con.sql("SELECT * FROM labelled ORDER BY __row").pl()
    finally:
        con.close()
    return out.drop("__row").cast(dict(frame.schema))
