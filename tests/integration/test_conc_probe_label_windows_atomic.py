"""A features step whose label_windows update fails writes nothing: the previous, labelled rows stay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from orchestration.definitions import build_definitions
from tests.integration.test_sensor_pipeline import SKAB_LIKE, _write_rig_file

TAGS = {"dagster/asset_partition_range_start": "2020-03-09", "dagster/asset_partition_range_end": "2020-03-09"}
KEYS = [dg.AssetKey(["rig", n]) for n in ("raw_sensor", "stg_sensor", "window_features")]


def _counts(data: Path) -> tuple[int, int, int]:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        sql = "SELECT count(*), count(label), coalesce(sum(label), 0) FROM rig.window_features"
        rows, labelled, positive = con.execute(sql).fetchall()[0]
        return int(rows), int(labelled), int(positive)
    finally:
        con.close()


def test_failed_labelling_leaves_the_labelled_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import assets.features as features_module

    source, labels = tmp_path / "rig", tmp_path / "windows.json"
    _write_rig_file(source / "valve1" / "0.csv", "2020-03-09T10:00:00", seed=1)
    labels.write_text(json.dumps([{"start": "2020-03-09 10:13:20", "end": "2020-03-09 10:15:49"}]))
    (tmp_path / "datasets").mkdir()
    windows = f'label_column: null\nlabel_windows: "{labels}"'
    yaml = SKAB_LIKE.format(path=source).replace("label_column: anomaly", windows)
    (tmp_path / "datasets" / "rig.yaml").write_text(yaml)
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    with dg.instance_for_test() as instance:
        job = build_definitions().resolve_job_def("rig_daily")
        assert job.execute_in_process(instance=instance, asset_selection=KEYS, tags=TAGS).success
        before = _counts(tmp_path / "data")
        assert before[0] == before[1] and before[2] > 0

        def out_of_memory(*args: Any, **kwargs: Any) -> None:
            raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block (test)")

        monkeypatch.setattr(features_module, "apply_label_windows", out_of_memory)
        failed = job.execute_in_process(instance=instance, asset_selection=KEYS[2:], tags=TAGS, raise_on_error=False)
        assert not failed.success
    assert _counts(tmp_path / "data") == before  # used to be (rows, 0, 0): new rows committed without labels
