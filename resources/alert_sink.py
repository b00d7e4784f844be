"""Alert delivery: NDJSON always, a Slack-compatible webhook when its URL is in the environment."""

import os
from pathlib import Path

import dagster as dg

from vigia.alerting import AlertSinkConfig, DeliveryReport, JsonFileSnoozeState, deliver_alerts
from vigia.alerting.sink import webhook_url_problem


class AlertSink(dg.ConfigurableResource):
    """Appends alerts to ``<root>/<dataset>.ndjson`` and POSTs them in batches to a webhook.

    The webhook URL (it carries a token) is never configuration: it is read at run time from the
    environment variable named by ``webhook_url_env`` and never logged. The same entity is not re-alerted
    within ``snooze_windows`` windows (state in ``<root>/<dataset>.snooze.json``). An invalid URL is logged at
    resource setup and reported as a delivery failure; it never fails the run.
    """

    root: str = "data/alerts"
    webhook_url_env: str = "VIGIA_ALERT_WEBHOOK_URL"
    batch_size: int = 20
    snooze_windows: int = 12
    timeout_s: float = 5.0

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        url = os.environ.get(self.webhook_url_env)
        problem = webhook_url_problem(url) if url else None
        if problem and context.log is not None:
            context.log.warning(f"{self.webhook_url_env}: {problem}; alerts go to NDJSON only until it is fixed")

    def deliver(self, dataset: str, alerts: list[dict], window_seconds: int) -> DeliveryReport:
        root = Path(self.root)
        cfg = AlertSinkConfig(
            ndjson_path=root / f"{dataset}.ndjson",
            webhook_url=os.environ.get(self.webhook_url_env) or None,
            batch_size=self.batch_size,
            snooze_windows=self.snooze_windows,
            window_seconds=window_seconds,
            timeout_s=self.timeout_s,
        )
        return deliver_alerts(alerts, cfg, JsonFileSnoozeState(root / f"{dataset}.snooze.json"))
