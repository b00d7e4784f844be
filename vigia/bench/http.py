"""``vigia bench http``: request-level detection on the CSIC 2010 HTTP dataset (JSONL layout).

Input: one JSON object per request with ``method, url, path, query, headers{}, body, split,
is_anomalous`` (``split`` = ``train`` holds normal requests only, ``test`` normal + anomalous).

Protocol (no anomaly label is used before the final evaluation):

1. Requests are mapped to the canonical event columns (method, path, query, body, ``user_agent`` =
   the ``User-Agent`` header) and go through the same feature pipeline as API events
   (:func:`vigia.events.features.event_features`), WITHOUT client windows: CSIC has no client ids nor
   timestamps.
2. The NORMAL ``train`` requests are split at random (``seed``) into a fitting part and a validation
   part (``validation_fraction``). Encoders, the preprocessor, the detectors (IsolationForest, LOF,
   One-Class SVM) and the token-novelty model (:class:`vigia.events.novelty.TokenNoveltyModel`) are fitted
   on the fitting part only.
3. Thresholds: for every scorer, the ``threshold_quantile`` quantile of its scores on the validation
   normals (held-out normal requests, so the false-positive rate on unseen normal traffic is about
   ``1 - threshold_quantile``); a request is flagged when its score is above it. The consensus flags when
   ``k`` detectors agree; its score is the mean normalised score.
4. ``novelty+consensus`` (the headline): score = number of novel tokens + 0.999 x consensus score (so
   novelty dominates, the detectors break ties and rank within a novelty level), thresholded the same way.
5. Everything is evaluated once on the ``test`` split.
"""

from __future__ import annotations

import gzip
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from vigia.config import DetectorConfig
from vigia.events.features import event_features, feature_matrix, fit_event_encoders
from vigia.events.novelty import TokenNoveltyModel
from vigia.models.detectors import fit_detector, normalized_scores
from vigia.models.evaluation import binary_metrics, consensus_flags, consensus_score
from vigia.models.preprocess import FeaturePreprocessor
from vigia.sources.text_encoding import as_utf8

DEFAULT_DETECTORS = (
    DetectorConfig(name="iforest", type="isolation_forest", params={"n_estimators": 200}),
    DetectorConfig(name="lof", type="lof", params={"n_neighbors": 20}),
    DetectorConfig(name="ocsvm", type="ocsvm", params={"nu": 0.01, "max_train_samples": 10_000}),
)
HEADLINE = "novelty+consensus"


CSIC_FIELDS = ("method", "path", "split", "is_anomalous")  # required; query, body, headers, id optional


def load_csic(path: Path) -> pl.DataFrame:
    """CSIC JSONL (a file, or the folder holding ``*.jsonl[.gz]``) -> canonical event columns + ``split``.

    A clear ``ValueError`` names the file (and line) of an empty file, a line that is not a JSON object, a
    missing field (:data:`CSIC_FIELDS`) or an ``is_anomalous`` that is not 0 / 1. A byte-order mark is skipped.
    """
    p = Path(path)
    files = [p] if p.is_file() else sorted(f for f in p.glob("*.jsonl*"))
    if not files:
        raise FileNotFoundError(f"no CSIC *.jsonl[.gz] file at {p}")
    frames = []
    for f in files:
        raw = _read_jsonl(f)
        if missing := [c for c in CSIC_FIELDS if c not in raw.columns]:
            raise ValueError(f"{f}: requests lack the field(s) {missing} (each line needs {list(CSIC_FIELDS)})")
        headers = raw.schema.get("headers")
        ua = (
            raw["headers"].struct.field("User-Agent")
            if isinstance(headers, pl.Struct) and "User-Agent" in [fld.name for fld in headers.fields]
            else pl.Series([None] * raw.height, dtype=pl.String)
        )
        label = raw.get_column("is_anomalous").cast(pl.Int8, strict=False)
        if (bad := ~label.is_in([0, 1]).fill_null(False)).any():
            first = int(bad.arg_true()[0])
            raise ValueError(
                f"{f}: {int(bad.sum())} request(s) with an is_anomalous that is not 0/1 (first: request "
                f"{first + 1}, value {raw.get_column('is_anomalous')[first]!r})"
            )
        frames.append(
            raw.select(
                pl.col("id").cast(pl.String).alias("event_id")
                if "id" in raw.columns
                else pl.int_range(pl.len()).cast(pl.String).alias("event_id"),
                pl.col("method").cast(pl.String),
                pl.col("path").cast(pl.String),
                *(
                    (pl.col(c).cast(pl.String) if c in raw.columns else pl.lit(None, pl.String)).fill_null("").alias(c)
                    for c in ("query", "body")
                ),
                pl.lit(ua).alias("user_agent"),
                pl.lit(label).alias("label"),
                pl.col("split").cast(pl.String),
            )
        )
    return pl.concat(frames)


def _read_jsonl(f: Path) -> pl.DataFrame:
    """One JSON-lines file (``.gz`` or not; UTF-8, or UTF-16/32 by byte-order mark); blank lines are skipped."""
    data = f.read_bytes()
    if f.suffix.lower() == ".gz":
        data = gzip.decompress(data)
    data = as_utf8(data)
    if not data.strip():
        raise ValueError(f"{f}: empty file, no request")
    try:
        return pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)
    except pl.exceptions.PolarsError as exc:
        for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{f}, line {n}: not valid JSON ({err.msg}, column {err.colno})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{f}, line {n}: not a JSON object") from None
        raise ValueError(f"{f}: not readable as JSON lines ({str(exc).splitlines()[0]})") from exc


def _subsample(df: pl.DataFrame, n: int | None, seed: int) -> pl.DataFrame:
    if n is None or df.height <= n:
        return df
    idx = np.sort(np.random.default_rng(seed).choice(df.height, size=n, replace=False))
    return df[idx]


def _metrics(y: np.ndarray, score: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    m = binary_metrics(y, score, pred)
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}


def run_http_benchmark(
    path: Path,
    *,
    validation_fraction: float = 0.2,
    threshold_quantile: float = 0.99,
    k: int = 2,
    seed: int = 7,
    max_train: int | None = None,
    max_test: int | None = None,
    detectors: tuple[DetectorConfig, ...] = DEFAULT_DETECTORS,
) -> dict[str, Any]:
    """Run the protocol of the module docstring; returns the JSON-ready result.

    ``max_train`` / ``max_test``: seeded subsamples of the normal train / test requests (for quick runs).
    """
    start = time.perf_counter()
    data = load_csic(Path(path))
    train = _subsample(data.filter((pl.col("split") == "train") & (pl.col("label") == 0)), max_train, seed)
    test = _subsample(data.filter(pl.col("split") == "test"), max_test, seed + 1)
    if train.height < 20 or test.height == 0:
        raise ValueError(f"need >= 20 normal train requests and some test requests, got {train.height} / {test.height}")
    is_val = np.zeros(train.height, dtype=bool)
    n_val = max(1, round(train.height * validation_fraction))
    is_val[np.random.default_rng(seed).choice(train.height, size=n_val, replace=False)] = True
    fit_part, val_part = train.filter(pl.Series(~is_val)), train.filter(pl.Series(is_val))

    t0 = time.perf_counter()
    enc = fit_event_encoders(fit_part)
    feats = {
        name: event_features(part, enc, windows=False)
        for name, part in (("fit", fit_part), ("val", val_part), ("test", test))
    }
    X = {name: feature_matrix(f, enc) for name, f in feats.items()}
    prep = FeaturePreprocessor().fit(X["fit"])
    Z = {name: prep.transform(x) for name, x in X.items()}
    t_feat = time.perf_counter() - t0

    val_scores: dict[str, np.ndarray] = {}
    test_scores: dict[str, np.ndarray] = {}
    for cfg in detectors:
        fitted = fit_detector(cfg, Z["fit"], seed)
        val_scores[cfg.name] = normalized_scores(fitted, Z["val"])
        test_scores[cfg.name] = normalized_scores(fitted, Z["test"])
    names = [d.name for d in detectors]
    thresholds = {n: float(np.quantile(val_scores[n], threshold_quantile)) for n in names}
    flags = {n: test_scores[n] > thresholds[n] for n in names}
    val_cons, test_cons = consensus_score(val_scores), consensus_score(test_scores)

    novelty = TokenNoveltyModel.fit(fit_part)
    nov_val, nov_test = novelty.score(val_part), novelty.score(test)
    components = novelty.components(test)
    combined_val, combined_test = nov_val + 0.999 * val_cons, nov_test + 0.999 * test_cons
    scorers = {
        "consensus": (val_cons, test_cons),
        "novelty": (nov_val, nov_test),
        HEADLINE: (combined_val, combined_test),
    }
    for n, (v, _) in scorers.items():
        thresholds[n] = float(np.quantile(v, threshold_quantile))

    y = test["label"].to_numpy().astype(np.int64)
    per_detector = {n: _metrics(y, test_scores[n], flags[n]) for n in names}
    per_detector[f"consensus_k{k}"] = _metrics(y, test_cons, consensus_flags(flags, k))
    per_detector["consensus_mean_score"] = _metrics(y, test_cons, test_cons > thresholds["consensus"])
    per_detector["novelty"] = _metrics(y, nov_test, nov_test > thresholds["novelty"])
    head = _metrics(y, combined_test, combined_test > thresholds[HEADLINE])
    per_detector[HEADLINE] = head
    val_fpr = {n: round(float((v > thresholds[n]).mean()), 4) for n, (v, _) in scorers.items()}
    val_fpr.update({n: round(float((val_scores[n] > thresholds[n]).mean()), 4) for n in names})
    novel_share = {c: round(float((components[c].to_numpy()[y == 1] > 0).mean()), 4) for c in components.columns}
    return {
        **{m: head[m] for m in ("precision", "recall", "f1", "roc_auc", "average_precision")},
        "scorer": HEADLINE,
        "confusion": {m: head[m] for m in ("tp", "fp", "fn", "tn")},
        "n": len(y),
        "n_anomalous": int(y.sum()),
        "n_train_fit": fit_part.height,
        "n_validation": val_part.height,
        "seconds": round(time.perf_counter() - start, 2),
        "feature_seconds": round(t_feat, 2),
        "n_features": int(Z["fit"].shape[1]),
        "protocol": {
            "train": "normal train-split requests only, random fit/validation split",
            "validation_fraction": validation_fraction,
            "threshold": f"{threshold_quantile} quantile of the scores of held-out NORMAL validation requests",
            "consensus_k": k,
            "detectors": names,
            "client_windows": False,
            "headline": "novel-token count + 0.999 x mean normalised detector score",
            "seed": seed,
        },
        "thresholds": {n: round(t, 6) for n, t in thresholds.items()},
        "validation_flag_rate": val_fpr,
        "per_detector": per_detector,
        "anomalies_with_novelty_kind": novel_share,
    }
