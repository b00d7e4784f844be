"""Drift report files: JSON roundtrip, self-contained HTML, size bound, Markdown summary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl

from vigia.monitoring.drift import DriftReport, dataset_drift
from vigia.monitoring.drift_report import drift_summary_markdown, write_drift_report


def _frames(n_features: int = 40, rows: int = 20_000) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(0)
    ref = {f"num_{i}": rng.lognormal(0, 1, rows) for i in range(n_features - 2)}
    cur = {f"num_{i}": rng.lognormal(0.5 if i < 8 else 0.0, 1, rows) for i in range(n_features - 2)}
    ref["proto"], cur["proto"] = rng.choice(["tcp", "udp", "icmp"], rows), rng.choice(["tcp", "udp"], rows)
    ref["<svc&>"] = cur["<svc&>"] = rng.integers(0, 60, rows).astype(str)  # > 30 categories, HTML-escaped name
    current = pl.DataFrame(cur).with_columns(pl.lit(None, pl.Float64).alias("num_9"))  # all null: missing share
    return pl.DataFrame(ref), current


def test_json_roundtrip_and_html_is_self_contained(tmp_path: Path) -> None:
    ref, cur = _frames()
    report = dataset_drift(ref, cur)
    paths = write_drift_report(report, ref, cur, tmp_path / "out", "batch_1")
    assert paths == {"json": tmp_path / "out" / "batch_1.json", "html": tmp_path / "out" / "batch_1.html"}
    data = json.loads(paths["json"].read_text())
    assert data == report.to_dict()
    assert DriftReport.from_dict(data) == report
    num_9 = data["features"][9]  # all null in the current batch: drifted by its missing share
    assert num_9["method"] == "missing_share" and num_9["drifted"] and num_9["missing_share_drifted"]

    page = paths["html"].read_text()
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", page, re.IGNORECASE)
    assert "http://" not in page and "https://" not in page and "<script" not in page.lower()
    for name in ref.columns:
        assert f"<h3>{name.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')} " in page
    assert f"{report.score:.4g}" in page and report.drifted_features[0] in page
    assert page.index("DRIFT</span>") < page.index("no drift</span>")  # drifted features first
    assert paths["html"].stat().st_size <= 2_000_000  # 40 features × 20,000 rows


def test_markdown_summary_lists_top_features() -> None:
    ref, cur = _frames(n_features=12, rows=3000)
    report = dataset_drift(ref, cur)
    md = drift_summary_markdown(report, top=5)
    assert f"{report.score:.4g}" in md and ("DRIFTED" in md) == report.drifted
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| feature")]
    assert len(rows) == 5
    assert rows[0].split("|")[1].strip() == report.drifted_features[0]
