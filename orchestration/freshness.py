"""Freshness checks: by the deadline, yesterday's alerts of each open-ended daily dataset must exist.

Dagster 1.13 marks these checks as superseded by ``FreshnessPolicy``, but that policy is evaluated per asset, not
per partition: a backfill of an old day would make it fresh while yesterday is still missing (dagster-io/dagster
discussion #34023). The time-partition check asks the right question, so it is kept, and the warning is muted.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import dagster as dg
from dagster._utils.schedules import is_valid_cron_string

from assets.scoring import ALERTS_TABLE
from vigia.config import DatasetConfig

FRESHNESS_SENSOR = "vigia_freshness_sensor"


def build_freshness_checks(cfg: DatasetConfig) -> Sequence[dg.AssetChecksDefinition]:
    """A warning check on ``<ds>/alerts``: the newest complete day is materialized by ``freshness_deadline``.

    Only for daily partitions without an end: a dataset that ends has no new day to wait for.
    """
    part = cfg.partitions
    if part is None or part.end is not None or part.freshness_deadline is None:
        return []
    if not is_valid_cron_string(part.freshness_deadline):
        raise ValueError(f"dataset {cfg.name!r}: partitions.freshness_deadline {part.freshness_deadline!r} "
                         "is not a valid cron expression")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return dg.build_time_partition_freshness_checks(
            assets=[dg.AssetKey([cfg.name, ALERTS_TABLE])], deadline_cron=part.freshness_deadline, timezone="UTC"
        )


def build_freshness_sensor(checks: Sequence[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    """Evaluates every freshness check when it may have changed (stopped by default)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks, name=FRESHNESS_SENSOR, default_status=dg.DefaultSensorStatus.STOPPED
        )
