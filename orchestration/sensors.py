"""Sensors: retrain on drift, ingest each new OpenSearch index, process new tabular extracts."""

import json

import dagster as dg

from orchestration.jobs import DatasetJobs
from vigia.config import DatasetConfig
from vigia.pipeline.tabular import EXTRACTS_FINGERPRINT

CURSOR_VERSION = 1


def _decode(cursor: str | None) -> int | None:
    if not cursor:
        return None
    return int(json.loads(cursor)["storage_id"])


def build_drift_sensor(dataset: str, drift_asset: dg.AssetKey, jobs: DatasetJobs) -> dg.SensorDefinition:
    """Reads ``drift_score`` from each new materialization of ``drift_asset``.

    Above the threshold recorded with it, requests one run of the dataset's retraining job for the drifted
    day, with ``run_key = <dataset>-drift-retrain-<run id of that materialization>``: a run that reported
    several days, or a sensor evaluated twice, still launches one retrain. Below, a ``SkipReason`` gives
    the score. The cursor (last storage id seen) lives in the instance, so it survives daemon restarts.
    """

    @dg.sensor(
        name=f"{dataset}_drift_sensor",
        job=jobs.retrain,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Retrains {dataset} when a drift report scores above its threshold.",
    )
    def drift_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        after = _decode(context.cursor)
        result = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=drift_asset, after_storage_id=after), limit=100, ascending=True
        )
        if not result.records:
            return dg.SkipReason(f"no new {drift_asset.to_user_string()} materialization since the last tick")
        requests: dict[str, dg.RunRequest] = {}
        below = []
        for record in result.records:
            meta = record.asset_materialization.metadata
            score, threshold = meta["drift_score"].value, meta["drift_threshold"].value
            day = meta["drift_day"].value if "drift_day" in meta else None  # unpartitioned kinds: a batch
            if score > threshold:
                key = f"{dataset}-drift-retrain-{record.run_id}"
                requests[key] = dg.RunRequest(
                    run_key=key,
                    partition_key=day,
                    tags={"vigia/trigger": "drift", "vigia/drift_score": f"{score:.4f}", "vigia/drift_day": day or ""},
                )
            else:
                below.append(f"{day or 'latest batch'}: {score:.3f} <= {threshold}")
        cursor = json.dumps({"version": CURSOR_VERSION, "storage_id": result.records[-1].storage_id})
        if requests:
            return dg.SensorResult(run_requests=list(requests.values()), cursor=cursor)
        context.update_cursor(cursor)
        return dg.SkipReason(f"drift score below threshold, no retraining ({'; '.join(below)})")

    return drift_sensor


def build_index_sensor(cfg: DatasetConfig, jobs: DatasetJobs) -> dg.SensorDefinition:
    """For an OpenSearch-backed dataset: requests the daily run of each new daily index as it appears.

    Lists the indices matching the dataset's ``index_template`` (credentials from ``VIGIA_OPENSEARCH_*``),
    maps each to its day partition and requests one run per index never seen before (``run_key`` = index).
    """

    @dg.sensor(
        name=f"{cfg.name}_new_index_sensor",
        job=jobs.daily,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Ingests and scores each new OpenSearch index of {cfg.name} as it appears.",
    )
    def new_index_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        from vigia.pipeline.events_ingest import index_days
        from vigia.sources.opensearch import OpenSearchSettings, list_indices, make_client

        settings = OpenSearchSettings.from_env()
        seen = set(json.loads(context.cursor or "[]"))
        found = index_days(cfg, list_indices(make_client(settings), "*", settings=settings))
        new = {index: day for index, day in found.items() if index not in seen}
        if not new:
            return dg.SkipReason(f"no new index among {len(found)} matching {cfg.source.params.get('index_template')}")
        requests = [
            dg.RunRequest(run_key=f"{cfg.name}-index-{index}", partition_key=day, tags={"vigia/index": index})
            for index, day in sorted(new.items())
        ]
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(sorted(seen | set(new))))

    return new_index_sensor


EXTRACT_SETTLE_S = 30.0  # an extract modified more recently may still be being copied in


def _read_fingerprint(instance: dg.DagsterInstance, key: dg.AssetKey) -> str | None:
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    entry = event.asset_materialization.metadata.get(EXTRACTS_FINGERPRINT)
    return None if entry is None else str(entry.value)


def build_extract_sensor(cfg: DatasetConfig, jobs: DatasetJobs) -> dg.SensorDefinition:
    """For a supervised tabular dataset: runs the pipeline when extracts land in its folders.

    Compares the extract folders with the fingerprints (names, sizes, modification times) that the last
    ``training`` and ``inference_batch`` materializations recorded of what they read. New or changed
    training extracts request the training job (retrain, then score the newest batch); otherwise a new
    newest inference extract requests the scoring job (champion model, value, drift, so the drift sensor
    can follow). ``run_key`` = the fingerprints: one request per state of the folders. Extracts modified
    less than ``EXTRACT_SETTLE_S`` seconds ago are waited for.
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
        trained = _read_fingerprint(context.instance, dg.AssetKey([cfg.name, TRAINING_TABLE]))
        scored = _read_fingerprint(context.instance, dg.AssetKey([cfg.name, BATCH_TABLE]))
        if now.training != trained:
            return dg.RunRequest(
                run_key=f"{cfg.name}-training-{now.training}-{now.batch}",
                job_name=train.name,
                tags={"vigia/trigger": "new_training_extracts", "vigia/batch_file": now.batch_file.name},
            )
        if now.batch != scored:
            return dg.RunRequest(
                run_key=f"{cfg.name}-batch-{now.batch}",
                job_name=score.name,
                tags={"vigia/trigger": "new_inference_extract", "vigia/batch_file": now.batch_file.name},
            )
        return dg.SkipReason(f"extracts unchanged: training as last trained, {now.batch_file.name} already scored")

    return new_extract_sensor
