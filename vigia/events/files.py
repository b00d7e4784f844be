"""Read API / application event exports (OpenSearch / Elasticsearch JSON) into a canonical polars frame.

Accepted layouts (gzip or plain, detected from the magic bytes):

* NDJSON: one JSON object per line (``.ndjson`` / ``.jsonl`` / ``.json``); a line holding an OpenSearch
  hit (``{"_source": {...}}``) contributes its ``_source``;
* a JSON array export: a top-level list, or a search response ``{"hits": {"hits": [...]}}``
  (each hit's ``_source`` when present), or an object with an ``events`` / ``data`` / ``records`` list.
  An object holding an event's own fields (``@timestamp`` / ``timestamp`` / ``url.path``) or a ``_source``
  is an event, never such a container, whatever its lists are called;
* a pretty-printed JSON document spanning the file is one document (a single event, an array, a response);
  an array cut short or broken part-way gives its complete items, the rest being one reject.

Nested objects are flattened to dotted keys (``{"client": {"ip": ...}}`` -> ``client.ip``; lists are
kept as JSON text) and the known ECS fields (:data:`EVENT_FIELD_MAP`) become the canonical columns of
:data:`EVENT_COLUMNS`; when several fields feed one column, the first of them in the map's order that is
present and not null wins (``@timestamp`` over ``timestamp``, ``event.id`` over ``_id``, ``client.ip`` over
``source.ip``), whatever the record's key order. Other flattened fields are kept as JSON text in ``extra``,
the original record text (truncated to ``raw_chars``) in ``raw_record`` for the anomaly export.

Bad input never raises (only a missing / empty path does, as :class:`SourceError`); it is recorded:

* a line that is not valid JSON, a value that is not an object, a record without ``@timestamp`` /
  ``url.path``, or with a mistyped field (``@timestamp`` not ISO-8601 text or an epoch number,
  ``http.response.status_code`` not an integer in RFC 9110's 100..599 (``"200"`` and ``200.0`` are; the
  same range as ``stg_events``' blocking check), ``event.duration`` not a finite number (Python's JSON
  reader accepts ``Infinity``, ``NaN`` and ``1e400``), text fields that are objects / lists) ->
  **rejected** into ``rejects`` (:data:`vigia.schema.REJECT_COLUMNS` layout) with the reason;
* a record over ``max_event_bytes`` -> **rejected** unparsed (reason gives the size; parsing a huge
  record to salvage it would cost memory, and a legitimate API event is far below 1 MB);
* a text field over ``max_field_chars`` (default 64 KiB) -> **accepted, truncated**, noted in ``notes``;
* bytes that are not valid UTF-8 -> **accepted**, decoded with U+FFFD replacement, noted in ``notes``
  (attack payloads often carry such bytes; dropping them would hide the very events to detect);
* a lone UTF-16 surrogate escape (``"\\ud800"``: legal JSON, but no Unicode text can hold it) ->
  **accepted**, the surrogate replaced with U+FFFD, noted in ``notes``;
* a ``label`` outside the vocabulary of :func:`_label_value` -> **accepted** with a null (unknown) label,
  noted in ``notes`` and counted in ``unknown_labels`` (a typo must not silently turn an attack into normal
  traffic, and the event itself is still worth scoring).

Epoch timestamps (numbers or digit text) are in seconds, milliseconds, microseconds or nanoseconds, the unit
told by the magnitude (:func:`_epoch_seconds`).

``read == accepted + rejected`` always holds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from vigia.schema import REJECT_COLUMNS
from vigia.sources.compressed import read_gzip
from vigia.sources.errors import SourceError
from vigia.sources.number_text import EPOCH_TEXT
from vigia.sources.text_encoding import (
    as_utf8,
    may_hold_lone_surrogate,
    replace_lone_surrogates,
    without_lone_surrogates,
)

EVENT_SUFFIXES = (".ndjson", ".jsonl", ".json", ".ndjson.gz", ".jsonl.gz", ".json.gz")

# dotted source field -> canonical column (first match wins when several map to one column)
EVENT_FIELD_MAP: dict[str, str] = {
    "@timestamp": "ts",
    "timestamp": "ts",
    "event.id": "event_id",
    "_id": "event_id",
    "client.ip": "client_ip",
    "source.ip": "client_ip",
    "user.name": "user_name",
    "http.request.method": "method",
    "url.path": "path",
    "url.query": "query",
    "http.request.body.content": "body",
    "http.response.status_code": "status",
    "user_agent.original": "user_agent",
    "event.duration": "duration_ms",
    "service.name": "service",
    "label": "label",
    "attack_type": "attack_type",
}
TEXT_FIELDS = (
    "event_id",
    "client_ip",
    "user_name",
    "method",
    "path",
    "query",
    "body",
    "user_agent",
    "service",
    "attack_type",
)
EVENT_COLUMNS: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "ts": pl.Datetime("us", "UTC"),
    "client_ip": pl.String(),
    "user_name": pl.String(),
    "method": pl.String(),
    "path": pl.String(),
    "query": pl.String(),
    "body": pl.String(),
    "status": pl.Int32(),
    "user_agent": pl.String(),
    "duration_ms": pl.Float64(),
    "service": pl.String(),
    "label": pl.Int8(),
    "attack_type": pl.String(),
    "extra": pl.String(),
    "notes": pl.String(),
    "raw_record": pl.String(),
    "source_file": pl.String(),
    "line_number": pl.Int64(),
}
REQUIRED_EVENT_FIELDS = ("ts", "path")
DEFAULT_MAX_FIELD_CHARS = 65_536
DEFAULT_RAW_CHARS = 2_000
SURROGATE_NOTE = "lone UTF-16 surrogates replaced with U+FFFD"
POSITIVE_LABELS = frozenset({"true", "malicious", "anomalous", "anomaly", "attack"})  # compared lower-cased
NEGATIVE_LABELS = frozenset({"false", "benign", "normal"})
# source fields whose presence makes an object an event (the required columns), never a container of events
_EVENT_MARKERS = tuple(k for k, c in EVENT_FIELD_MAP.items() if c in REQUIRED_EVENT_FIELDS)
_CONTAINER_KEYS = ("events", "data", "records")


@dataclass
class EventReadResult:
    """Accepted events (canonical columns), rejects (REJECT_COLUMNS layout) and counts."""

    events: pl.DataFrame
    rejects: pl.DataFrame
    read: int
    accepted: int
    rejected: int
    truncated: int = 0
    decoded_with_replacement: int = 0
    files: list[str] = field(default_factory=list)
    truncated_files: list[str] = field(default_factory=list)  # gzip cut short
    unknown_labels: int = 0  # accepted with a null label: the label value is outside the vocabulary

    def summary(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "truncated": self.truncated,
            "decoded_with_replacement": self.decoded_with_replacement,
            "unknown_labels": self.unknown_labels,
            "files": list(self.files),
            "reject_reasons": (
                dict(self.rejects.group_by("reason").len().sort("len", descending=True).iter_rows())
                if self.rejects.height
                else {}
            ),
        }


def flatten_event(obj: dict[str, Any], prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Nested dicts -> one level with dotted keys; lists and scalars kept as values."""
    if out is None:
        out = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            flatten_event(v, key + ".", out)
        else:
            out[key] = v
    return out


def event_files(path: str | Path) -> list[Path]:
    """The event files at ``path`` (a file, or every matching file below a folder, sorted)."""
    p = Path(path)
    if not p.exists():
        raise SourceError(f"event source path does not exist: {p}")
    if p.is_file():
        files = [p]
    else:
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.name.lower().endswith(EVENT_SUFFIXES))
        if not files:
            raise SourceError(f"no event files (*.ndjson, *.jsonl, *.json[.gz]) under {p}")
    if all(f.stat().st_size == 0 for f in files):
        raise SourceError(f"event source is empty: {p}")
    return files


def _read_bytes(path: Path, cut_short: list[str]) -> bytes:
    """The file's bytes, gunzipped when compressed; a gzip stream cut short gives what precedes the cut
    (the last line maybe partial, then rejected) and the path is appended to ``cut_short``."""
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        data, truncated = read_gzip(path)
        if truncated:
            cut_short.append(str(path))
    else:
        data = path.read_bytes()
    return as_utf8(data)  # UTF-8 without its byte-order mark, or UTF-16/32 announced by one


def _epoch_seconds(v: float) -> float:
    """An epoch number in seconds, its unit told by its magnitude as log tools do: below 1e11 seconds (up to
    the year 5138), below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds."""
    for limit, per_second in ((1e11, 1.0), (1e14, 1e3), (1e17, 1e6)):
        if abs(v) < limit:
            return v / per_second
    return v / 1e9


def _parse_ts(v: Any) -> datetime | None:
    """ISO-8601 text (no offset = UTC), or an epoch number (a JSON number or digit text) in s / ms / us / ns."""
    if isinstance(v, str):
        try:
            t = datetime.fromisoformat(v)
        except ValueError:
            if not EPOCH_TEXT.fullmatch(v.strip()):
                return None
            v = float(v)
        else:
            return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    if isinstance(v, int | float) and not isinstance(v, bool):
        try:
            return datetime.fromtimestamp(_epoch_seconds(v), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _label_value(v: Any) -> tuple[int | None, bool]:
    """``(label, recognised)`` of a ``label`` value: 1 for ``1`` / ``true`` / ``malicious`` / ``anomalous`` /
    ``anomaly`` / ``attack``, 0 for ``0`` / ``false`` / ``benign`` / ``normal`` (text case-insensitive, numbers
    also as text such as ``"1.0"``); null and empty text are no label; anything else is not recognised."""
    if isinstance(v, bool):
        return int(v), True
    if isinstance(v, str):
        s = v.strip().lower()
        if not s:
            return None, True
        if s in POSITIVE_LABELS or s in NEGATIVE_LABELS:
            return int(s in POSITIVE_LABELS), True
        try:
            v = float(s)
        except ValueError:
            return None, False
    if isinstance(v, int | float) and v in (0, 1):
        return int(v), True
    return None, False


class _Collector:
    def __init__(self, source: str, dataset: str, run_id: str, max_field_chars: int, raw_chars: int) -> None:
        self.source, self.dataset, self.run_id = source, dataset, run_id
        self.max_field_chars, self.raw_chars = max_field_chars, raw_chars
        self.cols: dict[str, list[Any]] = {c: [] for c in EVENT_COLUMNS}
        self.rejects: list[tuple[Any, ...]] = []
        self.read = self.truncated = self.replaced = self.unknown_labels = 0

    def reject(self, line_no: int, reason: str, raw: str) -> None:
        self.rejects.append((self.dataset, self.source, line_no, reason, raw[: self.raw_chars], self.run_id))

    def add(self, obj: Any, line_no: int, raw: str, notes: list[str]) -> None:
        if may_hold_lone_surrogate(raw):
            obj, changed = replace_lone_surrogates(obj)
            raw = without_lone_surrogates(raw)
            if changed:
                self.replaced += not notes
                notes.append(SURROGATE_NOTE)
        if not isinstance(obj, dict):
            self.reject(line_no, f"not a JSON object ({type(obj).__name__})", raw)
            return
        src = obj.get("_source")
        if isinstance(src, dict):
            event_id = obj.get("_id")
            obj = src
            if event_id is not None and "_id" not in obj:  # ``event.id``, when present, wins by precedence
                obj = {**obj, "_id": event_id}
        flat = flatten_event(obj)
        extra = {k: v for k, v in flat.items() if k not in EVENT_FIELD_MAP}
        row: dict[str, Any] = {}
        for k, c in EVENT_FIELD_MAP.items():  # the map's order is the precedence, not the record's key order
            if c not in row and flat.get(k) is not None:
                row[c] = flat[k]
        for c in REQUIRED_EVENT_FIELDS:
            if row.get(c) is None:
                name = "@timestamp" if c == "ts" else "url.path"
                self.reject(line_no, f"missing required field {name}", raw)
                return
        ts = _parse_ts(row["ts"])
        if ts is None:
            expected = "ISO-8601 text or epoch number expected"
            self.reject(line_no, f"bad @timestamp {str(row['ts'])[:40]!r} ({expected})", raw)
            return
        row["ts"] = ts
        for c in TEXT_FIELDS:
            v = row.get(c)
            if v is None or isinstance(v, str):
                continue
            if isinstance(v, dict | list) or (c in ("path", "method") and not isinstance(v, str)):
                self.reject(line_no, f"field {c} has type {type(v).__name__}, text expected", raw)
                return
            row[c] = str(v)
        status = row.get("status")
        if status is not None:
            digits = isinstance(status, str) and status.isdigit()
            if digits or (isinstance(status, float) and status.is_integer()):  # "200", or 200.0 as pandas writes it
                status = int(status)
            if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                self.reject(line_no, f"http.response.status_code {str(status)[:20]!r} is not an HTTP status", raw)
                return
            row["status"] = status
        dur = row.get("duration_ms")
        if dur is not None and (isinstance(dur, bool) or not isinstance(dur, int | float) or not math.isfinite(dur)):
            self.reject(line_no, f"event.duration {str(dur)[:20]!r} is not a finite number", raw)  # also Infinity
            return
        label = row.get("label")
        if label is not None:
            row["label"], known = _label_value(label)
            if not known:
                self.unknown_labels += 1
                notes.append(f"label {str(label)[:40]!r} not recognised: stored as unknown (null)")
        for c in ("body", "query", "path", "user_agent"):
            v = row.get(c)
            if v is not None and len(v) > self.max_field_chars:
                row[c] = v[: self.max_field_chars]
                notes.append(f"{c} truncated from {len(v)} to {self.max_field_chars} chars")
        if notes and any("truncated" in n for n in notes):
            self.truncated += 1
        cols = self.cols
        for c in EVENT_COLUMNS:
            if c in ("extra", "notes", "raw_record", "source_file", "line_number"):
                continue
            cols[c].append(row.get(c))
        cols["extra"].append(json.dumps(extra, ensure_ascii=False, default=str) if extra else None)
        cols["notes"].append("; ".join(notes) if notes else None)
        cols["raw_record"].append(raw[: self.raw_chars])
        cols["source_file"].append(self.source)
        cols["line_number"].append(line_no)

    def line(self, data: bytes, line_no: int, max_event_bytes: int) -> None:
        self.read += 1
        notes: list[str] = []
        if len(data) > max_event_bytes:
            preview = data[: self.raw_chars].decode("utf-8", errors="replace")
            self.reject(line_no, f"event of {len(data)} bytes exceeds max_event_bytes={max_event_bytes}", preview)
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("utf-8", errors="replace")
            notes.append("non-UTF-8 bytes replaced with U+FFFD")
            self.replaced += 1
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than the parser allows
            self.reject(line_no, _json_error(exc), text)
            return
        self.add(obj, line_no, text, notes)


def _has_field(obj: dict[str, Any], dotted: str) -> bool:
    """``dotted`` is a key of ``obj``, flat (``"url.path"``) or nested (``{"url": {"path": ...}}``)."""
    if dotted in obj:
        return True
    head, _, rest = dotted.partition(".")
    return bool(rest) and isinstance(obj.get(head), dict) and _has_field(obj[head], rest)


def _is_event(obj: dict[str, Any]) -> bool:
    """An object with an event's own fields or an OpenSearch hit's ``_source``: an event, not a container."""
    return isinstance(obj.get("_source"), dict) or any(_has_field(obj, f) for f in _EVENT_MARKERS)


def _document_items(doc: Any, spans_lines: bool) -> list[Any] | None:
    """The events of a JSON document read whole, or None to read the file line by line (NDJSON)."""
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        return None
    if not _is_event(doc):
        hits = doc.get("hits")
        if isinstance(hits, dict) and isinstance(hits.get("hits"), list):
            return hits["hits"]
        for key in _CONTAINER_KEYS:
            if isinstance(doc.get(key), list):
                return doc[key]
    return [doc] if spans_lines else None  # a pretty-printed event is one event, not one per line


def _array_prefix(text: str) -> tuple[list[Any], str] | None:
    """The complete items of a JSON array cut short (or broken part-way) and the unparsed rest; None when no
    item precedes the break or the array is complete (then followed by more data: read as lines)."""
    decoder = json.JSONDecoder()
    items: list[Any] = []
    i = text.index("[") + 1
    while True:
        i = _skip_space(text, i)
        try:
            item, end = decoder.raw_decode(text, i)
        except (ValueError, RecursionError):
            break
        items.append(item)
        i = _skip_space(text, end)
        if text[i : i + 1] == "]":
            return None
        if text[i : i + 1] != ",":
            break
        i += 1
    return (items, text[i:]) if items else None


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _iter_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    for i, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            yield i, line.rstrip(b"\r")


def _json_error(exc: Exception) -> str:
    """Reject reason for a line ``json.loads`` refused (not every refusal is a ``JSONDecodeError``)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"malformed JSON: {exc.msg} at column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "malformed JSON: nested too deeply to parse"
    return f"malformed JSON: {exc}"  # e.g. an integer literal over Python's 4,300-digit limit


def _read_one(data: bytes, col: _Collector, max_event_bytes: int) -> None:
    head = data.lstrip()[:1]
    items, tail = None, None
    if head in (b"[", b"{"):
        text = data.decode("utf-8", errors="replace")
        first_nl = data.find(b"\n")
        spans_lines = first_nl >= 0 and bool(data[first_nl:].strip())
        try:  # a JSON document spanning the file (array export, pretty-printed response or event)
            items = _document_items(json.loads(text), spans_lines)
        except (ValueError, RecursionError):
            prefix = _array_prefix(text) if head == b"[" else None
            if prefix is not None:  # an array export cut short: its complete items, the rest one reject
                items, tail = prefix
    if items is None:
        for line_no, line in _iter_lines(data):
            col.line(line, line_no, max_event_bytes)
        return
    for i, item in enumerate(items, start=1):
        raw = json.dumps(item, ensure_ascii=False, default=str)
        col.read += 1
        size = len(raw.encode("utf-8", "surrogatepass"))  # a lone surrogate is replaced later, in ``add``
        if size > max_event_bytes:
            preview = without_lone_surrogates(raw)
            col.reject(i, f"event of {size} bytes exceeds max_event_bytes={max_event_bytes}", preview)
            continue
        notes = ["non-UTF-8 bytes replaced with U+FFFD"] if "\ufffd" in raw else []
        col.replaced += bool(notes)
        col.add(item, i, raw, notes)
    if tail is not None:
        col.read += 1
        n, rest = len(items), f"{len(tail)} chars unread" if tail.strip() else "not closed"
        col.reject(n + 1, f"malformed JSON: array cut short or broken after item {n} ({rest})", tail)


def read_event_files(
    path: str | Path,
    *,
    dataset: str,
    run_id: str,
    max_event_bytes: int = 1_000_000,
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS,
    raw_chars: int = DEFAULT_RAW_CHARS,
    skip: Callable[[Path], bool] | None = None,
) -> EventReadResult:
    """Read every event file at ``path``; see the module docstring for the accept / reject rules.

    ``skip(file)`` true: the file is not read (an unchanged file holding none of the requested days).
    """
    files = [f for f in event_files(path) if skip is None or not skip(f)]
    frames, rejects, cut_short = [], [], []
    read = truncated = replaced = unknown_labels = 0
    now = datetime.now(UTC).replace(tzinfo=None)
    for f in files:
        col = _Collector(str(f), dataset, run_id, max_field_chars, raw_chars)
        _read_one(_read_bytes(f, cut_short), col, max_event_bytes)
        frames.append(pl.DataFrame(col.cols, schema=EVENT_COLUMNS))
        rejects += col.rejects
        read, truncated, replaced = read + col.read, truncated + col.truncated, replaced + col.replaced
        unknown_labels += col.unknown_labels
    events = pl.concat(frames) if frames else pl.DataFrame(schema=EVENT_COLUMNS)
    rej = pl.DataFrame(
        [(*r, now) for r in rejects],
        schema={k: v for k, v in _reject_schema().items()},
        orient="row",
    )
    return EventReadResult(
        events=events,
        rejects=rej,
        read=read,
        accepted=events.height,
        rejected=rej.height,
        truncated=truncated,
        decoded_with_replacement=replaced,
        files=[str(f) for f in files],
        truncated_files=cut_short,
        unknown_labels=unknown_labels,
    )


def _reject_schema() -> dict[str, pl.DataType]:
    types = {"VARCHAR": pl.String(), "BIGINT": pl.Int64(), "TIMESTAMP": pl.Datetime("us")}
    return {k: types[v] for k, v in REJECT_COLUMNS.items()}


def canonical_events(frame: pl.DataFrame) -> pl.DataFrame:
    """ECS dotted-column frame (e.g. :func:`vigia.events.synth.generate_api_events`) -> canonical columns."""
    out = []
    for src, dst in EVENT_FIELD_MAP.items():
        if src in frame.columns and dst not in [e.meta.output_name() for e in out]:
            out.append(pl.col(src).alias(dst))
    f = frame.select(out)
    casts = {c: t for c, t in EVENT_COLUMNS.items() if c in f.columns}
    f = f.with_columns(pl.col(c).cast(t) for c, t in casts.items() if c != "ts")
    if "ts" in f.columns:
        ts = pl.col("ts").dt.cast_time_unit("us")
        naive = getattr(f.schema["ts"], "time_zone", None) is None
        f = f.with_columns(ts.dt.replace_time_zone("UTC") if naive else ts.dt.convert_time_zone("UTC"))
    return f
