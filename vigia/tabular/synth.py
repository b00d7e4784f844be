"""Synthetic customer / credit table with a binary target and a switchable population drift.

``generate_customers(n, seed)`` draws one row per customer:

* numeric: ``age``, ``tenure_months``, ``income``, ``credit_limit``, ``balance``, ``utilisation``,
  ``late_payments_12m``, ``on_time_payments_12m``;
* categorical: ``segment``, ``region``, ``channel``, ``product``;
* ``customer_id`` (string) and ``target`` (0/1, Int8).

Missing values: ``income``, ``tenure_months``, ``late_payments_12m``, ``region`` and ``channel`` are
null with the configured rates (scaled by ``missing_scale``).

Target: a logistic model of the features (utilisation, late payments, income, age, segment, channel,
product) plus Gaussian noise on the logit; the intercept is solved so that the mean default
probability of the **undrifted** population (the defaults with the ``params`` given, population keys
included) equals ``target_rate``. ``drifted=True`` shifts the
population (younger customers, shorter tenure, lower income, higher utilisation, more students,
mobile-first channel mix, more cards) while keeping the same risk function, so the default rate of a
drifted sample is higher than ``target_rate`` (a covariate shift, as in production).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import polars as pl

SEGMENTS = ("mass", "affluent", "student", "small_business")
REGIONS = ("capital", "north", "south", "east", "west")
CHANNELS = ("branch", "online", "mobile", "broker")
PRODUCTS = ("card", "personal_loan", "overdraft", "auto_loan")

NUMERIC_COLUMNS = (
    "age",
    "tenure_months",
    "income",
    "credit_limit",
    "balance",
    "utilisation",
    "late_payments_12m",
    "on_time_payments_12m",
)
CATEGORICAL_COLUMNS = ("segment", "region", "channel", "product")
FEATURE_COLUMNS = NUMERIC_COLUMNS + CATEGORICAL_COLUMNS


@dataclass(frozen=True)
class CustomerParams:
    """Population parameters (any field can be overridden through ``generate_customers(**params)``)."""

    age_mean: float = 45.0
    age_sd: float = 12.0
    income_median: float = 42_000.0
    utilisation_a: float = 2.0  # Beta(a, b): mean a / (a + b)
    utilisation_b: float = 5.0
    segment_p: tuple[float, ...] = (0.6, 0.2, 0.08, 0.12)
    region_p: tuple[float, ...] = (0.3, 0.2, 0.2, 0.15, 0.15)
    channel_p: tuple[float, ...] = (0.35, 0.35, 0.2, 0.1)
    product_p: tuple[float, ...] = (0.4, 0.3, 0.2, 0.1)
    missing_income: float = 0.06
    missing_tenure: float = 0.03
    missing_late: float = 0.02
    missing_region: float = 0.04
    missing_channel: float = 0.02
    missing_scale: float = 1.0
    noise_sd: float = 0.5


DRIFT = {
    "age_mean": 30.0,
    "age_sd": 7.0,
    "income_median": 30_000.0,
    "utilisation_a": 4.0,
    "utilisation_b": 3.0,
    "segment_p": (0.45, 0.1, 0.35, 0.1),
    "channel_p": (0.1, 0.25, 0.6, 0.05),
    "product_p": (0.6, 0.15, 0.2, 0.05),
}

_SEGMENT_RISK = {"mass": 0.0, "affluent": -0.6, "student": 0.4, "small_business": 0.3}
_CHANNEL_RISK = {"branch": -0.2, "online": 0.0, "mobile": 0.2, "broker": 0.4}
_PRODUCT_RISK = {"card": 0.2, "personal_loan": 0.1, "overdraft": 0.3, "auto_loan": -0.3}


def _params(drifted: bool, overrides: dict) -> CustomerParams:
    names = {f.name for f in fields(CustomerParams)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"unknown generate_customers parameters {unknown}; known: {sorted(names)}")
    base = replace(CustomerParams(), **DRIFT) if drifted else CustomerParams()
    return replace(base, **overrides)


def _choice(rng: np.random.Generator, values: tuple[str, ...], p: tuple[float, ...], n: int) -> np.ndarray:
    if len(p) != len(values):
        raise ValueError(f"{len(values)} categories {values} but {len(p)} probabilities")
    prob = np.asarray(p, dtype=float)
    return rng.choice(np.asarray(values), size=n, p=prob / prob.sum())


def _features(rng: np.random.Generator, n: int, p: CustomerParams) -> dict[str, np.ndarray]:
    age = np.clip(np.round(rng.normal(p.age_mean, p.age_sd, n)), 18, 85).astype(np.int64)
    tenure = np.minimum(np.round(rng.gamma(2.0, 30.0, n)), (age - 17) * 12).astype(np.int64)
    income = np.round(np.exp(np.log(p.income_median) + 0.012 * (age - 40) + rng.normal(0, 0.45, n)), -2)
    limit = np.maximum(np.round(income * rng.uniform(0.1, 0.4, n), -2), 500.0)
    util = np.clip(rng.beta(p.utilisation_a, p.utilisation_b, n) * rng.uniform(0.9, 1.15, n), 0, 1.2)
    balance = np.round(util * limit, 2)
    late = rng.poisson(0.2 + 2.2 * util**2, n).clip(0, 12)
    on_time = np.clip(12 - late - rng.binomial(2, 0.15, n), 0, 12)
    return {
        "age": age,
        "tenure_months": tenure,
        "income": income,
        "credit_limit": limit,
        "balance": balance,
        "utilisation": np.round(util, 4),
        "late_payments_12m": late,
        "on_time_payments_12m": on_time,
        "segment": _choice(rng, SEGMENTS, p.segment_p, n),
        "region": _choice(rng, REGIONS, p.region_p, n),
        "channel": _choice(rng, CHANNELS, p.channel_p, n),
        "product": _choice(rng, PRODUCTS, p.product_p, n),
    }


def _logit(f: dict[str, np.ndarray], noise: np.ndarray) -> np.ndarray:
    seg = np.vectorize(_SEGMENT_RISK.get)(f["segment"])
    chan = np.vectorize(_CHANNEL_RISK.get)(f["channel"])
    prod = np.vectorize(_PRODUCT_RISK.get)(f["product"])
    return (
        2.2 * (f["utilisation"] - 0.3)
        + 0.45 * f["late_payments_12m"]
        - 0.6 * np.log(f["income"] / 40_000.0)
        - 0.025 * (f["age"] - 45)
        - 0.004 * f["tenure_months"]
        + seg
        + chan
        + prod
        + noise
    )


def _intercept(logit: np.ndarray, rate: float) -> float:
    """b such that mean(sigmoid(logit + b)) == rate (bisection)."""
    lo, hi = -20.0, 20.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(logit + mid)))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _with_missing(values: np.ndarray, rate: float, rng: np.random.Generator) -> list:
    mask = rng.random(values.size) < rate
    return [None if m else v for m, v in zip(mask, values.tolist(), strict=True)]


def generate_customers(
    n: int, seed: int, *, drifted: bool = False, target_rate: float = 0.2, **params: float
) -> pl.DataFrame:
    """``n`` synthetic customers (see the module docstring); ``params`` override :class:`CustomerParams`."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 0 < target_rate < 1:
        raise ValueError(f"target_rate must be in (0, 1), got {target_rate}")
    p = _params(drifted, params)
    rng = np.random.default_rng(seed)
    feats = _features(rng, n, p)
    noise = rng.normal(0, p.noise_sd, n)
    # The intercept is fixed on the undrifted population (the defaults with every override, without the
    # DRIFT preset) of the same size and seed.
    ref_p = _params(False, params)
    ref_rng = np.random.default_rng([seed, 1])
    ref = _features(ref_rng, max(n, 20_000), ref_p)
    ref_logit = _logit(ref, ref_rng.normal(0, ref_p.noise_sd, max(n, 20_000)))
    b0 = _intercept(ref_logit, target_rate)
    prob = 1 / (1 + np.exp(-(_logit(feats, noise) + b0)))
    target = (rng.random(n) < prob).astype(np.int8)
    miss_rng = np.random.default_rng([seed, 2])
    s = p.missing_scale
    data = {
        "customer_id": [f"C{seed:04d}{'D' if drifted else 'R'}{i:07d}" for i in range(n)],
        "age": pl.Series(feats["age"], dtype=pl.Int64),
        "tenure_months": pl.Series(
            _with_missing(feats["tenure_months"], p.missing_tenure * s, miss_rng), dtype=pl.Int64
        ),
        "income": pl.Series(_with_missing(feats["income"], p.missing_income * s, miss_rng), dtype=pl.Float64),
        "credit_limit": pl.Series(feats["credit_limit"], dtype=pl.Float64),
        "balance": pl.Series(feats["balance"], dtype=pl.Float64),
        "utilisation": pl.Series(feats["utilisation"], dtype=pl.Float64),
        "late_payments_12m": pl.Series(
            _with_missing(feats["late_payments_12m"], p.missing_late * s, miss_rng), dtype=pl.Int64
        ),
        "on_time_payments_12m": pl.Series(feats["on_time_payments_12m"], dtype=pl.Int64),
        "segment": pl.Series(feats["segment"].tolist(), dtype=pl.String),
        "region": pl.Series(_with_missing(feats["region"], p.missing_region * s, miss_rng), dtype=pl.String),
        "channel": pl.Series(_with_missing(feats["channel"], p.missing_channel * s, miss_rng), dtype=pl.String),
        "product": pl.Series(feats["product"].tolist(), dtype=pl.String),
        "target": pl.Series(target, dtype=pl.Int8),
    }
    return pl.DataFrame(data)
