"""Per-(entity, time window) features of Zeek connections, in the polars lazy API.

Windows start every ``step`` seconds from each UTC midnight (multiples of ``step`` since the epoch
when ``step`` divides 24 h). With ``step == size`` (default) they are tumbling; with ``step < size``
every connection belongs to up to ``size/step`` sliding windows. Windows are cut at midnight UTC: a
window holds only connections of the day it starts on, and its ``window_end`` is at most the next
midnight, so features computed one day at a time equal those computed over many days. A window exists
only if it holds at least one connection of the entity; rows with a null timestamp or entity are
ignored. Optional input columns: ``label_col``, ``attack_type``, ``service``, ``history`` (treated as
all-null when absent) and ``is_failed`` (derived from ``schema.FAILED_CONN_STATES`` where absent or
null). A null or NaN ``duration`` counts as 0.

Feature definitions (all Float64, never null/NaN):

* ``n_conn``; ``n_dst_hosts`` / ``n_dst_ports`` / ``n_src_ports``: distinct resp_h / resp_p / orig_p.
* ``bytes_out`` / ``bytes_in`` / ``pkts_out`` / ``pkts_in``: sums of orig_/resp_ bytes and pkts.
* ``bytes_ratio = log1p(bytes_out / (bytes_in + 1))``; ``mean_bytes_out``, ``max_bytes_out``.
* ``dur_mean``, ``dur_max``, ``dur_median``, ``dur_std`` (population std, ddof=0, so 0 for one row).
* ``failed_share`` (is_failed), ``rej_share`` (conn_state in ``schema.REJECTED_CONN_STATES``),
  ``s0_share`` (conn_state S0); ``tcp_share`` / ``udp_share`` / ``icmp_share`` (proto).
* ``dst_port_entropy`` / ``dst_host_entropy``: Shannon entropy (bits) of connections over resp_p / resp_h.
* Top pair = the resp_h with most connections from the entity in the window (ties: lowest resp_h);
  ``top_pair_share`` = its connections / ``n_conn``. Over its connections:
  ``iat_bowley_skew`` / ``iat_mad`` on inter-arrival times in seconds (ts sorted),
  ``size_bowley_skew`` / ``size_mad`` on orig_bytes, and ``beacon_score`` (see
  :mod:`vigia.features.robust_stats`). Filled with 0 when undefined: IAT stats need >= 2
  connections, ``beacon_score`` needs >= 3.
* ``history_len_mean`` / ``history_entropy_mean``: mean length / character entropy (bits) of
  history (null history counts as ``""``: length 0, entropy 0); ``history_pattern_freq``: share of
  connections whose history equals the window's most frequent history (null as ``""``).
* ``service_entropy``: entropy (bits) of the services, null service as its own category ``"-"``.
* Day-level context of the top pair (RITA-style beacon persistence and destination prevalence),
  over all connections of the UTC day of the window start (each connection counted once, also
  with sliding windows): ``top_pair_day_conns`` (connections entity -> top resp_h that day),
  ``top_pair_day_windows`` (distinct ``step``-long slots with such a connection),
  ``top_dst_day_sources`` (distinct entities contacting the top resp_h that day; rare
  destinations have few), ``top_pair_dst_share`` (``top_pair_day_conns`` / all connections to the
  top resp_h that day) and ``beacon_persistence = beacon_score * log1p(top_pair_day_conns) *
  top_pair_dst_share`` (a regular pair that persists all day towards a destination nobody else
  uses). These look at the whole day of the window, so they suit daily batch scoring.

Then ``label`` (Int8: max of the flow labels, i.e. 1 if any is 1, 0 if all labelled are 0, null
if none labelled), ``n_malicious`` (Int64) and ``attack_type`` (most frequent non-null value,
ties: lexicographically smallest; null if none).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

import numpy as np
import polars as pl

from vigia.features.robust_stats import (
    BEACON_MIN_CONNECTIONS,
    bowley_skew_expr,
    entropy_from_counts_expr,
    mad_expr,
    regularity_score_expr,
)
from vigia.features.text import shannon_entropy_expr
from vigia.schema import FAILED_CONN_STATES, REJECTED_CONN_STATES

CONN_FEATURE_COLUMNS: tuple[str, ...] = (
    "n_conn",
    "n_dst_hosts",
    "n_dst_ports",
    "n_src_ports",
    "bytes_out",
    "bytes_in",
    "pkts_out",
    "pkts_in",
    "bytes_ratio",
    "mean_bytes_out",
    "max_bytes_out",
    "dur_mean",
    "dur_max",
    "dur_std",
    "dur_median",
    "failed_share",
    "rej_share",
    "s0_share",
    "dst_port_entropy",
    "dst_host_entropy",
    "tcp_share",
    "udp_share",
    "icmp_share",
    "iat_bowley_skew",
    "iat_mad",
    "size_bowley_skew",
    "size_mad",
    "beacon_score",
    "top_pair_share",
    "history_len_mean",
    "history_entropy_mean",
    "history_pattern_freq",
    "service_entropy",
    "top_pair_day_conns",
    "top_pair_day_windows",
    "top_dst_day_sources",
    "top_pair_dst_share",
    "beacon_persistence",
)
WINDOW_KEY_COLUMNS: tuple[str, ...] = ("window_start", "window_end", "day")
LABEL_COLUMNS: tuple[str, ...] = ("label", "n_malicious", "attack_type")

_E, _W, _T, _K, _D = "_entity", "_win", "_t_us", "_key", "_day"
_DAY_SECONDS = 86_400
_KEYS = [_K]
_US = 1_000_000
_LOW32 = 0xFFFFFFFF


FEATURE_INPUT_COLUMNS: tuple[str, ...] = (
    "resp_h",
    "resp_p",
    "orig_p",
    "orig_bytes",
    "resp_bytes",
    "orig_pkts",
    "resp_pkts",
    "duration",
    "conn_state",
    "proto",
)
OPTIONAL_INPUT_COLUMNS: tuple[str, ...] = ("is_failed", "service", "history", "attack_type")


def feature_input_columns(entity: str = "orig_h", time_col: str = "ts", label_col: str | None = "label") -> list[str]:
    """Every input column :func:`build_conn_features` may read (the optional ones may be absent)."""
    cols = [entity, time_col, *FEATURE_INPUT_COLUMNS, *OPTIONAL_INPUT_COLUMNS, *([label_col] if label_col else [])]
    return list(dict.fromkeys(cols))


def window_sizes(window_seconds: int, step_seconds: int | None) -> tuple[int, int]:
    """``(step, windows per connection)``; raises ``ValueError`` unless ``window_seconds`` is a multiple of ``step``."""
    step = window_seconds if step_seconds is None else step_seconds
    if window_seconds <= 0 or step <= 0:
        raise ValueError(f"window and step must be positive, got {window_seconds=} {step=}")
    if step > window_seconds or window_seconds % step:
        raise ValueError(f"window_seconds ({window_seconds}) must be a positive multiple of step ({step})")
    return step, window_seconds // step


def slots_per_day(step: int) -> int:
    """Number of window start slots in one UTC day (the last one is shorter unless ``step`` divides 24 h)."""
    return -(-_DAY_SECONDS // step)


def crosses_midnight(step: int, n_win: int) -> bool:
    """Whether a window of this grid can reach past midnight (then it is cut there)."""
    return n_win > 1 or _DAY_SECONDS % step != 0


def window_index(t_us: int, step: int) -> int:
    """Index of the ``step`` slot holding the epoch time ``t_us`` (microseconds); slots restart at midnight UTC."""
    day, in_day = divmod(t_us, _DAY_SECONDS * _US)
    return day * slots_per_day(step) + in_day // (step * _US)


def window_start_us(index: int, step: int) -> int:
    """Epoch start (microseconds) of the slot ``index``; increasing, ``window_index`` of it is ``index``."""
    day, slot = divmod(index, slots_per_day(step))
    return (day * _DAY_SECONDS + slot * step) * _US


def _slot_expr(t_us: pl.Expr, step: int) -> pl.Expr:
    """:func:`window_index` as a polars expression."""
    if _DAY_SECONDS % step == 0:
        return t_us // (step * _US)
    return (t_us // (_DAY_SECONDS * _US)) * slots_per_day(step) + (t_us % (_DAY_SECONDS * _US)) // (step * _US)


def _start_us_expr(w: pl.Expr, step: int) -> pl.Expr:
    """:func:`window_start_us` as a polars expression."""
    if _DAY_SECONDS % step == 0:
        return w * (step * _US)
    per_day = slots_per_day(step)
    return (w // per_day) * (_DAY_SECONDS * _US) + (w % per_day) * (step * _US)


def _day_expr(w: pl.Expr, step: int) -> pl.Expr:
    """UTC day number (since the epoch) of the start of window ``w``."""
    if _DAY_SECONDS % step == 0:
        return (w * step) // _DAY_SECONDS
    return w // slots_per_day(step)


def _base(lf: pl.LazyFrame, entity: str, time_col: str, label_col: str | None, step: int, n_win: int) -> pl.LazyFrame:
    """Project the needed columns and add the window index (exploded over the windows of each row)."""
    names = set(lf.collect_schema().names())

    def optional(name: str | None, dtype: pl.DataType, default: pl.Expr | None = None) -> pl.Expr:
        if name is not None and name in names:
            return pl.col(name).cast(dtype)
        return (pl.lit(None, dtype) if default is None else default).alias(name or "_missing")

    label = optional(label_col, pl.Int8)
    attack = optional("attack_type", pl.String)
    derived = pl.col("conn_state").is_in(sorted(FAILED_CONN_STATES))
    failed = pl.coalesce(pl.col("is_failed").cast(pl.Boolean), derived) if "is_failed" in names else derived
    t_us = pl.col(time_col).cast(pl.Datetime("us")).dt.epoch("us")  # tz-aware times: their UTC instant
    base = lf.select(
        pl.col(entity).cast(pl.String).cast(pl.Categorical).alias(_E),
        t_us.alias(_T),
        _slot_expr(t_us, step).alias(_W),
        pl.col("resp_h").cast(pl.String).cast(pl.Categorical),
        "resp_p",
        "orig_p",
        pl.col("orig_bytes").fill_null(0),
        pl.col("resp_bytes").fill_null(0),
        pl.col("orig_pkts").fill_null(0),
        pl.col("resp_pkts").fill_null(0),
        pl.col("duration").cast(pl.Float64).fill_nan(None).fill_null(0.0),
        failed.fill_null(False).alias("is_failed"),
        pl.col("conn_state").is_in(sorted(REJECTED_CONN_STATES)).fill_null(False).alias("_rej"),
        (pl.col("conn_state") == "S0").fill_null(False).alias("_s0"),
        (pl.col("proto") == "tcp").fill_null(False).alias("_tcp"),
        (pl.col("proto") == "udp").fill_null(False).alias("_udp"),
        (pl.col("proto") == "icmp").fill_null(False).alias("_icmp"),
        optional("service", pl.String).fill_null("-").cast(pl.Categorical).alias("service"),
        optional("history", pl.String).fill_null("").cast(pl.Categorical).alias("history"),
        label.alias("_label"),
        attack.alias("_attack"),
    ).filter(pl.col(_T).is_not_null() & pl.col(_E).is_not_null())
    if n_win > 1:
        base = base.with_columns(pl.col(_W) - pl.int_ranges(0, n_win, dtype=pl.Int64)).explode(_W)
        # cut at midnight: a connection is in no window that starts on the day before its own
        base = base.filter(_day_expr(pl.col(_W), step) == pl.col(_T) // (_DAY_SECONDS * _US))
    # One Int64 group key per (entity, window): entity code in the high 32 bits, window index
    # modulo 2**32 in the low ones (distinct unless windows are 2**32 steps apart, >= 136 years).
    key = (pl.col(_E).to_physical().cast(pl.Int64) * (_LOW32 + 1)) + (pl.col(_W) & _LOW32)
    return base.with_columns(key.alias(_K))


def _main_aggs(base: pl.LazyFrame) -> pl.LazyFrame:
    dur = pl.col("duration")
    return base.group_by(_KEYS).agg(
        pl.col(_E).first(),
        pl.col(_W).first(),
        pl.len().alias("n_conn"),
        pl.col("orig_p").n_unique().alias("n_src_ports"),
        pl.col("orig_bytes").sum().alias("bytes_out"),
        pl.col("resp_bytes").sum().alias("bytes_in"),
        pl.col("orig_pkts").sum().alias("pkts_out"),
        pl.col("resp_pkts").sum().alias("pkts_in"),
        pl.col("orig_bytes").mean().alias("mean_bytes_out"),
        pl.col("orig_bytes").max().alias("max_bytes_out"),
        dur.mean().alias("dur_mean"),
        dur.max().alias("dur_max"),
        dur.std(ddof=0).alias("dur_std"),
        dur.median().alias("dur_median"),
        pl.col("is_failed").mean().alias("failed_share"),
        pl.col("_rej").mean().alias("rej_share"),
        pl.col("_s0").mean().alias("s0_share"),
        pl.col("_tcp").mean().alias("tcp_share"),
        pl.col("_udp").mean().alias("udp_share"),
        pl.col("_icmp").mean().alias("icmp_share"),
        pl.col("_label").max().alias("label"),
        (pl.col("_label") == 1).sum().cast(pl.Int64).alias("n_malicious"),
    )


def _counts(base: pl.LazyFrame, col: str) -> pl.LazyFrame:
    return base.group_by([*_KEYS, col]).agg(pl.len().alias("_c"))


def _distribution_aggs(counts: pl.LazyFrame, prefix: str) -> pl.LazyFrame:
    return counts.group_by(_KEYS).agg(
        pl.len().cast(pl.Float64).alias(f"n_{prefix}s"),
        entropy_from_counts_expr(pl.col("_c")).alias(f"{prefix}_entropy"),
    )


def _host_aggs(host_counts: pl.LazyFrame) -> pl.LazyFrame:
    c = pl.col("_c")
    return host_counts.group_by(_KEYS).agg(
        pl.len().cast(pl.Float64).alias("n_dst_hosts"),
        entropy_from_counts_expr(c).alias("dst_host_entropy"),
        pl.col("resp_h").filter(c == c.max()).min().alias("_top_h"),
        c.max().alias("_top_n"),
    )


def _history_aggs(base: pl.LazyFrame) -> pl.LazyFrame:
    """History length / entropy / pattern frequency, computing string entropy once per distinct value."""
    hist = _counts(base, "history")
    text = pl.col("history").cast(pl.String)
    per_value = (
        hist.select("history")
        .unique()
        .with_columns(
            text.str.len_chars().cast(pl.Float64).alias("_len"),
            shannon_entropy_expr(text).alias("_ent"),
        )
    )
    c = pl.col("_c").cast(pl.Float64)
    return (
        hist.join(per_value, on="history", how="left")
        .group_by(_KEYS)
        .agg(
            ((c * pl.col("_len")).sum() / c.sum()).alias("history_len_mean"),
            ((c * pl.col("_ent")).sum() / c.sum()).alias("history_entropy_mean"),
            (c.max() / c.sum()).alias("history_pattern_freq"),
        )
    )


def _beacon_aggs(base: pl.LazyFrame, hosts: pl.LazyFrame) -> pl.LazyFrame:
    """Inter-arrival / size regularity over the connections of each window's top (entity, resp_h) pair."""
    top = hosts.select(*_KEYS, pl.col("_top_h").alias("resp_h"))
    # Sort once and take row-wise differences (null on each group's first row) instead of
    # sorting inside every quantile of the aggregation.
    same_group = pl.col(_K) == pl.col(_K).shift()
    pair_rows = (
        base.select(*_KEYS, "resp_h", _T, "orig_bytes")
        .join(top, on=[*_KEYS, "resp_h"], how="inner")
        .sort([*_KEYS, _T])
        .select(
            *_KEYS,
            (pl.when(same_group).then(pl.col(_T).diff()).cast(pl.Float64) / _US).alias("_iat"),
            pl.col("orig_bytes").cast(pl.Float64).alias("_size"),
        )
    )
    iat, size = pl.col("_iat"), pl.col("_size")
    stats = pair_rows.group_by(_KEYS).agg(
        pl.len().alias("_pair_n"),
        bowley_skew_expr(iat).alias("iat_bowley_skew"),
        mad_expr(iat).alias("iat_mad"),
        iat.median().alias("_iat_med"),
        bowley_skew_expr(size).alias("size_bowley_skew"),
        mad_expr(size).alias("size_mad"),
        size.median().alias("_size_med"),
    )
    iat_score = regularity_score_expr(pl.col("iat_bowley_skew"), pl.col("iat_mad"), pl.col("_iat_med"))
    size_score = regularity_score_expr(pl.col("size_bowley_skew"), pl.col("size_mad"), pl.col("_size_med"))
    beacon = pl.when(pl.col("_pair_n") >= BEACON_MIN_CONNECTIONS).then((iat_score + size_score) / 2.0).otherwise(0.0)
    return stats.select(
        *_KEYS, "iat_bowley_skew", "iat_mad", "size_bowley_skew", "size_mad", beacon.alias("beacon_score")
    )


def _pair_day_aggs(base: pl.LazyFrame, step: int) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Day-level (entity, resp_h) pair activity and resp_h prevalence, one row per (day, ...) group.

    Counted over the original connections (one per connection even with sliding windows: the
    membership whose window index is the connection's own ``step`` slot), by UTC day of ``ts``.
    """
    own_slot = pl.col(_W) == _slot_expr(pl.col(_T), step)
    rows = base.filter(own_slot).select(_E, "resp_h", _W, (pl.col(_T) // (_DAY_SECONDS * _US)).alias(_D))
    pairs = rows.group_by([_D, _E, "resp_h"]).agg(
        pl.len().alias("_pd_n"),
        pl.col(_W).n_unique().alias("_pd_win"),
    )
    return pairs, _dest_aggs(pairs)


def _dest_aggs(pairs: pl.LazyFrame) -> pl.LazyFrame:
    """Per (day, resp_h): distinct entities contacting it and all its connections, from the pair counts."""
    return pairs.group_by([_D, "resp_h"]).agg(
        pl.len().alias("_dst_src"),
        pl.col("_pd_n").sum().alias("_dst_n"),
    )


def _attack_mode(base: pl.LazyFrame) -> pl.LazyFrame:
    return (
        base.filter(pl.col("_attack").is_not_null())
        .group_by([*_KEYS, "_attack"])
        .agg(pl.len().alias("_c"))
        .group_by(_KEYS)
        .agg(pl.col("_attack").filter(pl.col("_c") == pl.col("_c").max()).min().alias("attack_type"))
    )


def _window_aggs(base: pl.LazyFrame) -> pl.LazyFrame:
    """Every per-window aggregate (one row per ``_K``), before the day-level context of the top pair."""
    hosts = _host_aggs(_counts(base, "resp_h"))
    ports = _distribution_aggs(_counts(base, "resp_p"), "dst_port")
    services = (
        _counts(base, "service").group_by(_KEYS).agg(entropy_from_counts_expr(pl.col("_c")).alias("service_entropy"))
    )
    out = _main_aggs(base)
    for part in (hosts, ports, services, _history_aggs(base), _beacon_aggs(base, hosts), _attack_mode(base)):
        out = out.join(part, on=_KEYS, how="left")
    return out


def _finish(
    out: pl.LazyFrame,
    pairs: pl.LazyFrame,
    dests: pl.LazyFrame,
    *,
    entity: str,
    step: int,
    window_seconds: int,
    n_win: int,
) -> pl.LazyFrame:
    """Join the day-level context of each window's top pair, derive the ratios, cast and sort the output."""
    out = (
        out.with_columns(_day_expr(pl.col(_W), step).alias(_D), pl.col("_top_h").alias("resp_h"))
        .join(pairs, on=[_D, _E, "resp_h"], how="left")
        .join(dests, on=[_D, "resp_h"], how="left")
    )
    pd_n = pl.col("_pd_n").cast(pl.Float64)
    start_us = _start_us_expr(pl.col(_W), step)
    window_start = start_us.cast(pl.Datetime("us"))
    window_end = window_start + pl.duration(seconds=window_seconds)
    if crosses_midnight(step, n_win):  # cut at the next midnight
        end_us = pl.min_horizontal(start_us + window_seconds * _US, (pl.col(_D) + 1) * (_DAY_SECONDS * _US))
        window_end = end_us.cast(pl.Datetime("us"))
    features = [pl.col(name).cast(pl.Float64).fill_nan(0.0).fill_null(0.0).alias(name) for name in CONN_FEATURE_COLUMNS]
    out = out.with_columns(
        (pl.col("_top_n").cast(pl.Float64) / pl.col("n_conn").cast(pl.Float64)).alias("top_pair_share"),
        pl.col("bytes_out")
        .cast(pl.Float64)
        .truediv(pl.col("bytes_in").cast(pl.Float64) + 1.0)
        .log1p()
        .alias("bytes_ratio"),
        pd_n.alias("top_pair_day_conns"),
        pl.col("_pd_win").cast(pl.Float64).alias("top_pair_day_windows"),
        pl.col("_dst_src").cast(pl.Float64).alias("top_dst_day_sources"),
        (pd_n / pl.col("_dst_n").cast(pl.Float64)).alias("top_pair_dst_share"),
        (pl.col("beacon_score") * pd_n.log1p() * pd_n / pl.col("_dst_n").cast(pl.Float64)).alias("beacon_persistence"),
    )
    return out.select(
        pl.col(_E).cast(pl.String).alias(entity),
        window_start.alias("window_start"),
        window_end.alias("window_end"),
        window_start.dt.date().alias("day"),
        *features,
        pl.col("label").cast(pl.Int8),
        pl.col("n_malicious").cast(pl.Int64),
        pl.col("attack_type").cast(pl.String),
    ).sort(["window_start", entity])


def build_conn_features(
    lf: pl.LazyFrame,
    *,
    window_seconds: int = 300,
    step_seconds: int | None = None,
    entity: str = "orig_h",
    time_col: str = "ts",
    label_col: str | None = "label",
) -> pl.LazyFrame:
    """Per-(entity, window) connection features; see the module docstring for definitions.

    Columns: ``entity``, window_start, window_end, day, :data:`CONN_FEATURE_COLUMNS`, label,
    n_malicious, attack_type; sorted by window_start then entity.
    """
    step, n_win = window_sizes(window_seconds, step_seconds)
    base = _base(lf, entity, time_col, label_col, step, n_win)
    pairs, dests = _pair_day_aggs(base, step)
    return _finish(
        _window_aggs(base), pairs, dests, entity=entity, step=step, window_seconds=window_seconds, n_win=n_win
    )


def build_conn_features_chunked(
    chunks: Iterable[pl.DataFrame | pl.LazyFrame],
    *,
    window_seconds: int = 300,
    entity: str = "orig_h",
    time_col: str = "ts",
    label_col: str | None = "label",
) -> pl.DataFrame:
    """:func:`build_conn_features` of the concatenated ``chunks``, computed one chunk at a time (tumbling windows).

    Peak memory follows the largest chunk instead of the whole input. The result is identical provided no
    window holds connections of two chunks (split the input on window starts, :func:`window_start_us`);
    chunks whose windows overlap raise ``ValueError``. Day-level pair counts are summed over chunks.
    """
    step, n_win = window_sizes(window_seconds, None)
    outs: list[pl.DataFrame] = []
    pair_parts: list[pl.DataFrame] = []
    spans: list[tuple[int, int]] = []
    first: pl.LazyFrame | None = None
    for chunk in chunks:
        first = chunk.lazy() if first is None else first
        base = _base(chunk.lazy(), entity, time_col, label_col, step, n_win)
        out, pairs = pl.collect_all([_window_aggs(base), _pair_day_aggs(base, step)[0]])
        if out.height == 0:
            continue
        spans.append((int(out[_W].min()), int(out[_W].max())))  # type: ignore[arg-type]
        outs.append(out)
        pair_parts.append(pairs)
    spans.sort()
    for (_, prev_hi), (lo, _) in pairwise(spans):
        if lo <= prev_hi:
            raise ValueError("chunks share a window: split the input on window starts (see window_start_us)")
    if first is None:
        raise ValueError("build_conn_features_chunked needs at least one chunk")
    if not outs:  # no usable rows: the (empty) result of the unchunked computation
        return build_conn_features(
            first, window_seconds=window_seconds, entity=entity, time_col=time_col, label_col=label_col
        ).collect()
    # A (day, entity, resp_h) pair may span chunks: its connections add up, and its distinct step slots too
    # (a slot never spans two chunks).
    pairs = (
        pl.concat(pair_parts).lazy().group_by([_D, _E, "resp_h"]).agg(pl.col("_pd_n").sum(), pl.col("_pd_win").sum())
    )
    dests = _dest_aggs(pairs)
    return _finish(
        pl.concat(outs).lazy(), pairs, dests, entity=entity, step=step, window_seconds=window_seconds, n_win=n_win
    ).collect()


def features_to_matrix(df: pl.DataFrame, columns: Sequence[str] = CONN_FEATURE_COLUMNS) -> np.ndarray:
    """Feature columns of ``df`` as a C-contiguous float64 matrix (rows follow ``df``)."""
    matrix = df.select([pl.col(c).cast(pl.Float64) for c in columns]).to_numpy()
    return np.ascontiguousarray(matrix, dtype=np.float64)
