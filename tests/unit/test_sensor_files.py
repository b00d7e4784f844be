"""Sensor CSV / Parquet reader: separators, Parquet, rejects with reasons, errors, real SKAB folder."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import shared_path
from vigia.schema import REJECT_COLUMNS
from vigia.sources.errors import SourceError
from vigia.timeseries.sensor_files import read_sensor_files, series_name
from vigia.timeseries.skab import FEATURE_COLUMNS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sensors"
SKAB_VALUES = list(FEATURE_COLUMNS)


def _read(path, **kw):
    args = {"time_column": "ts", "value_columns": ["temp", "pressure"], "label_column": "label"}
    args.update(kw)
    return read_sensor_files(path, dataset="sensors", run_id="run-1", **args)


def test_skab_semicolon_csv():
    r = read_sensor_files(
        FIXTURES / "skab_style.csv",
        time_column="datetime",
        value_columns=SKAB_VALUES,
        label_column="anomaly",
        dataset="skab",
        run_id="r",
    )
    assert r.read == r.accepted == 5 and r.rejected == 0
    assert r.frame.columns == ["ts", *SKAB_VALUES, "label", "source_file"]
    assert r.frame.schema["ts"] == pl.Datetime("us")
    assert all(r.frame.schema[c] == pl.Float64 for c in SKAB_VALUES)
    assert r.frame.schema["label"] == pl.Int8
    assert r.frame["label"].to_list() == [0, 0, 1, 1, 0]
    assert r.frame["Volume Flow RateRMS"].to_list() == [32.0, 32.0, 32.0, 32.0, 31.0]
    assert r.frame["ts"][2].isoformat() == "2020-03-09T10:14:35"
    assert r.rejects.columns == list(REJECT_COLUMNS)


def test_value_columns_default_excludes():
    r = read_sensor_files(
        FIXTURES / "skab_style.csv",
        time_column="datetime",
        value_columns=None,
        label_column="anomaly",
        exclude_columns=["changepoint"],
        dataset="skab",
        run_id="r",
    )
    assert r.value_columns == SKAB_VALUES


def test_bad_rows_rejected_with_reasons():
    r = _read(FIXTURES / "bad_rows.csv")
    assert r.read == 10 and r.read == r.accepted + r.rejected
    assert r.accepted == 4 and r.rejected == 6
    reasons = dict(zip(r.rejects["line_number"].to_list(), r.rejects["reason"].to_list(), strict=True))
    assert reasons == {
        4: "bad_timestamp",
        5: "non_numeric_value",
        6: "wrong_field_count",
        9: "duplicate_timestamp",
        11: "wrong_field_count",
        12: "bad_timestamp",
    }
    assert r.rejects_by_reason() == {
        "bad_timestamp": 2,
        "duplicate_timestamp": 1,
        "non_numeric_value": 1,
        "wrong_field_count": 2,
    }
    assert set(r.rejects["dataset"]) == {"sensors"} and set(r.rejects["run_id"]) == {"run-1"}
    assert r.rejects.filter(pl.col("line_number") == 9)["raw_record"][0] == "2026-01-05 00:01:00,99.9,9.9,1"
    # The first row of a duplicated timestamp is kept; an empty value is a null reading, not a reject.
    assert r.frame["temp"].to_list() == [20.5, 20.6, 21.0, 21.2]
    assert r.frame["pressure"].null_count() == 1
    assert r.frame["label"].to_list() == [0, 0, 1, 1]


def test_parquet_and_folder(tmp_path: Path):
    frame = pl.DataFrame(
        {
            "ts": ["2026-01-05 00:00:00", "2026-01-05 00:00:10", "bad", "2026-01-05 00:00:10"],
            "temp": ["1.5", "2.5", "3.5", "x"],
            "pressure": [1.0, 2.0, 3.0, 4.0],
        }
    )
    frame.write_parquet(tmp_path / "2.parquet")
    typed = pl.DataFrame(
        {"ts": pl.datetime_range(pl.datetime(2026, 1, 6), pl.datetime(2026, 1, 6, 0, 0, 2), "1s", eager=True)}
    ).with_columns(temp=pl.lit(7.0), pressure=pl.lit(1))
    typed.write_parquet(tmp_path / "10.parquet")
    (tmp_path / "1.csv").write_text("ts;temp;pressure\n2026-01-04 00:00:00;1,5;2\n2026-01-04 00:00:01;2;3\n")
    (tmp_path / "notes.md").write_text("ignored")
    r = _read(tmp_path, label_column=None)
    assert [Path(f.path).name for f in r.files] == ["1.csv", "2.parquet", "10.parquet"]
    assert [(f.read, f.accepted, f.rejected) for f in r.files] == [(2, 1, 1), (4, 2, 2), (3, 3, 0)]
    assert r.frame["label"].null_count() == r.frame.height
    assert r.frame["temp"].to_list() == [2.0, 1.5, 2.5, 7.0, 7.0, 7.0]
    assert sorted(r.rejects["reason"].to_list()) == ["bad_timestamp", "non_numeric_value", "non_numeric_value"]


def test_subfolders_are_read_and_name_their_series(tmp_path: Path):
    """SKAB's layout (valve1/0.csv, valve2/0.csv): same file names in two folders are two series."""
    rows = "ts;temp;pressure\n2026-01-05 00:00:00;1;2\n"
    for folder, name in [("valve2", "0.csv"), ("valve1", "10.csv"), ("valve1", "2.csv"), ("valve1", "0.csv")]:
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / name).write_text(rows)
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "0.csv").write_text(rows)  # hidden folders are skipped
    r = _read(tmp_path, label_column=None)
    relative = [Path(f.path).relative_to(tmp_path).as_posix() for f in r.files]
    assert relative == ["valve1/0.csv", "valve1/2.csv", "valve1/10.csv", "valve2/0.csv"]
    names = [series_name(f.path, tmp_path) for f in r.files]
    assert names == ["valve1/0", "valve1/2", "valve1/10", "valve2/0"]
    assert series_name(tmp_path / "valve2" / "0.csv", tmp_path / "valve2" / "0.csv") == "0"  # a one-file source


def test_comma_csv_and_quotes(tmp_path: Path):
    p = tmp_path / "q.csv"
    p.write_text('ts,temp,pressure,label\n2026-01-05 00:00:00,"1.0",2,0\n2026-01-05 00:00:01,"2,5",2,1\n')
    r = _read(p)
    assert r.accepted == 1 and r.rejects["reason"].to_list() == ["non_numeric_value"]
    assert r.rejects["line_number"].to_list() == [3]


def test_missing_path_and_empty(tmp_path: Path):
    with pytest.raises(SourceError, match="nowhere"):
        _read(tmp_path / "nowhere")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(SourceError, match=r"empty\.csv"):
        _read(tmp_path / "empty.csv")
    (tmp_path / "folder").mkdir()
    with pytest.raises(SourceError, match="folder"):
        _read(tmp_path / "folder")
    (tmp_path / "header.csv").write_text("ts,temp,pressure,label\n")
    with pytest.raises(SourceError, match=r"header\.csv"):
        _read(tmp_path / "header.csv")


def test_missing_declared_column_named():
    with pytest.raises(ValueError, match="humidity"):
        _read(FIXTURES / "bad_rows.csv", value_columns=["temp", "humidity"])
    with pytest.raises(ValueError, match="anomaly"):
        _read(FIXTURES / "bad_rows.csv", label_column="anomaly")


@pytest.mark.shared
def test_real_skab_valve1(tmp_path: Path):
    folder = shared_path("skab", "data", "valve1")
    r = read_sensor_files(
        folder,
        time_column="datetime",
        value_columns=SKAB_VALUES,
        label_column="anomaly",
        dataset="skab",
        run_id="r",
    )
    rows = [1147, 1145, 1075, 1148, 1095, 1154, 1154, 1094, 1144, 1148, 1146, 1141, 1140, 1140, 1139, 1150]
    anomalies = [401, 402, 337, 404, 349, 403, 405, 405, 400, 402, 401, 399, 399, 399, 399, 404]
    assert len(r.files) == 16
    assert [Path(f.path).name for f in r.files] == [f"{i}.csv" for i in range(16)]
    assert [f.read for f in r.files] == rows and r.rejected == 0
    assert r.accepted == sum(rows) and int(r.frame["label"].sum()) == sum(anomalies)
    assert r.frame.select(pl.sum_horizontal(pl.col(SKAB_VALUES).is_null()).sum()).item() == 0


def test_non_finite_values_are_rejected(tmp_path: Path):
    """``inf`` / ``1e400`` parse as floats but would poison every window they reach: rejected at ingest, with
    the line, instead of failing the features check later without saying where they came from."""
    (tmp_path / "a.csv").write_text(
        "ts,flow,label\n2026-01-05 00:00:00,1.0,0\n2026-01-05 00:01:00,inf,0\n2026-01-05 00:02:00,1e400,0\n"
        "2026-01-05 00:03:00,NaN,0\n2026-01-05 00:04:00,-Infinity,0\n2026-01-05 00:05:00,1.5,Infinity\n"
    )
    r = _read(tmp_path, value_columns=["flow"], label_column="label")
    assert r.frame["flow"].to_list() == [1.0, None]  # NaN is a missing value, as before
    got = dict(zip(r.rejects["line_number"].to_list(), r.rejects["reason"].to_list(), strict=True))
    assert got == {3: "non_numeric_value", 4: "non_numeric_value", 6: "non_numeric_value", 7: "non_numeric_label"}


def test_values_beyond_the_float32_range_are_rejected(tmp_path: Path):
    """A historian's ``1.797e308`` "bad quality" sentinel is a finite double, but windows are float32: it
    became an infinite window value and failed the blocking `features_finite` check for the whole day."""
    (tmp_path / "a.csv").write_text(
        "ts,flow,pressure,label\n2026-01-05 00:00:00,1.0,2.0,0\n2026-01-05 00:01:00,1.7976931348623157e308,2.0,0\n"
        "2026-01-05 00:02:00,3.4e38,-3.4e38,0\n2026-01-05 00:03:00,1.0,-3.5e38,0\n2026-01-05 00:04:00,,1e39,0\n"
        "2026-01-05 00:05:00,1.0,2.0,1e300\n"
    )
    r = _read(tmp_path, value_columns=["flow", "pressure"], label_column="label")
    assert r.frame["flow"].to_list() == [1.0, 3.4e38, 1.0] and r.frame["label"].to_list() == [0, 0, 1]
    got = dict(zip(r.rejects["line_number"].to_list(), r.rejects["reason"].to_list(), strict=True))
    assert got == {3: "value_out_of_range", 5: "value_out_of_range", 6: "value_out_of_range"}


def test_decimal_comma_exports(tmp_path: Path):
    """A European historian export (``;``-separated, ``1,5``) lost every row as non_numeric_value; with
    ``decimal=","`` it reads, and a value that also holds a ``.`` (``1.234,5``) stays a reject."""
    (tmp_path / "a.csv").write_text(
        "ts;temp;pressure;label\n2026-01-05 00:00:00;21,5;1,013E+00;0\n2026-01-05 00:01:00;-0,25;1;1\n"
        "2026-01-05 00:02:00;1.234,5;1,0;0\n2026-01-05 00:03:00;;NaN;0\n"
    )
    plain = _read(tmp_path)
    assert plain.frame.height == 1 and plain.rejects["reason"].to_list() == ["non_numeric_value"] * 3
    r = _read(tmp_path, decimal=",")
    assert r.frame["temp"].to_list() == [21.5, -0.25, None] and r.frame["pressure"].to_list() == [1.013, 1.0, None]
    assert r.frame["label"].to_list() == [0, 1, 0]
    assert dict(zip(r.rejects["line_number"].to_list(), r.rejects["reason"].to_list(), strict=True)) == {
        4: "non_numeric_value"
    }


def test_local_time_with_summer_time_changes(tmp_path: Path):
    """Historians log local wall-clock time. Read as UTC, the hour repeated when clocks go back became
    duplicate_timestamp rejects (an hour of data lost each autumn); with ``time_zone`` the repeat is the
    later instant, a local time skipped in spring is a bad_timestamp, and ``Z`` / offsets are honoured."""
    (tmp_path / "a.csv").write_text(
        "ts,temp,pressure,label\n2026-10-25 01:30:00,1,1,0\n2026-10-25 02:00:00,2,1,0\n2026-10-25 02:30:00,3,1,0\n"
        "2026-10-25 02:00:00,4,1,0\n2026-10-25 02:30:00,5,1,0\n2026-10-25 03:00:00,6,1,0\n"
        "2026-03-29 02:30:00,7,1,0\n2026-10-25 05:00:00Z,8,1,0\n2026-10-25 07:00:00+01:00,9,1,0\n"
    )
    as_utc = _read(tmp_path)
    assert as_utc.rejects["reason"].to_list() == ["duplicate_timestamp"] * 2
    r = _read(tmp_path, time_zone="Europe/Berlin")
    got = dict(zip(r.frame["temp"].to_list(), (t.isoformat(sep=" ") for t in r.frame["ts"].to_list()), strict=True))
    assert got == {
        1.0: "2026-10-24 23:30:00", 2.0: "2026-10-25 00:00:00", 3.0: "2026-10-25 00:30:00",
        4.0: "2026-10-25 01:00:00", 5.0: "2026-10-25 01:30:00", 6.0: "2026-10-25 02:00:00",
        8.0: "2026-10-25 05:00:00", 9.0: "2026-10-25 06:00:00",
    }  # fmt: skip
    assert dict(zip(r.rejects["line_number"].to_list(), r.rejects["reason"].to_list(), strict=True)) == {
        8: "bad_timestamp"
    }


def test_time_zone_is_checked_at_load() -> None:
    from vigia.config import SeriesConfig

    assert SeriesConfig(time_zone="Europe/Berlin").time_zone == "Europe/Berlin"
    with pytest.raises(ValueError, match="not an IANA time zone name"):
        SeriesConfig(time_zone="Mars/Olympus")


def test_decimal_comma_needs_another_separator() -> None:
    from vigia.config import SeriesConfig

    assert SeriesConfig(decimal=",", separator=";").decimal == ","
    with pytest.raises(ValueError, match="needs another separator"):
        SeriesConfig(decimal=",", separator=",")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_utf16_and_utf32_files(tmp_path: Path, encoding: str) -> None:
    """Historian exports in "Unicode" used to fail with 'lacks declared column(s)' and NUL-riddled names."""
    text = "datetime;Pressure °C;anomaly\n2026-01-05 00:00:00;1.5;0\n2026-01-05 00:01:00;x;0\n"
    (tmp_path / "station.csv").write_bytes(text.encode(encoding))
    r = read_sensor_files(tmp_path / "station.csv", time_column="datetime", value_columns=None,
                          label_column="anomaly", dataset="s", run_id="r")  # fmt: skip
    assert (r.read, r.frame.height, r.rejects.height) == (2, 1, 1) and r.frame["Pressure °C"].to_list() == [1.5]


@pytest.mark.parametrize("name", ["s[1]", "s?"])
def test_a_file_name_with_glob_characters_is_read_as_that_one_file(tmp_path: Path, name: str):
    """Polars reads a path as a glob pattern unless told not to: ``s[1].parquet`` would read ``s1.parquet``."""
    one = pl.DataFrame({"ts": ["2026-01-05 00:00:00"], "temp": [1.0], "pressure": [2.0]})
    one.write_parquet(tmp_path / f"{name}.parquet")
    pl.DataFrame({"ts": ["2026-01-05 00:00:01"] * 3, "other": [1, 2, 3]}).write_parquet(tmp_path / "s1.parquet")
    r = _read(tmp_path / f"{name}.parquet", label_column=None)
    assert (r.read, r.accepted) == (1, 1) and r.frame["temp"].to_list() == [1.0]
