"""``raw_conn`` storage layout: the partition write and the feature build, uid compressed or plain, alternating.

Usage (after a ``zeek_chain.py`` run, which keeps ``<workdir>/vigia_chain.duckdb``)::

    .venv/bin/python bench/raw_storage.py --repeat 2 --json OUT

The 10M rows of ``bench.raw_conn`` are loaded into a TEMP table of a scratch warehouse
(``<workdir>/raw_storage.duckdb``), as ``ingest_conn`` stages them. Then, per layout and alternating:

* ``write``: ``replace_partitions`` of the day into a new ``<layout>.raw_conn`` (the ingest's write), with
  ``compression=RAW_CONN_COMPRESSION`` (``plain``: uid stored uncompressed) or none (``auto``: DuckDB's
  analysis picks DICT_FSST), then ``CHECKPOINT``; wall and CPU seconds and the table's size on disk.
* ``features``: ``materialize_features`` (DuckDB engine) of that day over the ``stg_conn`` view of that
  layout, on a fresh connection.

DuckDB: 2 threads, ``--memory-limit`` (default 2GB, the chain's). Reports each run and the medians.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench_common import DAY, conn_dataset, connect, finish

LAYOUTS = ("auto", "plain")


def _write(con: Any, layout: str) -> dict[str, Any]:
    from vigia.schema import RAW_CONN_COMPRESSION
    from vigia.warehouse.duck import ensure_schema, replace_partitions

    schema = f"layout_{layout}"
    ensure_schema(con, schema)
    con.execute(f"DROP TABLE IF EXISTS {schema}.raw_conn")
    con.execute("CHECKPOINT")
    compression = RAW_CONN_COMPRESSION if layout == "plain" else None
    t, c = time.perf_counter(), time.process_time()
    n = replace_partitions(con, schema, "raw_conn", "day", [DAY.isoformat()], "SELECT * FROM staging",
                           compression=compression)
    con.execute("CHECKPOINT")
    out: dict[str, Any] = {"stage": "write", "layout": layout, "seconds": round(time.perf_counter() - t, 2)}
    out["cpu_s"] = round(time.process_time() - c, 2)
    blocks, uid = con.execute(
        "SELECT count(DISTINCT block_id), string_agg(DISTINCT compression, ',') FILTER (WHERE column_name = 'uid' "
        f"AND segment_type = 'VARCHAR') FROM pragma_storage_info('{schema}.raw_conn') WHERE persistent"
    ).fetchall()[0]
    block_size = con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0][0]
    return out | {"rows": n, "table_mb": round(blocks * block_size / 1e6), "uid_compression": uid}


def _features(db: Path, layout: str, memory_limit: str) -> dict[str, Any]:
    from vigia.pipeline.features import materialize_features

    con = connect(db, memory_limit, 2, db.parent / "duckdb_tmp")
    t, c = time.perf_counter(), time.process_time()
    res = materialize_features(con, conn_dataset(f"layout_{layout}", db), [DAY.isoformat()])
    out = {"stage": "features", "layout": layout, "seconds": round(time.perf_counter() - t, 2)}
    con.close()
    return out | {"cpu_s": round(time.process_time() - c, 2), "windows": res.windows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=Path("/tmp/vigia-bench/vigia_chain.duckdb"))
    ap.add_argument("--memory-limit", default="2GB")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if not args.db.exists():
        raise SystemExit(f"{args.db} does not exist: run bench/zeek_chain.py first (it keeps its warehouse)")
    from vigia.paths import DEFAULT_SQL_ROOT
    from vigia.warehouse.sql_models import discover_models, materialize_model

    scratch = args.db.parent / "raw_storage.duckdb"
    for path in (scratch, scratch.with_name(scratch.name + ".wal")):
        path.unlink(missing_ok=True)
    runs: list[dict[str, Any]] = []
    con = connect(scratch, args.memory_limit, 2, scratch.parent / "duckdb_tmp")
    con.execute(f"ATTACH '{args.db}' AS src (READ_ONLY)")
    con.execute("CREATE TEMP TABLE staging AS SELECT * FROM src.bench.raw_conn")
    con.execute("DETACH src")
    for _ in range(args.repeat):
        for layout in LAYOUTS:
            runs.append(_write(con, layout))
            print(json.dumps(runs[-1]), flush=True)
    stg = next(m for m in discover_models(DEFAULT_SQL_ROOT, "network") if m.name == "stg_conn")
    for layout in LAYOUTS:
        materialize_model(con, stg, f"layout_{layout}", partition_keys=[DAY.isoformat()])
    con.close()
    for _ in range(args.repeat):
        for layout in LAYOUTS:
            runs.append(_features(scratch, layout, args.memory_limit))
            print(json.dumps(runs[-1]), flush=True)

    finish(runs, lambda r: f"{r['stage']} {r['layout']}", args.json, db=str(args.db),
           memory_limit=args.memory_limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
