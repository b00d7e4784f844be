"""Windowed per-entity features over the cleaned rows (polars, or DuckDB for the connection windows)."""

from dataclasses import asdict

import dagster as dg
import duckdb

from assets.common import STAGE_TAG, WAREHOUSE_POOL, DatasetAssetContext, partition_keys, table_schema_metadata
from resources import DuckDBWarehouse
from vigia.pipeline.features import FEATURES_TABLE
from vigia.pipeline.kinds import CLEAN_TABLES, kind_spec
from vigia.pipeline.label_windows import LabelStats, apply_label_windows, read_label_windows
from vigia.warehouse.duck import BeforeCommit, preview, quote_ident, table_schema


def build_features_asset(dctx: DatasetAssetContext) -> dg.AssetsDefinition:
    cfg = dctx.cfg
    key = dctx.key(FEATURES_TABLE)
    finite = dg.AssetCheckSpec("features_finite", asset=key, blocking=True, description="no NaN/inf/null features")
    stations = dg.AssetCheckSpec(  # a dead sensor or a gap-ridden day silently loses a station's windows
        "windows_for_every_station_day", asset=key, blocking=False,
        description="every station with readings on a requested day gets windows (warns with the reason)",
    ) if cfg.kind == "sensor_timeseries" else None  # fmt: skip

    @dg.asset(
        key=key,
        deps=[dctx.key(CLEAN_TABLES[cfg.kind])],
        group_name=dctx.group,
        partitions_def=dctx.partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"polars", "duckdb"},
        tags={STAGE_TAG: "features"},
        check_specs=[finite] if stations is None else [finite, stations],
        description=f"Per-{cfg.entity_key} windows ({cfg.kind}) with their features, labels and day.",
    )
    def features_asset(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
        keys = partition_keys(context)
        intervals = read_label_windows(cfg.label_windows) if cfg.label_windows else None  # fail before writing
        extra: dict[str, dg.MetadataValue] = {}  # label-file counts
        labelled: list[LabelStats] = []

        def label(con: duckdb.DuckDBPyConnection) -> None:  # inside the write's transaction: labels or nothing
            if intervals is not None:
                table, entity = f'"{cfg.name}"."{FEATURES_TABLE}"', str(cfg.entity_key)
                labelled.append(apply_label_windows(con, table, intervals, entity_column=entity, days=keys))

        before_commit: BeforeCommit | None = label if intervals is not None else None
        with warehouse.connect() as con:
            result = kind_spec(cfg).materialize_features(con, cfg, keys, before_commit=before_commit)
            if labelled:
                result.malicious_windows = labelled[0].positive_rows
                extra["label_windows"] = dg.MetadataValue.json({"file": cfg.label_windows, **asdict(labelled[0])})
            schema = table_schema(con, cfg.name, FEATURES_TABLE)
            bad = _non_finite_count(con, cfg.name, [n for n, t in schema if t == "DOUBLE"], keys)
            table_preview = preview(con, cfg.name, FEATURES_TABLE, limit=10)
        for note in result.without_windows:
            context.log.warning(f"no window for {note}")
        encoders = getattr(result, "encoders", None)  # api_events: the encoders' fitted days, a refit note
        if encoders:
            extra["encoders"] = dg.MetadataValue.json(encoders)
            if encoders.get("note"):
                context.log.warning(encoders["note"])
        results = [dg.AssetCheckResult(check_name=finite.name, passed=bad == 0, metadata={"bad_rows": bad})]
        if stations is not None:
            results.append(dg.AssetCheckResult(
                check_name=stations.name, passed=not result.without_windows, severity=dg.AssetCheckSeverity.WARN,
                metadata={"without_windows": dg.MetadataValue.json(result.without_windows)},
            ))  # fmt: skip
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(result.windows),
                "connections": result.connections,
                "windows_by_day": dg.MetadataValue.json(result.windows_by_day),
                "malicious_windows": result.malicious_windows if result.malicious_windows is not None else -1,
                "seconds": round(result.seconds, 3),
                "engine": result.engine,
                "dagster/column_schema": table_schema_metadata(schema),
                "preview": dg.MetadataValue.md(table_preview),
                **extra,
            },
            check_results=results,
        )

    return features_asset


def _non_finite_count(con, dataset: str, columns: list[str], keys: list[str]) -> int:
    if not columns:
        return 0
    cond = " OR ".join(f"{q} IS NULL OR NOT isfinite({q})" for q in map(quote_ident, columns))
    marks = ", ".join("?" for _ in keys)
    sql = (
        f'SELECT count(*) FROM "{dataset}"."{FEATURES_TABLE}" '
        f"WHERE strftime(day, '%Y-%m-%d') IN ({marks}) AND ({cond})"
    )
    return int(con.execute(sql, keys).fetchall()[0][0])
