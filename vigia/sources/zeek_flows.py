"""Columnar flow batches for the synthetic generator: derive Zeek-consistent fields and build the polars frame.

A batch is a dict of equal-length numpy arrays. Addresses, services, histories and attack types are
integer codes into string tables; ``-1`` means unset (NULL). Times are seconds since the day's start.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from vigia.schema import CONN_COLUMNS
from vigia.sources.zeek_network import HISTORIES, PROTO_NAMES, STATES, TCP, UDP

Flows = dict[str, np.ndarray]

ATTACK_TYPES: tuple[str, ...] = (
    "PortScan-Horizontal",
    "PortScan-Vertical",
    "C2-Beacon",
    "Exfiltration",
    "DDoS",
    "FailedConnBurst",
)
SERVICES: list[str] = ["dns", "http", "ssl", "smb", "krb_tcp", "ldap", "ntp", "ssh", "rdp", "syslog", "smtp", "ftp"]
HISTORY_NAMES: list[str] = sorted({h for options in HISTORIES.values() for h in options} | {"ShR", "ShADadFf"})
_HIST_CODE = {h: i for i, h in enumerate(HISTORY_NAMES)}
_STATE = {s: i for i, s in enumerate(STATES)}
_ESTABLISHED = np.isin(np.arange(len(STATES)), [_STATE[s] for s in ("SF", "RSTO", "RSTR", "SH", "S1")])
_TCP_HEADER, _UDP_HEADER = 52, 28


def service_code(name: str | None) -> int:
    """Code of a service name (``None`` -> -1)."""
    return -1 if name is None else SERVICES.index(name)


def state_code(name: str) -> int:
    return _STATE[name]


def lognormal(rng: np.random.Generator, mu: np.ndarray | float, sigma: np.ndarray | float, n: int) -> np.ndarray:
    """Heavy-tailed non-negative integer sizes."""
    return np.rint(np.exp(mu + sigma * rng.standard_normal(n))).astype(np.int64)


def make_flows(
    rng: np.random.Generator,
    *,
    ts: np.ndarray,
    orig: np.ndarray,
    orig_p: np.ndarray,
    resp: np.ndarray | int,
    resp_p: np.ndarray | int,
    proto: np.ndarray | int,
    service: np.ndarray | int,
    state: np.ndarray | int,
    ob: np.ndarray,
    rb: np.ndarray,
    dur: np.ndarray,
    attack: int = -1,
) -> Flows:
    """Complete a batch: per-state byte/packet rules, histories, unset fields, labels."""
    n = len(ts)

    def full(x: np.ndarray | int, dtype: type) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=dtype), (n,)).copy()

    proto_a, state_a, service_a = full(proto, np.int8), full(state, np.int8), full(service, np.int16)
    ob, rb, dur = ob.astype(np.int64), rb.astype(np.int64), dur.astype(np.float64)
    s = {name: state_a == code for name, code in _STATE.items()}
    tcp = proto_a == TCP
    fail = s["S0"] | s["REJ"]
    ob = np.where(fail | s["SHR"] | (s["OTH"] & tcp), 0, ob)
    rb = np.where(fail | s["SH"] | (s["S0"] & ~tcp), 0, rb)
    reset = s["RSTO"] | s["RSTR"]
    ob = np.where(reset, ob // 3, ob)
    rb = np.where(reset, rb // 3, rb)
    est = _ESTABLISHED[state_a] & tcp
    opkts = -(-ob // 1100) + np.where(est, 2, 0) + np.where(fail | (~tcp & (ob == 0) & ~s["SHR"]), 1, 0)
    opkts = np.where(s["S0"] & tcp, 1 + (rng.random(n) < 0.3) * rng.integers(1, 3, n), opkts)
    rpkts = -(-rb // 1100) + np.where(est & ~s["SH"], 2, 0) + np.where(s["REJ"], 1, 0)
    dur = np.where(s["REJ"], rng.uniform(1e-5, 1e-3, n), dur)
    dur = np.where(s["S0"] & tcp, rng.uniform(1.0, 9.0, n), dur)
    single = s["S0"] & (opkts == 1)
    dur = np.where(single, np.nan, dur)
    ob = np.where(single, -1, ob)
    rb = np.where(single, -1, rb)
    header = np.where(tcp, _TCP_HEADER, _UDP_HEADER)
    history = np.full(n, -1, dtype=np.int16)
    for (p, st), options in HISTORIES.items():
        mask = (proto_a == p) & (state_a == _STATE[st])
        if mask.any():
            codes = np.array([_HIST_CODE[h] for h in options], dtype=np.int16)
            history[mask] = codes[rng.integers(0, len(codes), int(mask.sum()))]
    service_a = np.where(tcp & (fail | s["OTH"]), -1, service_a)
    missed = np.where((rng.random(n) < 5e-4) & (ob > 100_000), rng.integers(1, 1460, n) * 10, 0)
    return {
        "ts": np.asarray(ts, dtype=np.float64),
        "orig": full(orig, np.int64),
        "orig_p": full(orig_p, np.int32),
        "resp": full(resp, np.int64),
        "resp_p": full(resp_p, np.int32),
        "proto": proto_a,
        "service": service_a,
        "duration": dur,
        "ob": ob,
        "rb": rb,
        "state": state_a,
        "missed": missed.astype(np.int64),
        "history": history,
        "opkts": opkts.astype(np.int64),
        "oipb": np.maximum(ob, 0) + opkts * header,
        "rpkts": rpkts.astype(np.int64),
        "ripb": np.maximum(rb, 0) + rpkts * header,
        "label": full(0 if attack < 0 else 1, np.int8),
        "attack": full(attack, np.int8),
    }


def concat_flows(batches: list[Flows]) -> Flows:
    """Concatenate batches column by column."""
    return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}


def _lookup(values: list[str] | pl.Series, codes: np.ndarray, name: str) -> pl.Series:
    table = pl.concat([pl.Series(values, dtype=pl.String), pl.Series([None], dtype=pl.String)])
    idx = np.where(codes < 0, len(table) - 1, codes).astype(np.int64)
    return table.gather(idx).rename(name)


def _nullable_int(values: np.ndarray, name: str) -> pl.Series:
    return pl.Series(name, values, dtype=pl.Int64).set(pl.Series(values < 0), None)


def to_frame(flows: Flows, day: dt.date, addresses: pl.Series, rng: np.random.Generator) -> pl.DataFrame:
    """Build the canonical ``CONN_COLUMNS`` frame (sorted by ts) from a batch, with fresh Zeek-style uids."""
    order = np.argsort(flows["ts"], kind="stable")
    f = {k: v[order] for k, v in flows.items()}
    n = len(order)
    ts_us = _epoch_us(day) + np.clip(np.rint(f["ts"] * 1e6).astype(np.int64), 0, 86_400_000_000 - 1)
    alphabet = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    raw = np.empty((n, 18), dtype=np.uint8)
    raw[:, 0] = ord("C")
    raw[:, 1:] = alphabet[rng.integers(0, 62, size=(n, 17), dtype=np.uint8)]
    duration = pl.Series("duration", f["duration"], dtype=pl.Float64)
    cols = [
        pl.Series("ts", ts_us, dtype=pl.Int64).cast(pl.Datetime("us")),
        pl.Series("uid", raw.view("S18").ravel()).cast(pl.String),
        addresses.gather(f["orig"]).rename("orig_h"),
        pl.Series("orig_p", f["orig_p"], dtype=pl.Int32),
        addresses.gather(f["resp"]).rename("resp_h"),
        pl.Series("resp_p", f["resp_p"], dtype=pl.Int32),
        _lookup(list(PROTO_NAMES), f["proto"].astype(np.int64), "proto"),
        _lookup(SERVICES, f["service"].astype(np.int64), "service"),
        duration.set(duration.is_nan(), None),
        _nullable_int(f["ob"], "orig_bytes"),
        _nullable_int(f["rb"], "resp_bytes"),
        _lookup(list(STATES), f["state"].astype(np.int64), "conn_state"),
        pl.Series("missed_bytes", f["missed"], dtype=pl.Int64),
        _lookup(HISTORY_NAMES, f["history"].astype(np.int64), "history"),
        pl.Series("orig_pkts", f["opkts"], dtype=pl.Int64),
        pl.Series("orig_ip_bytes", f["oipb"], dtype=pl.Int64),
        pl.Series("resp_pkts", f["rpkts"], dtype=pl.Int64),
        pl.Series("resp_ip_bytes", f["ripb"], dtype=pl.Int64),
        pl.Series("label", f["label"], dtype=pl.Int8),
        _lookup(list(ATTACK_TYPES), f["attack"].astype(np.int64), "attack_type"),
    ]
    df = pl.DataFrame(cols)
    assert df.columns == list(CONN_COLUMNS)
    return df


def _epoch_us(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * 86_400_000_000


__all__ = ["ATTACK_TYPES", "TCP", "UDP", "Flows", "concat_flows", "lognormal", "make_flows", "to_frame"]
