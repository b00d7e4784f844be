"""The drift sensor: retrain a dataset when a new drift report scores above its threshold."""

import json

import dagster as dg

from orchestration.jobs import DatasetJobs

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
            day = meta["drift_day"].value
            if score > threshold:
                key = f"{dataset}-drift-retrain-{record.run_id}"
                requests[key] = dg.RunRequest(
                    run_key=key,
                    partition_key=day,
                    tags={"vigia/trigger": "drift", "vigia/drift_score": f"{score:.4f}", "vigia/drift_day": day},
                )
            else:
                below.append(f"{day}: {score:.3f} <= {threshold}")
        cursor = json.dumps({"version": CURSOR_VERSION, "storage_id": result.records[-1].storage_id})
        if requests:
            return dg.SensorResult(run_requests=list(requests.values()), cursor=cursor)
        context.update_cursor(cursor)
        return dg.SkipReason(f"drift score below threshold, no retraining ({'; '.join(below)})")

    return drift_sensor
