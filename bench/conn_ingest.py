"""Conn-file ingest alone: the direct path, the staged path, and the direct path's worst case, alternating.

Usage (after a ``zeek_chain.py`` run, which keeps the 10M-record TSV in ``/tmp/vigia-bench``)::

    .venv/bin/python bench/conn_ingest.py --repeat 3 --json bench/results/conn_ingest.json

Each run is ``ingest_conn`` of the benchmark day into a fresh warehouse (``<workdir>/conn_ingest.duckdb``,
DuckDB memory limit 2GB, DuckDB's default threads), in this process. Variants:

* ``direct``: the TSV as generated; the ingest takes the direct path (one pass into ``raw_conn``).
* ``staged``: the same file with the direct path turned off (parse into a TEMP table, then copy).
* ``late_reject``: a copy of the file whose last data line has a 1970 timestamp, which only the SQL checks
  reject: the direct attempt runs to the end of the file, rolls back, and the staged path reads it again.

Reports wall and CPU seconds and records/s per run, and the median wall seconds per variant.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench_common import DAY, SEED, conn_dataset, connect, finish

VARIANTS = ("direct", "staged", "late_reject")


def _late_reject_copy(path: Path) -> Path:
    """``path`` with a copy of its last data line, timestamp 100.5 (1970), inserted before the ``#close`` footer."""
    out = path.with_name(path.stem + "_late_reject.log")
    if out.exists() and out.stat().st_mtime >= path.stat().st_mtime:
        return out
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 4096))
        tail = fh.read().split(b"\n")
    footer = [line for line in tail if line.startswith(b"#close")]
    last = next(line for line in reversed(tail) if line and not line.startswith(b"#"))
    bad = b"\t".join([b"100.5", *last.split(b"\t")[1:]])
    tmp = out.with_suffix(".partial")
    with path.open("rb") as src, tmp.open("wb") as dst:
        size = path.stat().st_size - (sum(len(f) + 1 for f in footer) if footer else 0)
        remaining = size
        while remaining > 0:
            chunk = src.read(min(remaining, 64 << 20))
            dst.write(chunk)
            remaining -= len(chunk)
        dst.write(bad + b"\n")
        for line in footer:
            dst.write(line + b"\n")
    tmp.rename(out)
    return out


def _run(variant: str, source: Path, workdir: Path) -> dict[str, Any]:
    import vigia.pipeline.ingest as ingest

    db = workdir / "conn_ingest.duckdb"
    for p in (db, db.with_suffix(".duckdb.wal")):
        p.unlink(missing_ok=True)
    planner = ingest.plan_direct
    if variant == "staged":
        ingest.plan_direct = lambda *a, **k: None  # type: ignore[assignment]
    try:
        con = connect(db, "2GB", None, workdir / "duckdb_tmp")
        t, c = time.perf_counter(), time.process_time()
        res = ingest.ingest_conn(con, conn_dataset("bench", source), [DAY.isoformat()], run_id="bench")
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
        con.close()
    finally:
        ingest.plan_direct = planner
    return {"variant": variant, "seconds": round(seconds, 2), "cpu_s": round(cpu, 2), "read": res.read,
            "written": res.written, "rejected": res.rejected, "records_per_s": round(res.read / seconds)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/vigia-bench"))
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    tsv = args.workdir / f"conn_{args.rows}_seed{SEED}.log"
    if not tsv.exists():
        raise SystemExit(f"{tsv} does not exist: run bench/zeek_chain.py --rows {args.rows} first (it keeps the file)")
    sources = {v: (_late_reject_copy(tsv) if v == "late_reject" else tsv) for v in args.variants}
    for source in set(sources.values()):
        with source.open("rb") as fh:  # into the page cache, as zeek_chain.py does
            while fh.read(64 << 20):
                pass
    runs = []
    for _ in range(args.repeat):
        for variant in args.variants:
            runs.append(_run(variant, sources[variant], args.workdir))
            print(json.dumps(runs[-1]), flush=True)
    finish(runs, lambda r: r["variant"], args.json, file=str(tsv), rows=args.rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
