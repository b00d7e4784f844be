"""Synthetic conn generator: determinism, layout, attacks, writers and the parser roundtrip."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from vigia.schema import CONN_COLUMNS
from vigia.sources.zeek_files import parse_conn_files
from vigia.sources.zeek_synth import ATTACK_TYPES, generate_conn_day, write_zeek_json, write_zeek_tsv

DAY = dt.date(2024, 3, 4)
DTYPES = {
    "TIMESTAMP": pl.Datetime("us"), "VARCHAR": pl.String, "INTEGER": pl.Int32, "BIGINT": pl.Int64,
    "DOUBLE": pl.Float64, "TINYINT": pl.Int8,
}


@pytest.fixture(scope="module")
def day_df() -> pl.DataFrame:
    return generate_conn_day(DAY, 30_000, seed=7)


def test_layout_and_dtypes(day_df: pl.DataFrame) -> None:
    assert day_df.columns == list(CONN_COLUMNS)
    assert {c: day_df.schema[c] for c in CONN_COLUMNS} == {c: DTYPES[t] for c, t in CONN_COLUMNS.items()}
    assert 27_000 <= day_df.height <= 33_000
    assert day_df["ts"].is_sorted()
    assert day_df["ts"].min() >= dt.datetime(2024, 3, 4) and day_df["ts"].max() < dt.datetime(2024, 3, 5)
    assert day_df["uid"].str.contains(r"^C[0-9A-Za-z]{17}$").all()
    assert set(day_df["conn_state"].unique()) >= {"SF", "S0", "REJ"}
    assert day_df["conn_state"].value_counts(normalize=True).filter(pl.col("conn_state") == "SF")["proportion"][0] > 0.6


def test_deterministic() -> None:
    a = generate_conn_day(DAY, 5_000, seed=3)
    assert a.equals(generate_conn_day(DAY, 5_000, seed=3))
    assert not a.equals(generate_conn_day(DAY, 5_000, seed=4))
    assert not a.equals(generate_conn_day(DAY + dt.timedelta(days=1), 5_000, seed=3))


def test_attacks_labelled(day_df: pl.DataFrame) -> None:
    mal = day_df.filter(pl.col("label") == 1)
    assert set(mal["attack_type"].unique()) == set(ATTACK_TYPES)
    assert day_df.filter(pl.col("label") == 0)["attack_type"].null_count() == day_df.filter(pl.col("label") == 0).height
    assert mal["attack_type"].null_count() == 0
    windows = day_df.group_by("orig_h", pl.col("ts").dt.truncate("5m")).agg(pl.col("label").max())
    assert 0.005 <= windows["label"].mean() <= 0.05


def test_attack_shapes(day_df: pl.DataFrame) -> None:
    w = (
        day_df.filter(pl.col("label") == 1)
        .group_by("attack_type", "orig_h", pl.col("ts").dt.truncate("5m"))
        .agg(pl.len(), pl.col("resp_h").n_unique().alias("dsts"), pl.col("resp_p").n_unique().alias("ports"))
        .group_by("attack_type")
        .agg(pl.col("len", "dsts", "ports").median())
    )
    m = {r["attack_type"]: r for r in w.to_dicts()}
    assert m["PortScan-Horizontal"]["dsts"] >= 10 and m["PortScan-Horizontal"]["ports"] == 1
    assert m["PortScan-Vertical"]["dsts"] == 1 and m["PortScan-Vertical"]["ports"] >= 10
    assert m["C2-Beacon"]["dsts"] == 1 and m["C2-Beacon"]["len"] >= 8
    exfil = day_df.filter(pl.col("attack_type") == "Exfiltration")
    assert exfil["orig_bytes"].min() > 1_000_000


def test_unknown_param_rejected() -> None:
    with pytest.raises(TypeError, match="bogus"):
        generate_conn_day(DAY, 100, seed=1, bogus=1)


def test_tsv_writer_format(tmp_path: Path) -> None:
    df = generate_conn_day(DAY, 2_000, seed=1)
    path = write_zeek_tsv(df, tmp_path / "conn.log")
    lines = path.read_text().splitlines()
    assert lines[0] == "#separator \\x09" and lines[-1].startswith("#close\t")
    fields = lines[6].split("\t")[1:]
    assert fields[-2:] == ["label", "detailed-label"] and len(fields) == 23
    assert len(lines[8].split("\t")) == 23
    assert all(len(x.split("\t")[0].split(".")[1]) == 6 for x in lines[8:20])
    no_labels = write_zeek_tsv(df, tmp_path / "nolabel.log", labels=False).read_text().splitlines()
    assert len(no_labels[8].split("\t")) == 21


@pytest.mark.parametrize("fmt", ["tsv", "tsv.gz", "json"])
def test_roundtrip_through_parser(tmp_path: Path, fmt: str) -> None:
    df = generate_conn_day(DAY, 3_000, seed=11)
    if fmt == "json":
        path = write_zeek_json(df, tmp_path / "conn.json")
        assert "id.orig_h" in json.loads(path.read_text().splitlines()[0])
    else:
        gz = fmt.endswith("gz")
        path = write_zeek_tsv(df, tmp_path / ("conn.log.gz" if gz else "conn.log"), gzip=gz)
    con = duckdb.connect()
    r = parse_conn_files(con, path, dataset="t", run_id="r", staging_table="stg", rejects_table="rej")
    assert (r.read, r.accepted, r.rejected) == (df.height, df.height, 0)
    got = con.sql("SELECT * EXCLUDE (day, source_file) FROM stg ORDER BY ts, uid").pl()
    want = df.sort("ts", "uid")
    assert got["label"].to_list() == want["label"].to_list()
    assert got["attack_type"].to_list() == want["attack_type"].to_list()
    assert got["ts"].to_list() == want["ts"].to_list()
    assert got.select(pl.exclude("duration")).equals(want.select(pl.exclude("duration")))
