"""Freshness checks on open-ended daily datasets: a real instance, the real check and its sensor."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from orchestration.freshness import FRESHNESS_SENSOR
from tests.conftest import SMALL_DATASET_YAML

ALERTS = dg.AssetKey(["nettest", "alerts"])


def _dataset(tmp_path: Path, partitions: str) -> Path:
    folder = tmp_path / "datasets"
    folder.mkdir(exist_ok=True)
    text = SMALL_DATASET_YAML.format(rows=1000).replace(
        'partitions: {start: "2026-01-05", end: "2026-01-08"}', f"partitions: {partitions}"
    )
    (folder / "nettest.yaml").write_text(text)
    return folder


def _definitions(tmp_path: Path, partitions: str, monkeypatch: pytest.MonkeyPatch) -> dg.Definitions:
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(_dataset(tmp_path, partitions)))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    return build_definitions()


def _evaluate(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.AssetCheckEvaluation:
    checks = list(defs.asset_checks or [])
    job = dg.define_asset_job("freshness", selection=dg.AssetSelection.checks(*checks))
    result = job.resolve(asset_graph=defs.resolve_asset_graph()).execute_in_process(instance=instance)
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_open_ended_dataset_gets_a_check_on_yesterdays_alerts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    start = (datetime.now(UTC).date() - timedelta(days=4)).isoformat()
    # A midnight deadline makes yesterday the day that must exist, whatever the time of the test.
    defs = _definitions(tmp_path, f'{{start: "{start}", freshness_deadline: "0 0 * * *"}}', monkeypatch)
    (checks,) = defs.asset_checks
    assert [key.asset_key for key in checks.check_keys] == [ALERTS]
    assert FRESHNESS_SENSOR in {s.name for s in defs.sensors}
    with dg.instance_for_test() as instance:
        missing = _evaluate(defs, instance)
        assert not missing.passed
        assert missing.severity == dg.AssetCheckSeverity.WARN
        before_yesterday = (datetime.now(UTC).date() - timedelta(days=2)).isoformat()
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=ALERTS, partition=before_yesterday))
        assert not _evaluate(defs, instance).passed  # an older day does not make it fresh
        yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=ALERTS, partition=yesterday))
        assert _evaluate(defs, instance).passed


def test_no_check_for_a_dataset_that_ends_or_opts_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ended = _definitions(tmp_path, '{start: "2026-01-05", end: "2026-01-08"}', monkeypatch)
    assert not ended.asset_checks
    assert FRESHNESS_SENSOR not in {s.name for s in ended.sensors}
    opted_out = _definitions(tmp_path, '{start: "2026-01-05", freshness_deadline: null}', monkeypatch)
    assert not opted_out.asset_checks


def test_invalid_deadline_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match=re.escape("'nettest': partitions.freshness_deadline '61 3 * * *'")):
        _definitions(tmp_path, '{start: "2026-01-05", freshness_deadline: "61 3 * * *"}', monkeypatch)
    with pytest.raises(ValueError, match="5 fields"):
        _definitions(tmp_path, '{start: "2026-01-05", freshness_deadline: "0 3 * *"}', monkeypatch)
