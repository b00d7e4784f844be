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
    holds the file lock instead of failing at once.
    """

    path: str = "data/warehouse.duckdb"
    lock_timeout_s: float = 300.0

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duck.connect(self.path, read_only=read_only, timeout_s=self.lock_timeout_s)
        try:
            yield con
        finally:
            con.close()
