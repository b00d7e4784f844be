"""dbt-like engine: dependency parsing, ordering, rendering, materialisation, and the network models."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from vigia.schema import CONN_COLUMNS, PROVENANCE_COLUMNS
from vigia.warehouse import duck
from vigia.warehouse.data_tests import run_data_tests
from vigia.warehouse.sql_models import (
    SqlModel,
    SqlModelError,
    check_model,
    discover_models,
    extract_dependencies,
    materialize_model,
    render_model_sql,
)

NETWORK_ROOT = Path(__file__).resolve().parents[2] / "dbt_like_sql"
RAW_COLUMNS = {**CONN_COLUMNS, **PROVENANCE_COLUMNS}


def _group(root: Path, files: dict[str, str], yml: str | None = None, group: str = "g") -> Path:
    directory = root / group
    directory.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (directory / f"{name}.sql").write_text(sql)
    if yml is not None:
        (directory / "models.yml").write_text(yml)
    return root


@pytest.fixture()
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    c = duck.connect(tmp_path / "warehouse.duckdb")
    yield c
    c.close()


# --- dependency extraction -------------------------------------------------------------------------


def test_dependencies_ignore_ctes_and_find_joins_subqueries_and_sources() -> None:
    sql = """
    WITH recent AS (SELECT * FROM raw.conn AS c JOIN stg_conn USING (uid)),
         hosts AS (SELECT orig_h FROM recent WHERE orig_h IN (SELECT orig_h FROM host_profile))
    SELECT h.*, (SELECT max(day) FROM conn_daily_summary) AS last_day
    FROM hosts AS h
    LEFT JOIN (SELECT * FROM raw.dns) AS d ON TRUE
    WHERE EXISTS (SELECT 1 FROM recent)
    UNION ALL
    SELECT orig_h, NULL FROM range(3) AS r(orig_h)
    """
    names = {"stg_conn", "host_profile", "conn_daily_summary", "unused"}
    models, sources = extract_dependencies(sql, names, Path("m.sql"))
    assert models == {"stg_conn", "host_profile", "conn_daily_summary"}
    assert sources == {"conn", "dns"}


def test_cte_shadowing_a_model_name_is_not_a_dependency() -> None:
    sql = "WITH stg_conn AS (SELECT 1 AS x) SELECT * FROM stg_conn"
    assert extract_dependencies(sql, {"stg_conn"}, Path("m.sql")) == (frozenset(), frozenset())


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM nowhere", r"bad\.sql: table 'nowhere' is neither a model"),
        ("SELECT * FROM main.other", r"bad\.sql: table 'main\.other' is qualified with 'main'"),
        ("SELECT * FROM a; SELECT * FROM a", "exactly one SELECT"),
        ("INSERT INTO a VALUES (1)", "exactly one SELECT"),
        ("SELECT * FROM (", "does not parse"),
    ],
)
def test_dependency_errors_name_file_and_table(sql: str, message: str) -> None:
    with pytest.raises(SqlModelError, match=message):
        extract_dependencies(sql, {"a"}, Path("bad.sql"), "g")


def test_discover_unknown_table_error_names_file(tmp_path: Path) -> None:
    root = _group(tmp_path, {"a": "SELECT * FROM raw.conn", "b": "SELECT * FROM a JOIN typo USING (x)"})
    with pytest.raises(SqlModelError, match=r"b\.sql: table 'typo'"):
        discover_models(root, "g")


def test_discover_topological_order(tmp_path: Path) -> None:
    root = _group(
        tmp_path,
        {
            "a_top": "SELECT * FROM m_mid JOIN z_base USING (x)",
            "m_mid": "SELECT * FROM z_base",
            "z_base": "SELECT * FROM raw.conn",
            "b_alone": "SELECT 1 AS x",
        },
    )
    models = discover_models(root, "g")
    order = [m.name for m in models]
    assert order.index("z_base") < order.index("m_mid") < order.index("a_top")
    assert set(order) == {"a_top", "m_mid", "z_base", "b_alone"}
    by_name = {m.name: m for m in models}
    assert by_name["a_top"].model_deps == {"m_mid", "z_base"}
    assert by_name["z_base"].source_deps == {"conn"}
    assert by_name["b_alone"].materialized == "table" and by_name["b_alone"].tests == ()


@pytest.mark.parametrize(
    "files",
    [
        {"a": "SELECT * FROM b", "b": "SELECT * FROM c", "c": "SELECT * FROM a"},
        {"a": "SELECT * FROM a"},
    ],
)
def test_discover_cycle_error(tmp_path: Path, files: dict[str, str]) -> None:
    with pytest.raises(SqlModelError, match=r"dependency cycle among models: a -> .*a"):
        discover_models(_group(tmp_path, files), "g")


@pytest.mark.parametrize(
    ("yml", "message"),
    [
        ("models:\n  a: {materialized: incremental}\n", "incremental models need 'partition_by'"),
        ("models:\n  a: {materialized: ephemeral}\n", "materialized must be"),
        ("models:\n  a: {colour: red}\n", "unknown keys"),
        ("models:\n  ghost: {}\n", r"declared models without a \.sql file: \['ghost'\]"),
        ("models:\n  a: {tests: [{not_null: {}}]}\n", "model 'a'.*missing required key 'columns'"),
        ("other: 1\n", "single top-level 'models:'"),
        ("models: [\n", "invalid YAML"),
    ],
)
def test_models_yml_validation(tmp_path: Path, yml: str, message: str) -> None:
    root = _group(tmp_path, {"a": "SELECT 1 AS x"}, yml)
    with pytest.raises(SqlModelError, match=message) as info:
        discover_models(root, "g")
    assert "models.yml" in str(info.value)


def test_missing_group_and_bad_model_name(tmp_path: Path) -> None:
    with pytest.raises(SqlModelError, match="does not exist"):
        discover_models(tmp_path, "nope")
    with pytest.raises(SqlModelError, match="lower_snake_case"):
        discover_models(_group(tmp_path, {"raw_conn": "SELECT 1 AS x"}), "g")


# --- rendering ------------------------------------------------------------------------------------


def _model(sql: str, materialized: str = "table", **kw: object) -> SqlModel:
    deps = extract_dependencies(sql, {"stg_conn", "host_profile"}, Path("x.sql"))
    return SqlModel(
        name="x",
        path=Path("x.sql"),
        sql=sql,
        materialized=materialized,  # type: ignore[arg-type]
        partition_by="day" if materialized == "incremental" else None,
        model_deps=deps[0],
        source_deps=deps[1],
        **kw,  # type: ignore[arg-type]
    )


def test_render_rewrites_sources_and_models_but_not_ctes() -> None:
    model = _model(
        "WITH stg AS (SELECT conn.uid, conn.day FROM raw.conn) "
        "SELECT s.*, h.connections FROM stg AS s JOIN stg_conn USING (uid) JOIN host_profile h ON TRUE"
    )
    sql = render_model_sql(model, "network_iot23")
    assert 'FROM "network_iot23"."raw_conn" AS conn' in sql
    assert 'JOIN "network_iot23"."stg_conn"' in sql
    assert 'JOIN "network_iot23"."host_profile" AS h' in sql
    assert "FROM stg AS s" in sql
    assert "raw.conn" not in sql
    # partition keys are ignored for table models
    assert render_model_sql(model, "network_iot23", ["2024-01-01"]) == sql


def test_render_incremental_filters_raw_sources_to_partitions() -> None:
    model = _model("SELECT * FROM raw.conn WHERE proto = 'tcp'", "incremental")
    sql = render_model_sql(model, "ds", ["2024-01-01", "2024-01-03"])
    assert 'FROM "ds"."raw_conn"' in sql
    assert "\"day\" IN (CAST('2024-01-01' AS DATE), CAST('2024-01-03' AS DATE))" in sql
    assert ") AS conn" in sql
    assert "DATE" not in render_model_sql(model, "ds")


def _raw_conn(con: duckdb.DuckDBPyConnection, dataset: str, rows: Sequence[dict]) -> None:
    """Create ``<dataset>.raw_conn`` with the canonical types and insert ``rows`` (missing keys are NULL)."""
    duck.ensure_schema(con, dataset)
    cols = ", ".join(f"{name} {typ}" for name, typ in RAW_COLUMNS.items())
    con.execute(f"CREATE OR REPLACE TABLE {dataset}.raw_conn ({cols})")
    placeholders = ", ".join("?" for _ in RAW_COLUMNS)
    con.executemany(
        f"INSERT INTO {dataset}.raw_conn VALUES ({placeholders})",
        [[row.get(c) for c in RAW_COLUMNS] for row in rows],
    )


def test_materialize_table_and_incremental(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    root = _group(
        tmp_path / "sql",
        {
            "daily": "SELECT day, count(*) AS n FROM raw.conn GROUP BY day",
            "stg": "SELECT uid, day FROM raw.conn",
        },
        "models:\n  stg: {materialized: incremental, partition_by: day}\n",
    )
    models = {m.name: m for m in discover_models(root, "g")}
    rows = [{"uid": f"u{i}", "day": f"2024-01-0{1 + i % 3}", "source_file": "f"} for i in range(9)]
    _raw_conn(con, "ds", rows)

    first = materialize_model(con, models["stg"], "ds", ["2024-01-01"])
    assert (first.mode, first.partition_keys, first.rows_written, first.rows_total) == (
        "partitions",
        ("2024-01-01",),
        3,
        3,
    )
    assert first.schema == [("uid", "VARCHAR"), ("day", "DATE")]
    assert first.seconds >= 0
    again = materialize_model(con, models["stg"], "ds", ["2024-01-01", "2024-01-02"])
    assert (again.rows_written, again.rows_total) == (6, 6)
    full = materialize_model(con, models["stg"], "ds")
    assert (full.mode, full.rows_written, full.rows_total) == ("table", 9, 9)
    table = materialize_model(con, models["daily"], "ds", ["2024-01-01"])
    assert (table.mode, table.rows_written, table.partition_keys) == ("table", 3, ())


# --- the network models ---------------------------------------------------------------------------


def _conn(uid: str | None, ts: str, orig_h: str, resp_h: str, resp_p: int, **kw: object) -> dict:
    row = {
        "ts": datetime.fromisoformat(ts),
        "uid": uid,
        "orig_h": orig_h,
        "orig_p": 40000,
        "resp_h": resp_h,
        "resp_p": resp_p,
        "proto": "tcp",
        "service": None,
        "duration": 1.5,
        "orig_bytes": 100,
        "resp_bytes": 200,
        "conn_state": "SF",
        "missed_bytes": 0,
        "history": "ShADadFf",
        "orig_pkts": 5,
        "orig_ip_bytes": 400,
        "resp_pkts": 4,
        "resp_ip_bytes": 500,
        "label": 0,
        "attack_type": None,
        "day": ts[:10],
        "source_file": "conn.log",
    }
    row.update(kw)
    return row


NETWORK_ROWS = [
    _conn("C1", "2024-03-01 10:00:00", "10.0.0.1", "10.0.0.9", 80, proto="TCP", service="http", conn_state="sf"),
    # the same log concatenated twice: exact duplicate of C1 from a second file, must not double count
    _conn("C1", "2024-03-01 10:00:00", "10.0.0.1", "10.0.0.9", 80, proto="TCP", service="http", source_file="z.log"),
    _conn(
        "C2",
        "2024-03-01 11:00:00",
        "10.0.0.1",
        "10.0.0.8",
        443,
        service="",
        conn_state="rej",
        duration=None,
        orig_bytes=None,
        resp_bytes=None,
        orig_pkts=None,
        resp_pkts=None,
        orig_ip_bytes=None,
        resp_ip_bytes=None,
        missed_bytes=None,
        label=1,
        attack_type="PartOfAHorizontalPortScan",
    ),
    # ICMP: Zeek puts type/code in the ports
    _conn("C3", "2024-03-01 12:00:00", "10.0.0.2", "10.0.0.9", 0, proto="icmp", orig_p=8, conn_state="OTH"),
    _conn("C4", "2024-03-02 09:00:00", "10.0.0.1", "10.0.0.7", 80, service="http", proto="udp", label=None),
    _conn("C5", "2024-03-02 09:30:00", "10.0.0.1", "10.0.0.7", 53, service="dns", proto="udp", label=None),
    _conn("C6", "2024-03-02 09:40:00", "10.0.0.1", "10.0.0.6", 80, service="http"),
    _conn(None, "2024-03-02 10:00:00", "10.0.0.3", "10.0.0.9", 22, conn_state=None),
    _conn(None, "2024-03-02 10:00:00", "10.0.0.3", "10.0.0.9", 22, conn_state=None),
]


@pytest.fixture()
def network_models() -> dict[str, SqlModel]:
    return {m.name: m for m in discover_models(NETWORK_ROOT, "network")}


def test_network_models_are_discovered_in_order(network_models: dict[str, SqlModel]) -> None:
    order = list(network_models)
    assert order[0] == "stg_conn"
    assert set(order) == {"stg_conn", "conn_daily_summary", "host_profile"}
    stg = network_models["stg_conn"]
    assert (stg.materialized, stg.partition_by, stg.source_deps) == ("view", "day", {"conn"})
    assert stg.is_partitioned and not stg.is_incremental
    assert network_models["host_profile"].model_deps == {"stg_conn"}
    assert {t.kind for t in stg.tests} >= {"not_null", "unique", "accepted_values", "range", "non_empty"}
    assert all(m.description for m in network_models.values())


def _build_network(con: duckdb.DuckDBPyConnection, models: dict[str, SqlModel], dataset: str = "network") -> None:
    _raw_conn(con, dataset, NETWORK_ROWS)
    for model in models.values():
        materialize_model(con, model, dataset)


def _stg(con: duckdb.DuckDBPyConnection, dataset: str = "network") -> dict:
    cur = con.execute(f"SELECT * FROM {dataset}.stg_conn ORDER BY ts, uid")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    no_uid = [r for r in rows if r["uid"] is None]
    return {**{r["uid"]: r for r in rows if r["uid"]}, **{f"nouid{i}": r for i, r in enumerate(no_uid)}}


def test_stg_conn_dedups_and_normalises(con: duckdb.DuckDBPyConnection, network_models: dict) -> None:
    _build_network(con, network_models)
    rows = _stg(con)
    assert len(rows) == 8  # C1 once, both uid-less rows kept
    c1, c2, c3 = rows["C1"], rows["C2"], rows["C3"]
    assert (c1["proto"], c1["conn_state"], c1["service"], c1["source_file"]) == ("tcp", "SF", "http", "conn.log")
    assert (c1["is_failed"], c1["total_bytes"]) == (False, 300)
    assert c2["service"] is None and c2["conn_state"] == "REJ" and c2["is_failed"] is True
    for col in ("duration", "orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts", "orig_ip_bytes", "resp_ip_bytes"):
        assert c2[col] == 0, col
    assert c2["missed_bytes"] == 0 and c2["total_bytes"] == 0
    assert (c2["label"], c2["attack_type"]) == (1, "PartOfAHorizontalPortScan")
    assert (c3["proto"], c3["orig_p"], c3["resp_p"], c3["is_failed"]) == ("icmp", 8, 0, True)
    assert str(c1["day"]) == "2024-03-01"
    assert rows["nouid0"]["is_failed"] is False
    schema = dict(duck.table_schema(con, "network", "stg_conn"))
    assert schema["is_failed"] == "BOOLEAN" and schema["day"] == "DATE" and schema["ts"] == "TIMESTAMP"


def test_stg_conn_data_tests_pass_and_catch_bad_rows(con: duckdb.DuckDBPyConnection, network_models: dict) -> None:
    _build_network(con, network_models)
    for model in network_models.values():
        results = {r.name: r for r in run_data_tests(con, "network", model.name, model.tests)}
        assert [n for n, r in results.items() if not r.passed and n != "not_null_conn_state"] == [], model.name
    stg_results = {r.name: r for r in run_data_tests(con, "network", "stg_conn", network_models["stg_conn"].tests)}
    warn = stg_results["not_null_conn_state"]  # the two uid-less rows have no conn_state: a warning only
    assert (warn.failing_count, warn.severity, warn.blocking) == (2, "warn", False)
    assert not any(r.blocking for r in stg_results.values())
    con.execute(
        "INSERT INTO network.raw_conn SELECT * REPLACE ('gre' AS proto, 'C99' AS uid)"
        " FROM network.raw_conn WHERE uid = 'C1' LIMIT 1"
    )
    stg = network_models["stg_conn"]
    materialize_model(con, stg, "network", ["2024-03-01"])
    results = {r.name: r for r in run_data_tests(con, "network", "stg_conn", stg.tests, "day", ["2024-03-01"])}
    assert results["accepted_values_proto"].failing_count == 1 and results["accepted_values_proto"].blocking
    day2 = run_data_tests(con, "network", "stg_conn", stg.tests, "day", ["2024-03-02"])
    assert not any(r.blocking for r in day2)
    # check_model (what the asset runs) tests the view through one TEMP snapshot: same outcomes and samples
    checked = check_model(con, stg, "network", ["2024-03-01"])
    assert [(r.name, r.failing_count, r.sample_failing_rows) for r in checked.tests] == [
        (r.name, r.failing_count, r.sample_failing_rows) for r in results.values()
    ]
    leftover = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [duck.SNAPSHOT_TABLE])
    assert checked.rows_in_scope == 4 and leftover.fetchall()[0][0] == 0  # the snapshot is dropped
    # the same model as a per-day table: tested in place, and the preview shows the requested day only
    table = replace(stg, materialized="incremental")
    for day in ("2024-03-01", "2024-03-02"):
        materialize_model(con, table, "network", [day])
    on_table = check_model(con, table, "network", ["2024-03-02"])
    day2_rows = duck.row_count(con, "network", "stg_conn", "day = DATE '2024-03-02'")
    assert on_table.rows_in_scope == day2_rows > 0
    assert "2024-03-02" in on_table.preview and "2024-03-01" not in on_table.preview


def test_stg_conn_view_never_double_counts(con: duckdb.DuckDBPyConnection, network_models: dict) -> None:
    _raw_conn(con, "network_iot23", NETWORK_ROWS)
    stg = network_models["stg_conn"]
    result = materialize_model(con, stg, "network_iot23", ["2024-03-01"])
    assert (result.mode, result.rows_written, result.rows_total) == ("view", 0, None)
    assert duck.relation_type(con, "network_iot23", "stg_conn") == "VIEW"
    check = check_model(con, stg, "network_iot23", ["2024-03-01"])
    assert check.rows_in_scope == 3 and "C1" in check.preview
    assert check_model(con, stg, "network_iot23", ["2024-03-02"]).rows_in_scope == 5
    materialize_model(con, stg, "network_iot23", ["2024-03-01"])  # redefining the view is idempotent
    assert duck.row_count(con, "network_iot23", "stg_conn") == 8
    assert not duck.table_exists(con, "network", "stg_conn")  # datasets are isolated in their own schema


def test_stg_conn_view_equals_incremental_build(con: duckdb.DuckDBPyConnection, network_models: dict) -> None:
    """The same SQL as a view and as a per-day incremental table keeps the same rows (dedup per day and uid)."""
    rng = random.Random(11)
    rows = []
    for i in range(300):
        uid = None if i % 17 == 0 else f"U{rng.randrange(90)}"  # uids repeat within and across days
        minute = rng.randrange(3 * 24 * 60)
        ts = f"2024-03-0{1 + minute // 1440} {minute % 1440 // 60:02d}:{minute % 60:02d}:00"
        rows.append(_conn(uid, ts, f"10.0.0.{i % 5}", "10.0.0.9", 80, source_file=f"f{rng.randrange(2)}.log"))
    _raw_conn(con, "network", rows)
    view = network_models["stg_conn"]
    table = replace(view, materialized="incremental")
    materialize_model(con, view, "network", ["2024-03-01"])
    con.execute("CREATE SCHEMA inc; CREATE TABLE inc.raw_conn AS SELECT * FROM network.raw_conn")
    for day in ("2024-03-01", "2024-03-02", "2024-03-03"):
        assert materialize_model(con, table, "inc", [day]).mode == "partitions"
    cols = "uid, ts, source_file, day"
    got = con.execute(f"SELECT {cols} FROM network.stg_conn ORDER BY ALL").fetchall()
    assert got == con.execute(f"SELECT {cols} FROM inc.stg_conn ORDER BY ALL").fetchall()
    per_day = con.execute(
        "SELECT count(*) FROM (SELECT day, uid FROM network.stg_conn WHERE uid IS NOT NULL"
        " GROUP BY ALL HAVING count(*) > 1)"
    ).fetchall()[0][0]
    assert per_day == 0 and len(got) == con.execute(
        "SELECT count(DISTINCT (day, uid)) FILTER (uid IS NOT NULL) + count(*) FILTER (uid IS NULL)"
        " FROM network.raw_conn"
    ).fetchall()[0][0]
    # switching the declaration to incremental or table replaces the view, and back to a view the table
    materialize_model(con, table, "network", ["2024-03-02"])
    assert duck.relation_type(con, "network", "stg_conn") == "BASE TABLE"
    assert duck.row_count(con, "network", "stg_conn") == sum(1 for r in got if str(r[3]) == "2024-03-02")
    materialize_model(con, view, "network", ["2024-03-01"])
    materialize_model(con, replace(view, materialized="table", partition_by=None), "network")
    assert duck.relation_type(con, "network", "stg_conn") == "BASE TABLE"
    materialize_model(con, view, "network", ["2024-03-01"])
    assert duck.relation_type(con, "network", "stg_conn") == "VIEW"


def test_conn_daily_summary_and_host_profile(con: duckdb.DuckDBPyConnection, network_models: dict) -> None:
    _build_network(con, network_models)
    daily = con.execute(
        "SELECT CAST(day AS VARCHAR), connections, source_hosts, destination_hosts, total_bytes,"
        " failed_share, labelled_connections, malicious_share FROM network.conn_daily_summary ORDER BY day"
    ).fetchall()
    assert daily[0] == ("2024-03-01", 3, 2, 2, 600, pytest.approx(2 / 3), 3, pytest.approx(1 / 3))
    assert daily[1] == ("2024-03-02", 5, 2, 3, 1500, 0.0, 3, 0.0)
    hosts = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT orig_h, connections, distinct_destinations, distinct_dest_ports, active_days, top_service,"
            " top_service_connections, malicious_connections, CAST(first_seen AS VARCHAR) FROM network.host_profile"
        ).fetchall()
    }
    assert hosts["10.0.0.1"] == (5, 4, 3, 2, "http", 3, 1, "2024-03-01 10:00:00")
    assert hosts["10.0.0.2"][:6] == (1, 1, 1, 1, None, 0)
    assert hosts["10.0.0.3"][0] == 2


def test_stg_conn_dedup_matches_ranking_every_row(con: duckdb.DuckDBPyConnection, network_models: dict) -> None:
    """The duplicated-uids-only window keeps exactly the rows a row_number() over all rows keeps."""
    rng = random.Random(5)
    rows = []
    for i in range(400):
        uid = None if i % 23 == 0 else f"U{rng.randrange(150)}"
        minute = rng.randrange(3 * 24 * 60)
        ts = f"2024-03-0{1 + minute // 1440} {minute % 1440 // 60:02d}:{minute % 60:02d}:00"
        rows.append(_conn(uid, ts, f"10.0.0.{i % 7}", "10.0.0.9", 80, source_file=f"f{rng.randrange(3)}.log"))
    _raw_conn(con, "network", rows)
    materialize_model(con, network_models["stg_conn"], "network")
    got = con.execute("SELECT uid, ts, source_file FROM network.stg_conn ORDER BY ALL").fetchall()
    want = con.execute(
        "SELECT uid, ts, source_file FROM (SELECT *,"
        " row_number() OVER (PARTITION BY day, uid ORDER BY ts, source_file) AS r"
        " FROM network.raw_conn) WHERE uid IS NULL OR r = 1 ORDER BY ALL"
    ).fetchall()
    keyed = [(r[1].date(), r[0]) for r in got if r[0]]
    assert got == want and len(set(keyed)) == len(keyed)  # one row per (day, uid)
    # one day read through the view dedups within that day's rows
    day2 = con.execute("SELECT count(*) FROM network.stg_conn WHERE day = DATE '2024-03-02'").fetchall()[0][0]
    expected = con.execute(
        "SELECT count(DISTINCT uid) + count(*) FILTER (uid IS NULL) FROM network.raw_conn WHERE day = DATE '2024-03-02'"
    ).fetchall()[0][0]
    assert day2 == expected
