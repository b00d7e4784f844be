"""Per-event features of API / application events (canonical columns of :mod:`vigia.events.files`).

:func:`fit_event_encoders` learns, on TRAINING events only, the frequency tables of the categoricals
(method, path template, status class, service, user-agent family) and of the compact shapes of path,
query, body and user agent. :func:`event_features` then builds, fully vectorised in polars:

* text statistics of path / query / body / user agent (:func:`vigia.events.text.text_stat_exprs`);
* special-token counts over the payload (:data:`vigia.events.text.SPECIAL_TOKENS`);
* ``*_shape_freq``: log10 of the training frequency of the string's compact shape (unseen -> log10 of
  ``0.5 / n_train``, the "unknown" bucket);
* ``*_freq`` frequency encodings of the categoricals (unknown category -> the same unknown bucket);
* optional client windows (``windows=True`` and ``ts`` / ``client_ip`` present): per client IP and
  tumbling window of ``window`` (polars duration string), ``win_requests``, ``win_rate_per_s``,
  ``win_error_rate`` (status >= 400), ``win_distinct_paths`` (templates), ``win_distinct_methods``,
  ``win_distinct_users``, ``win_failed_logins`` (401/403 on a login path). Windows come from
  ``ts.dt.truncate(window)`` + ``group_by``; every event gets its own window's statistics. An event without
  a client IP is a client of its own (the statistics of that event alone: nothing tells which other requests
  share its client, and the features must stay finite for the ``features_finite`` check). Whether the
  windows are built depends on the columns only, never on a batch's values, so every day of a dataset has
  the same feature columns.

The output keeps ``event_id``, ``ts``, ``client_ip``, ``label``, ``attack_type`` when present; the
numeric feature names are in ``EventEncoders.feature_columns(windows)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import polars as pl

from vigia.events.text import (
    SPECIAL_TOKENS,
    TEXT_STATS,
    compact_shape_expr,
    path_template_expr,
    payload_expr,
    raw_payload_expr,
    text_stat_exprs,
    token_count_exprs,
    ua_family_expr,
)

TEXT_FIELDS = ("path", "query", "body", "user_agent")
CATEGORICALS = ("method", "path_template", "status_class", "service", "ua_family")
KEEP_COLUMNS = ("event_id", "ts", "client_ip", "label", "attack_type")
WINDOW_COLUMNS = (
    "win_requests",
    "win_rate_per_s",
    "win_error_rate",
    "win_distinct_paths",
    "win_distinct_methods",
    "win_distinct_users",
    "win_failed_logins",
)
UNKNOWN = "__unknown__"
MAX_SHAPE_CHARS = 256


def _with_derived(events: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    lf = events.lazy()
    cols = lf.collect_schema().names()
    missing = [pl.lit(None, pl.String).alias(c) for c in (*TEXT_FIELDS, "method", "service") if c not in cols]
    if "status" not in cols:
        missing.append(pl.lit(None, pl.Int32).alias("status"))
    derived = {"path_template", "status_class", "ua_family", *(f"_{f}_shape" for f in TEXT_FIELDS)}
    lf = lf.with_columns(missing).drop([c for c in cols if c in derived])
    lf = lf.with_columns(
        pl.col("method").fill_null("").str.to_uppercase().alias("method"),
        pl.when(pl.col("status").is_null())
        .then(pl.lit("none"))
        .otherwise(pl.format("{}xx", pl.col("status") // 100))
        .alias("status_class"),
        pl.col("service").fill_null("none").alias("service"),
    )
    per_field = {
        "path": [path_template_expr(pl.col("path")).alias("path_template")],
        "user_agent": [ua_family_expr(pl.col("user_agent")).alias("ua_family")],
    }
    frame = lf.collect()  # once: each lookup table below reads it
    for f in TEXT_FIELDS:
        shape = compact_shape_expr(pl.col(f).str.slice(0, MAX_SHAPE_CHARS)).alias(f"_{f}_shape")
        frame = _per_distinct_value(frame, f, [*per_field.get(f, []), shape])
    return frame.lazy()


def _per_distinct_value(frame: pl.DataFrame, cols: str | list[str], exprs: list[pl.Expr]) -> pl.DataFrame:
    """``exprs`` (functions of ``cols`` alone) computed once per distinct value of ``cols`` and joined back: event
    logs repeat their paths, payloads and user agents, and these regular expressions dominate the cost. Eager on
    purpose: in a lazy plan, a frame joined with its own distinct values is computed twice, and a chain of such
    joins recomputes its input at every link (on 400k events about 3.2 s against 2.2 s eagerly)."""
    keys = [cols] if isinstance(cols, str) else cols
    table = frame.select(keys).unique().with_columns(exprs)
    return frame.join(table, on=keys, how="left", nulls_equal=True, maintain_order="left")


@dataclass
class EventEncoders:
    """Training-only frequency tables (category / shape -> share of training events)."""

    n_train: int
    categories: dict[str, dict[str, float]] = field(default_factory=dict)
    shapes: dict[str, dict[str, float]] = field(default_factory=dict)
    window: str = "5m"
    fitted_days: list[str] | None = None  # the training days that had events at fitting time (None: not recorded)
    training_days: list[str] | None = None  # the training days fixed at the first fit (None: not recorded)

    @property
    def unknown_freq(self) -> float:
        """Frequency given to unseen categories / shapes: half an occurrence."""
        return 0.5 / max(self.n_train, 1)

    def feature_columns(self, windows: bool = False) -> list[str]:
        cols = [f"{f}_{s}" for f in TEXT_FIELDS for s in TEXT_STATS]
        cols += list(SPECIAL_TOKENS)
        cols += [f"{f}_shape_freq" for f in TEXT_FIELDS]
        cols += [f"{c}_freq" for c in CATEGORICALS]
        if windows:
            cols += list(WINDOW_COLUMNS)
        return cols

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path)
        return path

    @staticmethod
    def load(path: str | Path) -> EventEncoders:
        obj = joblib.load(path)
        if not isinstance(obj, EventEncoders):
            raise TypeError(f"{path} does not hold EventEncoders")
        return obj


def fit_event_encoders(train_events: pl.DataFrame, *, window: str = "5m") -> EventEncoders:
    """Frequency tables of the categoricals and string shapes, from ``train_events`` only."""
    n = train_events.height
    if n == 0:
        raise ValueError("cannot fit event encoders on zero training events")
    d = _with_derived(train_events).collect()

    def table(col: str) -> dict[str, float]:
        vc = d.group_by(col).len()
        return {str(k): v / n for k, v in vc.iter_rows()}

    return EventEncoders(
        n_train=n,
        categories={c: table(c) for c in CATEGORICALS},
        shapes={f: table(f"_{f}_shape") for f in TEXT_FIELDS},
        window=window,
    )


def _freq_expr(col: str, table: dict[str, float], default: float) -> pl.Expr:
    if not table:
        return pl.lit(default)
    return pl.col(col).replace_strict(list(table), list(table.values()), default=default, return_dtype=pl.Float64)


def window_features(events: pl.DataFrame | pl.LazyFrame, window: str = "5m") -> pl.DataFrame:
    """Per (client_ip, tumbling window) statistics joined back to every event (see module docstring); the keyed
    events are collected once, then grouped and joined back (see :func:`_per_distinct_value`)."""
    lf = _with_derived(events) if "path_template" not in events.lazy().collect_schema().names() else events.lazy()
    cols = lf.collect_schema().names()
    if "user_name" not in cols:
        lf = lf.with_columns(pl.lit(None, pl.String).alias("user_name"))
    secs = pl.duration(**_duration_kwargs(window)).dt.total_seconds()
    # an event without a client IP is its own client: a per-row key no IP can equal (IPs never start with NUL)
    own = pl.format("\x00{}", pl.int_range(pl.len(), dtype=pl.Int64))
    client = pl.when(pl.col("client_ip").is_null()).then(own).otherwise(pl.col("client_ip").cast(pl.String))
    keyed = lf.with_columns(pl.col("ts").dt.truncate(window).alias("_win"), client.alias("_client")).collect()
    is_login = pl.col("path_template").str.contains("(?i)login|signin|auth")
    agg = keyed.group_by("_client", "_win").agg(
        pl.len().cast(pl.Float64).alias("win_requests"),
        (pl.col("status") >= 400).fill_null(False).mean().cast(pl.Float64).alias("win_error_rate"),
        pl.col("path_template").n_unique().cast(pl.Float64).alias("win_distinct_paths"),
        pl.col("method").n_unique().cast(pl.Float64).alias("win_distinct_methods"),
        pl.col("user_name").drop_nulls().n_unique().cast(pl.Float64).alias("win_distinct_users"),
        (is_login & pl.col("status").is_in([401, 403]))
        .fill_null(False)
        .sum()
        .cast(pl.Float64)
        .alias("win_failed_logins"),
    )
    agg = agg.with_columns((pl.col("win_requests") / secs).alias("win_rate_per_s"))
    joined = keyed.join(agg, on=["_client", "_win"], how="left", nulls_equal=True, maintain_order="left")
    return joined.drop("_client", "_win")


def _duration_kwargs(window: str) -> dict[str, int]:
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    num, unit = window[:-1], window[-1]
    if unit not in units or not num.isdigit():
        raise ValueError(f"window must look like '30s', '5m', '1h' or '1d', got {window!r}")
    return {units[unit]: int(num)}


def event_features(
    events: pl.DataFrame, encoders: EventEncoders, *, windows: bool | None = None, window: str | None = None
) -> pl.DataFrame:
    """Numeric features per event (order of ``encoders.feature_columns(windows)``) plus the kept ids / labels.

    ``windows=None``: client windows when the ``ts`` and ``client_ip`` columns exist, even all null (a day
    without client IPs then has per-event window statistics, not fewer columns than the other days).
    """
    if windows is None:
        windows = "ts" in events.columns and "client_ip" in events.columns
    # eager from here: each stage joins a frame with its own distinct values (see _per_distinct_value)
    frame = _with_derived(events).with_columns(pl.col(f).fill_null("") for f in TEXT_FIELDS).collect()
    if windows:
        frame = window_features(frame, window or encoders.window)
    unk = encoders.unknown_freq
    # String statistics and token counts once per DISTINCT value (see _per_distinct_value)
    for f in TEXT_FIELDS:
        frame = _per_distinct_value(frame, f, text_stat_exprs(f))
    payload = ["path", "query", "body"]
    frame = _per_distinct_value(frame, payload, token_count_exprs(payload_expr(*payload), raw_payload_expr(*payload)))
    feats: list[pl.Expr] = []
    for f in TEXT_FIELDS:
        feats += [pl.col(f"{f}_{s}") for s in TEXT_STATS]
    feats += [pl.col(c) for c in SPECIAL_TOKENS]
    feats += [
        _freq_expr(f"_{f}_shape", encoders.shapes.get(f, {}), unk).log10().alias(f"{f}_shape_freq") for f in TEXT_FIELDS
    ]
    feats += [_freq_expr(c, encoders.categories.get(c, {}), unk).log10().alias(f"{c}_freq") for c in CATEGORICALS]
    keep = [c for c in KEEP_COLUMNS if c in events.columns]
    win = [pl.col(c) for c in WINDOW_COLUMNS] if windows else []
    return frame.select(*[pl.col(c) for c in keep], *feats, *win)


def feature_matrix(features: pl.DataFrame, encoders: EventEncoders) -> Any:
    """float64 numpy matrix of the feature columns present (windows included when computed)."""
    cols = encoders.feature_columns(windows=all(c in features.columns for c in WINDOW_COLUMNS))
    return features.select(cols).to_numpy().astype("float64")


def unknown_log_freq(encoders: EventEncoders) -> float:
    return math.log10(encoders.unknown_freq)
