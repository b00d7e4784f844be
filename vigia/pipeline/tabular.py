"""The supervised tabular kind: extracts -> training table -> calibrated model -> batch inference -> value,
drift of the newest batch against the training population.

Sources: ``tabular_files`` (``source.path`` holds ``training/`` with the training extracts and ``inference/``
with the batches; the newest batch is scored) or ``synthetic_customers`` (the same layout is written under
``data/raw/<dataset>/`` first, so the embedded default goes through the same extract reader).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from vigia.config import DatasetConfig
from vigia.paths import data_dir
from vigia.sources.errors import SourceError
from vigia.tabular.extracts import ExtractsResult, fingerprint, list_extracts, newest_extract, read_extracts
from vigia.tabular.synth import generate_customers
from vigia.tabular.value import ValueMatrix

TRAINING_TABLE = "training"
BATCH_TABLE = "inference_batch"
PREDICTIONS_TABLE = "predictions"
LOG_TABLE = "inference_log"
MODEL_FILE = "model.joblib"
EXTRACTS_FINGERPRINT = "extracts_fingerprint"  # metadata of the training table and the batch (what they read)
BATCH_FINGERPRINT = "batch_fingerprint"  # metadata of the drift report: the batch it judged (one retrain per batch)


@dataclass(frozen=True)
class ExtractFolders:
    """What the extract folders hold now: the fingerprints of the training extracts and of the newest batch."""

    training: str
    batch: str
    batch_file: Path
    settling: list[str]  # extracts modified less than ``settle_s`` ago (maybe still being written)


def extract_folders(cfg: DatasetConfig, *, settle_s: float, now: float | None = None) -> ExtractFolders:
    """Fingerprint ``training/`` and the newest extract of ``inference/`` (``SourceError`` when either has none)."""
    root = source_root(cfg)
    training = list_extracts(root / "training")
    batch = newest_extract(root / "inference")
    now = time.time() if now is None else now
    settling = [p.name for p in [*training, batch] if now - p.stat().st_mtime < settle_s]
    return ExtractFolders(fingerprint(training), fingerprint([batch]), batch, settling)


def source_root(cfg: DatasetConfig) -> Path:
    """Folder with ``training/`` and ``inference/``: the configured path, or the synthetic landing folder."""
    if cfg.source.type == "tabular_files":
        assert cfg.source.path is not None
        return Path(cfg.source.path)
    return data_dir() / "raw" / cfg.name


def write_synthetic_extracts(cfg: DatasetConfig) -> Path:
    """Write the synthetic default as extracts: ``training/p1..pN.csv`` and ``inference/batch_001.csv``."""
    params = dict(cfg.source.params)
    n_extracts = int(params.pop("extracts", 4))
    rows = int(params.pop("rows_per_extract", 5_000))
    batch_rows = int(params.pop("batch_rows", 4_000))
    drifted = bool(params.pop("drifted_batch", False))
    root = source_root(cfg)
    for i in range(n_extracts):
        _write_if_changed(generate_customers(rows, cfg.seed + i, **params), root / "training" / f"p{i + 1}.csv")
    batch = generate_customers(batch_rows, cfg.seed + 1000, drifted=drifted, **params).drop(cfg.label_column or "")
    _write_if_changed(batch, root / "inference" / "batch_001.csv")
    return root


def _write_if_changed(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV unless ``path`` already holds exactly that text.

    The generator is deterministic, so a retraining run leaves the files (and their modification times)
    as they are: a batch dropped into ``inference/`` since then stays the newest, and the extract
    fingerprints the new-extract sensor compares do not change.
    """
    text = frame.write_csv()
    if path.is_file() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def csv_format(cfg: DatasetConfig) -> dict[str, str]:
    """The extracts' CSV separator and decimal mark: ``source.params`` of ``tabular_files`` (the synthetic
    extracts are always ``,`` and ``.``)."""
    params = cfg.source.params if cfg.source.type == "tabular_files" else {}
    return {"separator": str(params.get("separator", ",")), "decimal": str(params.get("decimal", "."))}


def read_training(cfg: DatasetConfig, run_id: str) -> ExtractsResult:
    """Every training extract, merged; ``SourceError`` when every row was rejected (quoting the first reason)."""
    root = write_synthetic_extracts(cfg) if cfg.source.type == "synthetic_customers" else source_root(cfg)
    result = read_extracts(
        root / "training", target=cfg.label_column, dataset=cfg.name, run_id=run_id, id_column=cfg.entity_key,
        **csv_format(cfg),
    )  # fmt: skip
    if result.rows_accepted == 0 and result.rejects.height:
        first = result.rejects.row(0, named=True)
        raise SourceError(
            f"every training row under {root / 'training'} was rejected ({result.rejects.height} rows; e.g. "
            f"{first['source_file']} line {first['line_number']}: {first['reason']})"
        )
    return result


def read_newest_batch(
    cfg: DatasetConfig, training_schema: Mapping[str, pl.DataType], run_id: str
) -> tuple[ExtractsResult, Path]:
    """The newest inference extract, typed like the training table's columns (missing ones are an error).

    A target column in the batch is kept (rows without a valid outcome stay unlabelled): it is the
    newly labelled data that retraining adds, and it gives the batch's realised value.
    """
    newest = newest_extract(source_root(cfg) / "inference")
    target = cfg.label_column
    kinds = {
        c: "numeric" if dtype.is_numeric() else "categorical"
        for c, dtype in training_schema.items()
        if c not in (target, "source_file")
    }
    result = read_extracts(
        newest,
        target=target,
        target_optional=True,
        dataset=cfg.name,
        run_id=run_id,
        id_column=cfg.entity_key,
        expected_columns=kinds,
        **csv_format(cfg),
    )
    return result, newest


def value_matrix(cfg: DatasetConfig) -> ValueMatrix | None:
    return ValueMatrix.parse(cfg.value_matrix) if cfg.value_matrix else None


LOG_SCHEMA: dict[str, pl.DataType] = {
    "batch": pl.String(),
    "model_version": pl.String(),
    "rows": pl.Int64(),  # scored (the batch's accepted rows)
    "rows_rejected": pl.Int64(),  # records of the batch file in inference_batch_rejects
    "labelled_rows": pl.Int64(),  # scored rows that came with an outcome
    "flagged": pl.Int64(),
    "expected_value": pl.Float64(),  # total over the batch; NULL without a value matrix
    "scored_at": pl.Datetime("us"),
    "details": pl.String(),
}


def inference_log_row(
    batch: Path,
    version: str,
    predictions: pl.DataFrame,
    value: dict[str, Any],
    *,
    rows_rejected: int = 0,
    labelled_rows: int = 0,
) -> pl.DataFrame:
    """One ``inference_log`` row, typed by :data:`LOG_SCHEMA` whatever its values (a log first written without
    a value matrix must not get a column of DuckDB's ``NULL`` type)."""
    row = {
        "batch": batch.name,
        "model_version": version,
        "rows": predictions.height,
        "rows_rejected": rows_rejected,
        "labelled_rows": labelled_rows,
        "flagged": int(predictions["decision"].sum()),
        "expected_value": float(value.get("expected_value_total", 0.0)) if value else None,
        "scored_at": datetime.now(UTC).replace(tzinfo=None),
        "details": json.dumps(value, default=str),
    }
    return pl.DataFrame([row], schema=LOG_SCHEMA)
