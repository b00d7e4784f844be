"""Drift report files: JSON, a self-contained HTML page (inline CSS and SVG) and a Markdown summary.

The HTML holds no external reference (no CSS/JS/font/image URL). Per feature it draws the reference vs
current distribution as overlaid proportions: numeric features over 30 equal bins spanning the 1st–99th
percentile of both samples pooled (values outside are clipped into the outer bins), categorical ones over
the 30 most frequent categories (the rest pooled as "(other)"). Plotting uses at most 5,000 values of each
sample (seeded random subsample), so the page stays small (≈ 10 kB per feature).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np
import polars as pl

from vigia.monitoring.drift import DriftReport, FeatureDrift

PLOT_BINS = 30
PLOT_MAX_VALUES = 5000
_W, _H, _PAD = 360, 110, 4
_REF_COLOR, _CUR_COLOR = "#4C78A8", "#F58518"


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}g}"


def _sample(series: pl.Series, seed: int) -> pl.Series:
    s = series.drop_nulls()
    if s.dtype.is_float():
        s = s.filter(s.is_not_nan())
    return s.sample(PLOT_MAX_VALUES, seed=seed) if s.len() > PLOT_MAX_VALUES else s


def _histograms(fd: FeatureDrift, ref: pl.Series, cur: pl.Series) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Proportions per bin of both samples and the x-axis labels (left, right)."""
    r, c = _sample(ref, 0), _sample(cur, 1)
    if fd.kind == "numeric":
        rv, cv = r.cast(pl.Float64).to_numpy(), c.cast(pl.Float64).to_numpy()
        pooled = np.concatenate([rv, cv])
        if pooled.size == 0:
            return np.zeros(1), np.zeros(1), "", ""
        lo, hi = np.quantile(pooled, [0.01, 0.99])
        if hi <= lo:
            lo, hi = float(pooled.min()), float(pooled.max())
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, PLOT_BINS + 1)
        rh = np.histogram(np.clip(rv, lo, hi), edges)[0].astype(float)
        ch = np.histogram(np.clip(cv, lo, hi), edges)[0].astype(float)
        left, right = _fmt(float(lo)), _fmt(float(hi))
    else:
        rs, cs = r.cast(pl.String), c.cast(pl.String)
        counts = pl.concat([rs, cs]).value_counts(sort=True, name="n")
        top = counts.get_column(counts.columns[0]).head(PLOT_BINS).to_list()
        index = {cat: i for i, cat in enumerate(top)}
        size = len(top) + (1 if counts.height > len(top) else 0)

        def hist(values: pl.Series) -> np.ndarray:
            h = np.zeros(max(size, 1))
            for value in values.to_list():
                h[index.get(value, len(top))] += 1
            return h

        rh, ch = hist(rs), hist(cs)
        left, right = (str(top[0]) if top else ""), (str(top[-1]) if len(top) == size else "(other)")
    return rh / max(rh.sum(), 1), ch / max(ch.sum(), 1), left, right


def _svg(ref_p: np.ndarray, cur_p: np.ndarray, left: str, right: str) -> str:
    """Overlaid bar chart of two proportion vectors (inline SVG)."""
    n = max(ref_p.size, 1)
    top = max(float(ref_p.max(initial=0)), float(cur_p.max(initial=0)), 1e-12)
    bw = (_W - 2 * _PAD) / n
    plot_h = _H - 18
    bars = []
    for color, props in ((_REF_COLOR, ref_p), (_CUR_COLOR, cur_p)):
        for i, p in enumerate(props):
            h = plot_h * p / top
            if h > 0:
                bars.append(
                    f'<rect x="{_PAD + i * bw:.1f}" y="{plot_h - h + _PAD:.1f}" width="{bw:.1f}" height="{h:.1f}" '
                    f'fill="{color}" fill-opacity="0.55"/>'
                )
    axis = (
        f'<text x="{_PAD}" y="{_H - 2}" font-size="10">{html.escape(left[:24])}</text>'
        f'<text x="{_W - _PAD}" y="{_H - 2}" font-size="10" text-anchor="end">{html.escape(right[:24])}</text>'
    )
    return f'<svg width="{_W}" height="{_H}" role="img">{"".join(bars)}{axis}</svg>'


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}
.feat{display:inline-block;vertical-align:top;margin:6px;padding:8px;border:1px solid #ccc;border-radius:6px}
.drift{border-color:#c0392b;background:#fdf2f1}.skip{opacity:.6}
.bad{color:#c0392b;font-weight:bold}.ok{color:#1e8449;font-weight:bold}
.key span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
"""


def _feature_block(fd: FeatureDrift, reference: pl.DataFrame, current: pl.DataFrame) -> str:
    name = html.escape(fd.feature)
    if not fd.evaluated:
        verdict, css = "not evaluated", "feat skip"
    else:
        verdict, css = ("DRIFT", "feat drift") if fd.drifted else ("no drift", "feat")
    plot = ""
    if fd.feature in reference.columns and fd.feature in current.columns:
        plot = _svg(*_histograms(fd, reference.get_column(fd.feature), current.get_column(fd.feature)))
    rows = [
        ("method", fd.method or "–"),
        ("statistic", _fmt(fd.statistic)),
        ("threshold", f"{'p <' if fd.p_value is not None else '>'} {_fmt(fd.threshold)}"),
        ("p-value", _fmt(fd.p_value)),
        ("PSI", _fmt(fd.psi)),
        ("rows ref / cur", f"{fd.n_reference} / {fd.n_current}"),
        ("null share ref / cur", f"{fd.null_share_reference:.1%} / {fd.null_share_current:.1%}"),
    ]
    table = "".join(f"<tr><th>{k}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    note = f"<p><small>{html.escape(fd.note)}</small></p>" if fd.note else ""
    cls = "bad" if fd.drifted else "ok"
    return (
        f'<div class="{css}"><h3>{name} <span class="{cls}">{verdict}</span></h3>'
        f"<small>{fd.kind}</small><br>{plot}<table>{table}</table>{note}</div>"
    )


def drift_html(report: DriftReport, reference: pl.DataFrame, current: pl.DataFrame, title: str = "Drift report") -> str:
    """The self-contained HTML page (summary first, then features, drifted first)."""
    verdict = '<span class="bad">DRIFTED</span>' if report.drifted else '<span class="ok">not drifted</span>'
    drifted = ", ".join(html.escape(f) for f in report.drifted_features) or "none"
    order = sorted(report.features, key=lambda f: (not f.drifted, not f.evaluated, -f.severity, f.feature))
    blocks = "".join(_feature_block(f, reference, current) for f in order)
    score = _fmt(report.score)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>Dataset drift score <b>{score}</b> (share of evaluated features drifted: {report.n_drifted} / "
        f"{report.n_evaluated}; {report.n_features} monitored) vs threshold {_fmt(report.threshold)}: {verdict}</p>"
        f"<p>Drifted features: {drifted}</p>"
        f"<p>Reference rows {report.n_reference}, current rows {report.n_current}; created {report.created_at}</p>"
        f'<p class="key"><span style="background:{_REF_COLOR}"></span>reference'
        f'<span style="background:{_CUR_COLOR}"></span>current</p>'
        f"{blocks}</body></html>"
    )


def write_drift_report(
    report: DriftReport, reference: pl.DataFrame, current: pl.DataFrame, out_dir: Path, name: str
) -> dict[str, Path]:
    """Write ``<name>.json`` and ``<name>.html`` under ``out_dir``; returns ``{"json": ..., "html": ...}``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / f"{name}.json", out_dir / f"{name}.html"
    json_path.write_text(json.dumps(report.to_dict(), indent=2, allow_nan=False))
    html_path.write_text(drift_html(report, reference, current, title=f"Drift report: {name}"), encoding="utf-8")
    return {"json": json_path, "html": html_path}


def drift_summary_markdown(report: DriftReport, top: int = 10) -> str:
    """Markdown summary for Dagster metadata: verdict line and the ``top`` most severe features."""
    verdict = "**DRIFTED**" if report.drifted else "not drifted"
    lines = [
        f"Drift score **{_fmt(report.score)}** ({report.n_drifted}/{report.n_evaluated} features) "
        f"vs threshold {_fmt(report.threshold)}: {verdict}",
        "",
        "| feature | method | statistic | threshold | p-value | PSI | drifted |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    ranked = sorted(report.features, key=lambda f: (not f.drifted, -f.severity, f.feature))[:top]
    for f in ranked:
        mark = "yes" if f.drifted else ("n/a" if not f.evaluated else "no")
        lines.append(
            f"| {f.feature} | {f.method or '–'} | {_fmt(f.statistic)} | {_fmt(f.threshold)} | {_fmt(f.p_value)} "
            f"| {_fmt(f.psi)} | {mark} |"
        )
    return "\n".join(lines)
