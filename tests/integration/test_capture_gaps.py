"""A day without records inside a backfilled range (capture gap, sensor down) does not fail the chain."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from tests.staging import chain_stages, declare_dataset, range_tags, run_stages, zeek_files_dataset
from vigia.sources.zeek_synth import generate_conn_day
from vigia.sources.zeek_writers import write_zeek_tsv

pytestmark = pytest.mark.slow



def test_range_with_an_empty_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    data = declare_dataset(tmp_path, monkeypatch, "gaps", zeek_files_dataset("gaps", logs, "2026-01-05", "2026-01-08"))
    days = [generate_conn_day(date(2026, 1, d), 4_000, seed=d) for d in (5, 7)]  # nothing on the 6th
    write_zeek_tsv(pl.concat(days), logs / "conn.log")
    with dg.instance_for_test() as instance:
        run_stages(instance, "gaps", chain_stages("gaps", ["raw_conn", "stg_conn"], "2026-01-05", "2026-01-07"),
                   expected_warnings={"records_on_every_requested_day"})  # fmt: skip
        key = dg.AssetCheckKey(dg.AssetKey(["gaps", "raw_conn"]), "records_on_every_requested_day")
        empty = instance.get_latest_asset_check_evaluation_record(key).evaluation
        assert not empty.passed and empty.metadata["days_without_records"].value == ["2026-01-06"]
        drift = instance.get_latest_materialization_event(dg.AssetKey(["gaps", "drift_report"]))
        meta = drift.asset_materialization.metadata
        assert meta["days_without_windows"].value == ["2026-01-06"]
        assert set(meta["scores_by_day"].value) == {"2026-01-05", "2026-01-07"}
        assert meta["drift_day"].value == "2026-01-07"
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    history = con.sql("SELECT strftime(day, '%Y-%m-%d') FROM gaps.drift_history ORDER BY 1").fetchall()
    assert [d for (d,) in history] == ["2026-01-05", "2026-01-07"]
    con.close()


def test_attack_schedule_labels_an_unlabelled_capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Zeek capture without labels plus a red-team schedule (label_windows CSV): exactly the windows of the
    scheduled host inside the scheduled time are positive, with the schedule's note."""
    logs = tmp_path / "logs"
    logs.mkdir()
    flows = generate_conn_day(date(2026, 1, 5), 6_000, seed=3)
    write_zeek_tsv(flows, logs / "conn.log", labels=False)
    busy = flows.filter(pl.col("ts").dt.hour() == 10)["orig_h"].value_counts(sort=True)["orig_h"][0]
    schedule = tmp_path / "schedule.csv"
    schedule.write_text(f"start,end,entity,note\n2026-01-05T10:02:00,2026-01-05T10:31:00,{busy},red team scan\n")
    yaml_text = zeek_files_dataset("sched", logs, "2026-01-05", "2026-01-06") + f'label_windows: "{schedule}"\n'
    data = declare_dataset(tmp_path, monkeypatch, "sched", yaml_text)
    with dg.instance_for_test() as instance:
        run_stages(instance, "sched", [
            ("sched_daily", ["raw_conn", "stg_conn", "window_features"], range_tags("2026-01-05", "2026-01-05"))
        ])
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    rows = con.sql("SELECT orig_h, hour(window_start) * 60 + minute(window_start), label, attack_type "
                   "FROM sched.window_features").fetchall()  # fmt: skip
    assert con.sql("SELECT count(*) FROM sched.raw_conn WHERE label IS NOT NULL").fetchall() == [(0,)]
    con.close()
    positive = sorted((h, m) for h, m, label, _ in rows if label == 1)
    host_windows = sorted((h, m) for h, m, _, _ in rows if h == busy and 600 <= m < 631)
    assert positive == host_windows and len(positive) >= 3  # 10:00 (overlaps 10:02) .. 10:30 (overlaps ..10:31)
    assert {a for _, _, label, a in rows if label == 1} == {"red team scan"}
    assert all(label == 0 and a is None for _, _, label, a in rows if label != 1)
