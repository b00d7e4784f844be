"""Raw ingest asset: source records -> ``<dataset>.raw_conn`` (daily partitions) + rejects."""


import dagster as dg

from assets.common import ROWS_ACCOUNTED_CHECK, STAGE_TAG, WAREHOUSE_POOL, DatasetAssetContext, partition_keys
from resources import DuckDBWarehouse
from vigia.pipeline.kinds import RAW_TABLES, kind_spec
from vigia.warehouse.duck import preview


def build_raw_asset(dctx: DatasetAssetContext) -> dg.AssetsDefinition:
    cfg = dctx.cfg
    raw_table = RAW_TABLES[cfg.kind]
    rejects_table = f"{raw_table}_rejects"
    accounting = dg.AssetCheckSpec(ROWS_ACCOUNTED_CHECK, asset=dctx.key(raw_table), blocking=True)
    arrived = dg.AssetCheckSpec(
        "records_on_every_requested_day", asset=dctx.key(raw_table), blocking=False,
        description="each requested day got accepted records (warns when a day is empty: a capture gap, a "
        "sensor that went silent, a file that did not arrive)",
    )  # fmt: skip

    @dg.asset(
        key=dctx.key(raw_table),
        group_name=dctx.group,
        partitions_def=dctx.partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "python"},
        tags={STAGE_TAG: "ingest"},
        check_specs=[accounting, arrived],
        description=f"Raw records of {cfg.name} ({cfg.source.type}), daily partitions on the event time; "
        f"malformed records go to {cfg.name}.{rejects_table} with their reason."
        + (f"\n\nDataset: {cfg.description.strip()}" if cfg.description.strip() else ""),
    )
    def raw_asset(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
        keys = partition_keys(context)
        with warehouse.connect() as con:
            result = kind_spec(cfg).ingest(con, cfg, keys, context.run.run_id)
            table_preview = preview(con, cfg.name, raw_table, limit=10)
        context.log.info(
            f"read {result.read}, accepted {result.accepted}, rejected {result.rejected}, "
            f"written {result.written} into {keys[0]}..{keys[-1]}"
        )
        for path in result.truncated_files:
            context.log.warning(f"{path}: gzip stream ends early (cut short or still being written); "
                                "the lines before the cut were read, the file is read again once it changes")
        balanced = result.read == result.accepted + result.rejected
        empty_days = [k for k in keys if not result.rows_by_day.get(k)]
        if empty_days:
            context.log.warning(f"no accepted record on {', '.join(empty_days)}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(result.written),
                "records_read": result.read,
                "records_accepted": result.accepted,
                "records_rejected": result.rejected,
                "records_outside_partitions": result.out_of_range,
                "rejects_by_reason": dg.MetadataValue.json(result.rejects_by_reason),
                "rows_by_day": dg.MetadataValue.json(result.rows_by_day),
                "ignored_fields": dg.MetadataValue.json(result.ignored_fields),
                "files": dg.MetadataValue.json(result.files),
                "files_unchanged_not_read": len(result.files_unchanged),
                "truncated_files": dg.MetadataValue.json(result.truncated_files),
                "other_log_records_skipped": dg.MetadataValue.json(result.other_log_records),
                "records_with_unknown_label": result.unknown_labels,
                "seconds": round(result.seconds, 3),
                "preview": dg.MetadataValue.md(table_preview),
                "table": f"{cfg.name}.{raw_table}",
            }
            | ({"ingest_method": result.method} if result.method else {}),
            check_results=[
                dg.AssetCheckResult(
                    check_name=accounting.name,
                    passed=balanced,
                    metadata={"read": result.read, "accepted": result.accepted, "rejected": result.rejected},
                ),
                dg.AssetCheckResult(
                    check_name=arrived.name,
                    passed=not empty_days,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"days_without_records": dg.MetadataValue.json(empty_days)},
                ),
            ],
        )

    return raw_asset
