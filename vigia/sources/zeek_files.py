"""Parse Zeek conn logs (TSV, JSON, CSV, Parquet, IoT-23 labelled) into a DuckDB staging table, with rejects.

Heavy lifting happens in DuckDB: Zeek TSV and CSV go through ``read_csv`` with ``store_rejects`` (the reader
itself rejects wrong field counts and, in a TSV, which it types, non-numeric / out-of-range ports and counts,
with line numbers), then one SQL pass types, normalises and validates the rest (a CSV's cells as text, by the
line parser's rules). JSON, IoT-23's space-packed label fields and files
the fast reader refuses are split line by line in Python and validated by the same SQL.
Invariant per file: ``read`` (data lines, not header/comment/blank lines) = ``accepted`` + ``rejected``.
"""

from __future__ import annotations

import datetime as dt
import mmap
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from vigia.schema import CONN_COLUMNS, PROVENANCE_COLUMNS, REJECT_COLUMNS, REQUIRED_CONN_FIELDS
from vigia.sources.compressed import GzipStream, read_gzip
from vigia.sources.errors import SourceError
from vigia.sources.text_encoding import as_utf8, file_encoding, marked_encoding
from vigia.sources.zeek_pyparse import TextRows, iter_lines, map_fields, parse_csv, parse_json, parse_tsv
from vigia.sources.zeek_sniff import FileSpec, discover_files, sniff
from vigia.sources.zeek_sql import READER_TYPES, qcol, qident, qpath, qstr, reader_rejects_select, validated_select

__all__ = ["FastRead", "FileStats", "ParseResult", "SourceError", "fast_read", "has_later_header", "needs_utf8_copy",
           "parse_conn_files"]

_EXTRA_COLUMNS = {"_reason": "VARCHAR", "_ln": "BIGINT", "_raw": "VARCHAR"}
_BUFFER = "_vigia_reader_rejects"
_RJ, _RS, _PY = "_vigia_rj", "_vigia_rs", "_vigia_py_rows"


@dataclass
class FileStats:
    """Counts for one input file."""

    path: str
    format: str
    read: int = 0
    accepted: int = 0
    rejected: int = 0


@dataclass
class ParseResult:
    """Outcome of ``parse_conn_files``: totals, reject reason codes, per-file stats and ignored source fields."""

    read: int
    accepted: int
    rejected: int
    rejects_by_reason: dict[str, int]
    files: list[FileStats]
    ignored_fields: list[str] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)  # Zeek logs of another kind (``#path`` not conn)
    truncated_files: list[str] = field(default_factory=list)  # gzip cut short: the lines before the cut are read
    other_log_records: dict[str, int] = field(default_factory=dict)  # JSON records of other logs (``_path``)


@dataclass
class _Ctx:
    con: duckdb.DuckDBPyConnection
    staging: str
    ignored: dict[str, None] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)
    other_logs: dict[str, int] = field(default_factory=dict)


def _columns_sql(columns: dict[str, str]) -> str:
    return ", ".join(f"{qident(c)} {t}" for c, t in columns.items())


def _missing(present: set[str]) -> list[str]:
    return [c for c in REQUIRED_CONN_FIELDS if c not in present]


def _reject_whole_file(ctx: _Ctx, spec: FileSpec, missing: list[str]) -> None:
    """Every data line of a file lacking required fields goes to rejects."""
    reason = f"missing required fields: {', '.join(missing)}"
    src = str(spec.path)
    if spec.format == "parquet":
        ctx.con.execute(
            f"INSERT INTO {_BUFFER} SELECT ?, NULL, ?, left(CAST(to_json(p) AS VARCHAR), 2000) "
            f"FROM read_parquet({qpath(src)}) p",
            [src, reason],
        )
        return
    rows = []
    for i, (ln, _, shown) in enumerate(iter_lines(spec.path)):
        if shown == "" or (spec.format.startswith("zeek") and shown.startswith("#")):
            continue
        if spec.format == "csv" and i == 0:
            continue
        if spec.format == "json" and not shown.strip():
            continue
        rows.append((src, ln, reason, shown[:2000]))
    if rows:
        ctx.con.executemany(f"INSERT INTO {_BUFFER} VALUES (?, ?, ?, ?)", rows)


def _insert(ctx: _Ctx, select: str) -> tuple[int, int]:
    """Append a validated SELECT to staging; returns the new rows' rowid range [start, end)."""
    start = ctx.con.execute(f"SELECT count(*) FROM {ctx.staging}").fetchall()[0][0]
    ctx.con.execute(f"INSERT INTO {ctx.staging} {select}")
    end = ctx.con.execute(f"SELECT count(*) FROM {ctx.staging}").fetchall()[0][0]
    return start, end


def _load_text_rows(ctx: _Ctx, spec: FileSpec, rows: TextRows) -> None:
    ctx.ignored.update(dict.fromkeys(rows.ignored))
    missing = _missing(set(rows.columns))
    if missing:
        _reject_whole_file(ctx, spec, missing)
        return
    ctx.con.register(_PY, rows.frame())
    try:
        select = validated_select(
            _PY, {c: f"c_{c}" for c in rows.columns}, text=True, source_file=str(spec.path),
            field_names=rows.field_names, extra="_ln, _raw, _pre",
        )
        _insert(ctx, select)
    finally:
        ctx.con.unregister(_PY)


def _load_python(ctx: _Ctx, spec: FileSpec) -> None:
    if spec.format == "json":
        rows, _ = parse_json(spec, ctx.truncated)
        for log, n in rows.other_logs.items():
            ctx.other_logs[log] = ctx.other_logs.get(log, 0) + n
        _load_text_rows(ctx, spec, rows)
    elif spec.format == "csv":
        _load_text_rows(ctx, spec, parse_csv(spec, ctx.truncated))
    else:
        _load_text_rows(ctx, spec, parse_tsv(spec, ctx.truncated))


def _load_parquet(ctx: _Ctx, spec: FileSpec) -> None:
    src = qpath(str(spec.path))
    names = [r[0] for r in ctx.con.execute(f"DESCRIBE SELECT * FROM read_parquet({src})").fetchall()]
    _, seen, ignored = map_fields(names)
    ctx.ignored.update(dict.fromkeys(ignored))
    missing = _missing(set(seen))
    if missing:
        _reject_whole_file(ctx, spec, missing)
        return
    columns = {col: f"CAST({qcol(name)} AS VARCHAR)" for col, name in seen.items()}
    source = f"(SELECT *, CAST(to_json(p) AS VARCHAR) AS __raw FROM read_parquet({src}) p)"
    extra = "NULL::BIGINT AS _ln, left(__raw, 2000) AS _raw, NULL::VARCHAR AS _pre"
    _insert(ctx, validated_select(source, columns, text=True, source_file=str(spec.path), field_names=seen,
                                  extra=extra))


@dataclass
class FastRead:
    """DuckDB's typed reader of one Zeek TSV / CSV file, and the validated SELECT over it."""

    spec: FileSpec
    select: str  # validated_select over the reader: CONN_COLUMNS + day + source_file + (_reason, _ln, _raw)
    rejects: str  # the reader's store_rejects table
    scan: str  # the reader's rejects_scan table
    field_names: dict[str, str]  # canonical column -> the file's field name
    ignored: list[str]  # the file's fields that map to no column
    expected: int  # fields per line

    @property
    def tsv(self) -> bool:
        return self.spec.format == "zeek_tsv"

    def rejects_select(self) -> str:
        """One (line_number, raw, reason) row per line the reader rejected (comment lines of a TSV dropped)."""
        return reader_rejects_select(self.rejects, self.expected, self.field_names, comment=self.tsv)


def fast_read(spec: FileSpec, rejects: str = _RJ, scan: str = _RS) -> FastRead | None:
    """The typed reader of a Zeek TSV or a CSV with a header; None when the file lacks a required field."""
    positions, seen, ignored = map_fields(spec.fields)
    if _missing(set(seen)):
        return None
    tsv = spec.format == "zeek_tsv"
    names = [col or f"_x{i}" for i, col in enumerate(positions)]
    # A Zeek TSV is typed by the reader (its values are Zeek's own). A CSV comes from anywhere (a pandas export
    # writes 80.0 for a port, a time may be ISO text): its values stay text and get the line parser's rules.
    types = {n: READER_TYPES.get(n, "VARCHAR") if tsv else "VARCHAR" for n in names}
    if tsv and "ts" in types:
        types["ts"] = "DOUBLE"
    struct = "{" + ", ".join(f"{qstr(n)}: {qstr(t)}" for n, t in types.items()) + "}"
    quote = "''" if tsv else "'\"'"
    nulls = f"[{qstr(spec.unset)}]" if tsv else "['', '-']"
    src = str(spec.path)
    # Stated, not detected: DuckDB detects gzip from the name, and a "?" in it hides the ".gz".
    compression = "'gzip'" if spec.gzipped else "'none'"
    reader = (
        f"read_csv({qpath(src)}, columns={struct}, delim={qstr(spec.separator)}, header={'false' if tsv else 'true'}, "
        f"quote={quote}, escape={quote}, auto_detect=false, nullstr={nulls}, compression={compression}, "
        "store_rejects=true, "
        f"rejects_table={qstr(rejects)}, rejects_scan={qstr(scan)}, rejects_limit=0)"
    )
    select = validated_select(reader, {c: qident(c) for c in seen}, text=not tsv, source_file=src,
                              field_names=seen, empty=spec.empty if tsv else None)
    return FastRead(spec, select, rejects, scan, seen, list(ignored), len(positions))


def _load_fast(ctx: _Ctx, spec: FileSpec) -> None:
    """Typed DuckDB read_csv + store_rejects for Zeek TSV and CSV; falls back to Python on reader failure."""
    read = fast_read(spec)
    if read is None:
        _, seen, ignored = map_fields(spec.fields)
        ctx.ignored.update(dict.fromkeys(ignored))
        _reject_whole_file(ctx, spec, _missing(set(seen)))
        return
    ctx.ignored.update(dict.fromkeys(read.ignored))
    src = str(spec.path)
    ctx.con.execute(f"DROP TABLE IF EXISTS {_RJ}; DROP TABLE IF EXISTS {_RS}")
    try:
        start, end = _insert(ctx, read.select)
    except duckdb.Error:
        _load_python(ctx, spec)
        return
    ctx.con.execute(
        f"INSERT INTO {_BUFFER} SELECT ?, line_number, reason, left(raw, 2000) FROM ({read.rejects_select()})", [src]
    )
    ctx.con.execute(f"DROP TABLE IF EXISTS {_RJ}; DROP TABLE IF EXISTS {_RS}")
    if read.tsv:
        rejected = ctx.con.execute(f"SELECT count(*) FROM {_BUFFER} WHERE source_file = ?", [src]).fetchall()[0][0]
        if has_later_header(spec, rejected):  # the reader mapped every line with the first header
            ctx.con.execute(f"DELETE FROM {ctx.staging} WHERE rowid >= ? AND rowid < ?", [start, end])
            ctx.con.execute(f"DELETE FROM {_BUFFER} WHERE source_file = ?", [src])
            _load_python(ctx, spec)
            return
    _locate_sql_rejects(ctx, spec, start, end, read.tsv)


def has_later_header(spec: FileSpec, rejected: int) -> bool:
    """Whether a Zeek TSV whose lines the fast reader rejected holds a second, different ``#fields`` header (logs
    concatenated across a Zeek upgrade: the lines under it have another field count, or, where the reader
    met it first, a value of the wrong type). Scanned only when the reader rejected at least two lines (one
    is the usual partial last line of a log still being written)."""
    if rejected < 2:
        return False
    prefix = "#fields" + spec.separator
    if spec.path.name.endswith(".gz"):
        return len({shown for _, _, shown in iter_lines(spec.path) if shown.startswith(prefix)}) > 1
    head = prefix.encode()
    with spec.path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:  # ~1 s per GB

        def line_at(start: int) -> bytes:
            end = data.find(b"\n", start)
            return data[start : end if end >= 0 else len(data)].rstrip(b"\r")

        headers = {line_at(0)} if data[: len(head)] == head else set()
        at = data.find(b"\n" + head)
        while at >= 0 and len(headers) < 2:
            headers.add(line_at(at + 1))
            at = data.find(b"\n" + head, at + 1)
        return len(headers) > 1


def _locate_sql_rejects(ctx: _Ctx, spec: FileSpec, start: int, end: int, tsv: bool) -> None:
    """Give SQL-level rejects of a fast-path file their line number and text (k-th row = k-th data line)."""
    wanted = {
        r[0] - start
        for r in ctx.con.execute(
            f"SELECT rowid FROM {ctx.staging} WHERE _reason IS NOT NULL AND rowid >= ? AND rowid < ?", [start, end]
        ).fetchall()
    }
    if not wanted:
        return
    skip = {r[0] for r in ctx.con.execute(f"SELECT line_number FROM {_BUFFER} WHERE source_file = ?",
                                          [str(spec.path)]).fetchall()}
    found: list[tuple[int, int, str]] = []
    k = 0
    for ln, _, shown in iter_lines(spec.path):
        if shown == "" or (tsv and shown.startswith("#")) or (not tsv and ln == 1) or ln in skip:
            continue
        if k in wanted:
            found.append((k + start, ln, shown[:2000]))
        k += 1
    ctx.con.executemany(f"UPDATE {ctx.staging} SET _ln = ?, _raw = ? WHERE rowid = ?",
                        [(ln, raw, rid) for rid, ln, raw in found])


def _load(ctx: _Ctx, spec: FileSpec) -> None:
    if spec.format == "parquet":
        _load_parquet(ctx, spec)
    elif spec.format in ("zeek_tsv", "csv") and spec.fields:
        _load_fast(ctx, spec)
    elif spec.format == "csv":
        return  # no header, no data
    else:
        _load_python(ctx, spec)


def needs_utf8_copy(path: Path) -> bool:
    """Whether ``path`` (gzipped or not) starts with a UTF-16 or UTF-32 byte-order mark, which the readers
    cannot parse: :func:`parse_conn_files` reads a UTF-8 copy of such a file."""
    if path.name.endswith(".gz"):
        try:
            head = next(GzipStream(path).chunks(), b"")
        except SourceError:
            return False  # not readable as gzip: the normal read reports it
        return marked_encoding(head[:4]) in ("utf-16", "utf-32")
    return file_encoding(path) in ("utf-16", "utf-32")


def _utf8_copy(path: Path, folder: Path, truncated: list[str]) -> Path:
    """``path`` itself, or, for a file whose byte-order mark says UTF-16 or UTF-32 (Windows exports; Zeek
    writes UTF-8), a UTF-8 copy in ``folder``, which the readers then parse. A gzipped one is decompressed
    into the copy (named without ``.gz``); when its stream was cut short the copy is appended to ``truncated``."""
    if not needs_utf8_copy(path):
        return path
    folder.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        data, cut = read_gzip(path)
        copy = folder / path.name.removesuffix(".gz")
        copy.write_bytes(as_utf8(data))
        if cut:
            truncated.append(str(copy))
        return copy
    with path.open(encoding=file_encoding(path), errors="replace", newline="") as src, (folder / path.name).open(
        "w", encoding="utf-8", newline=""
    ) as dst:
        shutil.copyfileobj(src, dst)
    return folder / path.name


def _code(reason: str) -> str:
    return reason.split(":", 1)[0].strip()


def parse_conn_files(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    *,
    dataset: str,
    run_id: str,
    staging_table: str,
    rejects_table: str,
    skip: Callable[[Path], bool] | None = None,
) -> ParseResult:
    """Parse every conn log under ``path`` into TEMP table ``staging_table``; rejects go to ``rejects_table``
    (created if missing; a TEMP table when named ``temp.main.<name>``).

    The rejects of each file read replace that file's earlier rejects, so re-running an ingest does not
    duplicate them. The connection's time zone is set to UTC.

    ``skip(file)`` true: the file is not read, e.g. an unchanged file that holds none of the requested
    days. Raises ``SourceError`` (naming the path) when the path is missing, holds no conn files, or no
    data rows (files passed over by ``skip`` are not an error).
    """
    files = discover_files(path)
    staging, rejects = qident(staging_table), qident(rejects_table)
    con.execute("SET TimeZone = 'UTC'")  # a Parquet TIMESTAMPTZ column is read as text in the session's zone
    temp = rejects_table.removeprefix("temp.main.")
    create = f"TEMP TABLE IF NOT EXISTS {qident(temp)}" if temp != rejects_table else f"TABLE IF NOT EXISTS {rejects}"
    con.execute(f"CREATE {create} ({_columns_sql(REJECT_COLUMNS)})")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {staging} "
        f"({_columns_sql({**CONN_COLUMNS, **PROVENANCE_COLUMNS, **_EXTRA_COLUMNS})})"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_BUFFER} "
        "(source_file VARCHAR, line_number BIGINT, reason VARCHAR, raw_record VARCHAR)"
    )
    ctx = _Ctx(con, staging)
    unchanged = {f for f in files if skip is not None and skip(f)}
    with tempfile.TemporaryDirectory(prefix="vigia-utf8-") as scratch:
        copies = {
            f: _utf8_copy(f, Path(scratch) / str(i), ctx.truncated) for i, f in enumerate(files) if f not in unchanged
        }
        original = {str(copy): str(f) for f, copy in copies.items()}
        sniffed = [sniff(copy) for copy in copies.values()]
        specs = [s for s in sniffed if s.log_path in (None, "conn")]
        skipped = [f"{original[str(s.path)]} ({s.log_path} log)" for s in sniffed if s.log_path not in (None, "conn")]
        if not specs and not unchanged:
            raise SourceError(f"no conn logs in {path}: only other Zeek logs ({', '.join(skipped)})")
        for spec in specs:
            _load(ctx, spec)
    for copy, source in original.items():  # rows, rejects and notes name the source file, not the UTF-8 copy
        if copy != source:
            for table in (staging, _BUFFER):
                con.execute(f"UPDATE {table} SET source_file = ? WHERE source_file = ?", [source, copy])
    ctx.truncated = [original.get(t, t) for t in ctx.truncated]
    for spec in specs:
        spec.path = Path(original[str(spec.path)])
    counts: dict[str, list[int]] = {str(s.path): [0, 0] for s in specs}
    for src, ok, n in con.execute(
        f"SELECT source_file, _reason IS NULL, count(*) FROM {staging} GROUP BY ALL"
    ).fetchall():
        counts[src][0 if ok else 1] += n
    for src, n in con.execute(f"SELECT source_file, count(*) FROM {_BUFFER} GROUP BY ALL").fetchall():
        counts[src][1] += n
    reasons: dict[str, int] = {}
    for reason, n in con.execute(
        f"SELECT _reason, count(*) FROM {staging} WHERE _reason IS NOT NULL GROUP BY ALL "
        f"UNION ALL SELECT reason, count(*) FROM {_BUFFER} GROUP BY ALL"
    ).fetchall():
        reasons[_code(reason)] = reasons.get(_code(reason), 0) + n
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    # The rejects table holds each file's rejects from its latest read: a re-read replaces them.
    read_files = [str(s.path) for s in specs]
    if read_files:
        con.execute(f"DELETE FROM {rejects} WHERE dataset = ? AND list_contains(?, source_file)", [dataset, read_files])
    con.execute(
        f"INSERT INTO {rejects} SELECT ?, source_file, _ln, _reason, left(_raw, 2000), ?, ? FROM {staging} "
        f"WHERE _reason IS NOT NULL ORDER BY source_file, _ln",
        [dataset, run_id, now],
    )
    con.execute(
        f"INSERT INTO {rejects} SELECT ?, source_file, line_number, reason, raw_record, ?, ? FROM {_BUFFER} "
        "ORDER BY source_file, line_number",
        [dataset, run_id, now],
    )
    con.execute(f"DELETE FROM {staging} WHERE _reason IS NOT NULL")
    for col in _EXTRA_COLUMNS:
        con.execute(f"ALTER TABLE {staging} DROP COLUMN {col}")
    con.execute(f"DROP TABLE IF EXISTS {_BUFFER}")
    stats = [FileStats(str(s.path), s.format, sum(counts[str(s.path)]), *counts[str(s.path)]) for s in specs]
    result = ParseResult(
        read=sum(s.read for s in stats),
        accepted=sum(s.accepted for s in stats),
        rejected=sum(s.rejected for s in stats),
        rejects_by_reason=dict(sorted(reasons.items())),
        files=stats,
        ignored_fields=list(ctx.ignored),
        skipped_files=skipped,
        truncated_files=sorted(set(ctx.truncated)),
        other_log_records=dict(sorted(ctx.other_logs.items())),
    )
    if result.read == 0 and not unchanged:
        cut = f"; gzip cut short: {', '.join(result.truncated_files)}" if result.truncated_files else ""
        raise SourceError(f"no data rows in conn source {path} ({len(files)} file(s), header/comment lines only{cut})")
    return result
