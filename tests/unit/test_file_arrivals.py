"""The file-arrival rules (which days need a run when source files land or change) and the per-kind probes."""

from __future__ import annotations

import gzip
import os
import time
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from tests.staging import dataset_config
from vigia.events.synth import generate_api_events, write_ndjson
from vigia.pipeline.file_arrivals import (
    ArrivalPlan,
    SeenFile,
    decode_seen,
    encode_seen,
    plan_arrivals,
    probe_file_days,
    source_files,
)
from vigia.sources.errors import SourceError
from vigia.sources.zeek_synth import generate_conn_day
from vigia.sources.zeek_writers import write_zeek_tsv

NOW = time.time()
LAST = "2026-01-07"  # the last partition; partitions start 2026-01-01 and end (exclusive) 2026-01-20


def _file(folder: Path, name: str, text: str = "x", age_s: float = 300) -> Path:
    path = folder / name
    path.write_text(text)
    os.utime(path, (NOW - age_s, NOW - age_s))
    return path


class Probe:
    """Days per file name; counts the reads."""

    def __init__(self, days: dict[str, tuple[str, str] | Exception | None]):
        self.days, self.calls = days, []

    def __call__(self, path: Path) -> tuple[date | None, date | None, int]:
        self.calls.append(path.name)
        found = self.days[path.name]
        if isinstance(found, Exception):
            raise found
        if found is None:
            return None, None, 0
        return date.fromisoformat(found[0]), date.fromisoformat(found[1]), 100


def _plan(
    files: list[Path], seen: dict[str, SeenFile], probe: Probe, written: dict[str, float] | None = None,
    last: str = LAST, budget_s: float = 60.0,
) -> ArrivalPlan:  # fmt: skip
    return plan_arrivals(
        files,
        seen,
        probe=probe,
        is_partition=lambda d: "2026-01-01" <= d <= last,
        after_last_partition=lambda d: last < d < "2026-01-20",
        written_at=lambda days: {d: t for d, t in (written or {}).items() if d in days},
        settle_s=30,
        budget_s=budget_s,
        first_evaluation=not seen,
        now=NOW,
    )


def _runs(plan: ArrivalPlan) -> list[tuple[str, str, list[str]]]:
    return [(r.start, r.end, [Path(f).name for f in r.files]) for r in plan.runs]


def test_new_file_requests_its_days_once(tmp_path: Path) -> None:
    a = _file(tmp_path, "conn.a.log")
    probe = Probe({"conn.a.log": ("2026-01-05", "2026-01-06")})
    first = _plan([a], {}, probe)
    assert _runs(first) == [("2026-01-05", "2026-01-06", ["conn.a.log"])]
    assert first.seen[str(a)].done and first.seen[str(a)].rows == 100
    again = _plan([a], decode_seen(encode_seen(first.seen)), probe)  # the cursor's JSON round trip
    assert again.runs == [] and again.summary() == "no new or changed files"
    assert probe.calls == ["conn.a.log"]


def test_unsettled_file_waits_and_is_not_remembered(tmp_path: Path) -> None:
    a = _file(tmp_path, "a.log", age_s=5)
    probe = Probe({"a.log": ("2026-01-05", "2026-01-05")})
    plan = _plan([a], {}, probe)
    assert plan.runs == [] and plan.settling == [str(a)] and plan.seen == {} and probe.calls == []
    assert "waiting for a.log to settle" in plan.summary()


def test_days_written_after_the_file_changed_are_current(tmp_path: Path) -> None:
    a = _file(tmp_path, "a.log", age_s=300)  # an archive ingested before the sensor was turned on
    probe = Probe({"a.log": ("2026-01-05", "2026-01-07")})
    plan = _plan([a], {}, probe, written={"2026-01-05": NOW - 100, "2026-01-06": NOW - 400})
    assert _runs(plan) == [("2026-01-06", "2026-01-07", ["a.log"])]  # the 6th was written before the file
    assert plan.current == ["2026-01-05"] and plan.seen[str(a)].done


def test_a_later_arrival_is_requested_even_with_an_old_modification_time(tmp_path: Path) -> None:
    a = _file(tmp_path, "a.log")
    probe = Probe({"a.log": ("2026-01-05", "2026-01-05"), "late.log": ("2026-01-05", "2026-01-05")})
    first = _plan([a], {}, probe)
    late = _file(tmp_path, "late.log", age_s=86_400)  # copied with its modification time kept (cp -p, rsync -t)
    second = _plan([a, late], first.seen, probe, written={"2026-01-05": NOW - 60})
    assert _runs(second) == [("2026-01-05", "2026-01-05", ["late.log"])] and second.current == []
    fresh = _plan([a, late], {}, probe, written={"2026-01-05": NOW - 60})  # no state: only the write times
    assert fresh.runs == [] and fresh.current == ["2026-01-05"]


def test_changed_file_is_read_again_and_requested_with_a_new_digest(tmp_path: Path) -> None:
    a = _file(tmp_path, "a.log", "one")
    probe = Probe({"a.log": ("2026-01-05", "2026-01-05")})
    first = _plan([a], {}, probe)
    _file(tmp_path, "a.log", "one, then more", age_s=100)  # appended and settled
    probe.days["a.log"] = ("2026-01-05", "2026-01-06")
    second = _plan([a], first.seen, probe, written={"2026-01-05": NOW - 200})
    assert _runs(second) == [("2026-01-05", "2026-01-06", ["a.log"])]
    assert second.runs[0].digest != first.runs[0].digest and probe.calls == ["a.log", "a.log"]


def test_consecutive_days_share_a_run_and_gaps_split(tmp_path: Path) -> None:
    files = [_file(tmp_path, n) for n in ("a.log", "b.log", "c.log")]
    probe = Probe({"a.log": ("2026-01-02", "2026-01-03"), "b.log": ("2026-01-03", "2026-01-03"),
                   "c.log": ("2026-01-05", "2026-01-05")})  # fmt: skip
    plan = _plan(files, {}, probe)
    assert _runs(plan) == [("2026-01-02", "2026-01-03", ["a.log", "b.log"]), ("2026-01-05", "2026-01-05", ["c.log"])]


def test_days_after_the_last_partition_wait_without_a_second_read(tmp_path: Path) -> None:
    a = _file(tmp_path, "a.log")
    probe = Probe({"a.log": ("2026-01-07", "2026-01-08")})  # yesterday and today
    first = _plan([a], {}, probe)
    assert _runs(first) == [("2026-01-07", "2026-01-07", ["a.log"])]
    assert first.waiting == ["2026-01-08"] and not first.seen[str(a)].done
    assert "days not yet a partition: 2026-01-08" in first.summary()
    later = _plan([a], first.seen, probe, last="2026-01-08", written={"2026-01-07": NOW - 10})
    assert _runs(later) == [("2026-01-08", "2026-01-08", ["a.log"])] and later.current == ["2026-01-07"]
    assert later.seen[str(a)].done and probe.calls == ["a.log"]


def test_days_outside_the_partitions_are_dropped(tmp_path: Path) -> None:
    a = _file(tmp_path, "a.log")
    plan = _plan([a], {}, Probe({"a.log": ("2025-12-31", "2026-01-01")}))
    assert _runs(plan) == [("2026-01-01", "2026-01-01", ["a.log"])]
    assert plan.out_of_range == ["2025-12-31"] and plan.seen[str(a)].done


def test_unreadable_and_empty_files_are_reported_and_not_read_again(tmp_path: Path) -> None:
    bad, empty = _file(tmp_path, "bad.log"), _file(tmp_path, "empty.log")
    probe = Probe({"bad.log": SourceError("no conn logs in bad.log: only other Zeek logs"), "empty.log": None})
    first = _plan([bad, empty], {}, probe)
    assert first.runs == [] and first.empty == [str(empty)]
    assert first.unreadable == {str(bad): "SourceError: no conn logs in bad.log: only other Zeek logs"}
    assert "unreadable: bad.log: SourceError" in first.summary()
    assert "no accepted records in empty.log" in first.summary()
    again = _plan([bad, empty], first.seen, probe)
    assert again.unreadable == {} and probe.calls == ["bad.log", "empty.log"]
    _file(tmp_path, "bad.log", "fixed", age_s=60)
    probe.days["bad.log"] = ("2026-01-04", "2026-01-04")
    fixed = _plan([bad, empty], again.seen, probe)
    assert _runs(fixed) == [("2026-01-04", "2026-01-04", ["bad.log"])]


def test_probe_budget_defers_files_but_reads_at_least_one(tmp_path: Path) -> None:
    files = [_file(tmp_path, f"{i}.log") for i in range(3)]
    probe = Probe({f"{i}.log": ("2026-01-05", "2026-01-05") for i in range(3)})
    first = _plan(files, {}, probe, budget_s=0.0)
    assert probe.calls == ["0.log"] and len(first.deferred) == 2 and "2 file(s) left" in first.summary()
    second = _plan(files, first.seen, probe, budget_s=0.0, written={"2026-01-05": NOW})
    assert probe.calls == ["0.log", "1.log"] and _runs(second) == [("2026-01-05", "2026-01-05", ["1.log"])]


def test_removed_files_leave_the_state(tmp_path: Path) -> None:
    a, b = _file(tmp_path, "a.log"), _file(tmp_path, "b.log")
    probe = Probe({"a.log": ("2026-01-05", "2026-01-05"), "b.log": ("2026-01-06", "2026-01-06")})
    first = _plan([a, b], {}, probe)
    b.unlink()
    assert set(_plan([a, b], first.seen, probe).seen) == {str(a)}  # listed, then gone: skipped
    assert set(_plan([a], first.seen, probe).seen) == {str(a)}


def test_zeek_probe_reads_plain_and_gzip_logs(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    two_days = pl.concat([generate_conn_day(date(2026, 1, d), 500, seed=d) for d in (5, 6)])
    write_zeek_tsv(two_days, logs / "conn.log")
    with gzip.open(logs / "conn.2.log.gz", "wb") as out:
        out.write((logs / "conn.log").read_bytes())
    (logs / "dns.log").write_text("#separator \\x09\n#path\tdns\n#fields\tts\tuid\n#types\ttime\tstring\n1.0\tCx\n")
    cfg = dataset_config("probe", source={"type": "zeek_files", "path": str(logs)})
    assert [f.name for f in source_files(cfg)] == ["conn.2.log.gz", "conn.log", "dns.log"]
    for name in ("conn.log", "conn.2.log.gz"):
        assert probe_file_days(cfg, logs / name) == (date(2026, 1, 5), date(2026, 1, 6), 1000)
    with pytest.raises(SourceError, match="no conn logs"):
        probe_file_days(cfg, logs / "dns.log")


def test_sensor_and_event_probes(tmp_path: Path) -> None:
    csv = tmp_path / "station.csv"
    rows = ("2026-01-05 23:59:00;1.0;0", "2026-01-06 00:01:00;x;0", "2026-01-07 08:00:00;2.0;0")
    csv.write_text("datetime;p;anomaly\n" + "\n".join(rows) + "\n")
    cfg = dataset_config("s", kind="sensor_timeseries", source={"type": "sensor_files", "path": str(csv)},
                         time_column="datetime", label_column="anomaly")  # fmt: skip
    assert probe_file_days(cfg, csv) == (date(2026, 1, 5), date(2026, 1, 7), 2)  # the bad row is not counted
    events = generate_api_events(datetime(2026, 1, 5, 12), 200, seed=1, span_hours=20)
    path = write_ndjson(events, tmp_path / "events.ndjson")
    ecfg = dataset_config("e", kind="api_events", source={"type": "event_files", "path": str(tmp_path)})
    assert probe_file_days(ecfg, path) == (date(2026, 1, 5), date(2026, 1, 6), events.height)
