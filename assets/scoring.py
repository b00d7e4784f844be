"""Scores every window of a day with the trained detectors; ranks alerts with their evidence."""


import dagster as dg
import polars as pl

from assets.common import STAGE_TAG, WAREHOUSE_POOL, DatasetAssetContext, partition_keys
from resources import AlertSink, ArtifactStore, DuckDBWarehouse
from vigia.pipeline.alerts import alert_records, attach_evidence, export_alerts_by_day, select_alerts
from vigia.pipeline.features import FEATURES_TABLE, load_features
from vigia.pipeline.kinds import CLEAN_TABLES, kind_spec
from vigia.warehouse.duck import preview, read_frame, to_markdown, write_frame_partitions

SCORES_TABLE = "window_scores"


class ScoringConfig(dg.Config):
    """Score with a chosen model version (a folder name under data/models/<dataset>/versions/, e.g. picked in
    the launchpad) instead of the champion, without retraining. Empty: the champion."""

    model_version: str = ""
ALERTS_TABLE = "alerts"


def build_scoring_assets(dctx: DatasetAssetContext) -> list[dg.AssetsDefinition]:
    cfg = dctx.cfg
    scores_key, alerts_key = dctx.key(SCORES_TABLE), dctx.key(ALERTS_TABLE)

    @dg.asset(
        key=scores_key,
        deps=[dctx.key(FEATURES_TABLE), dctx.key("champion")],
        group_name=dctx.group,
        partitions_def=dctx.partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        automation_condition=dg.AutomationCondition.eager(),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "scikitlearn"},
        tags={STAGE_TAG: "score"},
        description="Every window scored: per-detector scores, ml_score in 0..1 (mean of the normalised "
        f"scores), is_anomaly ({cfg.consensus.k}-of-{len(cfg.detectors)} consensus), agreeing detectors and "
        "the features that drove the score. Scored with the champion model version, or the version named by run "
        "config `model_version`.",
    )
    def window_scores(
        context: dg.AssetExecutionContext,
        config: ScoringConfig,
        warehouse: DuckDBWarehouse,
        artifacts: ArtifactStore,
    ) -> dg.MaterializeResult:
        from vigia.pipeline.model_store import CHAMPION, load_model_set, load_thresholds
        from vigia.pipeline.training import score_windows

        keys = partition_keys(context)
        models_dir = artifacts.models_dir(cfg.name)
        model_set, version = load_model_set(models_dir, CHAMPION, version=config.model_version or None)
        thresholds = load_thresholds(models_dir, version)
        with warehouse.connect() as con:
            features = load_features(con, cfg.name, keys)
            scored = score_windows(features, model_set, thresholds, cfg)
            if "event_id" in features.columns:  # per-event rows: the event id makes each alert's id unique
                scored = scored.with_columns(features["event_id"])
            # One score column per detector: the table gains a column when a detector is added.
            written = write_frame_partitions(con, cfg.name, SCORES_TABLE, scored, keys, evolve_columns=True)
            table_preview = preview(con, cfg.name, SCORES_TABLE, limit=10, where="is_anomaly")
        anomalies = int(scored["is_anomaly"].sum())
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(written),
                "anomalous_windows": anomalies,
                "anomaly_rate": round(anomalies / max(written, 1), 5),
                "model_version": version,
                "model_choice": "champion" if not config.model_version else "chosen by run config",
                "model_trained_at": model_set.trained_at,
                "preview_anomalies": dg.MetadataValue.md(table_preview),
            }
        )

    @dg.asset(
        key=alerts_key,
        deps=[scores_key, dctx.key(CLEAN_TABLES[cfg.kind])],
        group_name=dctx.group,
        partitions_def=dctx.partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        automation_condition=dg.AutomationCondition.eager(),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        tags={STAGE_TAG: "score"},
        description=f"Top {cfg.alerts.top_n} anomalous windows per day with up to {cfg.alerts.evidence_records} "
        "original connection records each and the features that drove the score; exported as JSON and CSV.",
    )
    def alerts(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, artifacts: ArtifactStore, alert_sink: AlertSink
    ) -> dg.MaterializeResult:
        keys = partition_keys(context)
        with warehouse.connect() as con:
            scores = read_frame(con, cfg.name, SCORES_TABLE, partition_column="day", keys=keys)
            spec = kind_spec(cfg)
            ranked = attach_evidence(con, select_alerts(scores, cfg), cfg, spec.clean_table, spec.evidence_columns)
            written = write_frame_partitions(con, cfg.name, ALERTS_TABLE, ranked, keys, evolve_columns=True)
            extra = {}
            if cfg.kind == "api_events":
                # Every anomalous event with its original record (also with evidence_records: 0) and per-detector
                # scores, not just the top N.
                anomalies = attach_evidence(
                    con, select_alerts(scores, cfg, top_n=None), cfg, spec.clean_table, spec.evidence_columns,
                    limit=max(1, cfg.alerts.evidence_records),
                )  # fmt: skip
                write_frame_partitions(con, cfg.name, "anomalies", anomalies, keys, evolve_columns=True)
                exported = export_alerts_by_day(anomalies, artifacts.reports_dir(cfg.name), keys, prefix="anomalies")
                extra = {"anomalies": anomalies.height,
                         "anomalies_json": dg.MetadataValue.path(str(exported[keys[-1]]["json"]))}  # fmt: skip
        paths = export_alerts_by_day(ranked, artifacts.reports_dir(cfg.name), keys)[keys[-1]]
        delivery = alert_sink.deliver(cfg.name, alert_records(ranked, cfg), cfg.alert_step_seconds)
        if not delivery.webhook_ok:
            context.log.warning(f"webhook delivery failed: {delivery.webhook_error}; alerts kept in NDJSON")
        top = ranked.sort("ml_score", descending=True).head(10)
        by_type = (
            ranked.group_by("attack_type").len().sort("len", descending=True).to_dicts()
            if "attack_type" in ranked.columns
            else []
        )
        cols = [c for c in (cfg.entity_key, "window_start", "ml_score", "detectors", "attack_type") if c in top.columns]
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(written),
                "top_alerts": dg.MetadataValue.md(_markdown(top.select(cols))),
                "alerts_by_attack_type": dg.MetadataValue.json(by_type),
                "export_json": dg.MetadataValue.path(str(paths["json"])),
                "export_csv": dg.MetadataValue.path(str(paths["csv"])),
                "delivery": dg.MetadataValue.json(delivery.to_dict()),
                "delivered": delivery.delivered,
                "suppressed_by_snooze": delivery.suppressed,
                "webhook_ok": delivery.webhook_ok,
                **extra,
            }
        )

    return [window_scores, alerts]


def _markdown(frame: pl.DataFrame) -> str:
    """The alerts as a markdown table, cell text escaped (entities and attack types come from the traffic)."""
    if frame.height == 0:
        return "_no alerts_"
    return to_markdown(frame.columns, frame.rows())
