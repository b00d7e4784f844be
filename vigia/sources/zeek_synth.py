"""Synthetic Zeek ``conn.log`` days: realistic benign enterprise traffic plus labelled attacks.

Fully vectorised with numpy (no per-row Python), deterministic in ``(day, seed, params)``. The host
layout (roles, addresses, activity weights) depends on ``seed`` only, so hosts are stable across days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import numpy as np
import polars as pl

from vigia.sources.zeek_attacks import N_WINDOWS, WINDOW_S, attack_flows, plan_attacks
from vigia.sources.zeek_flows import (
    ATTACK_TYPES,
    Flows,
    concat_flows,
    lognormal,
    make_flows,
    service_code,
    to_frame,
)
from vigia.sources.zeek_network import (
    ROLE_SHARE,
    ROLE_TEMPLATES,
    ROLES,
    TCP,
    TCP_STATE_P,
    TEMPLATE_INDEX,
    TEMPLATES,
    UDP_STATE_P,
    AddressBook,
    build_network,
    hourly_profile,
)
from vigia.sources.zeek_writers import write_zeek_json, write_zeek_tsv

__all__ = ["ATTACK_TYPES", "SynthParams", "generate_conn_day", "write_zeek_json", "write_zeek_tsv"]


@dataclass(frozen=True)
class SynthParams:
    """Generator knobs (``source.params`` in a dataset config).

    ``attack_rate``: target fraction of (orig_h, 5-minute window) pairs holding malicious flows.
    ``attack_intensity``: multiplier on attack flows per window. ``max_attack_fraction``: cap on attack rows.
    ``traffic_shift`` (0..1): a shifted benign traffic mix, for drift scenarios: each role's service mix
    moves toward uniform by that share, bytes grow by ``1 + 2·shift`` and durations by ``1 + shift``.
    """

    n_hosts: int = 400
    attack_rate: float = 0.02
    attack_intensity: float = 1.0
    max_attack_fraction: float = 0.10
    attack_types: tuple[str, ...] = ATTACK_TYPES
    traffic_shift: float = 0.0

    def __post_init__(self) -> None:
        unknown = set(self.attack_types) - set(ATTACK_TYPES)
        if unknown:
            raise ValueError(f"unknown attack types {sorted(unknown)}; expected some of {list(ATTACK_TYPES)}")
        if not 0 <= self.attack_rate < 0.5:
            raise ValueError(f"attack_rate must be in [0, 0.5), got {self.attack_rate}")
        if not 0 <= self.traffic_shift <= 1:
            raise ValueError(f"traffic_shift must be in [0, 1], got {self.traffic_shift}")
        if self.n_hosts < 20:
            raise ValueError(f"n_hosts must be >= 20, got {self.n_hosts}")

    @classmethod
    def from_dict(cls, params: dict) -> SynthParams:
        known = {f.name for f in fields(cls)}
        unknown = set(params) - known
        if unknown:
            raise TypeError(f"unknown synthetic_zeek params {sorted(unknown)}; known: {sorted(known)}")
        if "attack_types" in params:
            params = {**params, "attack_types": tuple(params["attack_types"])}
        return cls(**params)


def _cell_probabilities(book: AddressBook, weekend: bool, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (originating host, window) probability of a benign flow; returns (hosts, role codes, p[h, w])."""
    rng = np.random.default_rng([seed, 104729])
    hosts, role_codes, blocks = [], [], []
    for code, role in enumerate(ROLES):
        members = book.roles[role]
        weights = rng.lognormal(0.0, 0.8, len(members))
        profile = hourly_profile(role, weekend)
        blocks.append(ROLE_SHARE[role] * np.outer(weights / weights.sum(), profile / profile.sum()))
        hosts.append(members)
        role_codes.append(np.full(len(members), code, dtype=np.int8))
    p = np.concatenate(blocks)
    return np.concatenate(hosts), np.concatenate(role_codes), p / p.sum()


def _destinations(rng: np.random.Generator, book: AddressBook, kinds: np.ndarray) -> np.ndarray:
    """Responder address per flow, by destination kind; external destinations are Zipf-popular."""
    resp = np.empty(len(kinds), dtype=np.int64)
    names = sorted({t.dst for t in TEMPLATES})
    for i, kind in enumerate(names):
        mask = kinds == i
        count = int(mask.sum())
        if not count:
            continue
        pool = book.groups[kind]
        if kind == "ext":
            w = 1.0 / np.arange(1, len(pool) + 1) ** 1.1
            resp[mask] = pool[np.searchsorted(np.cumsum(w) / w.sum(), rng.random(count))]
        else:
            resp[mask] = pool[rng.integers(0, len(pool), count)]
    return resp


def benign_flows(
    rng: np.random.Generator, book: AddressBook, n: int, weekend: bool, seed: int, shift: float = 0.0
) -> tuple[Flows, float]:
    """``n`` benign flows (``shift``: see ``SynthParams.traffic_shift``), expected active (host, window) pairs."""
    hosts, role_codes, p = _cell_probabilities(book, weekend, seed)
    expected_windows = float(np.sum(1.0 - np.exp(-n * p)))
    counts = rng.multinomial(n, p.ravel())
    cells = np.repeat(np.arange(p.size), counts)
    host_i, win = cells // N_WINDOWS, cells % N_WINDOWS
    ts = win * WINDOW_S + rng.random(n) * WINDOW_S
    roles = role_codes[host_i]
    tpl = np.empty(n, dtype=np.int64)
    for code, role in enumerate(ROLES):
        mask = roles == code
        names = list(ROLE_TEMPLATES[role])
        probs = np.array([ROLE_TEMPLATES[role][k] for k in names])
        probs = (1 - shift) * probs / probs.sum() + shift / len(probs)
        ids = np.array([TEMPLATE_INDEX[k] for k in names])
        tpl[mask] = ids[rng.choice(len(ids), size=int(mask.sum()), p=probs / probs.sum())]
    t = TEMPLATES
    proto = np.array([x.proto for x in t], dtype=np.int8)[tpl]
    dst_names = sorted({x.dst for x in t})
    kinds = np.array([dst_names.index(x.dst) for x in t])[tpl]
    grow = np.log1p(2 * shift)
    ob_mu, ob_s = np.array([x.ob[0] for x in t])[tpl] + grow, np.array([x.ob[1] for x in t])[tpl]
    rb_mu, rb_s = np.array([x.rb[0] for x in t])[tpl], np.array([x.rb[1] for x in t])[tpl]
    rb_mu = np.where(rb_mu > 0, rb_mu + grow, rb_mu)
    d_mu, d_s = np.array([x.dur[0] for x in t])[tpl] + np.log1p(shift), np.array([x.dur[1] for x in t])[tpl]
    u = rng.random(n)
    state = np.where(
        proto == TCP,
        np.searchsorted(np.cumsum(TCP_STATE_P), u * TCP_STATE_P.sum()),
        np.searchsorted(np.cumsum(UDP_STATE_P), u * UDP_STATE_P.sum()),
    ).astype(np.int8)
    rb = np.where(rb_mu > 0, lognormal(rng, rb_mu, rb_s, n), 0)
    orig = hosts[host_i]
    orig_p = np.where(roles == 0, rng.integers(49152, 65536, n), rng.integers(1024, 65536, n))
    flows = make_flows(
        rng, ts=ts, orig=orig, orig_p=orig_p, resp=_destinations(rng, book, kinds),
        resp_p=np.array([x.port for x in t], dtype=np.int32)[tpl], proto=proto,
        service=np.array([-1 if x.service is None else service_code(x.service) for x in t], dtype=np.int16)[tpl],
        state=state, ob=lognormal(rng, ob_mu, ob_s, n), rb=rb, dur=np.exp(d_mu + d_s * rng.standard_normal(n)),
    )
    return flows, expected_windows


def generate_conn_day(day: dt.date, rows: int, seed: int, **params: object) -> pl.DataFrame:
    """One UTC day of synthetic conn records (``CONN_COLUMNS`` layout, sorted by ts), ~``rows`` rows.

    Benign traffic gets ``label`` 0 and null ``attack_type``; every flow of an injected attack gets
    ``label`` 1 and its ``attack_type`` (one of ``ATTACK_TYPES``).
    """
    if rows < 1:
        raise ValueError(f"rows must be positive, got {rows}")
    cfg = SynthParams.from_dict(dict(params))
    book = build_network(seed, n_hosts=cfg.n_hosts)
    rng = np.random.default_rng([seed, day.toordinal(), 1])
    weekend = day.weekday() >= 5
    _, _, p = _cell_probabilities(book, weekend, seed)
    expected_windows = float(np.sum(1.0 - np.exp(-rows * p)))
    episodes = plan_attacks(
        rng, benign_windows=expected_windows, rows=rows, attack_rate=cfg.attack_rate,
        intensity=cfg.attack_intensity, max_fraction=cfg.max_attack_fraction, types=cfg.attack_types,
    )
    attacks = attack_flows(rng, episodes, book)
    n_attack = sum(len(a["ts"]) for a in attacks)
    benign, _ = benign_flows(rng, book, max(rows - n_attack, rows // 2), weekend, seed, cfg.traffic_shift)
    return to_frame(concat_flows([benign, *attacks]), day, book.table, rng)
