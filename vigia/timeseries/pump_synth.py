"""Synthetic pumping station: 1-minute multivariate sensor series with labelled events.

The embedded default of the industrial sensor dataset kind. One booster pump feeds a
distribution main; a flow meter sits at the station inlet (``flow_in``) and one at the
delivery point downstream (``flow_out``). Physics, simplified but coupled:

- demand follows a daily rhythm (night minimum, morning and evening peaks), a weekend
  factor and a slow random drift; a storage valve (``valve_state``) switches a few times a
  day and adds tank-filling flow while open;
- the speed controller tracks the flow with a lag; ``pressure_out`` = suction pressure +
  pump head (affinity law, ∝ speed²) - system losses (∝ flow²); the suction pressure falls
  slightly with flow; the water temperature follows a slow daily cycle plus a small
  load-driven term;
- in normal operation ``flow_out`` ≈ ``flow_in`` up to meter noise (about 1 %).

Labelled events (``label`` = 1 over the whole event, ``event_type`` names it):

- ``illegal_tap``: water drawn between the meters: ``flow_in`` rises, ``flow_out`` does not
  (imbalance of 3-10 % of the flow) and the discharge pressure drops, for minutes to hours;
- ``leak``: an imbalance growing slowly from 0 to 3-8 % of the flow with a slight pressure
  decline (the early part is hard to see on purpose);
- ``sensor_fault``: one sensor stuck at its last reading or spiking.

Dropouts: isolated NaN readings, missing timestamps (single minutes) and a few outages
(blocks of missing minutes, outside events). Everything is vectorised numpy and
deterministic in ``(start, minutes, seed, params)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.signal import lfilter

EVENT_TYPES: tuple[str, ...] = ("illegal_tap", "leak", "sensor_fault")
SENSOR_COLUMNS: tuple[str, ...] = (
    "pressure_in",
    "pressure_out",
    "flow_in",
    "flow_out",
    "pump_speed",
    "temperature",
)
VALUE_COLUMNS: tuple[str, ...] = (*SENSOR_COLUMNS, "valve_state")
_FAULT_SENSORS: tuple[str, ...] = ("pressure_in", "pressure_out", "flow_in", "flow_out", "temperature")

DEFAULT_PARAMS: dict[str, object] = {
    # Event counts; None -> scaled with the length (per week: 2 taps, 1 leak, 2 faults; at least 1 each).
    "illegal_taps": None,
    "leaks": None,
    "sensor_faults": None,
    # Event durations in minutes (low, high), drawn uniformly.
    "tap_minutes": (20, 240),
    "leak_minutes": (240, 720),
    "fault_minutes": (15, 120),
    # Event magnitudes (fractions of the flow / bar), drawn uniformly.
    "tap_fraction": (0.03, 0.10),
    "leak_fraction": (0.03, 0.08),
    "tap_pressure_drop": (0.10, 0.30),
    "leak_pressure_drop": (0.03, 0.10),
    # Dropouts: NaN readings (per cell), missing single minutes (per row), outages (None -> 1 per week).
    "nan_rate": 0.002,
    "missing_rate": 0.002,
    "outages": None,
    "outage_minutes": (10, 45),
    # Operating point and noise.
    "base_flow": 120.0,  # m³/h, daily mean demand
    "noise": 1.0,  # multiplies every sensor noise level
    "valve_switches_per_day": 4.0,
}


@dataclass(frozen=True)
class PumpEvent:
    """One planned event: ``[start, end)`` in minutes from the series start."""

    kind: str
    start: int
    end: int
    detail: str = ""


def _params(overrides: dict[str, object]) -> dict[str, object]:
    unknown = sorted(set(overrides) - set(DEFAULT_PARAMS))
    if unknown:
        raise ValueError(f"unknown pump_station params: {', '.join(unknown)} (known: {', '.join(DEFAULT_PARAMS)})")
    return {**DEFAULT_PARAMS, **overrides}


def _count(value: object, minutes: int, per_week: float) -> int:
    if value is not None:
        return int(value)  # type: ignore[call-overload]
    return max(1, round(per_week * minutes / (7 * 1440)))


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    """Stationary AR(1) noise with marginal std ``sigma``."""
    e = rng.normal(0.0, sigma * np.sqrt(1 - phi**2), n)
    return lfilter([1.0], [1.0, -phi], e)


def _smooth(x: np.ndarray, alpha: float) -> np.ndarray:
    """First-order lag (exponential smoothing) starting at ``x[0]``."""
    y = lfilter([alpha], [1.0, -(1 - alpha)], x - x[0])
    return y + x[0]


def plan_events(rng: np.random.Generator, minutes: int, p: dict[str, object]) -> list[PumpEvent]:
    """Non-overlapping events, one per equal slot of the series (after a warm-up), types shuffled."""
    kinds = (
        ["illegal_tap"] * _count(p["illegal_taps"], minutes, 2)
        + ["leak"] * _count(p["leaks"], minutes, 1)
        + ["sensor_fault"] * _count(p["sensor_faults"], minutes, 2)
    )
    if not kinds:
        return []
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    warmup = min(360, minutes // 10)
    slot = (minutes - warmup) // len(kinds)
    if slot < 10:
        raise ValueError(f"{minutes} minutes are too few for {len(kinds)} events")
    ranges = {"illegal_tap": p["tap_minutes"], "leak": p["leak_minutes"], "sensor_fault": p["fault_minutes"]}
    events = []
    for i, kind in enumerate(kinds):
        lo, hi = ranges[kind]  # type: ignore[misc]
        dur = int(rng.integers(int(lo), int(hi) + 1))
        dur = max(3, min(dur, int(slot * 0.6)))
        s0 = warmup + i * slot
        start = s0 + int(rng.integers(0, slot - dur + 1))
        events.append(PumpEvent(kind, start, start + dur))
    return events


def _uniform(rng: np.random.Generator, bounds: object) -> float:
    lo, hi = bounds  # type: ignore[misc]
    return float(rng.uniform(float(lo), float(hi)))


def generate_pump_station(start: dt.datetime, minutes: int, seed: int, **params: object) -> pl.DataFrame:
    """``minutes`` rows (fewer: missing timestamps are dropped) of 1-minute pump station readings from ``start``.

    Columns: ``ts`` (Datetime us), the sensors of ``SENSOR_COLUMNS`` and ``valve_state`` (Float64, NaN on
    dropouts), ``label`` (Int8 0/1) and ``event_type`` (String, null when normal). ``params`` override
    ``DEFAULT_PARAMS`` (unknown names raise ``ValueError``).
    """
    if minutes < 60:
        raise ValueError(f"minutes must be at least 60, got {minutes}")
    p = _params(params)
    rng = np.random.default_rng(seed)
    n = int(minutes)
    noise = float(p["noise"])  # type: ignore[arg-type]
    t0 = np.datetime64(start.replace(tzinfo=None), "us")
    ts = t0 + np.arange(n, dtype=np.int64) * np.timedelta64(60_000_000, "us")

    # Demand: daily rhythm (hour of day), weekend factor, slow drift.
    tod = start.hour + start.minute / 60 + start.second / 3600 + np.arange(n) / 60.0
    hour = tod % 24
    day_index = (start.weekday() + (tod // 24).astype(np.int64)) % 7
    rhythm = (
        1.0
        + 0.30 * np.exp(-0.5 * ((hour - 7.5) / 1.5) ** 2)
        + 0.25 * np.exp(-0.5 * ((hour - 19.5) / 2.0) ** 2)
        - 0.35 * np.exp(-0.5 * ((hour - 3.5) / 2.0) ** 2)
    )
    weekend = np.where(day_index >= 5, 0.92, 1.0)
    drift = 1.0 + _ar1(rng, n, 0.998, 0.05)
    base_flow = float(p["base_flow"])  # type: ignore[arg-type]
    demand = base_flow * rhythm * weekend * drift

    # Storage valve: switches at exponential intervals; tank filling adds flow while open.
    rate = float(p["valve_switches_per_day"]) / 1440  # type: ignore[arg-type]
    n_sw = max(1, int(n * rate * 2) + 10)
    switches = np.cumsum(rng.exponential(1 / rate, n_sw)) if rate > 0 else np.array([np.inf])
    valve = (np.searchsorted(switches, np.arange(n), side="right") % 2).astype(np.float64)
    valve_flow = _smooth(valve * 0.2 * base_flow, 0.3)

    # Events (true physical effects first, sensor faults later on the measurements).
    events = plan_events(rng, n, p)
    tap = np.zeros(n)  # m³/h drawn between the meters
    pdrop = np.zeros(n)  # bar, extra discharge pressure drop
    label = np.zeros(n, dtype=np.int8)
    event_type = np.full(n, None, dtype=object)
    true_flow = demand + valve_flow
    for ev in events:
        sl = slice(ev.start, ev.end)
        k = np.arange(ev.end - ev.start)
        label[sl] = 1
        event_type[sl] = ev.kind
        if ev.kind == "illegal_tap":
            ramp = np.minimum(1.0, (k + 1) / 3.0)  # opens over ~3 minutes
            tap[sl] += _uniform(rng, p["tap_fraction"]) * true_flow[sl] * ramp
            pdrop[sl] += _uniform(rng, p["tap_pressure_drop"]) * ramp
        elif ev.kind == "leak":
            growth = (k + 1) / len(k)
            tap[sl] += _uniform(rng, p["leak_fraction"]) * base_flow * growth
            pdrop[sl] += _uniform(rng, p["leak_pressure_drop"]) * growth

    # Pump flow includes the water drawn by a tap / leak; the downstream meter does not see it.
    pump_flow = true_flow + tap
    speed_cmd = 850.0 + 5.0 * pump_flow
    pump_speed = _smooth(speed_cmd, 0.25) + _ar1(rng, n, 0.7, 6.0 * noise)
    pressure_in = 2.2 - 0.002 * pump_flow + _ar1(rng, n, 0.9, 0.02 * noise)
    head = 5.0 * (pump_speed / 1500.0) ** 2 - 1.2 * (pump_flow / 150.0) ** 2
    pressure_out = pressure_in + head - pdrop + rng.normal(0, 0.03 * noise, n)
    flow_in = pump_flow * (1 + rng.normal(0, 0.008 * noise, n))
    flow_out = true_flow * (1 + rng.normal(0, 0.008 * noise, n))
    temperature = (
        14.0
        + 1.5 * np.sin(2 * np.pi * (hour - 9) / 24)
        + 0.002 * (pump_speed - 1450)
        + _ar1(rng, n, 0.995, 0.3)
        + rng.normal(0, 0.05 * noise, n)
    )
    cols = {
        "pressure_in": pressure_in,
        "pressure_out": pressure_out,
        "flow_in": flow_in,
        "flow_out": flow_out,
        "pump_speed": pump_speed,
        "temperature": temperature,
    }

    # Sensor faults: stuck at the last reading, or spikes on top of the reading.
    for ev in events:
        if ev.kind != "sensor_fault":
            continue
        name = _FAULT_SENSORS[int(rng.integers(len(_FAULT_SENSORS)))]
        x = cols[name]
        sl = slice(ev.start, ev.end)
        if rng.random() < 0.5:
            x[sl] = x[max(ev.start - 1, 0)]
        else:
            m = ev.end - ev.start
            scale = 0.25 * abs(float(np.median(x[max(0, ev.start - 60) : ev.start + 1])))  # 25-50 % of the level
            spikes = rng.random(m) < 0.3
            spikes[rng.integers(m)] = True
            x[sl] = x[sl] + spikes * rng.choice([-1.0, 1.0], m) * scale * rng.uniform(1.0, 2.0, m)

    # Dropouts: NaN readings (sensors and valve), missing minutes, outages outside events.
    nan_rate = float(p["nan_rate"])  # type: ignore[arg-type]
    data = {**cols, "valve_state": valve}
    for name in VALUE_COLUMNS:
        data[name] = np.where(rng.random(n) < nan_rate, np.nan, data[name])
    keep = rng.random(n) >= float(p["missing_rate"])  # type: ignore[arg-type]
    in_event = label.astype(bool)
    for _ in range(_count(p["outages"], n, 1)):
        length = int(rng.integers(int(p["outage_minutes"][0]), int(p["outage_minutes"][1]) + 1))  # type: ignore[index]
        for _try in range(20):
            s = int(rng.integers(0, max(1, n - length)))
            if not in_event[max(0, s - 5) : s + length + 5].any():
                keep[s : s + length] = False
                break
    keep[0] = True

    frame = pl.DataFrame(
        {
            "ts": pl.Series("ts", ts[keep], dtype=pl.Datetime("us")),
            **{name: pl.Series(name, data[name][keep], dtype=pl.Float64) for name in VALUE_COLUMNS},
            "label": pl.Series("label", label[keep], dtype=pl.Int8),
            "event_type": pl.Series("event_type", event_type[keep].tolist(), dtype=pl.String),
        }
    )
    return frame


def event_table(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per labelled event run: ``event_type``, ``start``, ``end`` (last ts) and ``rows``."""
    f = frame.select("ts", "event_type").with_columns(
        run=(pl.col("event_type").ne_missing(pl.col("event_type").shift(1))).cum_sum()
    )
    return (
        f.filter(pl.col("event_type").is_not_null())
        .group_by("run", maintain_order=True)
        .agg(pl.col("event_type").first(), start=pl.col("ts").min(), end=pl.col("ts").max(), rows=pl.len())
        .drop("run")
    )
