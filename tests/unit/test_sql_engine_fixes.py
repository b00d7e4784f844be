"""dbt-like engine regressions: table clauses kept by rendering, per-day event dedup, partition column types,
data-test columns checked before writing, data-test value types, duplicate YAML keys, raw source names."""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.unit.test_sql_models import _group
from vigia.warehouse import duck
from vigia.warehouse.data_tests import DataTestSpecError, parse_tests
from vigia.warehouse.sql_models import (
    SqlModel,
    SqlModelError,
    check_model,
    discover_models,
    extract_dependencies,
    materialize_model,
    render_model_sql,
)

REPO = Path(__file__).resolve().parents[2]
SQL_ROOT = REPO / "dbt_like_sql"


def _models(root: Path, group: str = "g") -> dict[str, SqlModel]:
    return {m.name: m for m in discover_models(root, group)}


@pytest.fixture()
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = duck.connect(tmp_path / "warehouse.duckdb")
    c.execute("CREATE SCHEMA ds")
    c.execute(
        "CREATE TABLE ds.raw_conn AS SELECT * FROM (VALUES "
        "(DATE '2024-01-01', '10.0.0.1', 'tcp', 1), (DATE '2024-01-01', '10.0.0.2', 'tcp', 2), "
        "(DATE '2024-01-01', '10.0.0.3', 'udp', 3), (DATE '2024-01-02', '10.0.0.1', 'udp', 4)"
        ") t(day, orig_h, proto, n)"
    )
    yield c
    c.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return sorted(con.execute(sql).fetchall())


# --- 1. rendering keeps PIVOT, UNPIVOT, TABLESAMPLE and alias column lists --------------------------

PIVOT = "PIVOT (count(*) FOR proto IN ('tcp', 'udp') GROUP BY day)"


@pytest.mark.parametrize("materialized", ["table", "incremental"])
def test_render_keeps_pivot_unpivot_and_alias_columns(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, materialized: str
) -> None:
    files = {
        "pivoted": f"SELECT * FROM raw.conn {PIVOT}",
        "renamed": "SELECT day, host FROM raw.conn AS c(day, host, protocol, k)",
        "unpivoted": "SELECT day, k, v FROM raw.conn UNPIVOT (v FOR k IN (orig_h, proto))",
        "base": "SELECT * FROM raw.conn",
        "from_model": f"SELECT * FROM base {PIVOT}",
    }
    yml = "models:\n" + "".join(
        f"  {name}: {{materialized: {materialized}, partition_by: day}}\n" for name in files if name != "base"
    )
    models = _models(_group(tmp_path / "sql", files, yml))
    keys = ["2024-01-01", "2024-01-02"] if materialized == "incremental" else None
    materialize_model(con, models["base"], "ds")
    raw = '"ds"."raw_conn"'
    expected = {
        "pivoted": f"SELECT * FROM {raw} {PIVOT}",
        "renamed": f"SELECT day, host FROM {raw} AS c(day, host, protocol, k)",
        "unpivoted": f"SELECT day, k, v FROM {raw} UNPIVOT (v FOR k IN (orig_h, proto))",
        "from_model": f"SELECT * FROM ds.base {PIVOT}",
    }
    for name, want in expected.items():
        sql = render_model_sql(models[name], "ds", keys)
        assert ("PIVOT" in sql) == ("PIVOT" in want), sql
        assert name != "renamed" or "AS c(day, host, protocol, k)" in sql, sql
        materialize_model(con, models[name], "ds", keys)
        assert _rows(con, f"SELECT * FROM ds.{name}") == _rows(con, want), name


def test_render_keeps_tablesample(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    root = _group(
        tmp_path / "sql",
        {"sampled": "SELECT * FROM raw.conn AS c TABLESAMPLE RESERVOIR (2 ROWS) REPEATABLE (1)"},
        "models:\n  sampled: {materialized: incremental, partition_by: day}\n",
    )
    model = _models(root)["sampled"]
    for keys in (None, ["2024-01-01"]):
        assert "TABLESAMPLE RESERVOIR (2 ROWS)" in render_model_sql(model, "ds", keys)
        assert materialize_model(con, model, "ds", keys).rows_written == 2


def test_render_keeps_joins_inside_parentheses(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE ds.raw_hosts AS SELECT DATE '2024-01-01' AS day, '10.0.0.1' AS orig_h, 'gw' AS role")
    root = _group(
        tmp_path / "sql",
        {"roles": "SELECT day, c.orig_h, h.role FROM (raw.conn AS c JOIN raw.hosts AS h USING (day, orig_h))"},
        "models:\n  roles: {materialized: incremental, partition_by: day}\n",
    )
    model = _models(root)["roles"]
    for keys in (None, ["2024-01-01"]):
        sql = render_model_sql(model, "ds", keys)
        assert '"ds"."raw_hosts"' in sql and "raw.hosts" not in sql
        materialize_model(con, model, "ds", keys)
        assert _rows(con, "SELECT orig_h, role FROM ds.roles") == [("10.0.0.1", "gw")]


# --- 2. stg_events dedups per day: rows do not depend on how days were grouped into runs --------------


def _events_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    c = duck.connect(path)
    c.execute("CREATE SCHEMA ev")
    row = "'{id}', TIMESTAMPTZ '{ts}', '1.1.1.1', 'u', 'get', '/a', NULL, NULL, 200, 'ua', 1.0, 'svc', 0, NULL, '{{}}'"
    rows = [
        row.format(id="e1", ts="2024-01-01 23:59:59+00") + ", 'f1', DATE '2024-01-01'",
        row.format(id="e1", ts="2024-01-02 00:00:01+00") + ", 'f2', DATE '2024-01-02'",
        row.format(id="e2", ts="2024-01-02 10:00:00+00") + ", 'f2', DATE '2024-01-02'",
        row.format(id="e2", ts="2024-01-02 10:00:05+00") + ", 'f3', DATE '2024-01-02'",
    ]
    c.execute(
        f"CREATE TABLE ev.raw_events AS SELECT * FROM (VALUES ({'), ('.join(rows)})) t(event_id, ts, client_ip, "
        "user_name, method, path, query, body, status, user_agent, duration_ms, service, label, attack_type, "
        "raw_record, source_file, day)"
    )
    return c


def test_stg_events_rows_do_not_depend_on_run_grouping(tmp_path: Path) -> None:
    model = _models(SQL_ROOT, "events")["stg_events"]
    query = "SELECT event_id, CAST(day AS VARCHAR), source_file FROM ev.stg_events"
    backfill = _events_warehouse(tmp_path / "a.duckdb")
    materialize_model(backfill, model, "ev", ["2024-01-01", "2024-01-02"])
    daily = _events_warehouse(tmp_path / "b.duckdb")
    materialize_model(daily, model, "ev", ["2024-01-01"])
    materialize_model(daily, model, "ev", ["2024-01-02"])
    want = [("e1", "2024-01-01", "f1"), ("e1", "2024-01-02", "f2"), ("e2", "2024-01-02", "f2")]
    assert _rows(backfill, query) == _rows(daily, query) == want
    unique = next(t for t in model.tests if t.kind == "unique")
    assert unique.columns == ("day", "event_id")
    checked = check_model(backfill, model, "ev", ["2024-01-01", "2024-01-02"])
    assert [t.name for t in checked.tests if not t.passed] == []


def test_stg_events_dedup_matches_ranking_every_row(tmp_path: Path) -> None:
    """The duplicated-keys-only window keeps exactly the rows a row_number() over all timed rows keeps: the first
    by (ts, source_file) per (day, event_id), every row without an id, no row without a time."""
    c = _events_warehouse(tmp_path / "w.duckdb")
    c.execute("DELETE FROM ev.raw_events")
    c.execute(
        "INSERT INTO ev.raw_events SELECT CASE WHEN i % 17 = 0 THEN NULL ELSE 'e' || (i * 7919 % 90) END, "
        "CASE WHEN i % 29 = 0 THEN NULL ELSE TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL 7 MINUTE END, "
        "'1.1.1.1', 'u', 'get', '/a', NULL, NULL, 200, 'ua', 1.0, 'svc', 0, NULL, '{}', 'f' || (i * 31 % 3), "
        "DATE '2024-01-01' + CAST(i * 7 // 1440 AS INTEGER) FROM range(600) t(i)"
    )
    materialize_model(c, _models(SQL_ROOT, "events")["stg_events"], "ev", ["2024-01-01", "2024-01-02", "2024-01-03"])
    got = c.execute("SELECT event_id, ts, source_file FROM ev.stg_events ORDER BY ALL").fetchall()
    want = c.execute(
        "SELECT event_id, ts, source_file FROM ev.raw_events WHERE ts IS NOT NULL "
        "QUALIFY row_number() OVER (PARTITION BY day, event_id ORDER BY ts, source_file) = 1 OR event_id IS NULL "
        "ORDER BY ALL"
    ).fetchall()
    duplicated = _rows(
        c, "SELECT count(*) FROM (SELECT day, event_id FROM ev.raw_events GROUP BY ALL HAVING count(*) > 1)"
    )
    assert got == want and duplicated[0][0] > 10
    assert len(got) < 600 - 600 // 29 and sum(r[0] is None for r in got) == len(range(0, 600, 17)) - 2


# --- 3. partition writes refuse column type changes that would lose values ---------------------------


@pytest.mark.parametrize(
    ("new", "old", "lossless"),
    [
        ("INTEGER", "BIGINT", True),
        ("FLOAT", "DOUBLE", True),
        ('"NULL"', "DOUBLE", True),
        ("INTEGER", "DOUBLE", True),
        ("UINTEGER", "BIGINT", True),
        ("DECIMAL(5,2)", "DECIMAL(8,3)", True),
        ("DECIMAL(2,1)", "DOUBLE", True),
        ("INTEGER", "DECIMAL(12,2)", True),
        ("DECIMAL(18,3)", "DOUBLE", False),
        ("DECIMAL(7,1)", "FLOAT", False),
        ("BIGINT", "DECIMAL(18,0)", False),
        ("DOUBLE", "DECIMAL(18,3)", False),
        ("BIGINT", "BIGINT", True),
        ("DOUBLE", "BIGINT", False),
        ("BIGINT", "INTEGER", False),
        ("DOUBLE", "FLOAT", False),
        ("BIGINT", "DOUBLE", True),
        ("HUGEINT", "DOUBLE", True),
        ("BIGINT", "FLOAT", False),
        ("BIGINT", "UBIGINT", False),
        ("VARCHAR", "DOUBLE", False),
        ("DOUBLE", '"NULL"', False),
        ("DECIMAL(5,2)", "DECIMAL(5,3)", False),
        ("DATE", "TIMESTAMP", False),
    ],
)
def test_lossless_cast(new: str, old: str, lossless: bool) -> None:
    assert duck.lossless_cast(new, old) is lossless


@pytest.mark.parametrize("evolve", [False, True])
def test_replace_partitions_rejects_a_type_change(con: duckdb.DuckDBPyConnection, evolve: bool) -> None:
    day1 = "SELECT DATE '2024-01-01' AS day, CAST(1 AS BIGINT) AS failed"
    duck.replace_partitions(con, "ds", "t", "day", ["2024-01-01"], day1)
    day2 = "SELECT DATE '2024-01-02' AS day, 0.25::DOUBLE AS failed"
    with pytest.raises(ValueError, match=r"changed types: failed: BIGINT in the table, DOUBLE.*rebuild it fully"):
        duck.replace_partitions(con, "ds", "t", "day", ["2024-01-02"], day2, evolve_columns=evolve)
    assert duck.row_count(con, "ds", "t") == 1


def test_replace_partitions_accepts_lossless_widenings(con: duckdb.DuckDBPyConnection) -> None:
    first = "SELECT DATE '2024-01-01' AS day, CAST(1 AS BIGINT) AS n, 1.5::DOUBLE AS x, 'a' AS s"
    duck.replace_partitions(con, "ds", "t", "day", ["2024-01-01"], first)
    second = "SELECT DATE '2024-01-02' AS day, CAST(2 AS INTEGER) AS n, 2.5::FLOAT AS x, NULL AS s"
    assert duck.replace_partitions(con, "ds", "t", "day", ["2024-01-02"], second) == 1
    assert duck.table_schema(con, "ds", "t") == [("day", "DATE"), ("n", "BIGINT"), ("x", "DOUBLE"), ("s", "VARCHAR")]
    assert _rows(con, "SELECT n, x, s FROM ds.t") == [(1, 1.5, "a"), (2, 2.5, None)]


def test_incremental_model_type_change_is_refused(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    yml = "models:\n  daily: {materialized: incremental, partition_by: day}\n"
    root = _group(tmp_path / "sql", {"daily": "SELECT day, count(*) AS n FROM raw.conn GROUP BY day"}, yml)
    materialize_model(con, _models(root)["daily"], "ds", ["2024-01-01"])
    _group(root, {"daily": "SELECT day, avg(n) AS n FROM raw.conn GROUP BY day"})
    with pytest.raises(ValueError, match="n: BIGINT in the table, DOUBLE in the new rows"):
        materialize_model(con, _models(root)["daily"], "ds", ["2024-01-02"])
    assert _rows(con, "SELECT * FROM ds.daily") == [(dt.date(2024, 1, 1), 3)]


# --- 4. a data test naming a missing column fails before anything is written --------------------------


@pytest.mark.parametrize("materialized", ["table", "incremental", "view"])
def test_unknown_test_column_fails_before_writing(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, materialized: str
) -> None:
    yml = f"models:\n  summary:\n    materialized: {materialized}\n    partition_by: day\n"
    yml += "    tests:\n      - not_null: {columns: [n]}\n"
    root = _group(tmp_path / "sql", {"summary": "SELECT day, count(*) AS n FROM raw.conn GROUP BY day"}, yml)
    keys = ["2024-01-01", "2024-01-02"]
    materialize_model(con, _models(root)["summary"], "ds", keys)
    before = _rows(con, "SELECT * FROM ds.summary")
    _group(root, {"summary": "SELECT day, count(*) + 1 AS connections FROM raw.conn GROUP BY day"})
    with pytest.raises(ValueError, match=r"not_null_n.*ds\.summary: unknown columns \['n'\]"):
        materialize_model(con, _models(root)["summary"], "ds", keys)
    assert _rows(con, "SELECT * FROM ds.summary") == before
    assert [name for name, _ in duck.table_schema(con, "ds", "summary")] == ["day", "n"]


# --- 5. data-test values of the wrong type are rejected when models.yml is read -------------------------


@pytest.mark.parametrize(
    ("test", "message"),
    [
        ("accepted_values: {column: country, values: [US, NO]}", "mixes booleans.*quote such values"),
        ("accepted_values: {column: x, values: [1, .inf]}", "non-empty list of scalars"),
        ("range: {column: x, min: 0, max: 1e6}", r"'max' must be a number or a date.*write 1\.0e\+6"),
        ("range: {column: x, min: abc}", "'min' must be a number or a date"),
        ("range: {column: x, min: true}", "'min' must be a number or a date"),
        ("range: {column: x, max: .nan}", "'max' must be a number or a date"),
        ("range: {column: x, min: -.inf}", "'min' must be a number or a date"),
        ("range: {column: x, min: 10, max: 5.5}", "greater than max"),
        ("range: {column: x, min: 2024-01-03, max: '2024-01-02'}", "greater than max"),
        ("range: {column: x, min: 0, max: 2024-01-02}", "must both be numbers or both dates"),
    ],
)
def test_parse_tests_rejects_values_of_the_wrong_type(test: str, message: str) -> None:
    with pytest.raises(DataTestSpecError, match=message):
        parse_tests(yaml.safe_load(f"- {test}"), context="models.yml: model 'm'")


def test_parse_tests_accepts_numbers_dates_and_booleans() -> None:
    specs = parse_tests(
        yaml.safe_load(
            "- range: {column: x, min: 0, max: 1.0e+6}\n"
            "- range: {column: d, min: 2024-01-01, max: '2024-01-02 12:00:00', name: d_range}\n"
            "- accepted_values: {column: b, values: [true, false]}\n"
            "- accepted_values: {column: c, values: [US, 'NO', 1]}\n"
        )
    )
    assert (specs[0].min, specs[0].max) == (0, 1e6)
    assert (specs[1].min, specs[1].max) == (dt.date(2024, 1, 1), dt.datetime(2024, 1, 2, 12))
    assert specs[2].values == (True, False) and specs[3].values == ("US", "NO", 1)
    assert not any(isinstance(v, float) and not math.isfinite(v) for s in specs for v in s.values)


# --- 7. a key given twice in models.yml is an error ---------------------------------------------------------


@pytest.mark.parametrize(
    ("yml", "key"),
    [
        ("models:\n  m:\n    tests: [{non_empty: {}}]\n  m:\n    description: again\n", "'m'"),
        ("models:\n  m:\n    tests: [{non_empty: {}}]\n    tests: [{unique: {columns: [x]}}]\n", "'tests'"),
    ],
)
def test_duplicate_keys_in_models_yml_are_rejected(tmp_path: Path, yml: str, key: str) -> None:
    root = _group(tmp_path, {"m": "SELECT 1 AS x"}, yml)
    where = r"models\.yml\", line"  # the second occurrence, with its file and line
    with pytest.raises(SqlModelError, match=rf"(?s)models\.yml: invalid YAML.*found duplicate key {key}.*{where}"):
        discover_models(root, "g")


def test_models_yml_merge_keys_may_be_overridden(tmp_path: Path) -> None:
    yml = "models:\n  m: &m {materialized: view, description: d}\n  n:\n    <<: *m\n    materialized: table\n"
    models = _models(_group(tmp_path, {"m": "SELECT 1 AS x", "n": "SELECT 2 AS x"}, yml))
    assert (models["m"].materialized, models["n"].materialized, models["n"].description) == ("view", "table", "d")


# --- 8. raw source names: case-insensitive, checked against the dataset's raw tables ------------------------


def test_raw_source_and_model_names_are_case_insensitive(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    models, sources = extract_dependencies(
        'SELECT * FROM raw.Conn JOIN RAW."CONN_REJECTS" ON TRUE JOIN Base ON TRUE', {"base"}, Path("x.sql")
    )
    assert (models, sources) == ({"base"}, {"conn", "conn_rejects"})
    files = {"base": "SELECT day FROM raw.conn", "upper": "SELECT * FROM BASE JOIN raw.Conn USING (day)"}
    root = _group(tmp_path / "sql", files)
    built = _models(root)
    materialize_model(con, built["base"], "ds")
    assert materialize_model(con, built["upper"], "ds").rows_written == 10


def _model_deps(tmp_path: Path, sql: str) -> list[str]:
    import dagster as dg

    from assets.common import DatasetAssetContext, daily_partitions
    from assets.sql_models import build_sql_model_assets
    from vigia.config import load_dataset_config

    cfg = load_dataset_config(REPO / "config" / "datasets" / "network.yaml")
    root = _group(tmp_path / "sql", {"extra": sql}, group=str(cfg.sql_models))
    dctx = DatasetAssetContext(cfg=cfg, partitions_def=daily_partitions(cfg))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assets = build_sql_model_assets(dctx, root)
    key = dg.AssetKey([cfg.name, "extra"])
    model = next(a for a in assets if key in a.keys)
    return sorted(k.to_user_string() for k in model.asset_deps[key])


def test_raw_sources_map_to_the_raw_asset(tmp_path: Path) -> None:
    sql = "SELECT c.day FROM raw.Conn AS c JOIN raw.conn_rejects AS r ON TRUE JOIN raw.conn_files AS f ON TRUE"
    assert _model_deps(tmp_path, sql) == ["network/raw_conn"]


def test_unknown_raw_source_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SqlModelError, match=r"extra\.sql: raw\.dns is not a raw table of dataset 'network'.*raw\.conn"):
        _model_deps(tmp_path, "SELECT * FROM raw.dns")
