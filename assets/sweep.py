"""Autoencoder hyper-parameter sweep of a sensor dataset (only when its config declares a grid)."""

import dagster as dg

from assets.common import STAGE_TAG, WAREHOUSE_POOL, DatasetAssetContext
from resources import ArtifactStore, DuckDBWarehouse
from vigia.pipeline.kinds import CLEAN_TABLES

SWEEP_ASSET = "ae_sweep"


def build_sweep_assets(dctx: DatasetAssetContext) -> list[dg.AssetsDefinition]:
    cfg = dctx.cfg
    if cfg.kind != "sensor_timeseries" or not cfg.sweep.grid:
        return []

    @dg.asset(
        key=dctx.key(SWEEP_ASSET),
        deps=[dctx.key(CLEAN_TABLES[cfg.kind])],
        group_name=dctx.group,
        pool=WAREHOUSE_POOL,
        kinds={"tensorflow"},
        tags={STAGE_TAG: "train"},
        description=f"Grid search over {sorted(cfg.sweep.grid)} (at most {cfg.sweep.max_trials} trials): each trial "
        "trained on normal training windows, ranked by best-F1 on validation windows; the best is recorded in "
        "data/models/<dataset>/sweep.json and used by the detectors asset.",
    )
    def ae_sweep(warehouse: DuckDBWarehouse, artifacts: ArtifactStore) -> dg.MaterializeResult:
        from vigia.pipeline.sweep import run_sweep, save_sweep
        from vigia.reporting.reports import metrics_markdown_table
        from vigia.warehouse.duck import read_frame

        with warehouse.connect() as con:
            clean = read_frame(con, cfg.name, CLEAN_TABLES[cfg.kind])
        result = run_sweep(clean, cfg)
        path = save_sweep(result, artifacts.models_dir(cfg.name))
        rows = [{"rank": i + 1, **t["params"], **{k: t[k] for k in ("f1", "precision", "recall", "seconds")}}
                for i, t in enumerate(result["trials"])]  # fmt: skip
        columns = list(rows[0]) if rows else []
        return dg.MaterializeResult(
            metadata={
                "trials": len(result["trials"]),
                "best": dg.MetadataValue.json(result["best"]),
                "best_f1": float(result["best"]["f1"] or 0.0) if result["best"] else 0.0,
                "ranking": dg.MetadataValue.md(metrics_markdown_table(rows, columns)),
                "path": dg.MetadataValue.path(str(path)),
                **({"note": result["note"]} if "note" in result else {}),
            }
        )

    return [ae_sweep]
