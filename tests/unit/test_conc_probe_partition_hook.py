"""``replace_partitions(before_commit=...)`` runs inside the write's transaction: its failure writes nothing."""

from __future__ import annotations

import duckdb
import pytest

from vigia.warehouse.duck import replace_partitions


def test_before_commit_failure_rolls_the_partition_write_back() -> None:
    con = duckdb.connect()
    select = "SELECT DATE '2026-01-05' AS day, {v} AS v, NULL::INTEGER AS label"
    replace_partitions(con, "s", "t", "day", ["2026-01-05"], select.format(v=1))
    con.execute("UPDATE s.t SET label = 1")

    def fail(c: duckdb.DuckDBPyConnection) -> None:
        c.execute("UPDATE s.t SET label = 0")
        raise duckdb.OutOfMemoryException("out of memory (test)")

    with pytest.raises(duckdb.OutOfMemoryException):
        replace_partitions(con, "s", "t", "day", ["2026-01-05"], select.format(v=2), before_commit=fail)
    assert con.execute("SELECT v, label FROM s.t").fetchall() == [(1, 1)]

    def label(c: duckdb.DuckDBPyConnection) -> None:
        c.execute("UPDATE s.t SET label = 7 WHERE day = DATE '2026-01-05'")

    replace_partitions(con, "s", "t", "day", ["2026-01-05"], select.format(v=3), before_commit=label)
    assert con.execute("SELECT v, label FROM s.t").fetchall() == [(3, 7)]


def test_a_failed_first_write_leaves_no_table() -> None:
    con = duckdb.connect()
    with pytest.raises(duckdb.Error):
        replace_partitions(con, "s", "t", "day", ["2026-01-05"], "SELECT DATE '2026-01-05' AS day, error('bad') AS v")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 't'").fetchall() == [(0,)]
