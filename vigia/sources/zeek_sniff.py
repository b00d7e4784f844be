"""Find conn-log files under a path, sniff their format and read their header (fields, separators)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import mmap
import re
from dataclasses import dataclass, field
from pathlib import Path

from vigia.sources.compressed import GzipStream
from vigia.sources.errors import SourceError

DATA_SUFFIXES: tuple[str, ...] = (
    ".log", ".log.gz", ".labeled", ".csv", ".csv.gz", ".json", ".ndjson", ".json.gz", ".parquet",
)
_PACKED_SPLIT = re.compile(r" {2,}")
# Zeek's other standard logs. A JSON or CSV file has no ``#path`` header, so its log kind comes from a
# ``_path`` field in its first record (as Corelight and Kafka exports write) or from Zeek's file naming
# (``dns.log``, ``dns.00:00:00-01:00:00.log.gz``); files of these kinds are skipped, not parsed as conn.
OTHER_ZEEK_LOGS = frozenset(
    {
        "analyzer", "capture_loss", "dce_rpc", "dhcp", "dnp3", "dns", "dpd", "files", "ftp", "http", "irc", "kerberos",
        "known_certs", "known_hosts", "known_services", "loaded_scripts", "modbus", "mysql", "notice", "ntlm", "ntp",
        "ocsp", "packet_filter", "pe", "radius", "rdp", "reporter", "rfb", "sip", "smb_files", "smb_mapping", "smtp",
        "snmp", "socks", "software", "ssh", "ssl", "stats", "syslog", "tunnel", "weird", "x509",
    }
)
_ZEEK_NAME = re.compile(r"^([a-z][a-z0-9_]*)\.(?:[^/]*\.)?(?:log|json|ndjson|csv)(?:\.gz)?$")


@dataclass
class FileSpec:
    """What a sniffed file looks like: format and original field names, plus Zeek TSV header settings."""

    path: Path
    format: str  # zeek_tsv | zeek_tsv_packed | csv | json | parquet
    fields: list[str] = field(default_factory=list)
    separator: str = "\t"
    unset: str = "-"
    empty: str = "(empty)"
    header_lines: int = 0
    log_path: str | None = None  # Zeek's ``#path`` (conn, dns, http, ...), when the header has one

    @property
    def gzipped(self) -> bool:
        return self.path.name.endswith(".gz")


def discover_files(path: str | Path) -> list[Path]:
    """Data files at ``path`` (a file, or a directory searched recursively); raises ``SourceError``."""
    p = Path(path)
    if not p.exists():
        raise SourceError(f"conn source path does not exist: {p}")
    if p.is_file():
        return [p]
    found = sorted(f for f in p.rglob("*") if f.is_file() and f.name.lower().endswith(DATA_SUFFIXES))
    if not found:
        raise SourceError(f"no conn log files ({', '.join(DATA_SUFFIXES)}) found under {p}")
    files: dict[Path, Path] = {}  # one path per file: a symlink to a file also found would read it twice
    for f in found:
        files.setdefault(f.resolve(), f)
    return sorted(files.values())


def _head(path: Path, max_lines: int = 64) -> list[str]:
    """First lines of a (possibly gzipped) text file, tolerant of bad UTF-8 and of a byte-order mark."""
    if path.name.endswith(".gz"):  # tolerant of a stream cut short, like the readers
        lines = itertools.islice(GzipStream(path).lines(), max_lines)
        return [ln.decode("utf-8-sig" if i == 0 else "utf-8", errors="replace").rstrip("\r\n")
                for i, ln in enumerate(lines)]  # fmt: skip
    with path.open("rb") as raw:
        fh = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        out = []
        for line in fh:
            out.append(line.rstrip("\r\n"))
            if len(out) >= max_lines:
                break
        return out


def _unescape(value: str) -> str:
    return value.encode().decode("unicode_escape") if "\\x" in value else value


def sniff(path: Path) -> FileSpec:
    """Detect the format of one file from its content (and extension for parquet)."""
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1" or path.name.lower().endswith(".parquet"):
        return FileSpec(path, "parquet")
    head = _head(path)
    first = next((line for line in head if line.strip()), "")
    if first.startswith("#"):
        return _zeek_header(path, head)
    if first.lstrip().startswith("{"):
        log_path = _json_log_path(first)
        if log_path not in (None, "conn") and _mentions_conn_records(path):
            log_path = None  # a stream of several logs (Corelight, Kafka): its conn records are read, one by one
        return FileSpec(path, "json", log_path=log_path or _name_log_path(path))
    if first:
        names = next(csv.reader([first]))
        return FileSpec(
            path, "csv", fields=[n.strip() for n in names], separator=",", unset="", header_lines=1,
            log_path=_name_log_path(path),
        )  # fmt: skip
    return FileSpec(path, "csv", fields=[], separator=",", unset="", header_lines=0, log_path=_name_log_path(path))


_CONN_PATH = re.compile(rb'"_path"\s*:\s*"conn"')


def _mentions_conn_records(path: Path) -> bool:
    """Whether a JSON log holds a record tagged ``"_path": "conn"`` (a byte scan, gzip streamed)."""
    if path.name.endswith(".gz"):
        tail = b""
        for block in GzipStream(path).chunks():
            if _CONN_PATH.search(tail + block):
                return True
            tail = block[-64:]
        return False
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return _CONN_PATH.search(data) is not None


def _json_log_path(line: str) -> str | None:
    """The ``_path`` of a JSON record (Corelight / Kafka style), if the first line is one whole record with it."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    value = record.get("_path") if isinstance(record, dict) else None
    return value if isinstance(value, str) and value else None


def _name_log_path(path: Path) -> str | None:
    """``dns`` for ``dns.log`` / ``dns.00:00:00-01:00:00.log.gz`` when that is one of Zeek's other logs."""
    match = _ZEEK_NAME.match(path.name.lower())
    return match.group(1) if match and match.group(1) in OTHER_ZEEK_LOGS else None


def _zeek_header(path: Path, head: list[str]) -> FileSpec:
    spec = FileSpec(path, "zeek_tsv")
    for line in head:
        if not line.startswith("#"):
            break
        spec.header_lines += 1
        if line.startswith("#separator"):
            spec.separator = _unescape(line[len("#separator"):].strip()) or "\t"
            continue
        key, _, value = line.partition(spec.separator)
        if key == "#path":
            spec.log_path = value.strip()
        elif key == "#unset_field":
            spec.unset = value
        elif key == "#empty_field":
            spec.empty = value
        elif key == "#fields":
            names = value.split(spec.separator)
            if any(_PACKED_SPLIT.search(n) for n in names):
                spec.format = "zeek_tsv_packed"
                names = [part for n in names for part in _PACKED_SPLIT.split(n.strip())]
            spec.fields = names
    return spec
