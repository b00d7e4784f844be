"""Daily ingest over a growing log archive: unchanged files that hold none of the requested days are not re-read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.staging import dataset_config
from vigia.config import DatasetConfig
from vigia.pipeline.ingest import FILES_TABLE, ingest_conn
from vigia.sources.zeek_synth import generate_conn_day
from vigia.sources.zeek_writers import write_zeek_tsv


def _cfg(path: Path) -> DatasetConfig:
    return dataset_config("arch", source={"type": "zeek_files", "path": str(path)})


def _names(paths: list[str]) -> list[str]:
    return sorted(Path(p).name for p in paths)


def _raw_days(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = con.execute("SELECT strftime(day, '%Y-%m-%d'), count(*) FROM arch.raw_conn GROUP BY 1").fetchall()
    return dict(rows)


def test_unchanged_files_outside_the_requested_days_are_not_read(tmp_path: Path) -> None:
    archive = tmp_path / "zeek"
    archive.mkdir()
    for d in (5, 6):  # one file per day, as Zeek's log archive has them
        write_zeek_tsv(generate_conn_day(date(2026, 1, d), 500, seed=d), archive / f"conn.2026-01-0{d}.log")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    cfg = _cfg(archive)

    first = ingest_conn(con, cfg, ["2026-01-05"], "r1")  # nothing known yet: both files are read
    assert _names([f["path"] for f in first.files]) == ["conn.2026-01-05.log", "conn.2026-01-06.log"]
    assert first.files_unchanged == [] and first.out_of_range == 500

    second = ingest_conn(con, cfg, ["2026-01-06"], "r2")  # the 5th's file is known to hold only the 5th
    assert _names([f["path"] for f in second.files]) == ["conn.2026-01-06.log"]
    assert _names(second.files_unchanged) == ["conn.2026-01-05.log"]
    assert second.read == second.accepted == 500 and second.out_of_range == 0
    assert _raw_days(con) == {"2026-01-05": 500, "2026-01-06": 500}

    # A new day arrives and the 5th's file is rewritten (a late, corrected export): both are read again.
    write_zeek_tsv(generate_conn_day(date(2026, 1, 7), 400, seed=7), archive / "conn.2026-01-07.log")
    write_zeek_tsv(generate_conn_day(date(2026, 1, 5), 450, seed=5), archive / "conn.2026-01-05.log")
    third = ingest_conn(con, cfg, ["2026-01-07"], "r3")
    assert _names([f["path"] for f in third.files]) == ["conn.2026-01-05.log", "conn.2026-01-07.log"]
    assert _names(third.files_unchanged) == ["conn.2026-01-06.log"]
    assert _raw_days(con) == {"2026-01-05": 500, "2026-01-06": 500, "2026-01-07": 400}  # the 5th not requested

    # Every requested day is read from every file that holds it, whatever the manifest says.
    again = ingest_conn(con, cfg, ["2026-01-05", "2026-01-06"], "r4")
    assert _names(again.files_unchanged) == ["conn.2026-01-07.log"]
    assert _raw_days(con) == {"2026-01-05": 450, "2026-01-06": 500, "2026-01-07": 400}
    known = con.execute(f"SELECT count(*), sum(rows) FROM arch.{FILES_TABLE}").fetchall()[0]
    assert known == (3, 1350)


def _kind_cfg(kind: str, source: str, path: Path) -> DatasetConfig:
    return dataset_config("arch", kind, source={"type": source, "path": str(path)})


def test_sensor_and_event_files_use_the_same_manifest(tmp_path: Path) -> None:
    import json

    from vigia.pipeline.events_ingest import ingest_events
    from vigia.pipeline.sensor_ingest import ingest_sensors

    sensors, events = tmp_path / "sensors", tmp_path / "events"
    sensors.mkdir()
    events.mkdir()
    for d in (5, 6):
        rows = "".join(f"2026-01-0{d} 00:{m:02d}:00,{m},{m % 2}\n" for m in range(30))
        (sensors / f"rig_{d}.csv").write_text("ts,temp,label\n" + rows)
        lines = [
            json.dumps({"@timestamp": f"2026-01-0{d}T10:{m:02d}:00Z", "url": {"path": "/a"}, "client": {"ip": "10.1"}})
            for m in range(20)
        ]
        (events / f"export_{d}.ndjson").write_text("\n".join(lines) + "\n")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    sensor_cfg = _kind_cfg("sensor_timeseries", "sensor_files", sensors)
    event_cfg = _kind_cfg("api_events", "event_files", events)

    kinds = ((ingest_sensors, sensor_cfg, "rig_5.csv"), (ingest_events, event_cfg, "export_5.ndjson"))
    for ingest, cfg, day5_file in kinds:
        first = ingest(con, cfg, ["2026-01-05"], "r1")
        assert first.files_unchanged == [] and first.out_of_range > 0
        second = ingest(con, cfg, ["2026-01-06"], "r2")
        assert [Path(f).name for f in second.files_unchanged] == [day5_file]
        assert second.out_of_range == 0 and second.written == first.out_of_range


def test_a_failed_write_records_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The manifest is written after the partitions: a run that fails before leaves the files to be read again."""
    import vigia.pipeline.ingest as ingest_module

    archive = tmp_path / "zeek"
    archive.mkdir()
    write_zeek_tsv(generate_conn_day(date(2026, 1, 5), 200, seed=5), archive / "conn.log")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))

    def failing_write(*args: object, **kwargs: object) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(ingest_module, "replace_partitions", failing_write)
    with pytest.raises(OSError, match="disk full"):
        ingest_conn(con, _cfg(archive), ["2026-01-05"], "r1")
    assert con.execute(f"SELECT count(*) FROM arch.{FILES_TABLE}").fetchall()[0][0] == 0
