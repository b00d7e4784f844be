"""Materialize the whole graph of a small synthetic dataset in a real (test) Dagster instance."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.definitions import build_definitions

pytestmark = pytest.mark.slow

RANGE_TAGS = {"dagster/asset_partition_range_start": "2026-01-05", "dagster/asset_partition_range_end": "2026-01-07"}


def _run(defs: dg.Definitions, instance: dg.DagsterInstance, job: str, names: list[str], partitioned: bool) -> None:
    keys = [dg.AssetKey(["nettest", n]) for n in names]
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance, asset_selection=keys, tags=RANGE_TAGS if partitioned else None
    )
    assert result.success


def test_materialize_whole_graph(isolated_env: Path) -> None:
    defs = build_definitions()
    with dg.instance_for_test() as instance:
        _run(defs, instance, "nettest_daily", ["raw_conn", "stg_conn", "window_features"], True)
        _run(
            defs,
            instance,
            "nettest_train",
            ["conn_daily_summary", "host_profile", "detectors", "thresholds", "evaluation", "champion"],
            False,
        )
        _run(defs, instance, "nettest_daily", ["window_scores", "alerts", "drift_report"], True)

        raw = instance.get_latest_materialization_event(dg.AssetKey(["nettest", "raw_conn"]))
        meta = raw.asset_materialization.metadata
        assert meta["records_read"].value == meta["records_accepted"].value + meta["records_rejected"].value
        feats = instance.get_latest_materialization_event(dg.AssetKey(["nettest", "window_features"]))
        assert feats.asset_materialization.metadata["engine"].value == "duckdb"  # the configuration default
        ev = instance.get_latest_materialization_event(dg.AssetKey(["nettest", "evaluation"]))
        ev_meta = ev.asset_materialization.metadata
        assert "consensus_f1" in ev_meta and "plots" in ev_meta
        checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey(["nettest", "raw_conn"]), "read_equals_accepted_plus_rejected")]
        )
        assert checks

    con = duckdb.connect(str(isolated_env / "warehouse.duckdb"), read_only=True)
    days = {
        r[0] for r in con.execute("SELECT DISTINCT strftime(day, '%Y-%m-%d') FROM nettest.window_scores").fetchall()
    }
    assert days == {"2026-01-05", "2026-01-06", "2026-01-07"}
    uid_storage = con.execute(
        "SELECT DISTINCT compression FROM pragma_storage_info('nettest.raw_conn') "
        "WHERE column_name = 'uid' AND segment_type = 'VARCHAR'"
    ).fetchall()
    assert uid_storage == [("Uncompressed",)]  # RAW_CONN_COMPRESSION: random uids are not analysed
    n_alerts = con.execute("SELECT count(*) FROM nettest.alerts").fetchall()[0][0]
    assert n_alerts > 0
    evidence = json.loads(con.execute("SELECT evidence FROM nettest.alerts LIMIT 1").fetchall()[0][0])
    assert evidence and "uid" in evidence[0]
    con.close()
    report = json.loads((isolated_env / "reports" / "nettest" / "evaluation.json").read_text())
    assert "consensus" in json.dumps(report)
    assert (isolated_env / "reports" / "nettest" / "roc.png").stat().st_size > 1000
