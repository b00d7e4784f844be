"""Ranked alerts: the top anomalous windows with the connection records and features behind them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl

from vigia.atomic_files import atomic_path, write_text_atomic
from vigia.config import DatasetConfig
from vigia.warehouse.duck import column_type, partition_predicate, qualified

EVIDENCE_COLUMNS = (
    "ts", "uid", "orig_h", "orig_p", "resp_h", "resp_p", "proto", "service", "duration",
    "orig_bytes", "resp_bytes", "conn_state", "history", "label", "attack_type",
)  # fmt: skip


def select_alerts(scores: pl.DataFrame, cfg: DatasetConfig, top_n: int | None = -1) -> pl.DataFrame:
    """Top ``alerts.top_n`` (or ``top_n``; ``None`` = all) anomalous windows per day, by ``ml_score``."""
    limit = cfg.alerts.top_n if top_n == -1 else top_n
    anomalies = scores.filter(pl.col("is_anomaly"))
    ranked = anomalies.sort(["day", "ml_score", "window_start"], descending=[False, True, False]).with_columns(
        pl.int_range(1, pl.len() + 1).over("day").alias("rank")
    )
    top = ranked if limit is None else ranked.filter(pl.col("rank") <= limit)
    return top.with_columns(alert_ids(top, cfg))


def alert_ids(alerts: pl.DataFrame, cfg: DatasetConfig) -> pl.Series:
    """One id per alert, the same on every rerun of its day: ``<dataset>:<entity>:<window start>``, the start
    with microseconds when it has any, then ``:<event id>`` for a per-event row that has one; a row without an
    entity (an event without a client IP) has an empty one (``<dataset>::...``); alerts still sharing an id
    (same entity and instant) get ``#2``, ``#3``... in a fixed order (score, detectors, drivers)."""
    start = pl.col("window_start")
    stamp = (
        pl.when(start.dt.microsecond() > 0)
        .then(start.dt.strftime("%Y%m%dT%H%M%S%.6f"))
        .otherwise(start.dt.strftime("%Y%m%dT%H%M%S"))
    )
    entity = pl.col(cfg.entity_key).cast(pl.String).fill_null("")
    base = pl.concat_str([pl.lit(cfg.name), entity, stamp], separator=":")
    if "event_id" in alerts.columns:
        event_id = pl.col("event_id").cast(pl.String)
        base = pl.when(event_id.is_not_null()).then(pl.concat_str([base, event_id], separator=":")).otherwise(base)
    ties = [c for c in ("ml_score", "detectors", "top_features") if c in alerts.columns]
    ids = (
        alerts.with_row_index("__row")
        .with_columns(base.alias("__id"))
        .sort(["__id", *ties, "__row"], descending=[False, *[c == "ml_score" for c in ties], False])
        .with_columns(pl.col("__id").cum_count().over("__id").alias("__n"))
        .with_columns(
            pl.when(pl.col("__n") > 1)
            .then(pl.concat_str([pl.col("__id"), pl.col("__n").cast(pl.String)], separator="#"))
            .otherwise(pl.col("__id"))
            .alias("alert_id")
        )
        .sort("__row")
    )
    return ids["alert_id"]


def attach_evidence(
    con: duckdb.DuckDBPyConnection,
    alerts: pl.DataFrame,
    cfg: DatasetConfig,
    table: str = "stg_conn",
    columns: tuple[str, ...] = EVIDENCE_COLUMNS,
    limit: int | None = None,
) -> pl.DataFrame:
    """Add an ``evidence`` JSON column: up to ``limit`` (default ``alerts.evidence_records``) original records (of
    ``table``) of each alerted window. A per-event row (with ``event_id``) gets its own event, also when it has no
    entity (an event without a client IP)."""
    if alerts.height == 0:
        return alerts.with_columns(pl.lit("[]").alias("evidence"))
    key = cfg.entity_key
    cols = ", ".join(f"c.{c}" for c in columns)
    # The alerted days as literals, so the filter reaches the scans even when the table is a view.
    days = sorted(
        set(alerts["window_start"].dt.date().to_list())
        | set((alerts["window_end"] - timedelta(microseconds=1)).dt.date().to_list())
    )
    in_days = partition_predicate("day", [d.isoformat() for d in days], column_type(con, cfg.name, table, "day"))
    # Evidence is matched to the alert's row (not its id), and a per-event alert to its own event.
    own_event = "event_id" in alerts.columns and "event_id" in columns
    keep = ["__alert_row", key, "window_start", "window_end", *(["event_id"] if own_event else [])]
    con.register("__vigia_alerts", alerts.with_row_index("__alert_row").select(keep).to_arrow())
    same_event = " AND (a.event_id IS NULL OR c.event_id = a.event_id)" if own_event else ""
    n = int(cfg.alerts.evidence_records if limit is None else limit)
    try:
        rows = con.execute(
            f"""
            SELECT a.__alert_row,
                   to_json(list(struct_pack({cols}) ORDER BY c.ts)[1:{n}])
            FROM __vigia_alerts a
            JOIN (SELECT * FROM {qualified(cfg.name, table)} WHERE {in_days}) c
              ON c.{key} IS NOT DISTINCT FROM a.{key} AND c.ts >= a.window_start AND c.ts < a.window_end{same_event}
            GROUP BY a.__alert_row
            """
        ).fetchall()
    finally:
        con.unregister("__vigia_alerts")
    evidence = pl.DataFrame(
        {"__alert_row": [r[0] for r in rows], "evidence": [str(r[1]) for r in rows]},
        schema={"__alert_row": pl.UInt32, "evidence": pl.String},
    )
    return (
        alerts.with_row_index("__alert_row")
        .join(evidence, on="__alert_row", how="left", maintain_order="left")
        .drop("__alert_row")
        .with_columns(pl.col("evidence").fill_null("[]"))
    )


def alert_records(alerts: pl.DataFrame, cfg: DatasetConfig) -> list[dict]:
    """JSON-ready alert dicts for delivery (entity, window, score, detectors, drivers, evidence)."""
    records = []
    for row in alerts.iter_rows(named=True):
        records.append(
            {
                "alert_id": row["alert_id"],
                "dataset": cfg.name,
                "entity": row[cfg.entity_key],
                "window_start": row["window_start"].isoformat(),
                "window_end": row["window_end"].isoformat(),
                "ml_score": float(row["ml_score"]),
                "detectors": row["detectors"],
                "attack_type": row.get("attack_type"),
                "top_features": json.loads(row["top_features"]),
                "evidence": json.loads(row["evidence"]),
            }
        )
    return records


FORMULA_START = r"^[=+\-@\t\r]"  # a spreadsheet reads such a cell as a formula (OWASP "CSV injection")


def csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula, prefixed with ``'``: entities, URLs, user agents
    and evidence come from the monitored traffic, so an attacker picks them. Numbers are left alone."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_START)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text
    )


def export_alerts_by_day(
    alerts: pl.DataFrame, out_dir: Path, days: list[str], prefix: str = "alerts"
) -> dict[str, dict[str, Path]]:
    """One export per day (``<prefix>_<day>.json/.csv``, also for a day without alerts: a rerun replaces the
    day's file), by day."""
    day = pl.col("day").cast(pl.String).str.slice(0, 10)
    return {key: export_alerts(alerts.filter(day == key), out_dir, key, prefix) for key in days}


def export_alerts(alerts: pl.DataFrame, out_dir: Path, tag: str, prefix: str = "alerts") -> dict[str, Path]:
    """Write alerts as JSON (evidence and drivers expanded, values as recorded) and CSV (formula-safe text), each
    to a temporary file then renamed: a failed export leaves the previous files whole."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out_dir / f"{prefix}_{tag}.json", out_dir / f"{prefix}_{tag}.csv"
    records = []
    for row in alerts.iter_rows(named=True):
        row = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
        row["top_features"] = json.loads(row["top_features"])
        row["evidence"] = json.loads(row["evidence"])
        records.append(row)
    write_text_atomic(json_path, json.dumps(records, indent=2, default=str))
    with atomic_path(csv_path) as tmp:
        csv_safe(alerts).write_csv(tmp)
    return {"json": json_path, "csv": csv_path}
