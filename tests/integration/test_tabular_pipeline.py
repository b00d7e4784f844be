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

from tests.tabular_support import check_evaluations, customers_dataset, latest_metadata
from vigia.tabular.synth import generate_customers

pytestmark = pytest.mark.slow

def test_tabular_batch_scoring_and_drift_retraining(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    params = "{extracts: 3, rows_per_extract: 1500, batch_rows: 1500}"
    defs = customers_dataset(tmp_path, monkeypatch, "custtest", params, seed=4)
    sensor = defs.resolve_sensor_def("custtest_drift_sensor")

    def meta(instance: dg.DagsterInstance, name: str) -> dict:
        return latest_metadata(instance, "custtest", name)

    with dg.instance_for_test() as instance:
        trained = defs.resolve_job_def("custtest_train").execute_in_process(instance=instance)
        assert trained.success
        assert {k: e.passed for k, e in check_evaluations(trained).items()} == {
            ("training", "read_equals_accepted_plus_rejected"): True,
            ("inference_batch", "read_equals_accepted_plus_rejected"): True,
            ("model", "better_than_chance"): True,
            ("drift_report", "drift_within_threshold"): True,
        }
        model = meta(instance, "model")
        assert model["promoted"] is True and model["test_roc_auc"] > 0.6
        first_version = model["version"]
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
        assert isinstance(skip, dg.SkipReason) and "batch_001.csv: 0.000 <= 0.15" in skip.skip_message

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
        assert drift_before["batch_fingerprint"] == meta(instance, "inference_batch")["extracts_fingerprint"]
        result = sensor(dg.build_sensor_context(instance=instance, cursor=skip_cursor(instance), definitions=defs))
        assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1
        assert result.run_requests[0].partition_key is None
        assert result.run_requests[0].run_key == f"custtest-drift-retrain-{drift_before['batch_fingerprint']}"
        retrain = defs.resolve_job_def("custtest_retrain").execute_in_process(instance=instance)
        assert retrain.success
        # Retraining learned from the training extracts plus the 1,000 labelled batch rows, and the new
        # champion's population (the drift reference) includes them.
        assert meta(instance, "model")["trained_on_batch_labels"] == 1000
        # The retraining run checked the batch's drift again, against the champion's population: with the 1,000
        # labelled rows if the retrained model was promoted, else the previous champion's.
        promoted = meta(instance, "model")["promoted"]
        drift_after = meta(instance, "drift_report")
        assert instance.get_latest_materialization_event(keys[-1]).run_id == retrain.run_id
        assert drift_after["reference_rows"] == drift_before["reference_rows"] + (1000 if promoted else 0)
        champion = meta(instance, "model")["champion_version"]
        assert drift_after["drift_reference"] == f"model {champion}"
        # Drifted or not against the new champion, the same batch never requests a second retraining.
        again = sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor, definitions=defs))
        assert isinstance(again, dg.SkipReason), again
        assert ("already retrained" if drift_after["drift_score"] > 0.15 else "<= 0.15") in again.skip_message

    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    log = con.sql("SELECT batch, model_version, rows, rows_rejected, labelled_rows, flagged, expected_value, "
                  "scored_at FROM custtest.inference_log ORDER BY scored_at").fetchall()  # fmt: skip
    con.close()
    assert [row[0] for row in log] == ["batch_001.csv", "batch_002.csv", "batch_002.csv"]
    assert [row[2:5] for row in log] == [(1500, 0, 0), (1500, 0, 1000), (1500, 0, 1000)]
    assert log[0][1] == log[1][1] == first_version and log[2][1] == champion
    assert all(0 < row[5] < 1500 and row[6] is not None for row in log) and log[0][7] < log[1][7] < log[2][7]
    _check_mlflow(tmp_path, promoted)


def _check_mlflow(tmp_path: Path, promoted: bool) -> None:
    """Real MLflow tracking: one run per training, each a registered version; the champion alias follows the rule
    and its model loads and scores with the logged signature's columns."""
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{(tmp_path / 'data' / 'mlflow.db').resolve()}")
    client = mlflow.MlflowClient()
    versions = sorted(int(v.version) for v in client.search_model_versions("name='vigia-custtest-classifier'"))
    assert versions == [1, 2]
    champion = client.get_model_version_by_alias("vigia-custtest-classifier", "champion")
    assert str(champion.version) == ("2" if promoted else "1")
    run = client.get_run(champion.run_id)
    assert {"roc_auc", "average_precision", "f1", "brier"} <= set(run.data.metrics)
    assert run.data.tags["dataset"] == "custtest"
    assert [a.path for a in client.list_artifacts(champion.run_id, "plots")]
    uri = "models:/vigia-custtest-classifier@champion"
    columns = mlflow.models.get_model_info(uri).signature.inputs.input_names()
    example = generate_customers(5, seed=7).select(columns).to_pandas()
    assert mlflow.sklearn.load_model(uri).predict_proba(example).shape == (5, 2)


def skip_cursor(instance: dg.DagsterInstance) -> str:
    """The cursor the sensor left after its first (skipping) tick: the first drift report's storage id."""
    records = instance.fetch_materializations(dg.AssetKey(["custtest", "drift_report"]), limit=1, ascending=True)
    return json.dumps({"version": 1, "storage_id": records.records[0].storage_id})


def test_synthetic_drifted_batch_without_labels_retrains_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded default's switch ``drifted_batch: true``: drift > 0.15, one retraining run, which re-checks
    the drift (still above: the batch has no labels to learn from), and the same batch requests no second one."""
    params = "{extracts: 3, rows_per_extract: 2200, batch_rows: 1000, drifted_batch: true}"
    defs = customers_dataset(tmp_path, monkeypatch, "custdrift", params, seed=4)
    sensor = defs.resolve_sensor_def("custdrift_drift_sensor")
    drift_key = dg.AssetKey(["custdrift", "drift_report"])

    def drift(instance: dg.DagsterInstance) -> dict:
        return latest_metadata(instance, "custdrift", "drift_report")

    with dg.instance_for_test() as instance:
        trained = defs.resolve_job_def("custdrift_train").execute_in_process(instance=instance)
        warning = check_evaluations(trained)[("drift_report", "drift_within_threshold")]
        assert trained.success and not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
        before = drift(instance)
        assert before["drift_score"] > 0.15 and before["batch_file"].endswith("batch_001.csv")
        first = sensor(dg.build_sensor_context(instance=instance, definitions=defs))
        assert isinstance(first, dg.SensorResult) and len(first.run_requests) == 1
        retrain = defs.resolve_job_def("custdrift_retrain").execute_in_process(instance=instance)
        assert retrain.success
        after = drift(instance)
        assert instance.get_latest_materialization_event(drift_key).run_id == retrain.run_id
        assert after["drift_score"] > 0.15 and after["batch_fingerprint"] == before["batch_fingerprint"]
        again = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor, definitions=defs))
        assert isinstance(again, dg.SkipReason) and "batch_001.csv: drifted" in again.skip_message
        assert "already retrained" in again.skip_message

