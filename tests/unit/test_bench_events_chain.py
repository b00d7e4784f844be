"""bench/events_chain.py end to end on 3,000 events: every stage timed, the counts balanced, the rates positive."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import load_bench_script

EVENTS = 3_000


def test_events_chain_smoke(tmp_path: Path) -> None:
    chain = load_bench_script("events_chain.py")
    out = tmp_path / "events_chain.json"
    data_dir_before = os.environ.get("VIGIA_DATA_DIR")
    argv = ["--events", str(EVENTS), "--repeat", "1", "--workdir", str(tmp_path / "work"), "--json", str(out)]

    assert chain.main(argv) == 0

    assert os.environ.get("VIGIA_DATA_DIR") == data_dir_before  # the run's data folder was only set for the run
    report = json.loads(out.read_text())
    assert report["benchmark"] == "events_chain" and report["counts_ok"] is True
    assert report["events"] == EVENTS
    (run,) = report["runs"]
    assert set(run["stages_s"]) == set(run["stages_cpu_s"]) == {"ingest", "clean", "features", "train", "score"}
    assert all(s > 0 for s in run["stages_s"].values())
    assert run["events_read"] == EVENTS == run["events_accepted"] + run["events_rejected"]
    assert run["events_written"] == EVENTS and sum(run["rows_by_day"].values()) == EVENTS
    assert run["sql_models"]["stg_events"]["rows"] == EVENTS and not run["sql_models"]["stg_events"]["failed"]
    assert run["feature_rows"] == run["scored_rows"] == EVENTS and run["features_non_finite"] == 0
    assert run["detectors"] == ["iforest", "lof", "ocsvm"]  # those of config/datasets/api_events.yaml
    assert report["median_stages_s"] == run["stages_s"]
    assert report["ingest_events_per_s"] > 0 and report["clean_features_score_events_per_s"] > 0
    target = report["targets"]["clean_features_score_events_per_s"]
    assert target["min"] == 50_000 and target["met"] == (target["value"] >= 50_000)
    assert report["breakdown"]["parts_s"]["score"]["detector_lof"] > 0
    assert report["machine"]["cores"] and report["git"]["commit"] and report["versions"]["duckdb"]
    assert not (tmp_path / "work" / "run").exists()  # the run's warehouse and models are removed
