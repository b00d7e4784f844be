"""Synthetic API / application events, as an OpenSearch index of web-shop API logs would hold them.

:func:`generate_api_events` returns a polars frame whose columns are the ECS dotted field names
(``@timestamp``, ``client.ip``, ``user.name``, ``http.request.method``, ``url.path``, ``url.query``,
``http.request.body.content``, ``http.response.status_code``, ``user_agent.original``,
``event.duration`` (ms), ``service.name``) plus ``event.id``, ``label`` (0/1) and ``attack_type``
(null for normal events). :func:`to_records` / :func:`write_ndjson` / :func:`write_json_array` give the
nested JSON form.

Normal traffic: a diurnal arrival rhythm (quiet at night, peaks late morning and evening), a few
thousand users with Zipf-like activity, each with a home IP and a browser / app user agent, and ~14
endpoints over five services with realistic status codes and latencies.

Injected abuse (``attack_fraction`` of the events, split over the four types):

* ``credential_stuffing``: bursts of ``POST /api/v1/login`` from 3 IPs trying many usernames, mostly 401;
* ``scraping``: one client sweeping product ids and catalogue pages within a few minutes;
* ``injection``: SQLi / XSS / path traversal / command payloads in query strings and JSON bodies;
* ``error_storm``: a 10-minute burst of 5xx (slow) responses from one service plus a client's 4xx burst.

Everything is drawn from ``numpy.random.default_rng(seed)`` and built with numpy / polars column
operations (about 1M events in a few seconds).
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ATTACK_TYPES = ("credential_stuffing", "scraping", "injection", "error_storm")

ECS_COLUMNS = (
    "@timestamp",
    "event.id",
    "client.ip",
    "user.name",
    "http.request.method",
    "url.path",
    "url.query",
    "http.request.body.content",
    "http.response.status_code",
    "user_agent.original",
    "event.duration",
    "service.name",
    "label",
    "attack_type",
)

# method, path template, query template, body template, service, weight, median latency ms
ENDPOINTS: tuple[tuple[str, str, str, str, str, float, float], ...] = (
    ("GET", "/api/v1/products", "category={cat}&page={page}", "", "catalog", 20.0, 35.0),
    ("GET", "/api/v1/products/{id}", "", "", "catalog", 25.0, 20.0),
    ("GET", "/api/v1/products/{id}/reviews", "page={page}", "", "catalog", 6.0, 40.0),
    ("GET", "/api/v1/search", "q={word}&page={page}", "", "search", 12.0, 80.0),
    ("POST", "/api/v1/login", "", '{{"username":"{user}","password":"********"}}', "auth", 4.0, 120.0),
    ("POST", "/api/v1/logout", "", "", "auth", 1.5, 10.0),
    ("GET", "/api/v1/cart", "", "", "cart", 8.0, 15.0),
    ("POST", "/api/v1/cart/items", "", '{{"product_id":{id},"qty":{qty}}}', "cart", 5.0, 25.0),
    ("DELETE", "/api/v1/cart/items/{id}", "", "", "cart", 1.0, 20.0),
    ("POST", "/api/v1/orders", "", '{{"cart_id":"{cart}","payment":"card","currency":"EUR"}}', "orders", 1.5, 250.0),
    ("GET", "/api/v1/orders/{id}", "", "", "orders", 2.0, 45.0),
    ("GET", "/api/v1/users/{uid}/profile", "", "", "accounts", 3.0, 30.0),
    ("PUT", "/api/v1/users/{uid}/profile", "", '{{"city":"{word}","newsletter":true}}', "accounts", 0.7, 60.0),
    ("GET", "/health", "", "", "gateway", 3.0, 2.0),
)

WORDS = (
    "shoes", "jacket", "laptop", "phone", "coffee", "garden", "lamp", "desk", "chair", "books", "camera",
    "tent", "bike", "watch", "headphones", "kettle", "madrid", "lisboa", "paris", "berlin", "toys", "wine",
)  # fmt: skip
CATEGORIES = ("electronics", "home", "fashion", "sports", "books", "garden", "toys", "food")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",  # noqa: E501
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 Edg/124.0",  # noqa: E501
    "VigiaShop/5.2 (Android 14; Pixel 8) okhttp/4.12.0",
    "VigiaShop/5.2 (iPhone; iOS 17.4) CFNetwork/1490 Darwin/23.4.0",
)  # fmt: skip
UA_WEIGHTS = (0.38, 0.17, 0.1, 0.08, 0.17, 0.1)

INJECTIONS = (
    "' OR 1=1--",
    "1' UNION SELECT username,password FROM users--",
    "1; DROP TABLE orders;--",
    "admin'--",
    "<script>alert(document.cookie)</script>",
    '"><img src=x onerror=alert(1)>',
    "../../../../etc/passwd",
    "..%2F..%2F..%2Fetc%2Fshadow",
    "1 AND SLEEP(5)",
    "$(cat /etc/passwd)",
    "javascript:alert(1)",
    "%27%20OR%20%271%27%3D%271",
)

# Hourly activity weights (UTC): quiet at night, peaks late morning and evening.
DIURNAL = np.array(
    [0.25, 0.15, 0.1, 0.08, 0.08, 0.12, 0.3, 0.6, 0.9, 1.1, 1.25, 1.3, 1.2, 1.1, 1.05, 1.0, 1.05, 1.15, 1.3, 1.45,
     1.4, 1.1, 0.7, 0.4]
)  # fmt: skip


def _ips(rng: np.random.Generator, n: int, first: int) -> np.ndarray:
    octets = rng.integers(1, 255, size=(n, 3))
    return np.array([f"{first}.{a}.{b}.{c}" for a, b, c in octets], dtype=object)


def _fill(template: pl.Expr, values: dict[str, pl.Expr]) -> pl.Expr:
    out = template
    for key, val in values.items():
        out = out.str.replace_all("{" + key + "}", val, literal=True)
    return out.str.replace_all("{{", "{", literal=True).str.replace_all("}}", "}", literal=True)


def _normal_block(rng: np.random.Generator, start: datetime, n: int, span_s: float, n_users: int) -> pl.DataFrame:
    # diurnal timestamps: hour-of-span chosen by weight, uniform inside the hour
    n_hours = max(1, int(np.ceil(span_s / 3600)))
    hour_of_day = (start.hour + np.arange(n_hours)) % 24
    w = DIURNAL[hour_of_day]
    hours = rng.choice(n_hours, size=n, p=w / w.sum())
    offs = np.minimum((hours + rng.random(n)) * 3600.0, span_s - 1e-3)
    # users: Zipf-like activity; 8% anonymous traffic
    ranks = np.arange(1, n_users + 1)
    pu = 1.0 / ranks**0.8
    user = rng.choice(n_users, size=n, p=pu / pu.sum())
    anon = rng.random(n) < 0.08
    user_ip = _ips(np.random.default_rng(rng.integers(1 << 31)), n_users, 10)
    user_ua = rng.choice(len(USER_AGENTS), size=n_users, p=UA_WEIGHTS)
    anon_ip = _ips(np.random.default_rng(rng.integers(1 << 31)), 2000, 172)
    ew = np.array([e[5] for e in ENDPOINTS])
    ep = rng.choice(len(ENDPOINTS), size=n, p=ew / ew.sum())
    ip = np.where(anon, anon_ip[rng.integers(0, 2000, n)], user_ip[user])
    ua = np.where(anon, rng.choice(len(USER_AGENTS), size=n, p=UA_WEIGHTS), user_ua[user])
    frame = pl.DataFrame(
        {
            "offs": offs,
            "ep": ep.astype(np.int32),
            "user": np.where(anon, -1, user).astype(np.int32),
            "client.ip": ip.astype(str),
            "ua": ua.astype(np.int32),
            "id": rng.integers(1, 5000, n),
            "page": rng.integers(1, 12, n),
            "qty": rng.integers(1, 4, n),
            "word": rng.integers(0, len(WORDS), n),
            "cat": rng.integers(0, len(CATEGORIES), n),
            "lat": rng.lognormal(0.0, 0.5, n),
            "u": rng.random(n),
        }
    )
    med = pl.Series([e[6] for e in ENDPOINTS])
    is_login = pl.col("ep") == 4
    status = (
        pl.when(is_login & (pl.col("u") < 0.06))
        .then(401)
        .when(pl.col("u") < 0.012)
        .then(404)
        .when(pl.col("u") < 0.016)
        .then(400)
        .when(pl.col("u") < 0.018)
        .then(500)
        .when(pl.col("ep").is_in([7, 9]))
        .then(201)
        .otherwise(200)
    )
    user_name = pl.when(pl.col("user") >= 0).then(pl.format("user{}", pl.col("user"))).otherwise(None)
    return _assemble(frame, status, user_name, med)


def _assemble(frame: pl.DataFrame, status: pl.Expr, user_name: pl.Expr, med: pl.Series) -> pl.DataFrame:
    """Fill templates from the helper columns of ``frame`` (ep, id, page, qty, word, cat, user, lat, ua)."""
    ep = pl.col("ep")
    values = {
        "id": pl.col("id").cast(pl.String),
        "uid": pl.col("user").abs().cast(pl.String),
        "page": pl.col("page").cast(pl.String),
        "qty": pl.col("qty").cast(pl.String),
        "word": pl.col("word").replace_strict(list(range(len(WORDS))), list(WORDS), return_dtype=pl.String),
        "cat": pl.col("cat").replace_strict(list(range(len(CATEGORIES))), list(CATEGORIES), return_dtype=pl.String),
        "user": pl.col("user_name").fill_null("guest"),
        "cart": pl.format("c{}", pl.col("id")),
    }
    idx = list(range(len(ENDPOINTS)))

    def col(i: int) -> pl.Expr:
        return ep.replace_strict(idx, [e[i] for e in ENDPOINTS], return_dtype=pl.String)

    frame = frame.with_columns(user_name.alias("user_name"))
    if "path_override" not in frame.columns:
        frame = frame.with_columns(
            pl.lit(None, pl.String).alias(c) for c in ("path_override", "query_override", "body_override")
        )
    return (
        frame.select(
            pl.col("offs"),
            pl.col("client.ip"),
            pl.col("user_name").alias("user.name"),
            col(0).alias("http.request.method"),
            pl.coalesce("path_override", _fill(col(1), values)).alias("url.path"),
            pl.coalesce("query_override", _fill(col(2), values)).alias("url.query"),
            pl.coalesce("body_override", _fill(col(3), values)).alias("http.request.body.content"),
            status.cast(pl.Int32).alias("http.response.status_code"),
            pl.col("ua")
            .replace_strict(list(range(len(USER_AGENTS))), list(USER_AGENTS), default=None)
            .alias("ua_known"),
            pl.col("ua_text") if "ua_text" in frame.columns else pl.lit(None, pl.String).alias("ua_text"),
            (pl.col("lat") * ep.replace_strict(idx, med.to_list(), return_dtype=pl.Float64))
            .round(2)
            .alias("event.duration"),
            col(4).alias("service.name"),
            pl.col("label") if "label" in frame.columns else pl.lit(0, pl.Int8).alias("label"),
            pl.col("attack_type") if "attack_type" in frame.columns else pl.lit(None, pl.String).alias("attack_type"),
        )
        .with_columns(pl.coalesce("ua_text", "ua_known").alias("user_agent.original"))
        .drop("ua_known", "ua_text")
    )


def _attack_base(rng: np.random.Generator, n: int, ep: np.ndarray | int, t0: float, dur: float) -> dict[str, Any]:
    return {
        "offs": t0 + np.sort(rng.random(n)) * dur,
        "ep": np.broadcast_to(np.asarray(ep, dtype=np.int32), (n,)).copy(),
        "id": rng.integers(1, 5000, n),
        "page": rng.integers(1, 12, n),
        "qty": rng.integers(1, 4, n),
        "word": rng.integers(0, len(WORDS), n),
        "cat": rng.integers(0, len(CATEGORIES), n),
        "lat": rng.lognormal(0.0, 0.5, n),
        "u": rng.random(n),
        "ua": np.zeros(n, dtype=np.int32),
    }


def _attacks(rng: np.random.Generator, counts: dict[str, int], span_s: float, n_users: int) -> list[pl.DataFrame]:
    med = pl.Series([e[6] for e in ENDPOINTS])
    out = []

    def t0(dur: float) -> float:
        return float(rng.uniform(0, max(span_s - dur, 1.0)))

    # credential stuffing: 3 IPs, many usernames, mostly 401
    n = counts["credential_stuffing"]
    if n:
        dur = min(1800.0, span_s)
        d = _attack_base(rng, n, 4, t0(dur), dur)
        d["client.ip"] = _ips(rng, 3, 185)[rng.integers(0, 3, n)].astype(str)
        d["user"] = np.full(n, -1, dtype=np.int32)
        names = np.array([f"{w}{i}" for w, i in zip(rng.choice(["anna", "jose", "li", "max", "sam", "eva"], n),
                                                     rng.integers(1, 99999, n), strict=True)])  # fmt: skip
        d["stuffed"] = names
        d["ua_text"] = np.full(n, "python-requests/2.31.0")
        f = pl.DataFrame(d)
        out.append(
            _assemble(
                f.with_columns(
                    pl.lit(None, pl.String).alias("path_override"),
                    pl.lit(None, pl.String).alias("query_override"),
                    pl.concat_str(
                        pl.lit('{"username":"'),
                        "stuffed",
                        pl.lit('","password":"'),
                        pl.col("id").hash(7).cast(pl.String),
                        pl.lit('"}'),
                    )
                    .str.slice(0, 80)
                    .alias("body_override"),
                    pl.lit(1, pl.Int8).alias("label"),
                    pl.lit("credential_stuffing").alias("attack_type"),
                ),
                pl.when(pl.col("u") < 0.97).then(401).otherwise(200),
                pl.col("stuffed"),
                med,
            )
        )
    # scraping: one client sweeping product ids and catalogue pages fast
    n = counts["scraping"]
    if n:
        dur = min(max(n * 0.2, 60.0), span_s)
        d = _attack_base(rng, n, np.where(rng.random(n) < 0.8, 1, 0), t0(dur), dur)
        d["id"] = 1 + np.arange(n) % 6000
        d["page"] = 1 + np.arange(n) % 60
        d["client.ip"] = np.full(n, _ips(rng, 1, 45)[0])
        d["user"] = np.full(n, -1, dtype=np.int32)
        d["ua_text"] = np.full(n, "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/122.0 Safari/537.36")
        f = pl.DataFrame(d).with_columns(pl.lit(1, pl.Int8).alias("label"), pl.lit("scraping").alias("attack_type"))
        status = pl.when(pl.col("id") > 5000).then(404).when(pl.col("u") < 0.03).then(429).otherwise(200)
        out.append(_assemble(f, status, pl.lit(None, pl.String), med))
    # injection payloads in query strings and JSON bodies, from a handful of clients
    n = counts["injection"]
    if n:
        d = _attack_base(rng, n, rng.choice([0, 3, 4, 12, 1], n), 0.0, span_s)
        d["client.ip"] = _ips(rng, 6, 91)[rng.integers(0, 6, n)].astype(str)
        d["user"] = np.where(rng.random(n) < 0.5, rng.integers(0, n_users, n), -1).astype(np.int32)
        d["payload"] = np.array(INJECTIONS)[rng.integers(0, len(INJECTIONS), n)]
        d["ua_text"] = np.where(rng.random(n) < 0.5, "sqlmap/1.7.2#stable (https://sqlmap.org)", USER_AGENTS[0])
        f = pl.DataFrame(d)
        enc = pl.col("payload").str.replace_all(" ", "+", literal=True)
        ep = pl.col("ep")
        f = f.with_columns(
            pl.when(ep == 1).then(pl.format("/api/v1/products/{}", "payload")).otherwise(None).alias("path_override"),
            pl.when(ep == 0)
            .then(pl.format("category={}&page=1", enc))
            .when(ep == 3)
            .then(pl.format("q={}&page=1", enc))
            .otherwise(None)
            .alias("query_override"),
            pl.when(ep == 4)
            .then(pl.concat_str(pl.lit('{"username":"'), "payload", pl.lit('","password":"x"}')))
            .when(ep == 12)
            .then(pl.concat_str(pl.lit('{"city":"'), "payload", pl.lit('","newsletter":true}')))
            .otherwise(None)
            .alias("body_override"),
            pl.lit(1, pl.Int8).alias("label"),
            pl.lit("injection").alias("attack_type"),
        )
        status = pl.when(pl.col("u") < 0.5).then(400).when(pl.col("u") < 0.8).then(500).otherwise(200)
        user_name = pl.when(pl.col("user") >= 0).then(pl.format("user{}", pl.col("user"))).otherwise(None)
        out.append(_assemble(f, status, user_name, med))
    # error storm: a service returning 5xx for 10 minutes, plus one client's 4xx burst
    n = counts["error_storm"]
    if n:
        dur = min(600.0, span_s)
        n_client = n // 4
        ep = np.where(rng.random(n) < 0.5, 9, 10)
        d = _attack_base(rng, n, ep, t0(dur), dur)
        d["client.ip"] = _ips(rng, n, 10).astype(str)
        d["client.ip"][:n_client] = _ips(rng, 1, 100)[0]
        d["user"] = rng.integers(0, n_users, n).astype(np.int32)
        d["lat"] = d["lat"] * 40.0
        d["ua"] = rng.choice(len(USER_AGENTS), size=n, p=UA_WEIGHTS).astype(np.int32)
        d["burst"] = np.arange(n) < n_client
        f = pl.DataFrame(d).with_columns(
            pl.when(pl.col("burst")).then(2).otherwise(pl.col("ep")).alias("ep"),
            pl.lit(1, pl.Int8).alias("label"),
            pl.lit("error_storm").alias("attack_type"),
        )
        status = (
            pl.when(pl.col("burst"))
            .then(pl.when(pl.col("u") < 0.5).then(403).otherwise(404))
            .when(pl.col("u") < 0.6)
            .then(503)
            .when(pl.col("u") < 0.9)
            .then(500)
            .otherwise(504)
        )
        user_name = pl.format("user{}", pl.col("user"))
        out.append(_assemble(f, status, user_name, med))
    return out


def generate_api_events(
    start: datetime,
    n: int,
    seed: int,
    *,
    span_hours: float = 24.0,
    n_users: int = 3000,
    attack_fraction: float = 0.02,
    attack_types: tuple[str, ...] = ATTACK_TYPES,
) -> pl.DataFrame:
    """``n`` events from ``start`` over ``span_hours`` (sorted by time), columns :data:`ECS_COLUMNS`.

    ``attack_fraction`` of the events are injected abuse, split evenly over ``attack_types``
    (at least 5 events per type when ``n >= 100``). Same arguments -> identical frame.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    unknown = set(attack_types) - set(ATTACK_TYPES)
    if unknown:
        raise ValueError(f"unknown attack types {sorted(unknown)}; known: {ATTACK_TYPES}")
    rng = np.random.default_rng(seed)
    span_s = span_hours * 3600.0
    n_attack = round(n * attack_fraction) if attack_types else 0
    if attack_types and n >= 100:
        n_attack = max(n_attack, 5 * len(attack_types))
    per = n_attack // max(len(attack_types), 1)
    counts = {a: (per if a in attack_types else 0) for a in ATTACK_TYPES}
    if attack_types:
        counts[attack_types[0]] += n_attack - per * len(attack_types)
    parts = [_normal_block(rng, start, n - n_attack, span_s, n_users)] if n - n_attack > 0 else []
    parts += _attacks(rng, counts, span_s, n_users)
    frame = pl.concat(parts, how="vertical_relaxed").sort("offs", maintain_order=True)
    start_utc = start.astimezone(UTC) if start.tzinfo else start.replace(tzinfo=UTC)
    ts = pl.lit(start_utc) + pl.duration(microseconds=(pl.col("offs") * 1e6).cast(pl.Int64))
    return frame.with_columns(
        ts.dt.cast_time_unit("ms").alias("@timestamp"),
        pl.format("evt-{}-{}", pl.lit(seed), pl.int_range(pl.len())).alias("event.id"),
        pl.col("label").cast(pl.Int8),
    ).select(ECS_COLUMNS)


_NESTED = {
    "event": {"id": "event.id", "duration": "event.duration"},
    "client": {"ip": "client.ip"},
    "user": {"name": "user.name"},
    "url": {"path": "url.path", "query": "url.query"},
    "user_agent": {"original": "user_agent.original"},
    "service": {"name": "service.name"},
}


def _nested_frame(events: pl.DataFrame) -> pl.DataFrame:
    """Struct columns giving the nested OpenSearch layout (``@timestamp`` as ISO-8601 UTC text)."""
    cols: list[pl.Expr] = [pl.col("@timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").alias("@timestamp")]
    for top, fields in _NESTED.items():
        cols.append(pl.struct(*[pl.col(src).alias(k) for k, src in fields.items()]).alias(top))
    cols.append(
        pl.struct(
            pl.struct(
                pl.col("http.request.method").alias("method"),
                pl.struct(pl.col("http.request.body.content").alias("content")).alias("body"),
            ).alias("request"),
            pl.struct(pl.col("http.response.status_code").alias("status_code")).alias("response"),
        ).alias("http")
    )
    cols += [pl.col("label"), pl.col("attack_type")]
    return events.select(cols)


def to_records(events: pl.DataFrame) -> list[dict[str, Any]]:
    """Nested JSON-ready dicts (one per event)."""
    return _nested_frame(events).to_dicts()


def _open_write(path: Path) -> Any:
    path.parent.mkdir(parents=True, exist_ok=True)
    return gzip.open(path, "wb") if path.suffix == ".gz" else path.open("wb")


def write_ndjson(events: pl.DataFrame | list[dict[str, Any]], path: str | Path) -> Path:
    """One nested JSON object per line (gzip when the name ends in ``.gz``)."""
    path = Path(path)
    if isinstance(events, pl.DataFrame):
        with _open_write(path) as fh:
            _nested_frame(events).write_ndjson(fh)
        return path
    with _open_write(path) as fh:
        for rec in events:
            fh.write(json.dumps(rec, ensure_ascii=False, default=str).encode() + b"\n")
    return path


def write_json_array(events: pl.DataFrame | list[dict[str, Any]], path: str | Path, *, opensearch: bool = True) -> Path:
    """A JSON array export: ``{"hits": {"hits": [{"_source": ...}]}}`` (``opensearch``) or a top-level list."""
    path = Path(path)
    records = to_records(events) if isinstance(events, pl.DataFrame) else list(events)
    doc: Any = (
        {"hits": {"total": {"value": len(records)}, "hits": [{"_index": "api-events", "_source": r} for r in records]}}
        if opensearch
        else records
    )
    with _open_write(path) as fh:
        fh.write(json.dumps(doc, ensure_ascii=False, default=str).encode())
    return path


def default_start() -> datetime:
    """2026-01-05 00:00 UTC (a Monday), the start used by tests and examples."""
    return datetime(2026, 1, 5, tzinfo=UTC) + timedelta(0)
