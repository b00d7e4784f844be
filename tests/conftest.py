"""Shared fixtures: a small synthetic dataset config and an isolated data directory."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from vigia.paths import shared_datasets_dir

SMALL_DATASET_YAML = """\
name: nettest
kind: network_conn
source:
  type: synthetic_zeek
  params: {{rows_per_day: {rows}}}
sql_models: network
partitions: {{start: "2026-01-05", end: "2026-01-08"}}
window: {{size: 5m}}
detectors:
  - {{name: iforest, type: isolation_forest, params: {{n_estimators: 100}}}}
  - {{name: lof, type: lof, params: {{n_neighbors: 20}}}}
  - {{name: ocsvm, type: ocsvm, params: {{nu: 0.02}}}}
consensus: {{k: 2}}
alerts: {{top_n: 10, evidence_records: 5}}
seed: 3
"""


@pytest.fixture
def small_dataset_dir(tmp_path: Path) -> Path:
    """A datasets folder holding one small synthetic network dataset (3 days)."""
    d = tmp_path / "datasets"
    d.mkdir()
    (d / "nettest.yaml").write_text(SMALL_DATASET_YAML.format(rows=40_000))
    return d


@pytest.fixture
def isolated_env(tmp_path: Path, small_dataset_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point Vigia's data and dataset folders at the temp dir (for in-process definitions)."""
    data = tmp_path / "data"
    monkeypatch.setenv("VIGIA_DATA_DIR", str(data))
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(small_dataset_dir))
    return data


def shared_path(*parts: str) -> Path:
    """A path under the shared datasets folder; skips the test when it is absent."""
    path = shared_datasets_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared dataset not available: {path} (set VIGIA_SHARED_DATASETS)")
    return path


os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


def load_bench_script(file_name: str) -> ModuleType:
    """Import a script of ``bench/`` (not a package) as a module, with ``bench/`` on the path for its imports."""
    bench = Path(__file__).resolve().parents[1] / "bench"
    sys.path.insert(0, str(bench))
    try:
        spec = importlib.util.spec_from_file_location(f"{Path(file_name).stem}_under_test", bench / file_name)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while the script runs
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(bench))
