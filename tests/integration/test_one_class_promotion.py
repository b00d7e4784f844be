"""A labelled dataset without any attack in its validation period: retraining still replaces the champion."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from tests.conftest import SMALL_DATASET_YAML

pytestmark = pytest.mark.slow


def test_retrain_is_promoted_when_validation_labels_hold_one_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "datasets").mkdir()
    text = SMALL_DATASET_YAML.format(rows=8000).replace("params: {rows_per_day: 8000}",
                                                        "params: {rows_per_day: 8000, attack_rate: 0}")  # fmt: skip
    assert "attack_rate: 0" in text
    (tmp_path / "datasets" / "nettest.yaml").write_text(text)
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    defs = build_definitions()
    keys = [dg.AssetKey(["nettest", n]) for n in ("raw_conn", "stg_conn", "window_features")]
    train = [dg.AssetKey(["nettest", n]) for n in ("detectors", "thresholds", "evaluation", "champion")]
    tags = {"dagster/asset_partition_range_start": "2026-01-05", "dagster/asset_partition_range_end": "2026-01-07"}
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("nettest_daily").execute_in_process(
            instance=instance, asset_selection=keys, tags=tags).success  # fmt: skip
        versions = []
        for _ in range(2):
            assert defs.resolve_job_def("nettest_train").execute_in_process(
                instance=instance, asset_selection=train).success  # fmt: skip
            meta = instance.get_latest_materialization_event(train[-1]).asset_materialization.metadata
            versions.append(meta["champion_version"].value)
        assert meta["promoted"].value is True
        assert meta["reason"].value.startswith("validation labels hold one class")
        assert versions[0] != versions[1]
