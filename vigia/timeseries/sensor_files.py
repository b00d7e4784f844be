"""Read sensor time series from CSV / Parquet files (or a folder of them), with rejects.

CSV: the separator (``,`` ``;`` or tab) is detected from the header line unless given. Lines are split
with polars string kernels (vectorised); a file holding double quotes goes through Python's ``csv``
module instead. Parquet columns are cast to text and go through the same validation, so both formats
reject the same way. Per file, every non-blank data line is either accepted or rejected:
``read = accepted + rejected``.

Reject reasons: ``wrong_field_count``, ``bad_timestamp`` (empty or unparseable), ``non_numeric_value``
(a value that is neither empty nor a finite number: ``inf`` and ``1e400`` too), ``value_out_of_range``
(a finite value beyond the float32 range, ±3.4e38, in which windows are held, such as a historian's
``1.797e308`` "bad quality" sentinel: it would become an infinite window value), ``non_numeric_label``
and ``duplicate_timestamp`` (a timestamp already seen in the same file: the first row is kept).
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
from vigia.sources.errors import SourceError
from vigia.sources.number_text import with_decimal_point
from vigia.sources.text_encoding import decode_text

MAX_ABS_VALUE = float(np.finfo(np.float32).max)  # windows are float32 (segment_windows): beyond it, infinite

__all__ = [
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


@dataclass
class SensorReadResult:
    """Accepted rows (``ts``, value columns as Float64, ``label`` Int8, ``source_file``) and rejects."""

    frame: pl.DataFrame
    rejects: pl.DataFrame
    value_columns: list[str]
    files: list[SensorFileStats] = field(default_factory=list)

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


def _text_rows(path: Path, separator: str | None) -> tuple[list[str], pl.DataFrame]:
    """Header names and a frame ``_ln``, ``_raw``, ``_nf`` (field count) + one String column per header field."""
    text = decode_text(path.read_bytes())  # UTF-8, or UTF-16/32 announced by a byte-order mark
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise SourceError(f"sensor file is empty: {path}")
    sep = separator or _detect_separator(lines[first])
    if '"' in text:
        rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=sep))
        header = [h.strip() for h in rows[first]]
        data = [(i + 1, lines[i], rows[i]) for i in range(first + 1, len(lines)) if lines[i].strip()]
        n = len(header)
        frame = pl.DataFrame(
            {
                "_ln": [d[0] for d in data],
                "_raw": [d[1] for d in data],
                "_nf": [len(d[2]) for d in data],
                **{h: [d[2][j] if len(d[2]) == n else None for d in data] for j, h in enumerate(header)},
            },
            schema={"_ln": pl.Int64, "_raw": pl.String, "_nf": pl.Int64, **dict.fromkeys(header, pl.String)},
        )
        return header, frame
    header = [h.strip() for h in lines[first].split(sep)]
    n = len(header)
    raw = pl.DataFrame({"_ln": range(1, len(lines) + 1), "_raw": lines}, schema={"_ln": pl.Int64, "_raw": pl.String})
    raw = raw.slice(first + 1).filter(pl.col("_raw").str.strip_chars() != "")
    raw = raw.with_columns(_nf=(pl.col("_raw").str.count_matches(sep, literal=True) + 1).cast(pl.Int64))
    parts = pl.col("_raw").str.split_exact(sep, max(n - 1, 0)).struct.rename_fields(header)
    frame = raw.with_columns(parts.alias("_parts")).unnest("_parts")
    return header, frame


def _parquet_rows(path: Path) -> tuple[list[str], pl.DataFrame]:
    try:
        df = pl.read_parquet(path)
    except Exception as exc:  # any reader failure makes the file unusable
        raise SourceError(f"cannot read Parquet sensor file {path}: {exc}") from exc
    header = df.columns
    text = df.select(pl.all().cast(pl.String))
    raw = pl.concat_str([pl.col(c).fill_null("") for c in header], separator=",") if header else pl.lit("")
    frame = text.with_columns(
        _ln=pl.int_range(1, df.height + 1, dtype=pl.Int64), _raw=raw, _nf=pl.lit(len(header), dtype=pl.Int64)
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


def _epoch_ts(col: pl.Expr) -> pl.Expr:
    """Numeric timestamps: epoch seconds, or milliseconds when above 1e11."""
    x = col.str.strip_chars().cast(pl.Float64, strict=False)
    us = pl.when(x.abs() > 1e11).then(x * 1e3).otherwise(x * 1e6)
    return us.round(0).cast(pl.Int64, strict=False).cast(pl.Datetime("us"))


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
    reason = (
        pl.when(pl.col("_nf") != n_fields)
        .then(pl.lit("wrong_field_count"))
        .when(pl.col("_ts").is_null())
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
) -> SensorReadResult:
    """Read a CSV / Parquet sensor file or a folder of them into accepted rows and rejects.

    ``value_columns=None`` takes every column except the time, label and ``exclude_columns`` ones (for
    SKAB, exclude ``changepoint``). Accepted rows keep file order then line order (not sorted by time).
    Raises ``SourceError`` (naming the path) for a missing / empty source, ``ValueError`` naming the
    declared columns a file lacks. ``skip(file)`` true: the file is not read (an unchanged file holding none
    of the requested days); when every file would be skipped the first is read anyway, for the columns.
    ``decimal=","`` reads European numbers (``1,5``); the separator must then be ``;`` or a tab.
    ``time_zone`` (IANA name): timestamps without an offset are local time there (see ``_parse_ts``).
    """
    files = discover_sensor_files(path)
    if skip is not None:
        files = [f for f in files if not skip(f)] or files[:1]
    exclude = set(exclude_columns or [])
    columns: list[str] | None = list(value_columns) if value_columns is not None else None
    accepted: list[pl.DataFrame] = []
    rejected: list[pl.DataFrame] = []
    stats: list[SensorFileStats] = []
    for f in files:
        is_parquet = f.suffix.lower() in (".parquet", ".pq")
        header, frame = _parquet_rows(f) if is_parquet else _text_rows(f, separator)
        if columns is None:
            columns = [c for c in header if c not in {time_column, label_column, *exclude}]
            if not columns:
                raise ValueError(f"sensor file {f} has no value columns besides {time_column!r} / {label_column!r}")
        clash = sorted({"ts", "label", "source_file"} & set(columns))
        if clash:
            raise ValueError(f"value column name(s) {clash} clash with output columns ts / label / source_file")
        declared = [time_column, *columns, *([label_column] if label_column else [])]
        missing = [c for c in declared if c not in header]
        if missing:
            raise ValueError(f"sensor file {f} lacks declared column(s): {', '.join(missing)} (has: {header})")
        if len(set(header)) != len(header):
            raise ValueError(f"sensor file {f} has duplicate column names: {header}")
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
        stats.append(SensorFileStats(str(f), "parquet" if is_parquet else "csv", typed.height, ok.height, bad.height))
    assert columns is not None
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
    return SensorReadResult(frame=out, rejects=rejects, value_columns=columns, files=stats)
