"""Drift loop on a real Dagster instance: undrifted day -> skip with the score; drifted day -> one retrain."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.definitions import build_definitions

pytestmark = pytest.mark.slow

DRIFT_DATASET = """\
name: netdrift
kind: network_conn
source:
  type: synthetic_zeek
  params: {rows_per_day: 40000, drift_days: {"2026-01-08": 0.7}}
sql_models: network
partitions: {start: "2026-01-05", end: "2026-01-09"}
detectors:
  - {name: iforest, type: isolation_forest, params: {n_estimators: 50}}
  - {name: ocsvm, type: ocsvm, params: {nu: 0.02}}
consensus: {k: 1}
seed: 11
"""
PRE_MODEL = ["raw_conn", "stg_conn", "window_features"]
POST_MODEL = ["window_scores", "alerts", "drift_report"]


@pytest.fixture
def drift_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    (datasets / "netdrift.yaml").write_text(DRIFT_DATASET)
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(datasets))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _run(defs: dg.Definitions, instance: dg.DagsterInstance, job: str, names: list[str], **kwargs: object) -> None:
    keys = [dg.AssetKey(["netdrift", n]) for n in names]
    assert defs.resolve_job_def(job).execute_in_process(instance=instance, asset_selection=keys, **kwargs).success


def _range(start: str, end: str) -> dict[str, dict[str, str]]:
    return {"tags": {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}}


def test_drift_sensor_skips_then_requests_exactly_one_retrain(drift_env: Path) -> None:
    defs = build_definitions()
    sensor = defs.resolve_sensor_def("netdrift_drift_sensor")
    with dg.instance_for_test() as instance:
        _run(defs, instance, "netdrift_daily", PRE_MODEL, **_range("2026-01-05", "2026-01-07"))
        _run(defs, instance, "netdrift_train", ["detectors", "thresholds", "evaluation", "champion"])
        _run(defs, instance, "netdrift_daily", POST_MODEL, partition_key="2026-01-07")

        ctx = dg.build_sensor_context(instance=instance, definitions=defs)
        skip = sensor(ctx)
        assert isinstance(skip, dg.SkipReason)
        assert "below threshold" in skip.skip_message and "2026-01-07" in skip.skip_message
        cursor = ctx.cursor
        undrifted = instance.get_latest_materialization_event(dg.AssetKey(["netdrift", "drift_report"]))
        assert undrifted.asset_materialization.metadata["drift_score"].value <= 0.15

        # A drifted day lands (shifted traffic mix) and is scored.
        _run(defs, instance, "netdrift_daily", PRE_MODEL + POST_MODEL, partition_key="2026-01-08")
        event = instance.get_latest_materialization_event(dg.AssetKey(["netdrift", "drift_report"]))
        assert event.asset_materialization.metadata["drift_score"].value > 0.15

        ctx = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
        result = sensor(ctx)
        assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1
        request = result.run_requests[0]
        assert request.partition_key == "2026-01-08" and request.run_key == "netdrift-drift-retrain-2026-01-08"
        # Evaluated again from the same cursor: the same run key (the instance never launches it twice).
        again = sensor(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))
        assert [r.run_key for r in again.run_requests] == [request.run_key]
        # Evaluated with the advanced cursor: nothing new, no request.
        after = sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor, definitions=defs))
        assert isinstance(after, dg.SkipReason)

        # The requested retraining run succeeds and re-scores the drifted day with the (new) champion.
        retrain = defs.resolve_job_def("netdrift_retrain").execute_in_process(
            instance=instance, partition_key=request.partition_key, tags=request.tags
        )
        assert retrain.success
        champion = instance.get_latest_materialization_event(dg.AssetKey(["netdrift", "champion"]))
        assert champion.run_id == retrain.run_id
        assert "reason" in champion.asset_materialization.metadata

        # The day reported again after the retrain is still drifted (a model's training period never holds the
        # newest day), but it does not retrain again: before, each new report of it started another retrain.
        _run(defs, instance, "netdrift_daily", ["drift_report"], partition_key="2026-01-08")
        again = sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor, definitions=defs))
        assert isinstance(again, dg.SkipReason) and "2026-01-08: drifted" in again.skip_message
        # Turned on afresh over past reports, only the newest counts, with every day of its run: a two-day run
        # (07 below, 08 above) requests one retrain for 08, although its headline score is the newest day's.
        _run(defs, instance, "netdrift_daily", ["drift_report"], **_range("2026-01-07", "2026-01-08"))
        fresh = sensor(dg.build_sensor_context(instance=instance, definitions=defs))
        assert [r.run_key for r in fresh.run_requests] == ["netdrift-drift-retrain-2026-01-08"]
        assert "2026-01-08" in fresh.cursor  # the cursor remembers the retrained day

    con = duckdb.connect(str(drift_env / "warehouse.duckdb"), read_only=True)
    history = dict(con.sql("SELECT strftime(day, '%Y-%m-%d'), drift_score FROM netdrift.drift_history").fetchall())
    con.close()
    assert history["2026-01-07"] <= 0.15 < history["2026-01-08"]
    assert (drift_env / "reports" / "netdrift" / "drift" / "drift_2026-01-08.html").exists()
