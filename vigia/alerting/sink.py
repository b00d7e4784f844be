"""Deliver scored anomaly alerts: snooze repeats, append to NDJSON (durable record), POST to a Slack-style webhook.

The webhook URL may carry a secret token, so it is never logged nor reported; only its host is.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from vigia.alerting.snooze import AlertMark, SnoozeState, parse_window_start, same_alert

log = logging.getLogger(__name__)

RETRY_AFTER_CAP_S = 5.0
SECTION_TEXT_LIMIT = 2900  # Slack caps a section's text at 3000 characters
_ERROR_BODY_CHARS = 200
RESPONSE_READ_CAP = 64 * 1024  # bytes of a webhook answer read at most


@dataclass
class AlertSinkConfig:
    """Where and how alerts are delivered."""

    ndjson_path: Path
    webhook_url: str | None = field(default=None, repr=False)
    batch_size: int = 20
    snooze_windows: int = 12
    window_seconds: int = 300
    timeout_s: float = 5.0
    max_retries: int = 2
    backoff_s: float = 0.5

    def __post_init__(self) -> None:
        self.ndjson_path = Path(self.ndjson_path)
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if self.max_retries < 0 or self.snooze_windows < 0 or self.window_seconds < 0:
            raise ValueError("max_retries, snooze_windows and window_seconds must be >= 0")

    @property
    def snooze_seconds(self) -> float:
        """Length of the snooze period in seconds."""
        return float(self.snooze_windows * self.window_seconds)


@dataclass
class DeliveryReport:
    """Outcome of one ``deliver_alerts`` call (never contains the webhook URL).

    ``webhook_ok`` is True when no webhook batch failed (including when no webhook is configured).
    """

    received: int = 0
    delivered: int = 0
    suppressed: int = 0
    suppressed_ids: list[str] = field(default_factory=list)
    ndjson_path: str = ""
    webhook_configured: bool = False
    webhook_host: str | None = None
    webhook_ok: bool = True
    webhook_error: str | None = None
    batches_sent: int = 0
    batches_failed: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def deliver_alerts(alerts: list[dict], cfg: AlertSinkConfig, state: SnoozeState) -> DeliveryReport:
    """Snooze, append to NDJSON, then POST to the webhook (if any); webhook failures are reported, never raised.

    Alerts are marked in ``state`` only after the NDJSON append; those whose webhook batch failed are marked
    ``webhook_pending`` and POSTed again (not re-appended) when a later run sees them. An alert already delivered
    (same ``alert_id``) counts as suppressed. ``delivered`` counts the alerts sent by this call. The alerts
    already in the NDJSON log count as delivered too (read back by entity, so neither a rerun's dedup nor the
    snooze depends on the state's per-entity cap).
    """
    t0 = time.perf_counter()
    report = DeliveryReport(
        received=len(alerts),
        ndjson_path=str(cfg.ndjson_path),
        webhook_configured=bool(cfg.webhook_url),
        webhook_host=webhook_host(cfg.webhook_url),
    )

    fresh: list[dict] = []  # to append to NDJSON (and POST)
    retry: list[dict] = []  # already in NDJSON, webhook still pending
    chosen: dict[tuple[str, str], list[AlertMark]] = {}
    logged = _logged_marks(cfg.ndjson_path, {(m.dataset, m.entity) for m in map(_mark, alerts)})
    for alert in sorted(alerts, key=_sort_key):
        mark = _mark(alert)
        known = logged.get((mark.dataset, mark.entity), []) + state.marks(mark.dataset, mark.entity)
        earlier = chosen.setdefault((mark.dataset, mark.entity), [])
        previous = [m for m in known if same_alert(m, mark)]
        if previous and previous[-1].webhook_pending and cfg.webhook_url:
            retry.append(alert)
        elif previous or any(same_alert(m, mark) for m in earlier) or _is_snoozed(mark, known + earlier, cfg):
            report.suppressed_ids.append(str(alert.get("alert_id")))
            continue
        else:
            fresh.append(alert)
        earlier.append(mark)  # a later alert of the same entity in this call is snoozed by this one
    report.suppressed = len(report.suppressed_ids)
    delivered = fresh + retry
    report.delivered = len(delivered)

    if fresh:
        append_ndjson(cfg.ndjson_path, fresh)
        # Durable in NDJSON: mark them now (pending the webhook) so a crash below does not append them twice.
        state.record_many(_mark(a, webhook_pending=bool(cfg.webhook_url)) for a in fresh)
    if delivered and cfg.webhook_url:
        accepted = _post_batches(delivered, cfg, report)
        if accepted:
            state.record_many(_mark(a) for a in accepted)

    report.seconds = round(time.perf_counter() - t0, 4)
    log.info(
        "alerts: received=%d delivered=%d suppressed=%d webhook_host=%s webhook_ok=%s batches_sent=%d failed=%d",
        report.received, report.delivered, report.suppressed, report.webhook_host, report.webhook_ok,
        report.batches_sent, report.batches_failed,
    )  # fmt: skip
    return report


def append_ndjson(path: Path, records: Iterable[dict]) -> None:
    """Append one JSON object per line (UTF-8; after a line cut by a crash, on a new line), then flush and fsync."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r, default=str, ensure_ascii=False) + "\n" for r in records)
    if path.exists() and path.stat().st_size:
        with path.open("rb") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                lines = "\n" + lines
    with path.open("a", encoding="utf-8") as fh:
        fh.write(lines)
        fh.flush()
        os.fsync(fh.fileno())


def _logged_marks(path: Path, keys: set[tuple[str, str]]) -> dict[tuple[str, str], list[AlertMark]]:
    """The marks of the alerts in the NDJSON log ``path`` whose (dataset, snooze key) is in ``keys``; unreadable
    lines (one cut by a crash) are skipped."""
    out: dict[tuple[str, str], list[AlertMark]] = {}
    if not keys or not path.exists():
        return out
    with path.open("rb") as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                mark = _mark(record)
                if (mark.dataset, mark.entity) in keys:
                    out.setdefault((mark.dataset, mark.entity), []).append(mark)
    return out


def webhook_host(url: str | None) -> str | None:
    """Host (and port) of ``url`` without credentials, path or query; None when unset."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    return f"{host}:{port}" if port else host


# --------------------------------------------------------------------------- snooze


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _sort_key(alert: dict) -> tuple[int, datetime]:
    ts = parse_window_start(alert.get("window_start"))
    return (0, ts) if ts is not None else (1, datetime.min.replace(tzinfo=UTC))


NO_ENTITY = "(no entity) "  # prefix of the snooze key of an alert without entity: its own key, its alert id


def _mark(alert: dict, webhook_pending: bool = False) -> AlertMark:
    """The alert's snooze mark. An alert without an entity (an event without a client IP) is snoozed by nothing
    else: its key is its own alert id, not a shared ``None``."""
    aid = alert.get("alert_id")
    ws = alert.get("window_start")
    entity = alert.get("entity")
    key = f"{NO_ENTITY}{aid}" if entity is None and aid is not None else str(entity)
    return AlertMark(
        str(alert.get("dataset")), key, _iso(ws) if ws is not None else "",
        None if aid is None else str(aid), webhook_pending,
    )  # fmt: skip


def _is_snoozed(mark: AlertMark, delivered: list[AlertMark], cfg: AlertSinkConfig) -> bool:
    """Snoozed when a delivered alert of the entity lies less than the snooze period before or after this one."""
    now = parse_window_start(mark.window_start)
    if now is None or cfg.snooze_seconds <= 0:
        return False
    for m in delivered:
        ts = parse_window_start(m.window_start)
        if ts is not None and abs((now - ts).total_seconds()) < cfg.snooze_seconds:
            return True
    return False


# --------------------------------------------------------------------------- Slack payload


def _mrkdwn_escape(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fmt_num(value: Any, digits: int = 3) -> str:
    try:
        return f"{float(value):.{digits}g}"
    except (TypeError, ValueError):
        return str(value)


def _alert_text(alert: dict) -> str:
    try:
        score = f"{float(alert.get('ml_score')):.3f}"
    except (TypeError, ValueError):
        score = "n/a"
    lines = [
        f"*{_mrkdwn_escape(alert.get('entity'))}* ({_mrkdwn_escape(alert.get('dataset'))}) score *{score}*",
        f"window {_mrkdwn_escape(alert.get('window_start'))} → {_mrkdwn_escape(alert.get('window_end'))}",
        f"detectors: {_mrkdwn_escape(alert.get('detectors') or 'n/a')}",
    ]
    if alert.get("attack_type"):
        lines.append(f"attack type: {_mrkdwn_escape(alert['attack_type'])}")
    feats = []
    for f in (alert.get("top_features") or [])[:3]:
        if isinstance(f, dict):
            name = _mrkdwn_escape(f.get("feature"))
            feats.append(f"`{name}` z={_fmt_num(f.get('z'))} value={_fmt_num(f.get('value'))}")
    if feats:
        lines.append("top features: " + ", ".join(feats))
    lines.append(f"id: {_mrkdwn_escape(alert.get('alert_id'))}")
    text = "\n".join(lines)
    return text if len(text) <= SECTION_TEXT_LIMIT else text[: SECTION_TEXT_LIMIT - 1] + "…"


def slack_payload(alerts: Sequence[dict], batch_no: int = 1, n_batches: int = 1) -> dict[str, Any]:
    """Slack-compatible message: a summary ``text`` plus one mrkdwn section per alert."""
    datasets = sorted({str(a.get("dataset")) for a in alerts})
    summary = f"Vigia: {len(alerts)} anomaly alert{'s' if len(alerts) != 1 else ''} ({', '.join(datasets)})"
    if n_batches > 1:
        summary += f" [batch {batch_no}/{n_batches}]"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": _alert_text(a)}} for a in alerts]
    return {"text": summary, "blocks": blocks}


# --------------------------------------------------------------------------- webhook


class _TransportError(Exception):
    """The endpoint could not be reached (connection refused, timeout...)."""


def _redact(message: str, url: str) -> str:
    try:
        parts = urlsplit(url)
        secrets = [url, parts.netloc, parts.path, parts.query, parts.username or "", parts.password or ""]
    except ValueError:
        secrets = [url]
    secrets += [url.split("/", 1)[1] if "/" in url else "", url.split("?", 1)[1] if "?" in url else ""]
    for secret in sorted(secrets, key=len, reverse=True):
        if secret and len(secret) > 1 and secret != webhook_host(url):
            message = message.replace(secret, "<redacted>")
    return message


def webhook_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook URL (without echoing its secret parts), or None when it looks valid."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "the webhook URL is invalid (bad host or port)"
    if parts.scheme.lower() not in ("http", "https"):
        got = f"'{parts.scheme}'" if parts.scheme and parts.scheme.isalnum() and len(parts.scheme) < 10 else "none"
        return f"the webhook URL must start with http:// or https:// (scheme: {got})"
    if not parts.hostname:
        return "the webhook URL has no host"
    if port == 0:
        return "the webhook URL has an invalid port"
    return None


def _redact_location(location: str | None, url: str) -> str:
    """Scheme and host of a redirect target (relative ones resolved against ``url``); the rest is redacted."""
    if not location:
        return "no Location"
    try:
        target = urlsplit(urljoin(url, location))
    except ValueError:
        return "Location <redacted>"
    host = webhook_host(urlunsplit(target)) or "?"
    rest = "/<redacted>" if (target.path not in ("", "/") or target.query) else ""
    return f"Location {target.scheme}://{host}{rest}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow redirects: urllib would turn the POST into a body-less GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Watchdog:
    """Shuts the sockets of one attempt down at its deadline, so no server can stall it (headers or body)."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def track(self, http_class: Any) -> Any:
        def factory(host: str, **kwargs: Any) -> Any:
            conn = http_class(host, **kwargs)
            connect = conn.connect

            def tracked_connect() -> None:
                connect()
                with self._lock:
                    self._socks.append(conn.sock)
                    if self.fired:
                        _shutdown(conn.sock)

            conn.connect = tracked_connect
            return conn

        return factory

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._socks:
                _shutdown(sock)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket | None) -> None:
    try:
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _opener(watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    class Tracked:
        def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
            return super().do_open(watchdog.track(http_class), req, **kwargs)  # type: ignore[misc]

    class Http(Tracked, urllib.request.HTTPHandler):
        pass

    class Https(Tracked, urllib.request.HTTPSHandler):
        pass

    return urllib.request.build_opener(_NoRedirect, Http, Https)


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), RETRY_AFTER_CAP_S)
    except ValueError:
        return None


def _post_once(url: str, body: bytes, cfg: AlertSinkConfig) -> None:
    """One POST, the whole exchange within ``cfg.timeout_s``; reads at most ``RESPONSE_READ_CAP`` of the answer."""
    deadline = time.monotonic() + cfg.timeout_s
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    with _Watchdog(cfg.timeout_s) as dog:
        try:
            with _opener(dog).open(req, timeout=cfg.timeout_s) as resp:
                left, done = RESPONSE_READ_CAP, False
                while not done and time.monotonic() < deadline:
                    chunk = resp.read1(min(left, 16384))
                    left -= len(chunk)
                    done = not chunk or left <= 0
        except urllib.error.HTTPError:
            raise
        except (OSError, http.client.HTTPException):
            if dog.fired:
                raise TimeoutError(f"no complete answer within {cfg.timeout_s:g} s") from None
            raise
        if not done or dog.fired:  # a shut-down socket reads as an early end of the answer
            raise TimeoutError(f"no complete answer within {cfg.timeout_s:g} s")


def _post_json(url: str, payload: dict, cfg: AlertSinkConfig) -> None:
    """POST once-per-attempt with retries; raises RuntimeError (HTTP) or _TransportError with a URL-free message."""
    problem = webhook_url_problem(url)
    if problem:
        raise RuntimeError(f"{problem}; not sent")
    body = json.dumps(payload, default=str, ensure_ascii=False).encode("utf-8")
    attempts = cfg.max_retries + 1
    last_error = "no attempt made"
    for attempt in range(attempts):
        wait: float | None = None
        transport = False
        try:
            _post_once(url, body, cfg)
            return
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                where = _redact_location(exc.headers.get("Location") if exc.headers else None, url)
                raise RuntimeError(
                    f"HTTP {exc.code} redirect ({where}) not followed for a POST: configure the final webhook URL"
                ) from None
            try:
                detail = exc.read(_ERROR_BODY_CHARS).decode("utf-8", "replace").strip()
            except Exception:
                detail = ""
            last_error = f"HTTP {exc.code}" + (f": {detail}" if detail else "")
            if not (exc.code == 429 or exc.code >= 500):
                raise RuntimeError(last_error) from None
            wait = _retry_after(exc.headers)
        except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets, bad status lines
            reason = getattr(exc, "reason", exc)
            last_error = f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
            transport = True
        except ValueError as exc:  # e.g. http.client.InvalidURL
            raise RuntimeError(f"the webhook URL is invalid ({type(exc).__name__}); not sent") from None
        if attempt + 1 < attempts:
            time.sleep(wait if wait is not None else cfg.backoff_s * (2**attempt))
    raise (_TransportError if transport else RuntimeError)(f"{last_error} (after {attempts} attempts)")


def _post_batches(alerts: list[dict], cfg: AlertSinkConfig, report: DeliveryReport) -> list[dict]:
    """POST alerts in batches and return those accepted; stop early if the endpoint is unreachable or the URL
    is invalid, continue past HTTP rejections."""
    assert cfg.webhook_url
    url = cfg.webhook_url
    batches = [alerts[i : i + cfg.batch_size] for i in range(0, len(alerts), cfg.batch_size)]
    errors: list[str] = []
    accepted: list[dict] = []
    problem = webhook_url_problem(url)
    for i, batch in enumerate(batches, start=1):
        try:
            _post_json(url, slack_payload(batch, i, len(batches)), cfg)
            report.batches_sent += 1
            accepted.extend(batch)
        except (_TransportError, RuntimeError) as exc:
            report.batches_failed += 1
            errors.append(f"batch {i}/{len(batches)}: {_redact(str(exc), url)}")
            log.warning("alert webhook (host %s) failed: %s", report.webhook_host, errors[-1])
            if isinstance(exc, _TransportError) or problem:
                skipped = len(batches) - i
                if skipped:
                    report.batches_failed += skipped
                    why = "invalid webhook URL" if problem else "endpoint unreachable"
                    errors.append(f"{skipped} later batch(es) skipped: {why}")
                break
    if errors:
        report.webhook_ok = False
        report.webhook_error = "; ".join(errors)
    return accepted
