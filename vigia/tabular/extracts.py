"""Tabular extracts: merge a folder of CSV / Parquet files into one typed table, with defined outcomes.

``read_extracts(folder, ...)`` reads every ``*.csv`` / ``*.parquet`` / ``*.pq`` file directly in
``folder`` (hidden files skipped), **sorted by file name**, and stacks them with a ``source_file``
column (the file name). Every cell is first read as text, then typed:

* **Header names** are stripped of surrounding spaces (``id, x, y`` reads as ``id``, ``x``, ``y``).
* **Missing expected columns** (in any file) → ``ValueError`` naming the file and the columns. When
  ``expected_columns`` is not given, the first non-empty file's columns are the expected set, and it must
  hold the target and the id column (else a ``ValueError`` naming the column and its role). The id column
  cannot be the target.
* **Extra columns** (not expected) → dropped and reported in ``extra_columns`` (per file), like columns that
  cannot be used: an empty header name (a trailing separator on every line; the report counts the
  non-empty cells it held), a repeated header name (the first column of that name is kept), a nested
  Parquet column (list, struct, array). A nested column that is needed (expected, target, id) is a
  ``ValueError`` naming it.
* **Wrong field count** (a CSV record with more or fewer fields than the header) → **rejected** with
  ``wrong_field_count: expected N got M``, its line and text. Quoted fields may hold the separator and
  newlines (read with Python's ``csv`` module).
* **Column kinds**: from ``expected_columns`` when it is a mapping ``{name: "numeric"|"categorical"}``,
  else inferred: a column is numeric when at least ``numeric_share`` (90 %) of its non-missing cells
  parse as numbers (``2.00E+05`` included). The id and target columns are never features.
* **Wrong types** (text, a number that is not finite such as ``inf`` or ``1e400``, or one beyond
  ±``MAX_ABS_NUMBER`` = 1e150, whose square overflows a double when the model standardises the column,
  in a numeric column): the **cell is set to null and counted** in
  ``type_errors`` (per column, with up to 5 example values); the row is kept, so the model's median
  imputation handles it. Empty cells and the tokens ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``?``
  are plain missing values, not type errors.
* **Target** (when ``target`` is given): must be ``positive`` / ``negative`` (default ``1`` / ``0``, compared
  as numbers, so ``1.0`` / ``0.00`` match; ``true`` / ``false`` accepted; text compared case-insensitively);
  a row whose target is missing (empty or a missing-value token) or any other value is **rejected** with a
  reason (``rejects`` frame in the ``REJECT_COLUMNS`` layout; ``line_number`` is the physical CSV line,
  header = line 1, or the 1-based row of a Parquet file). The target is returned as Int8 0/1.
* **Optional target** (``target_optional=True``, for inference batches that may carry outcomes): the
  target column may be absent (all rows unlabelled); a missing target (empty or a missing-value token)
  leaves the row unlabelled; any other invalid value also leaves it unlabelled and is counted in
  ``invalid_targets`` (with up to 5 examples) instead of rejecting the row, because every batch row must
  still be scored.
  ``labelled_rows`` counts the rows with a valid target.
* **Empty extract** (a zero-byte file or a header without rows): skipped and reported in
  ``skipped_files`` with the reason; when no file holds a data row, ``SourceError`` (a ``ValueError``)
  naming the folder. A folder without any extract also raises ``SourceError``.
* ``duplicate_ids``: rows whose id repeats an earlier row's (a missing id is not a duplicate).
* Unseen categories are not an extract problem: they are counted by the model at predict time.

``newest_extract(folder)`` picks the inference batch: the extract with the **latest modification
time**, ties broken by the greatest file name (so ``batch_2026-01-06.csv`` beats
``batch_2026-01-05.csv`` written in the same second). ``fingerprint(files)`` identifies a set of
extract files by name, size and modification time: the assets record it with what they read, and the
new-extract sensor compares the folders with it.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from vigia.schema import REJECT_COLUMNS
from vigia.sources.errors import SourceError
from vigia.sources.number_text import with_decimal_point
from vigia.sources.text_encoding import file_encoding

EXTRACT_SUFFIXES = (".csv", ".parquet", ".pq")
MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", "?")
NUMERIC_SHARE = 0.9
MAX_ABS_NUMBER = 1e150  # beyond it (e.g. 1.797e308) the scaler's squares overflow and training fails on NaN
_LINE = "__line_number"
_DROPPED = "__vigia_dropped_"  # placeholder name of a column left out (empty or repeated name, nested)
_TRUE = ("1", "1.0", "true")
_FALSE = ("0", "0.0", "false")


@dataclass
class ExtractsResult:
    """The merged table and what happened on the way."""

    frame: pl.DataFrame
    files: list[str]
    numeric_columns: list[str]
    categorical_columns: list[str]
    rows_read: int
    rejects: pl.DataFrame
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    type_errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped_files: dict[str, str] = field(default_factory=dict)
    duplicate_ids: int = 0
    labelled_rows: int | None = None
    invalid_targets: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""  # of the files, taken before reading them (see ``fingerprint``)

    @property
    def rows_accepted(self) -> int:
        return self.frame.height

    @property
    def features(self) -> list[str]:
        return self.numeric_columns + self.categorical_columns

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (for asset metadata)."""
        return {
            "files": self.files,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rejects.height,
            "numeric_columns": self.numeric_columns,
            "categorical_columns": self.categorical_columns,
            "extra_columns": self.extra_columns,
            "type_errors": self.type_errors,
            "skipped_files": self.skipped_files,
            "duplicate_ids": self.duplicate_ids,
            "fingerprint": self.fingerprint,
            **({} if self.labelled_rows is None else {"labelled_rows": self.labelled_rows}),
            **({"invalid_targets": self.invalid_targets} if self.invalid_targets else {}),
        }


def list_extracts(folder: str | Path) -> list[Path]:
    """Extract files directly in ``folder`` (sorted by name), or ``folder`` itself when it is one extract file;
    ``SourceError`` when the folder is unusable."""
    folder = Path(folder)
    if folder.is_file() and folder.suffix.lower() in EXTRACT_SUFFIXES:
        return [folder]
    if not folder.is_dir():
        raise SourceError(f"extract folder not found: {folder}")
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in EXTRACT_SUFFIXES
    )
    if not files:
        raise SourceError(f"no extract ({', '.join(EXTRACT_SUFFIXES)}) in {folder}")
    return files


def newest_extract(folder: str | Path) -> Path:
    """The newest extract: latest modification time, ties broken by the greatest name."""
    return max(list_extracts(folder), key=lambda p: (p.stat().st_mtime_ns, p.name))


def fingerprint(files: Sequence[Path]) -> str:
    """A short digest of the files' names, sizes and modification times (order-independent).

    Any new, removed, renamed, rewritten or touched file changes it; reading the files does not.
    """
    lines = sorted(f"{p.name}\t{(st := p.stat()).st_size}\t{st.st_mtime_ns}" for p in files)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


BadRow = tuple[int, str, str]  # (physical line number, reason, raw text)


@dataclass(frozen=True)
class DroppedColumn:
    """A column ``read_text_table`` cannot use: its header name, 1-based position and why."""

    name: str
    position: int
    kind: str  # "empty_name" | "repeated_name" | "nested"
    detail: str = ""  # nested: the type; empty_name: the non-empty cells it held
    kept_as: str | None = None  # repeated_name: its column in the frame, ``<name>_duplicated_<k>``

    @property
    def label(self) -> str:
        """How it is reported, e.g. ``tags (column 4: nested List(String), not supported)``."""
        if self.kind == "nested":
            return f"{self.name} (column {self.position}: nested {self.detail}, not supported)"
        why = "empty header name" if self.kind == "empty_name" else "repeated header name"
        return f"{self.name or '<empty>'} (column {self.position}: {why}{self.detail})"


def read_text_table(
    path: str | Path,
    *,
    separator: str | None = None,
    has_header: bool = True,
    new_columns: Sequence[str] | None = None,
    bad_rows: list[BadRow] | None = None,
    dropped_columns: list[DroppedColumn] | None = None,
) -> pl.DataFrame:
    """One file with every column as String (empty frame for a zero-byte file) plus its line numbers.

    CSV goes through Python's ``csv`` module, so quoted fields may hold separators and newlines and each
    record keeps the physical line it starts on. A record whose field count differs from the header's is
    appended to ``bad_rows`` (``wrong_field_count``), or, without that list, fails naming the file and line.
    Header names are stripped of surrounding spaces (``id, x`` reads as ``id`` and ``x``). Columns that
    cannot be used are appended to ``dropped_columns``: an empty header name (e.g. from a trailing
    separator on every line; left out, ``detail`` counts the cells it held) and a nested Parquet column
    (list, struct, array; left out); a repeated header name stays as ``<name>_duplicated_<k>``
    (``kept_as``) for the caller to drop.
    """
    path = Path(path)
    dropped = dropped_columns if dropped_columns is not None else []
    first = len(dropped)
    if path.suffix.lower() in (".parquet", ".pq"):
        frame = pl.read_parquet(path, glob=False)
        names = _header_names(frame.columns, dropped)
        for i, (name, dtype) in enumerate(zip(names, frame.dtypes, strict=True)):
            if name is not None and dtype.is_nested():
                dropped.append(DroppedColumn(name, i + 1, "nested", str(dtype)))
                names[i] = None
        frame = frame.rename(dict(zip(frame.columns, _placeholders(names), strict=True)))
        frame = _without_dropped(frame, dropped, first).select(pl.all().cast(pl.String))
        return frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(_LINE))
    if path.stat().st_size == 0:
        return pl.DataFrame({_LINE: pl.Series([], dtype=pl.Int64)})
    with path.open(newline="", encoding=file_encoding(path), errors="replace") as fh:  # UTF-8, or UTF-16/32 by BOM
        reader = csv.reader(fh, delimiter=separator or ",")
        header = next(reader, None) if has_header else None
        names: list[str | None] = list(new_columns) if new_columns else _header_names(header or [], dropped)
        rows: list[list[str]] = []
        lines: list[int] = []
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            if not record or record == [""]:
                continue  # a blank line is not a record
            if not names:
                names = [f"column_{i + 1}" for i in range(len(record))]
            if len(record) != len(names):
                reason = f"wrong_field_count: expected {len(names)} got {len(record)}"
                if bad_rows is None:
                    raise ValueError(f"{path}, line {line}: {reason}")
                bad_rows.append((line, reason, (separator or ",").join(record)[:2000]))
                continue
            rows.append(record)
            lines.append(line)
    frame = pl.DataFrame(rows, schema={n: pl.String for n in _placeholders(names)}, orient="row")
    frame = _without_dropped(frame, dropped, first)
    return frame.with_columns(pl.Series(_LINE, lines, dtype=pl.Int64))


def _header_names(header: Sequence[str], dropped: list[DroppedColumn]) -> list[str | None]:
    """Stripped header names, ``<name>_duplicated_<k>`` for a repeated one, ``None`` for an empty one (both
    noted in ``dropped``)."""
    names: list[str | None] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(header):
        name = raw.strip()
        k = seen.get(name, 0)
        seen[name] = k + 1
        if not name:
            dropped.append(DroppedColumn(name, i + 1, "empty_name"))
            names.append(None)
        elif k:
            names.append(f"{name}_duplicated_{k - 1}")
            dropped.append(DroppedColumn(name, i + 1, "repeated_name", kept_as=names[-1]))
        else:
            names.append(name)
    return names


def _placeholders(names: Sequence[str | None]) -> list[str]:
    return [n if n is not None else f"{_DROPPED}{i + 1}" for i, n in enumerate(names)]


def _without_dropped(frame: pl.DataFrame, dropped: list[DroppedColumn], first: int) -> pl.DataFrame:
    """Drop the placeholder columns, noting how many values each empty-named one (``dropped[first:]``) held."""
    for j in range(first, len(dropped)):
        col = dropped[j]
        placeholder = f"{_DROPPED}{col.position}"
        if col.kind == "empty_name" and placeholder in frame.columns and not frame.schema[placeholder].is_nested():
            text = frame.get_column(placeholder).cast(pl.String).str.strip_chars()
            if values := int((text.is_not_null() & (text != "")).sum()):
                dropped[j] = replace(col, detail=f", {values} non-empty cell(s) left out")
    return frame.select([c for c in frame.columns if not c.startswith(_DROPPED)])


def clean_text(col: str) -> pl.Expr:
    """The column's text, stripped, with empty cells and the missing-value tokens (``MISSING_TOKENS``) null."""
    s = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(s.str.to_lowercase().is_in(MISSING_TOKENS)).then(None).otherwise(s)


def _parsed(frame: pl.DataFrame, col: str, decimal: str) -> tuple[pl.Series, pl.Series]:
    """The column's cleaned text (missing tokens null) and its values as Float64 (null where not a number)."""
    both = frame.select(
        clean_text(col).alias("text"),
        with_decimal_point(clean_text(col), decimal).cast(pl.Float64, strict=False).alias("value"),
    )
    return both.get_column("text"), both.get_column("value")


def coerce_columns(
    frame: pl.DataFrame,
    columns: Sequence[str],
    kinds: Mapping[str, str] | None = None,
    numeric_share: float = NUMERIC_SHARE,
    decimal: str = ".",
) -> tuple[pl.DataFrame, list[str], list[str], dict[str, dict[str, Any]]]:
    """Type text ``columns`` (numeric → Float64, categorical → trimmed String); returns the frame, the
    numeric and categorical names and the type errors (``{column: {count, examples}}``). ``decimal=","``
    reads ``1,5`` as 1.5."""
    numeric, categorical, errors = [], [], {}
    typed: dict[str, pl.Series] = {}
    for col in columns:
        kind = (kinds or {}).get(col)
        if kind not in (None, "numeric", "categorical"):
            raise ValueError(f"column kind for {col!r} must be 'numeric' or 'categorical', got {kind!r}")
        text, parsed = _parsed(frame, col, decimal)
        if kind is None:
            present = text.is_not_null().sum()
            kind = "numeric" if present and parsed.is_not_null().sum() / present >= numeric_share else "categorical"
        if kind == "numeric":
            numeric.append(col)
            usable = (parsed.is_finite() & (parsed.abs() <= MAX_ABS_NUMBER)).fill_null(False)
            bad = text.is_not_null() & ~usable  # text, inf, 1e400, 1e308
            if bad.any():
                errors[col] = {
                    "count": int(bad.sum()),
                    "examples": text.filter(bad).unique(maintain_order=True)[:5].to_list(),
                }
            typed[col] = pl.select(pl.when(usable).then(parsed)).to_series().alias(col)  # a type error: null
        else:
            categorical.append(col)
            typed[col] = text.alias(col)
    return frame.with_columns(list(typed.values())), numeric, categorical, errors


def _rejects(rows: pl.DataFrame, reason: pl.Expr, raw: pl.Expr, dataset: str, run_id: str) -> pl.DataFrame:
    """``rows`` (with ``source_file`` and their line) in the ``REJECT_COLUMNS`` layout."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return rows.select(
        pl.lit(dataset).alias("dataset"),
        pl.col("source_file"),
        pl.col(_LINE).cast(pl.Int64).alias("line_number"),
        reason.cast(pl.String).alias("reason"),
        raw.cast(pl.String).alias("raw_record"),
        pl.lit(run_id).alias("run_id"),
        pl.lit(now).alias("rejected_at"),
    )


def empty_rejects() -> pl.DataFrame:
    """An empty frame in the ``REJECT_COLUMNS`` layout."""
    dtypes = {"VARCHAR": pl.String, "BIGINT": pl.Int64, "TIMESTAMP": pl.Datetime("us")}
    return pl.DataFrame(schema={c: dtypes[t] for c, t in REJECT_COLUMNS.items()})


def label_target(
    frame: pl.DataFrame, target: str, positive: str | int | None = None, negative: str | int | None = None
) -> tuple[pl.DataFrame, pl.Series]:
    """Target text → Int8 0/1; returns the frame and a String reason per row (null = valid).

    Empty cells and the missing-value tokens (``NA``, ``?``, ...) are missing, never a class. A label given as
    a number matches numerically (``1`` matches ``1.0`` and ``1.00``), a text label case-insensitively (``Yes``
    matches ``yes``); default labels: 1 / 0 and true / false. Without ``negative``, every other non-missing
    value is negative.
    """
    s = clean_text(target)
    number = s.cast(pl.Float64, strict=False)
    low = s.str.to_lowercase()

    def matches(label: str | int) -> pl.Expr:
        value, label = _number(str(label)), str(label).strip().lower()
        same = (low == label).fill_null(False)
        return same | (pl.lit(False) if value is None else (number == value).fill_null(False))

    if positive is None:
        pos = ((number == 1) | (low == "true")).fill_null(False)
        neg = ((number == 0) | (low == "false")).fill_null(False)
        expected = "1/0"
    else:
        pos = matches(positive)
        neg = ~pos if negative is None else matches(negative)
        expected = f"{positive}/{negative if negative is not None else 'other'}"
    reason = (
        pl.when(s.is_null())
        .then(pl.lit(f"target {target!r} is missing"))
        .when(~(pos | neg))
        .then(pl.lit(f"target {target!r} value '") + s + pl.lit(f"' is not {expected}"))
        .otherwise(None)
    )
    y = pl.when(pos).then(1).otherwise(0).cast(pl.Int8)
    out = frame.with_columns(reason.alias("__reason"), y.alias("__y"))
    return out.with_columns(pl.col("__y").alias(target)).drop("__y"), out.get_column("__reason")


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


_ROLES = {True: "target (label_column)", False: "id column (entity_key)"}


def _require_roles(path: Path, cols: list[str], target: str | None, id_column: str | None) -> None:
    """A clear error when the first extract lacks the target or the id column (they set the expected columns)."""
    for col, is_target in ((target, True), (id_column, False)):
        if col is not None and col not in cols:
            near = [c for c in cols if c.lower() == col.lower()]
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"extract {path} has no column {col!r}, the {_ROLES[is_target]}; columns: {cols}{hint}")


def read_extracts(
    folder: str | Path,
    *,
    target: str | None,
    separator: str | None = None,
    id_column: str | None = None,
    expected_columns: Sequence[str] | Mapping[str, str] | None = None,
    dataset: str,
    run_id: str,
    positive: str | int | None = None,
    numeric_share: float = NUMERIC_SHARE,
    target_optional: bool = False,
    decimal: str = ".",
) -> ExtractsResult:
    """Merge every extract in ``folder`` (rules in the module docstring). ``separator`` (default ``,``) and
    ``decimal`` (``.`` or ``,``) describe the CSV files, e.g. ``;`` and ``,`` for European exports.

    Inference batches: ``target=None`` (a target column is an extra column), or the target with
    ``target_optional=True`` to keep the outcomes a batch carries.
    """
    if target is not None and target == id_column:
        raise ValueError(f"the id column (entity_key) and the target (label_column) are both {target!r}")
    files = list_extracts(folder)
    digest = fingerprint(files)  # before reading: a file rewritten meanwhile makes the recorded one stale
    kinds = dict(expected_columns) if isinstance(expected_columns, Mapping) else None
    expected = list(expected_columns) if expected_columns is not None else None
    optional = target if target is not None and target_optional else None
    if expected is not None:
        for col in (target, id_column):
            if col and col != optional and col not in expected:
                expected.append(col)
        if optional is not None and optional in expected:
            expected.remove(optional)
    parts, extra, skipped = [], {}, {}
    shape_rejects: list[dict[str, Any]] = []  # records with the wrong field count, per file
    for path in files:
        bad_rows: list[BadRow] = []
        dropped: list[DroppedColumn] = []
        raw = read_text_table(path, separator=separator, bad_rows=bad_rows, dropped_columns=dropped)
        shape_rejects += [
            {"source_file": path.name, _LINE: ln, "reason": reason, "raw": text} for ln, reason, text in bad_rows
        ]
        if raw.height == 0:
            if not bad_rows:
                skipped[path.name] = "empty extract: no data rows"
            continue
        repeated = {d.kept_as for d in dropped if d.kept_as}
        cols = [c for c in raw.columns if c != _LINE and c not in repeated]
        needed = [c for c in (target, id_column) if c is not None and c != optional]
        if nested := [d for d in dropped if d.kind == "nested" and d.name in {*(expected or ()), *needed, optional}]:
            raise ValueError(
                f"extract {path}: column {nested[0].name!r} is a nested {nested[0].detail} column, which is not"
                " supported (store it as text or numbers)"
            )
        if expected is None:
            _require_roles(path, cols, target if target != optional else None, id_column)
            expected = [c for c in cols if c != optional]
        missing = [c for c in expected if c not in cols]
        if missing:
            roles = "".join(f"; {c!r} is the {_ROLES[c == target]}" for c in missing if c in (target, id_column))
            raise ValueError(f"extract {path} is missing expected columns {missing} (has {cols}){roles}")
        if extras := [c for c in cols if c not in expected and c != optional] + [d.label for d in dropped]:
            extra[path.name] = extras
        labels = [] if optional is None else [
            (pl.col(optional) if optional in cols else pl.lit(None)).cast(pl.String).alias(optional)
        ]
        part = raw.select(*expected, *labels, _LINE)
        parts.append(part.with_columns(pl.lit(path.name).alias("source_file")))
    if not parts:
        shape = f", {len(shape_rejects)} record(s) with the wrong field count" if shape_rejects else ""
        raise SourceError(f"no data rows in any extract under {folder}: {skipped}{shape}")
    merged = pl.concat(parts, how="vertical")
    rows_read = merged.height + len(shape_rejects)
    assert expected is not None
    if optional is not None:
        expected = [*expected, optional]
    features = [c for c in expected if c not in (target, id_column)]
    typed, numeric, categorical, errors = coerce_columns(merged, features, kinds, numeric_share, decimal)
    rejects = empty_rejects()
    labelled, invalid = None, {}
    if optional is not None:
        typed = typed.with_columns(clean_text(optional).alias(optional))  # missing tokens: unlabelled, not invalid
        outcome = typed.get_column(optional)
        typed, reason = label_target(typed, optional, positive)
        known = reason.is_null()
        bad_values = outcome.filter(~known & outcome.is_not_null())
        if bad_values.len():
            invalid = {"count": bad_values.len(), "examples": bad_values.unique(maintain_order=True).head(5).to_list()}
        typed = typed.with_columns(pl.when(known).then(pl.col(optional)).alias(optional)).drop("__reason")
        labelled = int(known.sum())
    elif target is not None:
        typed, reason = label_target(typed, target, positive)
        bad = reason.is_not_null()
        if bad.any():
            raw_bad = merged.filter(bad).with_columns(reason.filter(bad).alias("__reason"))
            raw = pl.concat_str([pl.col(c).fill_null("") for c in expected], separator=",")
            rejects = _rejects(raw_bad, pl.col("__reason"), raw, dataset, run_id)
        typed = typed.filter(~bad).drop("__reason")
    if shape_rejects:
        shaped = _rejects(pl.DataFrame(shape_rejects), pl.col("reason"), pl.col("raw"), dataset, run_id)
        rejects = pl.concat([shaped, rejects]).sort("source_file", "line_number")
    dup = 0
    if id_column is not None:
        typed = typed.with_columns(clean_text(id_column).alias(id_column))
        ids = typed.get_column(id_column).drop_nulls()  # a missing id is not a duplicate
        dup = ids.len() - ids.n_unique()
    front = [c for c in (id_column,) if c] + features + [c for c in (target,) if c] + ["source_file"]
    return ExtractsResult(
        frame=typed.select(front),
        files=[p.name for p in files],
        numeric_columns=numeric,
        categorical_columns=categorical,
        rows_read=rows_read,
        rejects=rejects,
        extra_columns=extra,
        type_errors=errors,
        skipped_files=skipped,
        duplicate_ids=dup,
        fingerprint=digest,
        labelled_rows=labelled,
        invalid_targets=invalid,
    )
