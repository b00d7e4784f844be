"""Synthetic network layout for the Zeek conn generator: address table, hosts, roles and services.

Every address is an index into one string table (``AddressBook.table``): the whole internal
``10.0.0.0/16`` first (index = ``third_octet * 256 + fourth_octet``), then a pool of public addresses.
The layout depends only on the seed, so the same hosts keep the same roles on every day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

ROLES: tuple[str, ...] = ("workstation", "server", "iot", "dns", "proxy", "ext_client")
TCP, UDP = 0, 1
PROTO_NAMES: tuple[str, ...] = ("tcp", "udp")

# Conn states and, per protocol, their benign probabilities.
STATES: tuple[str, ...] = ("SF", "S0", "REJ", "RSTO", "RSTR", "SH", "S1", "OTH", "SHR")
TCP_STATE_P = np.array([0.88, 0.04, 0.02, 0.02, 0.02, 0.005, 0.005, 0.01, 0.0])
UDP_STATE_P = np.array([0.85, 0.13, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.02])

# History strings per (proto, state); one is drawn uniformly.
HISTORIES: dict[tuple[int, str], tuple[str, ...]] = {
    (TCP, "SF"): ("ShADadFf", "ShADadfF", "ShADadFf", "ShAdDaFf", "ShADdaFf", "ShADadtfF"),
    (TCP, "S0"): ("S",),
    (TCP, "REJ"): ("Sr",),
    (TCP, "RSTO"): ("ShADadR", "ShAR", "ShADaR"),
    (TCP, "RSTR"): ("ShADadr", "ShADdr", "Shr"),
    (TCP, "SH"): ("ShAF", "ShADF"),
    (TCP, "S1"): ("ShAD", "ShADad"),
    (TCP, "OTH"): ("Ad", "Da", "CC"),
    (UDP, "SF"): ("Dd",),
    (UDP, "S0"): ("D",),
    (UDP, "SHR"): ("d",),
}


@dataclass(frozen=True)
class Template:
    """A benign service pattern: protocol, service, port, destination kind and size/duration lognormals."""

    name: str
    proto: int
    service: str
    port: int
    dst: str
    ob: tuple[float, float]
    rb: tuple[float, float]
    dur: tuple[float, float]


def _t(name: str, proto: int, service: str, port: int, dst: str, ob: tuple, rb: tuple, dur: tuple) -> Template:
    return Template(name, proto, service, port, dst, ob, rb, dur)


TEMPLATES: tuple[Template, ...] = (
    _t("dns", UDP, "dns", 53, "dns", (3.7, 0.3), (4.8, 0.5), (-4.0, 0.8)),
    _t("proxy", TCP, "http", 3128, "proxy", (7.0, 1.2), (9.0, 2.0), (0.5, 1.5)),
    _t("https", TCP, "ssl", 443, "ext", (6.8, 1.0), (8.5, 2.0), (0.0, 1.5)),
    _t("http", TCP, "http", 80, "ext", (6.0, 0.8), (8.0, 2.0), (-0.5, 1.2)),
    _t("smb", TCP, "smb", 445, "file", (7.0, 2.0), (9.0, 2.2), (1.0, 1.5)),
    _t("krb", TCP, "krb_tcp", 88, "dc", (7.0, 0.3), (7.3, 0.3), (-4.0, 0.8)),
    _t("ldap", TCP, "ldap", 389, "dc", (6.0, 0.8), (7.0, 1.0), (-3.0, 1.0)),
    _t("ntp_int", UDP, "ntp", 123, "dc", (3.87, 0.0), (3.87, 0.0), (-4.0, 0.5)),
    _t("ssh", TCP, "ssh", 22, "servers", (8.0, 1.5), (8.5, 1.8), (3.0, 1.5)),
    _t("rdp", TCP, "rdp", 3389, "servers", (9.0, 1.5), (10.0, 1.8), (5.0, 1.2)),
    _t("ntp_ext", UDP, "ntp", 123, "ext", (3.87, 0.0), (3.87, 0.0), (-3.0, 0.5)),
    _t("syslog", UDP, "syslog", 514, "servers", (5.5, 0.6), (0.0, 0.0), (-6.0, 0.5)),
    _t("backup", TCP, "smb", 445, "file", (13.0, 1.5), (8.0, 1.0), (4.0, 1.0)),
    _t("resolve", UDP, "dns", 53, "resolver", (3.8, 0.3), (5.0, 0.6), (-3.5, 0.6)),
    _t("mqtt", TCP, "ssl", 8883, "ext", (5.0, 0.5), (5.2, 0.5), (2.0, 1.0)),
    _t("web_in", TCP, "ssl", 443, "web", (6.5, 1.0), (9.5, 1.8), (0.0, 1.2)),
    _t("web_in_http", TCP, "http", 80, "web", (6.0, 0.8), (9.0, 1.8), (-0.5, 1.0)),
    _t("smtp_in", TCP, "smtp", 25, "mail", (9.0, 1.5), (6.0, 0.5), (0.5, 1.0)),
)
TEMPLATE_INDEX = {t.name: i for i, t in enumerate(TEMPLATES)}

# Per role: template name -> probability; and the role's share of benign flows.
ROLE_TEMPLATES: dict[str, dict[str, float]] = {
    "workstation": {"dns": 0.30, "proxy": 0.25, "https": 0.15, "http": 0.03, "smb": 0.08, "krb": 0.04,
                    "ldap": 0.06, "ntp_int": 0.04, "ssh": 0.03, "rdp": 0.02},
    "server": {"dns": 0.25, "ntp_ext": 0.05, "https": 0.15, "ldap": 0.15, "krb": 0.10, "backup": 0.05,
               "syslog": 0.25},
    "iot": {"dns": 0.3, "ntp_ext": 0.2, "mqtt": 0.3, "http": 0.2},
    "dns": {"resolve": 1.0},
    "proxy": {"https": 0.85, "http": 0.15},
    "ext_client": {"web_in": 0.7, "web_in_http": 0.15, "smtp_in": 0.15},
}
ROLE_SHARE: dict[str, float] = {"workstation": 0.45, "server": 0.12, "iot": 0.06, "dns": 0.12, "proxy": 0.15,
                                "ext_client": 0.10}
_PUBLIC_FIRST_OCTETS = np.array([13, 18, 23, 31, 34, 35, 45, 52, 54, 64, 66, 74, 81, 91, 104, 142, 151, 157, 185, 212])


@dataclass(frozen=True)
class AddressBook:
    """String table of addresses plus the index groups of each kind of host."""

    table: pl.Series
    roles: dict[str, np.ndarray]
    groups: dict[str, np.ndarray]

    @property
    def n_internal(self) -> int:
        return 65536


def _internal(third: int, fourth: np.ndarray | range) -> np.ndarray:
    return third * 256 + np.asarray(fourth, dtype=np.int64)


def build_network(seed: int, n_hosts: int = 400, n_external: int = 4000, n_ext_clients: int = 1500) -> AddressBook:
    """Deterministic (in ``seed``) host layout: ~``n_hosts`` internal hosts with roles, plus external pools."""
    rng = np.random.default_rng([seed, 7919])
    internal = [f"10.0.{i // 256}.{i % 256}" for i in range(65536)]
    firsts = rng.choice(_PUBLIC_FIRST_OCTETS, size=n_external)
    rest = rng.integers(1, 255, size=(n_external, 3))
    external = [f"{a}.{b}.{c}.{d}" for a, (b, c, d) in zip(firsts.tolist(), rest.tolist(), strict=True)]
    resolvers = ["8.8.8.8", "1.1.1.1", "9.9.9.9"]
    table = pl.Series("addr", internal + external + resolvers, dtype=pl.String)
    ext0 = 65536
    n_servers = max(6, n_hosts // 20)
    n_iot = max(2, n_hosts // 10)
    n_ws = max(4, n_hosts - n_servers - n_iot - 3)
    servers = _internal(1, range(10, 10 + n_servers))
    ws = np.array([(2 + i // 200) * 256 + 20 + i % 200 for i in range(n_ws)], dtype=np.int64)
    iot = _internal(8, range(10, 10 + n_iot))
    groups = {
        "dns": _internal(0, [53]),
        "proxy": _internal(0, [80, 81]),
        "dc": _internal(0, [10, 11]),
        "file": servers[:2],
        "web": servers[2:4],
        "mail": servers[4:5],
        "servers": servers,
        "workstation": ws,
        "ext": np.arange(ext0, ext0 + n_external),
        "resolver": np.arange(ext0 + n_external, ext0 + n_external + 3),
    }
    roles = {
        "workstation": ws,
        "server": np.concatenate([groups["dc"], servers]),
        "iot": iot,
        "dns": groups["dns"],
        "proxy": groups["proxy"],
        "ext_client": ext0 + rng.choice(n_external, size=min(n_ext_clients, n_external), replace=False),
    }
    return AddressBook(table=table, roles=roles, groups=groups)


def hourly_profile(role: str, weekend: bool) -> np.ndarray:
    """Relative activity per 5-minute window (288) for a role: office hours for people, flat for machines."""
    hours = np.arange(288) / 12.0
    office = np.where((hours >= 8) & (hours < 18), 1.0, np.where((hours >= 7) & (hours < 19.5), 0.4, 0.04))
    if weekend:
        office = 0.1 + 0.05 * office
    smooth = 0.55 + 0.45 * np.sin((hours - 8) / 24 * 2 * np.pi)
    profiles = {
        "workstation": office,
        "proxy": 0.1 + office,
        "dns": 0.3 + office,
        "server": np.where((hours >= 1) & (hours < 3), 2.0, 1.0),
        "iot": np.ones(288),
        "ext_client": smooth,
    }
    return profiles[role]
