"""Synthetic API events: determinism, layout, every abuse type labelled."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from vigia.events.files import read_event_files
from vigia.events.synth import (
    ATTACK_TYPES,
    ECS_COLUMNS,
    default_start,
    generate_api_events,
    write_json_array,
    write_ndjson,
)


def test_deterministic_and_layout() -> None:
    a = generate_api_events(default_start(), 3000, seed=5)
    b = generate_api_events(default_start(), 3000, seed=5)
    c = generate_api_events(default_start(), 3000, seed=6)
    assert a.equals(b) and not a.equals(c)
    assert a.columns == list(ECS_COLUMNS) and a.height == 3000
    assert a["@timestamp"].is_sorted()
    assert a["client.ip"].n_unique() > 200 and a["url.path"].n_unique() > 100


def test_every_abuse_type_labelled() -> None:
    ev = generate_api_events(default_start(), 20_000, seed=1, attack_fraction=0.04)
    attacks = ev.filter(pl.col("label") == 1)
    assert set(attacks["attack_type"].unique()) == set(ATTACK_TYPES)
    assert ev.filter(pl.col("label") == 0)["attack_type"].null_count() == ev.filter(pl.col("label") == 0).height
    stuffing = attacks.filter(pl.col("attack_type") == "credential_stuffing")
    assert stuffing["client.ip"].n_unique() <= 3 and stuffing["user.name"].n_unique() > 50
    assert (stuffing["url.path"] == "/api/v1/login").all() and (
        stuffing["http.response.status_code"] == 401
    ).mean() > 0.9
    scraping = attacks.filter(pl.col("attack_type") == "scraping")
    assert scraping["client.ip"].n_unique() == 1 and scraping["url.path"].n_unique() > 100
    inj = attacks.filter(pl.col("attack_type") == "injection")
    text = pl.concat_str(["url.path", "url.query", "http.request.body.content"]).str.to_lowercase()
    assert inj.select(
        text.str.contains(r"select|script|\.\.|'|--|drop|sleep|passwd|%27|javascript|\$\(|onerror").all()
    ).item()
    storm = attacks.filter(pl.col("attack_type") == "error_storm")
    assert (storm["http.response.status_code"] >= 400).all()


def test_diurnal_rhythm() -> None:
    ev = generate_api_events(default_start(), 20_000, seed=2, attack_types=())
    by_hour = ev.group_by(pl.col("@timestamp").dt.hour().alias("h")).len().sort("h")["len"].to_list()
    assert by_hour[3] * 5 < by_hour[19]  # 03:00 much quieter than 19:00


def test_writers_round_trip(tmp_path: Path) -> None:
    ev = generate_api_events(default_start(), 500, seed=3)
    for path in (write_ndjson(ev, tmp_path / "a.ndjson.gz"), write_json_array(ev, tmp_path / "b.json")):
        r = read_event_files(path, dataset="t", run_id="r")
        assert r.read == r.accepted == 500 and r.rejected == 0
        assert r.events["label"].sum() == ev["label"].sum()
        assert r.events["path"].to_list() == ev["url.path"].to_list()
