"""Which days the label_windows sensor relabels: digests per day, the settle / unchanged / unreadable rules,
the first evaluation and the features-newer-than-the-file rule."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from tests.staging import dataset_config
from vigia.pipeline.label_changes import (
    LabelFileState,
    changed_days,
    decode_state,
    encode_state,
    interval_day_digests,
    plan_relabel,
    window_span,
)

SCHEMA = {"start": pl.Datetime("us"), "end": pl.Datetime("us"), "entity": pl.String, "note": pl.String}


def _frame(*rows: tuple[str, str, str | None]) -> pl.DataFrame:
    data = [(datetime.fromisoformat(s), datetime.fromisoformat(e), ent, None) for s, e, ent in rows]
    return pl.DataFrame(data, schema=SCHEMA, orient="row")


def test_digests_cover_the_days_a_window_can_overlap() -> None:
    one = _frame(("2026-01-05 00:02:00", "2026-01-06 10:00:00", "h1"))
    assert sorted(interval_day_digests(one, timedelta(minutes=5))) == ["2026-01-04", "2026-01-05", "2026-01-06"]
    assert sorted(interval_day_digests(one, timedelta(0))) == ["2026-01-05", "2026-01-06"]
    h1, h2 = ("2026-01-05 00:02:00", "2026-01-06 10:00", "h1"), ("2026-01-06 12:00:00", "2026-01-06 13:00", "h2")
    two = _frame(h1, h2)
    a, b = interval_day_digests(one, timedelta(0)), interval_day_digests(two, timedelta(0))
    assert changed_days(a, b) == ["2026-01-06"]
    assert changed_days(b, a) == ["2026-01-06"] and changed_days(a, a) == []
    assert changed_days(a, {}) == ["2026-01-05", "2026-01-06"]
    assert interval_day_digests(_frame(h2, h1), timedelta(0)) == b  # the order of the file does not matter
    other_entity = _frame(("2026-01-05 00:02:00", "2026-01-06 10:00:00", "h9"))
    assert changed_days(a, interval_day_digests(other_entity, timedelta(0))) == ["2026-01-05", "2026-01-06"]


def test_window_span_by_kind() -> None:
    assert window_span(dataset_config(window={"size": "10m"})) == timedelta(minutes=10)
    sensor = dataset_config(kind="sensor_timeseries", series={"freq": "1s", "window": 30})
    assert window_span(sensor) == timedelta(seconds=30)


def _file(tmp_path: Path, age_s: float) -> Path:
    path = tmp_path / "w.json"
    path.write_text("[]")
    stamp = 1_000_000.0 - age_s
    os.utime(path, (stamp, stamp))
    return path


def _plan(path: Path, previous: LabelFileState | None, frame: pl.DataFrame | Exception, written: dict[str, float]):
    def read(_: Path) -> pl.DataFrame:
        if isinstance(frame, Exception):
            raise frame
        return frame

    return plan_relabel(
        path, previous, read=read, lead=timedelta(0), is_partition=lambda d: "2026-01-01" <= d <= "2026-01-31",
        written_at=lambda days: {d: written[d] for d in days if d in written}, settle_s=30.0, now=1_000_000.0,
    )  # fmt: skip


V1 = _frame(("2026-01-05 10:00:00", "2026-01-05 11:00:00", None), ("2026-01-07 10:00:00", "2026-01-07 11:00:00", None))
V2 = _frame(("2026-01-05 10:00:00", "2026-01-05 11:00:00", None), ("2026-01-08 10:00:00", "2026-01-08 11:00:00", None))


def test_first_evaluation_takes_the_days_of_the_intervals_older_than_the_file(tmp_path: Path) -> None:
    path = _file(tmp_path, age_s=100)  # modified at 999,900
    plan = _plan(path, None, V1, {"2026-01-05": 999_000.0, "2026-01-07": 999_950.0})
    assert plan.days == ["2026-01-05"] and plan.current == ["2026-01-07"] and plan.not_processed == []
    assert plan.state is not None and sorted(plan.state.days or {}) == ["2026-01-05", "2026-01-07"]
    assert decode_state(encode_state(plan.state)) == plan.state


def test_later_evaluations_take_the_changed_days_only(tmp_path: Path) -> None:
    path = _file(tmp_path, age_s=100)
    known = LabelFileState(1, 1, interval_day_digests(V1, timedelta(0)))
    plan = _plan(path, known, V2, {"2026-01-05": 0.0, "2026-01-07": 0.0})
    assert plan.days == ["2026-01-07"]  # the interval moved away: its old day is relabelled (to normal)
    assert plan.not_processed == ["2026-01-08"]  # never processed: labelled when it is
    assert "not processed yet" in plan.summary()


def test_settling_unchanged_unreadable_and_outside(tmp_path: Path) -> None:
    settling = _file(tmp_path, age_s=10)
    plan = _plan(settling, None, V1, {})
    assert plan.state is None and plan.summary() == "waiting for w.json to settle"
    path = _file(tmp_path, age_s=100)
    st = path.stat()
    same = LabelFileState(st.st_size, st.st_mtime_ns, {})
    assert _plan(path, same, V2, {}).summary() == "label_windows file unchanged"
    known = LabelFileState(1, 1, interval_day_digests(V1, timedelta(0)))
    broken = _plan(path, known, ValueError("w.json: [0]: not a time: None\nmore"), {})
    assert broken.days == [] and broken.summary() == "unreadable: w.json: [0]: not a time: None"
    assert broken.state is not None and broken.state.days == known.days and broken.state.error is not None
    late = _frame(("2026-03-01 10:00:00", "2026-03-01 11:00:00", None))
    outside = _plan(path, LabelFileState(1, 1, {}), late, {})
    assert outside.days == [] and outside.outside == 1 and "outside the partitions" in outside.summary()
    gone = _plan(tmp_path / "gone.json", None, V1, {})
    assert gone.days == [] and gone.summary().startswith("label_windows file not found")
