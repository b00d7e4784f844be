"""The DuckDB warehouse resource (one file, one writer at a time)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from vigia.warehouse import duck


class DuckDBWarehouse(dg.ConfigurableResource):
    """Opens connections to the warehouse file.

    Writers are serialised by the ``duckdb_warehouse`` concurrency pool (see ``dagster.yaml``) and by
    the in-process executor; ``connect`` additionally waits (with backoff) while another process
    holds the file lock instead of failing at once. ``memory_limit`` bounds DuckDB's own memory (the
    10M-record benchmark peaks at 2.8 GiB with 2GB, at 3.1 GiB in ingest without a limit).
    """

    path: str = "data/warehouse.duckdb"
    lock_timeout_s: float = 300.0
    memory_limit: str = "2GB"

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duck.connect(self.path, read_only=read_only, timeout_s=self.lock_timeout_s)
        con.execute(f"SET memory_limit = '{self.memory_limit}'")  # DuckDB spills to disk beyond it
        try:
            yield con
        finally:
            con.close()
