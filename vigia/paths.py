"""Filesystem layout of a Vigia deployment (all under one data directory)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASETS_DIR = REPO_ROOT / "config" / "datasets"
DEFAULT_SQL_ROOT = REPO_ROOT / "dbt_like_sql"


def data_dir() -> Path:
    """Root for runtime output: ``$VIGIA_DATA_DIR`` or ``./data``."""
    return Path(os.environ.get("VIGIA_DATA_DIR", "data"))


def datasets_dir() -> Path:
    """Where dataset YAML files are read from: ``$VIGIA_DATASETS_DIR`` or ``config/datasets``."""
    return Path(os.environ.get("VIGIA_DATASETS_DIR", str(DEFAULT_DATASETS_DIR)))


def shared_datasets_dir() -> Path:
    """Public benchmark data (never copied into the repo): ``$VIGIA_SHARED_DATASETS`` or ``../shared/datasets``."""
    return Path(os.environ.get("VIGIA_SHARED_DATASETS", str(REPO_ROOT.parent / "shared" / "datasets")))
