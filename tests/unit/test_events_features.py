"""Event features: text statistics, token counts, encoders (train-only, unknown bucket), client windows, novelty."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from vigia.events.features import EventEncoders, event_features, feature_matrix, fit_event_encoders
from vigia.events.files import canonical_events
from vigia.events.novelty import TokenNoveltyModel
from vigia.events.synth import default_start, generate_api_events

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def _events(rows: list[dict]) -> pl.DataFrame:
    base = {"event_id": None, "ts": T0, "client_ip": "10.0.0.1", "user_name": None, "method": "GET", "path": "/",
            "query": "", "body": "", "status": 200, "user_agent": "curl/8.0", "service": "web"}  # fmt: skip
    return pl.DataFrame([{**base, "event_id": f"e{i}", **r} for i, r in enumerate(rows)]).with_columns(
        pl.col("status").cast(pl.Int32)
    )


def test_text_features_hand_computed() -> None:
    ev = _events([{"path": "/aB1%27", "query": "q=1' or 1=1--;<script>", "body": "../../etc"}])
    enc = fit_event_encoders(ev)
    f = event_features(ev, enc, windows=False).row(0, named=True)
    # "/aB1%27": 7 chars, letters a,B = 2, digits 1,2,7 = 3, special / and % = 2, upper B = 1, one %XX
    assert f["path_len"] == 7
    assert f["path_letter_ratio"] == pytest.approx(2 / 7) and f["path_digit_ratio"] == pytest.approx(3 / 7)
    assert f["path_special_ratio"] == pytest.approx(2 / 7) and f["path_upper_ratio"] == pytest.approx(1 / 7)
    assert f["path_pct_ratio"] == pytest.approx(1 / 7) and f["path_nonascii_ratio"] == 0
    counts = {"/": 1, "a": 1, "B": 1, "1": 1, "%": 1, "2": 1, "7": 1}
    assert f["path_entropy"] == pytest.approx(-sum(c / 7 * math.log2(c / 7) for c in counts.values()))
    # payload "/ab1' q=1' or 1=1--;<script> ../../etc" (%27 decoded to a quote)
    assert f["tok_quote"] == 2 and f["tok_comment"] == 1 and f["tok_semicolon"] == 1
    assert f["tok_lt"] == 1 and f["tok_gt"] == 1 and f["tok_script"] == 1 and f["tok_traversal"] == 2
    assert f["tok_or_true"] == 1 and f["tok_select"] == 0
    assert f["body_len"] == 9 and f["user_agent_len"] == 8


def test_encoders_train_only_and_unknown(tmp_path: Path) -> None:
    train = _events([{"method": "GET", "path": "/api/items/1"}, {"method": "GET", "path": "/api/items/22"},
                     {"method": "POST", "path": "/login", "status": 401}, {"method": "GET", "path": "/api/items/3"}])  # fmt: skip  # noqa: E501
    enc = fit_event_encoders(train)
    assert enc.categories["path_template"] == {"/api/items/{n}": 0.75, "/login": 0.25}
    assert enc.categories["status_class"] == {"2xx": 0.75, "4xx": 0.25}
    test = _events([{"method": "PATCH", "path": "/admin/7", "user_agent": "sqlmap/1.7"}, {"path": "/api/items/999"}])
    f = event_features(test, enc, windows=False)
    unk = math.log10(0.5 / 4)
    assert f["method_freq"].to_list() == pytest.approx([unk, math.log10(0.75)])
    assert f["path_template_freq"].to_list() == pytest.approx([unk, math.log10(0.75)])
    assert f["ua_family_freq"].to_list() == pytest.approx([unk, 0.0])
    enc2 = EventEncoders.load(enc.save(tmp_path / "enc.joblib"))
    assert event_features(test, enc2, windows=False).equals(f)
    assert feature_matrix(f, enc).shape == (2, len(enc.feature_columns()))


def test_client_windows_hand_made() -> None:
    rows = [
        {"client_ip": "1.1.1.1", "ts": T0, "path": "/login", "method": "POST", "status": 401, "user_name": "a"},
        {"client_ip": "1.1.1.1", "ts": T0 + timedelta(seconds=10), "path": "/login", "method": "POST", "status": 401, "user_name": "b"},  # noqa: E501
        {"client_ip": "1.1.1.1", "ts": T0 + timedelta(seconds=20), "path": "/api/items/5", "method": "GET", "status": 200, "user_name": "b"},  # noqa: E501
        {"client_ip": "1.1.1.1", "ts": T0 + timedelta(minutes=6), "path": "/api/items/6", "method": "GET", "status": 200},  # noqa: E501
        {"client_ip": "2.2.2.2", "ts": T0 + timedelta(seconds=30), "path": "/x", "method": "GET", "status": 500},
    ]  # fmt: skip
    ev = _events(rows)
    f = event_features(ev, fit_event_encoders(ev), window="5m")
    assert f["event_id"].to_list() == ["e0", "e1", "e2", "e3", "e4"]
    assert f["win_requests"].to_list() == [3, 3, 3, 1, 1]
    assert f["win_rate_per_s"][0] == pytest.approx(3 / 300)
    assert f["win_error_rate"].to_list() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 0, 1])
    assert f["win_distinct_paths"].to_list() == [2, 2, 2, 1, 1]
    assert f["win_distinct_methods"].to_list() == [2, 2, 2, 1, 1]
    assert f["win_distinct_users"].to_list() == [2, 2, 2, 0, 0]
    assert f["win_failed_logins"].to_list() == [2, 2, 2, 0, 0]


def test_synthetic_pipeline_keeps_ids_and_labels() -> None:
    ev = canonical_events(generate_api_events(default_start(), 3000, seed=4))
    enc = fit_event_encoders(ev.filter(pl.col("label") == 0))
    f = event_features(ev, enc)
    assert f.height == ev.height and f["event_id"].to_list() == ev["event_id"].to_list()
    assert f["label"].sum() == ev["label"].sum() and "attack_type" in f.columns and "win_requests" in f.columns
    assert feature_matrix(f, enc).shape == (3000, len(enc.feature_columns(windows=True)))


def test_token_novelty() -> None:
    train = _events([{"method": "GET", "path": "/shop/buy.jsp", "query": f"id={i}&name=Ana+P%E9rez"} for i in range(1, 30)]  # noqa: E501
                    + [{"method": "POST", "path": "/login", "body": "user=bob&pwd=secret"}])  # fmt: skip
    model = TokenNoveltyModel.fit(train)
    test = _events([
        {"method": "GET", "path": "/shop/buy.jsp", "query": "id=77&name=Eva+G%F3mez"},  # new values, same shapes
        {"method": "GET", "path": "/shop/buy.jsp", "query": "id=1'+OR+'1'='1&name=Ana+Ruiz"},  # new shape
        {"method": "PUT", "path": "/shop/buy.jsp", "query": "id=1&debug=1"},  # new method + new param
        {"method": "POST", "path": "/login", "body": "user=bob&pwd=" + "x" * 50},  # too long
    ])  # fmt: skip
    comp = model.components(test)
    assert comp["novelty"].to_list()[0] == 0
    assert comp["novel_shape"][1] == 1
    assert comp["novel_method_path"][2] == 1 and comp["novel_param"][2] == 1
    assert comp["novel_length"][3] == 1
    assert (model.score(test) > 0).tolist() == [False, True, True, True]


def test_derived_columns_computed_per_distinct_value_equal_row_by_row() -> None:
    """Path templates, user-agent families and shapes are computed once per distinct value and joined back; the
    result must equal applying the expressions to every row (nulls, repeats and precomputed columns included)."""
    from vigia.events.features import MAX_SHAPE_CHARS, TEXT_FIELDS, _with_derived
    from vigia.events.text import compact_shape_expr, path_template_expr, ua_family_expr

    ev = _events([
        {"path": "/api/orders/123/items", "user_agent": "sqlmap/1.7", "body": "a=%E9t%C3"},
        {"path": None, "user_agent": None, "query": None, "body": None},
        {"path": "/api/orders/123/items", "user_agent": "Mozilla/5.0 Firefox/120", "query": "id=1' OR 1=1"},
        {"path": "/api/orders/9f0c2d1e4b5a6c7d/x", "user_agent": "", "body": "x" * (MAX_SHAPE_CHARS + 10)},
        {"path": None, "user_agent": "sqlmap/1.7"},
    ]).with_columns(pl.lit("stale").alias("path_template"))  # a precomputed column is replaced, not joined twice
    got = _with_derived(ev).collect()
    expected = ev.with_columns(
        path_template_expr(pl.col("path")).alias("path_template"),
        ua_family_expr(pl.col("user_agent")).alias("ua_family"),
        *[compact_shape_expr(pl.col(f).str.slice(0, MAX_SHAPE_CHARS)).alias(f"_{f}_shape") for f in TEXT_FIELDS],
    )
    assert got["event_id"].to_list() == ev["event_id"].to_list()  # row order kept
    for col in ("path_template", "ua_family", *(f"_{f}_shape" for f in TEXT_FIELDS)):
        assert got[col].to_list() == expected[col].to_list(), col
    assert got["path_template"].to_list()[:2] == ["/api/orders/{n}/items", ""]
    assert got["ua_family"].to_list() == ["scanner", "none", "firefox", "none", "scanner"]
