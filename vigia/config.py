"""Declarative dataset configuration: one YAML file per dataset, validated with pydantic.

Adding a dataset means adding a file under ``config/datasets/``; the asset factories
build the same chain (raw -> SQL models -> features -> detectors -> thresholds ->
evaluation -> scores -> alerts) for every file.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | int) -> int:
    """Parse ``"5m"``, ``"30s"``, ``"1h"`` or a number of seconds into seconds."""
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"duration must be positive, got {value}")
        return value
    match = _DURATION_RE.match(value)
    if not match:
        raise ValueError(f"invalid duration {value!r}: use e.g. '30s', '5m', '1h'")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {value!r}")
    return seconds


CONSENSUS_NAME = "consensus"
# DuckDB catalogs (built in, and the default warehouse file's stem): a schema of that name is ambiguous.
RESERVED_DATASET_NAMES = frozenset(
    {"main", "memory", "system", "temp", "information_schema", "pg_catalog", "warehouse"}
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    """Where raw records come from."""

    type: Literal["synthetic_zeek", "zeek_files", "synthetic_pump", "sensor_files", "synthetic_api", "event_files",
                  "opensearch", "synthetic_customers", "tabular_files"]
    path: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _path_for_files(self) -> SourceConfig:
        if self.type.endswith("_files") and not self.path:
            raise ValueError(f"source type {self.type!r} needs a 'path'")
        return self


class PartitionConfig(_Strict):
    """Daily partitions on the event time, from ``start`` (inclusive) to ``end`` (exclusive).

    ``freshness_deadline`` (a UTC cron expression) applies to an open end only: by each of its ticks the previous
    day's alerts must exist, checked by a freshness asset check; ``null`` builds no check.
    """

    start: date
    end: date | None = None
    freshness_deadline: str | None = "0 3 * * *"

    @model_validator(mode="after")
    def _ordered(self) -> PartitionConfig:
        if self.end is not None and self.end <= self.start:
            raise ValueError("partitions.end must be after partitions.start")
        return self

    @field_validator("freshness_deadline")
    @classmethod
    def _cron_fields(cls, v: str | None) -> str | None:
        if v is not None and len(v.split()) != 5:
            raise ValueError(f"partitions.freshness_deadline must be a cron expression of 5 fields, got {v!r}")
        return v

    def days(self) -> list[date]:
        """The partition days, as Dagster's ``DailyPartitionsDefinition`` has them (open end: up to yesterday, UTC)."""
        end = self.end or max(datetime.now(UTC).date(), self.start + timedelta(days=1))
        return [self.start + timedelta(days=i) for i in range((end - self.start).days)]


class WindowConfig(_Strict):
    """Window length and step; ``engine``: where warehouse features are computed (same values either way).

    ``duckdb`` (default) runs the feature query inside the warehouse; ``polars`` reads the cleaned rows
    in time chunks into the polars reference implementation (:mod:`vigia.features.conn_windows`).
    """

    size: str = "5m"
    step: str | None = None
    engine: Literal["duckdb", "polars"] = "duckdb"

    @property
    def size_seconds(self) -> int:
        return parse_duration(self.size)

    @property
    def step_seconds(self) -> int:
        return parse_duration(self.step) if self.step else self.size_seconds

    @model_validator(mode="after")
    def _step_le_size(self) -> WindowConfig:
        if self.step_seconds > self.size_seconds:
            raise ValueError("window.step must not exceed window.size")
        if self.size_seconds % self.step_seconds:
            raise ValueError("window.size must be a multiple of window.step")
        if self.size_seconds > 86_400:
            raise ValueError("window.size must not exceed 24h: windows are cut at midnight UTC")
        return self


class SplitConfig(_Strict):
    """Shares of the time range (or rows) for training, validation and test; ``train`` left out is the rest."""

    train: float = 0.6
    validation: float = 0.2
    test: float = 0.2

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitConfig:
        if "train" not in self.model_fields_set:  # bypasses pydantic's setattr: "train" stays unset
            object.__setattr__(self, "train", round(1.0 - self.validation - self.test, 12))
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6 or min(self.train, self.validation, self.test) <= 0:
            raise ValueError(f"split fractions must be positive and sum to 1, got {total}")
        return self


class SeriesConfig(_Strict):
    """Sensor series: value columns, sampling grid, gap handling and sample windows (``sensor_timeseries``)."""

    columns: list[str] | None = None
    freq: str = "1m"
    max_gap: int = 5
    window: int = 30
    step: int = 5
    separator: str | None = None
    decimal: Literal[".", ","] = "."  # "," for European exports ("1,5"), which then need another separator
    time_zone: str | None = None  # IANA name: timestamps without an offset are local time there, not UTC

    @property
    def freq_seconds(self) -> int:
        return parse_duration(self.freq)

    @model_validator(mode="after")
    def _positive(self) -> SeriesConfig:
        if self.window < 2 or self.step < 1 or self.step > self.window or self.max_gap < 0:
            raise ValueError("series needs window >= 2, 1 <= step <= window and max_gap >= 0")
        parse_duration(self.freq)  # a bad frequency fails at load, naming the value
        if self.decimal == "," and self.separator == ",":
            raise ValueError("series.decimal ',' needs another separator (';' or a tab)")
        if self.time_zone is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(self.time_zone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"series.time_zone {self.time_zone!r} is not an IANA time zone name") from exc
        if self.columns:
            from vigia.schema import RESERVED_SENSOR_COLUMNS as RESERVED_COLUMNS

            reserved = sorted(RESERVED_COLUMNS & set(self.columns))
            if reserved:
                raise ValueError(f"series.columns names {', '.join(reserved)}: names the pipeline uses "
                                 f"({', '.join(sorted(RESERVED_COLUMNS))}), not sensor values")  # fmt: skip
        return self


class SweepConfig(_Strict):
    """Grid search of one autoencoder detector (sensor kind): trials ranked by validation F1.

    ``grid`` keys: ``window``, ``step`` and any autoencoder parameter (``encoder_units``, ``dropout``,
    ``learning_rate``, ``batch_size``, ``epochs``, ``patience``, ``validation_split``, ...). With
    ``apply_best`` the detectors asset trains that detector with the best trial's parameters.
    """

    detector: str | None = None
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    max_trials: int = 16
    apply_best: bool = True

    @field_validator("max_trials")
    @classmethod
    def _max_trials(cls, v: int) -> int:
        return _at_least_one("sweep.max_trials", v)


class DetectorConfig(_Strict):
    name: str
    type: Literal["isolation_forest", "lof", "ocsvm", "lstm_autoencoder", "conv_autoencoder"]
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _detector_name(cls, v: str) -> str:
        """A column suffix (``score_<name>``) and an MLflow model name; ``consensus`` is the k-of-n detector's."""
        if not re.fullmatch(r"[a-z][a-z0-9_]*", v):
            raise ValueError(f"detector name {v!r} must be lower_snake_case (it names score columns and MLflow models)")
        if v == CONSENSUS_NAME:
            raise ValueError(f"detector name {v!r} is reserved for the k-of-n consensus of the detectors")
        return v


class ConsensusConfig(_Strict):
    k: int = 2

    @field_validator("k")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("consensus.k must be >= 1")
        return v


class CalibrationConfig(_Strict):
    """How thresholds are chosen on validation scores."""

    strategy: Literal["auto", "best_f1", "contamination", "percentile", "mad", "iqr"] = "auto"
    percentiles: list[float] = Field(default_factory=lambda: [float(p) for p in range(80, 100)])
    contamination: float = 0.02
    percentile: float = 99.0
    mad_k: float = 3.5
    iqr_k: float = 1.5

    @model_validator(mode="after")
    def _ranges(self) -> CalibrationConfig:
        if not 0 < self.contamination < 0.5:
            raise ValueError(f"calibration.contamination must be in (0, 0.5), got {self.contamination}")
        bad = [p for p in [*self.percentiles, self.percentile] if not 0 < p < 100]
        if bad or not self.percentiles:
            raise ValueError(f"calibration percentiles must be non-empty and in (0, 100), got {bad or '[]'}")
        if self.mad_k <= 0 or self.iqr_k <= 0:
            raise ValueError("calibration.mad_k and calibration.iqr_k must be positive")
        return self


class AlertConfig(_Strict):
    top_n: int = 50
    evidence_records: int = 20
    top_features: int = 5

    @model_validator(mode="after")
    def _counts(self) -> AlertConfig:
        if self.top_n < 1 or self.evidence_records < 0 or self.top_features < 0:
            raise ValueError("alerts needs top_n >= 1, evidence_records >= 0 and top_features >= 0")
        return self


def _at_least_one(key: str, v: int) -> int:
    if v < 1:
        raise ValueError(f"{key} must be >= 1, got {v}")
    return v


class DriftConfig(_Strict):
    """Dataset drift = share of monitored features flagged as drifted; retrain when above ``threshold``."""

    threshold: float = 0.15
    calibrate: bool = False  # per-feature distance thresholds from the training days (regime-changing series)
    min_windows: int = 30  # daily kinds: a day with fewer windows is reported but not judged (score NaN)

    @field_validator("min_windows")
    @classmethod
    def _min_windows(cls, v: int) -> int:
        return _at_least_one("drift.min_windows", v)

    @field_validator("threshold")
    @classmethod
    def _share(cls, v: float) -> float:
        if not 0 <= v < 1:
            raise ValueError(f"drift.threshold is a share of features, in [0, 1), got {v}")
        return v


class PromotionConfig(_Strict):
    """A retrained model becomes champion unless its validation metric is worse by more than ``tolerance``.

    ``keep_versions``: after each training, only the newest this many model versions stay on disk (the champion's
    and the candidate's always stay); ``null`` keeps every version.
    """

    tolerance: float = 0.02
    keep_versions: int | None = 20

    @field_validator("tolerance")
    @classmethod
    def _non_negative(cls, v: float) -> float:
        if v < 0:
            raise ValueError(f"promotion.tolerance must be >= 0, got {v}")
        return v

    @field_validator("keep_versions")
    @classmethod
    def _keep_versions(cls, v: int | None) -> int | None:
        return v if v is None else _at_least_one("promotion.keep_versions (or null to keep every version)", v)


DEFAULT_ENTITY = {"network_conn": "orig_h", "sensor_timeseries": "station", "api_events": "client_ip"}
# The kinds whose pipelines build the entity column themselves (series path / station, client address).
FIXED_ENTITY_KINDS = ("sensor_timeseries", "api_events")
SOURCES_BY_KIND = {
    "network_conn": ("synthetic_zeek", "zeek_files"),
    "sensor_timeseries": ("synthetic_pump", "sensor_files"),
    "api_events": ("synthetic_api", "event_files", "opensearch"),
    "tabular_supervised": ("synthetic_customers", "tabular_files"),
}


TABULAR_CSV_PARAMS = {"separator": (",", ";", "\t", "|"), "decimal": (".", ",")}


def _check_csv_params(params: dict[str, Any]) -> None:
    """``tabular_files`` reads ``source.params.separator`` and ``.decimal`` only; a typo fails at load."""
    unknown = sorted(set(params) - set(TABULAR_CSV_PARAMS))
    if unknown:
        raise ValueError(f"source.params of tabular_files takes {sorted(TABULAR_CSV_PARAMS)}, not {unknown}")
    for key, allowed in TABULAR_CSV_PARAMS.items():
        if key in params and params[key] not in allowed:
            raise ValueError(f"source.params.{key} must be one of {list(allowed)}, got {params[key]!r}")
    if params.get("decimal") == "," and params.get("separator", ",") == ",":
        raise ValueError("source.params.decimal ',' needs another separator (';', a tab or '|')")


SYNTHETIC_API_PARAMS = ("events_per_day", "span_hours", "n_users", "attack_fraction", "attack_types")


def _check_synthetic_api_params(params: dict[str, Any]) -> None:
    """``synthetic_api`` params: known keys, ``events_per_day`` and ``n_users`` >= 1, ``0 < span_hours <= 24`` (a
    day's events stay on their day), ``0 <= attack_fraction <= 1``, known ``attack_types``; a ValueError naming
    the key otherwise."""
    from vigia.events.synth import ATTACK_TYPES

    unknown = sorted(set(params) - set(SYNTHETIC_API_PARAMS))
    if unknown:
        raise ValueError(f"source.params of synthetic_api takes {list(SYNTHETIC_API_PARAMS)}, not {unknown}")

    def number(key: str, integer: bool) -> float | None:
        value = params.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int if integer else int | float) or value != value:
            raise ValueError(f"source.params.{key} must be {'an integer' if integer else 'a number'}, got {value!r}")
        return float(value)

    for key in ("events_per_day", "n_users"):
        value = number(key, integer=True)
        if value is not None and value < 1:
            raise ValueError(f"source.params.{key} must be >= 1, got {params[key]!r}")
    span = number("span_hours", integer=False)
    if span is not None and not 0 < span <= 24:
        raise ValueError(f"source.params.span_hours must be in (0, 24] (a day's events stay on their day), got {span}")
    fraction = number("attack_fraction", integer=False)
    if fraction is not None and not 0 <= fraction <= 1:
        raise ValueError(f"source.params.attack_fraction must be between 0 and 1, got {fraction}")
    types = params.get("attack_types")
    if types is not None:
        if isinstance(types, str) or not isinstance(types, list | tuple):
            raise ValueError(f"source.params.attack_types must be a list of {list(ATTACK_TYPES)}, got {types!r}")
        bad = [t for t in types if t not in ATTACK_TYPES]
        if bad:
            raise ValueError(f"source.params.attack_types: unknown {bad}; known: {list(ATTACK_TYPES)}")


DEFAULT_INDEX_TEMPLATE = "events-{day:%Y%m%d}"


OPENSEARCH_PARAMS = ("index_template",)  # the connection comes from VIGIA_OPENSEARCH_* variables
PARAMLESS_SOURCES = ("zeek_files", "sensor_files", "event_files")


def _check_known_params(source: SourceConfig) -> None:
    """``opensearch`` reads ``source.params.index_template`` only and the other file sources no params: another key
    (a typo) fails at load."""
    known = OPENSEARCH_PARAMS if source.type == "opensearch" else ()
    unknown = sorted(set(source.params) - set(known))
    if unknown and source.type in ("opensearch", *PARAMLESS_SOURCES):
        takes = f"takes {list(known)}" if known else "takes no keys"
        raise ValueError(f"source.params of {source.type} {takes}, not {unknown}")


def _check_index_template(params: dict[str, Any]) -> None:
    """``source.params.index_template`` of ``opensearch``: formats with ``day=<date>`` alone and gives each day its
    own index (a daily template), else a ValueError naming the key and the problem."""
    import string

    template = params.get("index_template", DEFAULT_INDEX_TEMPLATE)
    key = "source.params.index_template"
    if not isinstance(template, str) or not template.strip():
        raise ValueError(f"{key} must be a non-empty text like {DEFAULT_INDEX_TEMPLATE!r}, got {template!r}")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:  # unbalanced braces
        raise ValueError(f"{key} {template!r} is not a valid format string ({exc}); write a literal brace as '{{{{' "
                         "or '}}'") from None  # fmt: skip
    for name in fields:
        if re.split(r"[.\[]", name, maxsplit=1)[0] != "day":
            raise ValueError(f"{key} {template!r} may only use the field {{day}} (the partition date, e.g. "
                             f"{{day:%Y%m%d}}), not {{{name}}}")  # fmt: skip
    first = date(2023, 12, 25)  # across two year ends and a leap day
    names: dict[str, date] = {}
    for i in range(380):
        day = first + timedelta(days=i)
        try:
            name = template.format(day=day)
        except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
            raise ValueError(f"{key} {template!r} cannot be formatted with day=<a date> alone "
                             f"({type(exc).__name__}: {exc})") from None  # fmt: skip
        if name in names:
            what = "consecutive days" if names[name] == day - timedelta(days=1) else "two days"
            raise ValueError(f"{key} {template!r} gives the same index {name!r} for {what} {names[name]} and {day}: "
                             "it must name one index per day (e.g. 'events-{day:%Y.%m.%d}'); weekly or monthly "
                             "indices are not supported")  # fmt: skip
        names[name] = day


class DatasetConfig(_Strict):
    """One dataset: everything the asset factories need to build its chain."""

    name: str
    kind: Literal["network_conn", "sensor_timeseries", "api_events", "tabular_supervised"]
    description: str = ""
    source: SourceConfig
    time_column: str = "ts"
    entity_key: str | None = None  # default by kind: orig_h, station, client_ip; none for tabular
    label_column: str | None = "label"
    label_windows: str | None = None  # a file of labelled intervals; replaces the records' labels
    sql_models: str | None = None
    partitions: PartitionConfig | None = None
    window: WindowConfig = WindowConfig()
    series: SeriesConfig = SeriesConfig()
    sweep: SweepConfig = SweepConfig()
    split: SplitConfig = SplitConfig()
    detectors: list[DetectorConfig] = Field(default_factory=list)
    consensus: ConsensusConfig = ConsensusConfig()
    calibration: CalibrationConfig = CalibrationConfig()
    alerts: AlertConfig = AlertConfig()
    drift: DriftConfig = DriftConfig()
    promotion: PromotionConfig = PromotionConfig()
    # Supervised kind: value of decisions, e.g. "tp=500,fp=50,fn=1000,tn=0" (benefit/costs per record).
    value_matrix: str | None = None
    seed: int = 42

    @model_validator(mode="before")
    @classmethod
    def _kind_defaults(cls, raw: Any) -> Any:
        """Per-kind defaults: the entity column, and the window length autoencoders read."""
        if not isinstance(raw, dict):
            return raw
        if "entity_key" not in raw:
            raw = {**raw, "entity_key": DEFAULT_ENTITY.get(str(raw.get("kind")))}
        consensus = raw.get("consensus") or {}
        if isinstance(consensus, dict) and "k" not in consensus and isinstance(raw.get("detectors"), list):
            # Default: 2 of n, or 1 of 1 when a single detector is configured.
            raw = {**raw, "consensus": {**consensus, "k": max(1, min(2, len(raw["detectors"])))}}
        window = (raw.get("series") or {}).get("window", SeriesConfig().window)
        detectors = []
        for det in raw.get("detectors") or []:
            if isinstance(det, dict) and str(det.get("type", "")).endswith("_autoencoder"):
                det = {**det, "params": {"timesteps": window, **(det.get("params") or {})}}
            detectors.append(det)
        return {**raw, "detectors": detectors} if detectors else raw

    @property
    def alert_step_seconds(self) -> int:
        """Time between two consecutive windows of an entity, the unit of the alert snooze: the sensor
        windows' step (``series.step`` samples of ``series.freq``), else ``window.step``."""
        if self.kind == "sensor_timeseries":
            return self.series.step * self.series.freq_seconds
        return self.window.step_seconds

    @field_validator("name")
    @classmethod
    def _identifier(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", v):
            raise ValueError(f"dataset name {v!r} must be lower_snake_case (it becomes a key prefix and schema)")
        if v in RESERVED_DATASET_NAMES:
            raise ValueError(
                f"dataset name {v!r} is a DuckDB catalog name (the warehouse file is warehouse.duckdb), so its "
                f"schema would be ambiguous in SQL; reserved: {', '.join(sorted(RESERVED_DATASET_NAMES))}"
            )
        return v

    @model_validator(mode="after")
    def _detectors_unique(self) -> DatasetConfig:
        names = [d.name for d in self.detectors]
        if self.source.type not in SOURCES_BY_KIND[self.kind]:
            raise ValueError(
                f"source type {self.source.type!r} does not fit kind {self.kind!r}: "
                f"use one of {list(SOURCES_BY_KIND[self.kind])}"
            )
        fixed = DEFAULT_ENTITY[self.kind] if self.kind in FIXED_ENTITY_KINDS else None
        if fixed is not None and self.entity_key != fixed:
            raise ValueError(f"kind {self.kind!r} groups by {fixed!r}: entity_key must be {fixed!r} or left out")
        if self.label_windows is not None:
            from vigia.pipeline.label_windows import LABEL_WINDOW_KINDS

            if self.kind not in LABEL_WINDOW_KINDS:
                raise ValueError(f"label_windows is for the kinds {list(LABEL_WINDOW_KINDS)}, not {self.kind!r}")
            if Path(self.label_windows).suffix.lower() not in (".csv", ".json"):
                raise ValueError(f"label_windows must be a .csv or .json file, got {self.label_windows!r}")
        autoencoder = next((d for d in self.detectors if d.type.endswith("_autoencoder")), None)
        if autoencoder is not None and self.kind != "sensor_timeseries":
            raise ValueError(
                f"detector {autoencoder.name!r} is a {autoencoder.type}: autoencoders read windows of consecutive "
                f"samples and are for kind 'sensor_timeseries' only, not {self.kind!r}"
            )
        _check_known_params(self.source)
        if self.source.type == "tabular_files":
            _check_csv_params(self.source.params)
        if self.source.type == "opensearch":
            _check_index_template(self.source.params)
        if self.source.type == "synthetic_api":
            _check_synthetic_api_params(self.source.params)
        if self.kind == "tabular_supervised":
            if self.label_column is None:
                raise ValueError("tabular_supervised needs label_column: the target column of the extracts")
            if self.entity_key is not None and self.entity_key == self.label_column:
                raise ValueError(f"entity_key and label_column are both {self.label_column!r}: an id is not a target")
            if self.drift.calibrate:
                raise ValueError("drift.calibrate needs daily partitions; tabular_supervised batches have none")
            if unused := sorted({"train", "validation"} & self.split.model_fields_set):
                verb = "does" if len(unused) == 1 else "do"
                raise ValueError(
                    f"split.{' and split.'.join(unused)} {verb} not apply to tabular_supervised: the model trains on "
                    "every row not held out and validates by cross-validation inside them; set split.test only "
                    "(the held-out share)"
                )
            if self.value_matrix is not None:
                from vigia.tabular.value import ValueMatrix

                ValueMatrix.parse(self.value_matrix)  # a typo fails at load, naming the entry
            return self  # a supervised classifier, no unsupervised detectors
        if self.partitions is None or self.sql_models is None:
            raise ValueError(f"kind {self.kind!r} needs 'partitions' and 'sql_models'")
        if not names:
            raise ValueError("at least one detector is required")
        if len(set(names)) != len(names):
            raise ValueError(f"detector names must be unique, got {names}")
        if self.consensus.k > len(names):
            raise ValueError(f"consensus.k={self.consensus.k} exceeds the number of detectors ({len(names)})")
        return self

    @model_validator(mode="after")
    def _sweep_names_an_autoencoder(self) -> DatasetConfig:
        """A sensor sweep grid tunes ``sweep.detector`` (else the first autoencoder): it must be an autoencoder."""
        if self.kind != "sensor_timeseries" or not self.sweep.grid:
            return self
        autoencoders = [d.name for d in self.detectors if d.type.endswith("_autoencoder")]
        swept = self.sweep.detector or next(iter(autoencoders), None)
        if swept not in autoencoders:
            what = "no autoencoder detector is configured" if swept is None else f"sweep.detector is {swept!r}"
            raise ValueError(f"sweep.grid tunes an autoencoder, but {what}: sweep.detector must name one of the "
                             f"lstm_autoencoder / conv_autoencoder detectors ({autoencoders or 'none'})")  # fmt: skip
        return self

    @model_validator(mode="after")
    def _synthetic_pump_needs_an_end(self) -> DatasetConfig:
        """``synthetic_pump`` generates the whole partition range at once: an open end would change past days."""
        if self.source.type == "synthetic_pump" and self.partitions is not None and self.partitions.end is None:
            raise ValueError("source synthetic_pump needs partitions.end: it generates the whole partition range as "
                             "one series, so with an open end each day's readings and labels would change as the "
                             "end moves")  # fmt: skip
        return self


def load_dataset_config(path: Path) -> DatasetConfig:
    """Load and validate one dataset file; errors name the file."""
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    try:
        return DatasetConfig.model_validate(raw)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def load_dataset_configs(directory: Path) -> list[DatasetConfig]:
    """Load every ``*.yaml`` dataset file in ``directory`` (sorted by name)."""
    configs = [load_dataset_config(p) for p in sorted(directory.glob("*.yaml"))]
    names = [c.name for c in configs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"duplicate dataset names in {directory}: {dupes}")
    return configs
