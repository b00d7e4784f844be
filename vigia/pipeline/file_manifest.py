"""What earlier ingests learnt about each source file, so daily runs over a growing archive skip the history.

``<dataset>.<raw table>_files`` keeps, per file (absolute path): size, modification time and the first
and last day of its accepted records. A file whose size and modification time are unchanged and whose
days are none of the requested partitions is not read again; a new or changed file, or one holding a
requested day, always is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

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
        self.stats: dict[str, tuple[int, int]] = {}  # size and mtime of each file when it was looked at
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
            self.skipped.append(str(path))
            return True
        return False

    def record(self, read_files: Iterable[str], ranges: Mapping[str, DayRange], run_id: str) -> None:
        """Store the day range of each file just read (``ranges`` by the path the reader reported; a file
        without accepted records has none), replacing older entries."""
        by_key = {str(Path(f).resolve()): r for f, r in ranges.items()}
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = []
        for f in read_files:
            key = str(Path(f).resolve())
            size, mtime = self.stats.get(key) or (Path(f).stat().st_size, Path(f).stat().st_mtime_ns)
            first, last, n = by_key.get(key, (None, None, 0))
            rows.append((key, size, mtime, first, last, n, run_id, now))
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


def frame_day_ranges(frame, day_column: str = "day", file_column: str = "source_file") -> dict[str, DayRange]:
    """Per source file of a polars frame: first day, last day, rows."""
    import polars as pl

    if frame.height == 0:
        return {}
    grouped = frame.group_by(file_column).agg(
        pl.col(day_column).min().alias("first"), pl.col(day_column).max().alias("last"), pl.len().alias("n")
    )
    return {f: (first, last, int(n)) for f, first, last, n in grouped.iter_rows()}
