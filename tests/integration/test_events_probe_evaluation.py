"""Events datasets through the training assets: a retrain whose test period lost its labels reports (and logs)
only its own plots and the flagged counts; a first one-day features run fits the encoders on that day, and the
backfill refits them and says which partitions to re-materialize."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from vigia.events.synth import generate_api_events, to_records, write_ndjson

pytestmark = pytest.mark.slow

DAYS = ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"]


def _write(exports: Path, day: str, seed: int, labelled: bool) -> None:
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    records = to_records(generate_api_events(start, 600, seed=seed, attack_fraction=0.05))
    if not labelled:
        for rec in records:
            rec.pop("label", None)
            rec.pop("attack_type", None)
    path = exports / f"{day}.ndjson"
    write_ndjson(records, path)
    os.utime(path)


def test_unlabelled_retrain_reports_its_own_plots_and_encoders_refit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exports = tmp_path / "exports"
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "evs.yaml").write_text(f"""\
name: evs
kind: api_events
source: {{type: event_files, path: {exports}}}
sql_models: events
partitions: {{start: "2026-01-05", end: "2026-01-09"}}
detectors:
  - {{name: iforest, type: isolation_forest, params: {{n_estimators: 30}}}}
alerts: {{top_n: 5, evidence_records: 1}}
seed: 3
""")
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    for i, day in enumerate(DAYS):
        _write(exports, day, i, labelled=True)
    reports = tmp_path / "data" / "reports" / "evs"
    defs = build_definitions()

    with dg.instance_for_test() as instance:

        def run(job: str, names: list[str], days: list[str] | None = None) -> None:
            keys = [dg.AssetKey(["evs", n]) for n in names]
            tags = {} if days is None else {
                "dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]
            }  # fmt: skip
            result = defs.resolve_job_def(f"evs_{job}").execute_in_process(
                instance=instance, asset_selection=keys, tags=tags
            )
            assert result.success

        def metadata(asset: str) -> dict:
            event = instance.get_latest_materialization_event(dg.AssetKey(["evs", asset]))
            return {k: v.value for k, v in event.asset_materialization.metadata.items()}

        ingest = ["raw_events", "stg_events", "window_features"]
        run("daily", ingest, DAYS[:1])  # a first one-day run: the encoders are fitted on that day only
        assert metadata("window_features")["encoders"]["fitted_days"] == DAYS[:1]
        run("daily", ingest, DAYS[1:])  # the backfill: refitted on the three training days, and said so
        encoders = metadata("window_features")["encoders"]
        assert encoders["refitted"] and encoders["fitted_days"] == DAYS[:3]
        assert encoders["rematerialize_days"] == DAYS[:1] and "re-materialized" in encoders["note"]
        run("daily", ingest, DAYS)
        assert not metadata("window_features")["encoders"]["fitted_now"]

        run("train", ["detectors", "thresholds", "evaluation"])
        assert "roc.png" in (reports / "evaluation.md").read_text()
        assert "classification_report" in metadata("evaluation")

        # labels lag behind: the newest two days are re-exported without labels, re-ingested, retrained
        _write(exports, DAYS[2], 2, labelled=False)
        _write(exports, DAYS[3], 3, labelled=False)
        run("daily", ingest, DAYS[2:])
        run("train", ["detectors", "thresholds", "evaluation"])

    report = json.loads((reports / "evaluation.json").read_text())
    assert "roc_auc" not in report["metrics"]["iforest"]
    assert list(report["plots"]) == ["Score distributions"]
    md = (reports / "evaluation.md").read_text()
    assert "roc.png" not in md and "pr.png" not in md
    assert not (reports / "roc.png").exists() and not (reports / "pr.png").exists()
    flagged = report["metrics"]["iforest"]["n_flagged"]
    assert f"| {flagged} |" in next(line for line in md.splitlines() if line.startswith("| iforest |"))
    from vigia.pipeline.champion import _evaluation_plots

    assert set(_evaluation_plots(reports)) == {"score_distributions"}
