"""Labelled attack injection for the synthetic conn generator.

Each attack type has a per-window rate (flows per 5-minute window per attacking host) and episodes
(an attacker, a target, a start window and a length in windows). ``plan_attacks`` sizes the episodes
so that roughly ``attack_rate`` of the (host, 5-minute window) pairs carry malicious flows, capped by
a row budget; ``attack_flows`` renders them. Every flow of an episode is labelled 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vigia.sources.zeek_flows import ATTACK_TYPES, Flows, lognormal, make_flows, service_code, state_code
from vigia.sources.zeek_network import TCP, AddressBook

WINDOW_S = 300
N_WINDOWS = 288

# type -> (share of malicious windows, base flows/window, minimum flows/window, mean episode windows)
_SPEC: dict[str, tuple[float, float, float, float]] = {
    "PortScan-Horizontal": (0.12, 150.0, 15.0, 2.0),
    "PortScan-Vertical": (0.10, 200.0, 15.0, 2.0),
    "C2-Beacon": (0.30, 15.0, 10.0, 36.0),
    "Exfiltration": (0.08, 2.0, 1.0, 4.0),
    "DDoS": (0.25, 100.0, 8.0, 4.0),
    "FailedConnBurst": (0.15, 80.0, 10.0, 2.5),
}


@dataclass(frozen=True)
class Episode:
    """One attack run: ``windows`` consecutive 5-minute windows from ``start`` at ``rate`` flows/window/attacker."""

    attack: str
    start: int
    windows: int
    rate: float
    attackers: int = 1


def plan_attacks(
    rng: np.random.Generator,
    *,
    benign_windows: float,
    rows: int,
    attack_rate: float,
    intensity: float,
    max_fraction: float,
    types: tuple[str, ...],
) -> list[Episode]:
    """Size episodes: ~``attack_rate`` malicious windows, at most ~``max_fraction * rows`` attack flows."""
    if attack_rate <= 0 or not types:
        return []
    target = attack_rate / (1 - attack_rate) * benign_windows
    share_total = sum(_SPEC[t][0] for t in types)
    budget = {t: target * _SPEC[t][0] / share_total for t in types}
    rates = {t: _SPEC[t][1] * intensity for t in types}
    est_rows = sum(budget[t] * rates[t] for t in types)
    cap = max_fraction * rows
    if est_rows > cap:
        f = cap / est_rows
        rates = {t: max(_SPEC[t][2], rates[t] * f) for t in types}
        est_rows = sum(budget[t] * rates[t] for t in types)
        if est_rows > cap:
            budget = {t: budget[t] * cap / est_rows for t in types}
    episodes: list[Episode] = []
    for t in types:
        mean_len = _SPEC[t][3]
        remaining = budget[t]
        while True:
            length = max(1, round(rng.uniform(0.5, 1.5) * min(mean_len, max(1.0, remaining))))
            attackers = 1
            if t == "DDoS":
                attackers = int(np.clip(remaining / length, 5, 60))
            episodes.append(Episode(t, int(rng.integers(0, N_WINDOWS - length + 1)), length, rates[t], attackers))
            remaining -= length * attackers
            if remaining < 0.5 * mean_len:
                break
    return episodes


def _times(rng: np.random.Generator, ep: Episode, n: int) -> np.ndarray:
    return np.sort(ep.start * WINDOW_S + rng.random(n) * ep.windows * WINDOW_S)


def _states(rng: np.random.Generator, n: int, probs: dict[str, float]) -> np.ndarray:
    names = list(probs)
    p = np.array([probs[k] for k in names])
    codes = np.array([state_code(k) for k in names], dtype=np.int8)
    return codes[rng.choice(len(names), size=n, p=p / p.sum())]


def _count(rng: np.random.Generator, ep: Episode) -> int:
    return max(ep.windows, int(rng.poisson(ep.rate * ep.windows)))


def _zeros(n: int) -> np.ndarray:
    return np.zeros(n, dtype=np.int64)


def _ephemeral(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(49152, 65536, n)


@dataclass(frozen=True)
class Cast:
    """The day's attacker and victim hosts (address indices)."""

    compromised: np.ndarray
    scanners: np.ndarray
    brute: np.ndarray
    bots: np.ndarray
    c2: np.ndarray

    @classmethod
    def pick(cls, rng: np.random.Generator, book: AddressBook) -> Cast:
        ext = book.groups["ext"]
        picks = rng.choice(ext, size=72, replace=False)
        return cls(
            compromised=rng.choice(book.groups["workstation"], size=4, replace=False),
            scanners=picks[:2],
            brute=picks[2:4],
            bots=picks[4:64],
            c2=picks[64:72],
        )


def _horizontal(rng: np.random.Generator, ep: Episode, book: AddressBook, cast: Cast) -> Flows:
    n = _count(rng, ep)
    attacker = rng.choice(np.concatenate([cast.compromised[2:], cast.scanners]))
    first = int(rng.integers(0, 4096))
    targets = (first + np.arange(n)) % 4096
    port = int(rng.choice([445, 22, 23, 3389, 80, 139, 5900]))
    return make_flows(rng, ts=_times(rng, ep, n), orig=np.full(n, attacker), orig_p=_ephemeral(rng, n), resp=targets,
                      resp_p=port, proto=TCP, service=-1,
                      state=_states(rng, n, {"S0": 0.55, "REJ": 0.4, "RSTO": 0.05}),
                      ob=_zeros(n), rb=_zeros(n), dur=rng.uniform(1e-5, 5e-3, n), attack=0)


def _vertical(rng: np.random.Generator, ep: Episode, book: AddressBook, cast: Cast) -> Flows:
    n = _count(rng, ep)
    attacker = rng.choice(np.concatenate([cast.compromised[2:], cast.scanners]))
    target = rng.choice(book.groups["servers"])
    ports = rng.choice(np.arange(1, 10001), size=min(n, 10000), replace=False)
    ports = np.concatenate([ports, rng.integers(10001, 65536, n - len(ports))])
    return make_flows(rng, ts=_times(rng, ep, n), orig=np.full(n, attacker), orig_p=_ephemeral(rng, n), resp=target,
                      resp_p=ports, proto=TCP, service=-1,
                      state=_states(rng, n, {"REJ": 0.85, "S0": 0.1, "RSTO": 0.05}),
                      ob=_zeros(n), rb=_zeros(n), dur=rng.uniform(1e-5, 5e-3, n), attack=1)


def _beacon(rng: np.random.Generator, ep: Episode, book: AddressBook, cast: Cast) -> Flows:
    i = int(rng.integers(0, 2))
    host, c2 = cast.compromised[i], cast.c2[i]
    period = float(np.clip(WINDOW_S / max(ep.rate, 1.0), 10.0, 30.0))
    n = max(1, int(ep.windows * WINDOW_S / period))
    ts = ep.start * WINDOW_S + rng.uniform(0, period) + np.arange(n) * period + rng.normal(0, 0.03 * period, n)
    ts = np.sort(np.clip(ts, ep.start * WINDOW_S, (ep.start + ep.windows) * WINDOW_S - 1e-3))
    port = int(rng.choice([443, 8080, 8443, 4444]))
    ob0, rb0 = rng.uniform(200, 600), rng.uniform(100, 400)
    return make_flows(rng, ts=ts, orig=np.full(n, host), orig_p=_ephemeral(rng, n), resp=c2, resp_p=port, proto=TCP,
                      service=service_code("http" if port in (8080, 4444) else "ssl"),
                      state=_states(rng, n, {"SF": 0.97, "RSTO": 0.03}),
                      ob=np.rint(ob0 * (1 + 0.02 * rng.standard_normal(n))),
                      rb=np.rint(rb0 * (1 + 0.02 * rng.standard_normal(n))),
                      dur=rng.uniform(0.1, 0.4, n), attack=2)


def _exfil(rng: np.random.Generator, ep: Episode, book: AddressBook, cast: Cast) -> Flows:
    n = _count(rng, ep)
    port = int(rng.choice([443, 22, 21]))
    svc = {443: "ssl", 22: "ssh", 21: "ftp"}[port]
    return make_flows(rng, ts=_times(rng, ep, n), orig=np.full(n, cast.compromised[int(rng.integers(0, 2))]),
                      orig_p=_ephemeral(rng, n), resp=cast.c2[2 + int(rng.integers(0, 6))], resp_p=port, proto=TCP,
                      service=service_code(svc), state=state_code("SF"),
                      ob=lognormal(rng, np.log(2e8), 0.6, n), rb=lognormal(rng, np.log(3e4), 0.5, n),
                      dur=rng.uniform(200, 1500, n), attack=3)


def _ddos(rng: np.random.Generator, ep: Episode, book: AddressBook, cast: Cast) -> Flows:
    bots = rng.choice(cast.bots, size=min(ep.attackers, len(cast.bots)), replace=False)
    per = [max(ep.windows, int(rng.poisson(ep.rate * ep.windows))) for _ in bots]
    n = int(sum(per))
    port = int(rng.choice([80, 443]))
    return make_flows(rng, ts=_times(rng, ep, n), orig=np.repeat(bots, per), orig_p=rng.integers(1024, 65536, n),
                      resp=book.groups["web"][0], resp_p=port, proto=TCP,
                      service=service_code("http" if port == 80 else "ssl"),
                      state=_states(rng, n, {"S0": 0.7, "SF": 0.2, "RSTO": 0.1}),
                      ob=lognormal(rng, np.log(200), 0.5, n), rb=lognormal(rng, np.log(500), 0.5, n),
                      dur=rng.uniform(0.01, 0.5, n), attack=4)


def _burst(rng: np.random.Generator, ep: Episode, book: AddressBook, cast: Cast) -> Flows:
    n = _count(rng, ep)
    attacker = rng.choice(np.concatenate([cast.brute, cast.compromised[3:]]))
    targets = rng.choice(book.groups["servers"], size=int(rng.integers(1, 4)), replace=False)
    port = int(rng.choice([22, 3389]))
    return make_flows(rng, ts=_times(rng, ep, n), orig=np.full(n, attacker), orig_p=_ephemeral(rng, n),
                      resp=rng.choice(targets, n), resp_p=port, proto=TCP,
                      service=service_code("ssh" if port == 22 else "rdp"),
                      state=_states(rng, n, {"REJ": 0.45, "S0": 0.2, "RSTO": 0.25, "SF": 0.1}),
                      ob=lognormal(rng, np.log(1500), 0.4, n), rb=lognormal(rng, np.log(2500), 0.4, n),
                      dur=rng.uniform(0.5, 3.0, n), attack=5)


_RENDER = {
    "PortScan-Horizontal": _horizontal,
    "PortScan-Vertical": _vertical,
    "C2-Beacon": _beacon,
    "Exfiltration": _exfil,
    "DDoS": _ddos,
    "FailedConnBurst": _burst,
}
assert tuple(_RENDER) == ATTACK_TYPES


def attack_flows(rng: np.random.Generator, episodes: list[Episode], book: AddressBook) -> list[Flows]:
    """Render planned episodes into labelled flow batches."""
    cast = Cast.pick(rng, book)
    return [_RENDER[ep.attack](rng, ep, book, cast) for ep in episodes]
