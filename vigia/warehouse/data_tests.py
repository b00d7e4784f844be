"""Declarative data tests (dbt-like) run as SQL against a DuckDB table.

YAML format, a list of one-key mappings::

    tests:
      - not_null: {columns: [ts, orig_h]}
      - unique: {columns: [uid]}                 # the combination must be unique; rows with a NULL key are ignored
      - accepted_values: {column: proto, values: [tcp, udp, icmp]}   # NULLs pass
      - range: {column: resp_p, min: 0, max: 65535, severity: warn}  # either bound optional; NULLs pass
      - non_empty: {}

Every test also accepts ``severity: error | warn`` (default ``error``) and ``name`` (default derived,
e.g. ``not_null_ts_orig_h``). Values are checked when read: ``accepted_values`` may not mix booleans with
other values (YAML reads unquoted ``NO``, ``yes``, ``on`` as booleans: quote them), ``range`` bounds are
finite numbers or dates (an ISO date text is read as a date; YAML reads ``1e6`` as text), ``min <= max``.
``failing_count`` is the number of failing rows (for ``unique``: rows whose key is shared with another
row; for ``non_empty``: 1 when empty).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import duckdb

from vigia.warehouse.duck import column_type, partition_predicate, qualified, quote_ident, sql_literal, table_schema

Severity = Literal["error", "warn"]
TEST_KINDS: tuple[str, ...] = ("not_null", "unique", "accepted_values", "range", "non_empty")
SAMPLE_LIMIT = 5

_ALLOWED_KEYS: dict[str, frozenset[str]] = {
    "not_null": frozenset({"columns"}),
    "unique": frozenset({"columns"}),
    "accepted_values": frozenset({"column", "values"}),
    "range": frozenset({"column", "min", "max"}),
    "non_empty": frozenset(),
}
_COMMON_KEYS = frozenset({"severity", "name"})
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DataTestSpecError(ValueError):
    """A data test declaration is invalid."""


@dataclass(frozen=True)
class DataTestSpec:
    """One validated test declaration."""

    kind: str
    name: str
    columns: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()
    min: Any = None
    max: Any = None
    severity: Severity = "error"


@dataclass(frozen=True)
class DataTestResult:
    """Outcome of one data test."""

    name: str
    kind: str
    passed: bool
    failing_count: int
    severity: Severity
    sql: str
    sample_failing_rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        """True when the test failed with severity ``error``."""
        return not self.passed and self.severity == "error"


def _fail(context: str, message: str) -> DataTestSpecError:
    prefix = f"{context}: " if context else ""
    return DataTestSpecError(f"{prefix}{message}")


def _str_list(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise DataTestSpecError(f"{where}: '{key}' must be a non-empty list of column names, got {value!r}")
    if len(set(value)) != len(value):
        raise DataTestSpecError(f"{where}: '{key}' has duplicate columns: {value!r}")
    return tuple(value)


def _column(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, str) or not value:
        raise DataTestSpecError(f"{where}: 'column' must be a column name, got {value!r}")
    return (value,)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | dt.date) and not (
        isinstance(value, float) and not math.isfinite(value)
    )


def _values(vals: Any, where: str) -> tuple[Any, ...]:
    """``accepted_values``' values: finite scalars, booleans only among booleans."""
    if not isinstance(vals, list) or not vals or not all(_scalar(v) for v in vals):
        raise DataTestSpecError(
            f"{where}: 'values' must be a non-empty list of scalars (text, finite numbers, dates), got {vals!r}"
        )
    bools = [v for v in vals if isinstance(v, bool)]
    if bools and len(bools) != len(vals):
        raise DataTestSpecError(
            f"{where}: 'values' mixes booleans with other values: {vals!r}; YAML reads unquoted NO, yes, on, off "
            "as booleans, so quote such values ('NO')"
        )
    return tuple(vals)


def _bound(value: Any, key: str, where: str) -> int | float | dt.date | None:
    """A ``range`` bound: a finite number, a date or timestamp, or an ISO date/timestamp text (read as such)."""
    if value is None or (isinstance(value, int | float | dt.date) and not isinstance(value, bool) and _scalar(value)):
        return value  # bool is an int: excluded
    if isinstance(value, str):
        for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):
            try:
                return parse(value)
            except ValueError:
                pass
    hint = " (YAML reads 1e6 as text: write 1.0e+6 or 1000000)" if isinstance(value, str) else ""
    raise DataTestSpecError(f"{where}: '{key}' must be a number or a date (finite), got {value!r}{hint}")


def _check_bounds(lo: int | float | dt.date, hi: int | float | dt.date, where: str) -> None:
    """``min <= max``, both numbers or both dates."""
    if isinstance(lo, dt.date) != isinstance(hi, dt.date):
        raise DataTestSpecError(f"{where}: min {lo!r} and max {hi!r} must both be numbers or both dates")
    if isinstance(lo, dt.date) and isinstance(hi, dt.date):
        lo, hi = (v if isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time()) for v in (lo, hi))
    try:
        inverted = lo > hi  # type: ignore[operator]
    except TypeError as exc:  # a timestamp with a time zone and one without
        raise DataTestSpecError(f"{where}: min {lo!r} and max {hi!r} cannot be compared") from exc
    if inverted:
        raise DataTestSpecError(f"{where}: min {lo!r} is greater than max {hi!r}")


def _parse_one(item: Any, index: int, context: str) -> DataTestSpec:
    where = f"{context + ': ' if context else ''}tests[{index}]"
    if not isinstance(item, dict) or len(item) != 1:
        raise DataTestSpecError(
            f"{where}: expected a one-key mapping like {{not_null: {{columns: [..]}}}}, got {item!r}"
        )
    ((kind, body),) = item.items()
    if kind not in _ALLOWED_KEYS:
        raise DataTestSpecError(f"{where}: unknown test kind {kind!r} (expected one of {', '.join(TEST_KINDS)})")
    where = f"{where} ({kind})"
    body = {} if body is None else body
    if not isinstance(body, dict):
        raise DataTestSpecError(f"{where}: arguments must be a mapping, got {body!r}")
    unknown = set(body) - _ALLOWED_KEYS[kind] - _COMMON_KEYS
    if unknown:
        allowed = sorted(_ALLOWED_KEYS[kind] | _COMMON_KEYS)
        raise DataTestSpecError(f"{where}: unknown keys {sorted(unknown)} (allowed: {allowed})")
    missing = {"not_null": ["columns"], "unique": ["columns"], "accepted_values": ["column", "values"]}.get(
        kind, ["column"] if kind == "range" else []
    )
    for key in missing:
        if key not in body:
            raise DataTestSpecError(f"{where}: missing required key '{key}'")
    severity = body.get("severity", "error")
    if severity not in ("error", "warn"):
        raise DataTestSpecError(f"{where}: severity must be 'error' or 'warn', got {severity!r}")

    columns: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()
    lo = hi = None
    if kind in ("not_null", "unique"):
        columns = _str_list(body["columns"], "columns", where)
    elif kind == "accepted_values":
        columns = _column(body["column"], where)
        values = _values(body["values"], where)
    elif kind == "range":
        columns = _column(body["column"], where)
        lo, hi = _bound(body.get("min"), "min", where), _bound(body.get("max"), "max", where)
        if lo is None and hi is None:
            raise DataTestSpecError(f"{where}: give at least one of 'min' and 'max'")
        if lo is not None and hi is not None:
            _check_bounds(lo, hi, where)

    name = body.get("name") or "_".join([kind, *columns])
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise DataTestSpecError(f"{where}: name must be an identifier, got {name!r}")
    return DataTestSpec(kind=kind, name=name, columns=columns, values=values, min=lo, max=hi, severity=severity)


def parse_tests(spec: Any, context: str = "") -> list[DataTestSpec]:
    """Validate a YAML ``tests`` list; errors name ``context`` (e.g. the model) and the offending entry."""
    if spec is None:
        return []
    if not isinstance(spec, list):
        raise _fail(context, f"'tests' must be a list, got {type(spec).__name__}")
    tests = [_parse_one(item, i, context) for i, item in enumerate(spec)]
    names = [t.name for t in tests]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _fail(context, f"duplicate test names {dupes}; give the tests distinct 'name's")
    return tests


def _literal(value: Any) -> str:
    if isinstance(value, dt.date):
        return sql_literal(value.isoformat())
    return sql_literal(value)


def _failing_sql(test: DataTestSpec, source: str, scope: str) -> str:
    cols = [quote_ident(c) for c in test.columns]
    if test.kind == "not_null":
        cond = " OR ".join(f"{c} IS NULL" for c in cols)
        return f"SELECT * FROM {source} WHERE ({scope}) AND ({cond})"
    if test.kind == "unique":
        not_null = " AND ".join(f"{c} IS NOT NULL" for c in cols)
        keys = ", ".join(cols)
        return (
            f"SELECT {keys}, count(*) AS n_rows FROM {source} WHERE ({scope}) AND {not_null} "
            f"GROUP BY {keys} HAVING count(*) > 1 ORDER BY n_rows DESC, {keys}"
        )
    if test.kind == "accepted_values":
        col = cols[0]
        values = ", ".join(_literal(v) for v in test.values)
        return f"SELECT * FROM {source} WHERE ({scope}) AND {col} IS NOT NULL AND {col} NOT IN ({values})"
    if test.kind == "range":
        col = cols[0]
        conds = []
        if test.min is not None:
            conds.append(f"{col} < {_literal(test.min)}")
        if test.max is not None:
            conds.append(f"{col} > {_literal(test.max)}")
        return f"SELECT * FROM {source} WHERE ({scope}) AND ({' OR '.join(conds)})"
    raise ValueError(f"no failing-rows query for test kind {test.kind!r}")  # pragma: no cover


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.datetime | dt.time | dt.timedelta):
        return str(value)
    return str(value)


def _rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description or []]
    return [{n: _jsonable(v) for n, v in zip(names, row, strict=True)} for row in cur.fetchall()]


def run_data_test(con: duckdb.DuckDBPyConnection, source: str, scope: str, test: DataTestSpec) -> DataTestResult:
    """Run one test against ``source`` (a qualified table name) restricted by the SQL condition ``scope``."""
    if test.kind == "non_empty":
        sql = f"SELECT count(*) FROM {source} WHERE {scope}"
        row = con.execute(sql).fetchall()[0]
        failing = 0 if row and row[0] else 1
        return DataTestResult(test.name, test.kind, failing == 0, failing, test.severity, sql, [])
    failing_sql = _failing_sql(test, source, scope)
    count_expr = "coalesce(sum(n_rows), 0)" if test.kind == "unique" else "count(*)"
    row = con.execute(f"SELECT {count_expr} FROM ({failing_sql}) AS failing").fetchall()[0]
    failing = int(row[0]) if row else 0
    samples = _rows(con.execute(f"{failing_sql} LIMIT {SAMPLE_LIMIT}")) if failing else []
    return DataTestResult(test.name, test.kind, failing == 0, failing, test.severity, failing_sql, samples)


def check_test_columns(tests: Sequence[DataTestSpec], columns: Sequence[str], relation: str) -> None:
    """Raise ``ValueError`` naming ``relation`` when a test refers to a column not in ``columns``."""
    for test in tests:
        missing = [c for c in test.columns if c not in columns]
        if missing:
            raise ValueError(
                f"data test {test.name!r} on {relation}: unknown columns {missing} (columns: {sorted(columns)})"
            )


def data_test_scope(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    tests: Sequence[DataTestSpec],
    partition_column: str | None = None,
    partition_keys: Sequence[str] | None = None,
) -> str:
    """The SQL condition restricting ``tests`` to ``partition_keys`` (``TRUE`` when unscoped).

    Raises ``ValueError`` naming the table when a test refers to a column the table lacks.
    """
    check_test_columns(tests, [name for name, _ in table_schema(con, schema, table)], f"{schema}.{table}")
    if partition_column is None or partition_keys is None:
        return "TRUE"
    ctype = column_type(con, schema, table, partition_column)
    return partition_predicate(partition_column, list(partition_keys), ctype)


def run_data_tests(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    tests: Sequence[DataTestSpec],
    partition_column: str | None = None,
    partition_keys: Sequence[str] | None = None,
) -> list[DataTestResult]:
    """Run ``tests`` on ``schema.table``, scoped to ``partition_keys`` of ``partition_column`` when both given.

    Raises ``ValueError`` naming the table when a test refers to a column the table lacks.
    """
    scope = data_test_scope(con, schema, table, tests, partition_column, partition_keys)
    source = qualified(schema, table)
    return [run_data_test(con, source, scope, t) for t in tests]
