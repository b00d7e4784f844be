"""The label_windows sensor on a real Dagster instance: when the interval file changes, the days whose labels
changed get their features rebuilt and the detectors are retrained, in one run of the retrain job."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.definitions.sensor_definition import SensorExecutionData

from orchestration.definitions import build_definitions
from tests.integration.test_sensor_pipeline import SKAB_LIKE, _write_rig_file
from tests.staging import declare_dataset, range_tags, run_stages

pytestmark = pytest.mark.slow

SENSOR = "rig_label_windows_sensor"


def _intervals(path: Path, valve2_start: str, valve2_end: str, *, age_s: float) -> None:
    path.write_text(json.dumps({
        "valve1/0.csv": [["2020-03-09 10:13:20", "2020-03-09 10:15:49"]],
        "valve2/0.csv": [[valve2_start, valve2_end]],
    }))  # fmt: skip
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> SensorExecutionData:
    sensor = defs.resolve_sensor_def(SENSOR)
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs, cursor=cursor))


def _ranges(tick: SensorExecutionData) -> list[tuple[str, str]]:
    tags = [r.tags for r in tick.run_requests or []]
    return [(t["dagster/asset_partition_range_start"], t["dagster/asset_partition_range_end"]) for t in tags]


def _positives(data: Path) -> dict[tuple[str, str], int]:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.sql("SELECT station, strftime(day, '%Y-%m-%d'), sum(label) FROM rig.window_features GROUP BY ALL")
        return {(s, d): int(n) for s, d, n in rows.fetchall()}
    finally:
        con.close()


def test_a_changed_interval_relabels_its_day_and_retrains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("orchestration.sensors.EXTRACT_SETTLE_S", 0.0)  # file times are set by hand below
    source, labels = tmp_path / "rig", tmp_path / "windows.json"
    _write_rig_file(source / "valve1" / "0.csv", "2020-03-09T10:00:00", seed=1)
    _write_rig_file(source / "valve2" / "0.csv", "2020-03-10T12:00:00", seed=2)  # rows 800..949: 12:13:20..
    _intervals(labels, "2020-03-10 12:13:20", "2020-03-10 12:15:49", age_s=600)
    config = SKAB_LIKE.format(path=source).replace('end: "2020-03-10"', 'end: "2020-03-12"')
    config = config.replace("label_column: anomaly", f'label_column: null\nlabel_windows: "{labels}"')
    data = declare_dataset(tmp_path, monkeypatch, "rig", config)
    defs = build_definitions()
    assert defs.resolve_sensor_def(SENSOR).default_status == dg.DefaultSensorStatus.STOPPED
    with dg.instance_for_test() as instance:
        run_stages(instance, "rig", [
            ("rig_daily", ["raw_sensor", "stg_sensor", "window_features"], range_tags("2020-03-09", "2020-03-10")),
            ("rig_train", ["detectors", "thresholds", "evaluation", "champion"], None),
        ])  # fmt: skip
        before = _positives(data)
        assert before[("valve2/0", "2020-03-10")] > 0

        # Turned on over processed days whose features are newer than the file: nothing to do.
        first = _tick(defs, instance, None)
        assert not first.run_requests and "features already newer than the file: 2020-03-09..2020-03-10" in (
            first.skip_message or ""
        )
        assert _tick(defs, instance, first.cursor).skip_message == "label_windows file unchanged"

        # The valve2 incident is corrected to start 100 s later: only its day is relabelled, then retrained.
        _intervals(labels, "2020-03-10 12:15:00", "2020-03-10 12:15:49", age_s=0)
        changed = _tick(defs, instance, first.cursor)
        assert len(changed.run_requests) == 1
        request = changed.run_requests[0]
        assert _ranges(changed) == [("2020-03-10", "2020-03-10")]
        assert request.job_name in (None, "rig_retrain") and request.tags["vigia/trigger"] == "label_windows"
        assert sorted(k.path[-1] for k in request.asset_selection) == sorted(
            ["window_features", "detectors", "thresholds", "evaluation", "champion"]
        )
        assert _tick(defs, instance, first.cursor).run_requests[0].run_key == request.run_key  # one run per state
        trained = instance.get_latest_materialization_event(dg.AssetKey(["rig", "evaluation"])).timestamp
        result = defs.resolve_job_def("rig_retrain").execute_in_process(
            instance=instance, tags=request.tags, asset_selection=list(request.asset_selection)
        )
        assert result.success
        after = _positives(data)
        assert after[("valve1/0", "2020-03-09")] == before[("valve1/0", "2020-03-09")]
        assert 0 < after[("valve2/0", "2020-03-10")] < before[("valve2/0", "2020-03-10")]
        assert instance.get_latest_materialization_event(dg.AssetKey(["rig", "evaluation"])).timestamp > trained
        assert _tick(defs, instance, changed.cursor).skip_message == "label_windows file unchanged"

        # A broken edit is reported and waits; the fix is compared with the last good intervals.
        labels.write_text('{"valve2/0.csv": [["2020-03-10 12:15:00"')
        broken = _tick(defs, instance, changed.cursor)
        assert not broken.run_requests and (broken.skip_message or "").startswith("unreadable: ")
        _intervals(labels, "2020-03-10 12:15:00", "2020-03-10 12:15:49", age_s=0)  # back to the applied version
        fixed = _tick(defs, instance, broken.cursor)
        assert not fixed.run_requests and fixed.skip_message == "no labelled day changed"

        # Turned on afresh after the file changed: every day of its intervals whose features are older.
        os.utime(labels)
        fresh = _tick(defs, instance, None)
        assert _ranges(fresh) == [("2020-03-09", "2020-03-10")]
