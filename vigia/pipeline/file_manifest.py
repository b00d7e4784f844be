"""What earlier ingests learnt about each source file, so daily runs over a growing archive skip the history.

``<dataset>.<raw table>_files`` keeps, per file (absolute path): size, modification time and the first
and last day of its accepted records. A file whose size and modification time are unchanged and whose
days are none of the requested partitions is not read again; a new or changed file, or one holding a
requested day, always is. Ingests record a file only after its partitions are written, so an entry
never claims more than the raw table holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

_COLUMNS = (
    "path VARCHAR, size BIGINT, mtime_ns BIGINT, first_day DATE, last_day DATE, rows BIGINT, run_id VARCHAR, "
    "parsed_at TIMESTAMP"
)
DayRange = tuple[date | None, date | None, int]


class FileManifest:
    """The manifest table of one raw table; ``skip`` decides per file, ``record`` stores what was read."""

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: str, raw_table: str, keys: Iterable[str]):
        self.con, self.table = con, f'"{schema}"."{raw_table}_files"'
        con.execute(f"CREATE TABLE IF NOT EXISTS {self.table} ({_COLUMNS})")
        rows = con.execute(f"SELECT path, size, mtime_ns, first_day, last_day FROM {self.table}").fetchall()
        self.known = {r[0]: r[1:] for r in rows}
        self.days = [date.fromisoformat(k) for k in keys]
        self.stats: dict[str, tuple[int, int]] = {}  # size and mtime of each file when ``skip`` looked at it
        self.skipped: list[str] = []

    def skip(self, path: Path) -> bool:
        """True for an unchanged file known to hold none of the requested days."""
        st = path.stat()
        key = str(path.resolve())
        self.stats[key] = (st.st_size, st.st_mtime_ns)
        entry = self.known.get(key)
        if entry is None or tuple(entry[:2]) != self.stats[key]:
            return False
        first, last = entry[2], entry[3]
        if first is None or not any(first <= d <= last for d in self.days):
            if str(path) not in self.skipped:  # asked again when a conn ingest falls back to its staged path
                self.skipped.append(str(path))
            return True
        return False

    def not_read(self, read_files: Iterable[str]) -> list[str]:
        """The skipped files, less any the reader read anyway."""
        read = set(read_files)
        return [f for f in self.skipped if f not in read]

    def record(self, read_files: Iterable[str], ranges: Mapping[str, DayRange], run_id: str) -> None:
        """Store the day range of each file just read (``ranges`` keyed by the path the reader reported; a
        file without accepted records has none), replacing older entries. Every file passed through ``skip``."""
        by_key = {str(Path(f).resolve()): r for f, r in ranges.items()}
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = []
        for f in read_files:
            key = str(Path(f).resolve())
            first, last, n = by_key.get(key, (None, None, 0))
            rows.append((key, *self.stats[key], first, last, n, run_id, now))
        if not rows:
            return
        self.con.execute("BEGIN")
        try:
            self.con.executemany(f"DELETE FROM {self.table} WHERE path = ?", [(r[0],) for r in rows])
            self.con.executemany(f"INSERT INTO {self.table} VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise


def frame_day_ranges(frame: pl.DataFrame) -> dict[str, DayRange]:
    """Per ``source_file`` of a frame with a ``day`` column: first day, last day, rows."""
    grouped = frame.group_by("source_file").agg(pl.col("day").min(), pl.col("day").max().alias("last"), pl.len())
    return {f: (first, last, int(n)) for f, first, last, n in grouped.iter_rows()}


def table_day_ranges(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, DayRange]:
    """Per ``source_file`` of a DuckDB relation with a ``day`` column: first day, last day, rows."""
    rows = con.execute(f"SELECT source_file, min(day), max(day), count(*) FROM {relation} GROUP BY source_file")
    return {f: (first, last, int(n)) for f, first, last, n in rows.fetchall()}
