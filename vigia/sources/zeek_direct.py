"""One pass from clean Zeek TSV / CSV files into the raw table: the fast path of the conn-file ingest.

The staged path (:func:`vigia.sources.zeek_files.parse_conn_files`) parses every file into a TEMP table,
then copies the requested days into ``raw_conn``: every row is written twice. Most files need none of what
the staging is for (SQL-level rejects located by line number, rows outside the requested days, the
line-by-line readers), so when every file to read takes DuckDB's typed reader, :func:`plan_direct` gives
one SELECT that validates the rows on their way into the raw table. It is guarded: a row that the SQL
checks reject, or whose day was not requested, raises ``error(MISS)``; the ingest's transaction then rolls
back and the ingest takes the staged path, which handles such rows. Lines the reader itself rejects
(wrong field count, a non-numeric port, ...) land in its ``store_rejects`` tables, read in the same
transaction by :meth:`FastRead.rejects_select`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vigia.schema import CONN_COLUMNS, PROVENANCE_COLUMNS
from vigia.sources.errors import SourceError
from vigia.sources.zeek_files import FastRead, fast_read, needs_utf8_copy
from vigia.sources.zeek_sniff import sniff
from vigia.sources.zeek_sql import qident, qstr

__all__ = ["MISS", "DirectPlan", "plan_direct"]

MISS = "vigia: not a direct-ingest source"  # the guard's error message
_FORMATS = ("zeek_tsv", "csv")


@dataclass
class DirectPlan:
    """The typed reader of each file to read, and the guarded SELECT of all their rows."""

    reads: list[FastRead]
    select: str  # CONN_COLUMNS + PROVENANCE_COLUMNS of every row; raises MISS on a row it cannot take

    @property
    def files(self) -> list[str]:
        return [str(r.spec.path) for r in self.reads]

    def reader_tables(self) -> list[str]:
        return [t for r in self.reads for t in (r.rejects, r.scan)]


def plan_direct(files: Sequence[Path], keys: Sequence[str]) -> DirectPlan | None:
    """The direct plan for ``files`` restricted to day partitions ``keys``, or None when a file needs the staged
    path: a format other than a Zeek TSV or a CSV with a header, a UTF-16/32 encoding, a missing required
    field or a header that cannot be read. Files of another Zeek log (``#path dns``, ...) are passed over,
    as the staged path does; None when no conn file is left."""
    reads: list[FastRead] = []
    for i, path in enumerate(files):
        try:
            if needs_utf8_copy(path):
                return None
            spec = sniff(path)
        except SourceError:
            return None
        if spec.log_path not in (None, "conn"):
            continue
        if spec.format not in _FORMATS or not spec.fields:
            return None
        read = fast_read(spec, f"_vigia_direct_rj{i}", f"_vigia_direct_rs{i}")
        if read is None:
            return None
        reads.append(read)
    if not reads:
        return None
    days = ", ".join(f"DATE {qstr(k)}" for k in keys)
    # The guard is the value of ``day``, not a WHERE clause: DuckDB would push the partition filter of the
    # caller below a WHERE guard and drop the rows of other days unseen.
    guarded = {"day": f"CASE WHEN _reason IS NULL AND day IN ({days}) THEN day ELSE error({qstr(MISS)}) END"}
    columns = ", ".join(f"{guarded.get(c, qident(c))} AS {qident(c)}" for c in [*CONN_COLUMNS, *PROVENANCE_COLUMNS])
    select = " UNION ALL ".join(f"SELECT {columns} FROM ({r.select})" for r in reads)
    return DirectPlan(reads, select)
