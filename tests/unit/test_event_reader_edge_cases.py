"""Event reader edge cases: containers vs events, hit ids, field precedence, labels, epoch units, cut arrays."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from vigia.events.features import WINDOW_COLUMNS, event_features, fit_event_encoders
from vigia.events.files import EventReadResult, canonical_events, read_event_files
from vigia.events.synth import generate_api_events

EV = {"@timestamp": "2026-01-05T10:00:00Z", "url": {"path": "/api/orders"}, "client": {"ip": "10.0.0.1"}}
T0 = datetime(2026, 1, 5, 10, tzinfo=UTC)


def _read(tmp_path: Path, text: str, name: str = "e.ndjson") -> EventReadResult:
    (tmp_path / name).write_text(text)
    r = read_event_files(tmp_path / name, dataset="t", run_id="r")
    assert r.read == r.accepted + r.rejected
    return r


def _ndjson(*records: dict) -> str:
    return "".join(json.dumps(rec) + "\n" for rec in records)


@pytest.mark.parametrize("key", ["data", "events", "records"])
def test_single_event_with_a_container_named_list_is_one_event(tmp_path: Path, key: str) -> None:
    phantom = {"@timestamp": "2026-01-05T11:00:00Z", "url": {"path": "/x"}}
    r = _read(tmp_path, _ndjson({**EV, key: [phantom, 3]}))
    assert (r.read, r.accepted, r.events["path"].to_list()) == (1, 1, ["/api/orders"])
    assert json.loads(r.events["extra"][0])[key][0]["url"]["path"] == "/x"  # the list stays the event's field


def test_pretty_printed_single_event_is_one_event(tmp_path: Path) -> None:
    r = _read(tmp_path, json.dumps({**EV, "data": [1, 2]}, indent=2), "e.json")
    assert (r.read, r.accepted, r.events["path"].to_list()) == (1, 1, ["/api/orders"])


@pytest.mark.parametrize("key", ["data", "events", "records"])
def test_real_containers_still_give_their_events(tmp_path: Path, key: str) -> None:
    doc = {"exported_at": "2026-01-06", key: [EV, {**EV, "url": {"path": "/b"}}]}
    for text in (json.dumps(doc), json.dumps(doc, indent=2)):
        r = _read(tmp_path, text, "c.json")
        assert r.events["path"].to_list() == ["/api/orders", "/b"] and r.rejected == 0
    hits = {"took": 3, "hits": {"total": 2, "hits": [{"_id": "a", "_source": EV}, {"_id": "b", "_source": EV}]}}
    assert _read(tmp_path, json.dumps(hits), "h.json").events["event_id"].to_list() == ["a", "b"]


def test_hit_id_survives_an_ecs_event_object_and_event_id_wins(tmp_path: Path) -> None:
    hit = {"_index": "api", "_id": "doc-1", "_source": {**EV, "event": {"duration": 12.5}}}
    r = _read(tmp_path, json.dumps({"hits": {"hits": [hit, hit]}}), "h.json")
    assert r.events["event_id"].to_list() == ["doc-1", "doc-1"] and r.events["duration_ms"][0] == 12.5
    r = _read(tmp_path, _ndjson(hit, {**hit, "_source": {**EV, "event": {"id": "ev-9", "duration": 1}}}))
    assert r.events["event_id"].to_list() == ["doc-1", "ev-9"]


def test_field_precedence_follows_the_field_map_not_the_key_order(tmp_path: Path) -> None:
    r = _read(tmp_path, _ndjson(
        {"timestamp": "2025-12-31T00:00:00Z", "@timestamp": "2026-01-05T10:00:00Z", "url.path": "/a"},
        {"source": {"ip": "10.9.9.9"}, "client": {"ip": "1.2.3.4"}, "@timestamp": "2026-01-05T10:00:00Z",
         "url.path": "/b"},
        {"@timestamp": None, "timestamp": "2026-01-05T10:00:00Z", "url.path": "/c"},  # null: the next one
    ))  # fmt: skip
    assert r.events["ts"].to_list() == [T0] * 3 and r.events["client_ip"].to_list() == [None, "1.2.3.4", None]


def test_label_vocabulary_is_case_insensitive(tmp_path: Path) -> None:
    labels = ["true", "True", "Malicious", "ATTACK", "Anomalous", "1.0", " attack ", True, 1, 1.0, "1",
              "false", "Benign", "NORMAL", "0", "0.0", 0, False, None, ""]  # fmt: skip
    r = _read(tmp_path, _ndjson(*({**EV, "label": v} for v in labels)))
    assert r.events["label"].to_list() == [1] * 11 + [0] * 7 + [None] * 2
    assert r.unknown_labels == 0 and r.events["notes"].null_count() == len(labels)


def test_unrecognised_label_is_unknown_noted_and_counted(tmp_path: Path) -> None:
    r = _read(tmp_path, _ndjson(*({**EV, "label": v} for v in ["maybe", "yes", 2, "malicous", "attack"])))
    assert r.accepted == 5 and r.events["label"].to_list() == [None, None, None, None, 1]
    assert r.unknown_labels == 4 and r.summary()["unknown_labels"] == 4
    assert r.events["notes"][0] == "label 'maybe' not recognised: stored as unknown (null)"
    assert r.events["notes"][4] is None


def test_epoch_unit_is_told_by_magnitude_and_digit_text_is_epoch(tmp_path: Path) -> None:
    stamps = [1767607200, 1767607200.0, 1767607200000, "1767607200000", "1767607200", 1767607200000000,
              1767607200000000000, "2026-01-05T10:00:00Z"]  # fmt: skip
    r = _read(tmp_path, _ndjson(*({**EV, "@timestamp": t} for t in stamps)))
    assert r.rejected == 0 and r.events["ts"].to_list() == [T0] * len(stamps)
    r = _read(tmp_path, _ndjson({**EV, "@timestamp": "12:30"}, {**EV, "@timestamp": "1e9x"}))
    assert r.rejected == 2 and "epoch number expected" in r.rejects["reason"][0]


def test_truncated_array_export_keeps_its_complete_events(tmp_path: Path) -> None:
    events = [{**EV, "url": {"path": f"/p{i}"}} for i in range(3)]
    lines = "[" + ",\n".join(json.dumps(e) for e in events)
    for text, kept, why in [
        (json.dumps(events, indent=2)[:-30], 2, "chars unread"),
        (json.dumps(events)[:-10], 2, "chars unread"),
        (lines + ",\n", 3, "not closed"),
    ]:
        r = _read(tmp_path, text, "cut.json")
        assert r.read == kept + 1 and r.events["path"].to_list() == ["/p0", "/p1", "/p2"][:kept] and r.rejected == 1
        reason = r.rejects["reason"][0]
        assert reason.startswith(f"malformed JSON: array cut short or broken after item {kept} (") and why in reason
        assert r.rejects["line_number"][0] == kept + 1
    r = _read(tmp_path, json.dumps(events[:2]) + "\n" + json.dumps(events[2:]) + "\n", "two.json")  # unchanged
    assert r.read == 2 and r.accepted == 0


def test_events_without_client_ip_keep_the_window_columns() -> None:
    ev = canonical_events(generate_api_events(T0, 400, seed=3))
    enc = fit_event_encoders(ev.filter(pl.col("label") == 0))
    with_ip = event_features(ev, enc)
    without = event_features(ev.with_columns(pl.lit(None, pl.String).alias("client_ip")), enc)
    assert without.columns == with_ip.columns and set(WINDOW_COLUMNS) <= set(without.columns)
    win = without.select(WINDOW_COLUMNS)
    assert win.null_count().sum_horizontal()[0] == 0 and win["win_requests"].unique().to_list() == [1.0]
    mixed = event_features(ev.with_columns(pl.when(pl.int_range(pl.len()) < 2).then(None).otherwise(pl.lit("c"))
                                           .alias("client_ip")), enc)  # fmt: skip
    assert mixed["win_requests"][:2].to_list() == [1.0, 1.0]  # two events without IP are not one client
