"""Drift report per scored day: the champion's training windows vs that day's windows."""

import dagster as dg
import polars as pl

from assets.common import STAGE_TAG, WAREHOUSE_POOL, DatasetAssetContext, partition_keys
from resources import ArtifactStore, DuckDBWarehouse
from vigia.pipeline.features import load_features
from vigia.warehouse.duck import write_frame_partitions

DRIFT_ASSET = "drift_report"


def build_monitoring_assets(dctx: DatasetAssetContext) -> list[dg.AssetsDefinition]:
    cfg = dctx.cfg

    @dg.asset(
        key=dctx.key(DRIFT_ASSET),
        deps=[dctx.key("window_scores")],
        group_name=dctx.group,
        partitions_def=dctx.partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        automation_condition=dg.AutomationCondition.eager(),
        pool=WAREHOUSE_POOL,
        kinds={"python", "html"},
        tags={STAGE_TAG: "monitor"},
        description="Dataset drift = share of monitored features flagged as drifted (KS p<0.05 when a sample has "
        "<= 1000 rows, else Wasserstein distance / reference std > 0.1; chi-squared or Jensen-Shannon for "
        f"categoricals; PSI reported). Retraining is requested above {cfg.drift.threshold}. JSON + HTML "
        f"reports under data/reports/{cfg.name}/drift/, history in {cfg.name}.drift_history.",
    )
    def drift_report(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, artifacts: ArtifactStore
    ) -> dg.MaterializeResult:
        from vigia.monitoring.drift_report import drift_summary_markdown, write_drift_report
        from vigia.pipeline.drift import HISTORY_TABLE, day_drift, history_row
        from vigia.pipeline.model_store import CHAMPION, load_drift_calibration, load_reference, pointer

        keys = partition_keys(context)
        models_dir = artifacts.models_dir(cfg.name)
        version = pointer(models_dir, CHAMPION)["version"]
        reference = load_reference(models_dir, version)
        calibrated = load_drift_calibration(models_dir, version) if cfg.drift.calibrate else None
        if cfg.drift.calibrate and calibrated is None:
            context.log.warning(f"drift.calibrate is set but champion {version} has no calibration: retrain it")
        out_dir = artifacts.reports_dir(cfg.name) / "drift"
        with warehouse.connect() as con:
            current_all = load_features(con, cfg.name, keys)
            rows, paths, reports, empty_days = [], {}, {}, []
            for key in keys:
                current = current_all.filter(pl.col("day").cast(pl.String) == key)
                if current.height == 0:  # a day without records (capture gap, sensor down): nothing to compare
                    empty_days.append(key)
                    continue
                report = day_drift(reference, current, cfg, calibrated)
                reports[key] = report
                paths[key] = write_drift_report(report, reference, current.select(reference.columns), out_dir,
                                                f"drift_{key}")  # fmt: skip
                rows.append(history_row(report, key, version, context.run.run_id))
            if not reports:
                raise ValueError(
                    f"no windows for {cfg.name} on {', '.join(keys)}: these days have no records, or "
                    "window_features was not materialized for them"
                )
            history = pl.DataFrame(rows).with_columns(pl.col("day").str.to_date())
            write_frame_partitions(con, cfg.name, HISTORY_TABLE, history, keys)
        newest = max(reports)
        latest = reports[newest]
        context.log.info(f"drift score {latest.score:.3f} on {newest} (threshold {cfg.drift.threshold})")
        if empty_days:
            context.log.warning(f"no windows, so no drift report, on {len(empty_days)} day(s): {empty_days}")
        return dg.MaterializeResult(
            metadata={
                "drift_score": float(latest.score),
                "drift_threshold": float(cfg.drift.threshold),
                "drifted": bool(latest.drifted),
                "drift_day": newest,
                "drifted_features": dg.MetadataValue.json(latest.drifted_features),
                "scores_by_day": dg.MetadataValue.json({k: float(r.score) for k, r in reports.items()}),
                "days_without_windows": dg.MetadataValue.json(empty_days),
                "reference_model_version": version,
                "calibrated_thresholds": calibrated is not None,
                "summary": dg.MetadataValue.md(drift_summary_markdown(latest)),
                "report_html": dg.MetadataValue.path(str(paths[newest]["html"])),
                "report_json": dg.MetadataValue.path(str(paths[newest]["json"])),
            }
        )

    return [drift_report]
