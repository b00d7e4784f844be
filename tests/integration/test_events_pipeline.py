"""API events from OpenSearch through the whole graph: the real opensearch-py client against the local
wire-format server of tests/opensearch_fake.py (no OpenSearch can run here), rejects, anomalies export,
the new-index sensor and scoring with a chosen model version."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.definitions import build_definitions
from tests.opensearch_fake import FakeOpenSearch
from vigia.events.synth import generate_api_events, to_records

pytestmark = pytest.mark.slow

DATASET = """\
name: apitest
kind: api_events
source: {type: opensearch, params: {index_template: "events-{day:%Y%m%d}"}}
entity_key: client_ip
sql_models: events
partitions: {start: "2026-01-05", end: "2026-01-08"}
detectors:
  - {name: iforest, type: isolation_forest, params: {n_estimators: 100}}
  - {name: ocsvm, type: ocsvm, params: {nu: 0.01}}
consensus: {k: 1}
alerts: {top_n: 10, evidence_records: 1}
seed: 2
"""
DAYS = ["2026-01-05", "2026-01-06", "2026-01-07"]
RANGE = {"dagster/asset_partition_range_start": DAYS[0], "dagster/asset_partition_range_end": DAYS[-1]}


def _documents() -> dict[str, list[dict]]:
    docs = {}
    for i, day in enumerate(DAYS):
        events = generate_api_events(datetime.fromisoformat(day), 3_000, seed=i, span_hours=24)
        docs[f"events-{day.replace('-', '')}"] = to_records(events)
    docs["events-20260105"].append({"@timestamp": "2026-01-05T12:00:00Z", "client": {"ip": "10.0.0.9"}})  # no path
    return docs


def test_events_from_opensearch_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "apitest.yaml").write_text(DATASET)
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    with FakeOpenSearch(documents=_documents(), username="vigia", password="s3cret-pw") as fake:
        monkeypatch.setenv("VIGIA_OPENSEARCH_URL", fake.url)
        monkeypatch.setenv("VIGIA_OPENSEARCH_USERNAME", "vigia")
        monkeypatch.setenv("VIGIA_OPENSEARCH_PASSWORD", "s3cret-pw")
        defs = build_definitions()

        sensor = defs.resolve_sensor_def("apitest_new_index_sensor")
        with dg.instance_for_test() as instance:
            ctx = dg.build_sensor_context(instance=instance, definitions=defs)
            first = sensor(ctx)
            assert sorted(r.partition_key for r in first.run_requests) == DAYS
            again = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor, definitions=defs))
            assert isinstance(again, dg.SkipReason)

            def run(job: str, names: list[str], **kwargs: object) -> dg.ExecuteInProcessResult:
                keys = [dg.AssetKey(["apitest", n]) for n in names]
                result = defs.resolve_job_def(job).execute_in_process(instance=instance, asset_selection=keys, **kwargs)
                assert result.success
                return result

            run("apitest_daily", ["raw_events", "stg_events", "window_features"], tags=RANGE)
            raw = instance.get_latest_materialization_event(dg.AssetKey(["apitest", "raw_events"]))
            md = raw.asset_materialization.metadata
            assert md["records_read"].value == 9_001 == md["records_accepted"].value + md["records_rejected"].value
            assert md["records_rejected"].value == 1
            run("apitest_train", ["detectors", "thresholds", "evaluation", "champion"])
            run("apitest_daily", ["window_scores", "alerts"], tags=RANGE)
            champion = json.loads((tmp_path / "data" / "models" / "apitest" / "champion.json").read_text())

            # Test mode: score one day with a chosen model version, without retraining.
            config = {"ops": {"apitest__window_scores": {"config": {"model_version": champion["version"]}}}}
            run("apitest_daily", ["window_scores"], partition_key=DAYS[-1], run_config=config)
            scores = instance.get_latest_materialization_event(dg.AssetKey(["apitest", "window_scores"]))
            assert scores.asset_materialization.metadata["model_choice"].value == "chosen by run config"
        assert "s3cret-pw" not in json.dumps(fake.requests)

    reports = tmp_path / "data" / "reports" / "apitest"
    assert not list(reports.glob("*_*_*.json"))  # one export per day, never per run's range of days
    anomalies = []
    for day in DAYS:  # one file per day, holding that day's anomalies only
        day_anomalies = json.loads((reports / f"anomalies_{day}.json").read_text())
        assert all(a["day"].startswith(day) for a in day_anomalies)
        assert all(a["day"].startswith(day) for a in json.loads((reports / f"alerts_{day}.json").read_text()))
        anomalies += day_anomalies
    assert anomalies and "score_iforest" in anomalies[0] and anomalies[0]["evidence"][0]["raw_record"]
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    assert con.sql("SELECT count(*) FROM apitest.anomalies").fetchall()[0][0] == len(anomalies)
    assert con.sql("SELECT count(*) FROM apitest.raw_events_rejects").fetchall()[0][0] == 1
    con.close()
