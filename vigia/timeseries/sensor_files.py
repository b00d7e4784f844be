"""Read sensor time series from CSV / Parquet files (or a folder of them), with rejects.

CSV: the separator (``,`` ``;`` or tab) is detected from the header line unless given. Lines are split
with polars string kernels (vectorised); a file holding double quotes goes through Python's ``csv``
module instead, record by record: a quoted field may hold a newline (the record is numbered by its first
line). Parquet columns are cast to text and go through the same validation, so both formats reject the
same way. Per file, every record (a non-blank line, or the lines of a quoted multi-line record) is either
accepted or rejected: ``read = accepted + rejected``.

Reject reasons: ``wrong_field_count``, ``unterminated_quote`` (a line cut inside a quoted field: the next
line ends the quote without giving a record of the header's width, or the file ends inside it; the line is
rejected and reading resumes on the next one), ``bad_timestamp`` (empty, unparseable, or outside
1990-01-01..2100-01-01 as for conn logs: an epoch in microseconds read as milliseconds), ``non_numeric_value``
(a value that is neither empty nor a finite number: ``inf`` and ``1e400`` too), ``value_out_of_range``
(a finite value beyond the float32 range, ±3.4e38, in which windows are held, such as a historian's
``1.797e308`` "bad quality" sentinel: it would become an infinite window value), ``non_numeric_label``
and ``duplicate_timestamp`` (a timestamp already seen in the same file: the first row is kept).

Value columns are the same for every file of a source, whichever of them a run reads (see
``read_sensor_files``); none may take a name in ``RESERVED_COLUMNS``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from vigia.schema import REJECT_COLUMNS
from vigia.schema import RESERVED_SENSOR_COLUMNS as RESERVED_COLUMNS
from vigia.sources.errors import SourceError
from vigia.sources.number_text import with_decimal_point
from vigia.sources.text_encoding import decode_text

MAX_ABS_VALUE = float(np.finfo(np.float32).max)  # the autoencoders read float32 windows: beyond it, infinite
# Accepted timestamps, as for conn logs (vigia.sources.zeek_sql._MIN_TS / _MAX_TS): an epoch in microseconds
# read as milliseconds lands in year ~52000, beyond what Python dates (and the day partitions) can hold.
MIN_TS, MAX_TS = dt.datetime(1990, 1, 1), dt.datetime(2100, 1, 1)

__all__ = [
    "MAX_TS",
    "MIN_TS",
    "RESERVED_COLUMNS",
    "SENSOR_EXTENSIONS",
    "SensorFileStats",
    "SensorReadResult",
    "discover_sensor_files",
    "read_sensor_files",
    "series_name",
]

SENSOR_EXTENSIONS: tuple[str, ...] = (".csv", ".txt", ".tsv", ".parquet", ".pq")
_MISSING_TOKENS = ["", "nan", "na", "n/a", "null", "none", "-"]
_TS_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%d.%m.%Y %H:%M:%S%.f",
    "%Y-%m-%d",
)
_TZ_FORMATS: tuple[str, ...] = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z")
_RAW_LIMIT = 2000


@dataclass
class SensorFileStats:
    """Counts for one input file."""

    path: str
    format: str
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    missing_columns: list[str] = field(default_factory=list)  # value columns the file lacks: null in its rows
    ignored_columns: list[str] = field(default_factory=list)  # columns that are not value columns: not read


@dataclass
class SensorReadResult:
    """Accepted rows (``ts``, value columns as Float64, ``label`` Int8, ``source_file``) and rejects."""

    frame: pl.DataFrame
    rejects: pl.DataFrame
    value_columns: list[str]
    files: list[SensorFileStats] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # per file: value columns it lacks, columns not read

    @property
    def read(self) -> int:
        return sum(f.read for f in self.files)

    @property
    def accepted(self) -> int:
        return self.frame.height

    @property
    def rejected(self) -> int:
        return self.rejects.height

    def rejects_by_reason(self) -> dict[str, int]:
        if self.rejects.is_empty():
            return {}
        counts = self.rejects.group_by("reason").len().sort("reason")
        return dict(zip(counts["reason"].to_list(), counts["len"].to_list(), strict=True))


def _natural_key(path: Path) -> list[list[object]]:
    return [[int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", part)] for part in path.parts]


def discover_sensor_files(path: str | Path) -> list[Path]:
    """The file itself, or the CSV / Parquet files in a folder and its subfolders (hidden ones skipped).

    Natural order of the relative paths: ``a/2.csv`` before ``a/10.csv`` before ``b/1.csv``.
    """
    p = Path(path)
    if not p.exists():
        raise SourceError(f"sensor source not found: {p}")
    if p.is_file():
        if p.stat().st_size == 0:
            raise SourceError(f"sensor source is empty: {p}")
        return [p]
    files = sorted(
        (
            f
            for f in p.rglob("*")
            if f.is_file()
            and f.suffix.lower() in SENSOR_EXTENSIONS
            and not any(part.startswith(".") for part in f.relative_to(p).parts)
            and f.stat().st_size > 0
        ),
        key=lambda f: _natural_key(f.relative_to(p)),
    )
    if not files:
        raise SourceError(f"no non-empty CSV / Parquet files in sensor source folder {p} or its subfolders")
    return files


def series_name(file: str | Path, source: str | Path) -> str:
    """The series (station) a file holds: its path under the source folder without the suffix (``valve1/0``).

    Two files with the same name in different subfolders are different series; a source that is a
    single file names its series after the file's stem.
    """
    f, root = Path(file), Path(source)
    relative = f.relative_to(root) if root.is_dir() and f.is_relative_to(root) else Path(f.name)
    return relative.with_suffix("").as_posix()


def _detect_separator(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (";", ",", "\t", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def _header_fields(line: str, sep: str) -> list[str]:
    """Stripped names of a header line (``csv`` rules when it holds a double quote)."""
    fields = next(csv.reader([line], delimiter=sep), []) if '"' in line else line.split(sep)
    return [h.strip() for h in fields]


def _file_header(path: Path, separator: str | None) -> list[str]:
    """The column names of a file, reading no more of it than the header needs."""
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            with path.open("rb") as fh:  # a path would be read as a glob pattern
                return list(pl.read_parquet_schema(fh))
        except Exception as exc:  # any reader failure makes the file unusable
            raise SourceError(f"cannot read Parquet sensor file {path}: {exc}") from exc
    data = b""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            data += chunk
            lines = decode_text(data).splitlines()
            first = next((i for i, line in enumerate(lines) if line.strip()), None)
            if first is not None and first + 1 < len(lines):  # complete: another line follows it
                break
    lines = decode_text(data).splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise SourceError(f"sensor file is empty: {path}")
    return _header_fields(lines[first], separator or _detect_separator(lines[first]))


def _ends_in_quote(text: str, sep: str) -> bool:
    """True when ``text`` ends inside a quoted field (a line after it would be swallowed into its last field)."""
    rows = list(csv.reader(io.StringIO(text + "\n\x00\n"), delimiter=sep))
    return not rows or rows[-1] != ["\x00"]


Record = tuple[int, str, list[str], str | None]  # first line number, raw text, fields, reject reason or None


def _quoted_records(lines: list[str], start: int, sep: str, n: int) -> list[Record]:
    """The records of ``lines[start:]`` read with ``csv`` (quoted fields may hold the separator and newlines).

    A record spanning lines is numbered by its first line. One that spans lines without having ``n`` fields,
    that reaches the end of the file inside a quote or that ``csv`` cannot read starts with a line cut inside
    a quoted field: that line alone is rejected (``unterminated_quote``) and reading resumes on the next line,
    so records written after the cut are kept. Blank lines are no records.
    """
    out: list[Record] = []
    i = start
    while i < len(lines):
        reader = csv.reader((lines[k] + "\n" for k in range(i, len(lines))), delimiter=sep)
        done, resume = 0, None
        try:
            for fields in reader:
                lo, hi, done = i + done, i + reader.line_num, reader.line_num
                text = "\n".join(lines[lo:hi])
                if (hi - lo > 1 and len(fields) != n) or (hi == len(lines) and _ends_in_quote(text, sep)):
                    resume = lo + 1
                    break
                if text.strip():
                    out.append((lo + 1, text, fields, None))
        except csv.Error:  # e.g. a field over csv's size limit: an unclosed quote swallowing the file
            resume = i + done + 1
        if resume is None:
            break
        out.append((resume, lines[resume - 1], [], "unterminated_quote"))
        i = resume
    return out


def _text_rows(path: Path, separator: str | None) -> tuple[list[str], pl.DataFrame]:
    """Header names and a frame ``_ln``, ``_raw``, ``_nf`` (field count), ``_pre`` (a reject reason found while
    splitting, else null) + one String column per header field."""
    text = decode_text(path.read_bytes())  # UTF-8, or UTF-16/32 announced by a byte-order mark
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise SourceError(f"sensor file is empty: {path}")
    sep = separator or _detect_separator(lines[first])
    header = _header_fields(lines[first], sep)
    n = len(header)
    if '"' in text:
        data = _quoted_records(lines, first + 1, sep, n)
        return header, pl.DataFrame(
            {
                "_ln": [d[0] for d in data],
                "_raw": [d[1] for d in data],
                "_nf": [len(d[2]) for d in data],
                "_pre": [d[3] for d in data],
                **{h: [d[2][j] if len(d[2]) == n else None for d in data] for j, h in enumerate(header)},
            },
            schema={"_ln": pl.Int64, "_raw": pl.String, "_nf": pl.Int64, "_pre": pl.String}
            | dict.fromkeys(header, pl.String),
        )
    raw = pl.DataFrame({"_ln": range(1, len(lines) + 1), "_raw": lines}, schema={"_ln": pl.Int64, "_raw": pl.String})
    raw = raw.slice(first + 1).filter(pl.col("_raw").str.strip_chars() != "")
    raw = raw.with_columns(
        _nf=(pl.col("_raw").str.count_matches(sep, literal=True) + 1).cast(pl.Int64), _pre=pl.lit(None, pl.String)
    )
    parts = pl.col("_raw").str.split_exact(sep, max(n - 1, 0)).struct.rename_fields(header)
    frame = raw.with_columns(parts.alias("_parts")).unnest("_parts")
    return header, frame


def _parquet_rows(path: Path) -> tuple[list[str], pl.DataFrame]:
    try:
        df = pl.read_parquet(path, glob=False)
    except Exception as exc:  # any reader failure makes the file unusable
        raise SourceError(f"cannot read Parquet sensor file {path}: {exc}") from exc
    header = df.columns
    text = df.select(pl.all().cast(pl.String))
    raw = pl.concat_str([pl.col(c).fill_null("") for c in header], separator=",") if header else pl.lit("")
    frame = text.with_columns(
        _ln=pl.int_range(1, df.height + 1, dtype=pl.Int64),
        _raw=raw,
        _nf=pl.lit(len(header), dtype=pl.Int64),
        _pre=pl.lit(None, pl.String),
    )
    return header, frame


def _parse_ts(col: pl.Expr, time_zone: str | None = None) -> pl.Expr:
    """UTC (naive) timestamps. Text without an offset is UTC, or, with ``time_zone``, local time there: the
    first of two equal local times in a file is the earlier instant (summer time), the second the later one
    (the hour repeated when clocks go back), and a local time that does not exist (skipped when clocks go
    forward) is null. ``Z`` and explicit offsets are honoured either way."""
    text = col.str.strip_chars()
    s = text.str.strip_suffix("Z")
    local = pl.coalesce([s.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in _TS_FORMATS])
    if time_zone is not None:
        second = pl.int_range(pl.len()).over(local) > 0
        ambiguous = pl.when(second).then(pl.lit("latest")).otherwise(pl.lit("earliest"))
        utc = local.dt.replace_time_zone(time_zone, ambiguous=ambiguous, non_existent="null")
        local = pl.when(text.str.ends_with("Z")).then(local).otherwise(
            utc.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        )
    aware = [
        s.str.to_datetime(fmt, strict=False, time_unit="us").dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        for fmt in _TZ_FORMATS
    ]
    return pl.coalesce([local, *aware])


_MIN_US, _MAX_US = ((t - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1) for t in (MIN_TS, MAX_TS))


def _epoch_ts(col: pl.Expr) -> pl.Expr:
    """Numeric timestamps: epoch seconds, or milliseconds when above 1e11; null outside ``MIN_TS``..``MAX_TS``
    (an epoch in microseconds or nanoseconds, read as milliseconds, would be a year beyond 9999)."""
    x = col.str.strip_chars().cast(pl.Float64, strict=False)
    us = pl.when(x.abs() > 1e11).then(x * 1e3).otherwise(x * 1e6).round(0)
    us = pl.when((us >= _MIN_US) & (us < _MAX_US)).then(us)
    return us.cast(pl.Int64, strict=False).cast(pl.Datetime("us"))


def _numeric(col: pl.Expr, decimal: str = ".") -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(value as Float64 with missing tokens -> null, True where the text is neither missing nor a finite
    number: ``inf`` or ``1e400`` would poison every window and feature it reaches, True where the value is
    finite but beyond ±``MAX_ABS_VALUE``). ``decimal=","``: ``1,5`` is 1.5 (``1.234,5`` is not a number)."""
    s = col.str.strip_chars()
    missing = s.is_null() | s.str.to_lowercase().is_in(_MISSING_TOKENS)
    value = pl.when(missing).then(None).otherwise(with_decimal_point(s, decimal).cast(pl.Float64, strict=False))
    value = value.fill_nan(None)
    bad = ~missing & (value.is_null() | value.is_infinite())
    return value, bad, ~bad & (value.abs() > MAX_ABS_VALUE)


def _validate(
    frame: pl.DataFrame,
    n_fields: int,
    time_column: str,
    value_columns: list[str],
    label_column: str | None,
    decimal: str = ".",
    time_zone: str | None = None,
) -> pl.DataFrame:
    """Add typed ``ts`` / values / ``label`` and a ``_reason`` (null when accepted) to the raw text frame."""
    ts = _parse_ts(pl.col(time_column), time_zone)
    numeric_ts = frame.height > 0 and frame.select(ts.is_null().all()).item()
    if numeric_ts:
        ts = _epoch_ts(pl.col(time_column))
    exprs = [ts.alias("_ts")]
    bad_value = huge_value = pl.lit(False)
    for i, c in enumerate(value_columns):
        v, b, huge = _numeric(pl.col(c), decimal)
        exprs.append(v.alias(f"_v{i}"))
        bad_value, huge_value = bad_value | b, huge_value | huge.fill_null(False)
    if label_column is not None:
        lv, lb, _ = _numeric(pl.col(label_column), decimal)
        exprs.append(pl.when(lv.is_null()).then(None).otherwise((lv > 0).cast(pl.Int8)).alias("_label"))
    else:
        lb = pl.lit(False)
        exprs.append(pl.lit(None, dtype=pl.Int8).alias("_label"))
    typed = frame.with_columns(*exprs, _bad_value=bad_value, _huge_value=huge_value, _bad_label=lb)
    in_range = pl.col("_ts").is_between(pl.lit(MIN_TS), pl.lit(MAX_TS), closed="left")
    reason = (
        pl.when(pl.col("_pre").is_not_null())
        .then(pl.col("_pre"))
        .when(pl.col("_nf") != n_fields)
        .then(pl.lit("wrong_field_count"))
        .when(pl.col("_ts").is_null() | ~in_range)
        .then(pl.lit("bad_timestamp"))
        .when(pl.col("_bad_value"))
        .then(pl.lit("non_numeric_value"))
        .when(pl.col("_huge_value"))
        .then(pl.lit("value_out_of_range"))
        .when(pl.col("_bad_label"))
        .then(pl.lit("non_numeric_label"))
        .otherwise(None)
    )
    typed = typed.with_columns(_reason=reason)
    # Duplicate timestamps among otherwise valid rows: the first (by line) is kept.
    dup = pl.col("_reason").is_null() & (pl.int_range(pl.len()).over("_ts", "_ok") > 0)
    typed = typed.with_columns(_ok=pl.col("_reason").is_null()).sort("_ln")
    return typed.with_columns(
        _reason=pl.when(dup).then(pl.lit("duplicate_timestamp")).otherwise(pl.col("_reason"))
    ).drop("_ok")


def _value_columns(
    files: list[Path],
    separator: str | None,
    value_columns: list[str] | None,
    table_columns: list[str] | None,
    not_values: set[str | None],
) -> tuple[list[str], str]:
    """The value columns of every file of a source, and where they come from (for messages)."""
    if value_columns is not None:
        columns, origin = list(value_columns), "series.columns"
    elif table_columns:
        columns, origin = list(table_columns), "the columns of the existing raw table"
    else:
        columns = [c for c in _file_header(files[0], separator) if c not in not_values]
        origin = f"the columns of the first file, {files[0]}"
        if not columns:
            raise ValueError(f"sensor file {files[0]} has no value columns besides the time / label columns")
    clash = sorted(RESERVED_COLUMNS & set(columns))
    if clash:
        where = f"sensor file {files[0]}" if origin.startswith("the columns of the first") else origin
        raise ValueError(
            f"value column name(s) {', '.join(clash)} of {where} clash with column names the pipeline uses "
            f"({', '.join(sorted(RESERVED_COLUMNS))}): rename the column(s) in the files, or leave them out "
            "with series.columns"
        )
    return columns, origin


def read_sensor_files(
    path: str | Path,
    *,
    time_column: str,
    value_columns: list[str] | None,
    label_column: str | None,
    separator: str | None = None,
    dataset: str,
    run_id: str,
    exclude_columns: list[str] | None = None,
    skip: Callable[[Path], bool] | None = None,
    decimal: str = ".",
    time_zone: str | None = None,
    table_columns: list[str] | None = None,
) -> SensorReadResult:
    """Read a CSV / Parquet sensor file or a folder of them into accepted rows and rejects.

    The value columns are the same whichever files a run reads: ``value_columns`` (``series.columns``), else
    ``table_columns`` (those of the raw table earlier runs wrote), else every column of the first file of
    the source (in sorted order, read or not) except the time, label and ``exclude_columns`` ones (for SKAB,
    exclude ``changepoint``). A file lacking some of them reads them as null (``missing_columns``); its other
    columns are not read (``ignored_columns``); both are in ``notes``. ``ValueError`` for a file with none of
    them, one lacking the time or label column, a ``value_columns`` entry that no file of the source has, or
    a value column named in ``RESERVED_COLUMNS``. Accepted rows keep file order then line order (not sorted
    by time). Raises ``SourceError`` (naming the path) for a missing / empty source. ``skip(file)`` true: the
    file is not read (an unchanged file holding none of the requested days); when every file would be
    skipped the first is read anyway. ``decimal=","`` reads European numbers (``1,5``); the separator must
    then be ``;`` or a tab. ``time_zone`` (IANA name): timestamps without an offset are local time there
    (see ``_parse_ts``).
    """
    all_files = discover_sensor_files(path)
    files = ([f for f in all_files if not skip(f)] or all_files[:1]) if skip is not None else all_files
    not_values = {time_column, label_column, *(exclude_columns or [])}
    columns, origin = _value_columns(all_files, separator, value_columns, table_columns, not_values)
    headers: dict[Path, list[str]] = {}  # every file's header, read only to tell a misspelt series.columns entry
    accepted: list[pl.DataFrame] = []
    rejected: list[pl.DataFrame] = []
    stats: list[SensorFileStats] = []
    notes: list[str] = []
    for f in files:
        is_parquet = f.suffix.lower() in (".parquet", ".pq")
        header, frame = _parquet_rows(f) if is_parquet else _text_rows(f, separator)
        if len(set(header)) != len(header):
            raise ValueError(f"sensor file {f} has duplicate column names: {header}")
        lacking = [c for c in (time_column, label_column) if c is not None and c not in header]
        if lacking:
            raise ValueError(f"sensor file {f} lacks declared column(s): {', '.join(lacking)} (has: {header})")
        missing = [c for c in columns if c not in header]
        if missing and value_columns is not None:
            if not headers:
                headers = {g: _file_header(g, separator) for g in all_files}
            nowhere = [c for c in missing if not any(c in h for h in headers.values())]
            if nowhere:
                raise ValueError(
                    f"series.columns names {', '.join(nowhere)}, a column of no file under {path} "
                    f"(sensor file {f} has: {header})"
                )
        if len(missing) == len(columns):
            raise ValueError(
                f"sensor file {f} has none of the value columns {columns} ({origin}; it has: {header}); "
                "list its columns in series.columns, or move it out of the source folder"
            )
        ignored = [c for c in header if c not in not_values and c not in columns]
        if missing:
            notes.append(f"{f}: lacks value column(s) {', '.join(missing)}, null in its rows")
        if ignored:
            reserved = sorted(RESERVED_COLUMNS & set(ignored))
            notes.append(
                f"{f}: column(s) {', '.join(ignored)} not read: the value columns are {origin} ({', '.join(columns)});"
                " to read them, list them in series.columns and rebuild the raw table (drop it, re-run every day)"
                + (f"; {', '.join(reserved)}: names the pipeline uses, rename them in the file" if reserved else "")
            )
        frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in missing)
        typed = _validate(frame, len(header), time_column, columns, label_column, decimal, time_zone)
        ok = typed.filter(pl.col("_reason").is_null())
        bad = typed.filter(pl.col("_reason").is_not_null())
        accepted.append(
            ok.select(
                pl.col("_ts").alias("ts"),
                *[pl.col(f"_v{i}").alias(c) for i, c in enumerate(columns)],
                pl.col("_label").alias("label"),
                pl.lit(str(f)).alias("source_file"),
            )
        )
        rejected.append(
            bad.select(
                pl.lit(str(f)).alias("source_file"),
                pl.col("_ln").alias("line_number"),
                pl.col("_reason").alias("reason"),
                pl.col("_raw").str.slice(0, _RAW_LIMIT).alias("raw_record"),
            )
        )
        kind = "parquet" if is_parquet else "csv"
        stats.append(SensorFileStats(str(f), kind, typed.height, ok.height, bad.height, missing, ignored))
    if sum(s.read for s in stats) == 0:
        raise SourceError(f"no data rows in sensor source {path} ({len(files)} file(s), header lines only)")
    out = pl.concat(accepted, how="vertical")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rejects = pl.concat(rejected, how="vertical").select(
        pl.lit(dataset, dtype=pl.String).alias("dataset"),
        "source_file",
        "line_number",
        "reason",
        "raw_record",
        pl.lit(run_id, dtype=pl.String).alias("run_id"),
        pl.lit(now, dtype=pl.Datetime("us")).alias("rejected_at"),
    )
    assert rejects.columns == list(REJECT_COLUMNS)
    return SensorReadResult(frame=out, rejects=rejects, value_columns=columns, files=stats, notes=notes)
