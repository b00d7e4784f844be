"""Sensors on a real Dagster instance, the cases a probe found: the new-extract sensor must not reuse a run key
already spent (the daemon drops such requests), and the new-index sensor, turned on over days already ingested,
requests only the days not ingested."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from tests.opensearch_fake import FakeOpenSearch
from tests.staging import declare_dataset, range_tags
from vigia.config import load_dataset_configs
from vigia.paths import datasets_dir
from vigia.pipeline.tabular import BATCH_TABLE, EXTRACTS_FINGERPRINT, TRAINING_TABLE, extract_folders
from vigia.tabular.synth import generate_customers

pytestmark = pytest.mark.slow


def _land(path: Path, seed: int, *, target: bool = True) -> None:
    """A small settled extract (modified five minutes ago)."""
    frame = generate_customers(50, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    (frame if target else frame.drop("target")).write_csv(path)
    past = time.time() - 300
    os.utime(path, (past, past))


def _launch(defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest | dg.SkipReason) -> bool:
    """What the daemon does with a request: drop it when its run key was used, else record the run; here the run
    "succeeds" by recording the fingerprints its tables would have read. Returns whether it was launched."""
    assert isinstance(request, dg.RunRequest) and request.job_name is not None, request
    if instance.get_runs(filters=dg.RunsFilter(tags={"dagster/run_key": request.run_key})):
        return False
    instance.create_run_for_job(defs.resolve_job_def(request.job_name), tags={"dagster/run_key": request.run_key})
    cfg = next(c for c in load_dataset_configs(datasets_dir()) if c.name == "extx")
    now = extract_folders(cfg, settle_s=0)
    tables = {TRAINING_TABLE: now.training, BATCH_TABLE: now.batch} if request.job_name == "extx_train" else {
        BATCH_TABLE: now.batch}  # fmt: skip
    for table, fingerprint in tables.items():
        instance.report_runless_asset_event(
            dg.AssetMaterialization(dg.AssetKey(["extx", table]), metadata={EXTRACTS_FINGERPRINT: fingerprint})
        )
    return True


def test_extract_folders_back_in_an_earlier_state_are_processed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extracts = tmp_path / "extracts"
    declare_dataset(tmp_path, monkeypatch, "extx", (
        f'name: extx\nkind: tabular_supervised\nsource: {{type: tabular_files, path: "{extracts}"}}\n'
        'entity_key: customer_id\nlabel_column: target\nvalue_matrix: "tp=0,fp=100,fn=500,tn=100"\nseed: 3\n'
    ))
    defs = build_definitions()
    sensor = defs.resolve_sensor_def("extx_new_extract_sensor")
    with dg.instance_for_test() as instance:
        def tick() -> dg.RunRequest | dg.SkipReason:
            return sensor(dg.build_sensor_context(instance=instance, definitions=defs))

        for i in range(2):
            _land(extracts / "training" / f"p{i + 1}.csv", seed=i)
        _land(extracts / "inference" / "batch_001.csv", seed=50, target=False)
        assert _launch(defs, instance, tick())  # trained on p1, p2
        _land(extracts / "training" / "p3_bad.csv", seed=99)
        assert _launch(defs, instance, tick())  # trained on the bad extract too
        (extracts / "training" / "p3_bad.csv").unlink()
        removal = tick()
        assert isinstance(removal, dg.RunRequest) and removal.job_name == "extx_train"
        assert _launch(defs, instance, removal), "the removal's request reuses a spent run key"
        assert isinstance(tick(), dg.SkipReason)

        # The newest batch removed: the batch before it is newest again and is scored again.
        _land(extracts / "inference" / "batch_002.csv", seed=51, target=False)
        assert _launch(defs, instance, tick())
        _land(extracts / "inference" / "batch_003.csv", seed=52, target=False)
        assert _launch(defs, instance, tick())
        (extracts / "inference" / "batch_003.csv").unlink()
        rescore = tick()
        assert isinstance(rescore, dg.RunRequest) and rescore.job_name == "extx_score"
        assert rescore.tags["vigia/batch_file"] == "batch_002.csv"
        assert _launch(defs, instance, rescore), "the rescoring request reuses a spent run key"
        assert isinstance(tick(), dg.SkipReason)


def test_index_sensor_turned_on_over_ingested_days_requests_only_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare_dataset(tmp_path, monkeypatch, "osx", (
        'name: osx\nkind: api_events\nsource: {type: opensearch, params: {index_template: "events-{day:%Y%m%d}"}}\n'
        'sql_models: events\npartitions: {start: "2026-01-05", end: "2026-01-09"}\n'
        "detectors: [{name: iforest, type: isolation_forest}]\n"
    ))
    days = ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"]
    with FakeOpenSearch({f"events-{d.replace('-', '')}": 3 for d in days}) as fake:
        monkeypatch.setenv("VIGIA_OPENSEARCH_URL", fake.url)
        defs = build_definitions()
        sensor = defs.resolve_sensor_def("osx_new_index_sensor")
        with dg.instance_for_test() as instance:
            raw = [dg.AssetKey(["osx", "raw_events"])]
            ingest = defs.resolve_job_def("osx_daily").execute_in_process(  # the schedule's runs, ingest only
                instance=instance, tags=range_tags(days[0], days[2]), asset_selection=raw
            )
            assert ingest.success
            context = dg.build_sensor_context(instance=instance, definitions=defs)
            first = sensor(context)
            assert isinstance(first, dg.SensorResult)
            assert [r.partition_key for r in first.run_requests or []] == [days[3]]
            assert first.cursor is not None
            again = sensor(dg.build_sensor_context(instance=instance, definitions=defs, cursor=first.cursor))
            assert isinstance(again, dg.SkipReason)
