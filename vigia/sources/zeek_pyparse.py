"""Line-by-line Python parsing for the formats DuckDB's CSV reader cannot take as is.

Used for Zeek JSON, IoT-23 ``conn.log.labeled`` (three-space separated label fields) and as a fallback for
TSV/CSV files the fast reader refuses (e.g. mixed line endings). Produces text values per canonical column plus
``_ln`` (physical line), ``_raw`` (line text) and ``_pre`` (structural reject reason); typing happens in SQL.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from vigia.sources.compressed import GzipStream
from vigia.sources.text_encoding import may_hold_lone_surrogate, replace_lone_surrogates
from vigia.sources.zeek_sniff import FileSpec
from vigia.sources.zeek_sql import canonical

_PACKED = re.compile(r" {2,}")


@dataclass
class TextRows:
    """Parsed rows of one file: columns (canonical -> values), line numbers, raw lines, pre-reasons."""

    columns: list[str]
    field_names: dict[str, str]
    ignored: list[str]
    values: dict[str, list[str | None]] = field(default_factory=dict)
    ln: list[int] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    pre: list[str | None] = field(default_factory=list)
    other_logs: dict[str, int] = field(default_factory=dict)  # JSON records of another log (``_path``), skipped

    def add(self, ln: int, raw: str, pre: str | None, row: dict[str, str | None] | None) -> None:
        self.ln.append(ln)
        self.raw.append(raw[:2000])
        self.pre.append(pre)
        for col in self.columns:
            self.values[col].append(None if row is None else row.get(col))

    def frame(self) -> pl.DataFrame:
        data: dict[str, pl.Series] = {f"c_{c}": pl.Series(self.values[c], dtype=pl.String) for c in self.columns}
        data["_ln"] = pl.Series(self.ln, dtype=pl.Int64)
        data["_raw"] = pl.Series(self.raw, dtype=pl.String)
        data["_pre"] = pl.Series(self.pre, dtype=pl.String)
        return pl.DataFrame(data)


def iter_lines(path: Path, truncated: list[str] | None = None) -> Iterator[tuple[int, str | None, str]]:
    """(1-based line number, decoded text or None if not UTF-8, text with replacements) per physical line.

    A gzip file cut short yields the lines before the cut (the last one maybe partial) and, when
    ``truncated`` is given, appends the path to it.
    """
    if path.name.endswith(".gz"):
        stream = GzipStream(path)
        yield from _decoded(stream.lines())
        if stream.truncated and truncated is not None:
            truncated.append(str(path))
        return
    with open(path, "rb") as fh:
        yield from _decoded(fh)


def _decoded(lines: Iterable[bytes]) -> Iterator[tuple[int, str | None, str]]:
    for i, line in enumerate(lines, start=1):
        line = line.rstrip(b"\r\n")
        if i == 1:
            line = line.removeprefix(codecs.BOM_UTF8)  # a byte-order mark (files saved by Windows editors)
        try:
            text = line.decode("utf-8")
            yield i, text, text
        except UnicodeDecodeError:
            yield i, None, line.decode("utf-8", errors="replace")


def map_fields(names: list[str]) -> tuple[list[str | None], dict[str, str], list[str]]:
    """Per-position canonical column (None = ignored / duplicate), canonical -> original name, ignored names."""
    seen: dict[str, str] = {}
    positions: list[str | None] = []
    ignored: list[str] = []
    for name in names:
        col = canonical(name)
        if col is None or col in seen:
            positions.append(None)
            ignored.append(name)
        else:
            seen[col] = name
            positions.append(col)
    return positions, seen, ignored


def _start(names: list[str]) -> tuple[TextRows, list[str | None]]:
    positions, seen, ignored = map_fields(names)
    rows = TextRows(columns=list(seen), field_names=seen, ignored=ignored)
    rows.values = {c: [] for c in rows.columns}
    return rows, positions


def _switch_fields(rows: TextRows, names: list[str]) -> list[str | None]:
    """A later ``#fields`` header (logs of two Zeek versions concatenated): the positions of its fields, with
    canonical columns it adds appended to ``rows`` (unset for the rows before)."""
    positions, seen, ignored = map_fields(names)
    for col, name in seen.items():
        if col not in rows.values:
            rows.columns.append(col)
            rows.values[col] = [None] * len(rows.ln)
        rows.field_names.setdefault(col, name)
    rows.ignored += [name for name in ignored if name not in rows.ignored]
    return positions


def parse_tsv(spec: FileSpec, truncated: list[str] | None = None) -> TextRows:
    """Zeek TSV (optionally with space-packed trailing fields) line by line. A ``#fields`` line after the
    first header (logs concatenated across a Zeek upgrade that added a field) re-maps the lines below it."""
    rows, positions = _start(spec.fields)
    n = len(positions)
    packed = spec.format == "zeek_tsv_packed"
    headers = 0
    for ln, text, shown in iter_lines(spec.path, truncated):
        if shown.startswith("#fields"):
            headers += 1
            names = shown.split(spec.separator)[1:]
            if packed:
                names = [part for name in names for part in _PACKED.split(name.strip())]
            if headers > 1 and names != spec.fields:
                positions = _switch_fields(rows, names)
                n = len(positions)
            continue
        if shown == "" or shown.startswith("#"):
            continue
        if text is None:
            rows.add(ln, shown, "bad_encoding: invalid UTF-8", None)
            continue
        parts = text.split(spec.separator)
        if packed:
            parts = [p for part in parts for p in _PACKED.split(part)]
        if len(parts) != n:
            rows.add(ln, text, f"wrong_field_count: expected {n} got {len(parts)}", None)
            continue
        row = {
            col: (None if v == spec.unset else "" if v == spec.empty else v)
            for col, v in zip(positions, parts, strict=True)
            if col is not None
        }
        rows.add(ln, text, None, row)
    return rows


def parse_csv(spec: FileSpec, truncated: list[str] | None = None) -> TextRows:
    """CSV with a header line; empty cells and ``-`` are NULL."""
    rows, positions = _start(spec.fields)
    n = len(positions)
    lines = iter_lines(spec.path, truncated)
    next(lines, None)
    for ln, text, shown in lines:
        if text == "":
            continue
        if text is None:
            rows.add(ln, shown, "bad_encoding: invalid UTF-8", None)
            continue
        try:
            parts = next(csv.reader([text]))
        except csv.Error:
            rows.add(ln, text, "malformed_line: csv", None)
            continue
        if len(parts) != n:
            rows.add(ln, text, f"wrong_field_count: expected {n} got {len(parts)}", None)
            continue
        row = {col: (None if v in ("", "-") else v) for col, v in zip(positions, parts, strict=True) if col is not None}
        rows.add(ln, text, None, row)
    return rows


def _flatten(obj: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_json(spec: FileSpec, truncated: list[str] | None = None) -> tuple[TextRows, set[str]]:
    """Zeek NDJSON logs; returns the rows and every key seen (to check required fields).

    A record whose ``_path`` names another log (dns, http, ...) is not a connection: it is counted in
    ``rows.other_logs``, neither accepted nor rejected.
    """
    parsed: list[tuple[int, str, str | None, dict[str, object] | None]] = []
    keys: dict[str, None] = {}
    other: dict[str, int] = {}
    for ln, text, shown in iter_lines(spec.path, truncated):
        if not shown.strip():
            continue
        if text is None:
            parsed.append((ln, shown, "bad_encoding: invalid UTF-8", None))
            continue
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):  # also a 4,300-digit integer or nesting too deep to parse
            obj = None
        if not isinstance(obj, dict):
            parsed.append((ln, text, "malformed_json", None))
            continue
        log = obj.get("_path")
        if isinstance(log, str) and log and log != "conn":  # a stream of several Zeek logs: not a connection
            other[log] = other.get(log, 0) + 1
            continue
        flat = _flatten(obj)
        if may_hold_lone_surrogate(text) and replace_lone_surrogates(flat)[1]:  # no UTF-8 text can hold it
            parsed.append((ln, text, "bad_encoding: lone UTF-16 surrogate escape", None))
            continue
        keys.update(dict.fromkeys(flat))
        parsed.append((ln, text, None, flat))
    rows, positions = _start(list(keys))
    lookup = {name: col for name, col in zip(keys, positions, strict=True) if col is not None}
    for ln, text, pre, flat in parsed:
        row = None if flat is None else {lookup[k]: _text(v) for k, v in flat.items() if k in lookup}
        rows.add(ln, text, pre, row)
    rows.other_logs = dict(sorted(other.items()))
    return rows, set(keys)
