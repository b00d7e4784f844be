"""Alert delivery for scored anomaly windows: snooze, durable NDJSON log, Slack-compatible webhook."""

from vigia.alerting.sink import AlertSinkConfig, DeliveryReport, deliver_alerts, slack_payload
from vigia.alerting.snooze import InMemorySnoozeState, JsonFileSnoozeState, SnoozeState

__all__ = [
    "AlertSinkConfig",
    "DeliveryReport",
    "InMemorySnoozeState",
    "JsonFileSnoozeState",
    "SnoozeState",
    "deliver_alerts",
    "slack_payload",
]
