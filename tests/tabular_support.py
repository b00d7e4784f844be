"""Test helpers for the supervised tabular kind: declare a synthetic-customers dataset, read what its runs wrote."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import build_definitions


def customers_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, params: str, seed: int
) -> dg.Definitions:
    """Declare ``name`` (synthetic customers with ``source.params`` ``params``, a value matrix) in ``tmp_path`` and
    point the code location and its data there; the definitions built from it."""
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / f"{name}.yaml").write_text(
        f"name: {name}\nkind: tabular_supervised\nsource:\n  type: synthetic_customers\n  params: {params}\n"
        f'entity_key: customer_id\nlabel_column: target\nvalue_matrix: "tp=0,fp=100,fn=500,tn=100"\nseed: {seed}\n'
    )
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    return build_definitions()


def latest_metadata(instance: dg.DagsterInstance, dataset: str, asset: str) -> dict:
    """The metadata values of the latest materialization of ``<dataset>/<asset>``."""
    event = instance.get_latest_materialization_event(dg.AssetKey([dataset, asset]))
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def check_evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    """(asset name, check name) -> the evaluation, for the asset checks a run evaluated."""
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
