"""Drift sensor rules on a real instance, from recorded drift reports: every day of a multi-day report counts,
a drifted day retrains once, a backlog found on the first tick does not retrain day after day."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from tests.conftest import SMALL_DATASET_YAML

REPORT = dg.AssetKey(["nettest", "drift_report"])


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[dg.Definitions, dg.DagsterInstance]]:
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "nettest.yaml").write_text(SMALL_DATASET_YAML.format(rows=1000))
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    with dg.instance_for_test() as instance:
        yield build_definitions(), instance


def _report(instance: dg.DagsterInstance, scores: dict[str, float]) -> None:
    """What the drift_report asset records for a run over ``scores``' days: headline = the newest day."""
    newest = max(scores)
    meta = {"drift_score": scores[newest], "drift_threshold": 0.15, "drift_day": newest,
            "scores_by_day": dg.MetadataValue.json(scores)}  # fmt: skip
    for day in scores:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=REPORT, partition=day, metadata=meta))


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    return defs.resolve_sensor_def("nettest_drift_sensor")(
        dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    )


def _cursor(instance: dg.DagsterInstance) -> str:
    record = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=REPORT), limit=1, ascending=False)
    return json.dumps({"version": 2, "storage_id": record.records[0].storage_id if record.records else 0})


def test_a_drifted_day_that_is_not_the_newest_of_its_run_retrains(setup) -> None:
    defs, instance = setup
    cursor = _cursor(instance)
    _report(instance, {"2026-01-06": 0.4, "2026-01-07": 0.1})
    result = _tick(defs, instance, cursor)
    assert [(r.run_key, r.partition_key) for r in result.run_requests] == [("nettest-drift-retrain-2026-01-06",
                                                                            "2026-01-06")]


def test_a_drifted_day_reported_again_does_not_retrain_again(setup) -> None:
    defs, instance = setup
    _report(instance, {"2026-01-07": 0.1})
    cursor = _cursor(instance)
    _report(instance, {"2026-01-07": 0.5})
    first = _tick(defs, instance, cursor)
    assert [r.run_key for r in first.run_requests] == ["nettest-drift-retrain-2026-01-07"]
    _report(instance, {"2026-01-07": 0.5})  # against the retrained champion: still drifted
    again = _tick(defs, instance, first.cursor)
    assert isinstance(again, dg.SkipReason) and "2026-01-07: drifted (0.500), already retrained" in again.skip_message


def test_several_drifted_days_in_one_tick_are_one_range_run(setup) -> None:
    defs, instance = setup
    _report(instance, {"2026-01-05": 0.0})
    cursor = _cursor(instance)
    _report(instance, {"2026-01-05": 0.3})
    _report(instance, {"2026-01-07": 0.6})
    (request,) = _tick(defs, instance, cursor).run_requests
    assert request.run_key == "nettest-drift-retrain-2026-01-05..2026-01-07"
    tags = request.tags
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        "2026-01-05", "2026-01-07")  # fmt: skip


def test_first_tick_over_a_backlog_reads_only_the_newest_report(setup) -> None:
    defs, instance = setup
    _report(instance, {"2026-01-05": 0.5})
    _report(instance, {"2026-01-06": 0.5})
    _report(instance, {"2026-01-07": 0.05})
    skip = _tick(defs, instance, None)
    assert isinstance(skip, dg.SkipReason) and "2026-01-07: 0.050" in skip.skip_message


def test_a_day_too_small_to_judge_does_not_retrain(setup) -> None:
    defs, instance = setup
    cursor = _cursor(instance)
    _report(instance, {"2026-01-06": float("nan")})
    skip = _tick(defs, instance, cursor)
    assert isinstance(skip, dg.SkipReason) and "2026-01-06: not judged" in skip.skip_message
