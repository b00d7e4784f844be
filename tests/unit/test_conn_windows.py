"""Per-(entity, window) connection features on tiny hand-computed frames."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import polars as pl
import pytest

from vigia.features.conn_windows import (
    CONN_FEATURE_COLUMNS,
    build_conn_features,
    build_conn_features_chunked,
    feature_input_columns,
    features_to_matrix,
)
from vigia.features.robust_stats import beacon_score, bowley_skew, mad, regularity_score
from vigia.schema import FAILED_CONN_STATES

T0 = datetime(2024, 1, 1)
A, B = "10.0.0.1", "10.0.0.2"


def _conn(
    sec: float,
    orig_h: str,
    resp_h: str,
    resp_p: int,
    *,
    orig_p: int = 1000,
    proto: str = "tcp",
    service: str | None = "http",
    duration: float = 0.0,
    ob: int = 0,
    rb: int = 0,
    op: int = 0,
    rp: int = 0,
    state: str = "SF",
    history: str | None = "ShADadFf",
    label: int | None = 0,
    attack: str | None = None,
) -> dict[str, Any]:
    return {
        "ts": T0 + timedelta(seconds=sec),
        "uid": f"C{sec}{orig_h}",
        "orig_h": orig_h,
        "orig_p": orig_p,
        "resp_h": resp_h,
        "resp_p": resp_p,
        "proto": proto,
        "service": service,
        "duration": duration,
        "orig_bytes": ob,
        "resp_bytes": rb,
        "orig_pkts": op,
        "resp_pkts": rp,
        "orig_ip_bytes": ob,
        "resp_ip_bytes": rb,
        "missed_bytes": 0,
        "conn_state": state,
        "history": history,
        "label": label,
        "attack_type": attack,
    }


def _frame(rows: list[dict[str, Any]]) -> pl.LazyFrame:
    schema = {
        "ts": pl.Datetime("us"),
        "orig_p": pl.Int32,
        "resp_p": pl.Int32,
        "duration": pl.Float64,
        "label": pl.Int8,
        "service": pl.String,
        "history": pl.String,
        "attack_type": pl.String,
        **{c: pl.Int64 for c in ("orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts", "missed_bytes")},
        **{c: pl.Int64 for c in ("orig_ip_bytes", "resp_ip_bytes")},
    }
    return (
        pl.DataFrame(rows, schema_overrides=schema)
        .with_columns(
            day=pl.col("ts").dt.date(),
            is_failed=pl.col("conn_state").is_in(sorted(FAILED_CONN_STATES)),
            total_bytes=pl.col("orig_bytes") + pl.col("resp_bytes"),
        )
        .lazy()
    )


ROWS = [
    # host A, window [00:00, 00:05): 4 connections
    _conn(0, A, "h1", 80, orig_p=1000, duration=1.0, ob=100, rb=1000, op=2, rp=3, history="ShADadFf"),
    _conn(10, A, "h1", 80, orig_p=1001, duration=2.0, ob=200, op=1, state="S0", history="S", label=1, attack="C&C"),
    _conn(
        30, A, "h1", 443, orig_p=1001, service="ssl", duration=3.0, ob=300, rb=500, op=3, rp=4, state="REJ", history="S"
    ),
    _conn(
        70,
        A,
        "h2",
        22,
        orig_p=1002,
        proto="udp",
        service=None,
        duration=6.0,
        ob=400,
        rb=500,
        op=4,
        rp=5,
        history="Dd",
        label=None,
    ),
    # host A, window [00:05, 00:10): 1 unlabelled connection
    _conn(400, A, "h3", 53, proto="udp", service="dns", duration=0.5, ob=50, rb=60, history="Dd", label=None),
    # host B, window [00:00, 00:05): 2 benign connections
    _conn(5, B, "h1", 80, orig_p=2000, ob=10, rb=20, history="ShADadFf"),
    _conn(200, B, "h1", 8, orig_p=0, proto="icmp", service=None, state="OTH", history=None),
]


@pytest.fixture(scope="module")
def feats() -> pl.DataFrame:
    return build_conn_features(_frame(ROWS)).collect()


def _row(df: pl.DataFrame, host: str, minute: int) -> dict[str, Any]:
    return df.filter((pl.col("orig_h") == host) & (pl.col("window_start") == T0 + timedelta(minutes=minute))).row(
        0, named=True
    )


def test_layout_and_order(feats: pl.DataFrame) -> None:
    assert feats.columns == [
        "orig_h",
        "window_start",
        "window_end",
        "day",
        *CONN_FEATURE_COLUMNS,
        "label",
        "n_malicious",
        "attack_type",
    ]
    assert feats.select("orig_h", "window_start").rows() == [(A, T0), (B, T0), (A, T0 + timedelta(minutes=5))]
    assert feats["window_end"].to_list()[0] == T0 + timedelta(minutes=5)
    assert feats["day"].to_list() == [T0.date()] * 3
    assert all(feats[c].dtype == pl.Float64 for c in CONN_FEATURE_COLUMNS)
    assert feats["label"].dtype == pl.Int8


def test_counts_bytes_durations(feats: pl.DataFrame) -> None:
    r = _row(feats, A, 0)
    assert (r["n_conn"], r["n_dst_hosts"], r["n_dst_ports"], r["n_src_ports"]) == (4, 2, 3, 3)
    assert (r["bytes_out"], r["bytes_in"], r["pkts_out"], r["pkts_in"]) == (1000, 2000, 10, 12)
    assert r["bytes_ratio"] == pytest.approx(math.log1p(1000 / 2001))
    assert (r["mean_bytes_out"], r["max_bytes_out"]) == (250, 400)
    # durations 1, 2, 3, 6: mean 3, median 2.5, population std sqrt((4 + 1 + 0 + 9) / 4)
    assert (r["dur_mean"], r["dur_max"], r["dur_median"]) == (3.0, 6.0, 2.5)
    assert r["dur_std"] == pytest.approx(math.sqrt(3.5))
    # S0 and REJ failed; one REJ, one S0; 3 tcp + 1 udp
    assert (r["failed_share"], r["rej_share"], r["s0_share"]) == (0.5, 0.25, 0.25)
    assert (r["tcp_share"], r["udp_share"], r["icmp_share"]) == (0.75, 0.25, 0.0)
    single = _row(feats, A, 5)
    assert (single["n_conn"], single["dur_std"], single["dur_median"]) == (1, 0.0, 0.5)
    b = _row(feats, B, 0)
    assert b["bytes_ratio"] == pytest.approx(math.log1p(10 / 21))
    assert (b["failed_share"], b["tcp_share"], b["icmp_share"]) == (0.5, 0.5, 0.5)


def test_entropies(feats: pl.DataFrame) -> None:
    r = _row(feats, A, 0)
    assert r["dst_port_entropy"] == pytest.approx(1.5)  # ports 80, 80, 443, 22
    assert r["dst_host_entropy"] == pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)))
    assert r["service_entropy"] == pytest.approx(1.5)  # http, http, ssl, "-"
    b = _row(feats, B, 0)
    assert (b["dst_port_entropy"], b["dst_host_entropy"], b["service_entropy"]) == (1.0, 0.0, 1.0)
    single = _row(feats, A, 5)
    assert (single["dst_port_entropy"], single["dst_host_entropy"], single["service_entropy"]) == (0.0, 0.0, 0.0)


def test_history_features(feats: pl.DataFrame) -> None:
    r = _row(feats, A, 0)
    # histories ShADadFf (len 8, 8 distinct chars: 3 bits), S, S (0 bits), Dd (1 bit)
    assert r["history_len_mean"] == pytest.approx((8 + 1 + 1 + 2) / 4)
    assert r["history_entropy_mean"] == pytest.approx((3 + 0 + 0 + 1) / 4)
    assert r["history_pattern_freq"] == 0.5  # "S" twice out of 4
    b = _row(feats, B, 0)  # null history counts as "" (length 0, entropy 0)
    assert (b["history_len_mean"], b["history_entropy_mean"], b["history_pattern_freq"]) == (4.0, 1.5, 0.5)
    assert _row(feats, A, 5)["history_pattern_freq"] == 1.0


def test_top_pair_regularity(feats: pl.DataFrame) -> None:
    r = _row(feats, A, 0)
    # top pair A->h1: ts 0, 10, 30 -> IATs [10, 20]: Q1 12.5, Q2 15, Q3 17.5 -> Bowley 0;
    # median 15, |dev| [5, 5] -> MAD 5. Sizes [100, 200, 300]: Bowley 0, MAD 100, median 200.
    assert r["top_pair_share"] == 0.75
    assert (r["iat_bowley_skew"], r["iat_mad"], r["size_bowley_skew"], r["size_mad"]) == (0.0, 5.0, 0.0, 100.0)
    # IAT score ((1 - 0) + (1 - 5/15)) / 2 = 5/6; size score ((1 - 0) + (1 - 0.5)) / 2 = 0.75
    assert r["beacon_score"] == pytest.approx((5 / 6 + 0.75) / 2)
    b = _row(feats, B, 0)  # 2 connections: one IAT (195 s), sizes [10, 0] -> MAD 5; beacon needs >= 3
    assert (b["iat_bowley_skew"], b["iat_mad"], b["size_mad"], b["beacon_score"], b["top_pair_share"]) == (
        0.0,
        0.0,
        5.0,
        0.0,
        1.0,
    )
    single = _row(feats, A, 5)  # no IAT at all: filled with 0
    assert (single["iat_mad"], single["iat_bowley_skew"], single["beacon_score"]) == (0.0, 0.0, 0.0)


def test_top_pair_tie_takes_lowest_resp_h() -> None:
    rows = [
        _conn(1, A, "h9", 80, ob=1),
        _conn(2, A, "h9", 80, ob=1),
        _conn(3, A, "h2", 80, ob=5),
        _conn(50, A, "h2", 80, ob=7),
    ]
    r = build_conn_features(_frame(rows)).collect().row(0, named=True)
    assert (r["top_pair_share"], r["size_mad"], r["iat_mad"]) == (0.5, 1.0, 0.0)  # h2: sizes [5, 7], IAT [47]


def test_labels(feats: pl.DataFrame) -> None:
    assert feats.select("label", "n_malicious", "attack_type").rows() == [(1, 1, "C&C"), (0, 0, None), (None, 0, None)]


def test_attack_type_mode() -> None:
    rows = [_conn(i, A, "h1", 80, label=1, attack=a) for i, a in enumerate(["b", "a", "b", None, "a", "c", "b"])]
    r = build_conn_features(_frame(rows)).collect().row(0, named=True)
    assert (r["label"], r["n_malicious"], r["attack_type"]) == (1, 7, "b")


def test_without_optional_columns() -> None:
    lf = _frame(ROWS).drop("label", "attack_type")
    out = build_conn_features(lf, label_col=None).collect()
    assert out["label"].null_count() == 3 and out["n_malicious"].to_list() == [0, 0, 0]
    bare = build_conn_features(_frame(ROWS).drop("label", "attack_type", "service", "history", "is_failed")).collect()
    full = build_conn_features(_frame(ROWS)).collect()
    assert bare["failed_share"].equals(full["failed_share"])
    assert bare["service_entropy"].to_list() == [0.0] * 3 and bare["history_pattern_freq"].to_list() == [1.0] * 3


def test_iat_bowley_and_mad_hand_sequence() -> None:
    # ts 0, 1, 3, 7, 15, 31 -> IATs [1, 2, 4, 8, 16]: Q1 = 2, Q2 = 4, Q3 = 8 (exact positions 1, 2, 3)
    # Bowley = (2 + 8 - 2*4) / (8 - 2) = 1/3; |IAT - 4| = [3, 2, 0, 4, 12] -> MAD = 3
    ts = [0, 1, 3, 7, 15, 31]
    iats = np.diff(ts)
    assert bowley_skew(iats) == pytest.approx(1 / 3)
    assert mad(iats) == 3.0
    r = build_conn_features(_frame([_conn(t, A, "h1", 80, ob=100) for t in ts])).collect().row(0, named=True)
    assert r["iat_bowley_skew"] == pytest.approx(1 / 3)
    assert r["iat_mad"] == 3.0
    # IAT score ((1 - 1/3) + (1 - 3/4)) / 2; constant sizes score 1
    assert r["beacon_score"] == pytest.approx((((1 - 1 / 3) + 0.25) / 2 + 1) / 2)
    assert r["beacon_score"] == pytest.approx(beacon_score(ts, [100] * 6))


def test_beacon_periodic_vs_random() -> None:
    periodic = [_conn(10 * i, A, "c2", 443, ob=120) for i in range(25)]
    rng = np.random.default_rng(7)
    times = np.sort(rng.uniform(0, 299, 25))
    sizes = rng.integers(1, 5000, 25)
    noisy = [_conn(float(t), B, "web", 443, ob=int(s)) for t, s in zip(times, sizes, strict=True)]
    out = build_conn_features(_frame(periodic + noisy)).collect()
    beacon = dict(out.select("orig_h", "beacon_score").rows())
    assert beacon[A] == pytest.approx(1.0)
    assert beacon[B] < 0.75
    assert beacon[B] == pytest.approx(beacon_score(times, sizes))


def test_robust_stat_references() -> None:
    assert bowley_skew([5, 5, 5, 5]) == 0.0 and mad([]) == 0.0 and bowley_skew([]) == 0.0
    assert regularity_score([0, 0, 0]) == 1.0  # median 0 and MAD 0: no dispersion
    assert regularity_score([0, 0, 5]) == pytest.approx(1.0 - 0.5 * abs(bowley_skew([0, 0, 5])))
    assert beacon_score([0, 10], [1, 1]) == 0.0


def test_window_boundaries_and_sliding() -> None:
    h = 3600  # an hour after midnight: no window is cut there (see test_windows_are_cut_at_midnight)
    rows = [_conn(h + 130, A, "h1", 80), _conn(h + 300, A, "h1", 80)]
    tumbling = build_conn_features(_frame(rows)).collect()
    assert tumbling["window_start"].to_list() == [T0 + timedelta(seconds=h), T0 + timedelta(seconds=h + 300)]
    single = build_conn_features(_frame(rows[:1]), window_seconds=300, step_seconds=60).collect()
    # t = 130 s lies in the windows starting at 120, 60, 0, -60, -120 s
    assert single["window_start"].to_list() == [T0 + timedelta(seconds=h + s) for s in (-120, -60, 0, 60, 120)]
    assert single["n_conn"].to_list() == [1.0] * 5
    assert (single["window_end"] - single["window_start"]).to_list() == [timedelta(minutes=5)] * 5
    both = build_conn_features(_frame(rows), window_seconds=300, step_seconds=60).collect()
    assert both["n_conn"].to_list() == [1, 1, 1, 2, 2, 1, 1, 1]  # windows -120..300 step 60


def test_empty_input_and_null_entity() -> None:
    empty = build_conn_features(_frame(ROWS).head(0)).collect()
    assert empty.height == 0 and empty.columns[4:-3] == list(CONN_FEATURE_COLUMNS)
    lf = _frame(ROWS).with_columns(pl.when(pl.col("orig_h") == B).then(None).otherwise("orig_h").alias("orig_h"))
    assert build_conn_features(lf).collect()["orig_h"].to_list() == [A, A]


def test_invalid_windows() -> None:
    with pytest.raises(ValueError):
        build_conn_features(_frame(ROWS), window_seconds=300, step_seconds=120)
    with pytest.raises(ValueError):
        build_conn_features(_frame(ROWS), window_seconds=60, step_seconds=300)


def _random_rows(n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    states = ["SF", "S0", "REJ", "RSTO", "OTH"]
    return [
        _conn(
            float(rng.uniform(0, 3600)),
            f"10.0.0.{rng.integers(1, 6)}",
            f"h{rng.integers(0, 8)}",
            int(rng.choice([22, 53, 80, 443])),
            orig_p=int(rng.integers(1024, 1100)),
            proto=str(rng.choice(["tcp", "udp", "icmp"])),
            service=rng.choice(["http", "dns", None]),
            duration=float(rng.exponential(1.0)),
            ob=int(rng.integers(0, 1000)),
            rb=int(rng.integers(0, 1000)),
            state=str(rng.choice(states)),
            history=rng.choice(["ShADadFf", "S", "", None]),
            label=rng.choice([0, 1, None]),
            attack=rng.choice(["x", None]),
        )
        for _ in range(n)
    ]


def test_no_nulls_or_nan_and_deterministic_order() -> None:
    rows = _random_rows(400, seed=3)
    first = build_conn_features(_frame(rows), step_seconds=60).collect()
    # polars' parallel aggregations may add floats in another order from run to run: keys, labels and counts
    # must be identical, float features equal up to rounding
    _assert_same(build_conn_features(_frame(rows), step_seconds=60).collect(), first)
    # input order changes float summation order only: same rows, same values up to rounding
    shuffled = build_conn_features(_frame(list(reversed(rows))), step_seconds=60).collect()
    assert shuffled.select("orig_h", "window_start", "label", "attack_type").equals(
        first.select("orig_h", "window_start", "label", "attack_type")
    )
    np.testing.assert_allclose(features_to_matrix(shuffled), features_to_matrix(first), rtol=1e-12, atol=1e-12)
    feats = first.select(CONN_FEATURE_COLUMNS)
    assert feats.null_count().sum_horizontal().item() == 0
    assert not np.isnan(features_to_matrix(first)).any()
    keys = first.select("window_start", "orig_h").rows()
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    # each connection in 5 sliding windows, fewer in the first minutes of a day (windows are cut at midnight)
    in_day_minutes = [r["ts"].hour * 60 + r["ts"].minute for r in rows]
    assert int(first["n_conn"].sum()) == sum(min(5, m + 1) for m in in_day_minutes) < 400 * 5


def test_features_to_matrix(feats: pl.DataFrame) -> None:
    m = features_to_matrix(feats)
    assert m.dtype == np.float64 and m.flags.c_contiguous and m.shape == (3, len(CONN_FEATURE_COLUMNS))
    sub = features_to_matrix(feats, columns=("n_conn", "bytes_out"))
    assert sub.tolist() == [[4.0, 1000.0], [2.0, 10.0], [1.0, 50.0]]


def test_top_pair_day_context(feats: pl.DataFrame) -> None:
    # Day 2024-01-01: A->h1 3 connections (one 5-min slot), B->h1 2, A->h2 1, A->h3 1.
    a0 = _row(feats, A, 0)  # top pair A->h1: h1 has 2 sources and 5 connections
    assert (a0["top_pair_day_conns"], a0["top_pair_day_windows"], a0["top_dst_day_sources"]) == (3.0, 1.0, 2.0)
    assert a0["top_pair_dst_share"] == pytest.approx(0.6)
    assert a0["beacon_persistence"] == pytest.approx((5 / 6 + 0.75) / 2 * math.log1p(3) * 0.6)
    a5 = _row(feats, A, 5)  # top pair A->h3: 1 connection, sole source, no beacon score
    assert (a5["top_pair_day_conns"], a5["top_dst_day_sources"], a5["top_pair_dst_share"]) == (1.0, 1.0, 1.0)
    assert a5["beacon_persistence"] == 0.0
    b0 = _row(feats, B, 0)
    assert (b0["top_pair_day_conns"], b0["top_dst_day_sources"], b0["top_pair_dst_share"]) == (2.0, 2.0, 0.4)


def test_top_pair_day_context_per_day_and_sliding() -> None:
    day = 86_400
    rows = [
        _conn(0, A, "h1", 443),
        _conn(400, A, "h1", 443),  # second 5-min slot of day 1
        _conn(410, A, "h1", 443),
        _conn(day + 10, A, "h1", 443),  # day 2: A and B share h1
        _conn(day + 20, B, "h1", 443),
        _conn(day + 30, B, "h1", 443),
    ]
    out = build_conn_features(_frame(rows)).collect()
    cols = ["top_pair_day_conns", "top_pair_day_windows", "top_dst_day_sources", "top_pair_dst_share"]
    got = {(r["orig_h"], r["window_start"]): tuple(r[c] for c in cols) for r in out.iter_rows(named=True)}
    assert got == {
        (A, T0): (3.0, 2.0, 1.0, 1.0),
        (A, T0 + timedelta(seconds=300)): (3.0, 2.0, 1.0, 1.0),
        (A, T0 + timedelta(days=1)): (1.0, 1.0, 2.0, 1 / 3),
        (B, T0 + timedelta(days=1)): (2.0, 1.0, 2.0, 2 / 3),
    }
    # sliding windows count each connection once: same day totals for every window of A on day 1
    sliding = build_conn_features(_frame(rows[:3]), window_seconds=300, step_seconds=60).collect()
    # no window starts on the previous day: windows are cut at midnight
    assert sliding["window_start"].min() == T0
    assert set(sliding["top_pair_day_conns"].to_list()) == {3.0}
    assert set(sliding["top_pair_day_windows"].to_list()) == {2.0}  # 60-s slots 0 and 6


def _assert_same(got: pl.DataFrame, want: pl.DataFrame) -> None:
    """Same windows, keys, labels and counts; float features equal up to summation-order rounding."""
    exact = [c for c in want.columns if c not in CONN_FEATURE_COLUMNS]
    assert got.columns == want.columns and got.select(exact).equals(want.select(exact))
    np.testing.assert_allclose(features_to_matrix(got), features_to_matrix(want), rtol=1e-12, atol=1e-12)


def _two_day_rows() -> list[dict[str, Any]]:
    rows = _random_rows(600, seed=11)
    return rows + [{**r, "ts": r["ts"] + timedelta(days=1), "uid": r["uid"] + "d2"} for r in _random_rows(300, seed=12)]


@pytest.mark.parametrize("cuts", [[], [300], [900, 1800, 2700], [86_400], [600, 86_400 + 1200]])
def test_chunked_equals_whole(cuts: list[int]) -> None:
    rows = _two_day_rows()
    whole = build_conn_features(_frame(rows)).collect()
    frame = _frame(rows).collect()
    edges = [T0 + timedelta(seconds=s) for s in cuts]
    bounds = [datetime(1970, 1, 1), *edges, datetime(2100, 1, 1)]
    chunks = [frame.filter((pl.col("ts") >= a) & (pl.col("ts") < b)) for a, b in pairwise(bounds)]
    chunked = build_conn_features_chunked(reversed(chunks))  # chunk order does not matter
    # day-level pair counts span chunks (summed); every window lies in one chunk
    _assert_same(chunked, whole)


def test_chunked_rejects_shared_windows_and_handles_empty() -> None:
    frame = _frame(ROWS).collect()
    halves = [
        frame.filter(pl.col("ts") < T0 + timedelta(seconds=20)),
        frame.filter(pl.col("ts") >= T0 + timedelta(seconds=20)),
    ]
    with pytest.raises(ValueError, match="share a window"):
        build_conn_features_chunked(halves)
    with pytest.raises(ValueError, match="at least one chunk"):
        build_conn_features_chunked([])
    empty = build_conn_features_chunked([frame.clear()])
    assert empty.height == 0 and empty.columns == build_conn_features(_frame(ROWS)).collect().columns


def test_feature_input_columns_suffice() -> None:
    cols = feature_input_columns()
    full = build_conn_features(_frame(ROWS)).collect()
    _assert_same(build_conn_features(_frame(ROWS).select(cols)).collect(), full)
    assert feature_input_columns("src", "t", None)[:2] == ["src", "t"] and "label" not in feature_input_columns(
        label_col=None
    )


def _warehouse_with(tmp_path: Any, frame: pl.DataFrame) -> Any:
    """A DuckDB file whose ``ds.stg_conn`` holds ``frame``."""
    import duckdb

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE SCHEMA ds")
    con.register("f", frame.to_arrow())
    con.execute("CREATE TABLE ds.stg_conn AS SELECT * FROM f")
    return con


def _ds_config(window: dict[str, str] | None = None) -> Any:
    """Network dataset ``ds`` (one detector) with ``window`` settings."""
    from vigia.config import DatasetConfig

    return DatasetConfig.model_validate(
        {
            "name": "ds",
            "kind": "network_conn",
            "source": {"type": "synthetic_zeek"},
            "sql_models": "network",
            "partitions": {"start": "2024-01-01"},
            **({"window": window} if window else {}),
            "detectors": [{"name": "if", "type": "isolation_forest"}],
            "consensus": {"k": 1},
        }
    )


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_materialize_features_chunked_equals_one_piece(tmp_path: Any, engine: str) -> None:

    from vigia.pipeline.features import load_features, materialize_features

    frame = _frame(_two_day_rows()).collect()
    con = _warehouse_with(tmp_path, frame)
    cfg = _ds_config()
    keys = ["2024-01-01", "2024-01-02"]
    expected = build_conn_features(_frame(_two_day_rows())).collect()
    for chunk_rows in (10**9, 50):  # the DuckDB engine reads no chunks: the same run twice
        res = materialize_features(con, cfg, keys, chunk_rows=chunk_rows, engine=engine)  # type: ignore[arg-type]
        assert res.connections == frame.height and res.windows == expected.height
        assert sum(res.windows_by_day.values()) == res.windows and set(res.windows_by_day) == set(keys)
        assert res.malicious_windows == int(expected["label"].fill_null(0).sum())
        got = load_features(con, "ds").sort(["window_start", "orig_h"])
        _assert_same(got.select(expected.columns), expected)
    one_day = materialize_features(con, cfg, ["2024-01-02"], chunk_rows=50, engine=engine)  # type: ignore[arg-type]
    assert one_day.connections == 300
    assert load_features(con, "ds").height == expected.height  # the other day is kept
    with pytest.raises(ValueError, match="no cleaned connections"):
        materialize_features(con, cfg, ["2024-01-05"], engine=engine)  # type: ignore[arg-type]
    assert load_features(con, "ds").height == expected.height  # a failed run leaves the table intact


def test_materialize_sliding_windows_both_engines(tmp_path: Any) -> None:

    from vigia.pipeline.features import load_features, materialize_features

    frame = _frame(_two_day_rows()).collect()
    con = _warehouse_with(tmp_path, frame)
    expected = build_conn_features(_frame(_two_day_rows()), step_seconds=60).collect()
    # windows starting on the day before the first connection belong to that (unrequested) day
    expected = expected.filter(pl.col("day").cast(pl.String).is_in(["2024-01-01", "2024-01-02"]))
    for engine in ("polars", "duckdb"):
        cfg = _ds_config({"size": "5m", "step": "1m", "engine": engine})
        res = materialize_features(con, cfg, ["2024-01-01", "2024-01-02"])
        assert res.connections == frame.height and res.windows == expected.height
        got = load_features(con, "ds").sort(["window_start", "orig_h"])
        _assert_same(got.select(expected.columns), expected)


def test_load_features_is_one_total_order_whatever_the_stored_order(tmp_path: Any) -> None:
    """Windows of the same start come back in one order, however the table holds them (DuckDB's sort is not
    stable: ordered by time alone, two reads of one table could differ, and so could the detectors fitted on them).
    """
    import duckdb

    from vigia.pipeline.features import load_features

    rng = np.random.default_rng(3)
    starts, hosts = 40, 500
    frame = pl.DataFrame(
        {
            "orig_h": [f"10.0.{h // 250}.{h % 250}" for _ in range(starts) for h in range(hosts)],
            "window_start": [T0 + timedelta(minutes=5 * w) for w in range(starts) for _ in range(hosts)],
            "n_conn": rng.integers(1, 4, starts * hosts).astype(np.float64),
        }
    ).with_columns(pl.col("window_start").dt.date().alias("day"))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=5)
    for schema, stored in (("a", frame), ("b", frame.reverse()), ("c", shuffled)):
        con.execute(f"CREATE SCHEMA {schema}")
        con.register("stored", stored.to_arrow())
        con.execute(f"CREATE TABLE {schema}.window_features AS SELECT * FROM stored")
        con.unregister("stored")
    want = frame.sort(["window_start", *(c for c in frame.columns if c != "window_start")])
    for schema in ("a", "b", "c"):
        for _ in range(3):
            assert load_features(con, schema).equals(want)


DAY_S = 86_400


def _midnight_rows() -> list[dict[str, Any]]:
    """Host A beaconing 23:58:00-00:02:00 over the night from day 1 to day 2, host B on day 2 only."""
    rows = [_conn(DAY_S - 120 + s, A, "h9", 443, ob=100 + s) for s in (0, 30, 60, 90, 150, 180, 210, 240)]
    return [*rows, _conn(DAY_S + 500, B, "h9", 443, label=1, attack="scan")]


def test_windows_are_cut_at_midnight() -> None:
    rows = _midnight_rows()
    midnight = T0 + timedelta(days=1)
    sliding = (
        build_conn_features(_frame(rows), window_seconds=300, step_seconds=60).collect().filter(pl.col("orig_h") == A)
    )
    # windows starting 23:54..23:59 hold only day 1's connections (23:58:00 .. 23:59:30), 00:00..00:02 day 2's
    assert sliding["n_conn"].to_list() == [2, 4, 4, 4, 4, 2, 4, 3, 1]
    assert sliding["window_start"].to_list()[5:7] == [midnight - timedelta(minutes=1), midnight]
    # 23:55..23:59 are cut at midnight
    ends = [midnight - timedelta(minutes=1), *[midnight] * 5, midnight + timedelta(minutes=5)]
    assert sliding["window_end"].to_list()[:7] == ends
    # 7-minute windows restart at each midnight: the last of day 1 starts 23:55 and ends at midnight
    seven = build_conn_features(_frame(rows), window_seconds=420).collect().filter(pl.col("orig_h") == A)
    assert seven["window_start"].to_list() == [midnight - timedelta(minutes=5), midnight]
    assert seven["window_end"].to_list() == [midnight, midnight + timedelta(minutes=7)]
    assert seven["n_conn"].to_list() == [4, 4] and seven["day"].to_list() == [T0.date(), midnight.date()]
    # slot arithmetic: index and start agree, slots restart at midnight, also before the epoch
    from vigia.features.conn_windows import window_index, window_start_us

    for t in (0, 1_435 * 60 * 10**6, DAY_S * 10**6 - 1, DAY_S * 10**6, -1, -DAY_S * 10**6 + 5):
        w = window_index(t, 420)
        assert window_start_us(w, 420) <= t < window_start_us(w + 1, 420)
    assert window_start_us(window_index(DAY_S * 10**6, 420), 420) == DAY_S * 10**6


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
@pytest.mark.parametrize("window", [{"size": "5m", "step": "1m"}, {"size": "7m"}, {"size": "14m", "step": "7m"}])
def test_materialize_day_by_day_equals_one_run(tmp_path: Any, engine: str, window: dict[str, str]) -> None:

    from vigia.pipeline.features import load_features, materialize_features

    rows = _midnight_rows() + _random_rows(200, seed=4)
    frame = _frame(rows).with_columns(pl.col("ts").dt.date().alias("day")).collect()
    con = _warehouse_with(tmp_path, frame)
    cfg = _ds_config({**window, "engine": engine})
    keys = ["2024-01-01", "2024-01-02"]
    materialize_features(con, cfg, keys, chunk_rows=7)
    together = load_features(con, "ds").sort(["window_start", "orig_h"])
    con.execute("DROP TABLE ds.window_features")
    reports = [materialize_features(con, cfg, [key], chunk_rows=7) for key in keys]
    daily = load_features(con, "ds").sort(["window_start", "orig_h"])
    _assert_same(daily, together)
    assert together["day"].cast(pl.String).unique().sort().to_list() == keys
    for key, res in zip(keys, reports, strict=True):
        day = together.filter(pl.col("day").cast(pl.String) == key)
        # the report covers the requested day only: its stored windows and connections
        assert res.windows == day.height and res.windows_by_day == {key: day.height}
        assert res.connections == frame.filter(pl.col("day").cast(pl.String) == key).height
        assert res.malicious_windows == int(day["label"].fill_null(0).sum()) > 0


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_materialize_report_covers_the_requested_days_only(tmp_path: Any, engine: str) -> None:

    from vigia.pipeline.features import load_features, materialize_features

    # a connection filed under day 2 whose time is on day 1: its window starts on day 1, which is not stored
    rows = [_conn(DAY_S - 100, A, "h1", 80, label=1), _conn(DAY_S + 100, B, "h1", 80)]
    frame = _frame(rows).with_columns(pl.lit(T0.date() + timedelta(days=1)).alias("day")).collect()
    con = _warehouse_with(tmp_path, frame)
    cfg = _ds_config({"engine": engine})
    res = materialize_features(con, cfg, ["2024-01-02"])
    assert load_features(con, "ds")["orig_h"].to_list() == [B]
    assert res.windows == 1 and res.windows_by_day == {"2024-01-02": 1} and res.malicious_windows == 0
