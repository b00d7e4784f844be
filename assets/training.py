"""Model assets: detectors (fit a new version), thresholds (calibrate it), evaluation (test it) and
champion (track it in MLflow, register it, promote it when it is at least as good as the champion)."""

import json
from pathlib import Path

import dagster as dg

from assets.common import STAGE_TAG, WAREHOUSE_POOL, DatasetAssetContext, metric_metadata, png_markdown
from resources import ArtifactStore, DuckDBWarehouse, MlflowTracking
from vigia.pipeline.features import FEATURES_TABLE, load_features
from vigia.pipeline.kinds import feature_columns

# scikit-learn, matplotlib and MLflow are imported inside the asset bodies: the code location must load fast.

METRIC_COLUMNS = [
    "detector", "precision", "recall", "f1", "roc_auc", "average_precision", "n_flagged", "tp", "fp", "fn", "tn"
]


def build_training_assets(dctx: DatasetAssetContext) -> list[dg.AssetsDefinition]:
    cfg = dctx.cfg

    def own_candidate(context: dg.AssetExecutionContext) -> str | None:
        """This run's id when it also trains (runs the ``detectors`` step): its later steps must use that model. A
        re-execution of only the later steps uses the current candidate."""
        key, steps = dctx.key("detectors"), context.run.step_keys_to_execute
        if steps is not None:
            trains = key.to_python_identifier() in steps
        else:
            trains = key in (context.run.asset_selection or context.job_def.asset_layer.selected_asset_keys)
        return context.run.run_id if trains else None

    sweep_dep = [dctx.key("ae_sweep")] if cfg.kind == "sensor_timeseries" and cfg.sweep.grid else []

    @dg.asset(
        key=dctx.key("detectors"),
        deps=[dctx.key(FEATURES_TABLE), *sweep_dep],
        group_name=dctx.group,
        pool=WAREHOUSE_POOL,
        kinds={"scikitlearn"},
        tags={STAGE_TAG: "train"},
        description="A new model version: scaler fitted on normal training windows and one fitted model per "
        "configured detector (temporal split, no shuffling); becomes the candidate.",
    )
    def detectors(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, artifacts: ArtifactStore
    ) -> dg.MaterializeResult:
        from vigia.pipeline.drift import drift_calibration, training_reference
        from vigia.pipeline.model_store import new_version_id, save_drift_calibration, save_model_set
        from vigia.pipeline.sweep import apply_best
        from vigia.pipeline.training import train_models

        with warehouse.connect() as con:
            features = load_features(con, cfg.name)
        columns = feature_columns(features, cfg.entity_key)
        train_cfg, sweep_best = apply_best(cfg, artifacts.models_dir(cfg.name))
        model_set = train_models(features, train_cfg, columns)
        version = new_version_id(context.run.run_id)
        manifest = save_model_set(
            model_set,
            artifacts.models_dir(cfg.name),
            version,
            training_reference(features, cfg, columns),
            run_id=context.run.run_id,
        )
        calibration = {}
        if cfg.drift.calibrate:
            calibration = drift_calibration(features, cfg, columns)
            save_drift_calibration(calibration, artifacts.models_dir(cfg.name), version)
        context.log.info(f"trained version {version}: {sorted(model_set.detectors)} on {model_set.n_rows}")
        return dg.MaterializeResult(
            metadata={
                "version": version,
                "detectors": dg.MetadataValue.json(manifest["detectors"]),
                "rows": dg.MetadataValue.json(model_set.n_rows),
                "split": dg.MetadataValue.json(model_set.split_bounds),
                "labelled": model_set.labelled,
                "sha256": manifest["sha256"],
                "model_path": dg.MetadataValue.path(manifest["path"]),
                "feature_columns": dg.MetadataValue.json(model_set.feature_columns),
                "sweep_best_applied": dg.MetadataValue.json(sweep_best or {}),
                **({"drift_calibration": dg.MetadataValue.json(calibration)} if calibration else {}),
            }
        )

    @dg.asset(
        key=dctx.key("thresholds"),
        deps=[dctx.key("detectors")],
        group_name=dctx.group,
        pool=WAREHOUSE_POOL,
        kinds={"python"},
        tags={STAGE_TAG: "train"},
        description=f"Per-detector thresholds of the candidate, calibrated on the validation period "
        f"({cfg.calibration.strategy}); records the rule, its value and the whole sweep.",
    )
    def thresholds(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, artifacts: ArtifactStore
    ) -> dg.MaterializeResult:
        from vigia.pipeline.model_store import CANDIDATE, load_model_set, save_thresholds
        from vigia.pipeline.training import calibrate_models
        from vigia.reporting.reports import metrics_markdown_table

        models_dir = artifacts.models_dir(cfg.name)
        model_set, version = load_model_set(models_dir, CANDIDATE, run_id=own_candidate(context))
        with warehouse.connect() as con:
            features = load_features(con, cfg.name)
        results = calibrate_models(features, model_set, cfg)
        path = save_thresholds(results, models_dir, version)
        rows = [{"detector": n, "rule": t.rule, "param": t.param, "threshold": t.threshold} for n, t in results.items()]
        return dg.MaterializeResult(
            metadata={
                "version": version,
                "thresholds": dg.MetadataValue.md(
                    metrics_markdown_table(rows, ["detector", "rule", "param", "threshold"])
                ),
                "path": dg.MetadataValue.path(str(path)),
                "sweep": dg.MetadataValue.json({n: t.to_dict() for n, t in results.items()}),
                **{f"threshold_{n}": float(t.threshold) for n, t in results.items()},
            }
        )

    @dg.asset(
        key=dctx.key("evaluation"),
        deps=[dctx.key("thresholds")],
        group_name=dctx.group,
        pool=WAREHOUSE_POOL,
        kinds={"python"},
        tags={STAGE_TAG: "train"},
        description=f"Test-period metrics of the candidate's detectors and of the {cfg.consensus.k}-of-"
        f"{len(cfg.detectors)} consensus; JSON, Markdown and PNG plots under data/reports/{cfg.name}/.",
    )
    def evaluation(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, artifacts: ArtifactStore
    ) -> dg.MaterializeResult:
        from vigia.pipeline.model_store import CANDIDATE, load_model_set, load_threshold_details
        from vigia.pipeline.training import CONSENSUS, consensus_k, evaluate_models
        from vigia.reporting.plots import pr_plot, roc_plot, score_distribution_plot
        from vigia.reporting.reports import metrics_markdown_table, write_evaluation_report

        models_dir = artifacts.models_dir(cfg.name)
        model_set, version = load_model_set(models_dir, CANDIDATE, run_id=own_candidate(context))
        details = load_threshold_details(models_dir, version)
        thresholds_by_detector = {n: float(t["threshold"]) for n, t in details.items()}
        with warehouse.connect() as con:
            features = load_features(con, cfg.name)
        ev = evaluate_models(features, model_set, thresholds_by_detector, cfg)
        out_dir = artifacts.reports_dir(cfg.name)
        plots = {}
        if ev.labels is not None:
            curves = {n: (ev.labels, s) for n, s in ev.scores.items()}
            plots["ROC"] = roc_plot(curves, out_dir / "roc.png")
            plots["Precision-recall"] = pr_plot(curves, out_dir / "pr.png")
        else:  # no labelled test windows: an earlier training's curves must not pass for this candidate's
            for stale in ("roc.png", "pr.png"):
                (out_dir / stale).unlink(missing_ok=True)
        plots["Score distributions"] = score_distribution_plot(
            ev.scores, ev.labels, thresholds_by_detector, out_dir / "score_distributions.png"
        )
        if cfg.kind == "sensor_timeseries":
            from vigia.pipeline.sensor_reports import sensor_report_plots

            plots.update(sensor_report_plots(features, model_set, thresholds_by_detector, cfg, out_dir))
        paths = write_evaluation_report(
            cfg.name,
            ev.metrics,
            details,
            out_dir,
            extra={
                "model_version": version,
                "split": model_set.split_bounds,
                "rows": model_set.n_rows,
                "consensus_k": consensus_k(model_set, cfg),
            },
            plots=plots,
        )
        if ev.classification_report:
            with Path(paths["markdown"]).open("a") as fh:
                fh.write(f"\n## Classification report (consensus, test)\n\n```\n{ev.classification_report}\n```\n")
        table = [{"detector": n, **m} for n, m in ev.metrics.items()]
        consensus = ev.metrics.get(CONSENSUS, {})
        return dg.MaterializeResult(
            metadata={
                "version": version,
                "metrics": dg.MetadataValue.md(metrics_markdown_table(table, METRIC_COLUMNS)),
                **metric_metadata(consensus, prefix="consensus_"),
                "n_test_windows": ev.n_test,
                **(
                    {"classification_report": dg.MetadataValue.md(f"```\n{ev.classification_report}\n```")}
                    if ev.classification_report
                    else {}
                ),
                "report_json": dg.MetadataValue.path(str(paths["json"])),
                "report_markdown": dg.MetadataValue.path(str(paths["markdown"])),
                "plots": png_markdown(plots),
            }
        )

    @dg.asset(
        key=dctx.key("champion"),
        deps=[dctx.key("evaluation")],
        group_name=dctx.group,
        pool=WAREHOUSE_POOL,
        kinds={"mlflow"},
        tags={STAGE_TAG: "train"},
        description="Tracks the candidate in MLflow (one run per detector: params, metrics, plots, model with "
        "signature), registers a version per detector and moves the `champion` alias to it unless its "
        f"validation consensus F1 is worse than the champion's by more than {cfg.promotion.tolerance}. "
        "Scoring always uses the champion.",
    )
    def champion(
        context: dg.AssetExecutionContext,
        warehouse: DuckDBWarehouse,
        artifacts: ArtifactStore,
        mlflow_tracking: MlflowTracking,
    ) -> dg.MaterializeResult:
        from vigia.pipeline.champion import promote_candidate
        from vigia.pipeline.model_store import prune_versions

        with warehouse.connect() as con:
            features = load_features(con, cfg.name)
        tags = {"dataset": cfg.name, "dagster_run_id": context.run.run_id}
        with mlflow_tracking.session(context, cfg.name, tags):
            outcome = promote_candidate(
                features,
                cfg,
                artifacts.models_dir(cfg.name),
                artifacts.reports_dir(cfg.name),
                tags,
                mlflow_tracking.run_url,
                run_id=own_candidate(context),
            )
        context.log.info(outcome.decision.reason)
        pruned = prune_versions(artifacts.models_dir(cfg.name), cfg.promotion.keep_versions)
        return dg.MaterializeResult(
            metadata={
                "promoted": outcome.decision.promote,
                "reason": outcome.decision.reason,
                "champion_version": outcome.champion_version,
                "candidate_version": outcome.candidate_version,
                "candidate_metric": outcome.decision.candidate,
                "champion_metric_before": outcome.decision.champion,
                "metric": outcome.decision.metric_name,
                "mlflow_runs": dg.MetadataValue.json(outcome.runs),
                "mlflow_run_url": dg.MetadataValue.url(outcome.parent_run_url),
                "registered_versions": dg.MetadataValue.json(outcome.registered),
                "tracking_uri": mlflow_tracking.tracking_uri,
                "champion_record": dg.MetadataValue.json(json.loads(json.dumps(outcome.champion_record, default=str))),
                "pruned_versions": dg.MetadataValue.json(pruned),
            }
        )

    return [detectors, thresholds, evaluation, champion]
