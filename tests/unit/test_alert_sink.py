"""Alert sink: snooze, NDJSON durability, Slack-style webhook batching/retries, secret hygiene."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vigia.alerting import (
    AlertSinkConfig,
    InMemorySnoozeState,
    JsonFileSnoozeState,
    deliver_alerts,
)

TOKEN_PATH = "/services/T0000/B0000/sEcReTt0kEn42"
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


class FakeWebhook:
    """Local HTTP server recording JSON bodies; answers from a script of (status, headers), then 200."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.paths: list[str] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hook._lock:
                    hook.bodies.append(json.loads(raw))
                    hook.paths.append(self.path)
                    status, headers = hook.script.pop(0) if hook.script else (200, {})
                payload = b"ok" if status == 200 else b"invalid_payload"
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{TOKEN_PATH}?token=abc123secret"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[FakeWebhook]:
    h = FakeWebhook()
    yield h
    h.close()


def make_alert(i: int, entity: str | None = None, window: int = 0, dataset: str = "zeek") -> dict:
    start = T0 + timedelta(seconds=300 * window)
    return {
        "alert_id": f"a{i}",
        "dataset": dataset,
        "entity": entity or f"10.0.0.{i}",
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(seconds=300)).isoformat(),
        "ml_score": 0.9,
        "detectors": "iforest,lof",
        "top_features": [{"feature": f"f{k}", "z": 4.0 - k, "value": k * 10} for k in range(5)],
        "attack_type": "portscan" if i % 2 else None,
        "evidence": [{"uid": f"C{i}", "bytes": 123}],
    }


def read_ndjson(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def cfg_for(tmp_path: Path, url: str | None = None, **kw: object) -> AlertSinkConfig:
    kw.setdefault("backoff_s", 0.01)
    kw.setdefault("timeout_s", 2.0)
    return AlertSinkConfig(ndjson_path=tmp_path / "out" / "alerts.ndjson", webhook_url=url, **kw)  # type: ignore[arg-type]


def test_ndjson_written_and_appended_without_webhook(tmp_path: Path) -> None:
    cfg = cfg_for(tmp_path)
    state = InMemorySnoozeState()
    a = make_alert(1)
    a["entity"] = "hôte-ü"
    r1 = deliver_alerts([a, make_alert(2)], cfg, state)
    r2 = deliver_alerts([make_alert(3)], cfg, state)
    rows = read_ndjson(cfg.ndjson_path)
    assert [r["alert_id"] for r in rows] == ["a1", "a2", "a3"]
    assert rows[0]["entity"] == "hôte-ü" and rows[0]["evidence"] == [{"uid": "C1", "bytes": 123}]
    assert r1.delivered == 2 and r2.delivered == 1
    d = r1.to_dict()
    assert d["webhook_configured"] is False and d["webhook_host"] is None and d["webhook_ok"] is True
    assert d["batches_sent"] == 0 and d["ndjson_path"] == str(cfg.ndjson_path)
    assert set(d) == {
        "received", "delivered", "suppressed", "suppressed_ids", "ndjson_path", "webhook_configured",
        "webhook_host", "webhook_ok", "webhook_error", "batches_sent", "batches_failed", "seconds",
    }  # fmt: skip


def test_batching_and_slack_shape(tmp_path: Path, hook: FakeWebhook) -> None:
    alerts = [make_alert(i) for i in range(45)]
    rep = deliver_alerts(alerts, cfg_for(tmp_path, hook.url, batch_size=20), InMemorySnoozeState())
    assert rep.webhook_ok and rep.batches_sent == 3 and rep.batches_failed == 0 and rep.delivered == 45
    assert [len(b["blocks"]) for b in hook.bodies] == [20, 20, 5]
    assert hook.paths[0].startswith(TOKEN_PATH)
    body = hook.bodies[0]
    assert isinstance(body["text"], str) and "20" in body["text"]
    block = body["blocks"][1]
    assert block["type"] == "section" and block["text"]["type"] == "mrkdwn"
    text = block["text"]["text"]
    assert "10.0.0.1" in text and "0.900" in text and "iforest,lof" in text and "portscan" in text
    assert "f0" in text and "f2" in text and "f3" not in text  # top 3 features only
    assert "attack type" not in body["blocks"][0]["text"]["text"]  # attack_type None
    assert rep.webhook_host == f"127.0.0.1:{hook.server.server_address[1]}"


def test_snooze_within_batch_and_across_calls_with_json_state(tmp_path: Path) -> None:
    cfg = cfg_for(tmp_path, snooze_windows=12, window_seconds=300)
    state_path = tmp_path / "state" / "snooze.json"
    # Same entity 1 window apart, given out of order: only the earlier window is delivered.
    batch = [make_alert(2, "10.9.9.9", window=1), make_alert(1, "10.9.9.9", window=0), make_alert(3, "10.1.1.1")]
    r1 = deliver_alerts(batch, cfg, JsonFileSnoozeState(state_path))
    assert (r1.delivered, r1.suppressed, r1.suppressed_ids) == (2, 1, ["a2"])
    assert json.loads(state_path.read_text())["last_alerted"]["zeek"]["10.9.9.9"] == batch[1]["window_start"]

    # New process: state reloaded from disk. Window 11 still snoozed, other dataset not, window 12 delivered again.
    state = JsonFileSnoozeState(state_path)
    r2 = deliver_alerts([make_alert(4, "10.9.9.9", window=11), make_alert(5, "10.9.9.9", dataset="other")], cfg, state)
    assert r2.suppressed_ids == ["a4"] and r2.delivered == 1
    r3 = deliver_alerts([make_alert(6, "10.9.9.9", window=12)], cfg, JsonFileSnoozeState(state_path))
    assert r3.delivered == 1 and r3.suppressed == 0
    # An older window than the last delivered one is also suppressed.
    r4 = deliver_alerts([make_alert(7, "10.9.9.9", window=5)], cfg, JsonFileSnoozeState(state_path))
    assert r4.suppressed_ids == ["a7"]
    assert [r["alert_id"] for r in read_ndjson(cfg.ndjson_path)] == ["a1", "a3", "a5", "a6"]
    assert not list(state_path.parent.glob("*.tmp"))


def test_500_then_200_is_retried(tmp_path: Path, hook: FakeWebhook) -> None:
    hook.script = [(500, {})]
    rep = deliver_alerts([make_alert(1)], cfg_for(tmp_path, hook.url), InMemorySnoozeState())
    assert len(hook.bodies) == 2 and hook.bodies[0] == hook.bodies[1]
    assert rep.webhook_ok and rep.batches_sent == 1 and rep.webhook_error is None


def test_429_retry_after_then_200(tmp_path: Path, hook: FakeWebhook) -> None:
    hook.script = [(429, {"Retry-After": "0"})]
    rep = deliver_alerts([make_alert(1)], cfg_for(tmp_path, hook.url, backoff_s=30.0), InMemorySnoozeState())
    assert len(hook.bodies) == 2 and rep.webhook_ok and rep.seconds < 5  # Retry-After used, not the 30 s backoff


def test_400_not_retried_and_reported(tmp_path: Path, hook: FakeWebhook) -> None:
    hook.script = [(400, {})]
    cfg = cfg_for(tmp_path, hook.url)
    rep = deliver_alerts([make_alert(1)], cfg, InMemorySnoozeState())
    assert len(hook.bodies) == 1
    assert not rep.webhook_ok and rep.batches_failed == 1 and rep.batches_sent == 0
    assert rep.webhook_error and "400" in rep.webhook_error
    assert len(read_ndjson(cfg.ndjson_path)) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhook_down_never_raises_and_hides_url(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://user:pw@127.0.0.1:{_closed_port()}{TOKEN_PATH}?token=abc123secret"
    cfg = cfg_for(tmp_path, url, max_retries=1, batch_size=2)
    with caplog.at_level(logging.DEBUG):
        rep = deliver_alerts([make_alert(i) for i in range(5)], cfg, InMemorySnoozeState())
    assert len(read_ndjson(cfg.ndjson_path)) == 5
    assert rep.webhook_configured and not rep.webhook_ok and rep.webhook_error
    assert rep.batches_sent == 0 and rep.batches_failed == 3
    dumped = json.dumps(rep.to_dict()) + caplog.text + repr(cfg)
    for secret in ("sEcReTt0kEn42", "abc123secret", TOKEN_PATH, "pw@", url):
        assert secret not in dumped
    assert "127.0.0.1" in rep.to_dict()["webhook_host"]


def test_secret_absent_from_report_and_logs_on_http_error(
    tmp_path: Path, hook: FakeWebhook, caplog: pytest.LogCaptureFixture
) -> None:
    hook.script = [(503, {}), (503, {}), (503, {})]
    with caplog.at_level(logging.DEBUG):
        rep = deliver_alerts([make_alert(1)], cfg_for(tmp_path, hook.url), InMemorySnoozeState())
    assert len(hook.bodies) == 3 and not rep.webhook_ok and "503" in (rep.webhook_error or "")
    dumped = json.dumps(rep.to_dict()) + caplog.text
    assert "sEcReTt0kEn42" not in dumped and "abc123secret" not in dumped
