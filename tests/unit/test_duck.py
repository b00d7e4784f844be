"""DuckDB helpers: connect retry, write-then-swap, atomic partition replacement, introspection."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from vigia.warehouse import duck

FAIL_AT_RUNTIME = "SELECT CASE WHEN range = 5 THEN error('boom') ELSE range END AS i FROM range(10)"
CAST_FAIL_AT_RUNTIME = (
    "SELECT CAST(CASE WHEN range = 7 THEN 'x' ELSE CAST(range AS VARCHAR) END AS INTEGER) AS i FROM range(10)"
)
DAYS_SELECT = """
SELECT CAST(DATE '2024-01-01' + CAST(d AS INTEGER) AS DATE) AS day, CAST(d * 10 + r AS BIGINT) AS v, ? AS tag
FROM range(3) AS a(d), range(2) AS b(r)
"""


@pytest.fixture()
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    c = duck.connect(tmp_path / "wh" / "warehouse.duckdb")
    yield c
    c.close()


def _values(con: duckdb.DuckDBPyConnection, table: str, order: str = "1") -> list[tuple]:
    return con.execute(f"SELECT * FROM s.{table} ORDER BY {order}").fetchall()


def test_connect_creates_parent_dirs(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "w.duckdb"
    c = duck.connect(path)
    c.close()
    assert path.exists()
    ro = duck.connect(path, read_only=True)
    assert ro.execute("SELECT 1").fetchone() == (1,)
    ro.close()


def _hold_lock(path: Path, seconds: float) -> subprocess.Popen:
    code = textwrap.dedent(
        f"""
        import duckdb, time
        c = duckdb.connect({str(path)!r})
        print("locked", flush=True)
        time.sleep({seconds})
        c.close()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_connect_gives_clear_error_when_another_process_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    proc = _hold_lock(path, 30)
    try:
        start = time.monotonic()
        with pytest.raises(duck.WarehouseLockedError, match="locked by another process") as info:
            duck.connect(path, timeout_s=0.6)
        elapsed = time.monotonic() - start
        assert str(path) in str(info.value)
        assert 0.5 <= elapsed < 5
        assert isinstance(info.value.__cause__, duckdb.IOException)
    finally:
        proc.kill()
        proc.wait()


def test_connect_retries_until_the_lock_is_released(tmp_path: Path) -> None:
    path = tmp_path / "released.duckdb"
    proc = _hold_lock(path, 1.0)
    try:
        c = duck.connect(path, timeout_s=20)
        assert c.execute("SELECT 42").fetchone() == (42,)
        c.close()
    finally:
        proc.wait(timeout=10)


def test_replace_table_creates_and_replaces(con: duckdb.DuckDBPyConnection) -> None:
    assert duck.replace_table(con, "s", "t", "SELECT range AS i FROM range(5)") == 5
    assert duck.replace_table(con, "s", "t", "SELECT range * 2 AS i, ? AS tag FROM range(3)", ["x"]) == 3
    assert _values(con, "t") == [(0, "x"), (2, "x"), (4, "x")]
    assert not duck.table_exists(con, "s", "__tmp_t")


@pytest.mark.parametrize("bad_select", [FAIL_AT_RUNTIME, CAST_FAIL_AT_RUNTIME, "SELECT * FROM missing_table"])
def test_replace_table_failure_keeps_old_table(con: duckdb.DuckDBPyConnection, bad_select: str) -> None:
    duck.replace_table(con, "s", "t", "SELECT range AS i FROM range(4)")
    with pytest.raises(duckdb.Error):
        duck.replace_table(con, "s", "t", bad_select)
    assert _values(con, "t") == [(0,), (1,), (2,), (3,)]
    assert not duck.table_exists(con, "s", "__tmp_t")


@pytest.mark.parametrize("hook", ["row_count", "_rename"])
def test_replace_table_exception_between_create_and_swap(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch, hook: str
) -> None:
    duck.replace_table(con, "s", "t", "SELECT range AS i FROM range(4)")

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("interrupted")

    monkeypatch.setattr(duck, hook, explode)
    with pytest.raises(RuntimeError, match="interrupted"):
        duck.replace_table(con, "s", "t", "SELECT 99 AS i")
    monkeypatch.undo()
    assert _values(con, "t") == [(0,), (1,), (2,), (3,)]
    assert not duck.table_exists(con, "s", "__tmp_t")
    # the connection is usable again (no dangling transaction)
    assert duck.replace_table(con, "s", "t", "SELECT 1 AS i") == 1


def test_replace_partitions_only_touches_given_days(con: duckdb.DuckDBPyConnection) -> None:
    assert duck.replace_partitions(con, "s", "p", "day", ["2024-01-01", "2024-01-02"], DAYS_SELECT, ["v1"]) == 4
    assert duck.row_count(con, "s", "p") == 4
    # re-run one day with new content: replaced, other day untouched, rows outside keys ignored
    assert duck.replace_partitions(con, "s", "p", "day", ["2024-01-02"], DAYS_SELECT, ["v2"]) == 2
    rows = con.execute("SELECT CAST(day AS VARCHAR), tag, count(*) FROM s.p GROUP BY ALL ORDER BY 1").fetchall()
    assert rows == [("2024-01-01", "v1", 2), ("2024-01-02", "v2", 2)]
    # idempotent
    duck.replace_partitions(con, "s", "p", "day", ["2024-01-02"], DAYS_SELECT, ["v2"])
    assert duck.row_count(con, "s", "p") == 4
    assert duck.table_schema(con, "s", "p") == [("day", "DATE"), ("v", "BIGINT"), ("tag", "VARCHAR")]


def _storage(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, set[str]]:
    rows = con.execute(
        f"SELECT column_name, compression FROM pragma_storage_info('s.{table}') WHERE segment_type <> 'VALIDITY'"
    ).fetchall()
    out: dict[str, set[str]] = {}
    for name, method in rows:
        out.setdefault(name, set()).add(method)
    return out


def test_replace_partitions_fixes_compression_of_named_columns(con: duckdb.DuckDBPyConnection) -> None:
    select = (
        "SELECT DATE '2024-01-01' AS day, 'same text' AS kept, 'same text' AS plain, range AS v FROM range(200000)"
    )
    n = duck.replace_partitions(con, "s", "c", "day", ["2024-01-01"], select, compression={"plain": "uncompressed"})
    assert n == 200_000
    con.execute("CHECKPOINT")
    storage = _storage(con, "c")
    assert storage["plain"] == {"Uncompressed"}
    assert "Uncompressed" not in storage["kept"]  # the others are still analysed (a constant here)
    assert duck.table_schema(con, "s", "c") == [("day", "DATE"), ("kept", "VARCHAR"), ("plain", "VARCHAR"),
                                                ("v", "BIGINT")]
    # the layout belongs to the table: a later partition keeps it
    duck.replace_partitions(con, "s", "c", "day", ["2024-01-01"], select)
    con.execute("CHECKPOINT")
    assert _storage(con, "c")["plain"] == {"Uncompressed"}


def test_replace_partitions_rejects_compression_for_unknown_column(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match=r"\['nope'\]"):
        duck.replace_partitions(con, "s", "c", "day", ["2024-01-01"], DAYS_SELECT, ["v1"], compression={"nope": "rle"})
    assert not duck.table_exists(con, "s", "c")
    with pytest.raises(ValueError, match="compression method"):
        duck.replace_partitions(con, "s", "c", "day", ["2024-01-01"], DAYS_SELECT, ["v1"],
                                compression={"tag": "rle) --"})
    assert not duck.table_exists(con, "s", "c")


def test_replace_partitions_creates_empty_table_for_no_keys(con: duckdb.DuckDBPyConnection) -> None:
    assert duck.replace_partitions(con, "s", "p", "day", [], DAYS_SELECT, ["v1"]) == 0
    assert duck.table_exists(con, "s", "p")
    assert duck.row_count(con, "s", "p") == 0


def test_replace_partitions_failure_is_atomic(con: duckdb.DuckDBPyConnection) -> None:
    duck.replace_partitions(con, "s", "p", "day", ["2024-01-01", "2024-01-02"], DAYS_SELECT, ["v1"])
    before = _values(con, "p", "day, v")
    failing = """
    SELECT day, CASE WHEN v = 11 THEN error('boom') ELSE v END AS v, 'bad' AS tag
    FROM (SELECT CAST(DATE '2024-01-01' + CAST(d AS INTEGER) AS DATE) AS day, CAST(d * 10 + r AS BIGINT) AS v
          FROM range(3) AS a(d), range(2) AS b(r))
    """
    with pytest.raises(duckdb.Error, match="boom"):
        duck.replace_partitions(con, "s", "p", "day", ["2024-01-01", "2024-01-02"], failing)
    assert _values(con, "p", "day, v") == before
    # a conversion error while inserting also rolls back the delete
    with pytest.raises(duckdb.Error):
        duck.replace_partitions(
            con, "s", "p", "day", ["2024-01-01"],
            "SELECT DATE '2024-01-01' AS day, CAST(x AS BIGINT) AS v, 'x' AS tag FROM (VALUES ('nan-number')) t(x)",
        )
    assert _values(con, "p", "day, v") == before
    assert duck.replace_partitions(con, "s", "p", "day", ["2024-01-03"], DAYS_SELECT, ["v3"]) == 2


def test_replace_partitions_rejects_changed_columns(con: duckdb.DuckDBPyConnection) -> None:
    duck.replace_partitions(con, "s", "p", "day", ["2024-01-01"], DAYS_SELECT, ["v1"])
    with pytest.raises(ValueError, match=r"s\.p differ from the existing table.*rebuild it fully"):
        duck.replace_partitions(con, "s", "p", "day", ["2024-01-01"], "SELECT DATE '2024-01-01' AS day, 1 AS extra")
    assert duck.row_count(con, "s", "p") == 2


def test_introspection_and_preview(con: duckdb.DuckDBPyConnection) -> None:
    assert not duck.table_exists(con, "s", "t")
    with pytest.raises(LookupError, match=r"s\.t"):
        duck.table_schema(con, "s", "t")
    duck.replace_table(con, "s", "t", "SELECT range AS i, 'a|b' AS txt, NULL::VARCHAR AS n FROM range(20)")
    assert duck.table_exists(con, "s", "t")
    assert duck.row_count(con, "s", "t") == 20
    assert duck.row_count(con, "s", "t", where="i >= 15") == 5
    assert duck.table_schema(con, "s", "t") == [("i", "BIGINT"), ("txt", "VARCHAR"), ("n", "VARCHAR")]
    md = duck.preview(con, "s", "t", limit=3)
    lines = md.splitlines()
    assert lines[0] == "| i | txt | n |"
    assert lines[1] == "| --- | --- | --- |"
    assert lines[2] == "| 0 | a\\|b |  |"
    assert len(lines) == 5
    assert len(duck.preview(con, "s", "t", where="i > 17").splitlines()) == 4


def test_markdown_cells_are_plain_text() -> None:
    """Previews show values from the monitored data: an attacker's URL path or user agent must not become a
    link, an image, HTML or emphasis in the UI, nor break the table."""
    link = "[login](http://x.example) ![i](http://x.example/p.png)"
    html = "<img src=x onerror=alert(1)> *a* _b_ `c` \\ d\r\ne|f"
    md = duck.to_markdown(["user_agent", "n"], [[link, 1], [html, None]])
    rows = md.splitlines()
    assert rows[0] == "| user\\_agent | n |"
    assert rows[2] == "| \\[login\\](http://x.example) !\\[i\\](http://x.example/p.png) | 1 |"
    assert rows[3] == "| \\<img src=x onerror=alert(1)\\> \\*a\\* \\_b\\_ \\`c\\` \\\\ d  e\\|f |  |"


def test_quoting_helpers() -> None:
    assert duck.qualified("my schema", 'we"ird') == '"my schema"."we""ird"'
    assert duck.sql_literal("it's") == "'it''s'"
    assert duck.sql_literal(None) == "NULL"
    assert duck.sql_literal(True) == "TRUE"
    assert duck.partition_predicate("day", ["2024-01-01"], "DATE") == "\"day\" IN (CAST('2024-01-01' AS DATE))"
    assert duck.partition_predicate("day", [], "DATE") == "FALSE"


def test_read_frame_projection_partitions_and_where(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA s")
    con.execute(
        "CREATE TABLE s.t AS SELECT i, i * 10 AS v, DATE '2024-01-01' + CAST(i % 2 AS INTEGER) AS day "
        "FROM range(6) r(i)"
    )
    full = duck.read_frame(con, "s", "t", order_by="i")
    assert full.columns == ["i", "v", "day"] and full.height == 6
    some = duck.read_frame(
        con,
        "s",
        "t",
        partition_column="day",
        keys=["2024-01-02"],
        columns=["v"],
        where="i >= ?",
        params=[3],
        order_by="v",
    )
    assert some.columns == ["v"] and some["v"].to_list() == [30, 50]


def test_append_frame_evolves_a_log_table(con: duckdb.DuckDBPyConnection) -> None:
    """A log first written with an all-None column (DuckDB type NULL) and fewer fields takes later rows."""
    duck.ensure_schema(con, "s")
    duck.append_frame(con, "s", "log", pl.DataFrame({"batch": ["a"], "value": [None]}))
    assert dict(duck.table_schema(con, "s", "log"))["value"].strip('"') == "NULL"
    later = pl.DataFrame({"batch": ["b"], "value": [2.5], "rows_rejected": [3]})
    with pytest.raises(duckdb.Error):  # without evolve_columns, the old behaviour: the insert fails
        duck.append_frame(con, "s", "log", later)
    duck.append_frame(con, "s", "log", later, evolve_columns=True)
    types = {"batch": "VARCHAR", "value": "DOUBLE", "rows_rejected": "BIGINT"}
    assert dict(duck.table_schema(con, "s", "log")) == types
    assert _values(con, "log") == [("a", None, None), ("b", 2.5, 3)]


def test_replace_table_before_commit_failure_keeps_both(con: duckdb.DuckDBPyConnection) -> None:
    """The swap and the writes of before_commit land together: if the latter fails, neither does."""
    duck.replace_table(con, "s", "t", "SELECT 1 AS i")
    duck.append_frame(con, "s", "log", pl.DataFrame({"n": [1]}))

    def append_then_fail(c: duckdb.DuckDBPyConnection) -> None:
        duck.append_frame(c, "s", "log", pl.DataFrame({"n": [2]}))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        duck.replace_table_from_frame(con, "s", "t", pl.DataFrame({"i": [7, 8]}), before_commit=append_then_fail)
    assert _values(con, "t") == [(1,)] and _values(con, "log") == [(1,)]
    assert not duck.table_exists(con, "s", "__tmp_t")
    duck.replace_table_from_frame(
        con, "s", "t", pl.DataFrame({"i": [7, 8]}),
        before_commit=lambda c: duck.append_frame(c, "s", "log", pl.DataFrame({"n": [2]})),
    )  # fmt: skip
    assert _values(con, "t") == [(7,), (8,)] and _values(con, "log") == [(1,), (2,)]
