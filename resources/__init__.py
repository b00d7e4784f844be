"""Dagster resources: thin, configurable wrappers around the Dagster-free core."""

from resources.alert_sink import AlertSink
from resources.artifacts import ArtifactStore
from resources.tracking import MlflowTracking
from resources.warehouse import DuckDBWarehouse

__all__ = ["AlertSink", "ArtifactStore", "DuckDBWarehouse", "MlflowTracking"]
