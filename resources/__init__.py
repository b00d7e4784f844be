"""Dagster resources: thin, configurable wrappers around the Dagster-free core."""

from resources.artifacts import ArtifactStore
from resources.warehouse import DuckDBWarehouse

__all__ = ["ArtifactStore", "DuckDBWarehouse"]
