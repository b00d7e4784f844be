"""Snooze state: when each (dataset, entity) was last alerted (ISO ``window_start`` of the delivered alert)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class SnoozeState(Protocol):
    """Where the last delivered alert per (dataset, entity) is remembered."""

    def last_alerted(self, dataset: str, entity: str) -> str | None:
        """ISO ``window_start`` of the entity's last delivered alert, or None."""
        ...

    def record(self, dataset: str, entity: str, window_start: str) -> None:
        """Remember that an alert for (dataset, entity) starting at ``window_start`` was delivered."""
        ...


class InMemorySnoozeState:
    """Process-local snooze state (tests, one-off runs)."""

    def __init__(self) -> None:
        self._last: dict[str, dict[str, str]] = {}

    def last_alerted(self, dataset: str, entity: str) -> str | None:
        return self._last.get(str(dataset), {}).get(str(entity))

    def record(self, dataset: str, entity: str, window_start: str) -> None:
        self._last.setdefault(str(dataset), {})[str(entity)] = str(window_start)

    def as_dict(self) -> dict[str, dict[str, str]]:
        """Copy of ``{dataset: {entity: window_start}}``."""
        return {d: dict(e) for d, e in self._last.items()}


class JsonFileSnoozeState(InMemorySnoozeState):
    """Snooze state persisted as JSON (``{"version": 1, "last_alerted": {dataset: {entity: ts}}}``).

    Loaded once on construction; every ``record`` rewrites the file atomically (temp file + fsync + rename).
    """

    VERSION = 1

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        if self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
            last = data.get("last_alerted", {}) if isinstance(data, dict) else {}
            self._last = {str(d): {str(e): str(ts) for e, ts in ents.items()} for d, ents in last.items()}

    def record(self, dataset: str, entity: str, window_start: str) -> None:
        super().record(dataset, entity, window_start)
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"version": self.VERSION, "last_alerted": self._last}, indent=1, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
