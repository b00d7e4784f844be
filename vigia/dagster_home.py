"""Prepare a local ``DAGSTER_HOME`` (SQLite storage) with Vigia's instance settings."""

from __future__ import annotations

from pathlib import Path

DAGSTER_YAML = """\
# Written by Vigia. One writer at a time on the DuckDB warehouse: every asset that writes it
# runs in the `duckdb_warehouse` pool, limited to one step at a time across all runs.
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
# Vigia's own progress messages (e.g. OpenSearch downloads) appear in the run logs.
python_logs:
  managed_python_loggers:
    - vigia
"""


def ensure_dagster_home(path: Path) -> Path:
    """Create ``path`` with a ``dagster.yaml`` if it has none; returns the absolute path."""
    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return path
