"""Schedules (stopped by default in a fresh instance; turn them on in the UI)."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import DatasetJobs


def build_dataset_schedules(dataset: str, jobs: DatasetJobs) -> list[dg.ScheduleDefinition]:
    weekly = dg.ScheduleDefinition(
        name=f"{dataset}_weekly_retrain",
        cron_schedule="0 3 * * 1",
        job=jobs.train,
        description=f"Mondays 03:00 UTC: retrain and recalibrate {dataset}'s models.",
        execution_timezone="UTC",
    )
    if jobs.daily is None:
        return [weekly]
    daily = dg.build_schedule_from_partitioned_job(
        jobs.daily,
        name=f"{dataset}_daily_schedule",
        hour_of_day=1,
        minute_of_hour=15,
        description=f"Every night: ingest and score yesterday's partition of {dataset}.",
    )
    return [daily, weekly]
