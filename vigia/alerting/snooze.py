"""Snooze state: the alerts already delivered per (dataset, entity), as ``AlertMark`` (window_start, alert_id).

A mark is written only once its alert is in the NDJSON log; ``webhook_pending`` marks an alert whose webhook
batch failed: a later run that sees the same alert POSTs it again (without appending it to the NDJSON twice).
At most ``MAX_MARKS_PER_ENTITY`` marks are kept per entity (the most recently recorded ones); the delivery also
reads the alerts already in the NDJSON log, so dedup and snooze do not depend on this cap.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

from vigia.atomic_files import write_text_atomic

MAX_MARKS_PER_ENTITY = 100


class AlertMark(NamedTuple):
    """One delivered alert of an entity."""

    dataset: str
    entity: str
    window_start: str  # ISO
    alert_id: str | None = None  # None for marks read from a version-1 state file
    webhook_pending: bool = False


class SnoozeStateError(ValueError):
    """The snooze state file cannot be read."""


@runtime_checkable
class SnoozeState(Protocol):
    """Where the delivered alerts per (dataset, entity) are remembered."""

    def marks(self, dataset: str, entity: str) -> list[AlertMark]:
        """Delivered alerts of (dataset, entity), oldest recorded first."""
        ...

    def record_many(self, marks: Iterable[AlertMark]) -> None:
        """Add or replace (same alert) marks, then persist once."""
        ...


def parse_window_start(value: Any) -> datetime | None:
    """A window start (a datetime, or ISO text with ``T`` or a space) as an aware UTC datetime; None if unreadable."""
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


def _ts_key(value: str) -> datetime:
    return parse_window_start(value) or datetime.min.replace(tzinfo=UTC)


def same_alert(a: AlertMark, b: AlertMark) -> bool:
    """The same alert: equal ids when both have one, else the same (readable) window start."""
    if a.alert_id is not None and b.alert_id is not None:
        return a.alert_id == b.alert_id
    ta = parse_window_start(a.window_start)
    return ta is not None and ta == parse_window_start(b.window_start)


class InMemorySnoozeState:
    """Process-local snooze state (tests, one-off runs)."""

    def __init__(self) -> None:
        self._marks: dict[str, dict[str, list[AlertMark]]] = {}

    def marks(self, dataset: str, entity: str) -> list[AlertMark]:
        return list(self._marks.get(str(dataset), {}).get(str(entity), []))

    def last_alerted(self, dataset: str, entity: str) -> str | None:
        """ISO ``window_start`` of the entity's latest (in time) delivered alert, or None."""
        marks = self.marks(dataset, entity)
        return max((m.window_start for m in marks), key=_ts_key) if marks else None

    def record(self, dataset: str, entity: str, window_start: str, alert_id: str | None = None) -> None:
        """Record one delivered alert."""
        self.record_many([AlertMark(str(dataset), str(entity), str(window_start), alert_id)])

    def record_many(self, marks: Iterable[AlertMark]) -> None:
        for mark in marks:
            self._add(mark)
        self._save()

    def _add(self, mark: AlertMark) -> None:
        lst = self._marks.setdefault(mark.dataset, {}).setdefault(mark.entity, [])
        lst[:] = [m for m in lst if not same_alert(m, mark)] + [mark]
        del lst[:-MAX_MARKS_PER_ENTITY]

    def _save(self) -> None:
        pass

    def as_dict(self) -> dict[str, dict[str, str]]:
        """``{dataset: {entity: latest window_start}}``."""
        return {d: {e: self.last_alerted(d, e) or "" for e in ents} for d, ents in self._marks.items()}


class JsonFileSnoozeState(InMemorySnoozeState):
    """Snooze state persisted as JSON; ``record_many`` rewrites the file atomically (temp file + fsync + rename).

    Format (version 2): ``{"version": 2, "alerts": {dataset: {entity: [{"window_start", "alert_id",
    "webhook_pending"?}]}}, "last_alerted": {dataset: {entity: ts}}}``; version-1 files (``last_alerted`` only)
    are read as one mark per entity. A file that cannot be parsed raises ``SnoozeStateError`` naming it: delete
    it to reset the snooze (the alerts in the NDJSON log are still not delivered twice).
    """

    VERSION = 2

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        if self.path.exists():
            try:
                self._load(self.path.read_text(encoding="utf-8"))
            except (ValueError, TypeError, AttributeError, KeyError) as exc:
                self._marks = {}
                raise SnoozeStateError(
                    f"snooze state file {self.path} is damaged ({type(exc).__name__}: {exc}); "
                    "fix it or delete it to reset the snooze (pending webhook retries are then lost)"
                ) from None

    def _load(self, text: str) -> None:
        if not text.strip():
            return
        data = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        if "alerts" in data:
            for ds, ents in _mapping(data["alerts"]).items():
                for ent, items in _mapping(ents).items():
                    if not isinstance(items, list):
                        raise TypeError(f"alerts of {ds}/{ent}: expected a list")
                    for it in items:
                        aid = _mapping(it).get("alert_id")
                        self._add(
                            AlertMark(
                                str(ds), str(ent), str(it["window_start"]),
                                None if aid is None else str(aid), bool(it.get("webhook_pending", False)),
                            )
                        )  # fmt: skip
        else:
            for ds, ents in _mapping(data.get("last_alerted", {})).items():
                for ent, ts in _mapping(ents).items():
                    if not isinstance(ts, str):
                        raise TypeError(f"last_alerted of {ds}/{ent}: expected a string")
                    self._add(AlertMark(str(ds), str(ent), ts))

    def _save(self) -> None:
        alerts = {
            d: {e: [_mark_json(m) for m in marks] for e, marks in ents.items()} for d, ents in self._marks.items()
        }
        doc = {"version": self.VERSION, "alerts": alerts, "last_alerted": self.as_dict()}
        payload = json.dumps(doc, indent=1, sort_keys=True)
        write_text_atomic(self.path, payload, mode=0o600, durable=True)


def _mapping(value: Any) -> dict:
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _mark_json(m: AlertMark) -> dict[str, Any]:
    out: dict[str, Any] = {"window_start": m.window_start, "alert_id": m.alert_id}
    if m.webhook_pending:
        out["webhook_pending"] = True
    return out
