"""Fixes of the events probe: consensus k of stored model sets, IP-less alerts, raw driver values, unlabelled
flagged counts, evaluation plots, synthetic_api params, tok_pct27 and the encoders' training days."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from vigia.alerting.sink import AlertSinkConfig, deliver_alerts
from vigia.alerting.snooze import InMemorySnoozeState
from vigia.config import ConsensusConfig, DatasetConfig
from vigia.events.features import event_features, fit_event_encoders
from vigia.pipeline.alerts import alert_records, attach_evidence, select_alerts
from vigia.pipeline.events_ingest import EVENT_EVIDENCE_COLUMNS
from vigia.pipeline.promotion import validation_metric
from vigia.pipeline.training import calibrate_models, evaluate_models, score_windows, train_models
from vigia.reporting.reports import write_evaluation_report

IFOREST = {"name": "iforest", "type": "isolation_forest", "params": {"n_estimators": 20}}
LOF = {"name": "lof", "type": "lof", "params": {"n_neighbors": 10}}


def _cfg(detectors: list[dict], **extra: object) -> DatasetConfig:
    return DatasetConfig.model_validate({
        "name": "ev", "kind": "api_events", "sql_models": "events", "source": {"type": "synthetic_api"},
        "partitions": {"start": "2026-01-05", "end": "2026-01-06"}, "detectors": detectors, **extra,
    })  # fmt: skip


def _features(n: int = 600, labelled: bool = True) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    start = datetime(2026, 1, 5)
    x = rng.normal(10.0, 1.0, size=(n, 3))
    label = np.zeros(n, dtype=np.int64)
    label[::25] = 1
    x[label == 1] += 6.0
    ts = [start + timedelta(minutes=i) for i in range(n)]
    frame = pl.DataFrame({
        "client_ip": [f"10.0.0.{i % 7}" for i in range(n)], "window_start": ts,
        "window_end": [t + timedelta(microseconds=1) for t in ts], "day": [t.date() for t in ts],
        "f_a": x[:, 0], "f_b": x[:, 1], "f_c": x[:, 2],
    })  # fmt: skip
    return frame.with_columns(pl.Series("label", label)) if labelled else frame


# --------------------------------------------------------------------------- finding 1: stored consensus k


def test_stored_model_set_is_measured_and_scored_at_its_own_k() -> None:
    feats = _features()
    one = _cfg([IFOREST])  # k defaults to 1
    two = _cfg([IFOREST, LOF])  # k unset: the default becomes 2
    assert one.consensus.k == 1 and two.consensus.k == 2
    champion = train_models(feats, one, ["f_a", "f_b", "f_c"])
    thresholds = {n: t.threshold for n, t in calibrate_models(feats, champion, one).items()}
    metric = validation_metric(feats, champion, thresholds, two)  # raised "consensus k=2 ..." before
    assert metric is not None and metric == validation_metric(feats, champion, thresholds, one)
    assert score_windows(feats, champion, thresholds, two)["is_anomaly"].to_list() == (
        score_windows(feats, champion, thresholds, one)["is_anomaly"].to_list()
    )
    evaluation = evaluate_models(feats, champion, thresholds, two)
    assert evaluation.metrics["consensus"] == evaluate_models(feats, champion, thresholds, one).metrics["consensus"]
    from vigia.pipeline.training import consensus_k

    assert consensus_k(champion, two) == 1


def test_a_changed_consensus_k_applies_to_a_stored_model_set() -> None:
    from vigia.pipeline.training import consensus_k

    feats = _features()
    model_set = train_models(feats, _cfg([IFOREST, LOF]), ["f_a", "f_b", "f_c"])
    assert consensus_k(model_set, _cfg([IFOREST, LOF])) == 2
    one_of_two = _cfg([IFOREST, LOF]).model_copy(update={"consensus": ConsensusConfig(k=1)})
    assert consensus_k(model_set, one_of_two) == 1  # no retraining needed for a new k


# --------------------------------------------------------------------------- finding 5: raw driver values


def test_top_features_value_is_the_raw_feature_value() -> None:
    feats = _features()
    cfg = _cfg([IFOREST])
    model_set = train_models(feats, cfg, ["f_a", "f_b", "f_c"])
    thresholds = {n: t.threshold for n, t in calibrate_models(feats, model_set, cfg).items()}
    scored = score_windows(feats, model_set, thresholds, cfg)
    for i in (0, 25, 100):
        for driver in json.loads(scored["top_features"][i]):
            assert driver["value"] == pytest.approx(feats[driver["feature"]][i])
            assert driver["value"] != pytest.approx(driver["z"])


# --------------------------------------------------------------------------- finding 6: unlabelled counts


def test_unlabelled_evaluation_shows_the_flagged_count(tmp_path: Path) -> None:
    feats = _features(labelled=False)
    cfg = _cfg([IFOREST])
    model_set = train_models(feats, cfg, ["f_a", "f_b", "f_c"])
    thresholds = {n: t.threshold for n, t in calibrate_models(feats, model_set, cfg).items()}
    ev = evaluate_models(feats, model_set, thresholds, cfg)
    assert ev.labels is None and ev.classification_report == ""
    flagged = ev.metrics["iforest"]["n_flagged"]
    assert ev.metrics["iforest"]["n"] == ev.n_test and flagged > 0
    md = Path(write_evaluation_report("ev", ev.metrics, {"iforest": {"threshold": 1.0}}, tmp_path)["markdown"])
    row = next(line for line in md.read_text().splitlines() if line.startswith("| iforest |"))
    assert row.split(" | ")[6] == str(flagged)  # the n_flagged column
    # a report of the older key still shows it
    md = Path(write_evaluation_report("ev", {"a": {"n": 9, "flagged": 4}}, {}, tmp_path / "old")["markdown"])
    assert "| a | n/a | n/a | n/a | n/a | n/a | 4 | n/a | 9 |" in md.read_text()


# --------------------------------------------------------------------------- finding 3: evaluation plots


def test_champion_logs_the_plots_of_the_evaluation_not_every_png(tmp_path: Path) -> None:
    from vigia.pipeline.champion import _evaluation_plots

    for name in ("roc.png", "pr.png", "score_distributions.png"):
        (tmp_path / name).write_bytes(b"png")
    assert set(_evaluation_plots(tmp_path)) == {"roc", "pr", "score_distributions"}  # no report: every PNG
    write_evaluation_report(
        "ev", {"a": {"n": 9, "n_flagged": 4}}, {}, tmp_path,
        plots={"Score distributions": tmp_path / "score_distributions.png"},
    )  # fmt: skip
    assert _evaluation_plots(tmp_path) == {"score_distributions": tmp_path / "score_distributions.png"}
    md = (tmp_path / "evaluation.md").read_text()
    assert "roc.png" not in md and "pr.png" not in md


# --------------------------------------------------------------------------- finding 2: events without a client IP


def _event_table(con: duckdb.DuckDBPyConnection, t1: datetime, t2: datetime, t3: datetime) -> None:
    con.execute("CREATE SCHEMA api_events")
    con.execute(
        "CREATE TABLE api_events.stg_events (event_id VARCHAR, ts TIMESTAMP, client_ip VARCHAR, user_name VARCHAR, "
        "method VARCHAR, path VARCHAR, query VARCHAR, status INT, user_agent VARCHAR, service VARCHAR, "
        "raw_record VARCHAR, day DATE)"
    )
    rows = [("e1", t1, "203.0.113.9", "/a"), ("e2", t2, None, "/etc/passwd"), ("e3", t3, None, "/admin")]
    for event_id, ts, ip, path in rows:
        con.execute(
            "INSERT INTO api_events.stg_events VALUES (?, ?, ?, NULL, 'GET', ?, '', 200, '', 'web', ?, ?)",
            [event_id, ts, ip, path, json.dumps({"id": event_id}), ts.date()],
        )


def _scores(times: list[datetime], ips: list[str | None]) -> pl.DataFrame:
    n = len(times)
    return pl.DataFrame({
        "client_ip": ips, "window_start": times, "window_end": [t + timedelta(microseconds=1) for t in times],
        "day": [t.date() for t in times], "ml_score": [0.9 + i / 100 for i in range(n)], "is_anomaly": [True] * n,
        "detectors": ["iforest"] * n, "top_features": ["[]"] * n, "event_id": [f"e{i + 1}" for i in range(n)],
    }, schema_overrides={"client_ip": pl.String})  # fmt: skip


def test_ipless_anomalous_events_keep_their_record_id_and_own_snooze(tmp_path: Path) -> None:
    t1 = datetime(2026, 1, 7, 10, 0, 0, 120000)
    t2, t3 = datetime(2026, 1, 7, 11, 0, 0), datetime(2026, 1, 7, 11, 10, 0)
    con = duckdb.connect()
    _event_table(con, t1, t2, t3)
    cfg = _cfg([IFOREST], alerts={"evidence_records": 0, "top_n": 10})
    cfg = cfg.model_copy(update={"name": "api_events"})
    scores = _scores([t1, t2, t3], ["203.0.113.9", None, None])
    alerts = select_alerts(scores, cfg, top_n=None)
    assert alerts["alert_id"].null_count() == 0
    ids = dict(zip(alerts["event_id"], alerts["alert_id"], strict=True))
    assert ids["e2"] == "api_events::20260107T110000:e2"
    # evidence_records: 0 leaves the alerts without records; the anomalies export still has each event's own
    assert set(attach_evidence(con, alerts, cfg, "stg_events", EVENT_EVIDENCE_COLUMNS)["evidence"]) == {"[]"}
    anomalies = attach_evidence(con, alerts, cfg, "stg_events", EVENT_EVIDENCE_COLUMNS, limit=1)
    for row in anomalies.iter_rows(named=True):
        (record,) = json.loads(row["evidence"])
        assert record["event_id"] == row["event_id"]
    # two IP-less alerts ten minutes apart: neither snoozes the other
    sink = AlertSinkConfig(ndjson_path=tmp_path / "alerts.ndjson", snooze_windows=12, window_seconds=300)
    state = InMemorySnoozeState()
    report = deliver_alerts(alert_records(anomalies, cfg), sink, state)
    assert report.delivered == 3 and report.suppressed == 0
    assert deliver_alerts(alert_records(anomalies, cfg), sink, state).suppressed == 3  # a rerun: deduplicated


def test_ip_less_events_match_only_their_own_event_in_evidence() -> None:
    t1, t2 = datetime(2026, 1, 7, 10, 0, 0), datetime(2026, 1, 7, 11, 0, 0)
    con = duckdb.connect()
    _event_table(con, t1, t2, t2)  # e2 and e3 both without IP at the same instant
    cfg = _cfg([IFOREST], alerts={"evidence_records": 5}).model_copy(update={"name": "api_events"})
    alerts = select_alerts(_scores([t1, t2, t2], ["203.0.113.9", None, None]), cfg, top_n=None)
    out = attach_evidence(con, alerts, cfg, "stg_events", EVENT_EVIDENCE_COLUMNS)
    for row in out.iter_rows(named=True):
        assert [r["event_id"] for r in json.loads(row["evidence"])] == [row["event_id"]]


# --------------------------------------------------------------------------- finding 7: synthetic_api params


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"span_hours": 36}, "span_hours"),
        ({"span_hours": 0}, "span_hours"),
        ({"span_hours": -2.5}, "span_hours"),
        ({"attack_fraction": 1.5}, "attack_fraction"),
        ({"attack_fraction": -0.1}, "attack_fraction"),
        ({"events_per_day": 0}, "events_per_day"),
        ({"events_per_day": 10.5}, "events_per_day"),
        ({"n_users": 0}, "n_users"),
        ({"events_per_dya": 100}, "events_per_dya"),
        ({"attack_types": ["sqli"]}, "attack_types"),
        ({"attack_types": "injection"}, "attack_types"),
        ({"span_hours": True}, "span_hours"),
    ],
)
def test_synthetic_api_params_are_validated_at_load(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DatasetConfig.model_validate({
            "name": "ev", "kind": "api_events", "sql_models": "events",
            "source": {"type": "synthetic_api", "params": params},
            "partitions": {"start": "2026-01-05", "end": "2026-01-06"}, "detectors": [IFOREST],
        })  # fmt: skip


def test_valid_synthetic_api_params_load() -> None:
    params = {"events_per_day": 100, "span_hours": 24, "n_users": 5, "attack_fraction": 1, "attack_types": ["scraping"]}
    cfg = DatasetConfig.model_validate({
        "name": "ev", "kind": "api_events", "sql_models": "events",
        "source": {"type": "synthetic_api", "params": params},
        "partitions": {"start": "2026-01-05", "end": "2026-01-06"}, "detectors": [IFOREST],
    })  # fmt: skip
    assert cfg.source.params == params


# --------------------------------------------------------------------------- finding 8: tok_pct27


def test_tok_pct27_counts_the_encoded_quote_before_decoding() -> None:
    events = pl.DataFrame({
        "method": ["GET", "GET", "GET"], "path": ["/item", "/item", "/item"],
        "query": ["id=1%27%20OR%20%271%27=%271", "id=1' or '1'='1", "id=1"], "body": ["", "", ""],
        "user_agent": ["ua", "ua", "ua"], "status": [200, 200, 200], "service": ["web"] * 3,
    })  # fmt: skip
    feats = event_features(events, fit_event_encoders(events), windows=False)
    assert feats["tok_pct27"].to_list() == [4.0, 0.0, 0.0]
    assert feats["tok_quote"].to_list() == [4.0, 4.0, 0.0]  # the decoded quotes still count as quotes


# --------------------------------------------------------------------------- finding 4: the encoders' training days


@pytest.fixture
def events_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def _stage(con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, keys: list[str]) -> None:
    from vigia.paths import DEFAULT_SQL_ROOT
    from vigia.pipeline.events_ingest import ingest_events
    from vigia.warehouse.sql_models import discover_models, materialize_model

    ingest_events(con, cfg, keys, "run")
    (model,) = [m for m in discover_models(DEFAULT_SQL_ROOT, "events") if m.name == "stg_events"]
    materialize_model(con, model, cfg.name, partition_keys=keys)


def _events_cfg(**extra: object) -> DatasetConfig:
    return DatasetConfig.model_validate({
        "name": "ev", "kind": "api_events", "sql_models": "events",
        "source": {"type": "synthetic_api", "params": {"events_per_day": 300}},
        "partitions": {"start": "2026-01-05", "end": "2026-01-10"}, "detectors": [IFOREST], **extra,
    })  # fmt: skip


def _normal_count(con: duckdb.DuckDBPyConnection, days: list[str]) -> int:
    marks = ", ".join("?" for _ in days)
    sql = f"SELECT count(*) FROM ev.stg_events WHERE strftime(day, '%Y-%m-%d') IN ({marks}) AND coalesce(label, 0) = 0"
    return int(con.execute(sql, days).fetchone()[0])


def test_encoders_are_refitted_when_more_training_days_have_rows(events_env: Path) -> None:
    from vigia.pipeline.event_features import materialize_event_features, training_days

    cfg = _events_cfg()
    train_days = training_days(cfg)
    assert train_days == ["2026-01-05", "2026-01-06", "2026-01-07"]
    con = duckdb.connect()
    _stage(con, cfg, ["2026-01-05"])
    first = materialize_event_features(con, cfg, ["2026-01-05"])  # a first one-day run does not fail
    assert first.encoders["fitted_days"] == ["2026-01-05"] and first.encoders["fitted_now"]
    assert not first.encoders["refitted"]
    again = materialize_event_features(con, cfg, ["2026-01-05"])
    assert not again.encoders["fitted_now"]

    later = ["2026-01-06", "2026-01-07", "2026-01-08"]
    _stage(con, cfg, later)
    result = materialize_event_features(con, cfg, later)
    meta = result.encoders
    assert meta["refitted"] and meta["fitted_days"] == train_days
    assert meta["n_train"] == _normal_count(con, train_days)
    assert meta["rematerialize_days"] == ["2026-01-05"] and "re-materialized" in meta["note"]
    # a day after the training period adds nothing to refit on
    _stage(con, cfg, ["2026-01-09"])
    assert not materialize_event_features(con, cfg, ["2026-01-09"]).encoders["fitted_now"]


def test_encoders_saved_without_their_days_are_refitted_only_on_more_events(events_env: Path) -> None:
    from vigia.events.features import EventEncoders
    from vigia.pipeline.event_features import ENCODERS_FILE, encoders_fit

    cfg = _events_cfg()
    path = events_env / "data" / "models" / "ev" / ENCODERS_FILE
    con = duckdb.connect()
    _stage(con, cfg, ["2026-01-05"])
    encoders_fit(con, cfg).encoders.save(path)
    legacy = EventEncoders.load(path)
    legacy.fitted_days = None  # as saved before the days were recorded
    legacy.save(path)
    fit = encoders_fit(con, cfg)  # the same events: kept, the days recorded
    assert not fit.fitted_now and EventEncoders.load(path).fitted_days == ["2026-01-05"]
    legacy.save(path)
    _stage(con, cfg, ["2026-01-06"])
    fit = encoders_fit(con, cfg)
    assert fit.fitted_now and fit.previous_days == [] and fit.encoders.fitted_days == ["2026-01-05", "2026-01-06"]


def test_encoders_fit_on_the_label_windows_labels(events_env: Path) -> None:
    from vigia.pipeline.event_features import encoders_for

    windows = events_env / "labels.json"
    windows.write_text(json.dumps([["2026-01-05 00:00:00", "2026-01-05 11:59:59"]]))
    cfg = _events_cfg(label_windows=str(windows))
    con = duckdb.connect()
    _stage(con, cfg, ["2026-01-05"])
    outside = con.execute("SELECT count(*) FROM ev.stg_events WHERE ts > TIMESTAMP '2026-01-05 11:59:59'").fetchone()
    n_train = encoders_for(con, cfg).n_train
    assert n_train == outside[0] and n_train < _normal_count(con, ["2026-01-05"])



def test_open_ended_encoders_keep_the_training_days_of_their_first_fit(
    events_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``partitions.end`` the configured days grow daily: the daily runs must not refit the encoders."""
    import vigia.config
    from vigia.pipeline.event_features import materialize_event_features, training_days

    class Clock(datetime):
        today: datetime = datetime(2026, 1, 10, 12)

        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return cls.today

    monkeypatch.setattr(vigia.config, "datetime", Clock)
    cfg = _events_cfg(partitions={"start": "2026-01-05"})
    con = duckdb.connect()
    backfill = ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09"]
    _stage(con, cfg, backfill)
    first = materialize_event_features(con, cfg, backfill).encoders
    assert first["fitted_days"] == backfill[:3] and first["fitted_now"]
    for today, day in ((11, "2026-01-10"), (12, "2026-01-11")):
        Clock.today = datetime(2026, 1, today, 1)
        assert training_days(cfg) != backfill[:3]  # the configured training share moved on
        _stage(con, cfg, [day])
        meta = materialize_event_features(con, cfg, [day]).encoders
        assert not meta["fitted_now"] and not meta["refitted"] and meta["fitted_days"] == backfill[:3]
