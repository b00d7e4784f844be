"""Dagster-free DuckDB helpers: connecting, atomic table replacement, partition replacement, introspection.

Every function except :func:`connect` takes an open connection: DuckDB allows a single writer per
file, so the caller (a Dagster resource) owns the connection and its lifetime.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

BeforeCommit = Callable[[duckdb.DuckDBPyConnection], None]  # more writes inside a partition write's transaction

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any] | None

_LOCK_MARKERS = ("could not set lock on file", "conflicting lock")


class WarehouseLockedError(RuntimeError):
    """The DuckDB file stayed locked by another process for longer than the timeout."""


def quote_ident(name: str) -> str:
    """Quote an SQL identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    """``"schema"."table"``."""
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def sql_literal(value: Any) -> str:
    """Render a Python scalar (str, int, float, bool, None) as an SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and any(m in str(exc).lower() for m in _LOCK_MARKERS)


def connect(path: str | Path, read_only: bool = False, timeout_s: float = 60.0) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file, retrying with exponential backoff while another process holds its lock."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    attempts = 0
    while True:
        attempts += 1
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarehouseLockedError(
                    f"DuckDB file {path} is locked by another process; gave up after {attempts} attempts "
                    f"in {timeout_s:.1f}s ({'read-only' if read_only else 'read-write'}). "
                    f"Stop the other writer (dagster run, notebook, CLI) or raise the timeout. Cause: {exc}"
                ) from exc
            log.info("DuckDB file %s is locked, retrying in %.2fs", path, min(delay, remaining))
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 2.0)


def ensure_schema(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """Create ``schema`` if it does not exist."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether ``schema.table`` exists (tables or views) in the current database."""
    return relation_type(con, schema, table) is not None


def relation_type(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str | None:
    """``"BASE TABLE"``, ``"VIEW"`` or ``None`` when ``schema.name`` does not exist."""
    rows = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = ? AND table_name = ?"
        " AND table_catalog = current_database()",
        [schema, name],
    ).fetchall()
    return str(rows[0][0]) if rows else None


def _drop(con: duckdb.DuckDBPyConnection, schema: str, name: str, kind: str | None) -> None:
    """Drop ``schema.name`` of type ``kind`` (as :func:`relation_type` gives it); nothing when ``None``."""
    if kind is not None:
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {qualified(schema, name)}")


def row_count(con: duckdb.DuckDBPyConnection, schema: str, table: str, where: str | None = None) -> int:
    """Number of rows in ``schema.table`` (optionally filtered by an SQL ``where`` condition)."""
    sql = f"SELECT count(*) FROM {qualified(schema, table)}"
    if where:
        sql += f" WHERE {where}"
    row = con.execute(sql).fetchall()[0]
    return int(row[0]) if row else 0


def table_schema(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    """``[(column_name, duckdb_type), ...]`` in column order."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
        " AND table_catalog = current_database() ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    if not rows:
        raise LookupError(f"table {schema}.{table} does not exist")
    return [(str(n), str(t)) for n, t in rows]


def partition_predicate(column: str, keys: Sequence[str], column_type: str) -> str:
    """``"column" IN (CAST('k1' AS type), ...)``: compares ISO string keys with a typed column."""
    if not keys:
        return "FALSE"
    values = ", ".join(f"CAST({sql_literal(k)} AS {column_type})" for k in keys)
    return f"{quote_ident(column)} IN ({values})"


def column_type(con: duckdb.DuckDBPyConnection, schema: str, table: str, column: str) -> str:
    """DuckDB type of one column; ``KeyError`` naming the table when absent."""
    types = dict(table_schema(con, schema, table))
    if column not in types:
        raise KeyError(f"column {column!r} not in {schema}.{table} (columns: {sorted(types)})")
    return types[column]


def _drop_quietly(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    try:
        con.execute(f"DROP TABLE IF EXISTS {qualified(schema, table)}")
    except duckdb.Error:  # pragma: no cover - best effort cleanup
        log.warning("could not drop %s.%s", schema, table, exc_info=True)


def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # no transaction active
        con.rollback()


def _rename(con: duckdb.DuckDBPyConnection, schema: str, source: str, target: str) -> None:
    con.execute(f"ALTER TABLE {qualified(schema, source)} RENAME TO {quote_ident(target)}")


def _swap(
    con: duckdb.DuckDBPyConnection, schema: str, tmp: str, table: str, before_commit: BeforeCommit | None = None
) -> None:
    """In one transaction: drop ``table``, rename ``tmp`` to it, then ``before_commit(con)`` if given."""
    kind = relation_type(con, schema, table)  # a view of that name (the model was a view) goes too
    con.begin()
    try:
        _drop(con, schema, table, kind)
        _rename(con, schema, tmp, table)
        if before_commit is not None:
            before_commit(con)
        con.commit()
    except BaseException:
        _rollback_quietly(con)
        raise


def replace_table(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    select_sql: str,
    params: Params = None,
    before_commit: BeforeCommit | None = None,
) -> int:
    """Write-then-swap: build ``__tmp_<table>`` from ``select_sql``, then atomically swap it in.

    On any failure the temporary table is dropped and the previous table is left intact.
    ``before_commit(con)`` runs in the swap's transaction (e.g. appending the matching log row): if it fails,
    the previous table stays. Returns the number of rows in the new table.
    """
    ensure_schema(con, schema)
    tmp = f"__tmp_{table}"
    _drop_quietly(con, schema, tmp)
    try:
        con.execute(f"CREATE TABLE {qualified(schema, tmp)} AS {select_sql}", params)
        rows = row_count(con, schema, tmp)
        _swap(con, schema, tmp, table, before_commit)
    except BaseException:
        _drop_quietly(con, schema, tmp)
        raise
    return rows


def replace_view(con: duckdb.DuckDBPyConnection, schema: str, view: str, select_sql: str) -> None:
    """(Re)define ``schema.view`` as ``select_sql`` in one transaction (a table of that name is dropped).

    DuckDB binds the query when the view is created, so a broken query fails here and leaves the
    previous relation intact.
    """
    ensure_schema(con, schema)
    kind = relation_type(con, schema, view)
    con.begin()
    try:
        _drop(con, schema, view, None if kind == "VIEW" else kind)  # CREATE OR REPLACE handles a view
        con.execute(f"CREATE OR REPLACE VIEW {qualified(schema, view)} AS {select_sql}")
        con.commit()
    except BaseException:
        _rollback_quietly(con)
        raise


SNAPSHOT_TABLE = "__vigia_snapshot"


@contextlib.contextmanager
def scoped_relation(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    where: str | None = None,
    columns: Sequence[str] | None = None,
) -> Iterator[tuple[str, str]]:
    """``(relation, condition)`` to read the rows of ``schema.table`` matching ``where`` several times.

    A table is read in place. A view is evaluated once into a TEMP table of ``columns`` (all when
    ``None``), so several reads cost one evaluation of the view instead of one each; the TEMP table
    lives in memory (spilling to DuckDB's temp directory under its memory limit) and is dropped on exit.
    """
    condition = where or "TRUE"
    if relation_type(con, schema, table) != "VIEW":
        yield qualified(schema, table), condition
        return
    snapshot = f"temp.main.{quote_ident(SNAPSHOT_TABLE)}"
    projection = ", ".join(quote_ident(c) for c in columns) if columns else "*"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {quote_ident(SNAPSHOT_TABLE)} AS "
        f"SELECT {projection} FROM {qualified(schema, table)} WHERE {condition}"
    )
    try:
        yield snapshot, "TRUE"
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DROP TABLE IF EXISTS {snapshot}")


def select_columns(con: duckdb.DuckDBPyConnection, select_sql: str, params: Params = None) -> list[tuple[str, str]]:
    """``[(column_name, duckdb_type), ...]`` of the select, in its order (DESCRIBE binds it, reads no rows)."""
    rows = con.execute(f"DESCRIBE SELECT * FROM ({select_sql}) AS __src", params).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def _database_file(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return str(rows[0][0]) if rows and rows[0][0] else "the warehouse file"


_SIGNED_BITS = {"TINYINT": 8, "SMALLINT": 16, "INTEGER": 32, "BIGINT": 64, "HUGEINT": 128}
_UNSIGNED_BITS = {"UTINYINT": 8, "USMALLINT": 16, "UINTEGER": 32, "UBIGINT": 64, "UHUGEINT": 128}
_FLOAT_MANTISSA_BITS = {"FLOAT": 24, "DOUBLE": 53}
_FLOAT_DIGITS = {"FLOAT": 6, "DOUBLE": 15}  # decimal digits that round-trip through the float
_INTEGER_DIGITS = {"TINYINT": 3, "SMALLINT": 5, "INTEGER": 10, "BIGINT": 19, "HUGEINT": 39,
                   "UTINYINT": 3, "USMALLINT": 5, "UINTEGER": 10, "UBIGINT": 20, "UHUGEINT": 39}  # fmt: skip
_DECIMAL_RE = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def _value_bits(typ: str) -> int | None:
    """Bits of magnitude an integer type holds (sign excluded); ``None`` for other types."""
    if typ in _SIGNED_BITS:
        return _SIGNED_BITS[typ] - 1
    return _UNSIGNED_BITS.get(typ)


def lossless_cast(new: str, old: str) -> bool:
    """Whether every value of DuckDB type ``new`` is stored unchanged in a column of type ``old``.

    Same type, the ``NULL`` type (a column of NULLs) into any type, a wider integer or float, an integer
    into a float whose mantissa holds it (any integer into ``DOUBLE``: a count above 2^53 would round), a
    ``DECIMAL`` (e.g. an SQL literal ``0.5``) into a float that keeps its digits, an integer or ``DECIMAL``
    into a ``DECIMAL`` with as many digits on either side of the point.
    """
    if new == old or new.strip('"') == "NULL":
        return True
    new_bits, old_bits = _value_bits(new), _value_bits(old)
    if new_bits is not None and old_bits is not None:
        return new_bits <= old_bits and (new in _UNSIGNED_BITS or old in _SIGNED_BITS)
    new_dec, old_dec = _DECIMAL_RE.match(new), _DECIMAL_RE.match(old)
    new_p, new_s = (int(new_dec[1]), int(new_dec[2])) if new_dec else (_INTEGER_DIGITS.get(new), 0)
    if old in _FLOAT_MANTISSA_BITS:
        if new_dec:
            return new_p <= _FLOAT_DIGITS[old]
        if new_bits is not None and old == "DOUBLE":
            return True  # counts: DuckDB's sums are HUGEINT; only magnitudes above 2^53 would round
        new_mantissa = _FLOAT_MANTISSA_BITS.get(new, new_bits)
        return new_mantissa is not None and new_mantissa <= _FLOAT_MANTISSA_BITS[old]
    if old_dec and new_p is not None:
        old_p, old_s = int(old_dec[1]), int(old_dec[2])
        return new_s <= old_s and new_p - new_s <= old_p - old_s
    return False


def _changed_columns_error(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    added: Sequence[str],
    missing: Sequence[str],
    retyped: Sequence[tuple[str, str, str]] = (),
) -> ValueError:
    """The error for a partition write whose columns no longer match the table, saying how to rebuild it.

    ``retyped`` lists ``(column, table type, new rows' type)`` of columns whose new values would not be
    stored unchanged.
    """
    target = qualified(schema, table)
    types = "; ".join(f"{name}: {old} in the table, {new} in the new rows" for name, old, new in retyped)
    return ValueError(
        f"columns of the new rows for {schema}.{table} differ from the existing table (only in the new rows: "
        f"{sorted(added)}; only in the table: {sorted(missing)}"
        + (f"; changed types: {types}" if types else "")
        + f"); rebuild it fully: partition writes keep the "
        f"table's columns, so drop the table (DROP TABLE {target}; in {_database_file(con)}, with no Dagster run "
        f"writing to it), then materialize every partition of the asset {schema}/{table} again (a backfill of all "
        "its partitions) and of the assets downstream of it"
    )


def _create_empty_table(
    con: duckdb.DuckDBPyConnection, target: str, select_sql: str, params: Params, compression: Mapping[str, str]
) -> None:
    """Create ``target`` with the select's columns and types, each column in ``compression`` fixed to its method."""
    if not compression:
        con.execute(f"CREATE TABLE {target} AS SELECT * FROM ({select_sql}) AS __src WHERE FALSE", params)
        return
    columns = select_columns(con, select_sql, params)
    unknown = sorted(set(compression) - {name for name, _ in columns})
    if unknown:
        raise ValueError(f"compression set for columns {unknown} that {target} does not have")
    invalid = sorted(method for method in compression.values() if not method.isidentifier())
    if invalid:
        raise ValueError(f"not a DuckDB compression method name: {invalid}")
    defs = [
        f"{quote_ident(name)} {typ}" + (f" USING COMPRESSION {compression[name]}" if name in compression else "")
        for name, typ in columns
    ]
    con.execute(f"CREATE TABLE {target} ({', '.join(defs)})")


def replace_partitions(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    partition_column: str,
    keys: Sequence[str],
    select_sql: str,
    params: Params = None,
    compression: Mapping[str, str] | None = None,
    evolve_columns: bool = False,
    before_commit: BeforeCommit | None = None,
) -> int:
    """Replace the rows of the given partitions with the select's rows for those partitions.

    Creates the (empty) table from the select's columns when missing, with ``compression`` (column ->
    DuckDB compression method) fixed for the named columns; an existing table keeps its layout. The
    delete and the insert run in one transaction; select rows outside ``keys`` are ignored. Returns
    inserted rows.

    When the select's columns differ from the table's, this fails (``ValueError`` saying how to rebuild the
    table) unless ``evolve_columns``: for tables whose columns follow the model (one score column per
    detector), the select's new columns are added to the table (NULL in the other rows) in the same
    transaction, and the table's columns the select lacks are NULL in the new rows. A column whose type
    changed fails in both cases, unless its new values are stored unchanged (see :func:`lossless_cast`).

    ``before_commit(con)`` runs inside the transaction after the insert (e.g. labelling the new rows): if it fails,
    nothing is written.
    """
    ensure_schema(con, schema)
    target = qualified(schema, table)
    kind = relation_type(con, schema, table)
    con.begin()  # the table's creation too: a first write that fails leaves no empty table behind
    try:
        if kind != "BASE TABLE":
            _drop(con, schema, table, kind)  # a view (the model was declared one before) stores nothing
            _create_empty_table(con, target, select_sql, params, compression or {})
        if not keys:
            con.commit()
            return 0
        selected = select_columns(con, select_sql, params)
        existing = dict(table_schema(con, schema, table))
        added = [(name, typ) for name, typ in selected if name not in existing]
        missing = sorted(set(existing) - {name for name, _ in selected})
        retyped = [
            (name, existing[name], typ)
            for name, typ in selected
            if name in existing and not lossless_cast(typ, existing[name])
        ]
        if retyped or ((added or missing) and not evolve_columns):
            raise _changed_columns_error(con, schema, table, [name for name, _ in added], missing, retyped)
        predicate = partition_predicate(partition_column, keys, column_type(con, schema, table, partition_column))
        for name, typ in added:
            con.execute(f"ALTER TABLE {target} ADD COLUMN {quote_ident(name)} {typ}")
        con.execute(f"DELETE FROM {target} WHERE {predicate}")
        row = con.execute(
            f"INSERT INTO {target} BY NAME SELECT * FROM ({select_sql}) AS __src WHERE {predicate}", params
        ).fetchall()[0]
        if before_commit is not None:
            before_commit(con)
        con.commit()
    except BaseException:
        _rollback_quietly(con)
        raise
    if added or missing:
        log.info("%s.%s: added columns %s; NULL in the new rows: %s", schema, table, [n for n, _ in added], missing)
    return int(row[0]) if row else 0


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _md_cell(value: Any) -> str:
    """One table cell, shown as plain text: the values come from the monitored data, so markdown that would
    make a link, an image, HTML or emphasis out of them (or break the table) is escaped."""
    text = "" if value is None else str(value)
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\r", " ").replace("\n", " ")


def to_markdown(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Render rows as a GitHub-flavoured markdown table."""
    header = "| " + " | ".join(_md_cell(c) for c in columns) + " |"
    sep = "| " + " | ".join("---" for _ in columns) + " |"
    body = ["| " + " | ".join(_md_cell(v) for v in r) + " |" for r in rows]
    return "\n".join([header, sep, *body])


def preview(con: duckdb.DuckDBPyConnection, schema: str, table: str, limit: int = 10, where: str | None = None) -> str:
    """First ``limit`` rows of ``schema.table`` (optionally filtered) as a markdown table."""
    return preview_relation(con, qualified(schema, table), limit, where)


def preview_relation(con: duckdb.DuckDBPyConnection, relation: str, limit: int = 10, where: str | None = None) -> str:
    """First ``limit`` rows of an already qualified relation name as a markdown table."""
    sql = f"SELECT * FROM {relation}"
    if where:
        sql += f" WHERE {where}"
    cur = con.execute(f"{sql} LIMIT {int(limit)}")
    columns = [d[0] for d in cur.description or []]
    return to_markdown(columns, cur.fetchall())


def read_frame(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    *,
    partition_column: str | None = None,
    keys: Sequence[str] | None = None,
    order_by: str | None = None,
    columns: Sequence[str] | None = None,
    where: str | None = None,
    params: Params = None,
) -> pl.DataFrame:
    """Read a table (optionally only some partitions, ``columns`` and rows matching ``where``) into polars via Arrow."""
    conditions = [where] if where else []
    if partition_column and keys:
        col_type = column_type(con, schema, table, partition_column)
        conditions.insert(0, partition_predicate(partition_column, keys, col_type))
    return read_relation(con, qualified(schema, table), columns=columns, conditions=conditions, order_by=order_by,
                         params=params)


def read_relation(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    *,
    columns: Sequence[str] | None = None,
    conditions: Sequence[str] = (),
    order_by: str | None = None,
    params: Params = None,
) -> pl.DataFrame:
    """Read an already qualified relation (``columns``, rows matching every condition) into polars via Arrow."""
    projection = ", ".join(quote_ident(c) for c in columns) if columns else "*"
    sql = f"SELECT {projection} FROM {relation}"
    if conditions:
        sql += " WHERE " + " AND ".join(f"({c})" for c in conditions)
    if order_by:
        sql += f" ORDER BY {order_by}"
    return pl.from_arrow(con.sql(sql, params=params).to_arrow_table())


@contextlib.contextmanager
def insertion_order_relaxed(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Let DuckDB write rows in the order its threads produce them (``preserve_insertion_order = false``; a query's
    ORDER BY still holds), restoring the setting after: about 10 % cheaper for large inserts whose order no reader
    relies on."""
    before = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if before else 'false'}")


def write_frame_partitions(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    frame: pl.DataFrame,
    keys: Sequence[str],
    partition_column: str = "day",
    evolve_columns: bool = False,
    before_commit: BeforeCommit | None = None,
) -> int:
    """``replace_partitions`` from a polars frame (registered through Arrow for the statement)."""
    name = f"__vigia_frame_{table}"
    con.register(name, frame.to_arrow())
    try:
        return replace_partitions(
            con, schema, table, partition_column, keys, f"SELECT * FROM {name}", evolve_columns=evolve_columns,
            before_commit=before_commit,
        )
    finally:
        con.unregister(name)


def replace_table_from_frame(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    frame: pl.DataFrame,
    before_commit: BeforeCommit | None = None,
) -> int:
    """``replace_table`` (write, then swap) from a polars frame."""
    name = f"__vigia_table_{table}"
    con.register(name, frame.to_arrow())
    try:
        return replace_table(con, schema, table, f"SELECT * FROM {name}", before_commit=before_commit)
    finally:
        con.unregister(name)


def append_frame(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, frame: pl.DataFrame, *, evolve_columns: bool = False
) -> int:
    """Insert a polars frame's rows (columns by name), creating the table from its schema when missing.

    With ``evolve_columns`` (a log whose rows gain fields over releases), the frame's columns the table lacks
    are added first (NULL in the earlier rows), and a column the table holds with DuckDB's ``NULL`` type (it
    was created from a frame whose column was all None) takes the frame's type. Runs inside the caller's
    transaction, if any.
    """
    name = f"__vigia_append_{table}"
    target = qualified(schema, table)
    con.register(name, frame.to_arrow())
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS {target} AS SELECT * FROM {name} LIMIT 0")
        if evolve_columns:
            existing = dict(table_schema(con, schema, table))
            for column, typ in select_columns(con, f"SELECT * FROM {name}", None):
                if column not in existing:
                    con.execute(f"ALTER TABLE {target} ADD COLUMN {quote_ident(column)} {typ}")
                elif existing[column].strip('"') == "NULL" and typ.strip('"') != "NULL":
                    con.execute(f"ALTER TABLE {target} ALTER {quote_ident(column)} SET DATA TYPE {typ}")
        if frame.height:
            con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {name}")
    finally:
        con.unregister(name)
    return frame.height
