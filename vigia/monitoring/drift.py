"""Feature and dataset drift between a reference sample and a current sample.

Per feature, reference sample = the features the current model was trained on, current sample = the
newest scored partition or inference batch.

* Numeric feature: if either sample has ≤ 1000 rows → two-sample Kolmogorov–Smirnov test
  (``scipy.stats.ks_2samp``), drifted when p < 0.05; otherwise the Wasserstein distance
  (``scipy.stats.wasserstein_distance``) divided by the reference's standard deviation ("normed
  Wasserstein"), drifted when > 0.1. Reference std of 0: if the current values are all equal to the
  constant → 0 (not drifted), else the normed distance is undefined: it is reported as ``None`` with a
  ``note`` giving the reason, and the feature counts as drifted.
* Categorical feature (string/bool/categorical dtype, or declared categorical): if either sample has
  ≤ 1000 rows → chi-squared test on the contingency table of category counts (categories unseen in one
  sample count 0; ``scipy.stats.chi2_contingency`` with its defaults, i.e. Yates' correction when there
  are exactly 2 categories), drifted when p < 0.05; otherwise the Jensen–Shannon distance
  (``scipy.spatial.distance.jensenshannon``, base 2) between the category frequency distributions,
  drifted when > 0.1. Before either test, the categories under 1 % of the reference (``RARE_SHARE``) are
  merged into one bucket (as the tabular model's one-hot encoder does) and those absent from the reference
  into another, so a feature with hundreds of rare values is judged on its frequent values and the shares
  of rare and of new ones, not on the sampling noise of each rare value.
* PSI (population stability index) reported for every feature: numeric — 10 bins from the reference's
  quantiles (deciles; deduplicate edges; open-ended outer bins), categorical — categories;
  PSI = Σ (cur% − ref%)·ln(cur%/ref%) with an epsilon (1e-4) floor on proportions. Reported, not used
  for the verdict.
* **Dataset drift score = share of monitored features flagged as drifted (0..1)**; the dataset is
  drifted when score > threshold (default 0.15, configurable).

A numeric feature whose current sample holds text (its kind changed upstream) is cast leniently: a value
that is not a number counts as missing (and is counted in the ``note``).

Null/NaN values are dropped per feature before the tests above (null shares of both samples are
reported); row counts (and so the ≤ 1000 cutoff) are those after dropping. The **missing share** is
tested apart, on all rows: if either sample has ≤ 1000 rows, Fisher's exact test on the 2×2 table of
missing / present counts, drifted when p < 0.05; otherwise drifted when the shares differ by more than
0.1. A feature is drifted when its values or its missing share are (``missing_share_drifted``), so a
sensor that goes dead or a field an upstream stops sending counts. A feature whose values are all
missing in one sample is judged on its missing share alone (method ``missing_share``); one with no row
at all in a sample, or all missing in both, is reported as not evaluated (``evaluated=False``, no
method, not drifted) and excluded from the share; when no feature is evaluated the score is NaN
(``None`` in JSON) and the dataset is not drifted.
The reference std is the population std (ddof=0); a reference is constant when all its values are equal.
Numeric bins are right-closed: a value equal to a decile edge falls in the lower bin.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

import numpy as np
import polars as pl
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, fisher_exact, ks_2samp, wasserstein_distance

Kind = Literal["numeric", "categorical"]
ArrayLike = np.ndarray | pl.Series | list[Any]

SIZE_CUTOFF = 1000
P_VALUE = 0.05
DISTANCE_THRESHOLD = 0.1
DATASET_THRESHOLD = 0.15
PSI_EPSILON = 1e-4
PSI_BINS = 10
RARE_SHARE = 0.01  # categories below this share of the reference are merged into one bucket before the test
DISTANCE_METHODS = frozenset({"wasserstein_normed", "jensenshannon"})
MISSING_SHARE = "missing_share"


@dataclass(frozen=True)
class FeatureDrift:
    """Drift verdict of one feature (``statistic`` is a distance or a test statistic, see ``method``)."""

    feature: str
    kind: Kind
    method: str | None
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    psi: float | None
    n_reference: int
    n_current: int
    null_share_reference: float
    null_share_current: float
    evaluated: bool = True
    note: str = ""
    missing_share_drifted: bool = False

    @property
    def severity(self) -> float:
        """Distance/threshold for distances, p-threshold/p for tests, at least 1 + the change of the missing
        share when that drifted (> 1 exactly when drifted); 0 if not evaluated."""
        if not self.evaluated:
            return 0.0
        if self.method in DISTANCE_METHODS:
            base = math.inf if self.statistic is None else self.statistic / self.threshold
        elif self.method == MISSING_SHARE:
            base = 0.0
        else:
            p = self.p_value if self.p_value is not None else 1.0
            base = math.inf if p <= 0 else self.threshold / p
        if self.missing_share_drifted:
            return max(base, 1.0 + abs(self.null_share_current - self.null_share_reference))
        return base


@dataclass(frozen=True)
class DriftReport:
    """Dataset drift: score = n_drifted / n_evaluated; drifted when score > threshold."""

    score: float
    threshold: float
    drifted: bool
    n_features: int
    n_evaluated: int
    n_drifted: int
    drifted_features: list[str]
    features: list[FeatureDrift]
    n_reference: int
    n_current: int
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def feature(self, name: str) -> FeatureDrift:
        """The result of one feature (KeyError when absent)."""
        for f in self.features:
            if f.feature == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN/inf → None)."""
        return _json_safe(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftReport:
        """Inverse of :meth:`to_dict` (a ``None`` score becomes NaN)."""
        names = {f.name for f in fields(FeatureDrift)}
        feats = [FeatureDrift(**{k: v for k, v in f.items() if k in names}) for f in data["features"]]
        score = math.nan if data["score"] is None else float(data["score"])
        rest = {k: v for k, v in data.items() if k not in ("features", "score")}
        return cls(score=score, features=feats, **rest)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _is_categorical_dtype(values: np.ndarray | pl.Series) -> bool:
    if isinstance(values, pl.Series):
        return values.dtype in (pl.String, pl.Categorical, pl.Boolean) or isinstance(values.dtype, pl.Enum)
    return values.dtype.kind in "OUSb"


def _as_series(values: ArrayLike) -> pl.Series:
    if isinstance(values, pl.Series):
        return values
    arr = np.asarray(values)
    if arr.dtype.kind == "O":
        return pl.Series(list(arr), dtype=pl.String, strict=False)
    return pl.Series(arr)


def _drop_missing(values: ArrayLike, kind: Kind) -> tuple[np.ndarray, int]:
    """Non-null values (numeric: float64 without NaN; categorical: str) and the number of rows before."""
    s = _as_series(values)
    total = s.len()
    if kind == "numeric":
        arr = s.cast(pl.Float64, strict=False).drop_nulls().to_numpy()
        arr = arr[~np.isnan(arr)]
    else:
        if s.dtype.is_float():
            s = s.fill_nan(None)
        arr = s.drop_nulls().cast(pl.String).to_numpy().astype(str)
    return arr, total


def _proportions(counts: np.ndarray) -> np.ndarray:
    return np.maximum(counts / max(counts.sum(), 1), PSI_EPSILON)


def _category_counts(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts of each category of the union (sorted), for both samples."""
    cats, inverse = np.unique(np.concatenate([reference, current]), return_inverse=True)
    ref = np.bincount(inverse[: reference.size], minlength=cats.size)
    cur = np.bincount(inverse[reference.size :], minlength=cats.size)
    return ref.astype(np.float64), cur.astype(np.float64)


def _merge_rare(ref: np.ndarray, cur: np.ndarray, share: float = RARE_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """Category counts with the categories under ``share`` of the reference in one bucket, and those absent
    from the reference in another."""
    absent = ref == 0
    rare = ~absent & (ref < share * ref.sum())
    keep = ~(absent | rare)
    buckets = [mask for mask in (rare, absent) if mask.any()]
    return (
        np.concatenate([ref[keep], [ref[mask].sum() for mask in buckets]]),
        np.concatenate([cur[keep], [cur[mask].sum() for mask in buckets]]),
    )


def _not_numbers(values: ArrayLike) -> int:
    """Non-null text values that are not numbers (0 for a numeric dtype)."""
    s = _as_series(values)
    if s.dtype.is_numeric():
        return 0
    return int((s.is_not_null() & s.cast(pl.Float64, strict=False).is_null()).sum())


def decile_edges(reference: np.ndarray) -> np.ndarray:
    """Interior PSI bin edges: the reference's deciles 10%..90%, deduplicated."""
    return np.unique(np.quantile(reference, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))


def psi(reference: ArrayLike, current: ArrayLike, kind: Kind) -> float:
    """Population stability index (see the module docstring); nulls/NaN are dropped first."""
    ref, _ = _drop_missing(reference, kind)
    cur, _ = _drop_missing(current, kind)
    if ref.size == 0 or cur.size == 0:
        raise ValueError("psi needs non-empty samples after dropping nulls")
    if kind == "numeric":
        edges = decile_edges(ref)
        n_bins = edges.size + 1
        ref_counts = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=n_bins).astype(np.float64)
        cur_counts = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=n_bins).astype(np.float64)
    else:
        ref_counts, cur_counts = _category_counts(ref, cur)
    r, c = _proportions(ref_counts), _proportions(cur_counts)
    return float(np.sum((c - r) * np.log(c / r)))


def infer_kind(values: ArrayLike) -> Kind:
    """``categorical`` for string/bool/categorical/object dtypes, else ``numeric``."""
    v = values if isinstance(values, pl.Series) else np.asarray(values)
    return "categorical" if _is_categorical_dtype(v) else "numeric"


def feature_drift(
    name: str,
    reference: ArrayLike,
    current: ArrayLike,
    kind: Kind | None = None,
    size_cutoff: int = SIZE_CUTOFF,
    p_value: float = P_VALUE,
    distance_threshold: float = DISTANCE_THRESHOLD,
    calibrated_threshold: float | None = None,
) -> FeatureDrift:
    """Drift of one feature between ``reference`` and ``current`` (definition in the module docstring).

    ``calibrated_threshold``: the values are judged by their distance (normed Wasserstein or Jensen-Shannon)
    against this threshold whatever the sample sizes (see :func:`calibrate_distance_thresholds`); the
    missing share is tested as usual."""
    kind = kind or infer_kind(reference)
    if kind not in ("numeric", "categorical"):
        raise ValueError(f"kind must be 'numeric' or 'categorical', got {kind!r}")
    ref, rows_ref = _drop_missing(reference, kind)
    cur, rows_cur = _drop_missing(current, kind)
    null_ref, null_cur = _share(rows_ref - ref.size, rows_ref), _share(rows_cur - cur.size, rows_cur)
    small = min(ref.size, cur.size) <= size_cutoff
    common = {
        "feature": name,
        "kind": kind,
        "n_reference": int(ref.size),
        "n_current": int(cur.size),
        "null_share_reference": null_ref,
        "null_share_current": null_cur,
    }
    missing = _missing_share_test(
        (rows_ref - ref.size, rows_ref), (rows_cur - cur.size, rows_cur), size_cutoff, p_value, distance_threshold
    )
    if ref.size == 0 or cur.size == 0:
        empty = "reference" if ref.size == 0 else "current"
        if missing is None or (ref.size == 0 and cur.size == 0):
            return FeatureDrift(
                **common,
                method=None,
                statistic=None,
                p_value=None,
                threshold=p_value if small else distance_threshold,
                drifted=False,
                psi=None,
                evaluated=False,
                note=f"not evaluated: {empty} sample is empty after dropping nulls",
            )
        return FeatureDrift(
            **common,
            method=MISSING_SHARE,
            statistic=abs(null_cur - null_ref),
            p_value=missing.p_value,
            threshold=missing.threshold,
            drifted=missing.drifted,
            psi=None,
            note=f"{empty} sample is all missing: {missing.note}",
            missing_share_drifted=missing.drifted,
        )
    method, stat, p, note = _test(ref, cur, kind, small and calibrated_threshold is None)
    if kind == "numeric" and (text := _not_numbers(reference) + _not_numbers(current)):
        note = "; ".join(n for n in (note, f"{text} values that are not numbers counted as missing") if n)
    cut = distance_threshold if calibrated_threshold is None else calibrated_threshold
    threshold = cut if p is None else p_value
    # A None distance means a constant reference with a differing current sample: drifted.
    drifted = p < p_value if p is not None else (stat is None or stat > cut)
    m_drifted = missing is not None and missing.drifted
    if missing is not None and m_drifted:
        note = "; ".join(n for n in (note, missing.note) if n)
    return FeatureDrift(
        **common,
        method=method,
        statistic=stat,
        p_value=p,
        threshold=threshold,
        drifted=drifted or m_drifted,
        psi=psi(ref, cur, kind),
        note=note,
        missing_share_drifted=m_drifted,
    )


class MissingShareTest(NamedTuple):
    drifted: bool
    p_value: float | None  # Fisher's exact test on small samples; None: the change of the share is compared
    threshold: float
    note: str


def _share(part: int, whole: int) -> float:
    return 0.0 if whole == 0 else part / whole


def _missing_share_test(
    ref: tuple[int, int], cur: tuple[int, int], size_cutoff: int, p_value: float, distance: float
) -> MissingShareTest | None:
    """The change of the missing share between ``ref`` and ``cur`` (missing, rows); None without rows."""
    (miss_ref, n_ref), (miss_cur, n_cur) = ref, cur
    if n_ref == 0 or n_cur == 0:
        return None
    share_ref, share_cur = miss_ref / n_ref, miss_cur / n_cur
    change = f"missing share {share_ref:.3f} -> {share_cur:.3f}"
    if min(n_ref, n_cur) <= size_cutoff:
        p = float(fisher_exact([[miss_ref, n_ref - miss_ref], [miss_cur, n_cur - miss_cur]]).pvalue)
        return MissingShareTest(p < p_value, p, p_value, f"{change} (Fisher p={p:.2g})")
    return MissingShareTest(abs(share_cur - share_ref) > distance, None, distance, change)


def _test(ref: np.ndarray, cur: np.ndarray, kind: Kind, small: bool) -> tuple[str, float | None, float | None, str]:
    """(method, statistic, p-value or None for distances, note) on non-empty null-free samples."""
    if kind == "numeric" and small:
        with warnings.catch_warnings():  # "exact calculation unsuccessful, switching to asymp": expected
            warnings.simplefilter("ignore", RuntimeWarning)
            res = ks_2samp(ref, cur)
        return "ks", float(res.statistic), float(res.pvalue), ""
    if kind == "numeric":
        if ref.min() == ref.max():
            if np.all(cur == ref[0]):
                return "wasserstein_normed", 0.0, None, ""
            return (
                "wasserstein_normed",
                None,
                None,
                "reference is constant (std 0) and current differs: normed distance undefined",
            )
        return "wasserstein_normed", float(wasserstein_distance(ref, cur) / np.std(ref)), None, ""
    ref_counts, cur_counts = _merge_rare(*_category_counts(ref, cur))
    if small:
        if ref_counts.size < 2:
            return "chi2", 0.0, 1.0, "single category in both samples"
        res = chi2_contingency(np.vstack([ref_counts, cur_counts]))
        return "chi2", float(res.statistic), float(res.pvalue), ""
    js = float(jensenshannon(ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum(), base=2))
    return "jensenshannon", (js if math.isfinite(js) else 0.0), None, ""


def dataset_drift(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    features: list[str] | None = None,
    categorical: list[str] | None = None,
    threshold: float = DATASET_THRESHOLD,
    *,
    size_cutoff: int = SIZE_CUTOFF,
    p_value: float = P_VALUE,
    distance_threshold: float = DISTANCE_THRESHOLD,
    calibrated: Mapping[str, float] | None = None,
) -> DriftReport:
    """Per-feature drift of ``features`` (default: columns common to both frames) and the dataset score.

    Raises ``ValueError`` naming the requested features missing from ``current`` (or ``reference``).
    Columns listed in ``categorical`` are tested as categorical whatever their dtype. ``calibrated``: per
    feature, a distance threshold that replaces the default test (:func:`calibrate_distance_thresholds`).
    """
    if features is None:
        features = [c for c in reference.columns if c in set(current.columns)]
    else:
        for frame, label in ((current, "current"), (reference, "reference")):
            missing = [c for c in features if c not in frame.columns]
            if missing:
                raise ValueError(f"features missing from the {label} frame: {missing}")
    declared = set(categorical or [])
    results = [
        feature_drift(
            name,
            reference.get_column(name),
            current.get_column(name),
            kind="categorical" if name in declared else None,
            size_cutoff=size_cutoff,
            p_value=p_value,
            distance_threshold=distance_threshold,
            calibrated_threshold=(calibrated or {}).get(name),
        )
        for name in features
    ]
    evaluated = [r for r in results if r.evaluated]
    drifted = sorted((r for r in evaluated if r.drifted), key=lambda r: (-r.severity, r.feature))
    score = len(drifted) / len(evaluated) if evaluated else math.nan
    return DriftReport(
        score=score,
        threshold=threshold,
        drifted=bool(evaluated) and score > threshold,
        n_features=len(results),
        n_evaluated=len(evaluated),
        n_drifted=len(drifted),
        drifted_features=[r.feature for r in drifted],
        features=results,
        n_reference=reference.height,
        n_current=current.height,
    )


def calibrate_distance_thresholds(
    reference: pl.DataFrame,
    groups: pl.Series,
    features: list[str] | None = None,
    categorical: list[str] | None = None,
    *,
    floor: float = DISTANCE_THRESHOLD,
    min_rows: int = 10,
) -> dict[str, float]:
    """Per feature, how far the reference's own groups (its days) lie from the whole reference: the largest
    distance (normed Wasserstein, or Jensen-Shannon for categoricals) of a group with at least ``min_rows``
    values, and at least ``floor``.

    A series whose days move between regimes sits far from a reference of several weeks on every day (and
    a test on a day of autocorrelated readings rejects almost always), so the fixed 0.1 flags every day,
    training days included. With these thresholds a day is drifted on a feature only when it lies further
    from the reference than every training day did.
    """
    if features is None:
        features = list(reference.columns)
    declared = set(categorical or [])
    parts = reference.select(features).with_columns(groups.alias("__group")).partition_by(
        "__group", include_key=False, maintain_order=True
    )  # split once, not once per feature
    out: dict[str, float] = {}
    for name in features:
        column = reference.get_column(name)
        kind: Kind = "categorical" if name in declared else infer_kind(column)
        whole, _ = _drop_missing(column, kind)
        worst = floor
        for part_frame in parts if whole.size else []:
            part, _ = _drop_missing(part_frame.get_column(name), kind)
            if part.size >= min_rows:
                _, stat, _, _ = _test(whole, part, kind, small=False)
                worst = max(worst, stat) if stat is not None else worst
        out[name] = float(worst)
    return out
