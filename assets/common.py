"""Helpers shared by the asset factories: keys, partitions, metadata."""


import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from vigia.config import DatasetConfig
from vigia.dagster_home import WAREHOUSE_POOL as WAREHOUSE_POOL

STAGE_TAG = "vigia/stage"
ROWS_ACCOUNTED_CHECK = "read_equals_accepted_plus_rejected"  # ingest assets: read = accepted + rejected


@dataclass(frozen=True)
class DatasetAssetContext:
    """What every factory needs to know about one dataset."""

    cfg: DatasetConfig
    partitions_def: dg.DailyPartitionsDefinition | None

    def key(self, name: str) -> dg.AssetKey:
        return dg.AssetKey([self.cfg.name, name])

    @property
    def group(self) -> str:
        return self.cfg.name


def daily_partitions(cfg: DatasetConfig) -> dg.DailyPartitionsDefinition | None:
    if cfg.partitions is None:
        return None
    end = cfg.partitions.end.isoformat() if cfg.partitions.end else None
    return dg.DailyPartitionsDefinition(start_date=cfg.partitions.start.isoformat(), end_date=end)


def partition_keys(context: dg.AssetExecutionContext) -> list[str]:
    """The run's partition keys (a single-run backfill can cover a range)."""
    return list(context.partition_keys) if context.has_partition_key_range or context.has_partition_key else []


def table_schema_metadata(columns: list[tuple[str, str]]) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name=n, type=t) for n, t in columns])


def png_markdown(paths: dict[str, Path]) -> dg.MetadataValue:
    """Embed PNG plots in a markdown metadata entry so they render in the UI."""
    parts = []
    for title, path in paths.items():
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        parts.append(f"**{title}**\n\n![{title}](data:image/png;base64,{data})\n")
    return dg.MetadataValue.md("\n".join(parts))


def metric_metadata(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten numeric metrics into float/int metadata entries (None values are skipped)."""
    out: dict[str, Any] = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            out[f"{prefix}{name}"] = dg.MetadataValue.int(value)
        elif isinstance(value, float):
            out[f"{prefix}{name}"] = dg.MetadataValue.float(value)
    return out
