"""JSON and Markdown evaluation reports."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vigia.atomic_files import write_text_atomic

DEFAULT_METRIC_COLUMNS = [
    "detector", "precision", "recall", "f1", "roc_auc", "average_precision", "n_flagged", "support", "n"
]


def to_jsonable(obj: Any) -> Any:
    """Recursively convert numpy / datetime / Path / dataclass values; NaN and inf become ``None``."""
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return to_jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.datetime64):
        return None if np.isnat(obj) else str(obj)
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dt.datetime | dt.date):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(obj: Any, path: str | Path) -> str:
    """Write ``obj`` as indented, strict JSON (numpy converted, NaN -> null); return the path."""
    path = Path(path)
    write_text_atomic(path, json.dumps(to_jsonable(obj), indent=2, allow_nan=False, default=str) + "\n")
    return str(path)


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return "n/a" if not math.isfinite(value) else f"{float(value):.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def metrics_markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """GitHub-flavoured Markdown table; floats to 4 significant digits, missing / NaN as ``n/a``."""
    cols = list(columns) if columns is not None else list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _relative(path: str | Path, base: Path) -> str:
    try:
        return os.path.relpath(Path(path).resolve(), base.resolve())
    except ValueError:
        return str(path)


def write_evaluation_report(
    dataset: str,
    metrics_by_detector: Mapping[str, Mapping[str, Any]],
    thresholds: Mapping[str, Any],
    out_dir: str | Path,
    extra: Mapping[str, Any] | None = None,
    plots: Mapping[str, str | Path] | None = None,
) -> dict[str, str]:
    """Write ``evaluation.json`` and ``evaluation.md`` to ``out_dir``; return ``{"json": ..., "markdown": ...}``.

    ``metrics_by_detector``: ``{name: binary_metrics(...)}`` (a ``consensus`` entry is fine).
    ``thresholds``: ``{name: ThresholdResult | dict}``. ``plots``: ``{title: png path}``, linked
    relative to ``out_dir``; when not given, ``extra["plots"]`` or else every ``*.png`` already in
    ``out_dir``. ``extra`` goes to the JSON verbatim and to the Markdown as a JSON block.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    extra = dict(extra or {})
    if plots is None:
        plots = extra.get("plots") or {p.stem.replace("_", " "): p for p in sorted(out.glob("*.png"))}
    plots = dict(plots)
    thr = {name: to_jsonable(t) for name, t in thresholds.items()}
    metrics = {name: to_jsonable(dict(m)) for name, m in metrics_by_detector.items()}
    payload = {
        "dataset": dataset,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "detectors": list(metrics),
        "metrics": metrics,
        "thresholds": thr,
        "plots": {k: str(v) for k, v in plots.items()},
        "extra": to_jsonable({k: v for k, v in extra.items() if k != "plots"}),
    }
    json_path = write_json(payload, out / "evaluation.json")

    md = [f"# Evaluation: {dataset}", "", f"Generated {payload['generated_at']}.", "", "## Test metrics", ""]
    # ``flagged``: the unlabelled count under its older name
    rows = [{"detector": name, "n_flagged": m.get("flagged"), **m} for name, m in metrics.items()]
    md.append(metrics_markdown_table(rows, DEFAULT_METRIC_COLUMNS))

    md += ["## Thresholds (calibrated on validation)", ""]
    thr_rows = []
    for name, t in thr.items():
        if not isinstance(t, dict):
            thr_rows.append({"detector": name, "threshold": t})
            continue
        vm = t.get("metrics") or {}
        thr_rows.append({
            "detector": name, "strategy": t.get("strategy"), "rule": t.get("rule"), "param": t.get("param"),
            "threshold": t.get("threshold"), "val_precision": vm.get("precision"), "val_recall": vm.get("recall"),
            "val_f1": vm.get("f1"), "val_n_flagged": vm.get("n_flagged"),
        })
    cols = ["detector", "strategy", "rule", "param", "threshold", "val_precision", "val_recall", "val_f1",
            "val_n_flagged"]
    md.append(metrics_markdown_table(thr_rows, cols) if thr_rows else "_no thresholds_\n")
    md.append("A row is flagged when `score >= threshold`.\n")

    md += ["## Confusion matrices (test)", ""]
    for name, m in metrics.items():
        if all(k in m for k in ("tn", "fp", "fn", "tp")):
            md += [f"**{name}**", "", "| | predicted normal | predicted anomalous |", "|---|---|---|",
                   f"| actual normal | {m['tn']} | {m['fp']} |", f"| actual malicious | {m['fn']} | {m['tp']} |", ""]

    if plots:
        md += ["## Plots", ""]
        md += [f"![{title}]({_relative(p, out)})" for title, p in plots.items()] + [""]
    if payload["extra"]:
        md += ["## Details", "", "```json", json.dumps(payload["extra"], indent=2, default=str), "```", ""]

    md_path = out / "evaluation.md"
    write_text_atomic(md_path, "\n".join(md))
    return {"json": json_path, "markdown": str(md_path)}
