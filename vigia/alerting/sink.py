"""Deliver scored anomaly alerts: snooze repeats, append to NDJSON (durable record), POST to a Slack-style webhook.

The webhook URL may carry a secret token, so it is never logged nor reported; only its host is.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vigia.alerting.snooze import SnoozeState

log = logging.getLogger(__name__)

RETRY_AFTER_CAP_S = 5.0
SECTION_TEXT_LIMIT = 2900  # Slack caps a section's text at 3000 characters
_ERROR_BODY_CHARS = 200


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
    """Snooze, append to NDJSON, then POST to the webhook (if any); webhook failures are reported, never raised."""
    t0 = time.perf_counter()
    report = DeliveryReport(
        received=len(alerts),
        ndjson_path=str(cfg.ndjson_path),
        webhook_configured=bool(cfg.webhook_url),
        webhook_host=webhook_host(cfg.webhook_url),
    )

    delivered: list[dict] = []
    for alert in sorted(alerts, key=_sort_key):
        if _is_snoozed(alert, cfg, state):
            report.suppressed_ids.append(str(alert.get("alert_id")))
            continue
        delivered.append(alert)
        # Record immediately so a later alert of the same entity in this batch is snoozed.
        if alert.get("window_start") is not None:
            state.record(str(alert.get("dataset")), str(alert.get("entity")), _iso(alert["window_start"]))
    report.suppressed = len(report.suppressed_ids)
    report.delivered = len(delivered)

    if delivered:
        append_ndjson(cfg.ndjson_path, delivered)
        if cfg.webhook_url:
            _post_batches(delivered, cfg, report)

    report.seconds = round(time.perf_counter() - t0, 4)
    log.info(
        "alerts: received=%d delivered=%d suppressed=%d webhook_host=%s webhook_ok=%s batches_sent=%d failed=%d",
        report.received, report.delivered, report.suppressed, report.webhook_host, report.webhook_ok,
        report.batches_sent, report.batches_failed,
    )  # fmt: skip
    return report


def append_ndjson(path: Path, records: Iterable[dict]) -> None:
    """Append one JSON object per line (UTF-8), then flush and fsync."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r, default=str, ensure_ascii=False) + "\n" for r in records)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(lines)
        fh.flush()
        os.fsync(fh.fileno())


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


def _parse_ts(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        dt = value
    elif value is None:
        return None
    else:
        try:
            dt = datetime.fromisoformat(str(value).strip().replace(" ", "T", 1))
        except ValueError:
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _sort_key(alert: dict) -> tuple[int, datetime]:
    ts = _parse_ts(alert.get("window_start"))
    return (0, ts) if ts is not None else (1, datetime.min.replace(tzinfo=UTC))


def _is_snoozed(alert: dict, cfg: AlertSinkConfig, state: SnoozeState) -> bool:
    """Snoozed when the last delivered window_start is less than the snooze period before (or at/after) this one."""
    now = _parse_ts(alert.get("window_start"))
    if now is None or cfg.snooze_seconds <= 0:
        return False
    last = _parse_ts(state.last_alerted(str(alert.get("dataset")), str(alert.get("entity"))))
    if last is None:
        return False
    return (now - last).total_seconds() < cfg.snooze_seconds


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
    parts = urlsplit(url)
    for secret in (url, parts.path, parts.query, parts.username or "", parts.password or ""):
        if secret and len(secret) > 1:
            message = message.replace(secret, "<redacted>")
    return message


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), RETRY_AFTER_CAP_S)
    except ValueError:
        return None


def _post_json(url: str, payload: dict, cfg: AlertSinkConfig) -> None:
    """POST once-per-attempt with retries; raises RuntimeError (HTTP) or _TransportError with a URL-free message."""
    body = json.dumps(payload, default=str, ensure_ascii=False).encode("utf-8")
    attempts = cfg.max_retries + 1
    last_error = "no attempt made"
    for attempt in range(attempts):
        wait: float | None = None
        transport = False
        try:
            req = urllib.request.Request(
                url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
            )
            with urllib.request.urlopen(req, timeout=cfg.timeout_s) as resp:
                resp.read()
            return
        except urllib.error.HTTPError as exc:
            try:
                detail = exc.read(_ERROR_BODY_CHARS).decode("utf-8", "replace").strip()
            except Exception:
                detail = ""
            last_error = f"HTTP {exc.code}" + (f": {detail}" if detail else "")
            if not (exc.code == 429 or exc.code >= 500):
                raise RuntimeError(last_error) from None
            wait = _retry_after(exc.headers)
        except OSError as exc:  # URLError, timeouts, connection resets
            reason = getattr(exc, "reason", exc)
            last_error = f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
            transport = True
        if attempt + 1 < attempts:
            time.sleep(wait if wait is not None else cfg.backoff_s * (2**attempt))
    raise (_TransportError if transport else RuntimeError)(f"{last_error} (after {attempts} attempts)")


def _post_batches(alerts: list[dict], cfg: AlertSinkConfig, report: DeliveryReport) -> None:
    """POST alerts in batches; stop early if the endpoint is unreachable, continue past HTTP rejections."""
    assert cfg.webhook_url
    url = cfg.webhook_url
    batches = [alerts[i : i + cfg.batch_size] for i in range(0, len(alerts), cfg.batch_size)]
    errors: list[str] = []
    for i, batch in enumerate(batches, start=1):
        try:
            _post_json(url, slack_payload(batch, i, len(batches)), cfg)
            report.batches_sent += 1
        except (_TransportError, RuntimeError) as exc:
            report.batches_failed += 1
            errors.append(f"batch {i}/{len(batches)}: {_redact(str(exc), url)}")
            log.warning("alert webhook (host %s) failed: %s", report.webhook_host, errors[-1])
            if isinstance(exc, _TransportError):
                skipped = len(batches) - i
                if skipped:
                    report.batches_failed += skipped
                    errors.append(f"{skipped} later batch(es) skipped: endpoint unreachable")
                break
    if errors:
        report.webhook_ok = False
        report.webhook_error = "; ".join(errors)
