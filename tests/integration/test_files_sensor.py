"""The new-files sensor of a Zeek-file dataset on a real Dagster instance: logs that land or change start the
daily job for their days, once, after they settle; days already ingested after their files changed are not
requested again (turning the sensor on over a processed archive)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.sensor_definition import SensorExecutionData

from orchestration.definitions import build_definitions
from tests.staging import declare_dataset, land_conn_log, zeek_files_dataset

pytestmark = pytest.mark.slow


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> SensorExecutionData:
    """One evaluation, as the daemon makes it (run requests resolved against the job)."""
    sensor = defs.resolve_sensor_def("arr_new_files_sensor")
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs, cursor=cursor))


def _ranges(tick: SensorExecutionData) -> list[tuple[str, str]]:
    return [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in tick.run_requests or []
    ]


def _ingest(defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest) -> list[str]:
    """Run the requested days' ingest (the first stage of the daily job: no model is trained here);
    returns the partitions of ``raw_conn`` it materialized."""
    job = defs.resolve_job_def("arr_daily")
    keys = [dg.AssetKey(["arr", "raw_conn"]), dg.AssetKey(["arr", "stg_conn"])]
    result = job.execute_in_process(instance=instance, tags=request.tags, asset_selection=keys)
    assert result.success
    return sorted(
        e.partition for e in result.get_asset_materialization_events() if e.asset_key == keys[0] and e.partition
    )


def test_files_that_land_start_their_days_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    logs = tmp_path / "logs"
    declare_dataset(tmp_path, monkeypatch, "arr", zeek_files_dataset("arr", logs, "2026-01-05", "2026-01-12"))
    defs = build_definitions()
    assert defs.resolve_sensor_def("arr_new_files_sensor").default_status == dg.DefaultSensorStatus.STOPPED
    with dg.instance_for_test() as instance:
        skip = _tick(defs, instance, None)
        assert not skip.run_requests and "does not exist" in (skip.skip_message or "")

        land_conn_log(logs / "conn.2026-01-05.log", [5, 6], age_s=300)  # one capture over two days
        first = _tick(defs, instance, None)
        assert _ranges(first) == [("2026-01-05", "2026-01-06")]
        request = first.run_requests[0]
        assert request.tags["vigia/trigger"] == "new_files" and request.tags["vigia/files"] == "conn.2026-01-05.log"
        assert _ingest(defs, instance, request) == ["2026-01-05", "2026-01-06"]
        unchanged = _tick(defs, instance, first.cursor)
        assert not unchanged.run_requests and unchanged.skip_message == "no new or changed files"

        # The next day's log is still being copied in: wait; once it has settled, its day alone.
        land_conn_log(logs / "conn.2026-01-08.log", [8], age_s=0, seed=10)
        waiting = _tick(defs, instance, unchanged.cursor)
        assert not waiting.run_requests and "conn.2026-01-08.log to settle" in (waiting.skip_message or "")
        os.utime(logs / "conn.2026-01-08.log", (time.time() - 120, time.time() - 120))
        second = _tick(defs, instance, waiting.cursor)
        assert _ranges(second) == [("2026-01-08", "2026-01-08")]
        assert _ingest(defs, instance, second.run_requests[0]) == ["2026-01-08"]
        eighth = instance.get_latest_materialization_event(dg.AssetKey(["arr", "raw_conn"]))
        assert eighth.asset_materialization.metadata["ingest_method"].value == "direct"  # one clean file, its day

        # Turned on afresh (no cursor) over the processed archive: every file is read, nothing is requested.
        fresh = _tick(defs, instance, None)
        assert not fresh.run_requests
        assert "already ingested after the files changed: 2026-01-05..2026-01-08 (3 days)" in (fresh.skip_message or "")

        # A late log for the 6th arrives after that day was ingested: the 6th again, with a new run key.
        land_conn_log(logs / "late" / "conn.late.log", [6], age_s=60, seed=20)
        late = _tick(defs, instance, second.cursor)
        assert _ranges(late) == [("2026-01-06", "2026-01-06")]
        assert late.run_requests[0].run_key not in {r.run_key for r in first.run_requests}
        assert _ingest(defs, instance, late.run_requests[0]) == ["2026-01-06"]
        raw = instance.get_latest_materialization_event(dg.AssetKey(["arr", "raw_conn"]))
        read = [Path(f["path"]).name for f in raw.asset_materialization.metadata["files"].value]
        assert read == ["conn.2026-01-05.log", "conn.late.log"]  # the manifest: the 8th's file is not read
        assert raw.asset_materialization.metadata["files_unchanged_not_read"].value == 1
        assert raw.asset_materialization.metadata["ingest_method"].value == "staged"  # the 5th's rows: not requested
        after = _tick(defs, instance, late.cursor)
        assert not after.run_requests and after.skip_message == "no new or changed files"
