"""The DuckDB build of the window features equals the polars reference, case by case (ties, nulls, windows)."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from typing import Any

import duckdb
import polars as pl
import pytest

from tests.unit.test_conn_windows import ROWS, T0, A, B, _assert_same, _conn, _frame, _random_rows, _two_day_rows
from vigia.features.conn_windows import build_conn_features
from vigia.features.conn_windows_sql import build_conn_features_duckdb
from vigia.sources.zeek_synth import generate_conn_day

DAY = 86_400


def _both(lf: pl.LazyFrame, **kwargs: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(DuckDB result, polars result) for the same rows and options."""
    frame = lf.collect()
    con = duckdb.connect()
    con.register("conn", frame.to_arrow())
    n = build_conn_features_duckdb(con, "conn", frame.columns, into="features", **kwargs)
    got = pl.from_arrow(con.sql("SELECT * FROM features").to_arrow_table())
    assert isinstance(got, pl.DataFrame) and got.height == n
    # nothing of the intermediate stages is left behind
    assert con.sql("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall() == [("features",)]
    return got, build_conn_features(frame.lazy(), **kwargs).collect()


def _assert_equal(lf: pl.LazyFrame, **kwargs: Any) -> pl.DataFrame:
    got, want = _both(lf, **kwargs)
    assert got.schema == want.schema
    _assert_same(got, want)
    return got


def _with_nulls(rows: list[dict[str, Any]], column: str, every: int) -> list[dict[str, Any]]:
    return [{**r, column: None} if i % every == 0 else r for i, r in enumerate(rows)]


@pytest.mark.parametrize("step", [None, 60, 100])
def test_hand_rows_tumbling_and_sliding(step: int | None) -> None:
    _assert_equal(_frame(ROWS), window_seconds=300, step_seconds=step)


@pytest.mark.parametrize(
    ("window", "step"),
    [(300, None), (300, 60), (420, None), (3600, 600)],  # 420 s windows straddle midnight: per-connection days
)
def test_random_rows(window: int, step: int | None) -> None:
    _assert_equal(_frame(_two_day_rows()), window_seconds=window, step_seconds=step)


def test_ties_take_the_lowest_resp_h_and_attack_type() -> None:
    rows = [_conn(1, A, "h9", 80, ob=1), _conn(2, A, "h9", 80, ob=1), _conn(3, A, "h2", 80, ob=5)]
    rows += [_conn(50, A, "h2", 80, ob=7)]
    got = _assert_equal(_frame(rows))
    assert got["size_mad"].to_list() == [1.0]  # the pair with h2 (sizes 5, 7), not h9
    attacks = [_conn(i, B, "h1", 80, label=1, attack=a) for i, a in enumerate(["b", "a", "b", None, "a", "c"])]
    assert _assert_equal(_frame(attacks))["attack_type"].to_list() == ["a"]  # a and b tie: the smallest


def test_null_inputs() -> None:
    rows = _random_rows(300, seed=5)
    for column, every in [("resp_h", 3), ("resp_p", 4), ("orig_p", 5), ("service", 2), ("history", 2)]:
        _assert_equal(_frame(_with_nulls(rows, column, every)))
    # the null destination strictly has the most connections: no top pair, its features are 0
    mostly_null = [_conn(i, A, "h1", 80) for i in range(2)] + [_conn(10 + i, A, "h2", 80) for i in range(3)]
    got = _assert_equal(_frame(_with_nulls(mostly_null, "resp_h", 1)[2:] + mostly_null[:2]))
    assert got["top_pair_day_conns"].to_list() == [0.0] and got["top_pair_share"].to_list() == [0.6]
    # rows without a time or an entity are ignored
    _assert_equal(_frame(_with_nulls(rows, "ts", 7)))
    _assert_equal(_frame(_with_nulls(rows, "orig_h", 6)))


def test_optional_columns_absent_and_empty_input() -> None:
    bare = _frame(ROWS).drop("label", "attack_type", "service", "history", "is_failed")
    got = _assert_equal(bare, label_col=None)
    assert got["label"].null_count() == got.height
    assert _assert_equal(_frame(ROWS).head(0)).height == 0


def test_day_context_over_two_days_and_sliding() -> None:
    rows = [_conn(0, A, "h1", 443), _conn(400, A, "h1", 443), _conn(410, A, "h1", 443)]
    rows += [_conn(DAY + 10, A, "h1", 443), _conn(DAY + 20, B, "h1", 443), _conn(DAY + 30, B, "h1", 443)]
    got = _assert_equal(_frame(rows))
    assert got.filter(pl.col("window_start") == T0 + timedelta(days=1))["top_pair_dst_share"].to_list() == [
        pytest.approx(1 / 3),
        pytest.approx(2 / 3),
    ]
    _assert_equal(_frame(rows), window_seconds=300, step_seconds=60)


def test_times_before_the_epoch() -> None:
    rows = [{**r, "ts": r["ts"] - timedelta(days=365 * 60)} for r in _random_rows(200, seed=9)]
    got = _assert_equal(_frame(rows), window_seconds=300, step_seconds=60)
    assert got["window_start"].min() < dt.datetime(1970, 1, 1)  # type: ignore[operator]


def test_synthetic_day_with_attacks() -> None:
    frame = generate_conn_day(dt.date(2026, 1, 5), 30_000, seed=3)
    got = _assert_equal(frame.lazy())
    assert got["n_malicious"].sum() > 0 and got["attack_type"].drop_nulls().n_unique() >= 3


def test_scope_selects_rows_and_other_entity_and_time_columns() -> None:
    frame = _frame(_two_day_rows()).collect().rename({"orig_h": "src", "ts": "seen"})
    con = duckdb.connect()
    con.register("conn", frame.to_arrow())
    build_conn_features_duckdb(
        con, "conn", frame.columns, into="f", scope="day = DATE '2024-01-02'", entity="src", time_col="seen"
    )
    got = pl.from_arrow(con.sql("SELECT * FROM f").to_arrow_table())
    want = build_conn_features(
        frame.filter(pl.col("day") == dt.date(2024, 1, 2)).lazy(), entity="src", time_col="seen"
    ).collect()
    assert isinstance(got, pl.DataFrame) and got["src"].n_unique() > 1
    _assert_same(got, want)


def test_a_failing_build_leaves_no_stage_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    con = duckdb.connect()
    frame = _frame(ROWS).collect().drop("resp_bytes")  # a required input is missing: the first stage fails
    con.register("conn", frame.to_arrow())
    with pytest.raises(duckdb.BinderException, match="resp_bytes"):
        build_conn_features_duckdb(con, "conn", frame.columns, into="f")
    # a later stage fails after three stage tables exist
    import vigia.features.conn_windows_sql as engine

    monkeypatch.setattr(engine, "_beacons_sql", lambda: "SELECT 1 / 0 AS x FROM range(3) WHERE error('injected')")
    frame = _frame(ROWS).collect()
    con.register("conn", frame.to_arrow())
    with pytest.raises(duckdb.Error, match="injected"):
        build_conn_features_duckdb(con, "conn", frame.columns, into="f")
    assert con.sql("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]


@pytest.mark.parametrize("preserve", [True, False])
def test_the_insertion_order_setting_is_restored(preserve: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stages run with preserve_insertion_order off; the caller's setting comes back, after a failure too."""
    con = duckdb.connect()
    con.execute(f"SET preserve_insertion_order = {str(preserve).lower()}")
    frame = _frame(ROWS).collect()
    con.register("conn", frame.to_arrow())
    seen: list[bool] = []
    import vigia.features.conn_windows_sql as engine

    output = engine._output_sql

    def spy(*args: Any) -> str:  # called between the stages and the output statement
        seen.append(con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0])
        return output(*args)

    monkeypatch.setattr(engine, "_output_sql", spy)
    build_conn_features_duckdb(con, "conn", frame.columns, into="f")
    setting = "SELECT current_setting('preserve_insertion_order')"
    assert seen == [False] and con.execute(setting).fetchall() == [(preserve,)]
    monkeypatch.setattr(engine, "_output_sql", lambda *a: "SELECT error('injected')")
    with pytest.raises(duckdb.Error, match="injected"):
        build_conn_features_duckdb(con, "conn", frame.columns, into="g")
    assert con.execute(setting).fetchall() == [(preserve,)]


@pytest.mark.parametrize(("window", "step"), [(300, 60), (420, None), (840, 420), (600, 300), (3600, 600)])
def test_windows_cut_at_midnight_like_polars(window: int, step: int | None) -> None:
    # connections every 37 s around both midnights of a three-day span, for two hosts
    rows = [_conn(d * DAY + s, h, "h1", 443, ob=s % 7) for d in (1, 2) for s in range(-900, 900, 37) for h in (A, B)]
    got = _assert_equal(_frame(rows + _random_rows(100, seed=6)), window_seconds=window, step_seconds=step)
    # no window holds connections of two days, none ends after the midnight following its start
    midnights = pl.col("window_start").dt.truncate("1d") + pl.duration(days=1)
    assert got.filter(pl.col("window_end") > midnights).height == 0


def test_null_is_failed_is_derived_from_conn_state() -> None:
    # a null is_failed is derived from conn_state (S0 is a failed state), as when the column is absent
    rows = [_conn(1, A, "h1", 80, state="S0"), _conn(2, A, "h1", 80)]
    frame = _frame(rows).with_columns(is_failed=pl.Series([None, False], dtype=pl.Boolean))
    assert _assert_equal(frame)["failed_share"].to_list() == [0.5]


def test_nan_duration_counts_as_null() -> None:
    # a NaN duration counts as a null one (0), instead of turning the window's duration stats into 0 or NaN
    rows = [_conn(1, A, "h1", 80, duration=d) for d in (float("nan"), 5.0, 1.0)]
    got = _assert_equal(_frame(rows))
    assert got.select("dur_max", "dur_mean", "dur_median").row(0) == (5.0, 2.0, 1.0)


def test_timestamptz_is_read_in_utc() -> None:
    # a TIMESTAMPTZ time column is read as its UTC instant whatever the session time zone
    frame = (
        _frame([_conn(DAY - 30, A, "h1", 80), _conn(DAY + 30, A, "h1", 80)])
        .with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
        .collect()
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    con.register("conn", frame.to_arrow())
    build_conn_features_duckdb(con, "conn", frame.columns, into="features")
    got = pl.from_arrow(con.sql("SELECT * FROM features").to_arrow_table())
    assert isinstance(got, pl.DataFrame)
    want = build_conn_features(frame.lazy()).collect()
    assert want["window_start"].to_list() == [T0 + timedelta(seconds=DAY - 300), T0 + timedelta(days=1)]
    _assert_same(got, want)
