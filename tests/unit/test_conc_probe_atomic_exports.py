"""A write that fails half way (a full disk) leaves the previous alert export or plot whole."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from matplotlib.figure import Figure

from vigia.pipeline.alerts import export_alerts
from vigia.reporting.plots import roc_plot

FRAME = pl.DataFrame({
    "day": [date(2026, 1, 5)] * 3, "orig_h": ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
    "window_start": [datetime(2026, 1, 5, 1)] * 3, "ml_score": [0.9, 0.8, 0.7],
    "top_features": ["[]"] * 3, "evidence": ["[]"] * 3,
})  # fmt: skip


def _half_then_full(target: Any, data: bytes) -> None:
    Path(target).write_bytes(data[: len(data) // 2])
    raise OSError(28, "No space left on device")


def test_failed_alert_export_keeps_the_previous_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = export_alerts(FRAME, tmp_path, "2026-01-05")
    before = {k: p.read_bytes() for k, p in paths.items()}
    real_write_text = Path.write_text

    def json_disk_full(self: Path, data: str, *args: Any, **kwargs: Any) -> int:
        real_write_text(self, data[: len(data) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", json_disk_full)
    monkeypatch.setattr("os.fdopen", lambda fd, *a, **k: _Half(fd))
    with pytest.raises(OSError):
        export_alerts(FRAME, tmp_path, "2026-01-05")
    monkeypatch.undo()
    assert {k: p.read_bytes() for k, p in paths.items()} == before

    monkeypatch.setattr(pl.DataFrame, "write_csv", lambda self, file, **k: _half_then_full(file, before["csv"]))
    with pytest.raises(OSError):
        export_alerts(FRAME, tmp_path, "2026-01-05")
    assert {k: p.read_bytes() for k, p in paths.items()} == before
    json.loads(paths["json"].read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alerts_2026-01-05.csv", "alerts_2026-01-05.json"]


class _Half:
    """A file object over ``fd`` that writes half of what it is given, then fails like a full disk."""

    def __init__(self, fd: int) -> None:
        self._file = open(fd, "w", encoding="utf-8")  # noqa: SIM115

    def __enter__(self) -> _Half:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def write(self, text: str) -> int:
        self._file.write(text[: len(text) // 2])
        raise OSError(28, "No space left on device")


def test_failed_plot_save_keeps_the_previous_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    y, s = np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.8])
    path = Path(roc_plot({"iforest": (y, s)}, tmp_path / "roc.png"))
    before = path.read_bytes()
    monkeypatch.setattr(Figure, "savefig", lambda self, fname, **k: _half_then_full(fname, before))
    with pytest.raises(OSError):
        roc_plot({"iforest": (y, s)}, tmp_path / "roc.png")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["roc.png"]


def test_atomic_writes_get_the_permissions_of_a_plain_write(tmp_path: Path) -> None:
    import os

    from vigia.reporting.reports import write_json

    plain = tmp_path / "plain.json"
    plain.write_text("{}")
    written = Path(write_json({"a": 1}, tmp_path / "report.json"))
    assert os.stat(written).st_mode & 0o777 == os.stat(plain).st_mode & 0o777
