"""Score tables that gain a detector column, unique per-alert ids and evidence, escaped alert markdown, and
model version ids that cannot leave the versions folder."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from assets.scoring import _markdown
from vigia.config import load_dataset_config
from vigia.pipeline.alerts import alert_records, attach_evidence, select_alerts
from vigia.pipeline.events_ingest import EVENT_EVIDENCE_COLUMNS
from vigia.pipeline.model_store import MANIFEST_FILE, load_model_set
from vigia.warehouse import duck

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "datasets"
DAY1, DAY2 = date(2024, 1, 1), date(2024, 1, 2)


@pytest.fixture()
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    c = duck.connect(tmp_path / "warehouse.duckdb")
    yield c
    c.close()


def _scores(day: date, detectors: tuple[str, ...]) -> pl.DataFrame:
    return pl.DataFrame({"day": [day, day], "ml_score": [0.1, 0.9], **{f"score_{d}": [1.0, 2.0] for d in detectors}})


def _rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    sql = "SELECT day, score_iforest, score_lof, score_ocsvm FROM s.scores ORDER BY day, ml_score"
    return con.execute(sql).fetchall()


# ----------------------------------------------------------------------------------------- bug 1: detector set


def test_evolving_partition_write_adds_a_new_detector_column(con: duckdb.DuckDBPyConnection) -> None:
    duck.write_frame_partitions(con, "s", "scores", _scores(DAY1, ("iforest", "lof")), ["2024-01-01"])
    # A detector was added: the old day keeps NULL for it, the new rows carry it.
    n = duck.write_frame_partitions(con, "s", "scores", _scores(DAY2, ("iforest", "lof", "ocsvm")), ["2024-01-02"],
                                    evolve_columns=True)  # fmt: skip
    assert n == 2
    assert _rows(con) == [(DAY1, 1.0, 1.0, None), (DAY1, 2.0, 2.0, None), (DAY2, 1.0, 1.0, 1.0), (DAY2, 2.0, 2.0, 2.0)]
    # A detector was dropped: the table keeps its column, NULL in the rewritten day.
    duck.write_frame_partitions(con, "s", "scores", _scores(DAY1, ("iforest", "ocsvm")), ["2024-01-01"],
                                evolve_columns=True)  # fmt: skip
    assert _rows(con)[:2] == [(DAY1, 1.0, None, 1.0), (DAY1, 2.0, None, 2.0)]


def test_failed_evolving_write_leaves_table_and_columns_unchanged(con: duckdb.DuckDBPyConnection) -> None:
    duck.write_frame_partitions(con, "s", "scores", _scores(DAY1, ("iforest",)), ["2024-01-01"])

    def state() -> tuple[list[tuple[str, str]], list[tuple]]:
        return duck.table_schema(con, "s", "scores"), con.execute("SELECT * FROM s.scores ORDER BY ALL").fetchall()

    before = state()
    failing = "SELECT DATE '2024-01-01' AS day, 0.5 AS ml_score, error('boom')::DOUBLE AS score_ocsvm"
    with pytest.raises(duckdb.Error, match="boom"):
        duck.replace_partitions(con, "s", "scores", "day", ["2024-01-01"], failing, evolve_columns=True)
    assert state() == before


def test_strict_partition_write_says_how_to_rebuild(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    duck.write_frame_partitions(con, "s", "scores", _scores(DAY1, ("iforest",)), ["2024-01-01"])
    with pytest.raises(ValueError) as err:
        duck.write_frame_partitions(con, "s", "scores", _scores(DAY1, ("ocsvm",)), ["2024-01-01"])
    message = str(err.value)
    assert "['score_ocsvm']" in message and "['score_iforest']" in message
    assert 'DROP TABLE "s"."scores"' in message and str(tmp_path / "warehouse.duckdb") in message
    assert "every partition" in message and "no partition keys" not in message


# ----------------------------------------------------------------------------------------- bug 2: alert ids


def _event_warehouse(t1: datetime, t2: datetime) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA api_events")
    con.execute(
        "CREATE TABLE api_events.stg_events (event_id VARCHAR, ts TIMESTAMP, client_ip VARCHAR, user_name VARCHAR,"
        " method VARCHAR, path VARCHAR, query VARCHAR, status INTEGER, user_agent VARCHAR, service VARCHAR,"
        " raw_record VARCHAR, day DATE)"
    )
    con.execute(
        "INSERT INTO api_events.stg_events VALUES"
        " ('e1', ?, '203.0.113.9', 'alice', 'POST', '/login', '', 401, 'curl', 'auth', '{}', '2026-01-07'),"
        " ('e2', ?, '203.0.113.9', 'bob', 'POST', '/login', '', 401, 'curl', 'auth', '{}', '2026-01-07')",
        [t1, t2],
    )
    return con


def _event_scores(t1: datetime, t2: datetime, event_ids: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame({
        "client_ip": ["203.0.113.9"] * 2, "window_start": [t1, t2],
        "window_end": [t1 + timedelta(microseconds=1), t2 + timedelta(microseconds=1)],
        "day": [date(2026, 1, 7)] * 2, "ml_score": [0.9, 0.8], "is_anomaly": [True, True],
        "detectors": ["iforest,lof"] * 2, "top_features": ["[]"] * 2, "event_id": event_ids,
    })  # fmt: skip


@pytest.mark.parametrize("same_instant", [False, True])
def test_events_of_one_client_in_one_second_get_own_alert_and_evidence(same_instant: bool) -> None:
    cfg = load_dataset_config(CONFIG_DIR / "api_events.yaml")
    t1 = datetime(2026, 1, 7, 10, 0, 0, 120000)
    t2 = t1 if same_instant else t1 + timedelta(milliseconds=500)
    con = _event_warehouse(t1, t2)
    alerts = attach_evidence(con, select_alerts(_event_scores(t1, t2, ["e1", "e2"]), cfg, top_n=None), cfg,
                             "stg_events", EVENT_EVIDENCE_COLUMNS)  # fmt: skip
    records = alert_records(alerts, cfg)
    assert len({r["alert_id"] for r in records}) == 2
    assert [[e["event_id"] for e in r["evidence"]] for r in records] == [["e1"], ["e2"]]
    # Stable across reruns of the day, whatever order the scores are read in.
    rerun = select_alerts(_event_scores(t1, t2, ["e1", "e2"]).reverse(), cfg, top_n=None)
    assert dict(zip(rerun["event_id"], rerun["alert_id"], strict=True)) == {
        r["alert_id"].rsplit(":", 1)[1]: r["alert_id"] for r in records
    }


def test_alerts_sharing_entity_and_instant_without_event_id_get_distinct_stable_ids() -> None:
    cfg = load_dataset_config(CONFIG_DIR / "api_events.yaml")
    t = datetime(2026, 1, 7, 10, 0, 0)
    scores = _event_scores(t, t, [None, None])
    ids = select_alerts(scores, cfg, top_n=None)["alert_id"].to_list()
    assert ids == ["api_events:203.0.113.9:20260107T100000", "api_events:203.0.113.9:20260107T100000#2"]
    assert select_alerts(scores.reverse(), cfg, top_n=None)["alert_id"].to_list() == ids


def test_whole_second_window_alert_ids_keep_their_format() -> None:
    cfg = load_dataset_config(CONFIG_DIR / "api_events.yaml")
    t = datetime(2026, 1, 7, 10, 5, 0)
    scores = _event_scores(t, t + timedelta(minutes=5), [None, None]).drop("event_id")
    assert select_alerts(scores, cfg, top_n=None)["alert_id"].to_list() == [
        "api_events:203.0.113.9:20260107T100500", "api_events:203.0.113.9:20260107T101000"
    ]  # fmt: skip


# ----------------------------------------------------------------------------------------- bug 3: markdown


def test_top_alerts_markdown_escapes_attacker_text() -> None:
    top = pl.DataFrame({
        "client_ip": ["1.2.3.4|[login here](http://evil.example/)", "5.6.7.8\n| forged | row |"],
        "ml_score": [0.99, 0.98], "attack_type": ["![x](http://evil.example/t.png)", None],
    })  # fmt: skip
    lines = _markdown(top).splitlines()
    assert len(lines) == 4  # header, separator, one line per alert: no forged row
    body = "\n".join(lines[2:])
    assert "](" not in body.replace("\\](", "") and "[login" not in body.replace("\\[login", "")
    assert all(line.count("|") - line.count("\\|") == 4 for line in lines)
    assert _markdown(top.head(0)) == "_no alerts_"


# ----------------------------------------------------------------------------------------- bug 4: version id


@pytest.mark.parametrize("version", ["../../other/versions/v1", "../v1", "..", "a/b", "a\\b", "/abs/v1", ".hidden"])
def test_model_version_must_be_one_folder_name(tmp_path: Path, version: str) -> None:
    other = tmp_path / "models" / "other" / "versions" / "v1"
    other.mkdir(parents=True)
    (other / MANIFEST_FILE).write_text(json.dumps({"sha256": "0" * 64}))
    (tmp_path / "models" / "mine" / "versions").mkdir(parents=True)
    with pytest.raises(ValueError, match="not a version id"):
        load_model_set(tmp_path / "models" / "mine", version=version)


def test_well_formed_unknown_model_version_is_reported_missing(tmp_path: Path) -> None:
    (tmp_path / "versions" / "20260101T000000-abcd1234").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_model_set(tmp_path, version="20260102T000000-local")
