"""Sensor files: value columns fixed whichever files a run reads, reserved column names, out-of-range epochs,
quoted CSV records across lines, and rejects that re-runs replace instead of adding to."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.staging import dataset_config
from vigia.config import DatasetConfig
from vigia.pipeline.sensor_features import sensor_windows
from vigia.pipeline.sensor_ingest import REJECTS_TABLE, ingest_sensors
from vigia.sources import zeek_sql
from vigia.timeseries.sensor_files import MAX_TS, MIN_TS, read_sensor_files
from vigia.warehouse.duck import read_frame

T0 = dt.datetime(2026, 1, 5)


def _cfg(path: Path, **series: object) -> DatasetConfig:
    return dataset_config(
        "sf",
        kind="sensor_timeseries",
        source={"type": "sensor_files", "path": str(path)},
        time_column="timestamp",
        label_column=None,
        series={"freq": "1m", "max_gap": 3, "window": 10, "step": 5, **series},
    )


def _rows(day: int, n: int, *cols: str) -> str:
    t = T0 + dt.timedelta(days=day)
    head = ",".join(["timestamp", *cols]) + "\n"
    return head + "".join(
        f"{t + dt.timedelta(minutes=i)}," + ",".join(str((i + j) % 7) for j in range(len(cols))) + "\n"
        for i in range(n)
    )


def _read(path: Path, **kw: object):
    args: dict[object, object] = {"time_column": "timestamp", "value_columns": None, "label_column": None}
    args.update(kw)
    return read_sensor_files(path, dataset="sf", run_id="r", **args)  # type: ignore[arg-type]


# -- value columns do not depend on which files a run reads ------------------------------------------------


def test_rerunning_a_day_after_a_sensor_was_added_keeps_the_table_columns(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(_rows(0, 100, "x"))
    (tmp_path / "b.csv").write_text(_rows(1, 100, "x", "y"))  # a sensor added on the second day
    con = duckdb.connect()
    cfg = _cfg(tmp_path)
    first = ingest_sensors(con, cfg, ["2026-01-05", "2026-01-06"], "r1")
    assert first.written == 200
    again = ingest_sensors(con, cfg, ["2026-01-06"], "r2")  # a.csv unchanged and not read: b.csv is the first
    assert again.read == again.accepted == again.written == 100
    assert read_frame(con, "sf", "raw_sensor").columns == ["ts", "x", "label", "source_file", "station", "day"]
    assert len(again.ignored_fields) == 1 and "b.csv: column(s) y not read" in again.ignored_fields[0]
    assert "series.columns" in again.ignored_fields[0]
    assert [Path(str(f["path"])).name for f in again.files] == ["b.csv"] and again.files[0]["ignored_columns"] == ["y"]


def test_first_build_takes_the_first_file_of_the_source_even_when_not_read(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(_rows(0, 20, "x"))
    (tmp_path / "b.csv").write_text(_rows(1, 20, "x", "y"))
    r = _read(tmp_path, skip=lambda f: f.name == "a.csv")
    assert r.value_columns == ["x"] and r.frame.columns == ["ts", "x", "label", "source_file"]
    assert [f.ignored_columns for f in r.files] == [["y"]]


def test_a_file_lacking_a_value_column_reads_it_as_null(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(_rows(0, 100, "x", "y"))
    (tmp_path / "b.csv").write_text(_rows(1, 100, "x"))  # the y sensor removed (or not yet installed)
    r = _read(tmp_path)
    assert r.value_columns == ["x", "y"] and r.read == r.accepted == 200
    b = r.frame.filter(pl.col("source_file").str.ends_with("b.csv"))
    assert b["y"].null_count() == 100 and b["x"].null_count() == 0
    assert [f.missing_columns for f in r.files] == [[], ["y"]]
    assert any("b.csv: lacks value column(s) y" in n for n in r.notes)
    # Windows: the station with both sensors has them; the other is listed with the reason.
    con = duckdb.connect()
    ingest_sensors(con, _cfg(tmp_path), ["2026-01-05", "2026-01-06"], "r1")
    w = sensor_windows(read_frame(con, "sf", "raw_sensor"), _cfg(tmp_path))
    assert set(w.table["station"].to_list()) == {"a"}
    assert any(s.startswith("b ") and "y hold no value" in s for s in w.without_windows)


def test_the_existing_table_fixes_the_columns_of_a_later_first_file(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text(_rows(1, 20, "x"))
    assert _read(tmp_path, table_columns=["x", "y"]).frame.columns == ["ts", "x", "y", "label", "source_file"]
    (tmp_path / "c.csv").write_text(_rows(1, 20, "z"))
    with pytest.raises(ValueError, match=r"c\.csv has none of the value columns"):
        _read(tmp_path, table_columns=["x", "y"])


def test_declared_columns_missing_from_one_file_are_null_and_from_every_file_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(_rows(0, 20, "x"))
    (tmp_path / "b.csv").write_text(_rows(1, 20, "x", "y"))
    r = _read(tmp_path, value_columns=["x", "y"], skip=lambda f: f.name == "b.csv")  # only a.csv read
    assert r.frame["y"].null_count() == 20 and r.files[0].missing_columns == ["y"]
    with pytest.raises(ValueError, match=r"series\.columns names yy, a column of no file"):
        _read(tmp_path, value_columns=["x", "yy"])


# -- reserved column names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["station", "day", "segment", "event_type", "source_file"])
def test_a_value_column_with_a_reserved_name_is_an_error_naming_it_and_the_file(tmp_path: Path, name: str) -> None:
    (tmp_path / "plant.csv").write_text(_rows(0, 20, name, "temp"))
    with pytest.raises(ValueError, match=rf"{name} of sensor file .*plant\.csv clash with column names"):
        _read(tmp_path)
    with pytest.raises(ValueError, match=rf"{name} of series\.columns clash"):
        _read(tmp_path, value_columns=[name, "temp"])
    assert _read(tmp_path, value_columns=["temp"]).read == 20  # left out: read as before
    with pytest.raises(ValueError, match=rf"series\.columns names {name}: names the pipeline uses"):
        _cfg(tmp_path, columns=[name])  # refused when the dataset file is loaded


# -- timestamps out of range --------------------------------------------------------------------------------


def test_the_timestamp_bound_is_the_conn_logs_one() -> None:
    assert (f"TIMESTAMP '{MIN_TS.date()}'", f"TIMESTAMP '{MAX_TS.date()}'") == (zeek_sql._MIN_TS, zeek_sql._MAX_TS)


def test_an_epoch_in_microseconds_is_a_bad_timestamp(tmp_path: Path) -> None:
    base = 1767571200  # 2026-01-05T00:00:00Z
    rows = [f"{base + 60 * i},{i % 5}" for i in range(100)]
    rows[50] = f"{(base + 3000) * 1_000_000},1"
    rows[60] = f"{(base + 3600) * 1_000_000_000},1"  # nanoseconds
    (tmp_path / "pump.csv").write_text("timestamp,v\n" + "\n".join(rows) + "\n")
    r = _read(tmp_path / "pump.csv")
    assert (r.read, r.accepted, r.rejected) == (100, 98, 2)
    assert r.rejects["reason"].to_list() == ["bad_timestamp"] * 2 and r.rejects["line_number"].to_list() == [52, 62]
    con = duckdb.connect()  # the ingest no longer dies on a year beyond 9999
    res = ingest_sensors(con, _cfg(tmp_path / "pump.csv"), ["2026-01-05"], "r1")
    assert res.read == res.accepted + res.rejected and res.rejects_by_reason == {"bad_timestamp": 2}
    us = tmp_path / "us.csv"  # a whole file in microseconds: every line rejected, none accepted in year 52000
    us.write_text("timestamp,v\n" + "".join(f"{(base + 60 * i) * 1_000_000},1\n" for i in range(10)))
    assert _read(us).rejects_by_reason() == {"bad_timestamp": 10}


def test_text_timestamps_outside_the_bound_are_bad_timestamps(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("timestamp,v\n1989-12-31 23:59:00,1\n1990-01-01 00:00:00,2\n2099-12-31 23:59:59,3\n2100-01-01,4\n")
    r = _read(p)
    assert r.accepted == 2 and r.rejects["line_number"].to_list() == [2, 5]


# -- double quotes: records across lines --------------------------------------------------------------------


def test_a_line_cut_inside_a_quote_is_one_reject_and_reading_resumes(tmp_path: Path) -> None:
    lines = ['"timestamp","a","b"'] + [f'"{T0 + dt.timedelta(minutes=i)}","{i}","{100 + i}"' for i in range(8)]
    lines[4] = lines[4][:24]  # "2026-01-05 00:03:00","3   (cut inside the second field)
    lines[6] = lines[6][:-2]  # "2026-01-05 00:05:00","5","10   (cut inside the last field: 3 fields)
    p = tmp_path / "a.csv"
    p.write_text("\n".join(lines) + "\n")
    r = _read(p)
    assert (r.read, r.accepted, r.rejected) == (8, 6, 2)
    assert r.rejects.select("line_number", "reason", "raw_record").rows() == [
        (5, "unterminated_quote", lines[4]),
        (7, "unterminated_quote", lines[6]),
    ]
    assert [t.minute for t in r.frame["ts"].to_list()] == [0, 1, 2, 4, 6, 7]


def test_a_file_ending_inside_a_quote_rejects_its_last_line(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text(f'timestamp,a\n{T0},"1"\n{T0 + dt.timedelta(minutes=1)},"2\n\n\n')
    r = _read(p)
    assert (r.read, r.accepted) == (2, 1) and r.rejects.select("line_number", "reason").rows() == [
        (3, "unterminated_quote")
    ]


def test_a_quoted_newline_is_one_record_numbered_by_its_first_line(tmp_path: Path) -> None:
    lines = ["timestamp,a,b,note"] + [f"{T0 + dt.timedelta(minutes=i)},{i},{100 + i},ok" for i in range(8)]
    lines[2] = lines[2].replace(",ok", ',"multi\nline"')
    p = tmp_path / "b.csv"
    p.write_text("\n".join(lines) + "\n\n\n")
    r = _read(p, value_columns=["a", "b"])
    assert (r.read, r.accepted, r.rejected) == (8, 8, 0)
    ts = T0 + dt.timedelta(minutes=5)
    bad = p.read_text().replace(f"{ts},5,105,ok", f"{ts},5,105,ok,extra")
    p.write_text(bad)
    r = _read(p, value_columns=["a", "b"])
    assert r.rejects.select("line_number", "reason").rows() == [(8, "wrong_field_count")]  # line 7 + 1 (newline)


# -- rejects are replaced per file on a re-run --------------------------------------------------------------


def test_rerunning_an_ingest_replaces_the_rejects_of_the_files_read(tmp_path: Path) -> None:
    text = _rows(0, 50, "x")
    (tmp_path / "a.csv").write_text(text.replace("\n", "\nnot a line,1\n", 1))
    (tmp_path / "b.csv").write_text(_rows(1, 50, "x") + "garbage\n")
    con = duckdb.connect()
    cfg = _cfg(tmp_path)

    def rejects() -> dict[str, int]:
        rows = con.execute(f"SELECT source_file, count(*) FROM sf.{REJECTS_TABLE} GROUP BY 1").fetchall()
        return {Path(f).name: n for f, n in rows}

    for run in ("r1", "r2", "r3"):
        res = ingest_sensors(con, cfg, ["2026-01-05", "2026-01-06"], run)
        assert res.rejected == 2 and rejects() == {"a.csv": 1, "b.csv": 1}
    ingest_sensors(con, cfg, ["2026-01-06"], "r4")  # a.csv not read: its rejects stay
    assert rejects() == {"a.csv": 1, "b.csv": 1}
    (tmp_path / "b.csv").write_text(_rows(1, 50, "x"))  # fixed: its rejects go
    ingest_sensors(con, cfg, ["2026-01-06"], "r5")
    assert rejects() == {"a.csv": 1}
    assert con.execute(f"SELECT DISTINCT run_id FROM sf.{REJECTS_TABLE}").fetchall() == [("r3",)]
