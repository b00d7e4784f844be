"""One asset per ``dbt_like_sql/<group>/*.sql`` model; its declarative data tests become asset checks."""


from pathlib import Path

import dagster as dg

from assets.common import STAGE_TAG, WAREHOUSE_POOL, DatasetAssetContext, partition_keys, table_schema_metadata
from resources import DuckDBWarehouse
from vigia.pipeline.kinds import RAW_TABLES
from vigia.warehouse.sql_models import (
    RAW_PREFIX,
    SqlModel,
    SqlModelError,
    check_model,
    discover_models,
    materialize_model,
    raw_table_name,
)


def _source_key(dctx: DatasetAssetContext, model: SqlModel, source: str) -> dg.AssetKey:
    """The raw asset, which writes ``raw.<source>``: the dataset's raw table, its rejects or its file manifest."""
    raw = RAW_TABLES[dctx.cfg.kind]
    if raw_table_name(source) not in (raw, f"{raw}_rejects", f"{raw}_files"):
        stem = raw.removeprefix(RAW_PREFIX)
        raise SqlModelError(
            f"{model.path}: raw.{source} is not a raw table of dataset {dctx.cfg.name!r} (kind {dctx.cfg.kind}): "
            f"use raw.{stem}, raw.{stem}_rejects or raw.{stem}_files"
        )
    return dctx.key(raw)


def _build_model_asset(dctx: DatasetAssetContext, model: SqlModel) -> dg.AssetsDefinition:
    cfg = dctx.cfg
    key = dctx.key(model.name)
    partitioned = model.is_partitioned
    specs = [
        dg.AssetCheckSpec(t.name, asset=key, blocking=t.severity == "error", description=f"{t.kind} data test")
        for t in model.tests
    ]
    sources = {_source_key(dctx, model, s) for s in model.source_deps}
    deps = sorted(sources, key=str) + [dctx.key(m) for m in sorted(model.model_deps)]

    @dg.asset(
        key=key,
        deps=deps,
        group_name=dctx.group,
        partitions_def=dctx.partitions_def if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "sql"} | ({"view"} if model.materialized == "view" else set()),
        tags={STAGE_TAG: "clean"},
        check_specs=specs,
        description=f"{model.description}\n\nSQL model `{Path(model.path).name}` ({model.materialized}).",
        metadata={"sql": dg.MetadataValue.md(f"```sql\n{model.sql.strip()}\n```")},
    )
    def model_asset(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
        keys = partition_keys(context) if partitioned else None
        with warehouse.connect() as con:
            result = materialize_model(con, model, cfg.name, partition_keys=keys)
            checked = check_model(con, model, cfg.name, partition_keys=keys)
        tests = checked.tests
        # A view stores nothing: its row count is that of the checked partitions.
        rows = checked.rows_in_scope if result.rows_total is None else result.rows_total
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(rows),
                "rows_written": result.rows_written,
                "rows_checked": checked.rows_in_scope,
                "materialized": model.materialized,
                "dagster/column_schema": table_schema_metadata(result.schema),
                "preview": dg.MetadataValue.md(checked.preview),
                "seconds": round(result.seconds, 3),
                "checks_seconds": round(checked.seconds, 3),
                "table": f"{cfg.name}.{model.name}",
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=t.name,
                    passed=t.passed,
                    severity=dg.AssetCheckSeverity.ERROR if t.severity == "error" else dg.AssetCheckSeverity.WARN,
                    metadata={
                        "failing_rows": t.failing_count,
                        "sample": dg.MetadataValue.json(t.sample_failing_rows),
                        "sql": dg.MetadataValue.md(f"```sql\n{t.sql}\n```"),
                    },
                )
                for t in tests
            ],
        )

    return model_asset


def build_sql_model_assets(dctx: DatasetAssetContext, sql_root: Path) -> list[dg.AssetsDefinition]:
    """Assets for every SQL model of the dataset's group, dependencies parsed from the SQL."""
    return [_build_model_asset(dctx, m) for m in discover_models(sql_root, dctx.cfg.sql_models)]
