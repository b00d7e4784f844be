"""Window-feature build alone: both engines, alternating, on the warehouse that ``bench/zeek_chain.py`` leaves.

Usage (after a ``zeek_chain.py`` run, which keeps ``<workdir>/vigia_chain.duckdb``)::

    .venv/bin/python bench/conn_features.py --memory-limit 2GB 2.6GB --repeat 2 --json OUT

Each run is ``materialize_features`` of the 2026-01-05 partition of ``bench.stg_conn`` (the view over
``bench.raw_conn``) into ``bench.window_features``, on a fresh connection with the given DuckDB memory
limit and 2 threads. Runs alternate engine and limit, so that the VM's speed drift hits each alike. Reports
wall and CPU seconds per run and the median wall seconds per (engine, limit).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench_common import DAY, conn_dataset, connect, finish


def _run(db: Path, engine: str, memory_limit: str) -> dict[str, Any]:
    from vigia.pipeline.features import materialize_features

    cfg = conn_dataset("bench", db, engine=engine)
    con = connect(db, memory_limit, 2)
    t, c = time.perf_counter(), time.process_time()
    res = materialize_features(con, cfg, [DAY.isoformat()])
    out = {"engine": engine, "memory_limit": memory_limit, "seconds": round(time.perf_counter() - t, 2)}
    out |= {"cpu_s": round(time.process_time() - c, 2), "windows": res.windows, "connections": res.connections}
    con.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=Path("/tmp/vigia-bench/vigia_chain.duckdb"))
    ap.add_argument("--engines", nargs="+", default=["duckdb", "polars"], choices=["duckdb", "polars"])
    ap.add_argument("--memory-limit", nargs="+", default=["2GB"])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if not args.db.exists():
        raise SystemExit(f"{args.db} does not exist: run bench/zeek_chain.py first (it keeps its warehouse)")
    runs = []
    for _ in range(args.repeat):
        for limit in args.memory_limit:
            for engine in args.engines:
                runs.append(_run(args.db, engine, limit))
                print(json.dumps(runs[-1]), flush=True)

    finish(runs, lambda r: f"{r['engine']} @ {r['memory_limit']}", args.json, db=str(args.db))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
