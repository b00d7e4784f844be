"""Fixes of the docs probe: exact rerun dedup past the snooze cap, autoencoders on sensors only, the drift
reference's windows, sweep.max_trials, opensearch params and per-day alert exports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from vigia.alerting import AlertSinkConfig, JsonFileSnoozeState, deliver_alerts
from vigia.alerting.snooze import MAX_MARKS_PER_ENTITY
from vigia.config import DatasetConfig


def _hourly_alerts(day: int, entity: str = "10.0.0.1") -> list[dict]:
    """One alert an hour (just outside a 12 x 5 min snooze) for a day."""
    t0 = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=day)
    out = []
    for h in range(24):
        ws = t0 + timedelta(hours=h)
        out.append({"alert_id": f"ds:{entity}:{ws:%Y%m%dT%H%M%S}", "dataset": "ds", "entity": entity,
                    "window_start": ws.isoformat(), "window_end": (ws + timedelta(minutes=5)).isoformat(),
                    "ml_score": 0.9})  # fmt: skip
    return out


def test_a_rerun_past_the_snooze_cap_delivers_nothing_twice(tmp_path: Path) -> None:
    cfg = AlertSinkConfig(ndjson_path=tmp_path / "ds.ndjson", snooze_windows=12, window_seconds=300)
    days = MAX_MARKS_PER_ENTITY // 24 + 1
    for d in range(days):
        deliver_alerts(_hourly_alerts(d), cfg, JsonFileSnoozeState(tmp_path / "ds.snooze.json"))
    state = JsonFileSnoozeState(tmp_path / "ds.snooze.json")
    assert len(state.marks("ds", "10.0.0.1")) == MAX_MARKS_PER_ENTITY  # the first day's marks are gone
    rerun = _hourly_alerts(0)
    between = dict(rerun[0], alert_id="ds:10.0.0.1:between", window_start=rerun[0]["window_start"][:14] + "30:00")
    report = deliver_alerts([*rerun, between], cfg, state)
    assert report.delivered == 0 and report.suppressed == 25  # also the snooze by the day's logged alerts
    assert len(cfg.ndjson_path.read_text().splitlines()) == 24 * days
    # a later day is still delivered, and a line cut by a crash does not stop the log being read
    with cfg.ndjson_path.open("a") as fh:
        fh.write('{"alert_id": "ds:10.0.0.1:cut", "dataset"')
    assert deliver_alerts(_hourly_alerts(days + 1), cfg, state).delivered == 24
    assert deliver_alerts(_hourly_alerts(days + 1), cfg, JsonFileSnoozeState(tmp_path / "new.json")).delivered == 0


def _net(**extra: object) -> dict:
    return {"name": "net", "kind": "network_conn", "source": {"type": "synthetic_zeek"}, "sql_models": "network",
            "partitions": {"start": "2026-01-05", "end": "2026-01-08"},
            "detectors": [{"name": "i", "type": "isolation_forest"}], **extra}  # fmt: skip


@pytest.mark.parametrize("kind", ["lstm_autoencoder", "conv_autoencoder"])
def test_autoencoders_are_refused_on_other_kinds_than_sensors(kind: str) -> None:
    raw = _net(detectors=[{"name": "i", "type": "isolation_forest"}, {"name": "ae", "type": kind}])
    with pytest.raises(ValueError, match=f"detector 'ae' is a {kind}: .* 'sensor_timeseries' only, not 'network_conn'"):
        DatasetConfig.model_validate(raw)


@pytest.mark.parametrize("max_trials", [0, -1])
def test_sweep_max_trials_below_one_is_refused(max_trials: int) -> None:
    with pytest.raises(ValueError, match=f"sweep.max_trials must be >= 1, got {max_trials}"):
        DatasetConfig.model_validate(_net(sweep={"max_trials": max_trials}))


def _events(source: dict) -> dict:
    return {"name": "ev", "kind": "api_events", "source": source, "sql_models": "events",
            "partitions": {"start": "2026-01-05", "end": "2026-01-08"},
            "detectors": [{"name": "i", "type": "isolation_forest"}]}  # fmt: skip


def test_unknown_opensearch_and_file_source_params_are_refused_at_load() -> None:
    typo = {"type": "opensearch", "params": {"index_templte": "shop-{day:%Y.%m.%d}"}}
    with pytest.raises(ValueError, match=r"source.params of opensearch takes \['index_template'\], not \['index_templ"):
        DatasetConfig.model_validate(_events(typo))
    with pytest.raises(ValueError, match=r"source.params of event_files takes no keys, not \['separator'\]"):
        DatasetConfig.model_validate(_events({"type": "event_files", "path": "x", "params": {"separator": ";"}}))
    with pytest.raises(ValueError, match=r"source.params of zeek_files takes no keys"):
        DatasetConfig.model_validate(_net(source={"type": "zeek_files", "path": "x", "params": {"rows": 1}}))
    ok = DatasetConfig.model_validate(_events({"type": "opensearch", "params": {"index_template": "e-{day:%Y%m%d}"}}))
    assert ok.source.params == {"index_template": "e-{day:%Y%m%d}"}


def test_the_drift_reference_is_the_windows_the_detectors_were_fitted_on() -> None:
    from vigia.pipeline.drift import drift_calibration, training_reference
    from vigia.pipeline.training import train_models

    cfg = DatasetConfig.model_validate(_net(detectors=[{"name": "i", "type": "isolation_forest",
                                                        "params": {"n_estimators": 10}}]))  # fmt: skip
    n, t0 = 120, datetime(2026, 1, 5)
    rng = np.random.default_rng(0)
    starts = [t0 + timedelta(minutes=30 * i) for i in range(n)]
    labels = [None if i % 3 == 0 else int(i % 10 == 1) for i in range(n)]  # a third unknown
    feats = pl.DataFrame({"orig_h": ["h"] * n, "window_start": starts,
                          "window_end": [s + timedelta(minutes=5) for s in starts], "day": [s.date() for s in starts],
                          "f1": rng.normal(size=n), "f2": rng.normal(size=n),
                          "label": pl.Series(labels, dtype=pl.Int32)})  # fmt: skip
    fitted = train_models(feats, cfg, ["f1", "f2"]).n_rows["train_normal_used"]
    assert training_reference(feats, cfg, ["f1", "f2"]).height == fitted
    unlabelled = feats.with_columns(pl.lit(None, dtype=pl.Int32).alias("label"))
    assert training_reference(unlabelled, cfg, ["f1"]).height == train_models(unlabelled, cfg, ["f1"]).n_rows["train"]
    assert set(drift_calibration(feats, cfg, ["f1", "f2"])) == {"f1", "f2"}


def test_alert_exports_are_one_file_per_day(tmp_path: Path) -> None:
    from datetime import date

    from vigia.pipeline.alerts import export_alerts_by_day

    alerts = pl.DataFrame({"day": [date(2026, 1, 5), date(2026, 1, 7)], "ml_score": [0.9, 0.8],
                           "top_features": ["[]", "[]"], "evidence": ["[]", "[]"]})  # fmt: skip
    days = ["2026-01-05", "2026-01-06", "2026-01-07"]
    paths = export_alerts_by_day(alerts, tmp_path, days)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"alerts_{d}.{e}" for d in days for e in ("csv", "json")]
    assert [len(json.loads(paths[d]["json"].read_text())) for d in days] == [1, 0, 1]  # a day without alerts too
