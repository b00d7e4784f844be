"""Sensors: retrain on drift, ingest each new OpenSearch index, process new source files and tabular extracts,
relabel and retrain when the label_windows file changes."""

import json
from pathlib import Path

import dagster as dg

from assets.common import daily_partitions
from orchestration.jobs import DatasetJobs
from vigia.config import DatasetConfig
from vigia.pipeline.features import FEATURES_TABLE
from vigia.pipeline.kinds import RAW_TABLES
from vigia.pipeline.tabular import BATCH_FINGERPRINT, EXTRACTS_FINGERPRINT

CURSOR_VERSION = 1


DRIFT_CURSOR_VERSION = 2
DRIFT_DAYS_REMEMBERED = 1000  # days (and tabular batches) whose retrain was requested, newest kept: each retrains once


def _drift_cursor(cursor: str | None) -> tuple[int | None, list[str], list[str]]:
    """(last storage id seen, days already retrained, tabular batches already retrained) from the cursor;
    version 1 cursors had no days, and earlier version 2 cursors no batches."""
    if not cursor:
        return None, [], []
    state = json.loads(cursor)
    return int(state["storage_id"]), list(state.get("retrained_days", [])), list(state.get("retrained_batches", []))


def _drifted_days(meta: dict, below: list[str]) -> dict[str, float]:
    """Score per drifted day of one drift report run (every day of a multi-day run, not only the newest)."""
    threshold = meta["drift_threshold"].value
    if "scores_by_day" in meta:
        by_day = meta["scores_by_day"].value
    else:  # a report written before the per-day scores were recorded
        by_day = {meta["drift_day"].value: meta["drift_score"].value}
    drifted = {}
    for day, score in sorted(by_day.items()):
        if score is None or score != score:  # NaN (None once stored as JSON): a day too small to judge
            below.append(f"{day}: not judged")
        elif score > threshold:
            drifted[day] = float(score)
        else:
            below.append(f"{day}: {score:.3f} <= {threshold}")
    return drifted


def build_drift_sensor(dataset: str, drift_asset: dg.AssetKey, jobs: DatasetJobs) -> dg.SensorDefinition:
    """Reads the scores of each new materialization of ``drift_asset``; above the threshold, retrains once.

    Daily kinds: every day of a report run counts (``scores_by_day``). The days above the threshold that never
    triggered a retrain are retrained by one run of the dataset's retraining job (over their range), with
    ``run_key = <dataset>-drift-retrain-<first day>[..<last day>]``. A day retrains once: the retrained model
    is fitted on the training period, which never holds the newest days, so the same day stays drifted against
    it, and retraining again would repeat without end. The days already retrained are kept in the cursor.
    Tabular batches: one retrain per drifted batch (``run_key = <dataset>-drift-retrain-<batch fingerprint>``;
    the retrain adds the batch's labelled rows). The retraining job refreshes the drift report against the
    new champion; a batch that stays drifted (no labels, or too few) does not retrain again, for the same
    reason as a day. The batches already retrained are kept in the cursor.
    Turned on over past reports, only the newest report counts. Below the threshold, a ``SkipReason`` gives
    the scores. The cursor lives in the instance, so it survives daemon restarts.
    """

    @dg.sensor(
        name=f"{dataset}_drift_sensor",
        job=jobs.retrain,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Retrains {dataset} when a drift report scores above its threshold (once per drifted day or "
        "batch).",
    )
    def drift_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        after, retrained, retrained_batches = _drift_cursor(context.cursor)
        if after is None:  # first tick: reports computed before the sensor was on do not count, but the newest
            records = context.instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=drift_asset), limit=1, ascending=False
            ).records
        else:
            records = context.instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=drift_asset, after_storage_id=after), limit=100, ascending=True
            ).records
        if not records:
            return dg.SkipReason(f"no new {drift_asset.to_user_string()} materialization since the last tick")
        requests: dict[str, dg.RunRequest] = {}
        below: list[str] = []
        drifted: dict[str, float] = {}
        runs: set[str] = set()
        new_batches: list[str] = []
        done_batches: list[str] = []
        for record in records:
            if record.run_id and record.run_id in runs:  # a multi-day run: one materialization per day, same metadata
                continue
            runs.add(record.run_id)
            meta = record.asset_materialization.metadata
            if "drift_day" not in meta:  # the tabular kind: one batch per report
                score, threshold = meta["drift_score"].value, meta["drift_threshold"].value
                # a report written before the batch fingerprint was recorded: its run stands for the batch
                batch = meta[BATCH_FINGERPRINT].value if BATCH_FINGERPRINT in meta else record.run_id
                name = Path(str(meta["batch_file"].value)).name if "batch_file" in meta else "latest batch"
                if score <= threshold:
                    below.append(f"{name}: {score:.3f} <= {threshold}")
                elif batch in retrained_batches or batch in new_batches:
                    done_batches.append(f"{name}: drifted ({score:.3f}), already retrained for it")
                else:
                    new_batches.append(batch)
                    key = f"{dataset}-drift-retrain-{batch}"
                    requests[key] = dg.RunRequest(
                        run_key=key, tags={"vigia/trigger": "drift", "vigia/drift_score": f"{score:.4f}"}
                    )
                continue
            for day, score in _drifted_days(meta, below).items():
                drifted[day] = max(score, drifted.get(day, 0.0))
        new = sorted(day for day in drifted if day not in retrained)
        done = sorted(day for day in drifted if day in retrained)
        if new:
            first, last = new[0], new[-1]
            key = f"{dataset}-drift-retrain-{first}" + (f"..{last}" if last != first else "")
            tags = {"vigia/trigger": "drift", "vigia/drift_score": f"{max(drifted[d] for d in new):.4f}",
                    "vigia/drift_day": ", ".join(new)[:200]}  # fmt: skip
            if first == last:
                requests[key] = dg.RunRequest(run_key=key, partition_key=first, tags=tags)
            else:
                tags |= {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
                requests[key] = dg.RunRequest(run_key=key, tags=tags)
        remembered = sorted(set(retrained) | set(new))[-DRIFT_DAYS_REMEMBERED:]
        batches = [*retrained_batches, *new_batches][-DRIFT_DAYS_REMEMBERED:]
        cursor = json.dumps({"version": DRIFT_CURSOR_VERSION, "storage_id": max(r.storage_id for r in records),
                             "retrained_days": remembered, "retrained_batches": batches})  # fmt: skip
        if requests:
            return dg.SensorResult(run_requests=list(requests.values()), cursor=cursor)
        context.update_cursor(cursor)
        notes = below + [f"{day}: drifted ({drifted[day]:.3f}), already retrained for it" for day in done]
        notes += done_batches
        reason = "drift score below threshold or day (batch) already retrained"
        return dg.SkipReason(f"{reason}, no retraining ({'; '.join(notes)})")

    return drift_sensor


def build_index_sensor(cfg: DatasetConfig, jobs: DatasetJobs) -> dg.SensorDefinition:
    """For an OpenSearch-backed dataset: requests the daily run of each new daily index as it appears.

    Lists the indices matching the dataset's ``index_template`` as a pattern (``events-{day:%Y%m%d}`` →
    ``events-*``; credentials from ``VIGIA_OPENSEARCH_*``), maps each to its day partition and requests one run
    per index never seen before (``run_key`` = index). On its first evaluation, the indices whose day already
    has a raw table materialization count as seen: turned on over days already ingested, it requests only the rest.
    """
    raw_key = dg.AssetKey([cfg.name, RAW_TABLES[cfg.kind]])

    @dg.sensor(
        name=f"{cfg.name}_new_index_sensor",
        job=jobs.daily,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Ingests and scores each new OpenSearch index of {cfg.name} as it appears.",
    )
    def new_index_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        from vigia.pipeline.events_ingest import index_days, index_pattern
        from vigia.sources.opensearch import OpenSearchSettings, list_indices, make_client

        settings = OpenSearchSettings.from_env()
        seen = set(json.loads(context.cursor or "[]"))
        pattern = index_pattern(cfg)
        found = index_days(cfg, list_indices(make_client(settings), pattern, settings=settings))
        if context.cursor is None:  # turned on over days already ingested: their indices are not new
            ingested = _written_at(context.instance, raw_key, sorted(set(found.values())))
            seen |= {index for index, day in found.items() if day in ingested}
        new = {index: day for index, day in found.items() if index not in seen}
        if not new:
            context.update_cursor(json.dumps(sorted(seen)))
            return dg.SkipReason(f"no new index among {len(found)} matching {pattern}")
        requests = [
            dg.RunRequest(run_key=f"{cfg.name}-index-{index}", partition_key=day, tags={"vigia/index": index})
            for index, day in sorted(new.items())
        ]
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(sorted(seen | set(new))))

    return new_index_sensor


EXTRACT_SETTLE_S = 30.0  # an extract or source file modified more recently may still be being copied in
FILES_PROBE_BUDGET_S = 20.0  # reading new files for their days stops after this; the rest waits a tick
FILES_CURSOR_VERSION = 1


def _written_at(instance: dg.DagsterInstance, key: dg.AssetKey, days: list[str]) -> dict[str, float]:
    """Epoch seconds of the latest materialization of each of ``days`` of ``key`` (raw table, features) that
    has one."""
    found: dict[str, float] = {}
    cursor = None
    while days:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=days), limit=1000, cursor=cursor
        )
        for record in result.records:  # newest first
            if record.partition_key is not None:
                found.setdefault(record.partition_key, record.timestamp)
        if not result.has_more or len(found) == len(days):
            break
        cursor = result.cursor
    return found


def build_files_sensor(cfg: DatasetConfig, jobs: DatasetJobs) -> dg.SensorDefinition:
    """For a daily dataset read from files (Zeek logs, sensor CSV / Parquet, event exports): runs the daily
    job for the days of each file that lands in or changes under ``source.path``.

    The rules are :mod:`vigia.pipeline.file_arrivals`'s: files settle for ``EXTRACT_SETTLE_S`` seconds,
    each new or changed file is read once in memory for its days, a day already ingested after its files
    changed is not requested again, consecutive days go into one run (``run_key`` = dataset, days and the
    files' state). The cursor keeps what was learnt of each file, so the warehouse is never opened here.
    """
    assert jobs.daily is not None
    daily, partitions = jobs.daily, daily_partitions(cfg)
    assert partitions is not None and cfg.partitions is not None
    end = None if cfg.partitions.end is None else cfg.partitions.end.isoformat()
    raw_key = dg.AssetKey([cfg.name, RAW_TABLES[cfg.kind]])

    @dg.sensor(
        name=f"{cfg.name}_new_files_sensor",
        job=daily,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Ingests and scores the days of each new or changed source file of {cfg.name}.",
    )
    def new_files_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        from vigia.pipeline.file_arrivals import decode_seen, encode_seen, plan_arrivals, probe_file_days, source_files
        from vigia.sources.errors import SourceError

        try:
            files = source_files(cfg)
        except SourceError as exc:
            return dg.SkipReason(f"nothing to process yet: {exc}")
        state = json.loads(context.cursor) if context.cursor else {"files": {}}
        first, last = partitions.get_first_partition_key(), partitions.get_last_partition_key()
        plan = plan_arrivals(
            files,
            decode_seen(state["files"]),
            probe=lambda path: probe_file_days(cfg, path),
            is_partition=lambda day: first is not None and last is not None and first <= day <= last,
            after_last_partition=lambda day: (first is None or day >= first) and (last is None or day > last)
            and (end is None or day < end),
            written_at=lambda days: _written_at(context.instance, raw_key, days),
            settle_s=EXTRACT_SETTLE_S,
            budget_s=FILES_PROBE_BUDGET_S,
            first_evaluation=context.cursor is None,
        )
        cursor = json.dumps({"version": FILES_CURSOR_VERSION, "files": encode_seen(plan.seen)})
        if not plan.runs:
            context.update_cursor(cursor)
            return dg.SkipReason(plan.summary())
        if plan.notes():
            context.log.info(plan.notes())
        requests = [
            dg.RunRequest(
                run_key=f"{cfg.name}-files-{run.start}-{run.end}-{run.digest}",
                tags={
                    "dagster/asset_partition_range_start": run.start,
                    "dagster/asset_partition_range_end": run.end,
                    "vigia/trigger": "new_files",
                    "vigia/files": ", ".join(Path(f).name for f in run.files)[:200],
                },
            )
            for run in plan.runs
        ]
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return new_files_sensor


RELABEL_ASSETS = ("window_features", "detectors", "thresholds", "evaluation", "champion")


def build_label_windows_sensor(cfg: DatasetConfig, jobs: DatasetJobs) -> dg.SensorDefinition:
    """For a daily dataset labelled by a ``label_windows`` file: when the file changes, rebuilds the features
    of the days whose labels changed, then retrains, recalibrates, evaluates and applies the champion rule,
    in one run of ``<ds>_retrain`` over those days (a single-run range from the first to the last).

    The rules are :mod:`vigia.pipeline.label_changes`'s: the file settles for ``EXTRACT_SETTLE_S`` seconds;
    each day keeps a digest of the intervals that can label its windows, and only days whose digest changed
    and whose features predate the file are requested (``run_key`` = dataset, days and the file's state).
    Scores and alerts are left as they are: labels do not change a score, and alerts already sent stay sent.
    """
    assert cfg.label_windows is not None and jobs.daily is not None
    partitions = daily_partitions(cfg)
    assert partitions is not None
    features_key = dg.AssetKey([cfg.name, FEATURES_TABLE])
    selection = [dg.AssetKey([cfg.name, name]) for name in RELABEL_ASSETS]
    label_file = Path(cfg.label_windows)

    @dg.sensor(
        name=f"{cfg.name}_label_windows_sensor",
        job=jobs.retrain,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Relabels the affected days of {cfg.name} and retrains when its label_windows file changes.",
    )
    def label_windows_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        from vigia.pipeline.label_changes import decode_state, encode_state, plan_relabel, window_span
        from vigia.pipeline.label_windows import read_label_windows

        previous = decode_state(json.loads(context.cursor)["file"]) if context.cursor else None
        first, last = partitions.get_first_partition_key(), partitions.get_last_partition_key()
        plan = plan_relabel(
            label_file,
            previous,
            read=read_label_windows,
            lead=window_span(cfg),
            is_partition=lambda day: first is not None and last is not None and first <= day <= last,
            written_at=lambda days: _written_at(context.instance, features_key, days),
            settle_s=EXTRACT_SETTLE_S,
        )
        cursor = json.dumps({"version": CURSOR_VERSION, "file": encode_state(plan.state)})
        if not plan.days:
            context.update_cursor(cursor)
            return dg.SkipReason(plan.summary())
        start, end = plan.days[0], plan.days[-1]
        assert plan.state is not None
        state = f"{plan.state.size}-{plan.state.mtime_ns}"
        request = dg.RunRequest(
            run_key=f"{cfg.name}-labels-{start}-{end}-{state}",
            asset_selection=selection,
            tags={
                "dagster/asset_partition_range_start": start,
                "dagster/asset_partition_range_end": end,
                "vigia/trigger": "label_windows",
                "vigia/relabelled_days": ", ".join(plan.days)[:200],
            },
        )
        context.log.info(f"relabelling {len(plan.days)} day(s) {start}..{end}; {plan.summary()}")
        return dg.SensorResult(run_requests=[request], cursor=cursor)

    return label_windows_sensor


def _read_fingerprint(instance: dg.DagsterInstance, key: dg.AssetKey) -> tuple[str | None, int]:
    """The extracts fingerprint of the latest materialization of ``key`` and its storage id (0 when none)."""
    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=1, ascending=False).records
    if not records:
        return None, 0
    materialization = records[0].asset_materialization
    entry = None if materialization is None else materialization.metadata.get(EXTRACTS_FINGERPRINT)
    return None if entry is None else str(entry.value), records[0].storage_id


def build_extract_sensor(cfg: DatasetConfig, jobs: DatasetJobs) -> dg.SensorDefinition:
    """For a supervised tabular dataset: runs the pipeline when extracts land in its folders.

    Compares the extract folders with the fingerprints (names, sizes, modification times) that the last
    ``training`` and ``inference_batch`` materializations recorded of what they read. New or changed
    training extracts request the training job (retrain, then score the newest batch); otherwise a new
    newest inference extract requests the scoring job (champion model, value, drift, so the drift sensor
    can follow). ``run_key`` = the fingerprints and the storage id of the latest materialization they differ
    from: one request per state of the folders since that run, so a folder back in an earlier state (a bad
    extract removed) is requested again. Extracts modified less than ``EXTRACT_SETTLE_S`` seconds ago are
    waited for.
    """
    assert jobs.score is not None
    train, score = jobs.train, jobs.score

    @dg.sensor(
        name=f"{cfg.name}_new_extract_sensor",
        jobs=[train, score],
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Retrains {cfg.name} on new training extracts and scores each new inference extract.",
    )
    def new_extract_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        from vigia.pipeline.tabular import BATCH_TABLE, TRAINING_TABLE, extract_folders
        from vigia.sources.errors import SourceError

        try:
            now = extract_folders(cfg, settle_s=EXTRACT_SETTLE_S)
        except SourceError as exc:
            hint = f" (the first {train.name} run writes the synthetic extracts)" if cfg.source.type.startswith(
                "synthetic") else ""  # fmt: skip
            return dg.SkipReason(f"nothing to process yet: {exc}{hint}")
        if now.settling:
            return dg.SkipReason(f"waiting for {', '.join(now.settling)} to settle ({EXTRACT_SETTLE_S:.0f} s)")
        trained, trained_id = _read_fingerprint(context.instance, dg.AssetKey([cfg.name, TRAINING_TABLE]))
        scored, scored_id = _read_fingerprint(context.instance, dg.AssetKey([cfg.name, BATCH_TABLE]))
        if now.training != trained:
            return dg.RunRequest(
                run_key=f"{cfg.name}-training-{now.training}-{now.batch}-after-{trained_id}",
                job_name=train.name,
                tags={"vigia/trigger": "new_training_extracts", "vigia/batch_file": now.batch_file.name},
            )
        if now.batch != scored:
            return dg.RunRequest(
                run_key=f"{cfg.name}-batch-{now.batch}-after-{scored_id}",
                job_name=score.name,
                tags={"vigia/trigger": "new_inference_extract", "vigia/batch_file": now.batch_file.name},
            )
        return dg.SkipReason(f"extracts unchanged: training as last trained, {now.batch_file.name} already scored")

    return new_extract_sensor
