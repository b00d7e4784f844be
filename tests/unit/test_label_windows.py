"""Labels from a file of intervals: formats, errors, and which rows they label."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from vigia.config import DatasetConfig
from vigia.pipeline.label_windows import apply_label_windows, read_label_windows


def _windows_table(con: duckdb.DuckDBPyConnection) -> None:
    """Two stations, six 1-hour windows each on 2014-02-07, all labelled 0 by the records."""
    rows = [
        (station, datetime(2014, 2, 7, h), datetime(2014, 2, 7, h + 1), datetime(2014, 2, 7).date(), 0, None)
        for station in ("machine_temperature_system_failure", "valve1/0")
        for h in range(10, 16)
    ]
    con.execute("CREATE TABLE w (station VARCHAR, window_start TIMESTAMP, window_end TIMESTAMP, day DATE, "
                "label TINYINT, attack_type VARCHAR)")  # fmt: skip
    con.executemany("INSERT INTO w VALUES (?, ?, ?, ?, ?, ?)", rows)


def _positives(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, str | None]]:
    return con.execute(
        "SELECT station, hour(window_start), attack_type FROM w WHERE label = 1 ORDER BY station, window_start"
    ).fetchall()


def test_nab_mapping_matches_the_series_by_file_path(tmp_path: Path) -> None:
    path = tmp_path / "combined_windows.json"
    path.write_text(json.dumps({
        "realKnownCause/machine_temperature_system_failure.csv": [
            ["2014-02-07 11:30:00.000000", "2014-02-07 12:00:00.000000"]
        ],
        "realKnownCause/other_series.csv": [["2014-02-07 10:00:00", "2014-02-07 16:00:00"]],
    }))
    con = duckdb.connect()
    _windows_table(con)
    stats = apply_label_windows(con, "w", read_label_windows(path), entity_column="station", days=["2014-02-07"])
    # [11:00, 12:00) overlaps 11:30..12:00; [12:00, 13:00) touches its closed end at 12:00.
    assert _positives(con) == [("machine_temperature_system_failure", 11, None),
                               ("machine_temperature_system_failure", 12, None)]  # fmt: skip
    assert (stats.intervals, stats.rows, stats.positive_rows, stats.intervals_used) == (2, 12, 2, 1)


def test_csv_with_entities_notes_and_global_intervals(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    path.write_text(
        "start,end,entity,note\n"
        "2014-02-07T10:15:00,2014-02-07T10:20:00,valve1/0,valve stuck\n"
        "2014-02-07T15:00:00+01:00,2014-02-07T14:10:00Z,,power cut\n"  # 14:00..14:10 UTC, every series
    )
    con = duckdb.connect()
    _windows_table(con)
    apply_label_windows(con, "w", read_label_windows(path), entity_column="station", days=["2014-02-07"])
    assert _positives(con) == [
        ("machine_temperature_system_failure", 14, "power cut"),
        ("valve1/0", 10, "valve stuck"),
        ("valve1/0", 14, "power cut"),
    ]


def test_other_days_are_left_alone_and_labels_are_replaced(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text(json.dumps([{"start": 1391767200, "end": 1391767200}]))  # 2014-02-07 10:00 UTC, no entity
    con = duckdb.connect()
    _windows_table(con)
    con.execute("UPDATE w SET label = 1 WHERE hour(window_start) = 15")
    stats = apply_label_windows(con, "w", read_label_windows(path), entity_column="station", days=["2014-02-08"])
    assert stats.rows == 0 and con.execute("SELECT count(*) FROM w WHERE label = 1").fetchall()[0][0] == 2
    apply_label_windows(con, "w", read_label_windows(path), entity_column="station", days=["2014-02-07"])
    assert [(s, h) for s, h, _ in _positives(con)] == [("machine_temperature_system_failure", 10), ("valve1/0", 10)]


def test_event_rows_are_matched_by_their_time(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"10.0.0.9": [["2026-01-05 10:00:00", "2026-01-05 10:05:00"]]}))
    con = duckdb.connect()
    frame = pl.DataFrame({
        "event_id": ["a", "b", "c"],
        "ts": [datetime(2026, 1, 5, 10, 2), datetime(2026, 1, 5, 10, 6), datetime(2026, 1, 5, 10, 3)],
        "client_ip": ["10.0.0.9", "10.0.0.9", "10.0.0.1"],
        "day": [datetime(2026, 1, 5).date()] * 3,
        "label": [0, 0, 0],
    })
    con.register("frame", frame.to_arrow())
    con.execute("CREATE TABLE e AS SELECT * FROM frame")
    apply_label_windows(con, "e", read_label_windows(path), entity_column="client_ip", days=["2026-01-05"])
    assert con.execute("SELECT event_id FROM e WHERE label = 1").fetchall() == [("a",)]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.json", '[["2014-02-07 12:00", "2014-02-07 11:00"]]', "is before start"),
        ("b.json", '[["yesterday", "2014-02-07 11:00"]]', "not an ISO-8601 time"),
        ("c.json", '{"s": "2014-02-07"}', "must be a list of intervals"),
        ("d.json", '[["2014-02-07"]]', "expected [start, end]"),
        ("e.csv", "from,to\n1,2\n", "missing columns ['start', 'end']"),
        ("f.csv", "start,end\n2014-02-07,\n", "line 2: not a time"),
        ("g.txt", "", "must be a .csv or .json"),
        ("h.json", "[[1e300, 2e300]]", "[0]: epoch seconds 1e+300 out of range"),  # was a bare OverflowError
    ],
)
def test_bad_files_fail_naming_the_file_and_entry(tmp_path: Path, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError) as info:
        read_label_windows(tmp_path / name)
    assert message in str(info.value) and name in str(info.value)


def test_missing_file_and_wrong_kind_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="label_windows file not found"):
        read_label_windows(tmp_path / "absent.csv")
    with pytest.raises(ValueError, match="label_windows is for the kinds"):
        DatasetConfig.model_validate({"name": "t", "kind": "tabular_supervised", "label_windows": "w.csv",
                                      "source": {"type": "synthetic_customers"}})  # fmt: skip


@pytest.mark.parametrize(("name", "text"), [
    ("w.json", '[["2026-01-05 10:00:00", "2026-01-05 11:00:00"]]'),
    ("w.csv", "start,end\n2026-01-05T10:00:00,2026-01-05T11:00:00\n"),
])  # fmt: skip
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_byte_order_mark_is_allowed(tmp_path: Path, name: str, text: str, encoding: str) -> None:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    frame = read_label_windows(path)
    assert frame.height == 1 and frame["start"][0] == datetime(2026, 1, 5, 10)


def test_lone_surrogate_escape_in_a_note_is_replaced(tmp_path: Path) -> None:
    """A ``"\\ud800"`` escape in a note (legal JSON) used to fail with a bare UnicodeEncodeError."""
    (tmp_path / "w.json").write_text('[{"start": "2014-02-07 11:00", "end": "2014-02-07 12:00", "note": "x\\ud800"}]')
    assert read_label_windows(tmp_path / "w.json")["note"].to_list() == ["x\ufffd"]


def test_csv_epoch_seconds_are_times(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    path.write_text("start,end,entity,note\n1391767200,1391767500.5,valve1/0,epoch\n")  # 2014-02-07 10:00..10:05
    (row,) = read_label_windows(path).to_dicts()
    assert (row["start"], row["end"]) == (datetime(2014, 2, 7, 10, 0), datetime(2014, 2, 7, 10, 5, 0, 500000))
