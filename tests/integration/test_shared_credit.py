"""Credit benchmarks on the shared Taiwan and German tables (skipped when shared data are absent)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import shared_path
from vigia.bench.credit import GERMAN_COST_MATRIX, run_credit_benchmark
from vigia.monitoring import dataset_drift
from vigia.tabular.credit_data import load_credit_table, taiwan_batches
from vigia.tabular.model import infer_features, stratified_split

TAIWAN = ("tabular", "taiwan_credit_default", "UCI_Credit_Card.csv")
GERMAN = ("tabular", "german_credit", "german.data")


def test_taiwan_auc_on_fixed_split() -> None:
    result = run_credit_benchmark(shared_path(*TAIWAN), fmt="taiwan", seed=42)
    assert result["n_test"] == 6000
    assert result["roc_auc"] >= 0.78
    # 24,000 train rows, no value matrix: hold-out validation, no tuning (the defaults)
    assert result["protocol"]["tuning"] == "none (defaults)"
    assert all(c["params"] in ({}, {"hgb": {}, "logreg": {}}) for c in result["protocol"]["candidates"])
    assert result["brier"] < 0.15 and result["average_precision"] > 0.5
    auc = result["test_intervals"]["roc_auc"]
    assert auc["estimate"] == result["roc_auc"] and auc["low"] < auc["estimate"] < auc["high"] and auc["n"] == 6000
    assert "cost_per_record" not in result["test_intervals"]  # no value matrix


def test_german_expected_cost_on_fixed_split() -> None:
    result = run_credit_benchmark(shared_path(*GERMAN), fmt="german", value_matrix=GERMAN_COST_MATRIX, seed=42)
    assert result["n_test"] == 200 and result["protocol"]["positive"] == "2"
    # the candidates table holds the train-part cross-validated cost that the selection saw
    candidates = {c["model"]: c for c in result["protocol"]["candidates"]}
    assert set(candidates) == {"hgb", "logreg", "blend"} and candidates[result["model"]]["chosen"]
    assert candidates[result["model"]]["cv_cost_per_record"] == min(
        c["cv_cost_per_record"] for c in candidates.values()
    )
    # Target was <= 0.50 per applicant; measured 0.600 (hgb + logreg blend at the Bayes threshold, chosen by
    # cross-validated cost on the training part; the earlier, optimistic selection gave 0.565). With
    # --tune (docs/benchmarks.md) the grids kept the defaults: no point beat them by more than one SE.
    # Regression guard: cost-blind "accept everyone" costs 5 * 0.3 = 1.5, "refuse everyone" 0.7.
    assert result["cost_per_record"] <= 0.62
    # how far the figure can move with the 200 test applicants (stratified bootstrap, model fixed)
    cost = result["test_intervals"]["cost_per_record"]
    assert cost["estimate"] == result["cost_per_record"] and cost["low"] < cost["estimate"] < cost["high"]
    assert 0.03 < cost["standard_error"] < 0.12 and cost["n"] == 200


@pytest.mark.parametrize(
    ("kind", "expect_drift"), [("age_under_30", True), ("top_limit_quartile", True), ("random", False)]
)
def test_taiwan_batches_drift(kind: str, expect_drift: bool) -> None:
    table = load_credit_table(shared_path(*TAIWAN), fmt="taiwan")
    train, test = stratified_split(table.frame, table.target, seed=42)
    spec = infer_features(train, table.target, categorical=table.categorical)
    batch = taiwan_batches(test, kind, seed=3, size=2000)
    report = dataset_drift(train, batch, features=spec.columns, categorical=list(spec.categorical))
    if expect_drift:
        assert report.score > 0.15, report.drifted_features
    else:
        assert report.score < 0.15, report.drifted_features


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "expect_retrain"), [("top_limit_quartile", True), ("random", False)])
def test_taiwan_batch_through_the_pipeline_triggers_retraining_only_when_drifted(
    kind: str, expect_retrain: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Taiwan extracts as a `tabular_files` dataset, the batch with its outcomes: the drift sensor requests one
    retraining for a batch selected to differ, which learns from the batch's labelled rows and is not requested
    again; none for a random batch."""
    import dagster as dg

    from orchestration.definitions import build_definitions

    table = load_credit_table(shared_path(*TAIWAN), fmt="taiwan")
    train, test = stratified_split(table.frame, table.target, seed=42)
    root = tmp_path / "extracts"
    (root / "training").mkdir(parents=True)
    (root / "inference").mkdir()
    train = train.with_row_index("ID").with_columns(pl.col("ID").cast(pl.String))
    parts = train.with_columns((pl.col("ID").cast(pl.Int64) % 4).alias("_i")).partition_by("_i", include_key=False)
    for i, part in enumerate(parts):
        part.write_csv(root / "training" / f"p{i + 1}.csv")
    batch = taiwan_batches(test, kind, seed=3, size=2000)
    batch.with_row_index("ID", offset=100_000).with_columns(pl.col("ID").cast(pl.String)).write_csv(
        root / "inference" / "batch.csv"
    )
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "taiwan.yaml").write_text(
        f"name: taiwan\nkind: tabular_supervised\nsource: {{type: tabular_files, path: '{root}'}}\n"
        f"entity_key: ID\nlabel_column: {table.target}\nseed: 42\n"
    )
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    defs = build_definitions()
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("taiwan_train").execute_in_process(instance=instance).success
        drift = instance.get_latest_materialization_event(dg.AssetKey(["taiwan", "drift_report"]))
        score = drift.asset_materialization.metadata["drift_score"].value
        sensor = defs.resolve_sensor_def("taiwan_drift_sensor")
        result = sensor(dg.build_sensor_context(instance=instance, definitions=defs))
        if not expect_retrain:
            assert score < 0.15 and isinstance(result, dg.SkipReason)
            return
        assert score > 0.15 and isinstance(result, dg.SensorResult) and len(result.run_requests) == 1
        assert defs.resolve_job_def("taiwan_retrain").execute_in_process(instance=instance).success
        model = instance.get_latest_materialization_event(dg.AssetKey(["taiwan", "model"])).asset_materialization
        assert model.metadata["trained_on_batch_labels"].value == batch.height  # every batch row had its outcome
        again = sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor, definitions=defs))
        assert isinstance(again, dg.SkipReason)
