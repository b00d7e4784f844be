"""The supervised tabular kind in a real Dagster instance: extracts -> champion -> scored batch with value,
then a drifted batch: drift > 0.15, the sensor requests exactly one retraining, which succeeds."""

from __future__ import annotations

import json
import time
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from orchestration.definitions import build_definitions
from vigia.tabular.synth import generate_customers

pytestmark = pytest.mark.slow

DATASET = """\
name: custtest
kind: tabular_supervised
source:
  type: synthetic_customers
  params: {extracts: 3, rows_per_extract: 1500, batch_rows: 1500}
entity_key: customer_id
label_column: target
value_matrix: "tp=0,fp=100,fn=500,tn=100"
seed: 4
"""


def test_tabular_batch_scoring_and_drift_retraining(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "custtest.yaml").write_text(DATASET)
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    defs = build_definitions()
    sensor = defs.resolve_sensor_def("custtest_drift_sensor")

    def meta(instance: dg.DagsterInstance, name: str) -> dict:
        event = instance.get_latest_materialization_event(dg.AssetKey(["custtest", name]))
        return {k: v.value for k, v in event.asset_materialization.metadata.items()}

    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("custtest_train").execute_in_process(instance=instance).success
        model = meta(instance, "model")
        assert model["promoted"] is True and model["test_roc_auc"] > 0.6
        # held-out figures come with their bootstrap intervals (metadata, evaluation report, MLflow metrics)
        auc = model["test_intervals"]["roc_auc"]
        assert auc["estimate"] == pytest.approx(model["test_roc_auc"], abs=1e-4) and auc["low"] < auc["estimate"]
        assert auc["high"] > auc["estimate"]
        assert set(model["test_intervals"]) >= {"average_precision", "value_per_record"}
        report = (tmp_path / "data" / "reports" / "custtest" / "evaluation.md").read_text()
        assert f"| roc_auc | {auc['estimate']:.4g} | {auc['low']:.4g} | {auc['high']:.4g} |" in report
        evaluation = json.loads((tmp_path / "data" / "reports" / "custtest" / "evaluation.json").read_text())
        assert evaluation["test_intervals"] == model["test_intervals"]
        assert meta(instance, "predictions")["batch_value"]["n"] == 1500
        assert meta(instance, "drift_report")["drift_score"] <= 0.15
        skip = sensor(dg.build_sensor_context(instance=instance, definitions=defs))
        assert isinstance(skip, dg.SkipReason) and "latest batch" in skip.skip_message

        assert meta(instance, "inference_batch")["labelled_rows"] == 0
        assert meta(instance, "drift_report")["drift_reference"].startswith("model ")
        assert meta(instance, "model")["trained_on_batch_labels"] == 0

        # A new, drifted batch lands (newest file) with the outcomes of 1,000 of its 1,500 customers.
        time.sleep(0.01)
        drifted = generate_customers(1500, seed=99, drifted=True)
        drifted = drifted.with_columns(
            pl.when(pl.int_range(pl.len()) < 1000).then(pl.col("target").cast(pl.String)).otherwise(pl.lit(""))
        )
        drifted.write_csv(tmp_path / "data" / "raw" / "custtest" / "inference" / "batch_002.csv")
        keys = [dg.AssetKey(["custtest", n]) for n in ("inference_batch", "predictions", "drift_report")]
        job = defs.resolve_job_def("custtest_train")
        assert job.execute_in_process(instance=instance, asset_selection=keys).success
        assert meta(instance, "inference_batch")["labelled_rows"] == 1000
        value = meta(instance, "predictions")["batch_value"]
        assert value["n"] == 1500 and value["labelled_rows"] == 1000
        assert value["tp"] + value["fp"] + value["fn"] + value["tn"] == 1000 and "realised_value_total" in value
        drift_before = meta(instance, "drift_report")
        assert drift_before["drift_score"] > 0.15
        result = sensor(dg.build_sensor_context(instance=instance, cursor=skip_cursor(instance), definitions=defs))
        assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1
        assert result.run_requests[0].partition_key is None
        retrain = defs.resolve_job_def("custtest_retrain").execute_in_process(instance=instance)
        assert retrain.success
        # Retraining learned from the training extracts plus the 1,000 labelled batch rows, and the new
        # champion's population (the drift reference) includes them.
        assert meta(instance, "model")["trained_on_batch_labels"] == 1000
        # The next drift check compares with the champion's population: with the 1,000 labelled rows if the
        # retrained model was promoted, else the previous champion's.
        promoted = meta(instance, "model")["promoted"]
        assert job.execute_in_process(instance=instance, asset_selection=[keys[-1]]).success
        drift_after = meta(instance, "drift_report")
        assert drift_after["reference_rows"] == drift_before["reference_rows"] + (1000 if promoted else 0)
        assert drift_after["drift_reference"] == f"model {meta(instance, 'model')['champion_version']}"

    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    log = con.sql("SELECT batch FROM custtest.inference_log ORDER BY scored_at").fetchall()
    con.close()
    assert [row[0] for row in log] == ["batch_001.csv", "batch_002.csv", "batch_002.csv"]


def skip_cursor(instance: dg.DagsterInstance) -> str:
    """The cursor the sensor left after its first (skipping) tick: the first drift report's storage id."""
    records = instance.fetch_materializations(dg.AssetKey(["custtest", "drift_report"]), limit=1, ascending=True)
    return json.dumps({"version": 1, "storage_id": records.records[0].storage_id})
