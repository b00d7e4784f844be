"""Assets of the supervised tabular kind: training table, newest inference batch, champion model,
predictions with business value, and the drift of the batch against the training population."""

import json

import dagster as dg

from assets.common import (
    ROWS_ACCOUNTED_CHECK,
    STAGE_TAG,
    WAREHOUSE_POOL,
    DatasetAssetContext,
    metric_metadata,
    png_markdown,
)
from resources import ArtifactStore, DuckDBWarehouse, MlflowTracking
from vigia.pipeline.tabular import (
    BATCH_FINGERPRINT,
    BATCH_TABLE,
    EXTRACTS_FINGERPRINT,
    LOG_TABLE,
    PREDICTIONS_TABLE,
    TRAINING_TABLE,
)
from vigia.pipeline.tabular_checks import (
    CheckOutcome,
    better_than_chance,
    drift_within_threshold,
    rows_accounted,
)
from vigia.tabular.extracts import ExtractsResult

MODEL_ASSET = "model"
DRIFT_ASSET = "drift_report"


def _frame_metadata(result: ExtractsResult) -> dict:
    return {
        "dagster/row_count": dg.MetadataValue.int(result.rows_accepted),
        "extracts": dg.MetadataValue.json(result.summary()),
        EXTRACTS_FINGERPRINT: result.fingerprint,  # compared by the new-extract sensor
    }


def _judged_batch(instance: dg.DagsterInstance, batch_key: dg.AssetKey) -> dict:
    """The batch a drift report judges: the file and fingerprint of the latest ``inference_batch`` (the drift
    sensor retrains once per fingerprint)."""
    event = instance.get_latest_materialization_event(batch_key)
    meta = event.asset_materialization.metadata if event and event.asset_materialization else {}
    sources = {"batch_file": "batch_file", BATCH_FINGERPRINT: EXTRACTS_FINGERPRINT}
    return {key: meta[src].value for key, src in sources.items() if src in meta}


def _check(spec: dg.AssetCheckSpec, outcome: CheckOutcome, warn: bool = False) -> dg.AssetCheckResult:
    severity = dg.AssetCheckSeverity.WARN if warn else dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckResult(check_name=spec.name, passed=outcome.passed, severity=severity,
                               metadata=json.loads(json.dumps(outcome.metadata, default=str)))  # fmt: skip


def build_tabular_assets(dctx: DatasetAssetContext) -> list[dg.AssetsDefinition]:
    cfg = dctx.cfg
    target = cfg.label_column or "target"
    accounting = "rows read = rows accepted + rows rejected (with their reason)"
    accounted = {
        table: dg.AssetCheckSpec(ROWS_ACCOUNTED_CHECK, asset=dctx.key(table), blocking=True, description=accounting)
        for table in (TRAINING_TABLE, BATCH_TABLE)
    }
    chance = dg.AssetCheckSpec(
        "better_than_chance", asset=dctx.key(MODEL_ASSET), blocking=False,
        description="the chosen model's held-out ROC-AUC is above 0.5 and its average precision above the held-out "
        "positive rate (warns: a model no better than a coin, e.g. a target unrelated to the inputs)",
    )  # fmt: skip
    drift_ok = dg.AssetCheckSpec(
        "drift_within_threshold", asset=dctx.key(DRIFT_ASSET), blocking=False,
        description=f"the batch's drift score is at most {cfg.drift.threshold} (warns above it; the drift sensor "
        "then retrains once for the batch)",
    )  # fmt: skip

    @dg.asset(key=dctx.key(TRAINING_TABLE), group_name=dctx.group, pool=WAREHOUSE_POOL, kinds={"duckdb"},
              tags={STAGE_TAG: "ingest"}, check_specs=[accounted[TRAINING_TABLE]],
              description="All training extracts merged into one table (extra columns ignored and reported, "
              "wrong types nulled and counted, rows with a bad target rejected with a reason)."
              + (f"\n\nDataset: {cfg.description.strip()}" if cfg.description.strip() else ""))  # fmt: skip
    def training_table(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
        from vigia.pipeline.ingest import replace_rejects
        from vigia.pipeline.tabular import read_training
        from vigia.warehouse.duck import ensure_schema, preview, replace_table_from_frame

        result = read_training(cfg, context.run.run_id)
        with warehouse.connect() as con:
            ensure_schema(con, cfg.name)
            # The training table is rebuilt from every extract, so its rejects are those of this read only.
            replace_rejects(con, cfg.name, f"{TRAINING_TABLE}_rejects", result.rejects, files=None)
            replace_table_from_frame(con, cfg.name, TRAINING_TABLE, result.frame)
            table_preview = preview(con, cfg.name, TRAINING_TABLE, limit=10)
        return dg.MaterializeResult(
            metadata={**_frame_metadata(result), "preview": dg.MetadataValue.md(table_preview)},
            check_results=[_check(accounted[TRAINING_TABLE], rows_accounted(result))],
        )

    @dg.asset(key=dctx.key(BATCH_TABLE), deps=[dctx.key(TRAINING_TABLE)], group_name=dctx.group,
              pool=WAREHOUSE_POOL, kinds={"duckdb"}, tags={STAGE_TAG: "ingest"}, check_specs=[accounted[BATCH_TABLE]],
              description="The newest inference extract, checked against and typed like the training columns; "
              "outcomes it carries are kept (retraining adds those rows).")  # fmt: skip
    def inference_batch(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
        from vigia.pipeline.ingest import replace_rejects
        from vigia.pipeline.tabular import read_newest_batch
        from vigia.warehouse.duck import read_frame, replace_table_from_frame

        with warehouse.connect() as con:
            training_schema = read_frame(con, cfg.name, TRAINING_TABLE, where="FALSE").schema  # no rows read
            result, path = read_newest_batch(cfg, training_schema, context.run.run_id)
            # Records with the wrong field count; earlier batches' rejects stay, this batch's replace its own.
            replace_rejects(con, cfg.name, f"{BATCH_TABLE}_rejects", result.rejects, files=[path.name])
            replace_table_from_frame(con, cfg.name, BATCH_TABLE, result.frame)
        labels = {"labelled_rows": result.labelled_rows or 0}
        if result.invalid_targets:
            labels["invalid_targets"] = dg.MetadataValue.json(result.invalid_targets)
        return dg.MaterializeResult(
            metadata={**_frame_metadata(result), **labels, "batch_file": str(path)},
            check_results=[_check(accounted[BATCH_TABLE], rows_accounted(result))],
        )

    @dg.asset(key=dctx.key(MODEL_ASSET), deps=[dctx.key(TRAINING_TABLE), dctx.key(BATCH_TABLE)],
              group_name=dctx.group, pool=WAREHOUSE_POOL, kinds={"scikitlearn", "mlflow"}, tags={STAGE_TAG: "train"},
              check_specs=[chance],
              description="Gradient boosting, a logistic baseline and their blend, class-weighted and calibrated. "
              "With a value matrix, the candidate and its decision threshold (the one that maximises value on "
              "validation, or the cost-derived Bayes threshold) are those that realise the most value per record "
              "out of sample; without one, the best validation ROC-AUC and the F1 threshold. Tracked in MLflow; "
              "becomes champion unless its held-out average precision is worse by more than the tolerance. "
              "Retraining adds the newest batch when it carries labels.")  # fmt: skip
    def model(
        context: dg.AssetExecutionContext,
        warehouse: DuckDBWarehouse,
        artifacts: ArtifactStore,
        mlflow_tracking: MlflowTracking,
    ) -> dg.MaterializeResult:
        from vigia.pipeline.tabular_training import train_and_promote
        from vigia.warehouse.duck import read_frame, table_exists

        rejects_table = f"{TRAINING_TABLE}_rejects"
        with warehouse.connect() as con:
            training = read_frame(con, cfg.name, TRAINING_TABLE)
            batch = read_frame(con, cfg.name, BATCH_TABLE)
            rejects = (read_frame(con, cfg.name, rejects_table, order_by="source_file, line_number")
                       if table_exists(con, cfg.name, rejects_table) else None)  # fmt: skip
        tags = {"dataset": cfg.name, "dagster_run_id": context.run.run_id}
        with mlflow_tracking.session(context, cfg.name, tags):
            outcome = train_and_promote(
                training, batch, cfg, artifacts.models_dir(cfg.name), artifacts.reports_dir(cfg.name),
                tags, mlflow_tracking.run_url, context.run.run_id, rejects=rejects,
            )  # fmt: skip
        context.log.info(outcome["decision"]["reason"])
        return dg.MaterializeResult(
            metadata={
                "promoted": outcome["decision"]["promote"],
                "reason": outcome["decision"]["reason"],
                "version": outcome["version"],
                "champion_version": outcome["champion_version"],
                "metrics": dg.MetadataValue.json(outcome["metrics"]),
                **metric_metadata(outcome["metrics"]["chosen"], prefix="test_"),
                "test_intervals": dg.MetadataValue.json(outcome["test_intervals"]),
                "threshold": dg.MetadataValue.json(outcome["threshold"]),
                "mlflow_run_url": dg.MetadataValue.url(outcome["run_url"]),
                "report": dg.MetadataValue.path(outcome["report"]),
                "plots": png_markdown(outcome["plots"]),
                "trained_on_batch_labels": outcome["added_batch_rows"],
                "batch_labels_already_in_training": outcome["skipped_batch_rows"],
                "pruned_versions": dg.MetadataValue.json(outcome["pruned_versions"]),
            },
            check_results=[_check(chance, better_than_chance(outcome["metrics"]["chosen"]), warn=True)],
        )

    @dg.asset(key=dctx.key(PREDICTIONS_TABLE), deps=[dctx.key(MODEL_ASSET), dctx.key(BATCH_TABLE)],
              group_name=dctx.group, pool=WAREHOUSE_POOL, kinds={"duckdb"}, tags={STAGE_TAG: "score"},
              description="The newest batch scored by the champion: probability, decision, expected value per "
              f"record; one row per batch in {cfg.name}.{LOG_TABLE}.")  # fmt: skip
    def predictions(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, artifacts: ArtifactStore
    ) -> dg.MaterializeResult:
        from vigia.pipeline.tabular_training import score_batch
        from vigia.warehouse.duck import preview, read_frame

        with warehouse.connect() as con:
            batch = read_frame(con, cfg.name, BATCH_TABLE)
            result = score_batch(con, batch, cfg, artifacts.models_dir(cfg.name))
            table_preview = preview(con, cfg.name, PREDICTIONS_TABLE, limit=10)
        if result["kind_changes"]:
            context.log.warning(
                f"numeric inputs of model {result['model_version']} are text in the training table now "
                f"{result['kind_changes']}: their non-numbers are scored as missing {result['non_numeric_values']}"
            )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(result["rows"]),
                "flagged": result["flagged"],
                "model_version": result["model_version"],
                "batch_value": dg.MetadataValue.json(result["value"]),
                "unseen_categories": dg.MetadataValue.json(result["unseen_categories"]),
                "kind_changes": dg.MetadataValue.json(result["kind_changes"]),
                "non_numeric_values": dg.MetadataValue.json(result["non_numeric_values"]),
                "preview": dg.MetadataValue.md(table_preview),
            }
        )

    @dg.asset(key=dctx.key(DRIFT_ASSET), deps=[dctx.key(PREDICTIONS_TABLE)], group_name=dctx.group,
              pool=WAREHOUSE_POOL, kinds={"html"}, tags={STAGE_TAG: "monitor"}, check_specs=[drift_ok],
              description="Drift of the newest batch against the champion's training population (training "
              "extracts + the labelled batch rows it learned from) over the model's inputs (share of drifted "
              f"features; retrain above {cfg.drift.threshold}).")  # fmt: skip
    def drift_report(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, artifacts: ArtifactStore
                     ) -> dg.MaterializeResult:  # fmt: skip
        from vigia.monitoring import dataset_drift
        from vigia.monitoring.drift_report import drift_summary_markdown, write_drift_report
        from vigia.pipeline.tabular_training import drift_reference
        from vigia.warehouse.duck import read_frame

        with warehouse.connect() as con:
            reference, reference_source = drift_reference(con, cfg, artifacts.models_dir(cfg.name))
            batch = read_frame(con, cfg.name, BATCH_TABLE)
        ignore = {target, "source_file", cfg.entity_key}
        features = [c for c in batch.columns if c in reference.columns and c not in ignore]
        categorical = [
            c for c in features if reference.schema[c] == batch.schema[c] and not reference.schema[c].is_numeric()
        ]
        report = dataset_drift(reference, batch, features=features, categorical=categorical,
                               threshold=cfg.drift.threshold)  # fmt: skip
        paths = write_drift_report(report, reference.select(features), batch.select(features),
                                   artifacts.reports_dir(cfg.name) / "drift", "drift_latest_batch")  # fmt: skip
        context.log.info(f"drift score {report.score:.3f} (threshold {cfg.drift.threshold})")
        return dg.MaterializeResult(
            metadata={
                **_judged_batch(context.instance, dctx.key(BATCH_TABLE)),
                "drift_score": float(report.score),
                "drift_threshold": float(cfg.drift.threshold),
                "drifted": bool(report.drifted),
                "drift_reference": reference_source,
                "reference_rows": reference.height,
                "drifted_features": dg.MetadataValue.json(report.drifted_features),
                "summary": dg.MetadataValue.md(drift_summary_markdown(report)),
                "report_html": dg.MetadataValue.path(str(paths["html"])),
                "report_json": dg.MetadataValue.path(str(paths["json"])),
                "details": dg.MetadataValue.json(json.loads(json.dumps(report.to_dict()["features"][:5], default=str))),
            },
            check_results=[_check(drift_ok, drift_within_threshold(float(report.score), float(cfg.drift.threshold),
                                                                   list(report.drifted_features)), warn=True)],
        )

    return [training_table, inference_batch, model, predictions, drift_report]
