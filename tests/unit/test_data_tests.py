"""Declarative data tests: YAML validation and every kind passing / failing with exact counts."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from vigia.warehouse import duck
from vigia.warehouse.data_tests import DataTestSpecError, parse_tests, run_data_tests

ROWS = """
SELECT * FROM (VALUES
    (1, 'a', 'tcp', 80,    DATE '2024-01-01'),
    (2, 'b', 'udp', 53,    DATE '2024-01-01'),
    (3, 'b', 'TCP', 70000, DATE '2024-01-01'),
    (3, NULL, 'icmp', -1,  DATE '2024-01-02'),
    (3, 'c', NULL, NULL,   DATE '2024-01-02'),
    (NULL, 'c', 'gre', 443, DATE '2024-01-03'),
    (7, 'd', 'tcp', 22,    DATE '2024-01-03')
) AS t(id, host, proto, port, day)
"""


@pytest.fixture()
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    c = duck.connect(tmp_path / "w.duckdb")
    duck.replace_table(c, "s", "t", ROWS)
    duck.replace_table(c, "s", "empty", "SELECT * FROM s.t WHERE FALSE")
    yield c
    c.close()


def _run(con: duckdb.DuckDBPyConnection, spec: list, table: str = "t", **kw: object) -> dict:
    return {r.name: r for r in run_data_tests(con, "s", table, parse_tests(spec), **kw)}


def test_parse_tests_names_and_defaults() -> None:
    tests = parse_tests(
        [
            {"not_null": {"columns": ["ts", "orig_h"]}},
            {"unique": {"columns": ["uid"]}},
            {"accepted_values": {"column": "proto", "values": ["tcp", "udp"]}},
            {"range": {"column": "resp_p", "max": 65535, "severity": "warn"}},
            {"range": {"column": "resp_p", "min": 0, "name": "resp_p_non_negative"}},
            {"non_empty": {}},
            {"non_empty": {"name": "has_rows"}},
        ]
    )
    assert [t.name for t in tests] == [
        "not_null_ts_orig_h",
        "unique_uid",
        "accepted_values_proto",
        "range_resp_p",
        "resp_p_non_negative",
        "non_empty",
        "has_rows",
    ]
    assert tests[0].columns == ("ts", "orig_h")
    assert tests[3].severity == "warn" and tests[3].min is None and tests[3].max == 65535
    assert tests[0].severity == "error"
    assert parse_tests(None) == []
    assert parse_tests([{"non_empty": None}])[0].name == "non_empty"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"not_null": {}}, "must be a list"),
        ([{"nonsense": {}}], "unknown test kind 'nonsense'"),
        (["not_null"], "one-key mapping"),
        ([{"not_null": {"columns": ["a"]}, "unique": {"columns": ["b"]}}], "one-key mapping"),
        ([{"not_null": {}}], "missing required key 'columns'"),
        ([{"not_null": {"columns": []}}], "non-empty list"),
        ([{"not_null": {"columns": "ts"}}], "non-empty list"),
        ([{"unique": {"columns": ["a", "a"]}}], "duplicate columns"),
        ([{"unique": {"column": "a"}}], "unknown keys"),
        ([{"accepted_values": {"column": "a"}}], "missing required key 'values'"),
        ([{"accepted_values": {"column": "a", "values": []}}], "non-empty list of scalars"),
        ([{"range": {"column": "a"}}], "at least one of 'min' and 'max'"),
        ([{"range": {"column": "a", "min": 5, "max": 1}}], "greater than max"),
        ([{"range": {"column": "a", "min": [1]}}], "'min' must be a number"),
        ([{"non_empty": {"severity": "fatal"}}], "severity must be 'error' or 'warn'"),
        ([{"non_empty": {}}, {"non_empty": {}}], "duplicate test names"),
        ([{"non_empty": {"name": "has rows"}}], "name must be an identifier"),
    ],
)
def test_parse_tests_rejects_invalid_specs(spec: object, message: str) -> None:
    with pytest.raises(DataTestSpecError, match=message) as info:
        parse_tests(spec, context="models.yml: model 'stg_conn'")
    assert "stg_conn" in str(info.value)


def test_not_null(con: duckdb.DuckDBPyConnection) -> None:
    r = _run(con, [{"not_null": {"columns": ["host", "proto"]}}, {"not_null": {"columns": ["day"]}}])
    failing, ok = r["not_null_host_proto"], r["not_null_day"]
    assert (failing.passed, failing.failing_count, failing.kind) == (False, 2, "not_null")
    assert len(failing.sample_failing_rows) == 2
    assert {row["id"] for row in failing.sample_failing_rows} == {3}
    assert failing.sample_failing_rows[0]["day"].startswith("2024-01-0")  # JSON-friendly values
    assert "IS NULL" in failing.sql
    assert (ok.passed, ok.failing_count, ok.sample_failing_rows) == (True, 0, [])


def test_unique_counts_rows_in_duplicate_groups_and_ignores_nulls(con: duckdb.DuckDBPyConnection) -> None:
    r = _run(
        con,
        [
            {"unique": {"columns": ["id"]}},
            {"unique": {"columns": ["id", "host"]}},
            {"unique": {"columns": ["id", "day"]}},
            {"unique": {"columns": ["port"]}},
        ],
    )
    assert (r["unique_id"].passed, r["unique_id"].failing_count) == (False, 3)  # id 3 thrice; NULL id ignored
    assert r["unique_id"].sample_failing_rows == [{"id": 3, "n_rows": 3}]
    assert (r["unique_id_host"].passed, r["unique_id_host"].failing_count) == (True, 0)  # (3,NULL) ignored
    assert (r["unique_id_day"].passed, r["unique_id_day"].failing_count) == (False, 2)
    assert r["unique_port"].passed


def test_accepted_values(con: duckdb.DuckDBPyConnection) -> None:
    r = _run(
        con,
        [
            {"accepted_values": {"column": "proto", "values": ["tcp", "udp", "icmp"]}},
            {"accepted_values": {"column": "id", "values": [1, 2, 3, 7], "name": "ids"}},
        ],
    )
    protos = r["accepted_values_proto"]
    assert (protos.passed, protos.failing_count) == (False, 2)  # 'TCP' and 'gre'; NULL passes
    assert sorted(row["proto"] for row in protos.sample_failing_rows) == ["TCP", "gre"]
    assert r["ids"].passed


def test_range_with_either_bound(con: duckdb.DuckDBPyConnection) -> None:
    r = _run(
        con,
        [
            {"range": {"column": "port", "min": 0, "max": 65535}},
            {"range": {"column": "port", "min": 0, "name": "port_min"}},
            {"range": {"column": "port", "max": 65535, "name": "port_max"}},
            {"range": {"column": "port", "min": -10, "max": 100000, "name": "port_wide"}},
            {"range": {"column": "day", "min": "2024-01-02", "name": "day_min"}},
        ],
    )
    assert r["range_port"].failing_count == 2  # -1 and 70000; NULL passes
    assert r["port_min"].failing_count == 1
    assert r["port_max"].failing_count == 1
    assert r["port_wide"].passed
    assert r["day_min"].failing_count == 3


def test_non_empty(con: duckdb.DuckDBPyConnection) -> None:
    assert _run(con, [{"non_empty": {}}])["non_empty"].passed
    empty = _run(con, [{"non_empty": {}}], table="empty")["non_empty"]
    assert (empty.passed, empty.failing_count, empty.blocking) == (False, 1, True)


def test_all_kinds_pass_on_empty_table_except_non_empty(con: duckdb.DuckDBPyConnection) -> None:
    spec = [
        {"not_null": {"columns": ["id"]}},
        {"unique": {"columns": ["id"]}},
        {"accepted_values": {"column": "proto", "values": ["tcp"]}},
        {"range": {"column": "port", "min": 0}},
    ]
    assert all(r.passed for r in _run(con, spec, table="empty").values())


def test_partition_scope_and_severity(con: duckdb.DuckDBPyConnection) -> None:
    spec = [
        {"not_null": {"columns": ["host", "proto"], "severity": "warn"}},
        {"accepted_values": {"column": "proto", "values": ["tcp", "udp", "icmp"]}},
        {"non_empty": {}},
    ]
    day1 = _run(con, spec, partition_column="day", partition_keys=["2024-01-01"])
    assert day1["not_null_host_proto"].passed
    assert day1["accepted_values_proto"].failing_count == 1  # only 'TCP' on that day
    day2 = _run(con, spec, partition_column="day", partition_keys=["2024-01-02"])
    warn = day2["not_null_host_proto"]
    assert (warn.passed, warn.failing_count, warn.severity, warn.blocking) == (False, 2, "warn", False)
    assert day2["accepted_values_proto"].passed
    nothing = _run(con, spec, partition_column="day", partition_keys=["2030-01-01"])
    assert not nothing["non_empty"].passed
    both = _run(con, spec, partition_column="day", partition_keys=["2024-01-01", "2024-01-03"])
    assert both["accepted_values_proto"].failing_count == 2


def test_samples_are_capped_at_five(con: duckdb.DuckDBPyConnection) -> None:
    duck.replace_table(con, "s", "big", "SELECT NULL::INTEGER AS x FROM range(50)")
    result = _run(con, [{"not_null": {"columns": ["x"]}}], table="big")["not_null_x"]
    assert result.failing_count == 50
    assert len(result.sample_failing_rows) == 5


def test_unknown_column_is_a_clear_error(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match=r"s\.t: unknown columns \['nope'\]"):
        _run(con, [{"not_null": {"columns": ["id", "nope"]}}])
