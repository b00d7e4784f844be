"""Zeek timestamps with an hour-only offset or from a zone-aware Parquet column, and re-read rejects."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl

from vigia.sources.zeek_files import parse_conn_files

RECORD = {"uid": "a", "id.orig_h": "10.0.0.1", "id.resp_h": "10.0.0.2", "id.resp_p": 80, "proto": "tcp"}


def _parse(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple]:
    con.execute("CREATE SCHEMA IF NOT EXISTS d")
    parse_conn_files(con, path, dataset="d", run_id="r", staging_table="s", rejects_table="d.rejects")
    return con.execute("SELECT uid, ts, day FROM s ORDER BY uid").fetchall()


def test_hour_only_offset_is_applied(tmp_path: Path) -> None:
    lines = [{**RECORD, "uid": uid, "ts": ts} for uid, ts in
             (("a", "2018-11-02T01:05:37+01"), ("b", "2018-11-02T01:05:37+01:00"), ("c", "2018-11-02T01:05:37-0330"))]
    (tmp_path / "conn.log").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    rows = _parse(duckdb.connect(), tmp_path)
    assert [r[1] for r in rows] == [dt.datetime(2018, 11, 2, 0, 5, 37), dt.datetime(2018, 11, 2, 0, 5, 37),
                                    dt.datetime(2018, 11, 2, 4, 35, 37)]  # fmt: skip


def test_zone_aware_parquet_times_do_not_follow_the_session_zone(tmp_path: Path) -> None:
    ts = dt.datetime(2018, 11, 2, 23, 30, tzinfo=dt.UTC)
    pl.DataFrame({"ts": [ts], **{k: [v] for k, v in RECORD.items()}}).write_parquet(tmp_path / "conn.parquet")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/Berlin'")  # a host whose zone is not UTC
    assert _parse(con, tmp_path) == [("a", dt.datetime(2018, 11, 2, 23, 30), dt.date(2018, 11, 2))]


def test_reading_a_file_again_replaces_its_rejects(tmp_path: Path) -> None:
    good = json.dumps({**RECORD, "ts": 1541117137.0})
    (tmp_path / "conn.log").write_text(f"{good}\nnot json\n")
    con = duckdb.connect()
    for _ in range(3):
        _parse(con, tmp_path)
    assert con.execute("SELECT count(*), min(reason) FROM d.rejects").fetchone() == (1, "malformed_json")


def _record(log: str, uid: str) -> str:
    return json.dumps({"_path": log, **RECORD, "uid": uid, "ts": 1541117137.0})


def test_a_stream_of_several_logs_reads_only_its_conn_records(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "zeek.ndjson").write_text("\n".join([_record("conn", "C1"), _record("dns", "C2"),
                                                           _record("http", "C1"), _record("ssl", "C3")]) + "\n")
    (tmp_path / "b" / "zeek.ndjson").write_text("\n".join([_record("dns", "C2"), _record("conn", "C4")]) + "\n")
    for folder, uids in (("a", ["C1"]), ("b", ["C4"])):
        con = duckdb.connect()
        con.execute("CREATE SCHEMA d")
        result = parse_conn_files(con, tmp_path / folder, dataset="d", run_id="r", staging_table="s",
                                  rejects_table="d.rejects")  # fmt: skip
        assert [r[0] for r in con.execute("SELECT uid FROM s").fetchall()] == uids
        assert (result.read, result.accepted, result.rejected) == (1, 1, 0)
        assert result.other_log_records == ({"dns": 1, "http": 1, "ssl": 1} if folder == "a" else {"dns": 1})


def test_a_json_log_of_another_kind_is_still_skipped_whole(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "dns.log.gz").write_bytes(gzip.compress((_record("dns", "C2") + "\n").encode()))
    (tmp_path / "conn.ndjson").write_text(_record("conn", "C1") + "\n")
    result = parse_conn_files(duckdb.connect(), tmp_path, dataset="d", run_id="r", staging_table="s",
                              rejects_table="rejects")  # fmt: skip
    assert result.skipped_files == [f"{tmp_path / 'dns.log.gz'} (dns log)"]
    assert result.read == 1


def test_a_symlink_to_a_log_in_the_source_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "2018-11-02").mkdir()
    (tmp_path / "2018-11-02" / "conn.log").write_text(json.dumps({**RECORD, "ts": 1541117137.0}) + "\n")
    (tmp_path / "current.log").symlink_to(tmp_path / "2018-11-02" / "conn.log")  # like Zeek's `current`
    result = parse_conn_files(duckdb.connect(), tmp_path, dataset="d", run_id="r", staging_table="s",
                              rejects_table="rejects")  # fmt: skip
    assert (result.read, result.accepted) == (1, 1)
