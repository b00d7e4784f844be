"""Alert delivery edge cases: redirects, invalid URLs, slow/huge answers, symmetric snooze, damaged state."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vigia.alerting import AlertSinkConfig, InMemorySnoozeState, JsonFileSnoozeState, deliver_alerts

SECRET = "/services/T0000/B0000/sEcReTt0kEn42"
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
BAD_URLS = [
    "hooks.slack.com/services/T000/B000/SECRETTOKEN",
    "htps://hooks.slack.com/services/T000/B000/SECRETTOKEN",
    "https://hooks.slack.com:44x/services/T000/B000/SECRETTOKEN",
]


class Server:
    """Local webhook: /ok answers 200, /redirectNNN answers NNN, /trickle and /huge stream endless bodies."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.sent_bytes = 0
        self.stop = threading.Event()
        srv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                srv.seen.append(("GET", self.path))
                self._answer(200)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                srv.seen.append(("POST", self.path))
                if self.path.startswith("/redirect"):
                    code = int(self.path[9:12])
                    self._answer(code, {"Location": f"https://elsewhere.example{SECRET}?token=loc0secret"})
                elif self.path.startswith("/fail"):
                    self._answer(int(self.path[5:8]))
                elif self.path.startswith(("/trickle", "/huge")):
                    trickle = self.path.startswith("/trickle")
                    self.send_response(200)
                    self.send_header("Content-Length", str(200 * 1024 * 1024))
                    self.end_headers()
                    chunk = b"x" if trickle else b"y" * 65536
                    try:
                        while not srv.stop.is_set() and srv.sent_bytes < 200 * 1024 * 1024:
                            self.wfile.write(chunk)
                            self.wfile.flush()
                            srv.sent_bytes += len(chunk)
                            if trickle:
                                time.sleep(0.05)
                    except OSError:
                        pass
                    self.close_connection = True
                else:
                    self._answer(200)

            def _answer(self, code: int, headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"{self.base}/{path}{SECRET}?token=abc123secret"

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def alert(i: int, entity: str = "10.0.0.1", minutes: int = 0) -> dict:
    start = T0 + timedelta(minutes=minutes)
    return {
        "alert_id": f"zeek:{entity}:{start:%Y%m%dT%H%M%S}:{i}",
        "dataset": "zeek",
        "entity": entity,
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(minutes=5)).isoformat(),
        "ml_score": 0.9,
        "detectors": "iforest",
        "top_features": [],
        "evidence": [],
    }


def cfg(tmp_path: Path, url: str | None = None, **kw: object) -> AlertSinkConfig:
    kw.setdefault("backoff_s", 0.01)
    kw.setdefault("timeout_s", 2.0)
    kw.setdefault("max_retries", 0)
    return AlertSinkConfig(ndjson_path=tmp_path / "alerts.ndjson", webhook_url=url, **kw)  # type: ignore[arg-type]


def ndjson_ids(path: Path) -> list[str]:
    return [json.loads(line)["alert_id"] for line in path.read_text(encoding="utf-8").splitlines()]


def deliver_in_thread(alerts: list[dict], c: AlertSinkConfig, limit_s: float) -> tuple[object, float]:
    """Run deliver_alerts, failing the test (instead of hanging) when it takes more than ``limit_s``."""
    out: dict[str, object] = {}

    def target() -> None:
        t = time.monotonic()
        out["r"] = deliver_alerts(alerts, c, InMemorySnoozeState())
        out["t"] = time.monotonic() - t

    th = threading.Thread(target=target, daemon=True)
    th.start()
    th.join(limit_s)
    assert not th.is_alive(), f"deliver_alerts still running after {limit_s} s"
    return out["r"], float(out["t"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- bug 1: redirects


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_is_a_failed_batch_not_followed(tmp_path: Path, server: Server, code: int) -> None:
    rep = deliver_alerts([alert(1)], cfg(tmp_path, server.url(f"redirect{code}")), InMemorySnoozeState())
    assert server.seen == [("POST", f"/redirect{code}{SECRET}?token=abc123secret")]  # no GET follow-up
    assert not rep.webhook_ok and rep.batches_sent == 0 and rep.batches_failed == 1
    err = rep.webhook_error or ""
    assert f"HTTP {code}" in err and "elsewhere.example" in err and "final webhook URL" in err
    for secret in ("sEcReTt0kEn42", "abc123secret", "loc0secret"):
        assert secret not in json.dumps(rep.to_dict())


# --------------------------------------------------------------------------- bug 2: invalid URL


@pytest.mark.parametrize("url", BAD_URLS)
def test_invalid_url_is_reported_redacted_never_raised(
    tmp_path: Path, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    c = cfg(tmp_path, url, batch_size=1)
    with caplog.at_level(logging.DEBUG):
        rep = deliver_alerts([alert(1), alert(2, "10.0.0.2")], c, InMemorySnoozeState())
    assert not rep.webhook_ok and rep.batches_sent == 0 and rep.batches_failed == 2
    assert "URL" in (rep.webhook_error or "")
    dumped = json.dumps(rep.to_dict()) + caplog.text
    assert "SECRETTOKEN" not in dumped and "services/T000" not in dumped
    assert len(ndjson_ids(c.ndjson_path)) == 2


@pytest.mark.parametrize("first_url", ["bad", "fail503", "down"])
def test_failed_webhook_alerts_posted_by_later_run_without_ndjson_duplicates(
    tmp_path: Path, server: Server, first_url: str
) -> None:
    state_path = tmp_path / "snooze.json"
    alerts = [alert(1), alert(2, "10.0.0.2")]
    urls = {"bad": BAD_URLS[0], "fail503": server.url("fail503"), "down": f"http://127.0.0.1:{_closed_port()}/x"}
    url = urls[first_url]
    r1 = deliver_alerts(alerts, cfg(tmp_path, url), JsonFileSnoozeState(state_path))
    assert not r1.webhook_ok and r1.delivered == 2
    r2 = deliver_alerts(alerts, cfg(tmp_path, server.url("ok")), JsonFileSnoozeState(state_path))
    assert r2.webhook_ok and r2.batches_sent == 1 and r2.delivered == 2 and r2.suppressed == 0
    assert ndjson_ids(tmp_path / "alerts.ndjson") == [a["alert_id"] for a in alerts]  # appended once
    r3 = deliver_alerts(alerts, cfg(tmp_path, server.url("ok")), JsonFileSnoozeState(state_path))
    assert r3.delivered == 0 and r3.suppressed == 2  # now delivered: not again
    assert [p for _, p in server.seen if p.startswith("/ok")] == [f"/ok{SECRET}?token=abc123secret"]


def test_resource_with_invalid_url_does_not_raise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from resources.alert_sink import AlertSink

    monkeypatch.setenv("VIGIA_TEST_HOOK", BAD_URLS[0])
    rep = AlertSink(root=str(tmp_path), webhook_url_env="VIGIA_TEST_HOOK").deliver("zeek", [alert(1)], 300)
    assert not rep.webhook_ok and "SECRETTOKEN" not in json.dumps(rep.to_dict())


# --------------------------------------------------------------------------- bug 3: deadline and read cap


def test_trickling_answer_fails_at_the_deadline(tmp_path: Path, server: Server) -> None:
    rep, took = deliver_in_thread([alert(1)], cfg(tmp_path, server.url("trickle"), timeout_s=1.0), limit_s=10)
    assert took < 4 and not rep.webhook_ok and rep.batches_failed == 1  # type: ignore[attr-defined]


def test_huge_answer_is_not_read_whole(tmp_path: Path, server: Server) -> None:
    rep, _ = deliver_in_thread([alert(1)], cfg(tmp_path, server.url("huge"), timeout_s=5.0), limit_s=30)
    assert rep.webhook_ok  # type: ignore[attr-defined]
    time.sleep(0.2)
    assert server.sent_bytes < 50 * 1024 * 1024  # the client stopped reading early (socket buffers aside)


# --------------------------------------------------------------------------- bug 4: symmetric snooze


def test_snooze_is_symmetric_in_time_for_backfills(tmp_path: Path) -> None:
    c = cfg(tmp_path, snooze_windows=12, window_seconds=300)  # 1 h
    state_path = tmp_path / "snooze.json"
    later = alert(1, minutes=24 * 60)
    assert deliver_alerts([later], c, JsonFileSnoozeState(state_path)).delivered == 1
    # Processing the previous day afterwards: 23 h earlier is delivered, 30 min before the delivered one is not.
    r = deliver_alerts([alert(2, minutes=60), alert(3, minutes=23 * 60 + 30)], c, JsonFileSnoozeState(state_path))
    assert r.delivered == 1 and r.suppressed_ids == [alert(3, minutes=23 * 60 + 30)["alert_id"]]


def test_rerun_of_same_alerts_not_redelivered_even_without_snooze(tmp_path: Path) -> None:
    c = cfg(tmp_path, snooze_windows=0)
    state_path = tmp_path / "snooze.json"
    alerts = [alert(1), alert(2, minutes=5)]
    assert deliver_alerts(alerts, c, JsonFileSnoozeState(state_path)).delivered == 2
    r2 = deliver_alerts([*alerts, alert(3, minutes=10)], c, JsonFileSnoozeState(state_path))
    assert r2.delivered == 1 and r2.suppressed == 2
    assert len(ndjson_ids(c.ndjson_path)) == 3


def test_version1_state_file_still_read(tmp_path: Path) -> None:
    state_path = tmp_path / "snooze.json"
    v1 = {"version": 1, "last_alerted": {"zeek": {"10.0.0.1": T0.isoformat()}}}
    state_path.write_text(json.dumps(v1))
    c = cfg(tmp_path, snooze_windows=12, window_seconds=300)
    r = deliver_alerts([alert(1, minutes=-30), alert(2, minutes=-120)], c, JsonFileSnoozeState(state_path))
    assert r.suppressed == 1 and r.delivered == 1  # 30 min before the recorded one: snoozed; 2 h: not
    assert json.loads(state_path.read_text())["last_alerted"]["zeek"]["10.0.0.1"] == T0.isoformat()


def test_state_keeps_a_bounded_record_per_entity(tmp_path: Path) -> None:
    from vigia.alerting import snooze

    state = JsonFileSnoozeState(tmp_path / "snooze.json")
    alerts = [alert(i, minutes=5 * i) for i in range(snooze.MAX_MARKS_PER_ENTITY + 30)]
    deliver_alerts(alerts, cfg(tmp_path, snooze_windows=0), state)
    assert len(JsonFileSnoozeState(tmp_path / "snooze.json").marks("zeek", "10.0.0.1")) == snooze.MAX_MARKS_PER_ENTITY


# --------------------------------------------------------------------------- bug 5: damaged state file


@pytest.mark.parametrize(
    "text", ['{"version": 1, "last_alerted": {"zeek": {', '{"last_alerted": {"zeek": ["x"]}}', "[]"]
)
def test_damaged_state_file_error_names_file_and_remedy(tmp_path: Path, text: str) -> None:
    from vigia.alerting import snooze

    path = tmp_path / "zeek.snooze.json"
    path.write_text(text)
    with pytest.raises(snooze.SnoozeStateError) as info:
        JsonFileSnoozeState(path)
    assert str(path) in str(info.value) and "delete it" in str(info.value)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
